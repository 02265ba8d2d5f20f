/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * filter_format.c - a compiled filter back to text, in WinDivert 2.2's
 * canonical form (WinDivertHelperFormatFilter).
 *
 * The expression is filter_decompile.c's. The text: "and"/"or" with parentheses
 * only where an "or" sits in an "and" (or the other way round), " = " for
 * equality, a flag test as "x" or "not x", byte indexes as "[Nb]", addresses
 * as addresses, checksums, ids and packet words in hexadecimal.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

struct out {
	char *buf;
	size_t size, pos;
	int overflow;
};

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

/* An address as WinDivert writes it (helper_addr.c). */
static void put_addr(struct out *o, const struct wd_value *v, int v6)
{
	char text[64];

	if (v6)
		wd_format_ipv6(v->w, text, sizeof(text));
	else
		wd_format_ipv4(v->w[0], text, sizeof(text));
	put(o, text);
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
	} else if (fd->style == WD_STYLE_IPV4 || fd->style == WD_STYLE_IPV6) {
		put_addr(o, v, fd->style == WD_STYLE_IPV6);
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

/* The ": " of a conditional; after an address ending in "::", " : " (WinDivert writes
 * "1::: x", which no filter text can say). */
static void put_colon(struct out *o)
{
	put(o, o->pos && o->pos <= o->size && o->buf[o->pos - 1] == ':' ? " : " : ": ");
}

static void put_node(const struct wd_decompiled *d, struct out *o, int n, int top, int and)
{
	const struct wd_expr *e = &d->node[n];
	int paren = (e->kind == WD_EXPR_AND && !top && !and) || (e->kind == WD_EXPR_OR && !top && and);

	if (o->overflow)
		return;
	switch (e->kind) {
	case WD_EXPR_TRUE:
		put(o, "true");
		return;
	case WD_EXPR_FALSE:
		put(o, "false");
		return;
	case WD_EXPR_TEST:
		put_test(o, &d->f->test[e->test], d->f->layer);
		return;
	case WD_EXPR_COND:
		put(o, "(");
		put_node(d, o, e->a, 1, 0);
		put(o, "? ");
		put_node(d, o, e->b, 1, 0);
		put_colon(o);
		put_node(d, o, e->c, 1, 0);
		put(o, ")");
		return;
	}
	put(o, paren ? "(" : "");
	put_node(d, o, e->a, 0, e->kind == WD_EXPR_AND);
	put(o, e->kind == WD_EXPR_AND ? " and " : " or ");
	put_node(d, o, e->b, 0, e->kind == WD_EXPR_AND);
	put(o, paren ? ")" : "");
}

/* The expression at label, as "(e? then: else)" where its jumps are not the ends. */
static int put_label(const struct wd_decompiled *d, struct out *o, uint16_t label, int top)
{
	int n = 0;

	switch (wd_decompiled_at(d, label, &n)) {
	case WD_AT_TRUE:
		put(o, "true");
		return 0;
	case WD_AT_FALSE:
		put(o, "false");
		return 0;
	case WD_AT_BAD:
		return -EINVAL;
	case WD_AT_NODE:
		put_node(d, o, n, top, 0);
		return 0;
	case WD_AT_COND:
		break;
	}
	if (o->overflow)
		return 0;
	put(o, "(");
	put_node(d, o, n, 1, 0);
	put(o, "? ");
	if (put_label(d, o, d->node[n].succ, 1) < 0)
		return -EINVAL;
	put_colon(o);
	if (put_label(d, o, d->node[n].fail, 1) < 0)
		return -EINVAL;
	put(o, ")");
	return 0;
}

int wd_filter_format(const struct wd_filter *f, char *buf, size_t size)
{
	struct wd_decompiled *d = malloc(sizeof(*d));
	struct out o = { .buf = buf, .size = size };
	int err;

	if (!d)
		return -ENOMEM;
	wd_decompile(d, f);
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
