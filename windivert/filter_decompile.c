/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * filter_decompile.c - the tests of a compiled filter put back together into
 * and/or/conditional expressions, as WinDivert 2.2 does it for FormatFilter.
 *
 * From the last test to the first: a test whose success leads to a test only it
 * reaches, failing the same way, becomes "A and B"; one whose failure leads to
 * such a test succeeding the same way becomes "A or B"; a test whose branches
 * are reached from it alone and end alike becomes "(A? B: C)", and so do the
 * shapes with "true" or "false" on one side. What remains is read from test 0,
 * as a conditional wherever its jumps are not simply accept and reject.
 */
#include <string.h>

#include "filter.h"

#define NODE_TRUE 0
#define NODE_FALSE 1

static int is_label(uint16_t l)
{
	return l != WD_LABEL_ACCEPT && l != WD_LABEL_REJECT;
}

static int new_node(struct wd_decompiled *d, uint8_t kind, int a, int b, int c)
{
	struct wd_expr *n = &d->node[d->nnode];

	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->a = a;
	n->b = b;
	n->c = c;
	return d->nnode++;
}

/* One jump less to slot l; a slot no one jumps to any more is merged away. */
static void deref(struct wd_decompiled *d, uint16_t l)
{
	if (is_label(l) && d->expr[l] >= 0 && --d->node[d->expr[l]].count == 0)
		d->expr[l] = -1;
}

/* Whether slot l is reached from one place only. */
static int single(const struct wd_decompiled *d, uint16_t l)
{
	return is_label(l) && d->expr[l] >= 0 && d->node[d->expr[l]].count == 1;
}

/* e and the expression of slot next become one (kind), jumping where next jumped. */
static int join(struct wd_decompiled *d, uint8_t kind, int e, uint16_t next, int b, int c)
{
	int n = new_node(d, kind, e, b, c);

	d->node[n].succ = d->node[d->expr[next]].succ;
	d->node[n].fail = d->node[d->expr[next]].fail;
	d->node[n].count = d->node[e].count;
	return n;
}

/* Merge along e's success: "e and next", or "(e? next: true)". -1 if neither fits. */
static int merge_succ(struct wd_decompiled *d, int e)
{
	uint16_t s = d->node[e].succ, f = d->node[e].fail;
	const struct wd_expr *next = &d->node[d->expr[s]];
	int n;

	if (next->fail == f)
		n = join(d, WD_EXPR_AND, e, s, d->expr[s], 0);
	else if (next->succ == f)
		n = join(d, WD_EXPR_COND, e, s, d->expr[s], NODE_TRUE);
	else
		return -1;
	deref(d, s);
	deref(d, f);
	return n;
}

/* Merge along e's failure: "e or next", or "(e? false: next)". -1 if neither fits. */
static int merge_fail(struct wd_decompiled *d, int e)
{
	uint16_t s = d->node[e].succ, f = d->node[e].fail;
	const struct wd_expr *next = &d->node[d->expr[f]];
	int n;

	if (next->succ == s)
		n = join(d, WD_EXPR_OR, e, f, d->expr[f], 0);
	else if (next->fail == s)
		n = join(d, WD_EXPR_COND, e, f, NODE_FALSE, d->expr[f]);
	else
		return -1;
	deref(d, f);
	deref(d, s);
	return n;
}

/* Both branches reached from e alone and ending alike: "(e? a: b)". -1 otherwise. */
static int merge_both(struct wd_decompiled *d, int e)
{
	uint16_t s = d->node[e].succ, f = d->node[e].fail;
	const struct wd_expr *a = &d->node[d->expr[s]], *b = &d->node[d->expr[f]];
	int n;

	if (a->succ != b->succ || a->fail != b->fail)
		return -1;
	n = join(d, WD_EXPR_COND, e, s, d->expr[s], d->expr[f]);
	d->node[n].fail = b->fail;
	deref(d, s);
	deref(d, f);
	deref(d, d->node[n].succ);
	deref(d, d->node[n].fail);
	return n;
}

/* Slot i's expression merged with what follows it, as long as a merge fits. */
static void coalesce(struct wd_decompiled *d, int i)
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

void wd_decompile(struct wd_decompiled *d, const struct wd_filter *f)
{
	d->f = f;
	d->nnode = 0;
	d->expr[0] = -1;
	new_node(d, WD_EXPR_TRUE, 0, 0, 0);
	new_node(d, WD_EXPR_FALSE, 0, 0, 0);
	for (unsigned int i = 0; i < f->len; i++) {
		d->expr[i] = new_node(d, WD_EXPR_TEST, 0, 0, 0);
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

uint16_t wd_decompiled_resolve(const struct wd_decompiled *d, uint16_t label)
{
	while (is_label(label) && d->expr[label] >= 0 &&
	       d->node[d->expr[label]].succ == d->node[d->expr[label]].fail)
		label = d->node[d->expr[label]].succ;
	return label;
}

enum wd_at wd_decompiled_at(const struct wd_decompiled *d, uint16_t label, int *node)
{
	const struct wd_expr *e;

	label = wd_decompiled_resolve(d, label);
	if (!is_label(label))
		return label == WD_LABEL_ACCEPT ? WD_AT_TRUE : WD_AT_FALSE;
	if (d->expr[label] < 0)
		return WD_AT_BAD;
	*node = d->expr[label];
	e = &d->node[*node];
	if (wd_decompiled_resolve(d, e->succ) == WD_LABEL_ACCEPT &&
	    wd_decompiled_resolve(d, e->fail) == WD_LABEL_REJECT)
		return WD_AT_NODE;
	return WD_AT_COND;
}
