/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * filter_format.c - a compiled filter back to text, in WinDivert 2.2's
 * canonical form (WinDivertHelperFormatFilter).
 *
 * The tests are put back together as WinDivert does it, from the last test to
 * the first: a test whose success leads to a test only it reaches, failing the
 * same way, becomes "A and B"; one whose failure leads to such a test
 * succeeding the same way becomes "A or B"; other shapes become "(A? B: C)",
 * with "true" and "false" for the ends. The text: "and"/"or" with parentheses
 * only where an "or" sits in an "and" (or the other way round), " = " for
 * equality, a flag test as "x" or "not x", byte indexes as "[Nb]", addresses
 * as addresses, checksums, ids and packet words in hexadecimal.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

enum { N_TEST, N_AND, N_OR, N_COND, N_TRUE, N_FALSE };

#define POOL_MAX (2 * WD_FILTER_MAXLEN + 2)
#define NODE_TRUE 0
#define NODE_FALSE 1

struct fnode {
	uint8_t kind;
	int a, b, c;           /* children of and/or/cond */
	int test;              /* N_TEST: index of the test */
	uint16_t succ, fail;   /* where the expression jumps */
	int count;             /* jumps to it (its slot's, for the one in expr[]) */
};

struct decompiler {
	const struct wd_filter *f;
	struct fnode node[POOL_MAX];
	int nnode;
	int expr[WD_FILTER_MAXLEN];  /* the expression standing for each test; -1: merged */
};

struct out {
	char *buf;
	size_t size, pos;
	int overflow;
};

static int is_label(uint16_t l)
{
	return l != WD_LABEL_ACCEPT && l != WD_LABEL_REJECT;
}

static int new_node(struct decompiler *d, uint8_t kind, int a, int b, int c)
{
	struct fnode *n = &d->node[d->nnode];

	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->a = a;
	n->b = b;
	n->c = c;
	return d->nnode++;
}

/* One jump less to slot l; a slot no one jumps to any more is merged away. */
static void deref(struct decompiler *d, uint16_t l)
{
	if (is_label(l) && d->expr[l] >= 0 && --d->node[d->expr[l]].count == 0)
		d->expr[l] = -1;
}

/* Whether slot l is reached from one place only. */
static int single(const struct decompiler *d, uint16_t l)
{
	return is_label(l) && d->expr[l] >= 0 && d->node[d->expr[l]].count == 1;
}

/* e and the expression of slot next become one (kind), jumping where next jumped. */
static int join(struct decompiler *d, uint8_t kind, int e, uint16_t next, int b, int c)
{
	int n = new_node(d, kind, e, b, c);

	d->node[n].succ = d->node[d->expr[next]].succ;
	d->node[n].fail = d->node[d->expr[next]].fail;
	d->node[n].count = d->node[e].count;
	return n;
}

/* Merge along e's success: "e and next", or "(e? next: true)". -1 if neither fits. */
static int merge_succ(struct decompiler *d, int e)
{
	uint16_t s = d->node[e].succ, f = d->node[e].fail;
	const struct fnode *next = &d->node[d->expr[s]];
	int n;

	if (next->fail == f)
		n = join(d, N_AND, e, s, d->expr[s], 0);
	else if (next->succ == f)
		n = join(d, N_COND, e, s, d->expr[s], NODE_TRUE);
	else
		return -1;
	deref(d, s);
	deref(d, f);
	return n;
}

/* Merge along e's failure: "e or next", or "(e? false: next)". -1 if neither fits. */
static int merge_fail(struct decompiler *d, int e)
{
	uint16_t s = d->node[e].succ, f = d->node[e].fail;
	const struct fnode *next = &d->node[d->expr[f]];
	int n;

	if (next->succ == s)
		n = join(d, N_OR, e, f, d->expr[f], 0);
	else if (next->fail == s)
		n = join(d, N_COND, e, f, NODE_FALSE, d->expr[f]);
	else
		return -1;
	deref(d, f);
	deref(d, s);
	return n;
}

/* Both branches reached from e alone and ending alike: "(e? a: b)". -1 otherwise. */
static int merge_both(struct decompiler *d, int e)
{
	uint16_t s = d->node[e].succ, f = d->node[e].fail;
	const struct fnode *a = &d->node[d->expr[s]], *b = &d->node[d->expr[f]];
	int n;

	if (a->succ != b->succ || a->fail != b->fail)
		return -1;
	n = join(d, N_COND, e, s, d->expr[s], d->expr[f]);
	d->node[n].fail = b->fail;
	deref(d, s);
	deref(d, f);
	deref(d, d->node[n].succ);
	deref(d, d->node[n].fail);
	return n;
}

/* Slot i's expression merged with what follows it, as long as a merge fits. */
static void coalesce(struct decompiler *d, int i)
{
	int e = d->expr[i], n, s_single, f_single;

	while (e >= 0 && d->node[e].count > 0) {
		uint16_t s = d->node[e].succ, f = d->node[e].fail;

		s_single = single(d, s);
		f_single = single(d, f);
		n = s_single ? merge_succ(d, e) : -1;
		if (n < 0 && f_single)
			n = merge_fail(d, e);
		if (n < 0 && s_single && f_single)
			n = merge_both(d, e);
		if (n < 0)
			break;
		e = n;
	}
	if (e >= 0)
		d->expr[i] = e;
}

static void decompile(struct decompiler *d, const struct wd_filter *f)
{
	d->f = f;
	d->nnode = 0;
	d->expr[0] = -1;
	new_node(d, N_TRUE, 0, 0, 0);
	new_node(d, N_FALSE, 0, 0, 0);
	for (unsigned int i = 0; i < f->len; i++) {
		d->expr[i] = new_node(d, N_TEST, 0, 0, 0);
		d->node[d->expr[i]].test = (int)i;
		d->node[d->expr[i]].succ = f->test[i].succ;
		d->node[d->expr[i]].fail = f->test[i].fail;
	}
	for (unsigned int i = 0; i < f->len; i++) {
		if (is_label(f->test[i].succ))
			d->node[d->expr[f->test[i].succ]].count++;
		if (is_label(f->test[i].fail))
			d->node[d->expr[f->test[i].fail]].count++;
	}
	d->node[d->expr[0]].count++; /* the entry */
	for (int i = (int)f->len - 1; i >= 0; i--)
		coalesce(d, i);
}

/* ---- text ---- */

static void put(struct out *o, const char *s)
{
	for (; *s; s++) {
		if (o->pos >= o->size) {
			o->overflow = 1;
			return;
		}
		o->buf[o->pos++] = *s;
	}
}

/* v (128 bits) in decimal. */
static void put_dec(struct out *o, const uint32_t w[4])
{
	uint32_t v[4] = { w[0], w[1], w[2], w[3] };
	char digits[48];
	int n = (int)sizeof(digits) - 1;

	digits[n] = '\0';
	do {
		uint64_t rest = 0;

		for (int i = 3; i >= 0; i--) {
			uint64_t cur = rest << 32 | v[i];

			v[i] = (uint32_t)(cur / 10);
			rest = cur % 10;
		}
		digits[--n] = (char)('0' + rest);
	} while (v[0] || v[1] || v[2] || v[3]);
	put(o, digits + n);
}

static void put_dec32(struct out *o, uint32_t x)
{
	const uint32_t w[4] = { x };

	put_dec(o, w);
}

/* v (128 bits) in lower-case hexadecimal, without leading zeros. */
static void put_hex(struct out *o, const uint32_t w[4])
{
	char digits[33], *p = digits;
	int started = 0;

	for (int i = 3; i >= 0; i--) {
		for (int s = 28; s >= 0; s -= 4) {
			unsigned int d = (w[i] >> s) & 0xF;

			if (d || started || (i == 0 && s == 0))
				*p++ = "0123456789abcdef"[d];
			started |= d != 0;
		}
	}
	*p = '\0';
	put(o, digits);
}

static void put_ipv4(struct out *o, uint32_t a)
{
	for (int i = 3; i >= 0; i--) {
		put_dec32(o, (a >> (8 * i)) & 0xFF);
		if (i)
			put(o, ".");
	}
}

/* The longest run of zero groups (the first of the longest): its start, -1 if none. */
static int zero_run(const uint16_t g[8], int *len)
{
	int start = -1, run = 0, best = 0;

	for (int p = 0; p < 8; p++) {
		run = g[p] ? 0 : run + 1;
		if (run > best) {
			best = run;
			start = p - run + 1;
		}
	}
	*len = best;
	return start;
}

/* An IPv6 address with its longest zero run as "::", an IPv4-mapped one as IPv4. */
static void put_ipv6(struct out *o, const uint32_t w[4])
{
	uint16_t g[8];
	int len, start;

	if (w[3] == 0 && w[2] == 0 && w[1] == 0xFFFF) {
		put_ipv4(o, w[0]);
		return;
	}
	for (int p = 0; p < 8; p++)
		g[p] = (uint16_t)(w[3 - p / 2] >> (p % 2 ? 0 : 16));
	start = zero_run(g, &len);
	for (int p = 0; p < 8; p++) {
		if (p == start) {
			put(o, p == 0 ? "::" : ":");
			p += len - 1;
			continue;
		}
		const uint32_t group[4] = { g[p] };

		put_hex(o, group);
		put(o, p != 7 ? ":" : "");
	}
}

static const char *layer_name(uint32_t layer)
{
	static const char *const names[] = { "NETWORK", "NETWORK_FORWARD", "FLOW", "SOCKET",
					     "REFLECT" };

	return layer < 5 ? names[layer] : NULL;
}

/* An event's macro as the layer names it, or NULL. */
static const char *event_name(WINDIVERT_LAYER layer, uint32_t event)
{
	static const char *const names[] = { "PACKET", "ESTABLISHED", "DELETED", "BIND",
					     "CONNECT", "LISTEN", "ACCEPT", "CLOSE", "OPEN",
					     "CLOSE" };
	static const uint8_t layer_of[] = {
		WINDIVERT_LAYER_NETWORK, WINDIVERT_LAYER_FLOW, WINDIVERT_LAYER_FLOW,
		WINDIVERT_LAYER_SOCKET, WINDIVERT_LAYER_SOCKET, WINDIVERT_LAYER_SOCKET,
		WINDIVERT_LAYER_SOCKET, WINDIVERT_LAYER_SOCKET, WINDIVERT_LAYER_REFLECT,
		WINDIVERT_LAYER_REFLECT,
	};

	if (event >= 10)
		return NULL;
	if (layer == WINDIVERT_LAYER_NETWORK_FORWARD)
		layer = WINDIVERT_LAYER_NETWORK;
	return layer_of[event] == layer ? names[event] : NULL;
}

static void put_value(struct out *o, const struct wd_field *fd, const struct wd_value *v,
		      WINDIVERT_LAYER layer)
{
	const char *name = NULL;

	if (v->neg)
		put(o, "-");
	if (fd->style == WD_STYLE_LAYER)
		name = layer_name(v->w[0]);
	else if (fd->style == WD_STYLE_EVENT)
		name = event_name(layer, v->w[0]);
	if (name) {
		put(o, name);
	} else if (fd->style == WD_STYLE_IPV4) {
		put_ipv4(o, v->w[0]);
	} else if (fd->style == WD_STYLE_IPV6) {
		put_ipv6(o, v->w);
	} else if (fd->style == WD_STYLE_HEX) {
		put(o, "0x");
		put_hex(o, v->w);
	} else if (fd->style == WD_STYLE_LAYER || fd->style == WD_STYLE_EVENT) {
		put_dec32(o, v->w[0]);
	} else {
		put_dec(o, v->w);
	}
}

static void put_test(struct out *o, const struct wd_test *t, WINDIVERT_LAYER layer)
{
	static const char *const ops[] = { " = ", " != ", " < ", " <= ", " > ", " >= " };
	const struct wd_field *fd = wd_field(t->field);
	struct wd_value v;
	int32_t index = (int32_t)t->arg[1];

	wd_test_value(t, &v);
	if (fd->array)
		v.neg = 0;
	if (fd->style == WD_STYLE_FLAG && !v.w[1] && !v.w[2] && !v.w[3] && v.w[0] <= 1 &&
	    (t->op == WD_EQ || t->op == WD_NEQ)) {
		put(o, (t->op == WD_EQ) == (v.w[0] == 0) ? "not " : "");
		put(o, fd->name);
		return;
	}
	put(o, fd->name);
	if (fd->array) {
		put(o, index < 0 ? "[-" : "[");
		put_dec32(o, index < 0 ? 0 - (uint32_t)index : (uint32_t)index);
		put(o, "b]");
	}
	put(o, ops[t->op]);
	put_value(o, fd, &v, layer);
}

static void put_node(const struct decompiler *d, struct out *o, int n, int top, int and)
{
	const struct fnode *e = &d->node[n];
	int paren = (e->kind == N_AND && !top && !and) || (e->kind == N_OR && !top && and);

	if (o->overflow)
		return;
	switch (e->kind) {
	case N_TRUE:
		put(o, "true");
		return;
	case N_FALSE:
		put(o, "false");
		return;
	case N_TEST:
		put_test(o, &d->f->test[e->test], d->f->layer);
		return;
	case N_COND:
		put(o, "(");
		put_node(d, o, e->a, 1, 0);
		put(o, "? ");
		put_node(d, o, e->b, 1, 0);
		put(o, ": ");
		put_node(d, o, e->c, 1, 0);
		put(o, ")");
		return;
	}
	put(o, paren ? "(" : "");
	put_node(d, o, e->a, 0, e->kind == N_AND);
	put(o, e->kind == N_AND ? " and " : " or ");
	put_node(d, o, e->b, 0, e->kind == N_AND);
	put(o, paren ? ")" : "");
}

/* Where label leads once tests that jump the same way either way are skipped. */
static uint16_t resolve(const struct decompiler *d, uint16_t label)
{
	while (is_label(label) && d->expr[label] >= 0 &&
	       d->node[d->expr[label]].succ == d->node[d->expr[label]].fail)
		label = d->node[d->expr[label]].succ;
	return label;
}

/* The expression at label, with "(e? then: else)" where its jumps are not the ends. */
static int put_label(const struct decompiler *d, struct out *o, uint16_t label, int top)
{
	const struct fnode *e;

	label = resolve(d, label);
	if (!is_label(label)) {
		put(o, label == WD_LABEL_ACCEPT ? "true" : "false");
		return 0;
	}
	if (d->expr[label] < 0)
		return -EINVAL;
	e = &d->node[d->expr[label]];
	if (resolve(d, e->succ) == WD_LABEL_ACCEPT && resolve(d, e->fail) == WD_LABEL_REJECT) {
		put_node(d, o, d->expr[label], top, 0);
		return 0;
	}
	if (o->overflow)
		return 0;
	put(o, "(");
	put_node(d, o, d->expr[label], 1, 0);
	put(o, "? ");
	if (put_label(d, o, e->succ, 1) < 0)
		return -EINVAL;
	put(o, ": ");
	if (put_label(d, o, e->fail, 1) < 0)
		return -EINVAL;
	put(o, ")");
	return 0;
}

int wd_filter_format(const struct wd_filter *f, char *buf, size_t size)
{
	struct decompiler *d = malloc(sizeof(*d));
	struct out o = { .buf = buf, .size = size };
	int err;

	if (!d)
		return -ENOMEM;
	decompile(d, f);
	err = put_label(d, &o, 0, 1);
	free(d);
	if (err < 0)
		return err;
	if (o.pos < size) {
		buf[o.pos] = '\0';
		return o.overflow ? -ENOSPC : (int)o.pos;
	}
	if (size > 0)
		buf[size - 1] = '\0';
	return -ENOSPC;
}
