/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * filter_compile.c - expression tree -> tests with jumps, as WinDivert 2.2
 * flattens it, so that the object strings and the formatted text match its own.
 *
 * Each test jumps to a later test, or to ACCEPT/REJECT, on success and on
 * failure; "A and B" runs A with B as its success, "A or B" with B as its
 * failure, "(C ? A : B)" runs C with A and B. Tests the field's bounds settle
 * are folded away. At most WD_FILTER_MAXLEN tests remain ("too long" beyond).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

struct flat {
	const struct wd_node *node;
	struct wd_test stack[WD_FILTER_MAXLEN]; /* in the order they were made */
	int n;
};

const char *wd_filter_error_str(enum wd_filter_error code)
{
	static const char *const text[] = {
		[WD_ERR_NONE] = "No error",
		[WD_ERR_NO_MEMORY] = "Out of memory",
		[WD_ERR_TOO_DEEP] = "Filter expression too deep",
		[WD_ERR_TOO_LONG] = "Filter expression too long",
		[WD_ERR_BAD_TOKEN] = "Filter expression contains a bad token",
		[WD_ERR_BAD_TOKEN_FOR_LAYER] = "Filter expression contains a bad token for layer",
		[WD_ERR_UNEXPECTED_TOKEN] = "Filter expression parse error",
		[WD_ERR_INDEX_OOB] = "Filter expression array index is out-of-bounds",
		[WD_ERR_OUTPUT_TOO_SHORT] = "Filter object buffer is too short",
		[WD_ERR_BAD_OBJECT] = "Filter object is invalid",
	};

	return (unsigned int)code < sizeof(text) / sizeof(text[0]) ? text[code] : "Unknown error";
}

/* A test as a label: its place on the stack, or the label its bounds settle it to. */
static int flatten_test(struct flat *fl, const struct wd_node *n, int succ, int fail)
{
	struct wd_test *t;
	struct wd_value v;
	int holds;

	memcpy(v.w, n->test.arg, sizeof(v.w));
	v.neg = n->test.neg;
	if (wd_test_fold(n->test.field, n->test.op, &v, &holds))
		return holds ? succ : fail;
	if (fl->n >= WD_FILTER_MAXLEN)
		return -1;
	t = &fl->stack[fl->n];
	*t = n->test;
	if (wd_field(t->field)->array)
		t->arg[1] = (uint32_t)n->index;
	t->succ = (uint16_t)succ;
	t->fail = (uint16_t)fail;
	return fl->n++;
}

/* The label that runs node i, jumping to succ or fail; -1 if too many tests. */
static int flatten(struct flat *fl, int i, int succ, int fail)
{
	const struct wd_node *n = &fl->node[i];
	int other;

	if (succ < 0 || fail < 0)
		return -1;
	switch (n->kind) {
	case WD_NODE_AND:
		return flatten(fl, n->a, flatten(fl, n->b, succ, fail), fail);
	case WD_NODE_OR:
		return flatten(fl, n->a, succ, flatten(fl, n->b, succ, fail));
	case WD_NODE_COND:
		other = flatten(fl, n->c, succ, fail);
		return flatten(fl, n->a, flatten(fl, n->b, succ, fail), other);
	default:
		return flatten_test(fl, n, succ, fail);
	}
}

/* A label of the stack -> an index of the filter, whose first test is the entry. */
static uint16_t relabel(int label, int entry)
{
	return label >= WD_LABEL_ACCEPT ? (uint16_t)label : (uint16_t)(entry - label);
}

static void emit(const struct flat *fl, int entry, struct wd_filter *f)
{
	if (entry >= WD_LABEL_ACCEPT) { /* constant: "zero == 0" jumping there either way */
		memset(&f->test[0], 0, sizeof(f->test[0]));
		f->test[0].field = WD_F_ZERO;
		f->test[0].op = WD_EQ;
		f->test[0].succ = f->test[0].fail = (uint16_t)entry;
		f->len = 1;
		return;
	}
	f->len = (unsigned int)entry + 1;
	for (int i = 0; i <= entry; i++) {
		f->test[i] = fl->stack[entry - i];
		f->test[i].succ = relabel(fl->stack[entry - i].succ, entry);
		f->test[i].fail = relabel(fl->stack[entry - i].fail, entry);
	}
}

static enum wd_filter_error compile_text(const char *text, WINDIVERT_LAYER layer,
					 struct wd_filter *f, unsigned int *pos)
{
	struct wd_tree tree = { .node = NULL };
	struct flat *fl = NULL;
	enum wd_filter_error err;
	int entry;

	err = wd_filter_parse(text, layer, &tree, pos);
	if (err != WD_ERR_NONE)
		goto out;
	fl = malloc(sizeof(*fl));
	if (!fl) {
		err = WD_ERR_NO_MEMORY;
		goto out;
	}
	fl->node = tree.node;
	fl->n = 0;
	entry = flatten(fl, tree.root, WD_LABEL_ACCEPT, WD_LABEL_REJECT);
	if (entry < 0) {
		*pos = 0;
		err = WD_ERR_TOO_LONG;
		goto out;
	}
	emit(fl, entry, f);
out:
	free(fl);
	free(tree.node);
	return err;
}

static int object_fits_layer(const struct wd_filter *f, WINDIVERT_LAYER layer)
{
	for (unsigned int i = 0; i < f->len; i++)
		if (!wd_field_valid(f->test[i].field, layer))
			return 0;
	return 1;
}

enum wd_filter_error wd_filter_build(const char *filter, WINDIVERT_LAYER layer, int strict,
				     struct wd_filter *f, unsigned int *pos)
{
	f->layer = layer;
	*pos = 0;
	if (filter[0] != '@')
		return compile_text(filter, layer, f, pos);
	if (wd_object_read(filter, f) < 0 || (strict && !object_fits_layer(f, layer)))
		return WD_ERR_BAD_OBJECT;
	return WD_ERR_NONE;
}

int wd_filter_compile(const char *filter, WINDIVERT_LAYER layer, struct wd_filter **out,
		      const char **err, UINT *pos)
{
	struct wd_filter *f = malloc(sizeof(*f));
	enum wd_filter_error code = WD_ERR_NO_MEMORY;
	unsigned int at = 0;

	*out = NULL;
	if (f && (unsigned int)layer > WINDIVERT_LAYER_REFLECT)
		code = WD_ERR_BAD_TOKEN_FOR_LAYER;
	else if (f)
		code = wd_filter_build(filter, layer, 1, f, &at);
	if (err)
		*err = wd_filter_error_str(code);
	if (pos)
		*pos = at;
	if (code != WD_ERR_NONE) {
		free(f);
		return code == WD_ERR_NO_MEMORY ? -ENOMEM : -EINVAL;
	}
	*out = f;
	return 0;
}

void wd_filter_free(struct wd_filter *f)
{
	free(f);
}

WINDIVERT_LAYER wd_filter_layer(const struct wd_filter *f)
{
	return f->layer;
}
