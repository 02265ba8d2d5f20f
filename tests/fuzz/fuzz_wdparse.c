/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_wdparse.c - libFuzzer harness of libwindivert's packet helpers:
 * WinDivertHelperParsePacket() (one packet and the batch walk),
 * WinDivertHelperHashPacket(), WinDivertHelperCalcChecksums(),
 * WinDivertHelperDecrementTTL() and the address text calls, over arbitrary bytes.
 *
 * Oracles: every pointer handed back lies inside the buffer and the batch
 * walk covers it without a gap; the hash of a batch is that of its first
 * packet; checksumming writes only checksum fields and a second run changes
 * nothing; a TTL step takes exactly one off and keeps a correct IPv4 header
 * checksum correct; an address that parses formats and parses back the same,
 * and a short buffer gets a NUL-terminated prefix of the text.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "ipredir.h"
#include "windivert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The outputs of one parse. */
struct parsed {
	PWINDIVERT_IPHDR ip;
	PWINDIVERT_IPV6HDR ip6;
	PWINDIVERT_ICMPHDR icmp;
	PWINDIVERT_ICMPV6HDR icmp6;
	PWINDIVERT_TCPHDR tcp;
	PWINDIVERT_UDPHDR udp;
	PVOID data, next;
	UINT data_len, next_len;
	UINT8 proto;
};

static BOOL parse(const uint8_t *pkt, UINT len, struct parsed *p)
{
	return WinDivertHelperParsePacket(pkt, len, &p->ip, &p->ip6, &p->proto, &p->icmp,
					  &p->icmp6, &p->tcp, &p->udp, &p->data, &p->data_len,
					  &p->next, &p->next_len);
}

/* [at, at + len) inside [pkt, end). */
static int inside(const void *at, size_t len, const uint8_t *pkt, const uint8_t *end)
{
	const uint8_t *p = at;

	return p >= pkt && p <= end && len <= (size_t)(end - p);
}

static void check_views(const uint8_t *pkt, UINT len, const struct parsed *p)
{
	const uint8_t *end = p->next ? (const uint8_t *)p->next : pkt + len;
	int transports = !!p->tcp + !!p->udp + !!p->icmp + !!p->icmp6;

	assert(!!p->ip + !!p->ip6 == 1);
	assert((void *)(p->ip ? (void *)p->ip : (void *)p->ip6) == pkt);
	assert(transports <= 1 && !(p->icmp && p->ip6) && !(p->icmp6 && p->ip));
	assert(!p->tcp || inside(p->tcp, sizeof(*p->tcp), pkt, end));
	assert(!p->udp || inside(p->udp, sizeof(*p->udp), pkt, end));
	assert(!p->icmp || inside(p->icmp, sizeof(*p->icmp), pkt, end));
	assert(!p->icmp6 || inside(p->icmp6, sizeof(*p->icmp6), pkt, end));
	assert(p->data ? p->data_len && (uint8_t *)p->data + p->data_len == end : !p->data_len);
	assert(p->next ? p->next_len && (uint8_t *)p->next + p->next_len == pkt + len :
			 !p->next_len);
}

/* Walk the buffer as a batch: each packet lies in it, and the last ends it. */
static void fuzz_batch(const uint8_t *buf, UINT len)
{
	const uint8_t *pkt = buf;
	struct parsed p;

	while (pkt && parse(pkt, len, &p)) {
		check_views(pkt, len, &p);
		assert(WinDivertHelperHashPacket(pkt, len, 7) ==
		       WinDivertHelperHashPacket(pkt, len - p.next_len, 7));
		pkt = p.next;
		len = p.next_len;
	}
	if (pkt) {
		assert(!p.ip && !p.ip6 && !p.data && !p.next && GetLastError() != 0);
		assert(WinDivertHelperHashPacket(pkt, len, 7) == 0);
	}
}

#define NO_FIELD ((size_t)-1)

/* Offsets a checksum run may write: the IPv4 header's field, and the transport's
 * (only a whole packet, which ParsePacket takes, gets one). */
static void checksum_fields(const uint8_t *buf, UINT len, size_t field[2])
{
	struct parsed p;
	const uint8_t *t;

	field[0] = len >= 20 && buf[0] >> 4 == 4 ? 10 : NO_FIELD;
	field[1] = NO_FIELD;
	if (!parse(buf, len, &p))
		return;
	if ((t = (const uint8_t *)p.tcp))
		field[1] = (size_t)(t - buf) + 16;
	else if ((t = p.udp ? (const uint8_t *)p.udp : p.icmp ? (const uint8_t *)p.icmp :
			  (const uint8_t *)p.icmp6))
		field[1] = (size_t)(t - buf) + (p.udp ? 6 : 2);
}

static int in_field(size_t i, size_t field)
{
	return field != NO_FIELD && i >= field && i < field + 2;
}

static void fuzz_checksums(const uint8_t *data, UINT len)
{
	uint8_t *buf = malloc(len ? len : 1), *again = malloc(len ? len : 1);
	size_t field[2];

	assert(buf && again);
	memcpy(buf, data, len);
	checksum_fields(data, len, field);
	if (WinDivertHelperCalcChecksums(buf, len, NULL, 0)) {
		memcpy(again, buf, len);
		assert(WinDivertHelperCalcChecksums(again, len, NULL, 0));
		assert(!memcmp(again, buf, len));
	}
	for (size_t i = 0; i < len; i++)
		assert(buf[i] == data[i] || in_field(i, field[0]) || in_field(i, field[1]));
	free(again);
	free(buf);
}

static void fuzz_ttl(const uint8_t *data, UINT len)
{
	uint8_t *buf = malloc(len ? len : 1);
	size_t at = len && data[0] >> 4 == 6 ? 7 : 8;
	size_t ihl = len ? (data[0] & 0x0fu) * 4 : 0;
	int v4_ok = len >= 20 && data[0] >> 4 == 4 && ihl >= 20 && ihl <= len &&
		    ipr_csum_partial(data, ihl, 0) == 0xffff;

	assert(buf);
	memcpy(buf, data, len);
	if (WinDivertHelperDecrementTTL(buf, len)) {
		assert(buf[at] == data[at] - 1 && buf[at] > 0);
		if (v4_ok)
			assert(ipr_csum_partial(buf, ihl, 0) == 0xffff);
	} else {
		assert(!memcmp(buf, data, len));
	}
	free(buf);
}

/* Format into a buffer one byte short: FALSE, and the text less its last byte. */
static void check_cut(const char *text, BOOL (*format)(const void *, char *, UINT),
		      const void *addr)
{
	char cut[64];
	size_t n = strlen(text);

	assert(!format(addr, cut, (UINT)n) && GetLastError() == ERROR_INSUFFICIENT_BUFFER);
	assert(strlen(cut) == n - 1 && !strncmp(cut, text, n - 1));
}

static BOOL format4(const void *addr, char *buf, UINT len)
{
	return WinDivertHelperFormatIPv4Address(*(const UINT32 *)addr, buf, len);
}

static BOOL format6(const void *addr, char *buf, UINT len)
{
	return WinDivertHelperFormatIPv6Address(addr, buf, len);
}

static void fuzz_addr_text(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), out[64];
	UINT32 a[4], b[4];

	assert(text);
	memcpy(text, data, size);
	text[size] = '\0';
	if (WinDivertHelperParseIPv4Address(text, a)) {
		assert(format4(a, out, sizeof(out)));
		assert(WinDivertHelperParseIPv4Address(out, b) && a[0] == b[0]);
		check_cut(out, format4, a);
	}
	if (WinDivertHelperParseIPv6Address(text, a)) {
		assert(format6(a, out, sizeof(out)) && strlen(out) < 40);
		/* a mapped address comes out dotted, which reads back as ::a.b.c.d */
		assert(WinDivertHelperParseIPv6Address(out, b));
		assert(!memcmp(a, b, sizeof(a)) || (!strchr(out, ':') && a[1] == 0xffff));
		check_cut(out, format6, a);
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	UINT len = size > 0xffffff ? 0xffffff : (UINT)size;

	fuzz_batch(data, len);
	fuzz_checksums(data, len);
	fuzz_ttl(data, len);
	fuzz_addr_text(data, size);
	return 0;
}
