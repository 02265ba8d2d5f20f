/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * filter_parse.c - tokens -> expression tree, by WinDivert 2.2's grammar:
 *
 *   FILTER := ARG { and ARG | or FILTER }      ('and' binds tighter than 'or')
 *   ARG    := ( FILTER ) | ( FILTER ? FILTER : FILTER ) | TEST
 *   TEST   := { not } FIELD [ [ [-] NUMBER [b] ] ] [ OP [-] VALUE ]
 *
 * 'not' applies to a test only and turns its comparison around; a bare field
 * means "!= 0" ("== 0" after an odd number of 'not's). Depth is counted and
 * errors are reported as WinDivert counts and reports them, so that a filter
 * is refused with the same reason at the same position.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

#define DEPTH_MAX 1024

struct parser {
	const struct wd_token *tok;
	unsigned int at;            /* current token */
	struct wd_node *node;
	int nnode;
	enum wd_filter_error err;
	unsigned int pos;
};

static int parse_filter(struct parser *p, int depth, int and_only);

static const struct wd_token *cur(const struct parser *p)
{
	return &p->tok[p->at];
}

static int fail(struct parser *p, enum wd_filter_error err, unsigned int pos)
{
	p->err = err;
	p->pos = pos;
	return -1;
}

static int unexpected(struct parser *p)
{
	return fail(p, WD_ERR_UNEXPECTED_TOKEN, cur(p)->pos);
}

/* A new node (at most one per token, so there is always room). */
static int add(struct parser *p, uint8_t kind, int a, int b, int c)
{
	struct wd_node *n = &p->node[p->nnode];

	if (a < 0 || b < 0 || c < 0)
		return -1;
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->a = a;
	n->b = b;
	n->c = c;
	return p->nnode++;
}

/* "[i]", "[-i]", "[ib]" or "[-ib]" of an indexed field, into the byte index. */
static int parse_index(struct parser *p, struct wd_node *n)
{
	uint32_t size = wd_field(n->test.field)->array, idx;
	int neg = 0;

	if (cur(p)->kind != WD_TOK_SQUARE_OPEN)
		return unexpected(p);
	p->at++;
	if (cur(p)->kind == WD_TOK_MINUS) {
		neg = 1;
		p->at++;
	}
	if (cur(p)->kind != WD_TOK_NUMBER)
		return unexpected(p);
	if (cur(p)->val[3] || cur(p)->val[2] || cur(p)->val[1] ||
	    cur(p)->val[0] > WINDIVERT_MTU_MAX)
		return fail(p, WD_ERR_INDEX_OOB, cur(p)->pos);
	idx = cur(p)->val[0];
	p->at++;
	if (cur(p)->kind == WD_TOK_BYTES)
		p->at++;
	else
		idx *= size;
	if ((!neg && idx > WD_INDEX_MAX - size) || (neg && (idx > WD_INDEX_MAX || idx < size)))
		return fail(p, WD_ERR_INDEX_OOB, cur(p)->pos);
	if (cur(p)->kind != WD_TOK_SQUARE_CLOSE)
		return unexpected(p);
	p->at++;
	n->index = neg ? -(int32_t)idx : (int32_t)idx;
	return 0;
}

/* The comparison after an odd number of 'not's. */
static uint8_t negate(uint8_t op)
{
	static const uint8_t opposite[] = { WD_NEQ, WD_EQ, WD_GEQ, WD_GT, WD_LEQ, WD_LT };

	return opposite[op];
}

/* After the field: "OP [-] VALUE", or nothing for "!= 0". */
static int parse_comparison(struct parser *p, struct wd_node *n, int not)
{
	uint8_t kind = cur(p)->kind;

	if (kind < WD_TOK_EQ || kind > WD_TOK_GEQ) {
		n->test.op = not ? WD_EQ : WD_NEQ;
		return 0;
	}
	n->test.op = not ? negate(kind - WD_TOK_EQ) : kind - WD_TOK_EQ;
	p->at++;
	if (cur(p)->kind == WD_TOK_MINUS) {
		n->test.neg = 1;
		p->at++;
	}
	if (cur(p)->kind != WD_TOK_NUMBER)
		return unexpected(p);
	memcpy(n->test.arg, cur(p)->val, sizeof(n->test.arg));
	p->at++;
	return 0;
}

static int parse_test(struct parser *p)
{
	struct wd_node *n;
	int not = 0, id;

	for (; cur(p)->kind == WD_TOK_NOT; p->at++)
		not = !not;
	if (cur(p)->kind != WD_TOK_FIELD)
		return unexpected(p);
	id = add(p, WD_NODE_TEST, 0, 0, 0);
	n = &p->node[id];
	n->test.field = cur(p)->field;
	p->at++;
	if (wd_field(n->test.field)->array && parse_index(p, n) < 0)
		return -1;
	return parse_comparison(p, n, not) < 0 ? -1 : id;
}

/* After "( FILTER ?": "FILTER : FILTER )". */
static int parse_cond(struct parser *p, int depth, int cond)
{
	int then, other;

	p->at++;
	then = parse_filter(p, depth, 0);
	if (then < 0)
		return -1;
	if (cur(p)->kind != WD_TOK_COLON)
		return unexpected(p);
	p->at++;
	other = parse_filter(p, depth, 0);
	if (other < 0)
		return -1;
	if (cur(p)->kind != WD_TOK_CLOSE)
		return unexpected(p);
	p->at++;
	return add(p, WD_NODE_COND, cond, then, other);
}

static int parse_arg(struct parser *p, int depth)
{
	int arg;

	if (depth-- < 0)
		return fail(p, WD_ERR_TOO_DEEP, cur(p)->pos);
	if (cur(p)->kind != WD_TOK_OPEN)
		return parse_test(p);
	p->at++;
	arg = parse_filter(p, depth, 0);
	if (cur(p)->kind == WD_TOK_CLOSE) {
		p->at++;
		return arg;
	}
	if (cur(p)->kind == WD_TOK_QUESTION)
		return arg < 0 ? -1 : parse_cond(p, depth, arg);
	return unexpected(p); /* also after an error inside, as WinDivert reports it */
}

static int parse_filter(struct parser *p, int depth, int and_only)
{
	int expr, arg;

	if (depth-- < 0)
		return fail(p, WD_ERR_TOO_DEEP, cur(p)->pos);
	expr = and_only ? parse_arg(p, depth) : parse_filter(p, depth, 1);
	while (expr >= 0) {
		if (cur(p)->kind == WD_TOK_AND) {
			p->at++;
			arg = parse_arg(p, depth);
			expr = add(p, WD_NODE_AND, expr, arg, 0);
		} else if (cur(p)->kind == WD_TOK_OR) {
			p->at++;
			arg = parse_filter(p, depth, 1);
			expr = add(p, WD_NODE_OR, expr, arg, 0);
		} else {
			break;
		}
	}
	return expr;
}

enum wd_filter_error wd_filter_parse(const char *text, WINDIVERT_LAYER layer,
				     struct wd_tree *tree, unsigned int *pos)
{
	struct parser p = { .err = WD_ERR_NONE };
	struct wd_token *tok = malloc(WD_TOKENS_MAX * sizeof(*tok));

	tree->node = malloc(WD_TOKENS_MAX * sizeof(*tree->node));
	if (!tok || !tree->node) {
		p.err = WD_ERR_NO_MEMORY;
		goto out;
	}
	p.err = wd_filter_lex(text, layer, tok, &p.pos);
	if (p.err != WD_ERR_NONE)
		goto out;
	p.tok = tok;
	p.node = tree->node;
	tree->root = parse_filter(&p, DEPTH_MAX, 0);
	tree->nnode = p.nnode;
	if (tree->root >= 0 && cur(&p)->kind != WD_TOK_END)
		unexpected(&p);
out:
	free(tok);
	*pos = p.pos;
	return p.err;
}
