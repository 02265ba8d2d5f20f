/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * fuzz_filter.c - libFuzzer harness of the filter code in src/filter.c.
 *
 * Input: a filter expression, a NUL byte, then packet bytes. The expression is
 * compiled as ipr_open() would and as with IPR_OPEN_USER_FILTER; the packet
 * goes through the full program. Oracles: a kernel program is valid classic
 * BPF for xt_bpf (at most 64 instructions, jumps inside, ends in a return);
 * one that is the whole filter equals it; a coarse one matches every packet
 * the full filter matches (a superset); a bad expression fails with -EINVAL
 * and a message that names it.
 */
#include <assert.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define EXPR_MAX 512 /* longer expressions only slow the compiler down */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int jump_ok(unsigned int at, uint32_t offset, unsigned int len)
{
	return (uint64_t)at + 1 + offset < len;
}

static void check_kernel_program(const struct sock_filter *prog, unsigned int len)
{
	assert(len > 0 && len <= IPR_XT_BPF_MAX);
	assert(BPF_CLASS(prog[len - 1].code) == BPF_RET);
	for (unsigned int i = 0; i < len; i++) {
		if (BPF_CLASS(prog[i].code) != BPF_JMP)
			continue;
		if (BPF_OP(prog[i].code) == BPF_JA)
			assert(jump_ok(i, prog[i].k, len));
		else
			assert(jump_ok(i, prog[i].jt, len) && jump_ok(i, prog[i].jf, len));
	}
}

/* Run a kernel program over the packet as xt_bpf would (same layout as bpf_insn). */
static int kernel_match(const struct ipr_filter *f, const uint8_t *pkt, size_t len)
{
	return bpf_filter((const struct bpf_insn *)f->kernel, pkt, (unsigned int)len,
			  (unsigned int)len) != 0;
}

static void check_filter(const struct ipr_filter *f, const uint8_t *pkt, size_t len)
{
	int full = ipr_filter_match(f, pkt, (uint32_t)len, (uint32_t)len);

	if (!f->kernel)
		return;
	check_kernel_program(f->kernel, f->kernel_len);
	if (!f->user) {
		assert(f->kernel_len == f->prog_len);
		assert(!memcmp(f->kernel, f->prog, f->prog_len * sizeof(*f->prog)));
	}
	if (full)
		assert(kernel_match(f, pkt, len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t expr_len = nul ? (size_t)(nul - data) : size;
	const uint8_t *pkt = nul ? nul + 1 : data + size;
	size_t pkt_len = size - (size_t)(pkt - data);
	struct ipr_filter f;
	char *expr;
	int err;

	if (expr_len > EXPR_MAX)
		return 0;
	expr = malloc(expr_len + 1);
	assert(expr);
	memcpy(expr, data, expr_len);
	expr[expr_len] = '\0';
	for (int force_user = 0; force_user <= 1; force_user++) {
		err = ipr_filter_compile(expr, force_user, &f);
		if (err) {
			assert(err == -EINVAL || err == -ENOMEM);
			assert(!strncmp(ipr_last_error(), "bad filter \"", 12));
			assert(!f.prog && !f.kernel);
			break;
		}
		assert(!force_user || !f.kernel);
		check_filter(&f, pkt, pkt_len);
		ipr_filter_free(&f);
	}
	free(expr);
	return 0;
}
