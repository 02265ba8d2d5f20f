/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_wdfilter.c - libFuzzer harness of libwindivert's filter language.
 *
 * Input: a layer byte, a filter (text, or an object "@WinDiv_..."), a NUL byte,
 * then packet bytes. Oracles: a refused filter gets one of WinDivert's reasons;
 * an accepted one has an object that compiles to itself and (when its fields are
 * the layer's) a canonical text that the object and the text share and that
 * reaches a fixed point; text and
 * object evaluate alike; at the network layers the kernel part's pcap
 * expression compiles and takes every packet the filter matches (exactly those
 * when it says it is exact). libpcap's program is taken as written: its
 * optimizer has bugs of its own (the unit test runs both).
 */
#include <assert.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

#define FILTER_MAX 4096 /* longer filters only slow the compiler down */
#define TEXT_MAX 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char obj[TEXT_MAX], obj2[TEXT_MAX], text[TEXT_MAX], text2[TEXT_MAX];

static void check_refusal(const char *filter, WINDIVERT_LAYER layer)
{
	static const char *const reasons[] = {
		"Filter expression too deep", "Filter expression too long",
		"Filter expression contains a bad token",
		"Filter expression contains a bad token for layer",
		"Filter expression parse error", "Filter expression array index is out-of-bounds",
		"Filter object is invalid",
	};
	const char *err = NULL;
	UINT pos;
	size_t i;

	assert(!WinDivertHelperCompileFilter(filter, layer, NULL, 0, &err, &pos));
	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(err, reasons[i]) == 0)
			break;
	assert(i < sizeof(reasons) / sizeof(reasons[0]));
	assert(pos <= strlen(filter) || pos == (UINT)-1); /* "a:" at 0 gives -1, as in WinDivert */
	assert(!WinDivertHelperFormatFilter(filter, layer, text, sizeof(text)));
}

/* The object compiles to itself; text and object format alike, and formatting the
 * canonical text again reaches a fixed point within a few rounds (constant tests,
 * as in "a and false", leave tests behind that the next round's text no longer has,
 * and a branch found always true in one round can make its condition a plain "or"
 * in the next). */
static void check_forms(const char *filter, WINDIVERT_LAYER layer)
{
	static char again[TEXT_MAX];
	struct wd_filter *f;
	int round;

	assert(WinDivertHelperCompileFilter(obj, layer, obj2, sizeof(obj2), NULL, NULL));
	assert(strcmp(obj, obj2) == 0);
	if (wd_filter_compile(filter, layer, &f, NULL, NULL) < 0)
		return; /* an object naming fields the layer lacks: its text is refused */
	wd_filter_free(f);
	assert(WinDivertHelperFormatFilter(filter, layer, text, sizeof(text)));
	assert(WinDivertHelperFormatFilter(obj, layer, text2, sizeof(text2)));
	assert(strcmp(text, text2) == 0);
	for (round = 0; round < 8; round++) {
		assert(WinDivertHelperFormatFilter(text, layer, again, sizeof(again)));
		if (strcmp(text, again) == 0)
			return;
		memcpy(text, again, strlen(again) + 1);
	}
	assert(!"the canonical text reaches no fixed point");
}

/* Whether the kernel part takes the packet with this address. */
static int kernel_takes(const struct wd_kernel *k, const struct bpf_program *bp,
			const uint8_t *pkt, size_t len, const WINDIVERT_ADDRESS *a)
{
	if (a->Outbound ? !k->outbound : !k->inbound)
		return 0;
	if (k->ifidx && a->Network.IfIdx != k->ifidx)
		return 0;
	return !k->pcap || bpf_filter(bp->bf_insns, pkt, (u_int)len, (u_int)len) != 0;
}

static void check_packet(const struct wd_filter *f, const struct wd_kernel *k,
			 const struct bpf_program *bp, const uint8_t *pkt, size_t len)
{
	WINDIVERT_ADDRESS a;

	memset(&a, 0, sizeof(a));
	a.Layer = wd_filter_layer(f);
	a.IPv6 = len > 0 && pkt[0] >> 4 == 6;
	a.Network.IfIdx = len > 1 ? pkt[1] % 4 : 0;
	for (int out = 0; out <= 1; out++) {
		a.Outbound = (UINT32)out;
		int m = wd_filter_run(f, pkt, (UINT)len, &a);
		int t = kernel_takes(k, bp, pkt, len, &a);

		if (m < 0)
			continue;
		assert(m == WinDivertHelperEvalFilter(obj, pkt, (UINT)len, &a));
		assert(!m || t);
		assert(!k->exact || m == t);
	}
}

static void check_kernel(const char *filter, WINDIVERT_LAYER layer, const uint8_t *pkt,
			 size_t len)
{
	struct bpf_program bp = { 0 };
	struct wd_filter *f;
	struct wd_kernel k;
	pcap_t *pcap;

	if (wd_filter_compile(filter, layer, &f, NULL, NULL) < 0)
		return; /* an object with a field the layer lacks */
	assert(wd_filter_kernel(f, &k) == 0);
	if (k.pcap) {
		pcap = pcap_open_dead(DLT_RAW, 262144);
		assert(pcap_compile(pcap, &bp, k.pcap, 0, PCAP_NETMASK_UNKNOWN) == 0);
		pcap_close(pcap);
	}
	check_packet(f, &k, &bp, pkt, len);
	if (k.pcap)
		pcap_freecode(&bp);
	wd_kernel_free(&k);
	wd_filter_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = size ? memchr(data + 1, 0, size - 1) : NULL;
	size_t filter_len = nul ? (size_t)(nul - data - 1) : (size ? size - 1 : 0);
	const uint8_t *pkt = nul ? nul + 1 : data + size;
	WINDIVERT_LAYER layer = (WINDIVERT_LAYER)(size ? data[0] % 6 : 0);
	char *filter;

	if (size == 0 || filter_len > FILTER_MAX)
		return 0;
	filter = malloc(filter_len + 1);
	assert(filter);
	memcpy(filter, data + 1, filter_len);
	filter[filter_len] = '\0';
	if (!WinDivertHelperCompileFilter(filter, layer, obj, sizeof(obj), NULL, NULL)) {
		check_refusal(filter, layer);
	} else {
		check_forms(filter, layer);
		if (layer <= WINDIVERT_LAYER_NETWORK_FORWARD)
			check_kernel(filter, layer, pkt, size - (size_t)(pkt - data));
	}
	free(filter);
	return 0;
}
