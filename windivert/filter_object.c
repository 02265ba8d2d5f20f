/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * filter_object.c - compiled filters as WinDivert 2.2's object strings.
 *
 *   OBJECT := "@WinDiv_" NUM(version 0) NUM(tests) TEST... NUL
 *   TEST   := '_' NUM(field) NUM(op) NUM(negative) NUM(arg0) [ARGS] LABEL LABEL
 *   LABEL  := 'A' (accept) | 'X' (reject) | 'L' NUM(test)
 *
 * ARGS: three more words for IPv6 addresses, one for 64-bit ids and the
 * timestamp, the byte index + 65535 for packet[]/Payload[] fields. A NUM is its
 * 5-bit groups, most significant first, the last one from a second alphabet;
 * a reader takes at most 2, 4 or 7 groups (as many as the value needs).
 */
#include <errno.h>
#include <string.h>

#include "filter.h"

#define MAGIC "@WinDiv_"
#define GROUPS_32 7 /* a 32-bit number in 5-bit groups */

static const char digits[] =
	"0123456789ABCDEFGHIJKLMNOPQRSTUV"  /* a group with more to follow */
	"WXYZabcdefghijklmnopqrstuvwxyz+="; /* the last group */

struct out {
	char *buf;
	size_t size, pos;
	int overflow;
};

static void put(struct out *o, char c)
{
	if (o->pos >= o->size) {
		o->overflow = 1;
		return;
	}
	o->buf[o->pos++] = c;
}

static void put_number(struct out *o, uint32_t v)
{
	int g = GROUPS_32 - 1;

	while (g > 0 && (v >> (5 * g)) == 0)
		g--;
	for (; g >= 0; g--)
		put(o, digits[((v >> (5 * g)) & 31) + (g == 0 ? 32 : 0)]);
}

static void put_label(struct out *o, uint16_t label)
{
	if (label == WD_LABEL_ACCEPT) {
		put(o, 'A');
	} else if (label == WD_LABEL_REJECT) {
		put(o, 'X');
	} else {
		put(o, 'L');
		put_number(o, label);
	}
}

/* How many argument words after arg0 a field's tests carry (-1: the index). */
static int extra_args(unsigned int field)
{
	switch (field) {
	case WD_F_IPV6_SRCADDR:
	case WD_F_IPV6_DSTADDR:
	case WD_F_LOCALADDR:
	case WD_F_REMOTEADDR:
		return 3;
	case WD_F_ENDPOINTID:
	case WD_F_PARENTENDPOINTID:
	case WD_F_TIMESTAMP:
		return 1;
	default:
		return wd_field(field)->array ? -1 : 0;
	}
}

static void put_test(struct out *o, const struct wd_test *t)
{
	int extra = extra_args(t->field);

	put(o, '_');
	put_number(o, t->field);
	put_number(o, t->op);
	put_number(o, t->neg);
	put_number(o, t->arg[0]);
	for (int i = 1; i <= extra; i++)
		put_number(o, t->arg[i]);
	if (extra < 0)
		put_number(o, (uint32_t)((int32_t)t->arg[1] + WD_INDEX_MAX));
	put_label(o, t->succ);
	put_label(o, t->fail);
}

int wd_filter_object(const struct wd_filter *f, char *buf, size_t size)
{
	struct out o = { .buf = buf, .size = size };

	for (const char *m = MAGIC; *m; m++)
		put(&o, *m);
	put_number(&o, 0);
	put_number(&o, f->len);
	for (unsigned int i = 0; i < f->len; i++)
		put_test(&o, &f->test[i]);
	put(&o, '\0');
	if (!o.overflow)
		return (int)o.pos - 1;
	if (size > 0)
		buf[size - 1] = '\0';
	return -ENOSPC;
}

/* ---- reading ---- */

/* The value of a group character, +32 for a last group; -1 for another character. */
static int group_of(char c)
{
	const char *p = c ? strchr(digits, c) : NULL;

	return p ? (int)(p - digits) : -1;
}

/* A number of at most max groups at *s; 0 or -1. */
static int get_number(const char **s, int max, uint32_t *v)
{
	int g;

	*v = 0;
	for (int i = 0; i < max; i++) {
		if (*v & 0xF8000000)
			return -1;
		g = group_of(*(*s)++);
		if (g < 0)
			return -1;
		*v = (*v << 5) + (uint32_t)(g & 31);
		if (g >= 32)
			return 0;
	}
	return -1;
}

static int get_label(const char **s, uint16_t *label)
{
	uint32_t v;

	switch (*(*s)++) {
	case 'A':
		*label = WD_LABEL_ACCEPT;
		return 0;
	case 'X':
		*label = WD_LABEL_REJECT;
		return 0;
	case 'L':
		if (get_number(s, 2, &v) < 0 || v > WD_FILTER_MAXLEN)
			return -1;
		*label = (uint16_t)v;
		return 0;
	default:
		return -1;
	}
}

/* A byte index the text could have given (what the parser allows). */
static int index_ok(int32_t index, unsigned int size)
{
	if (index >= 0)
		return index <= (int32_t)(WD_INDEX_MAX - size);
	return index >= -WD_INDEX_MAX && -index >= (int32_t)size;
}

/* The words after arg0, by what the field carries. */
static int get_args(const char **s, struct wd_test *t)
{
	int extra = extra_args(t->field);
	uint32_t v;

	t->arg[1] = t->field == WD_F_IP_SRCADDR || t->field == WD_F_IP_DSTADDR ? 0xFFFF : 0;
	for (int i = 1; i <= extra; i++)
		if (get_number(s, GROUPS_32, &t->arg[i]) < 0)
			return -1;
	if (extra >= 0)
		return 0;
	if (get_number(s, GROUPS_32, &v) < 0)
		return -1;
	t->arg[1] = (uint32_t)((int32_t)v - WD_INDEX_MAX);
	return index_ok((int32_t)t->arg[1], wd_field(t->field)->array) ? 0 : -1;
}

static int get_test(const char **s, struct wd_test *t)
{
	uint32_t field, op, neg;

	memset(t, 0, sizeof(*t));
	if (*(*s)++ != '_' || get_number(s, 2, &field) < 0 || field > WD_F_MAX ||
	    get_number(s, 2, &op) < 0 || op > WD_OP_MAX || get_number(s, 1, &neg) < 0 ||
	    neg > 1 || get_number(s, GROUPS_32, &t->arg[0]) < 0)
		return -1;
	t->field = (uint8_t)field;
	t->op = (uint8_t)op;
	t->neg = (uint8_t)neg;
	if (get_args(s, t) < 0 || get_label(s, &t->succ) < 0 || get_label(s, &t->fail) < 0)
		return -1;
	return 0;
}

/* A jump from test i goes forward, to a test of the filter or to accept/reject. */
static int jump_ok(uint16_t label, unsigned int i, unsigned int len)
{
	return label == WD_LABEL_ACCEPT || label == WD_LABEL_REJECT || (label > i && label < len);
}

int wd_object_read(const char *obj, struct wd_filter *f)
{
	const char *s = obj;
	uint32_t version, len;

	if (strncmp(s, MAGIC, strlen(MAGIC)) != 0)
		return -EINVAL;
	s += strlen(MAGIC);
	if (get_number(&s, 4, &version) < 0 || version != 0 || get_number(&s, 2, &len) < 0 ||
	    len == 0 || len > WD_FILTER_MAXLEN)
		return -EINVAL;
	f->len = len;
	for (unsigned int i = 0; i < len; i++) {
		if (get_test(&s, &f->test[i]) < 0 || !jump_ok(f->test[i].succ, i, len) ||
		    !jump_ok(f->test[i].fail, i, len))
			return -EINVAL;
	}
	return *s == '\0' ? 0 : -EINVAL;
}
