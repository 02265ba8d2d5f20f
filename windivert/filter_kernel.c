/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * filter_kernel.c - what the kernel can run of a NETWORK or NETWORK_FORWARD
 * filter: a pcap expression for raw IP packets (DLT_RAW) that matches every
 * packet the filter matches, the directions it can match, the interface it needs.
 *
 * The filter's expression (as filter_decompile.c rebuilds it) is translated into
 * two pcap expressions at once, U matching a superset of its packets and L a
 * subset: U(a and b) = U(a) and U(b), U(a or b) = U(a) or U(b), the failure side
 * of a test (or a condition) takes "not L"; a test the bytes cannot decide (the
 * timestamp, loopback, a hash) is U = true, L = false; payloads get an upper bound
 * only. When U and L come out the same, U is the filter exactly.
 *
 * Packets are translated by class, so that each test knows the protocol and
 * which headers can be there, and every load stays inside the packet (libpcap
 * rejects a packet on a load past its end, whatever the rest of the expression
 * says): TCP, UDP, ICMP (ICMPv6) with room for their header or without, other
 * protocols, and IPv4 fragments after the first or IPv6 packets with an extension
 * header first, where the transport header is not looked for (U true). Classes
 * whose translations are equal share one guard.
 *
 * What the hooks decide becomes a fact: the direction when the filter can match
 * one only, the interface when it matches one only; the event is always PACKET
 * and, on Linux, SubIfIdx 0 (windivert.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

#define VISITS_MAX 20000 /* expression nodes translated per class; then U = true */

/* Packets no filter matches, or'ed to every compound expression: libpcap refuses
 * to compile one it proves matches nothing (the tests contradict each other, or
 * a packet class), and such a filter must still open. */
#define NEVER "len == 0"

/* Packet classes, each of one IP version: a transport protocol with room for its
 * header (T, U, I: ICMP or ICMPv6) or without (TS, US, IS), another protocol (N),
 * and the rest: IPv4 fragments after the first, IPv6 packets whose first header
 * is an extension header (OTHER). */
enum { CL_T, CL_U, CL_I, CL_TS, CL_US, CL_IS, CL_N, CL_OTHER, CL_COUNT };
enum { DIR_IN, DIR_OUT, DIR_ANY };
enum { IF_ANY, IF_IS, IF_NOT };

/* What is known of the packets being translated. */
struct facts {
	uint8_t v6;      /* IPv6, else IPv4 */
	uint8_t cls;     /* CL_*: the transport header the packet has room for */
	uint8_t dir;     /* DIR_*: the direction the hook gives */
	uint8_t ifmode;  /* IF_*: ifIdx is, or is not, ifidx */
	uint32_t ifidx;
};

struct kctx {
	const struct wd_decompiled *d;
	struct facts k;
	unsigned int visits;
};

/* A superset (u) and a subset (l) of the packets, as pcap. */
struct bound {
	struct wd_pf u, l;
};

static const char *const pcap_ops[] = { "==", "!=", "<", "<=", ">", ">=" };

/* ---- bounds ---- */

static struct bound b_const(int v)
{
	struct bound b = { wd_pf_const(v), wd_pf_const(v) };

	return b;
}

static struct bound b_unknown(void)
{
	struct bound b = { wd_pf_const(1), wd_pf_const(0) };

	return b;
}

static struct bound b_exact(struct wd_pf p)
{
	struct bound b = { p, wd_pf_dup(&p) };

	return b;
}

/* Too long a side is replaced by the constant on its safe side. */
static struct bound b_fix(struct wd_pf u, struct wd_pf l)
{
	struct bound b = { u, l };

	if (u.kind == WD_PF_BIG)
		b.u = wd_pf_const(1);
	if (l.kind == WD_PF_BIG)
		b.l = wd_pf_const(0);
	return b;
}

static struct bound b_and(struct bound a, struct bound b)
{
	return b_fix(wd_pf_and(a.u, b.u), wd_pf_and(a.l, b.l));
}

static struct bound b_or(struct bound a, struct bound b)
{
	return b_fix(wd_pf_or(a.u, b.u), wd_pf_or(a.l, b.l));
}

/* (c? a: b) = (c and a) or (not c and b) */
static struct bound b_cond(struct bound c, struct bound a, struct bound b)
{
	struct wd_pf cu = wd_pf_dup(&c.u), cl = wd_pf_dup(&c.l);
	struct wd_pf u = wd_pf_or(wd_pf_and(c.u, a.u), wd_pf_and(wd_pf_not(c.l), b.u));
	struct wd_pf l = wd_pf_or(wd_pf_and(cl, a.l), wd_pf_and(wd_pf_not(cu), b.l));

	return b_fix(u, l);
}

static void b_free(struct bound *b)
{
	wd_pf_free(&b->u);
	wd_pf_free(&b->l);
}

/* ---- the packet classes ---- */

/* The header length of an IPv4 packet plus n, in pcap arithmetic. */
#define HL_PLUS "(ip[0] & 0xf) * 4 + "

static const uint8_t protos[2][3] = { { 6, 17, 1 }, { 6, 17, 58 } };
static const uint8_t extensions[] = { 0, 43, 44, 51, 60, 135 };

/* "proto != p" for the protocols of the classes T, U, I (and, in IPv6, the
 * extension headers): what class N has. */
static struct wd_pf other_protocol(int v6)
{
	struct wd_pf p = wd_pf_const(1);

	for (int i = 0; i < 3; i++)
		p = wd_pf_and(p, wd_pf_atom("%s != %u", v6 ? "ip6[6]" : "ip[9]", protos[v6][i]));
	for (size_t i = 0; v6 && i < sizeof(extensions); i++)
		p = wd_pf_and(p, wd_pf_atom("ip6[6] != %u", extensions[i]));
	return v6 ? p : wd_pf_and(wd_pf_atom("(ip[6:2] & 0x1fff) == 0"), p);
}

/* The packets of classes T and TS together (or U and US, I and IS). */
static struct wd_pf protocol_guard(int v6, int t)
{
	if (v6)
		return wd_pf_atom("ip6[6] == %u", protos[1][t]);
	return wd_pf_and(wd_pf_atom("ip proto %u", protos[0][t]),
			 wd_pf_atom("(ip[6:2] & 0x1fff) == 0"));
}

/* The packets of a class (within its IP version): their guard. */
static struct wd_pf class_guard(int v6, int cls)
{
	static const uint8_t room[] = { 20, 8, 8 };
	int t = cls % 3; /* the protocol of T..IS */
	struct wd_pf p = wd_pf_const(0), proto;

	if (cls == CL_N)
		return other_protocol(v6);
	if (cls == CL_OTHER && !v6)
		return wd_pf_atom("(ip[6:2] & 0x1fff) != 0");
	if (cls == CL_OTHER) {
		for (size_t i = 0; i < sizeof(extensions); i++)
			p = wd_pf_or(p, wd_pf_atom("ip6[6] == %u", extensions[i]));
		return p;
	}
	proto = protocol_guard(v6, t);
	if (v6)
		return wd_pf_and(proto, wd_pf_atom("len %s %u", cls < CL_TS ? ">=" : "<",
						   40u + room[t]));
	return wd_pf_and(proto, wd_pf_atom("len %s " HL_PLUS "%u", cls < CL_TS ? ">=" : "<",
					   room[t]));
}

/* What a class's guard leaves to know that its transport header is there. */
static struct wd_pf class_rest(int v6, int cls)
{
	unsigned int room = cls == CL_T ? 20 : 8;
	struct wd_pf p;

	if (v6)
		p = wd_pf_atom("ip6[4:2] >= %u", room);
	else
		p = wd_pf_atom("ip[2:2] >= " HL_PLUS "%u", room);
	if (cls == CL_T)
		p = wd_pf_and(p, v6 ? wd_pf_atom("ip6[52] >= 0x50") : wd_pf_atom("tcp[12] >= 0x50"));
	return p;
}

/* Whether the packet has header hdr: exact for IP, a bound for the others. */
static struct bound presence(const struct kctx *c, unsigned int hdr)
{
	static const uint8_t cls_of[] = { [WD_HDR_ICMP] = CL_I, [WD_HDR_ICMPV6] = CL_I,
					  [WD_HDR_TCP] = CL_T, [WD_HDR_UDP] = CL_U };
	const struct facts *k = &c->k;
	struct bound b;

	if (hdr == WD_HDR_IP || hdr == WD_HDR_IPV6)
		return b_const((hdr == WD_HDR_IPV6) == k->v6);
	if ((hdr == WD_HDR_ICMP && k->v6) || (hdr == WD_HDR_ICMPV6 && !k->v6))
		return b_const(0);
	if (k->cls == CL_OTHER && k->v6)
		return b_unknown();
	if (k->cls != cls_of[hdr])
		return b_const(0);
	b.u = wd_pf_const(1); /* the guard left room: all loads stay inside */
	b.l = class_rest(k->v6, k->cls);
	return b;
}

/* ---- tests ---- */

static struct bound b_holds(unsigned int op, uint32_t value, const struct wd_value *want)
{
	struct wd_value v = { .w = { value } };

	return b_const(wd_op_holds(op, wd_value_cmp(&v, want, 1)));
}

/* "expr op value" over a 32-bit word. */
static struct wd_pf cmp32(const char *expr, unsigned int op, uint32_t value)
{
	return wd_pf_atom("%s %s %u", expr, pcap_ops[op], value);
}

/* "base[start + index:size] op value": a word at an offset pcap computes. */
static struct wd_pf cmp32_at(const char *base, const char *start, int32_t index,
			     unsigned int size, unsigned int op, uint32_t value)
{
	char load[160];

	if (size == 1)
		snprintf(load, sizeof(load), "%s[%s + %d]", base, start, index);
	else
		snprintf(load, sizeof(load), "%s[%s + %d:%u]", base, start, index, size);
	return cmp32(load, op, value);
}

/* The pcap arithmetic reading a header field of this class's packets. */
static void spot_expr(const struct facts *k, const struct wd_spot *s, char *buf, size_t size)
{
	static const char *const v4[] = { [WD_HDR_IP] = "ip", [WD_HDR_ICMP] = "icmp",
					  [WD_HDR_TCP] = "tcp", [WD_HDR_UDP] = "udp" };
	const char *base = k->v6 ? "ip6" : v4[s->hdr];
	unsigned int off = s->off + (k->v6 && s->hdr != WD_HDR_IPV6 ? 40u : 0u);
	uint32_t full = s->size == 4 ? ~0u : (1u << (8 * s->size)) - 1;
	char load[64];

	if (s->size == 1)
		snprintf(load, sizeof(load), "%s[%u]", base, off);
	else
		snprintf(load, sizeof(load), "%s[%u:%u]", base, off, s->size);
	if (s->shift && s->mask != full >> s->shift)
		snprintf(buf, size, "((%s >> %u) & 0x%x)", load, s->shift, s->mask);
	else if (s->shift)
		snprintf(buf, size, "(%s >> %u)", load, s->shift);
	else if (s->mask != full)
		snprintf(buf, size, "(%s & 0x%x)", load, s->mask);
	else
		snprintf(buf, size, "%s", load);
}

/* A 128-bit value as four words, most significant first: pcap or constants. */
struct words {
	char expr[4][32]; /* "" for a constant */
	uint32_t c[4];
};

/* Word i of w compared with word i of want (both most significant first). */
static struct wd_pf word_cmp(const struct words *w, int i, unsigned int op,
			     const struct wd_value *want)
{
	struct wd_value a = { .w = { w->c[i] } }, b = { .w = { want->w[3 - i] } };

	if (w->expr[i][0])
		return wd_pf_atom("%s %s 0x%x", w->expr[i], pcap_ops[op], b.w[0]);
	return wd_pf_const(wd_op_holds(op, wd_value_cmp(&a, &b, 0)));
}

/* "w op want" in 128 bits: the words from the most significant, the first that
 * differs deciding. */
static struct wd_pf cmp128(const struct words *w, unsigned int op, const struct wd_value *want)
{
	unsigned int strict = op == WD_LT || op == WD_LEQ ? WD_LT : WD_GT;
	struct wd_pf p;

	if (op == WD_EQ || op == WD_NEQ) {
		p = wd_pf_const(1);
		for (int i = 0; i < 4; i++)
			p = wd_pf_and(p, word_cmp(w, i, WD_EQ, want));
		return op == WD_EQ ? p : wd_pf_not(p);
	}
	p = word_cmp(w, 3, op, want);
	for (int i = 2; i >= 0; i--)
		p = wd_pf_or(word_cmp(w, i, strict, want),
			     wd_pf_and(word_cmp(w, i, WD_EQ, want), p));
	return p;
}

/* The words of an IPv4 (as ::ffff:a.b.c.d) or IPv6 address at offset off. */
static void addr_words(int v6, unsigned int off, struct words *w)
{
	memset(w, 0, sizeof(*w));
	for (int i = 0; i < 4; i++)
		if (v6)
			snprintf(w->expr[i], sizeof(w->expr[i]), "ip6[%u:4]", off + 4 * i);
	if (!v6) {
		w->c[2] = 0xFFFF;
		snprintf(w->expr[3], sizeof(w->expr[3]), "ip[%u:4]", off);
	}
}

/* tcp.PayloadLength or udp.PayloadLength above (or equal to) n, and the payload
 * words from its start: their upper bounds from the packet's length, the payload
 * starting after the transport header (L: not translated). */
static struct bound payload_test(struct kctx *c, const struct wd_test *t,
				 const struct wd_value *want)
{
	static const char *const rel[2][2] = { /* IPv4 [udp]: base, the start in it */
		{ "tcp", "(tcp[12] >> 4) * 4" }, { "udp", "8" } };
	int v6 = c->k.v6, udp = c->k.cls == CL_U;
	const char *start = udp ? (v6 ? "48" : HL_PLUS "8")
				: (v6 ? "40 + (ip6[52] >> 4) * 4" : HL_PLUS "(tcp[12] >> 4) * 4");
	unsigned int size = wd_field(t->field)->array;
	int32_t index = (int32_t)t->arg[1];
	struct bound b = b_unknown();

	if (!size && (t->op == WD_GT || t->op == WD_GEQ || (t->op == WD_EQ && want->w[0]))) {
		wd_pf_free(&b.u);
		b.u = wd_pf_atom("len - (%s) %s %u", start, t->op == WD_GT ? ">" : ">=",
				 want->w[0]);
	} else if (size && index >= 0) {
		wd_pf_free(&b.u);
		b.u = wd_pf_and(wd_pf_atom("len >= %s + %u", start, (uint32_t)index + size),
				cmp32_at(v6 ? "ip6" : rel[udp][0], v6 ? start : rel[udp][1],
					 index, size, t->op, want->w[0]));
	}
	return b;
}

/* A test on a header field: the header there and the comparison true. */
static struct bound header_test(struct kctx *c, const struct wd_test *t,
				const struct wd_value *want)
{
	const struct wd_spot *s = wd_field_spot(t->field);
	struct bound p = presence(c, s->hdr);
	struct words w;
	char expr[96];

	if (p.u.kind == WD_PF_FALSE) {
		b_free(&p);
		return b_const(0);
	}
	if (p.l.kind == WD_PF_FALSE) { /* a header not looked for */
		b_free(&p);
		return b_unknown();
	}
	if (s->size == 0) {
		b_free(&p);
		return payload_test(c, t, want);
	}
	if (wd_field(t->field)->big) {
		addr_words(c->k.v6, s->off, &w);
		return b_and(p, b_exact(cmp128(&w, t->op, want)));
	}
	spot_expr(&c->k, s, expr, sizeof(expr));
	return b_and(p, b_exact(cmp32(expr, t->op, want->w[0])));
}

/* ip, ipv6, icmp, icmpv6, tcp, udp: 1 when the header is there, else 0. */
static struct bound presence_test(struct kctx *c, const struct wd_test *t,
				  const struct wd_value *want)
{
	static const uint8_t hdr[] = { [WD_F_IP] = WD_HDR_IP, [WD_F_IPV6] = WD_HDR_IPV6,
				       [WD_F_ICMP] = WD_HDR_ICMP, [WD_F_TCP] = WD_HDR_TCP,
				       [WD_F_UDP] = WD_HDR_UDP, [WD_F_ICMPV6] = WD_HDR_ICMPV6 };

	return b_cond(presence(c, hdr[t->field]), b_holds(t->op, 1, want),
		      b_holds(t->op, 0, want));
}

/* localPort, remotePort: of TCP or UDP, ICMP's type on the sending side, else 0. */
static struct bound port_test(struct kctx *c, const struct wd_test *t,
			      const struct wd_value *want)
{
	int src = (t->field == WD_F_LOCALPORT) == (c->k.dir == DIR_OUT);
	static const uint8_t hdr4[] = { WD_HDR_TCP, WD_HDR_UDP, WD_HDR_ICMP };
	struct wd_spot s = { hdr4[c->k.cls % 3], (uint8_t)(src ? 0 : 2), 2, 0, 0xFFFF };
	struct bound value;
	char expr[96];

	if (c->k.dir == DIR_ANY || (c->k.cls == CL_OTHER && c->k.v6))
		return b_unknown();
	if (c->k.cls >= CL_TS)
		return b_holds(t->op, 0, want);
	if (c->k.cls == CL_I) {
		s.hdr = c->k.v6 ? WD_HDR_ICMPV6 : WD_HDR_ICMP;
		s.off = 0;
		s.size = 1;
		s.mask = 0xFF;
	}
	spot_expr(&c->k, &s, expr, sizeof(expr));
	if (c->k.cls == CL_I && !src)
		value = b_holds(t->op, 0, want);
	else
		value = b_exact(cmp32(expr, t->op, want->w[0]));
	return b_cond(presence(c, s.hdr), value, b_holds(t->op, 0, want));
}

/* localAddr, remoteAddr: the source or destination as the direction says. */
static struct bound addr_test(struct kctx *c, const struct wd_test *t,
			      const struct wd_value *want)
{
	int src = (t->field == WD_F_LOCALADDR) == (c->k.dir == DIR_OUT);
	struct words w;

	if (c->k.dir == DIR_ANY)
		return b_unknown();
	if (c->k.v6)
		addr_words(1, src ? 8 : 24, &w);
	else
		addr_words(0, src ? 12 : 16, &w);
	return b_exact(cmp128(&w, t->op, want));
}

/* packet[i], packet16[i], packet32[i]: the word when it is inside the packet. */
static struct bound word_test(struct kctx *c, const struct wd_test *t,
			      const struct wd_value *want)
{
	unsigned int size = wd_field(t->field)->array;
	int32_t index = (int32_t)t->arg[1];
	const char *base = c->k.v6 ? "ip6" : "ip";
	char expr[64], where[32];

	if (index >= 0)
		snprintf(where, sizeof(where), "%d", index);
	else
		snprintf(where, sizeof(where), "len - %u", 0u - (uint32_t)index);
	if (size == 1)
		snprintf(expr, sizeof(expr), "%s[%s]", base, where);
	else
		snprintf(expr, sizeof(expr), "%s[%s:%u]", base, where, size);
	return b_exact(wd_pf_and(wd_pf_atom("len >= %u", index >= 0 ? (uint32_t)index + size
									  : 0u - (uint32_t)index),
				 cmp32(expr, t->op, want->w[0])));
}

/* ifIdx as far as the facts know it. */
static struct bound ifidx_test(struct kctx *c, const struct wd_test *t,
			       const struct wd_value *want)
{
	const struct facts *k = &c->k;

	if (k->ifmode == IF_IS)
		return b_holds(t->op, k->ifidx, want);
	if (k->ifmode == IF_NOT && want->w[0] == k->ifidx && (t->op == WD_EQ || t->op == WD_NEQ))
		return b_const(t->op == WD_NEQ);
	return b_unknown();
}

/* The fields of the address and of the packet as a whole. */
static struct bound other_test(struct kctx *c, const struct wd_test *t,
			       const struct wd_value *want)
{
	const struct facts *k = &c->k;

	switch (t->field) {
	case WD_F_ZERO:
	case WD_F_EVENT:    /* always PACKET (0) at these layers */
	case WD_F_SUBIFIDX: /* no sub-interfaces on Linux */
		return b_holds(t->op, 0, want);
	case WD_F_OUTBOUND:
	case WD_F_INBOUND:
		if (k->dir == DIR_ANY)
			return b_unknown();
		return b_holds(t->op, (k->dir == DIR_OUT) == (t->field == WD_F_OUTBOUND), want);
	case WD_F_IFIDX:
		return ifidx_test(c, t, want);
	case WD_F_LENGTH:
		return b_exact(cmp32("len", t->op, want->w[0]));
	case WD_F_FRAGMENT:
		if (k->v6)
			return k->cls == CL_OTHER ? b_unknown() : b_holds(t->op, 0, want);
		if (k->cls == CL_OTHER)
			return b_holds(t->op, 1, want);
		return b_cond(b_exact(wd_pf_atom("(ip[6] & 0x20) != 0")), b_holds(t->op, 1, want),
			      b_holds(t->op, 0, want));
	}
	return b_unknown(); /* loopback, impostor, timestamp, random* */
}

/* The protocol fields (protocol, ip.Protocol, ipv6.NextHdr) and ip.FragOff, as far
 * as the class decides them: 1 with *b, or 0 when the field is not one of them. */
static int class_field(struct kctx *c, const struct wd_test *t, const struct wd_value *want,
		       struct bound *b)
{
	const struct facts *k = &c->k;
	const char *load = k->v6 ? "ip6[6]" : "ip[9]";

	if (t->field == WD_F_IP_FRAGOFF && !k->v6 && k->cls != CL_OTHER) {
		*b = b_holds(t->op, 0, want);
		return 1;
	}
	if (t->field != WD_F_PROTOCOL && t->field != WD_F_IP_PROTOCOL &&
	    t->field != WD_F_IPV6_NEXTHDR)
		return 0;
	if ((t->field == WD_F_IP_PROTOCOL && k->v6) || (t->field == WD_F_IPV6_NEXTHDR && !k->v6))
		*b = b_const(0); /* the header is not there */
	else if (k->cls < CL_N)
		*b = b_holds(t->op, protos[k->v6][k->cls % 3], want);
	else if (k->cls == CL_OTHER && k->v6 && t->field == WD_F_PROTOCOL)
		*b = b_unknown(); /* after the extension headers */
	else if (k->cls == CL_N && (t->op == WD_EQ || t->op == WD_NEQ) && !want->w[1] &&
		 !want->w[2] && !want->w[3] && memchr(protos[k->v6], (int)want->w[0], 3) &&
		 want->w[0] < 256)
		*b = b_const(t->op == WD_NEQ); /* not a protocol of N */
	else
		*b = b_exact(cmp32(load, t->op, want->w[0]));
	return 1;
}

static struct bound test_bound(struct kctx *c, const struct wd_test *t)
{
	const struct wd_field *fd = wd_field(t->field);
	struct wd_value want;
	struct bound b;

	wd_test_value(t, &want);
	if (class_field(c, t, &want, &b))
		return b;
	switch (t->field) {
	case WD_F_IP:
	case WD_F_IPV6:
	case WD_F_ICMP:
	case WD_F_ICMPV6:
	case WD_F_TCP:
	case WD_F_UDP:
		return presence_test(c, t, &want);
	case WD_F_LOCALPORT:
	case WD_F_REMOTEPORT:
		return port_test(c, t, &want);
	case WD_F_LOCALADDR:
	case WD_F_REMOTEADDR:
		return addr_test(c, t, &want);
	}
	if (fd->array && t->field <= WD_F_PACKET32)
		return word_test(c, t, &want);
	if (wd_field_spot(t->field)->hdr != WD_HDR_NONE)
		return header_test(c, t, &want);
	return other_test(c, t, &want);
}

/* ---- the expression ---- */

static struct bound at_node(struct kctx *c, int n)
{
	const struct wd_expr *e = &c->d->node[n];

	if (++c->visits > VISITS_MAX)
		return b_unknown();
	switch (e->kind) {
	case WD_EXPR_TRUE:
	case WD_EXPR_FALSE:
		return b_const(e->kind == WD_EXPR_TRUE);
	case WD_EXPR_TEST:
		return test_bound(c, &c->d->f->test[e->test]);
	case WD_EXPR_AND:
		return b_and(at_node(c, e->a), at_node(c, e->b));
	case WD_EXPR_OR:
		return b_or(at_node(c, e->a), at_node(c, e->b));
	default:
		return b_cond(at_node(c, e->a), at_node(c, e->b), at_node(c, e->c));
	}
}

static struct bound at_label(struct kctx *c, uint16_t label)
{
	int n = 0;

	switch (wd_decompiled_at(c->d, label, &n)) {
	case WD_AT_TRUE:
		return b_const(1);
	case WD_AT_FALSE:
		return b_const(0);
	case WD_AT_NODE:
		return at_node(c, n);
	case WD_AT_COND:
		return b_cond(at_node(c, n), at_label(c, c->d->node[n].succ),
			      at_label(c, c->d->node[n].fail));
	default:
		return b_unknown();
	}
}

/* The filter over each class of one IP version, into b[] (n of them). */
static int translate(struct kctx *c, int v6, struct bound b[CL_COUNT], int *n)
{
	int err = 0;

	*n = CL_COUNT;
	for (int cls = 0; cls < *n; cls++) {
		c->k.v6 = (uint8_t)v6;
		c->k.cls = (uint8_t)cls;
		c->visits = 0;
		b[cls] = at_label(c, 0);
		if (b[cls].u.kind == WD_PF_NOMEM || b[cls].l.kind == WD_PF_NOMEM)
			err = -ENOMEM;
	}
	return err;
}

static void free_all(struct bound *b, int n)
{
	for (int i = 0; i < n; i++)
		b_free(&b[i]);
}

/* Whether any packet can match under the facts: 1, 0 or -ENOMEM. */
static int possible(struct kctx *c)
{
	struct bound b[CL_COUNT];
	int n, found = 0, err;

	for (int v6 = 0; v6 <= 1 && !found; v6++) {
		err = translate(c, v6, b, &n);
		for (int i = 0; i < n; i++)
			found |= b[i].u.kind != WD_PF_FALSE;
		free_all(b, n);
		if (err)
			return err;
	}
	return found;
}

/* ---- the expression for the kernel ---- */

/* The guard of the classes in mask: theirs, or not the others' if they are fewer. */
static struct wd_pf group_guard(int v6, int n, unsigned int mask)
{
	int members = __builtin_popcount(mask), outside = members * 2 > n;
	struct wd_pf p = wd_pf_const(0);

	if (mask == (1u << n) - 1)
		return wd_pf_const(1);
	if (outside)
		mask = ~mask & ((1u << n) - 1);
	for (int cls = 0; cls < n; cls++) {
		if (!(mask >> cls & 1))
			continue;
		if (cls < CL_TS && mask >> (cls + 3) & 1) { /* with and without room */
			p = wd_pf_or(p, protocol_guard(v6, cls));
			mask &= ~(1u << (cls + 3));
		} else {
			p = wd_pf_or(p, class_guard(v6, cls));
		}
	}
	return outside ? wd_pf_not(p) : p;
}

/* One IP version: each distinct translation under the guard of its classes. */
static struct wd_pf combine(int v6, struct bound *b, int n, int *exact)
{
	struct wd_pf all = wd_pf_const(0);
	unsigned int done = 0, mask;

	for (int i = 0; i < n; i++)
		if (!wd_pf_equal(&b[i].u, &b[i].l))
			*exact = 0;
	for (int i = 0; i < n; i++) {
		if (done >> i & 1)
			continue;
		mask = 0;
		for (int j = i; j < n; j++)
			if (wd_pf_equal(&b[j].u, &b[i].u))
				mask |= 1u << j;
		done |= mask;
		all = wd_pf_or(all, wd_pf_and(group_guard(v6, n, mask), wd_pf_dup(&b[i].u)));
	}
	return all;
}

/* The pcap expression for the facts, into k->pcap (NULL: every packet). */
static int build(struct kctx *c, struct wd_kernel *k)
{
	struct bound b[CL_COUNT];
	struct wd_pf v[2], all;
	int n, err = 0;

	k->exact = 1;
	for (int v6 = 0; v6 <= 1; v6++) {
		int r = translate(c, v6, b, &n);

		err = err ? err : r;
		v[v6] = combine(v6, b, n, &k->exact);
		free_all(b, n);
	}
	if (wd_pf_equal(&v[0], &v[1])) { /* the same for both: no version test */
		wd_pf_free(&v[1]);
		all = v[0];
	} else {
		all = wd_pf_or(wd_pf_and(wd_pf_atom("ip"), v[0]),
			       wd_pf_and(wd_pf_atom("ip6"), v[1]));
	}
	if (err || all.kind == WD_PF_NOMEM) {
		wd_pf_free(&all);
		return -ENOMEM;
	}
	if (all.kind == WD_PF_FALSE) { /* nothing can match after all */
		k->outbound = k->inbound = 0;
		k->ifidx = 0;
		k->exact = 1;
	}
	if (all.kind == WD_PF_AND || all.kind == WD_PF_OR) /* see NEVER */
		all = wd_pf_or(all, wd_pf_atom(NEVER));
	if (all.kind == WD_PF_BIG) /* perhaps only now, with NEVER */
		k->exact = 0;
	if (all.kind == WD_PF_NOMEM)
		return -ENOMEM;
	k->pcap = all.s; /* NULL for true (and big) */
	return 0;
}

/* Which directions can match; the facts then take the direction if only one can. */
static int directions(struct kctx *c, WINDIVERT_LAYER layer, struct wd_kernel *k)
{
	int r;

	if (layer == WINDIVERT_LAYER_NETWORK_FORWARD) {
		r = possible(c);
		k->outbound = k->inbound = r > 0;
		return r < 0 ? r : 0;
	}
	for (int dir = DIR_IN; dir <= DIR_OUT; dir++) {
		c->k.dir = (uint8_t)dir;
		r = possible(c);
		if (r < 0)
			return r;
		*(dir == DIR_OUT ? &k->outbound : &k->inbound) = r;
	}
	c->k.dir = k->outbound && !k->inbound ? DIR_OUT
		 : k->inbound && !k->outbound ? DIR_IN
					      : DIR_ANY;
	return 0;
}

/* An interface every match needs: one an "ifIdx == N" test names, without which
 * nothing can match. */
static int interface(struct kctx *c, const struct wd_filter *f, struct wd_kernel *k)
{
	for (unsigned int i = 0; i < f->len; i++) {
		const struct wd_test *t = &f->test[i];
		int r;

		if (t->field != WD_F_IFIDX || t->op != WD_EQ || t->neg || !t->arg[0])
			continue;
		c->k.ifmode = IF_NOT;
		c->k.ifidx = t->arg[0];
		r = possible(c);
		if (r < 0)
			return r;
		if (r == 0) {
			c->k.ifmode = IF_IS;
			k->ifidx = t->arg[0];
			return 0;
		}
	}
	c->k.ifmode = IF_ANY;
	return 0;
}

int wd_filter_kernel(const struct wd_filter *f, struct wd_kernel *k)
{
	struct wd_decompiled *d;
	struct kctx c = { .k = { .dir = DIR_ANY, .ifmode = IF_ANY } };
	int err;

	memset(k, 0, sizeof(*k));
	if (f->layer != WINDIVERT_LAYER_NETWORK && f->layer != WINDIVERT_LAYER_NETWORK_FORWARD) {
		k->outbound = k->inbound = 1; /* events: user space decides */
		return 0;
	}
	d = malloc(sizeof(*d));
	if (!d)
		return -ENOMEM;
	wd_decompile(d, f);
	c.d = d;
	err = directions(&c, f->layer, k);
	if (!err && (k->outbound || k->inbound))
		err = interface(&c, f, k);
	if (!err && (k->outbound || k->inbound))
		err = build(&c, k);
	else if (!err)
		k->exact = 1; /* nothing can match: nothing to hook */
	free(d);
	if (err)
		wd_kernel_free(k);
	return err;
}

void wd_kernel_free(struct wd_kernel *k)
{
	free(k->pcap);
	k->pcap = NULL;
}
