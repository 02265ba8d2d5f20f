/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * filter_pcap.c - pcap expressions built up from pieces, constants folded.
 *
 * A piece is true, false or text; "and", "or" and "not" of pieces fold the
 * constants and equal operands, and parenthesize what libpcap would read
 * otherwise (its "and" and "or" bind alike, from the left). A piece that would
 * grow past WD_PF_MAX characters becomes "big": the caller replaces it by a
 * constant on the safe side. Every function takes ownership of its operands.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

struct wd_pf wd_pf_const(int v)
{
	struct wd_pf p = { v ? WD_PF_TRUE : WD_PF_FALSE, NULL };

	return p;
}

struct wd_pf wd_pf_atom(const char *fmt, ...)
{
	struct wd_pf p = { WD_PF_ATOM, NULL };
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&p.s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		p.s = NULL;
		p.kind = WD_PF_NOMEM;
	}
	return p;
}

void wd_pf_free(struct wd_pf *p)
{
	free(p->s);
	p->s = NULL;
}

int wd_pf_equal(const struct wd_pf *a, const struct wd_pf *b)
{
	return a->kind == b->kind && (!a->s || strcmp(a->s, b->s) == 0);
}

struct wd_pf wd_pf_dup(const struct wd_pf *a)
{
	struct wd_pf p = { a->kind, NULL };

	if (a->s && !(p.s = strdup(a->s)))
		p.kind = WD_PF_NOMEM;
	return p;
}

/* The cases of "and" and "or" that need no new text: 1 with *out, else 0. */
static int fold(struct wd_pf *a, struct wd_pf *b, uint8_t kind, struct wd_pf *out)
{
	uint8_t absorbing = kind == WD_PF_AND ? WD_PF_FALSE : WD_PF_TRUE;
	uint8_t neutral = kind == WD_PF_AND ? WD_PF_TRUE : WD_PF_FALSE;
	uint8_t special;

	if (a->kind == WD_PF_NOMEM || b->kind == WD_PF_NOMEM)
		special = WD_PF_NOMEM;
	else if (a->kind == absorbing || b->kind == absorbing)
		special = absorbing;
	else if (a->kind == WD_PF_BIG || b->kind == WD_PF_BIG)
		special = WD_PF_BIG;
	else
		special = neutral; /* none of these */
	if (special != neutral) {
		wd_pf_free(a);
		wd_pf_free(b);
		out->kind = special;
		out->s = NULL;
		return 1;
	}
	if (a->kind == neutral || wd_pf_equal(a, b)) {
		wd_pf_free(a);
		*out = *b;
		return 1;
	}
	if (b->kind == neutral) {
		wd_pf_free(b);
		*out = *a;
		return 1;
	}
	return 0;
}

/* a's text as an operand of kind: in parentheses unless it is an atom or of that kind. */
static int operand(char *buf, size_t size, const struct wd_pf *a, uint8_t kind)
{
	int bare = a->kind == WD_PF_ATOM || a->kind == kind;

	return snprintf(buf, size, bare ? "%s" : "(%s)", a->s);
}

static struct wd_pf join(struct wd_pf a, struct wd_pf b, uint8_t kind)
{
	struct wd_pf p = { kind, NULL };
	size_t size = strlen(a.s) + strlen(b.s) + 10;

	if (size > WD_PF_MAX) {
		p.kind = WD_PF_BIG;
	} else if (!(p.s = malloc(size))) {
		p.kind = WD_PF_NOMEM;
	} else {
		int n = operand(p.s, size, &a, kind);

		n += snprintf(p.s + n, size - (size_t)n, kind == WD_PF_AND ? " and " : " or ");
		operand(p.s + n, size - (size_t)n, &b, kind);
	}
	wd_pf_free(&a);
	wd_pf_free(&b);
	return p;
}

struct wd_pf wd_pf_and(struct wd_pf a, struct wd_pf b)
{
	struct wd_pf p;

	return fold(&a, &b, WD_PF_AND, &p) ? p : join(a, b, WD_PF_AND);
}

struct wd_pf wd_pf_or(struct wd_pf a, struct wd_pf b)
{
	struct wd_pf p;

	return fold(&a, &b, WD_PF_OR, &p) ? p : join(a, b, WD_PF_OR);
}

struct wd_pf wd_pf_not(struct wd_pf a)
{
	struct wd_pf p;

	if (a.kind == WD_PF_TRUE || a.kind == WD_PF_FALSE)
		return wd_pf_const(a.kind == WD_PF_FALSE);
	if (a.kind != WD_PF_ATOM && a.kind != WD_PF_AND && a.kind != WD_PF_OR)
		return a;
	p = wd_pf_atom("not (%s)", a.s);
	wd_pf_free(&a);
	return p;
}
