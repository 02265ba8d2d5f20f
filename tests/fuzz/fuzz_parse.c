/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_parse.c - libFuzzer harness of the packet parser: ipr_parse(),
 * ipr_packet_addrs() and the injection check, over arbitrary bytes.
 *
 * Beyond "no crash, no read past the input" it checks what the parser
 * promises: every view lies inside the capture and the IP length, an error
 * zeroes the result, and the injection check accepts only what parses whole.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void check_views(const uint8_t *pkt, size_t len, const struct ipr_parsed *p)
{
	const uint8_t *end = p->l3 + p->l3_len;

	assert(p->l3 == pkt && p->l3_len <= len);
	assert(p->version == 4 || p->version == 6);
	assert(p->l3_hdr_len <= p->l3_len || p->truncated);
	if (p->l4) {
		assert(p->l4 == pkt + p->l3_hdr_len);
		assert(p->l4 + p->l4_hdr_len <= end);
		assert(p->l4 + p->l4_len == end);
	}
	if (p->payload) {
		assert(p->l4 && p->payload == p->l4 + p->l4_hdr_len);
		assert(p->payload_len > 0 && p->payload + p->payload_len == end);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipr_addr src, dst;
	struct ipr_parsed p;
	char text[IPR_ADDR_STRLEN];
	int err;

	err = ipr_parse(data, size, &p);
	if (err) {
		static const struct ipr_parsed zero;

		assert(!memcmp(&p, &zero, sizeof(p)));
		assert(ipr_packet_addrs(&p, &src, &dst) == -22);
	} else {
		check_views(data, size, &p);
		if (ipr_packet_addrs(&p, &src, &dst) == 0) {
			assert(ipr_addr_format(&src, text, sizeof(text)) > 0);
			assert(ipr_addr_format(&dst, text, sizeof(text)) > 0);
		}
	}
	/* what may be injected is one whole packet that parses */
	if (ipr_inject_check(data, size) == 0)
		assert(!err && !p.truncated && (p.ip_len == size || p.ip_len == 0));
	return 0;
}
