/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * filter_fields.c - the fields of the filter language: their names, the layers
 * that have them, the values they can take and how their values print.
 *
 * The bounds are WinDivert's: a test they settle (tcp.DstPort > 70000) is folded
 * into a constant when the filter is compiled, and never reaches a packet.
 */
#include <string.h>

#include "filter.h"

#define L_NET (1u << WINDIVERT_LAYER_NETWORK)
#define L_FWD (1u << WINDIVERT_LAYER_NETWORK_FORWARD)
#define L_FLOW (1u << WINDIVERT_LAYER_FLOW)
#define L_SOCK (1u << WINDIVERT_LAYER_SOCKET)
#define L_REFL (1u << WINDIVERT_LAYER_REFLECT)
#define L_PACKET (L_NET | L_FWD)
#define L_ALL (L_NET | L_FWD | L_FLOW | L_SOCK | L_REFL)
#define L_CONN (L_NET | L_FLOW | L_SOCK)

/* The bounds of a field as { lo, hi }: 32-bit, 128-bit, and the odd ones. */
#define R32(l, h) { .w = { l } }, { .w = { h } }
#define R_U32 R32(0, 0xFFFFFFFF)
#define R_U128 { .w = { 0 } }, { .w = { ~0u, ~0u, ~0u, ~0u } }
#define R_U64 { .w = { 0 } }, { .w = { ~0u, ~0u } }
#define R_IPV4 { .w = { 0, 0xFFFF } }, { .w = { ~0u, 0xFFFF } }
#define R_TIME { .w = { 0, 0x80000000 }, .neg = 1 }, { .w = { ~0u, 0x7FFFFFFF } }
#define R_PRIO { .w = { WINDIVERT_PRIORITY_HIGHEST }, .neg = 1 }, \
	{ .w = { WINDIVERT_PRIORITY_HIGHEST } }

#define F(id, nm, lay, sty, range) [id] = { nm, lay, sty, 0, 0, range }
#define BIG(id, nm, lay, sty, range) [id] = { nm, lay, sty, 0, 1, range }
#define ARR(id, nm, size, range) [id] = { nm, L_PACKET, WD_STYLE_HEX, size, 0, range }

static const struct wd_field fields[WD_F_COUNT] = {
	F(WD_F_ZERO, "zero", L_ALL, WD_STYLE_FLAG, R32(0, 0)),
	F(WD_F_INBOUND, "inbound", L_CONN, WD_STYLE_FLAG, R32(0, 1)),
	F(WD_F_OUTBOUND, "outbound", L_CONN, WD_STYLE_FLAG, R32(0, 1)),
	F(WD_F_IFIDX, "ifIdx", L_PACKET, WD_STYLE_DEC, R_U32),
	F(WD_F_SUBIFIDX, "subIfIdx", L_PACKET, WD_STYLE_DEC, R_U32),
	F(WD_F_IP, "ip", L_PACKET | L_FLOW | L_SOCK, WD_STYLE_FLAG, R32(0, 1)),
	F(WD_F_IPV6, "ipv6", L_PACKET | L_FLOW | L_SOCK, WD_STYLE_FLAG, R32(0, 1)),
	F(WD_F_ICMP, "icmp", L_PACKET | L_FLOW | L_SOCK, WD_STYLE_FLAG, R32(0, 1)),
	F(WD_F_TCP, "tcp", L_PACKET | L_FLOW | L_SOCK, WD_STYLE_FLAG, R32(0, 1)),
	F(WD_F_UDP, "udp", L_PACKET | L_FLOW | L_SOCK, WD_STYLE_FLAG, R32(0, 1)),
	F(WD_F_ICMPV6, "icmpv6", L_PACKET | L_FLOW | L_SOCK, WD_STYLE_FLAG, R32(0, 1)),
	F(WD_F_IP_HDRLENGTH, "ip.HdrLength", L_PACKET, WD_STYLE_DEC, R32(0, 0xF)),
	F(WD_F_IP_TOS, "ip.TOS", L_PACKET, WD_STYLE_DEC, R32(0, 0xFFFF)),
	F(WD_F_IP_LENGTH, "ip.Length", L_PACKET, WD_STYLE_DEC, R32(0, 0xFFFF)),
	F(WD_F_IP_ID, "ip.Id", L_PACKET, WD_STYLE_HEX, R32(0, 0xFFFF)),
	F(WD_F_IP_DF, "ip.DF", L_PACKET, WD_STYLE_FLAG, R32(0, 1)),
	F(WD_F_IP_MF, "ip.MF", L_PACKET, WD_STYLE_FLAG, R32(0, 1)),
	F(WD_F_IP_FRAGOFF, "ip.FragOff", L_PACKET, WD_STYLE_DEC, R32(0, 0x1FFF)),
	F(WD_F_IP_TTL, "ip.TTL", L_PACKET, WD_STYLE_DEC, R32(0, 0xFF)),
	F(WD_F_IP_PROTOCOL, "ip.Protocol", L_PACKET, WD_STYLE_DEC, R32(0, 0xFF)),
	F(WD_F_IP_CHECKSUM, "ip.Checksum", L_PACKET, WD_STYLE_HEX, R32(0, 0xFFFF)),
	BIG(WD_F_IP_SRCADDR, "ip.SrcAddr", L_PACKET, WD_STYLE_IPV4, R_IPV4),
	BIG(WD_F_IP_DSTADDR, "ip.DstAddr", L_PACKET, WD_STYLE_IPV4, R_IPV4),
	F(WD_F_IPV6_TRAFFICCLASS, "ipv6.TrafficClass", L_PACKET, WD_STYLE_DEC, R32(0, 0xFF)),
	F(WD_F_IPV6_FLOWLABEL, "ipv6.FlowLabel", L_PACKET, WD_STYLE_DEC, R32(0, 0xFFFFF)),
	F(WD_F_IPV6_LENGTH, "ipv6.Length", L_PACKET, WD_STYLE_DEC, R32(0, 0xFFFF)),
	F(WD_F_IPV6_NEXTHDR, "ipv6.NextHdr", L_PACKET, WD_STYLE_DEC, R32(0, 0xFF)),
	F(WD_F_IPV6_HOPLIMIT, "ipv6.HopLimit", L_PACKET, WD_STYLE_DEC, R32(0, 0xFF)),
	BIG(WD_F_IPV6_SRCADDR, "ipv6.SrcAddr", L_PACKET, WD_STYLE_IPV6, R_U128),
	BIG(WD_F_IPV6_DSTADDR, "ipv6.DstAddr", L_PACKET, WD_STYLE_IPV6, R_U128),
	F(WD_F_ICMP_TYPE, "icmp.Type", L_PACKET, WD_STYLE_DEC, R32(0, 0xFF)),
	F(WD_F_ICMP_CODE, "icmp.Code", L_PACKET, WD_STYLE_DEC, R32(0, 0xFF)),
	F(WD_F_ICMP_CHECKSUM, "icmp.Checksum", L_PACKET, WD_STYLE_HEX, R32(0, 0xFFFF)),
	F(WD_F_ICMP_BODY, "icmp.Body", L_PACKET, WD_STYLE_DEC, R_U32),
	F(WD_F_ICMPV6_TYPE, "icmpv6.Type", L_PACKET, WD_STYLE_DEC, R32(0, 0xFF)),
	F(WD_F_ICMPV6_CODE, "icmpv6.Code", L_PACKET, WD_STYLE_DEC, R32(0, 0xFF)),
	F(WD_F_ICMPV6_CHECKSUM, "icmpv6.Checksum", L_PACKET, WD_STYLE_HEX, R32(0, 0xFFFF)),
	F(WD_F_ICMPV6_BODY, "icmpv6.Body", L_PACKET, WD_STYLE_DEC, R_U32),
	F(WD_F_TCP_SRCPORT, "tcp.SrcPort", L_PACKET, WD_STYLE_DEC, R32(0, 0xFFFF)),
	F(WD_F_TCP_DSTPORT, "tcp.DstPort", L_PACKET, WD_STYLE_DEC, R32(0, 0xFFFF)),
	F(WD_F_TCP_SEQNUM, "tcp.SeqNum", L_PACKET, WD_STYLE_DEC, R_U32),
	F(WD_F_TCP_ACKNUM, "tcp.AckNum", L_PACKET, WD_STYLE_DEC, R_U32),
	F(WD_F_TCP_HDRLENGTH, "tcp.HdrLength", L_PACKET, WD_STYLE_DEC, R32(0, 0xF)),
	F(WD_F_TCP_URG, "tcp.Urg", L_PACKET, WD_STYLE_FLAG, R32(0, 1)),
	F(WD_F_TCP_ACK, "tcp.Ack", L_PACKET, WD_STYLE_FLAG, R32(0, 1)),
	F(WD_F_TCP_PSH, "tcp.Psh", L_PACKET, WD_STYLE_FLAG, R32(0, 1)),
	F(WD_F_TCP_RST, "tcp.Rst", L_PACKET, WD_STYLE_FLAG, R32(0, 1)),
	F(WD_F_TCP_SYN, "tcp.Syn", L_PACKET, WD_STYLE_FLAG, R32(0, 1)),
	F(WD_F_TCP_FIN, "tcp.Fin", L_PACKET, WD_STYLE_FLAG, R32(0, 1)),
	F(WD_F_TCP_WINDOW, "tcp.Window", L_PACKET, WD_STYLE_DEC, R32(0, 0xFFFF)),
	F(WD_F_TCP_CHECKSUM, "tcp.Checksum", L_PACKET, WD_STYLE_HEX, R32(0, 0xFFFF)),
	F(WD_F_TCP_URGPTR, "tcp.UrgPtr", L_PACKET, WD_STYLE_DEC, R32(0, 0xFFFF)),
	F(WD_F_TCP_PAYLOADLENGTH, "tcp.PayloadLength", L_PACKET, WD_STYLE_DEC, R32(0, 0xFFFF)),
	F(WD_F_UDP_SRCPORT, "udp.SrcPort", L_PACKET, WD_STYLE_DEC, R32(0, 0xFFFF)),
	F(WD_F_UDP_DSTPORT, "udp.DstPort", L_PACKET, WD_STYLE_DEC, R32(0, 0xFFFF)),
	F(WD_F_UDP_LENGTH, "udp.Length", L_PACKET, WD_STYLE_DEC, R32(0, 0xFFFF)),
	F(WD_F_UDP_CHECKSUM, "udp.Checksum", L_PACKET, WD_STYLE_HEX, R32(0, 0xFFFF)),
	F(WD_F_UDP_PAYLOADLENGTH, "udp.PayloadLength", L_PACKET, WD_STYLE_DEC, R32(0, 0xFFFF)),
	F(WD_F_LOOPBACK, "loopback", L_CONN, WD_STYLE_FLAG, R_U32),
	F(WD_F_IMPOSTOR, "impostor", L_PACKET, WD_STYLE_FLAG, R_U32),
	F(WD_F_PROCESSID, "processId", L_CONN | L_REFL, WD_STYLE_DEC, R_U32),
	BIG(WD_F_LOCALADDR, "localAddr", L_CONN, WD_STYLE_IPV6, R_U128),
	BIG(WD_F_REMOTEADDR, "remoteAddr", L_CONN, WD_STYLE_IPV6, R_U128),
	F(WD_F_LOCALPORT, "localPort", L_CONN, WD_STYLE_DEC, R32(0, 0xFFFF)),
	F(WD_F_REMOTEPORT, "remotePort", L_CONN, WD_STYLE_DEC, R32(0, 0xFFFF)),
	F(WD_F_PROTOCOL, "protocol", L_CONN, WD_STYLE_DEC, R32(0, 0xFF)),
	BIG(WD_F_ENDPOINTID, "endpointId", L_FLOW | L_SOCK, WD_STYLE_DEC, R_U64),
	BIG(WD_F_PARENTENDPOINTID, "parentEndpointId", L_FLOW | L_SOCK, WD_STYLE_DEC, R_U64),
	F(WD_F_LAYER, "layer", L_REFL, WD_STYLE_LAYER, R32(0, WINDIVERT_LAYER_REFLECT)),
	F(WD_F_PRIORITY, "priority", L_REFL, WD_STYLE_DEC, R_PRIO),
	F(WD_F_EVENT, "event", L_ALL, WD_STYLE_EVENT, R32(0, WINDIVERT_EVENT_REFLECT_CLOSE)),
	ARR(WD_F_PACKET, "packet", 1, R32(0, 0xFF)),
	ARR(WD_F_PACKET16, "packet16", 2, R32(0, 0xFFFF)),
	ARR(WD_F_PACKET32, "packet32", 4, R_U32),
	ARR(WD_F_TCP_PAYLOAD, "tcp.Payload", 1, R32(0, 0xFF)),
	ARR(WD_F_TCP_PAYLOAD16, "tcp.Payload16", 2, R32(0, 0xFFFF)),
	ARR(WD_F_TCP_PAYLOAD32, "tcp.Payload32", 4, R_U32),
	ARR(WD_F_UDP_PAYLOAD, "udp.Payload", 1, R32(0, 0xFF)),
	ARR(WD_F_UDP_PAYLOAD16, "udp.Payload16", 2, R32(0, 0xFFFF)),
	ARR(WD_F_UDP_PAYLOAD32, "udp.Payload32", 4, R_U32),
	F(WD_F_LENGTH, "length", L_PACKET, WD_STYLE_DEC, R32(20, WINDIVERT_MTU_MAX)),
	BIG(WD_F_TIMESTAMP, "timestamp", L_ALL, WD_STYLE_DEC, R_TIME),
	F(WD_F_RANDOM8, "random8", L_PACKET, WD_STYLE_DEC, R32(0, 0xFF)),
	F(WD_F_RANDOM16, "random16", L_PACKET, WD_STYLE_DEC, R32(0, 0xFFFF)),
	F(WD_F_RANDOM32, "random32", L_PACKET, WD_STYLE_DEC, R_U32),
	F(WD_F_FRAGMENT, "fragment", L_PACKET, WD_STYLE_FLAG, R32(0, 1)),
	F(WD_F_TRUE, "true", L_ALL, WD_STYLE_DEC, R32(1, 1)),
	F(WD_F_FALSE, "false", L_ALL, WD_STYLE_DEC, R32(0, 0)),
};

#define AT(id, h, o, sz, sh, m) [id] = { WD_HDR_##h, o, sz, sh, m }
static const struct wd_spot spots[WD_F_COUNT] = {
	AT(WD_F_IP_HDRLENGTH, IP, 0, 1, 0, 0xF), AT(WD_F_IP_TOS, IP, 1, 1, 0, 0xFF),
	AT(WD_F_IP_LENGTH, IP, 2, 2, 0, 0xFFFF), AT(WD_F_IP_ID, IP, 4, 2, 0, 0xFFFF),
	AT(WD_F_IP_DF, IP, 6, 1, 6, 1), AT(WD_F_IP_MF, IP, 6, 1, 5, 1),
	AT(WD_F_IP_FRAGOFF, IP, 6, 2, 0, 0x1FFF), AT(WD_F_IP_TTL, IP, 8, 1, 0, 0xFF),
	AT(WD_F_IP_PROTOCOL, IP, 9, 1, 0, 0xFF), AT(WD_F_IP_CHECKSUM, IP, 10, 2, 0, 0xFFFF),
	AT(WD_F_IP_SRCADDR, IP, 12, 4, 0, ~0u), AT(WD_F_IP_DSTADDR, IP, 16, 4, 0, ~0u),
	AT(WD_F_IPV6_TRAFFICCLASS, IPV6, 0, 2, 4, 0xFF),
	/* the 20-bit label, as documented (WinDivert 2.2's own code mixes up its bytes) */
	AT(WD_F_IPV6_FLOWLABEL, IPV6, 0, 4, 0, 0xFFFFF),
	AT(WD_F_IPV6_LENGTH, IPV6, 4, 2, 0, 0xFFFF), AT(WD_F_IPV6_NEXTHDR, IPV6, 6, 1, 0, 0xFF),
	AT(WD_F_IPV6_HOPLIMIT, IPV6, 7, 1, 0, 0xFF),
	AT(WD_F_IPV6_SRCADDR, IPV6, 8, 16, 0, 0), AT(WD_F_IPV6_DSTADDR, IPV6, 24, 16, 0, 0),
	AT(WD_F_ICMP_TYPE, ICMP, 0, 1, 0, 0xFF), AT(WD_F_ICMP_CODE, ICMP, 1, 1, 0, 0xFF),
	AT(WD_F_ICMP_CHECKSUM, ICMP, 2, 2, 0, 0xFFFF), AT(WD_F_ICMP_BODY, ICMP, 4, 4, 0, ~0u),
	AT(WD_F_ICMPV6_TYPE, ICMPV6, 0, 1, 0, 0xFF), AT(WD_F_ICMPV6_CODE, ICMPV6, 1, 1, 0, 0xFF),
	AT(WD_F_ICMPV6_CHECKSUM, ICMPV6, 2, 2, 0, 0xFFFF),
	AT(WD_F_ICMPV6_BODY, ICMPV6, 4, 4, 0, ~0u),
	AT(WD_F_TCP_SRCPORT, TCP, 0, 2, 0, 0xFFFF), AT(WD_F_TCP_DSTPORT, TCP, 2, 2, 0, 0xFFFF),
	AT(WD_F_TCP_SEQNUM, TCP, 4, 4, 0, ~0u), AT(WD_F_TCP_ACKNUM, TCP, 8, 4, 0, ~0u),
	AT(WD_F_TCP_HDRLENGTH, TCP, 12, 1, 4, 0xF), AT(WD_F_TCP_URG, TCP, 13, 1, 5, 1),
	AT(WD_F_TCP_ACK, TCP, 13, 1, 4, 1), AT(WD_F_TCP_PSH, TCP, 13, 1, 3, 1),
	AT(WD_F_TCP_RST, TCP, 13, 1, 2, 1), AT(WD_F_TCP_SYN, TCP, 13, 1, 1, 1),
	AT(WD_F_TCP_FIN, TCP, 13, 1, 0, 1), AT(WD_F_TCP_WINDOW, TCP, 14, 2, 0, 0xFFFF),
	AT(WD_F_TCP_CHECKSUM, TCP, 16, 2, 0, 0xFFFF), AT(WD_F_TCP_URGPTR, TCP, 18, 2, 0, 0xFFFF),
	AT(WD_F_UDP_SRCPORT, UDP, 0, 2, 0, 0xFFFF), AT(WD_F_UDP_DSTPORT, UDP, 2, 2, 0, 0xFFFF),
	AT(WD_F_UDP_LENGTH, UDP, 4, 2, 0, 0xFFFF), AT(WD_F_UDP_CHECKSUM, UDP, 6, 2, 0, 0xFFFF),
	/* fields read elsewhere that still need their header */
	AT(WD_F_TCP_PAYLOADLENGTH, TCP, 0, 0, 0, 0), AT(WD_F_TCP_PAYLOAD, TCP, 0, 0, 0, 0),
	AT(WD_F_TCP_PAYLOAD16, TCP, 0, 0, 0, 0), AT(WD_F_TCP_PAYLOAD32, TCP, 0, 0, 0, 0),
	AT(WD_F_UDP_PAYLOADLENGTH, UDP, 0, 0, 0, 0), AT(WD_F_UDP_PAYLOAD, UDP, 0, 0, 0, 0),
	AT(WD_F_UDP_PAYLOAD16, UDP, 0, 0, 0, 0), AT(WD_F_UDP_PAYLOAD32, UDP, 0, 0, 0, 0),
};

const struct wd_spot *wd_field_spot(unsigned int id)
{
	return &spots[id];
}

const struct wd_field *wd_field(unsigned int id)
{
	return &fields[id];
}

int wd_field_lookup(const char *name, size_t len)
{
	for (int id = 0; id < WD_F_COUNT; id++)
		if (strlen(fields[id].name) == len && memcmp(fields[id].name, name, len) == 0)
			return id;
	return -1;
}

int wd_field_valid(unsigned int id, WINDIVERT_LAYER layer)
{
	return id < WD_F_COUNT && (unsigned int)layer <= WINDIVERT_LAYER_REFLECT &&
	       (fields[id].layers >> layer) & 1;
}

int wd_value_cmp(const struct wd_value *a, const struct wd_value *b, int big)
{
	int sign = a->neg ? -1 : 1;

	if (a->neg != b->neg)
		return a->neg ? -1 : 1;
	for (int i = big ? 3 : 0; i >= 0; i--) {
		if (a->w[i] < b->w[i])
			return -sign;
		if (a->w[i] > b->w[i])
			return sign;
	}
	return 0;
}

int wd_op_holds(unsigned int op, int cmp)
{
	switch (op) {
	case WD_EQ: return cmp == 0;
	case WD_NEQ: return cmp != 0;
	case WD_LT: return cmp < 0;
	case WD_LEQ: return cmp <= 0;
	case WD_GT: return cmp > 0;
	default: return cmp >= 0;
	}
}

void wd_test_value(const struct wd_test *t, struct wd_value *v)
{
	memcpy(v->w, t->arg, sizeof(v->w));
	v->neg = t->neg;
	if (fields[t->field].array)
		v->w[1] = 0;
}

static int settle(int *holds, int value)
{
	*holds = value;
	return 1;
}

/* Whether the bounds settle "field op v"; below/above: v compared with lo and hi. */
static int fold(unsigned int op, int below, int above, int single, int *holds)
{
	switch (op) {
	case WD_EQ:
	case WD_NEQ:
		if (below < 0 || above > 0)
			return settle(holds, op == WD_NEQ);
		if (single && below == 0)
			return settle(holds, op == WD_EQ);
		return 0;
	case WD_LT: /* field < v */
		if (above > 0 || below <= 0)
			return settle(holds, above > 0);
		return 0;
	case WD_LEQ:
		if (above >= 0 || below < 0)
			return settle(holds, above >= 0);
		return 0;
	case WD_GT:
		if (above >= 0 || below < 0)
			return settle(holds, above < 0);
		return 0;
	case WD_GEQ:
		if (above > 0 || below <= 0)
			return settle(holds, above <= 0);
		return 0;
	}
	return 0;
}

int wd_test_fold(unsigned int field, unsigned int op, const struct wd_value *v, int *holds)
{
	const struct wd_field *f = &fields[field];
	int single = wd_value_cmp(&f->lo, &f->hi, 1) == 0;

	return fold(op, wd_value_cmp(v, &f->lo, 1), wd_value_cmp(v, &f->hi, 1), single, holds);
}
