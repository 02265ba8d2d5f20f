/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * filter_rule.c - a SOCKET-layer filter as the rule libipredir runs in the
 * kernel at each bind and connect call (ipr_events_block()).
 *
 * The rule is a graph of tests as the filter is, over what a call shows:
 * event, process, protocol, IPv6, addresses, ports, loopback. Each test of the
 * filter becomes what it means at a bind or connect: a test the call decides
 * alone (zero, parentEndpointId: 0 before any accept; an event test that
 * BIND and CONNECT answer alike) is a jump; tcp, udp, ip, icmp, icmpv6,
 * outbound and inbound are tests of protocol, IPv6 and event. A call cannot
 * show its endpointId (the socket's cookie) or the timestamp: a filter that
 * can reach a test of them at a bind or connect is refused.
 */
#include <errno.h>
#include <string.h>

#include "filter.h"

/*
 * What a test of the filter is at a call: it holds when the n conditions all
 * hold, negated if negate (n = 0: it always holds, or never if negate). seen
 * 0: it reads what a call cannot show.
 */
struct call_cond {
	uint8_t n, negate, seen;
	struct ipr_call_test c[2]; /* field, cmp, value; the jumps are set when emitted */
};

static struct ipr_call_test cond(uint8_t field, uint8_t cmp, uint32_t value)
{
	return (struct ipr_call_test){ .field = field, .cmp = cmp, .value = { value } };
}

/* "field op v" for a field whose value x is known. */
static int holds_for(const struct wd_test *t, uint32_t x)
{
	struct wd_value have = { .w = { x } }, want;

	wd_test_value(t, &want);
	return wd_op_holds(t->op, wd_value_cmp(&have, &want, wd_field(t->field)->big));
}

static void constant(struct call_cond *k, int holds)
{
	k->n = 0;
	k->negate = !holds;
}

/* A field worth 1 when the conditions c[0..n) hold, else 0. */
static void boolean(const struct wd_test *t, struct call_cond *k, unsigned int n,
		    struct ipr_call_test c0, struct ipr_call_test c1)
{
	int if_true = holds_for(t, 1), if_false = holds_for(t, 0);

	if (if_true == if_false)
		return constant(k, if_true);
	k->n = (uint8_t)n;
	k->negate = !if_true;
	k->c[0] = c0;
	k->c[1] = c1;
}

/* A field the call has as it is: the same comparison. */
static void direct(const struct wd_test *t, struct call_cond *k, uint8_t field)
{
	if (t->neg) /* below every value of the field */
		return constant(k, t->op == WD_NEQ || t->op == WD_GT || t->op == WD_GEQ);
	k->n = 1;
	k->c[0] = (struct ipr_call_test){ .field = field, .cmp = t->op };
	memcpy(k->c[0].value, t->arg, sizeof(t->arg));
}

static void meaning(const struct wd_test *t, struct call_cond *k)
{
	const struct ipr_call_test none = { 0 };

	memset(k, 0, sizeof(*k));
	k->seen = 1;
	switch (t->field) {
	case WD_F_ZERO:
	case WD_F_PARENTENDPOINTID: return constant(k, holds_for(t, 0));
	case WD_F_EVENT:
		if (holds_for(t, WINDIVERT_EVENT_SOCKET_BIND) ==
		    holds_for(t, WINDIVERT_EVENT_SOCKET_CONNECT))
			return constant(k, holds_for(t, WINDIVERT_EVENT_SOCKET_BIND));
		return direct(t, k, IPR_CALL_EVENT);
	case WD_F_PROCESSID: return direct(t, k, IPR_CALL_PID);
	case WD_F_PROTOCOL: return direct(t, k, IPR_CALL_PROTOCOL);
	case WD_F_IPV6: return direct(t, k, IPR_CALL_IPV6);
	case WD_F_LOOPBACK: return direct(t, k, IPR_CALL_LOOPBACK);
	case WD_F_LOCALADDR: return direct(t, k, IPR_CALL_LOCAL_ADDR);
	case WD_F_LOCALPORT: return direct(t, k, IPR_CALL_LOCAL_PORT);
	case WD_F_REMOTEADDR: return direct(t, k, IPR_CALL_REMOTE_ADDR);
	case WD_F_REMOTEPORT: return direct(t, k, IPR_CALL_REMOTE_PORT);
	case WD_F_IP: return boolean(t, k, 1, cond(IPR_CALL_IPV6, IPR_CMP_EQ, 0), none);
	case WD_F_TCP: return boolean(t, k, 1, cond(IPR_CALL_PROTOCOL, IPR_CMP_EQ, 6), none);
	case WD_F_UDP: return boolean(t, k, 1, cond(IPR_CALL_PROTOCOL, IPR_CMP_EQ, 17), none);
	case WD_F_ICMP:
		return boolean(t, k, 2, cond(IPR_CALL_IPV6, IPR_CMP_EQ, 0),
			       cond(IPR_CALL_PROTOCOL, IPR_CMP_EQ, 1));
	case WD_F_ICMPV6:
		return boolean(t, k, 2, cond(IPR_CALL_IPV6, IPR_CMP_EQ, 1),
			       cond(IPR_CALL_PROTOCOL, IPR_CMP_EQ, 58));
	case WD_F_OUTBOUND:
		return boolean(t, k, 1, cond(IPR_CALL_EVENT, IPR_CMP_EQ,
					     WINDIVERT_EVENT_SOCKET_CONNECT), none);
	case WD_F_INBOUND:
		return boolean(t, k, 1, cond(IPR_CALL_EVENT, IPR_CMP_NE,
					     WINDIVERT_EVENT_SOCKET_CONNECT), none);
	}
	k->seen = 0; /* endpointId, timestamp */
}

/* ---- the graph ---- */

struct plan {
	const struct wd_filter *f;
	struct call_cond k[WD_FILTER_MAXLEN];
	uint8_t reached[WD_FILTER_MAXLEN];
	unsigned int at[WD_FILTER_MAXLEN]; /* where a test's conditions start in the rule */
};

static int is_test(uint16_t label)
{
	return label != WD_LABEL_ACCEPT && label != WD_LABEL_REJECT;
}

/* Where label leads once tests a call decides alone are passed. */
static uint16_t resolve(const struct plan *p, uint16_t label)
{
	while (is_test(label) && label < p->f->len && p->k[label].seen && !p->k[label].n) {
		const struct wd_test *t = &p->f->test[label];

		label = p->k[label].negate ? t->fail : t->succ;
	}
	return label;
}

static void reach(struct plan *p, uint16_t label)
{
	label = resolve(p, label);
	if (is_test(label) && label < p->f->len)
		p->reached[label] = 1;
}

/* Mark the tests a call can reach, number their conditions; the count, or -EINVAL
 * when a reachable test reads what a call cannot show. */
static int lay_out(struct plan *p)
{
	unsigned int count = 0;

	reach(p, 0);
	for (unsigned int i = 0; i < p->f->len; i++) {
		if (!p->reached[i])
			continue;
		if (!p->k[i].seen)
			return -EINVAL;
		p->at[i] = count;
		count += p->k[i].n;
		reach(p, p->f->test[i].succ);
		reach(p, p->f->test[i].fail);
	}
	return (int)count;
}

static uint16_t target(const struct plan *p, uint16_t label)
{
	label = resolve(p, label);
	if (label == WD_LABEL_ACCEPT)
		return IPR_CALL_MATCH;
	if (label == WD_LABEL_REJECT || label >= p->f->len)
		return IPR_CALL_NO_MATCH;
	return (uint16_t)p->at[label];
}

/* Test i's conditions into out: each jumps to the next while they hold. */
static void emit(const struct plan *p, unsigned int i, struct ipr_call_test *out)
{
	const struct call_cond *k = &p->k[i];
	uint16_t yes = target(p, p->f->test[i].succ), no = target(p, p->f->test[i].fail);

	if (k->negate) {
		uint16_t swap = yes;

		yes = no;
		no = swap;
	}
	for (unsigned int j = 0; j < k->n; j++) {
		out[p->at[i] + j] = k->c[j];
		out[p->at[i] + j].yes = j + 1 < k->n ? (uint16_t)(p->at[i] + j + 1) : yes;
		out[p->at[i] + j].no = no;
	}
}

int wd_filter_rule(const struct wd_filter *f, struct ipr_call_test *out, unsigned int max)
{
	static __thread struct plan p;
	uint16_t root;
	int n;

	memset(&p, 0, sizeof(p));
	p.f = f;
	for (unsigned int i = 0; i < f->len; i++)
		meaning(&f->test[i], &p.k[i]);
	n = lay_out(&p);
	if (n < 0)
		return n;
	root = resolve(&p, 0);
	if (!is_test(root) || root >= f->len) { /* every call, or none */
		if (root != WD_LABEL_ACCEPT)
			return 0;
		if (!max)
			return -E2BIG;
		out[0] = cond(IPR_CALL_ZERO, IPR_CMP_EQ, 0);
		out[0].yes = out[0].no = IPR_CALL_MATCH;
		return 1;
	}
	if ((unsigned int)n > max)
		return -E2BIG;
	for (unsigned int i = 0; i < f->len; i++)
		if (p.reached[i])
			emit(&p, i, out);
	return n;
}
