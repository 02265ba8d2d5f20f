/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_windivert_filter.c - WinDivert 2.2's filter language through its public
 * helpers: WinDivertHelperEvalFilter over packets built here (IPv4 and IPv6;
 * TCP, UDP, ICMP, ICMPv6; fragments, options, extension headers, a truncated
 * one) and their addresses, for every field, operator and index form, text and
 * object alike; WinDivertHelperCompileFilter's errors and positions;
 * WinDivertHelperFormatFilter's canonical text and round trips; the limits on
 * depth, tokens and tests; the event layers; and the kernel part: the pcap
 * expression of a filter, run by libpcap, matches every packet the filter
 * matches (and exactly those when the filter says it is exact).
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "packets.h"
#include "filter.h"

/* ---- packets ---- */

struct pkt {
	uint8_t b[256];
	uint32_t len;
	uint32_t l4;     /* where the transport header starts */
};

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static void append(struct pkt *p, const void *data, uint32_t n)
{
	memcpy(p->b + p->len, data, n);
	p->len += n;
}

/* An IPv4 header of hl bytes (options: NOPs); the total length is set by finish(). */
static void ip4(struct pkt *p, uint8_t proto, uint32_t src, uint32_t dst, uint8_t hl,
		uint16_t frag)
{
	uint8_t *h = p->b;

	memset(p, 0, sizeof(*p));
	memset(h, 1, hl); /* NOP options */
	h[0] = (uint8_t)(0x40 | hl / 4);
	h[1] = 0x10;                   /* TOS */
	put16(h + 4, 0x1234);          /* Id */
	put16(h + 6, frag);
	h[8] = 64;
	h[9] = proto;
	put16(h + 10, 0xc5c5);         /* checksums here are fixed values, not sums */
	put32(h + 12, src);
	put32(h + 16, dst);
	p->len = p->l4 = hl;
}

/* An IPv6 header: traffic class 0xab, flow label 0x12345, hop limit 64; ::1 + n. */
static void ip6(struct pkt *p, uint8_t next, uint8_t src_last, uint8_t dst_last)
{
	static const uint8_t prefix[8] = { 0x20, 0x01, 0x0d, 0xb8 };
	uint8_t *h = p->b;

	memset(p, 0, sizeof(*p));
	put32(h, 0x6ab12345);
	h[6] = next;
	h[7] = 64;
	memcpy(h + 8, prefix, 8);
	h[23] = src_last;
	memcpy(h + 24, prefix, 8);
	h[39] = dst_last;
	p->len = p->l4 = 40;
}

/* An IPv6 extension header of 8 bytes (fragment: offset and M as frag). */
static void ext6(struct pkt *p, uint8_t next, uint16_t frag)
{
	uint8_t h[8] = { next, 0, 0, 0, 0, 0, 0, 0 };

	put16(h + 2, frag);
	append(p, h, 8);
	p->l4 = p->len;
}

static void tcp(struct pkt *p, uint16_t sport, uint16_t dport, uint8_t flags, uint8_t words)
{
	uint8_t h[24] = { 0 };

	put16(h, sport);
	put16(h + 2, dport);
	put32(h + 4, 0x11223344);
	put32(h + 8, 0x55667788);
	h[12] = (uint8_t)(words << 4);
	h[13] = flags;
	put16(h + 14, 8192);
	put16(h + 16, 0x7e7e);
	put16(h + 18, 0x0102);
	if (words == 6)
		put32(h + 20, 0x020405b4); /* MSS */
	append(p, h, (uint32_t)words * 4);
}

static void udp(struct pkt *p, uint16_t sport, uint16_t dport)
{
	uint8_t h[8] = { 0 };

	put16(h, sport);
	put16(h + 2, dport);
	put16(h + 6, 0x5a5a);
	append(p, h, 8);
}

static void icmp(struct pkt *p, uint8_t type, uint32_t body)
{
	uint8_t h[8] = { type, 0, 0x3c, 0x3c };

	put32(h + 4, body);
	append(p, h, 8);
}

/* The IP total length (IPv4) or payload length (IPv6). */
static void finish(struct pkt *p)
{
	if (p->b[0] >> 4 == 4)
		put16(p->b + 2, p->len);
	else
		put16(p->b + 4, p->len - 40);
}

static void set_udp_length(struct pkt *p)
{
	put16(p->b + p->l4 + 4, p->len - p->l4);
}

enum {
	P_TCP4, P_UDP4, P_ICMP4, P_TCP6, P_UDP6_EXT, P_ICMP6, P_FRAG4, P_FRAG4_FIRST, P_FRAG6,
	P_OPTS4, P_TRUNC4, P_BAD, P_COUNT
};

static struct pkt pkts[P_COUNT];

#define A4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static void build_ipv4(void)
{
	struct pkt *p = &pkts[P_TCP4];

	ip4(p, 6, A4(10, 0, 0, 1), A4(10, 0, 0, 2), 20, 0x4000);
	tcp(p, 1234, 80, 0x18, 5);
	append(p, "GET / HTTP/1.1", 14);
	finish(p);
	p = &pkts[P_UDP4];
	ip4(p, 17, A4(192, 168, 1, 1), A4(8, 8, 8, 8), 20, 0);
	udp(p, 5353, 53);
	append(p, "\xab\xcd\x01\x00\x00\x01\x00\x00\x00\x00\x00\x07", 12);
	set_udp_length(p);
	finish(p);
	p = &pkts[P_ICMP4];
	ip4(p, 1, A4(192, 0, 2, 1), A4(198, 51, 100, 2), 20, 0);
	icmp(p, 8, 0x12340001);
	append(p, "hello", 5);
	finish(p);
	p = &pkts[P_OPTS4];
	ip4(p, 17, A4(10, 1, 1, 1), A4(10, 2, 2, 2), 24, 0);
	udp(p, 67, 53);
	set_udp_length(p);
	finish(p);
}

static void build_fragments(void)
{
	struct pkt *p = &pkts[P_FRAG4];

	ip4(p, 17, A4(10, 0, 0, 1), A4(10, 0, 0, 2), 20, 185);
	append(p, "0123456789abcdefghij", 20);
	finish(p);
	p = &pkts[P_FRAG4_FIRST];
	ip4(p, 6, A4(10, 0, 0, 1), A4(10, 0, 0, 2), 20, 0x2000);
	tcp(p, 1234, 80, 0x02, 5);
	append(p, "12345678", 8);
	finish(p);
	p = &pkts[P_FRAG6];
	ip6(p, 44, 1, 2);
	ext6(p, 17, 0x0100); /* offset 32 (8-byte units), M = 0 */
	append(p, "\x03\xe8\x07\xd0\x00\x0c\x00\x00tail", 12);
	finish(p);
	p = &pkts[P_TRUNC4]; /* the IP header says 100 bytes, 40 are here */
	ip4(p, 6, A4(10, 0, 0, 1), A4(10, 0, 0, 2), 20, 0);
	tcp(p, 1, 2, 0x10, 5);
	put16(p->b + 2, 100);
	memcpy(pkts[P_BAD].b, "\x50\x00\x00\x14", 4); /* IP version 5 */
	pkts[P_BAD].len = 20;
}

static void build_ipv6(void)
{
	struct pkt *p = &pkts[P_TCP6];

	ip6(p, 6, 1, 2);
	tcp(p, 443, 50000, 0x02, 6);
	finish(p);
	memcpy(pkts[P_UDP6_EXT].b, ipv6_udp_ext, sizeof(ipv6_udp_ext));
	pkts[P_UDP6_EXT].len = sizeof(ipv6_udp_ext);
	memcpy(pkts[P_ICMP6].b, ipv6_icmp_echo, sizeof(ipv6_icmp_echo));
	pkts[P_ICMP6].len = sizeof(ipv6_icmp_echo);
}

static void build_packets(void)
{
	build_ipv4();
	build_fragments();
	build_ipv6();
}

/* ---- addresses ---- */

enum { A_OUT, A_IN, A_LOOP, A_FWD };

static void make_addr(int kind, const struct pkt *p, WINDIVERT_ADDRESS *a)
{
	memset(a, 0, sizeof(*a));
	a->Layer = kind == A_FWD ? WINDIVERT_LAYER_NETWORK_FORWARD : WINDIVERT_LAYER_NETWORK;
	a->Event = WINDIVERT_EVENT_NETWORK_PACKET;
	a->IPv6 = p->b[0] >> 4 == 6;
	a->Outbound = kind == A_OUT || kind == A_LOOP;
	a->Loopback = a->Impostor = kind == A_LOOP;
	a->Timestamp = kind == A_IN ? -7 : 1000;
	a->Network.IfIdx = kind == A_OUT ? 7 : kind == A_IN ? 3 : 9;
	a->Network.SubIfIdx = kind == A_IN ? 2 : 0;
}

/* ---- evaluation ---- */

struct eval_case {
	const char *filter;
	int pkt, addr;
	int want; /* 1 match, 0 no match, -1 refused (ERROR_INVALID_PARAMETER) */
};

static const struct eval_case eval_cases[] = {
	/* constants, the address, the event */
	{ "true", P_TCP4, A_OUT, 1 }, { "false", P_TCP4, A_OUT, 0 },
	{ "zero", P_TCP4, A_OUT, 0 }, { "zero == 0", P_TCP4, A_OUT, 1 },
	{ "not zero", P_UDP4, A_IN, 1 }, { "TRUE", P_TCP4, A_OUT, -1 },
	{ "event == PACKET", P_TCP4, A_OUT, 1 }, { "event != 0", P_TCP4, A_OUT, 0 },
	{ "timestamp == 1000", P_TCP4, A_OUT, 1 }, { "timestamp == -7", P_TCP4, A_IN, 1 },
	{ "timestamp < 0", P_TCP4, A_IN, 1 }, { "timestamp > -8", P_TCP4, A_IN, 1 },
	{ "timestamp >= -6", P_TCP4, A_IN, 0 }, { "timestamp <= -7", P_TCP6, A_IN, 1 },
	{ "outbound", P_TCP4, A_OUT, 1 }, { "outbound", P_TCP4, A_IN, 0 },
	{ "inbound", P_TCP4, A_IN, 1 }, { "!outbound", P_TCP6, A_IN, 1 },
	{ "ifIdx == 7", P_TCP4, A_OUT, 1 }, { "ifIdx == 7", P_TCP4, A_IN, 0 },
	{ "ifIdx == 9", P_UDP4, A_FWD, 1 }, { "subIfIdx == 2", P_TCP4, A_IN, 1 },
	{ "subIfIdx", P_TCP4, A_OUT, 0 }, { "loopback", P_TCP4, A_LOOP, 1 },
	{ "loopback", P_TCP4, A_OUT, 0 }, { "impostor", P_UDP6_EXT, A_LOOP, 1 },
	{ "impostor == 0", P_TCP4, A_FWD, 1 }, { "outbound", P_TCP4, A_FWD, -1 },
	/* what the packet is */
	{ "length == 54", P_TCP4, A_OUT, 1 }, { "length > 100", P_TCP4, A_OUT, 0 },
	{ "length == 40", P_TRUNC4, A_OUT, 1 }, { "length == 64", P_TCP6, A_OUT, 1 },
	{ "fragment", P_TCP4, A_OUT, 0 }, { "fragment", P_FRAG4, A_OUT, 1 },
	{ "fragment", P_FRAG4_FIRST, A_OUT, 1 }, { "fragment", P_FRAG6, A_IN, 1 },
	{ "fragment", P_UDP6_EXT, A_IN, 1 }, { "fragment", P_TCP6, A_IN, 0 },
	{ "ip", P_TCP4, A_OUT, 1 }, { "ip", P_TCP6, A_OUT, 0 }, { "ipv6", P_TCP6, A_OUT, 1 },
	{ "ipv6", P_ICMP4, A_OUT, 0 }, { "icmp", P_ICMP4, A_OUT, 1 }, { "icmp", P_ICMP6, A_OUT, 0 },
	{ "icmpv6", P_ICMP6, A_OUT, 1 }, { "icmpv6", P_ICMP4, A_OUT, 0 },
	{ "tcp", P_TCP4, A_OUT, 1 }, { "tcp", P_UDP4, A_OUT, 0 }, { "tcp", P_FRAG4_FIRST, A_OUT, 1 },
	{ "tcp", P_TRUNC4, A_OUT, 1 }, { "udp", P_UDP4, A_OUT, 1 }, { "udp", P_UDP6_EXT, A_OUT, 1 },
	{ "udp", P_FRAG4, A_OUT, 0 }, { "udp", P_FRAG6, A_OUT, 0 }, { "udp", P_OPTS4, A_OUT, 1 },
	{ "protocol == TCP", P_TCP4, A_OUT, 1 }, { "protocol == UDP", P_UDP6_EXT, A_OUT, 1 },
	{ "protocol == 17", P_FRAG4, A_OUT, 1 }, { "protocol == 17", P_FRAG6, A_OUT, 1 },
	{ "protocol == ICMPV6", P_ICMP6, A_IN, 1 }, { "protocol == ICMP", P_ICMP4, A_IN, 1 },
	/* local and remote */
	{ "localAddr == 10.0.0.1", P_TCP4, A_OUT, 1 }, { "localAddr == 10.0.0.1", P_TCP4, A_IN, 0 },
	{ "localAddr == 10.0.0.2", P_TCP4, A_IN, 1 }, { "remoteAddr == 10.0.0.2", P_TCP4, A_OUT, 1 },
	{ "localAddr == ::ffff:10.0.0.1", P_TCP4, A_OUT, 1 },
	{ "localAddr == 2001:db8::1", P_TCP6, A_OUT, 1 },
	{ "remoteAddr == 2001:db8::1", P_TCP6, A_IN, 1 },
	{ "remoteAddr > 2001:db8::1", P_TCP6, A_OUT, 1 },
	{ "localPort == 1234", P_TCP4, A_OUT, 1 }, { "localPort == 80", P_TCP4, A_IN, 1 },
	{ "remotePort == 80", P_TCP4, A_OUT, 1 }, { "remotePort == 53", P_UDP4, A_LOOP, 1 },
	{ "localPort == 8", P_ICMP4, A_OUT, 1 }, { "remotePort == 0", P_ICMP4, A_OUT, 1 },
	{ "localPort == 0", P_ICMP4, A_IN, 1 }, { "remotePort == 8", P_ICMP4, A_IN, 1 },
	{ "localPort == 128", P_ICMP6, A_OUT, 1 }, { "localPort == 0", P_FRAG4, A_OUT, 1 },
	{ "localAddr == 10.0.0.1", P_TCP4, A_FWD, -1 },
	{ "protocol == 6", P_TCP4, A_FWD, -1 },
	/* IPv4 */
	{ "ip.HdrLength == 5", P_TCP4, A_OUT, 1 }, { "ip.HdrLength == 6", P_OPTS4, A_OUT, 1 },
	{ "ip.TOS == 16", P_TCP4, A_OUT, 1 }, { "ip.Length == 54", P_TCP4, A_OUT, 1 },
	{ "ip.Length == 100", P_TRUNC4, A_OUT, 1 }, { "ip.Id == 0x1234", P_TCP4, A_OUT, 1 },
	{ "ip.DF", P_TCP4, A_OUT, 1 }, { "ip.DF", P_UDP4, A_OUT, 0 }, { "ip.MF", P_TCP4, A_OUT, 0 },
	{ "ip.MF", P_FRAG4_FIRST, A_OUT, 1 }, { "ip.FragOff == 0", P_TCP4, A_OUT, 1 },
	{ "ip.FragOff == 185", P_FRAG4, A_OUT, 1 }, { "ip.TTL == 64", P_TCP4, A_OUT, 1 },
	{ "ip.Protocol == 6", P_TCP4, A_OUT, 1 }, { "ip.Checksum == 0xc5c5", P_TCP4, A_OUT, 1 },
	{ "ip.SrcAddr == 10.0.0.1", P_TCP4, A_OUT, 1 }, { "ip.DstAddr == 10.0.0.2", P_TCP4, A_OUT, 1 },
	{ "ip.SrcAddr < 10.0.0.2", P_TCP4, A_OUT, 1 }, { "ip.SrcAddr > 10.0.0.1", P_TCP4, A_OUT, 0 },
	{ "ip.SrcAddr == ::ffff:10.0.0.1", P_TCP4, A_OUT, 1 },
	{ "ip.SrcAddr == 0x0a000001", P_TCP4, A_OUT, 0 }, /* a number is no IPv4 address */
	{ "ip.TTL == 64", P_TCP6, A_OUT, 0 }, { "ip.TTL != 64", P_TCP6, A_OUT, 0 },
	/* IPv6 */
	{ "ipv6.TrafficClass == 0xab", P_TCP6, A_OUT, 1 },
	{ "ipv6.FlowLabel == 0x12345", P_TCP6, A_OUT, 1 }, { "ipv6.Length == 24", P_TCP6, A_OUT, 1 },
	{ "ipv6.NextHdr == 6", P_TCP6, A_OUT, 1 }, { "ipv6.NextHdr == 0", P_UDP6_EXT, A_OUT, 1 },
	{ "ipv6.HopLimit == 64", P_TCP6, A_OUT, 1 }, { "ipv6.SrcAddr == 2001:db8::1", P_TCP6, A_OUT, 1 },
	{ "ipv6.DstAddr == 2001:db8::2", P_TCP6, A_OUT, 1 },
	{ "ipv6.DstAddr > 2001:db8::1", P_TCP6, A_OUT, 1 }, { "ipv6.SrcAddr < ::1", P_TCP6, A_OUT, 0 },
	{ "ipv6.HopLimit == 64", P_TCP4, A_OUT, 0 },
	/* ICMP, ICMPv6 */
	{ "icmp.Type == 8", P_ICMP4, A_OUT, 1 }, { "icmp.Code == 0", P_ICMP4, A_OUT, 1 },
	{ "icmp.Checksum == 0x3c3c", P_ICMP4, A_OUT, 1 }, { "icmp.Body == 0x12340001", P_ICMP4, A_OUT, 1 },
	{ "icmp.Type == 128", P_ICMP6, A_OUT, 0 }, { "icmpv6.Type == 128", P_ICMP6, A_OUT, 1 },
	{ "icmpv6.Code == 0", P_ICMP6, A_OUT, 1 }, { "icmpv6.Checksum == 0x867c", P_ICMP6, A_OUT, 1 },
	{ "icmpv6.Body == 0xbeef0007", P_ICMP6, A_OUT, 1 }, { "icmpv6.Type == 8", P_ICMP4, A_OUT, 0 },
	/* TCP */
	{ "tcp.SrcPort == 1234", P_TCP4, A_OUT, 1 }, { "tcp.DstPort == 80", P_TCP4, A_OUT, 1 },
	{ "tcp.SeqNum == 0x11223344", P_TCP4, A_OUT, 1 }, { "tcp.AckNum == 1432778632", P_TCP4, A_OUT, 1 },
	{ "tcp.HdrLength == 5", P_TCP4, A_OUT, 1 }, { "tcp.HdrLength == 6", P_TCP6, A_OUT, 1 },
	{ "tcp.Urg", P_TCP4, A_OUT, 0 }, { "tcp.Ack", P_TCP4, A_OUT, 1 }, { "tcp.Psh", P_TCP4, A_OUT, 1 },
	{ "tcp.Rst", P_TCP4, A_OUT, 0 }, { "tcp.Syn", P_TCP4, A_OUT, 0 }, { "tcp.Syn", P_TCP6, A_OUT, 1 },
	{ "tcp.Fin", P_TCP4, A_OUT, 0 }, { "tcp.Window == 8192", P_TCP4, A_OUT, 1 },
	{ "tcp.Checksum == 0x7e7e", P_TCP4, A_OUT, 1 }, { "tcp.UrgPtr == 258", P_TCP4, A_OUT, 1 },
	{ "tcp.PayloadLength == 14", P_TCP4, A_OUT, 1 }, { "tcp.PayloadLength == 0", P_TCP6, A_OUT, 1 },
	{ "tcp.PayloadLength == 0", P_TRUNC4, A_OUT, 1 },
	{ "tcp.PayloadLength == 8", P_FRAG4_FIRST, A_OUT, 1 },
	{ "tcp.Payload[0] == 0x47", P_TCP4, A_OUT, 1 }, { "tcp.Payload16[0] == 0x4745", P_TCP4, A_OUT, 1 },
	{ "tcp.Payload32[0] == 0x47455420", P_TCP4, A_OUT, 1 },
	{ "tcp.Payload[-1] == 0x31", P_TCP4, A_OUT, 1 },
	{ "tcp.Payload32[-1] == 0x2f312e31", P_TCP4, A_OUT, 1 },
	{ "tcp.Payload[4b] == 0x2f", P_TCP4, A_OUT, 1 },
	{ "tcp.Payload16[-2b] == 0x2e31", P_TCP4, A_OUT, 1 },
	{ "tcp.Payload32[-3b] == 0", P_TCP4, A_OUT, -1 }, /* a negative byte index below the size */
	{ "tcp.Payload[14] == 0", P_TCP4, A_OUT, 0 }, { "tcp.Payload[14] != 0", P_TCP4, A_OUT, 0 },
	{ "tcp.Payload[-15] != 0", P_TCP4, A_OUT, 0 }, { "tcp.Payload[0] != 0", P_TCP6, A_OUT, 0 },
	{ "tcp.DstPort == 80", P_UDP4, A_OUT, 0 }, { "tcp.DstPort != 80", P_UDP4, A_OUT, 0 },
	/* UDP */
	{ "udp.SrcPort == 5353", P_UDP4, A_OUT, 1 }, { "udp.DstPort == 53", P_UDP4, A_OUT, 1 },
	{ "udp.Length == 20", P_UDP4, A_OUT, 1 }, { "udp.Checksum == 0x5a5a", P_UDP4, A_OUT, 1 },
	{ "udp.PayloadLength == 12", P_UDP4, A_OUT, 1 }, { "udp.Payload[0] == 0xab", P_UDP4, A_OUT, 1 },
	{ "udp.Payload16[0] == 0xabcd", P_UDP4, A_OUT, 1 },
	{ "udp.Payload32[-1] == 7", P_UDP4, A_OUT, 1 }, { "udp.SrcPort == 1000", P_UDP6_EXT, A_IN, 1 },
	{ "udp.Payload32[0] == 0x65787421", P_UDP6_EXT, A_IN, 1 },
	{ "udp.DstPort == 53", P_OPTS4, A_OUT, 1 }, { "udp.SrcPort != 0", P_FRAG4, A_OUT, 0 },
	/* packet words and every index form */
	{ "packet[0] == 0x45", P_TCP4, A_OUT, 1 }, { "packet[0] == 0x6a", P_TCP6, A_OUT, 1 },
	{ "packet16[1] == 54", P_TCP4, A_OUT, 1 }, { "packet32[3] == 0x0a000001", P_TCP4, A_OUT, 1 },
	{ "packet[12b] == 10", P_TCP4, A_OUT, 1 }, { "packet32[12b] == 0x0a000001", P_TCP4, A_OUT, 1 },
	{ "packet[-1] == 0x31", P_TCP4, A_OUT, 1 }, { "packet16[-1] == 0x2e31", P_TCP4, A_OUT, 1 },
	{ "packet32[-1] == 0x2f312e31", P_TCP4, A_OUT, 1 },
	{ "packet32[-4b] == 0x2f312e31", P_TCP4, A_OUT, 1 },
	{ "packet16[-3b] == 0x312e", P_TCP4, A_OUT, 1 },
	{ "packet[53] != 0", P_TCP4, A_OUT, 1 }, { "packet[54] != 0", P_TCP4, A_OUT, 0 },
	{ "packet[-54] == 0x45", P_TCP4, A_OUT, 1 }, { "packet[-55] != 0", P_TCP4, A_OUT, 0 },
	{ "packet32[13] == 0", P_TCP4, A_OUT, 0 }, { "packet[80] == 0", P_TRUNC4, A_OUT, 0 },
	/* every operator */
	{ "tcp.DstPort = 80", P_TCP4, A_OUT, 1 }, { "tcp.DstPort != 80", P_TCP4, A_OUT, 0 },
	{ "tcp.DstPort < 81", P_TCP4, A_OUT, 1 }, { "tcp.DstPort < 80", P_TCP4, A_OUT, 0 },
	{ "tcp.DstPort <= 80", P_TCP4, A_OUT, 1 }, { "tcp.DstPort > 79", P_TCP4, A_OUT, 1 },
	{ "tcp.DstPort > 80", P_TCP4, A_OUT, 0 }, { "tcp.DstPort >= 81", P_TCP4, A_OUT, 0 },
	{ "tcp.DstPort >= 80", P_TCP4, A_OUT, 1 }, { "tcp.DstPort <= 79", P_TCP4, A_OUT, 0 },
	/* not, C syntax, constants the bounds decide */
	{ "not tcp.DstPort == 80", P_TCP4, A_OUT, 0 }, { "not tcp.DstPort == 81", P_TCP4, A_OUT, 1 },
	{ "not tcp.DstPort == 80", P_UDP4, A_OUT, 0 }, { "not tcp.DstPort < 80", P_TCP4, A_OUT, 1 },
	{ "!tcp.Syn", P_TCP4, A_OUT, 1 }, { "not not tcp", P_TCP4, A_OUT, 1 },
	{ "not tcp", P_UDP4, A_OUT, 1 }, { "! udp", P_TCP4, A_OUT, 1 },
	{ "tcp && udp", P_TCP4, A_OUT, 0 }, { "tcp || udp", P_UDP4, A_OUT, 1 },
	{ "!(tcp)", P_TCP4, A_OUT, -1 }, { "tcp.DstPort != 70000", P_UDP4, A_OUT, 1 },
	{ "tcp.DstPort < 70000", P_ICMP4, A_OUT, 1 }, { "tcp.DstPort == -1", P_TCP4, A_OUT, 0 },
	{ "ip.SrcAddr != ::1", P_TCP6, A_OUT, 1 },
	{ "tcp.DstPort == 80 and tcp.SrcPort == 1234 or udp", P_UDP4, A_OUT, 1 },
	{ "udp or tcp.DstPort == 80 and tcp.SrcPort == 1", P_TCP4, A_OUT, 0 },
	/* ternaries */
	{ "(tcp? tcp.DstPort == 80: udp.DstPort == 53)", P_TCP4, A_OUT, 1 },
	{ "(tcp? tcp.DstPort == 80: udp.DstPort == 53)", P_UDP4, A_OUT, 1 },
	{ "(tcp? tcp.DstPort == 80: udp.DstPort == 53)", P_ICMP4, A_OUT, 0 },
	{ "(tcp ? tcp.DstPort == 81 : true)", P_TCP4, A_OUT, 0 },
	{ "(ip? (tcp? true: false): (udp? ipv6.HopLimit == 64: false))", P_UDP6_EXT, A_IN, 1 },
	{ "(outbound? localPort == 1234: remotePort == 1234)", P_TCP4, A_IN, 1 },
	{ "(outbound? localPort == 1234: remotePort == 1234) and (tcp? true: false)", P_TCP4, A_OUT, 1 },
	/* refused packets */
	{ "true", P_BAD, A_OUT, -1 },
};

/* EvalFilter over one case: 1, 0, or -1 with the error it set. */
static int eval(const char *filter, const struct pkt *p, int kind, DWORD *err)
{
	WINDIVERT_ADDRESS addr;
	BOOL r;

	make_addr(kind, p, &addr);
	SetLastError(12345);
	r = WinDivertHelperEvalFilter(filter, p->b, p->len, &addr);
	*err = GetLastError();
	if (r)
		return 1;
	return *err == 0 ? 0 : -1;
}

/* The filter compiled for the case's layer, in object form (static buffer). */
static const char *object_of(const char *filter, WINDIVERT_LAYER layer)
{
	static char obj[16384];

	return WinDivertHelperCompileFilter(filter, layer, obj, sizeof(obj), NULL, NULL) ? obj
											  : NULL;
}

static void test_eval_table(void)
{
	for (size_t i = 0; i < sizeof(eval_cases) / sizeof(eval_cases[0]); i++) {
		const struct eval_case *c = &eval_cases[i];
		WINDIVERT_LAYER layer = c->addr == A_FWD ? WINDIVERT_LAYER_NETWORK_FORWARD
							 : WINDIVERT_LAYER_NETWORK;
		const char *obj = object_of(c->filter, layer);
		char text[1024];
		DWORD err;
		int got = eval(c->filter, &pkts[c->pkt], c->addr, &err);

		if (got != c->want)
			fprintf(stderr, "  eval \"%s\" on packet %d: %d, want %d\n", c->filter,
				c->pkt, got, c->want);
		CHECK(got == c->want);
		CHECK(got >= 0 || err == ERROR_INVALID_PARAMETER);
		if (obj && c->pkt != P_BAD) { /* the object and the canonical text say the same */
			CHECK(eval(obj, &pkts[c->pkt], c->addr, &err) == got);
			CHECK(WinDivertHelperFormatFilter(obj, layer, text, sizeof(text)));
			CHECK(eval(text, &pkts[c->pkt], c->addr, &err) == got);
		}
	}
}

/* ---- refused filters: WinDivert's reason and position ---- */

struct error_case {
	const char *filter;
	WINDIVERT_LAYER layer;
	const char *error;
	UINT pos;
};

#define E_TOKEN "Filter expression contains a bad token"
#define E_LAYER "Filter expression contains a bad token for layer"
#define E_PARSE "Filter expression parse error"
#define E_INDEX "Filter expression array index is out-of-bounds"
#define NET WINDIVERT_LAYER_NETWORK
#define FWD WINDIVERT_LAYER_NETWORK_FORWARD

static const struct error_case error_cases[] = {
	{ "", NET, E_PARSE, 0 }, { "   ", NET, E_PARSE, 3 }, { "tcp and", NET, E_PARSE, 7 },
	{ "tcp.DstPort == ", NET, E_PARSE, 15 }, { "(tcp", NET, E_PARSE, 4 },
	{ "tcp)", NET, E_PARSE, 3 }, { "foo", NET, E_TOKEN, 0 }, { "tcp and foo", NET, E_TOKEN, 8 },
	{ "tcp.DstPort == 80 &", NET, E_TOKEN, 19 }, { "tcp & udp", NET, E_TOKEN, 5 },
	{ "tcp | udp", NET, E_TOKEN, 5 }, { "tcp $", NET, E_TOKEN, 5 },
	{ "Tcp", NET, E_TOKEN, 0 }, { "tcp.dstport == 1", NET, E_TOKEN, 0 },
	{ "processId == 1", FWD, E_LAYER, 0 }, { "tcp and layer == NETWORK", NET, E_LAYER, 8 },
	{ "endpointId == 1", NET, E_LAYER, 0 }, { "priority > 0", FWD, E_LAYER, 0 },
	{ "outbound", FWD, E_LAYER, 0 }, { "inbound", FWD, E_LAYER, 0 },
	{ "protocol == 6", FWD, E_LAYER, 0 }, { "localPort == 1", FWD, E_LAYER, 0 },
	{ "loopback", FWD, E_LAYER, 0 }, { "packet[0] == 1", WINDIVERT_LAYER_FLOW, E_LAYER, 0 },
	{ "event == ESTABLISHED", NET, E_PARSE, 9 }, { "event == OPEN", FWD, E_PARSE, 9 },
	{ "tcp.DstPort == 80 80", NET, E_PARSE, 18 }, { "80 == tcp.DstPort", NET, E_PARSE, 0 },
	{ "1.2.3.4", NET, E_PARSE, 0 }, { "not (tcp)", NET, E_PARSE, 4 },
	{ "tcp.DstPort == -", NET, E_PARSE, 16 }, { "tcp.DstPort >", NET, E_PARSE, 13 },
	{ "tcp ? udp : icmp", NET, E_PARSE, 4 }, { "(tcp ? udp)", NET, E_PARSE, 10 },
	{ "(tcp ? udp : icmp", NET, E_PARSE, 17 }, { "(tcp ? : udp)", NET, E_PARSE, 7 },
	{ "packet[", NET, E_PARSE, 7 }, { "packet[x]", NET, E_TOKEN, 7 }, { "packet[1", NET, E_PARSE, 8 },
	{ "packet == 1", NET, E_PARSE, 7 }, { "tcp.Payload[-] == 1", NET, E_PARSE, 13 },
	{ "packet[65576] == 1", NET, E_INDEX, 7 }, { "packet[65535] == 1", NET, E_INDEX, 12 },
	{ "packet32[16384] == 1", NET, E_INDEX, 14 }, { "packet[-0] == 1", NET, E_INDEX, 9 },
	{ "packet16[-1b] == 1", NET, E_INDEX, 12 }, { "packet[-65536] == 1", NET, E_INDEX, 13 },
	{ "ip.SrcAddr == 1.2.3", NET, E_TOKEN, 14 }, { "ip.SrcAddr == 256.1.1.1", NET, E_TOKEN, 14 },
	{ "ipv6.SrcAddr == 1:2:3", NET, E_TOKEN, 16 }, { "ipv6.SrcAddr == 1::2::3", NET, E_TOKEN, 16 },
	{ "ipv6.SrcAddr == 12345::1", NET, E_TOKEN, 16 }, { "tcp.DstPort == 0x", NET, NULL, 0 },
	{ "tcp.DstPort == 0xg", NET, E_TOKEN, 15 },
	{ "tcp.DstPort == 340282366920938463463374607431768211456", NET, E_TOKEN, 15 },
	{ "tcp.DstPort == 340282366920938463463374607431768211455", NET, NULL, 0 },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NET, E_TOKEN, 0 },
	{ "tcp and (udp? a: icmp)", NET, E_TOKEN, 13 }, /* WinDivert counts the ':' */
	{ "@WinDiv_", NET, "Filter object is invalid", 0 },
	{ "@bad", NET, "Filter object is invalid", 0 },
};

static void test_errors(void)
{
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		const struct error_case *c = &error_cases[i];
		const char *err = NULL;
		UINT pos = 999;
		char obj[1024];
		BOOL ok = WinDivertHelperCompileFilter(c->filter, c->layer, obj, sizeof(obj), &err,
						       &pos);

		if (c->error ? ok || strcmp(err, c->error) || pos != c->pos : !ok)
			fprintf(stderr, "  \"%s\": \"%s\" at %u\n", c->filter, err, pos);
		if (!c->error) {
			CHECK(ok && strcmp(err, "No error") == 0 && pos == 0);
			continue;
		}
		CHECK(!ok && strcmp(err, c->error) == 0 && pos == c->pos);
		CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
		CHECK(!WinDivertHelperCompileFilter(c->filter, c->layer, NULL, 0, NULL, NULL));
	}
}

/* The object buffer, the NULL arguments, the helpers' own errors. */
static void test_helper_errors(void)
{
	const char *err = NULL;
	char obj[8], text[8];
	WINDIVERT_ADDRESS addr;
	UINT pos = 9;

	CHECK(!WinDivertHelperCompileFilter("tcp", NET, obj, sizeof(obj), &err, &pos));
	CHECK(GetLastError() == ERROR_INSUFFICIENT_BUFFER && pos == 0);
	CHECK(strcmp(err, "Filter object buffer is too short") == 0 && obj[7] == '\0');
	CHECK(WinDivertHelperCompileFilter("tcp", NET, NULL, 0, &err, &pos));
	CHECK(GetLastError() == 0 && strcmp(err, "No error") == 0);
	CHECK(!WinDivertHelperCompileFilter(NULL, NET, NULL, 0, NULL, NULL));
	CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
	make_addr(A_OUT, &pkts[P_TCP4], &addr);
	CHECK(!WinDivertHelperEvalFilter(NULL, pkts[P_TCP4].b, pkts[P_TCP4].len, &addr));
	CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
	CHECK(!WinDivertHelperEvalFilter("true", pkts[P_TCP4].b, pkts[P_TCP4].len, NULL));
	CHECK(!WinDivertHelperEvalFilter("true", NULL, 0, &addr));
	CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
	addr.IPv6 = 1; /* the address must agree with the packet */
	CHECK(!WinDivertHelperEvalFilter("true", pkts[P_TCP4].b, pkts[P_TCP4].len, &addr));
	addr.Layer = 7;
	CHECK(!WinDivertHelperEvalFilter("true", pkts[P_TCP4].b, pkts[P_TCP4].len, &addr));
	CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
	CHECK(!WinDivertHelperFormatFilter("tcp and udp", NET, text, sizeof(text)));
	CHECK(GetLastError() == ERROR_INSUFFICIENT_BUFFER && strcmp(text, "tcp and") == 0);
	CHECK(!WinDivertHelperFormatFilter("tcp and", NET, text, sizeof(text)));
	CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
	CHECK(!WinDivertHelperFormatFilter("tcp", NET, NULL, 0));
	CHECK(!WinDivertHelperFormatFilter(NULL, NET, text, sizeof(text)));
}

/* ---- canonical text ---- */

struct format_case {
	const char *filter;
	WINDIVERT_LAYER layer;
	const char *text;
};

static const struct format_case format_cases[] = {
	{ "tcp.DstPort == 80", NET, "tcp.DstPort = 80" },
	{ "outbound and !loopback and (tcp.DstPort == 80 or udp.DstPort == 53)", NET,
	  "outbound and not loopback and (tcp.DstPort = 80 or udp.DstPort = 53)" },
	{ "true", NET, "true" }, { "false", NET, "false" }, { "tcp or true", NET, "true" },
	{ "tcp.DstPort == 80 and true", NET, "tcp.DstPort = 80" },
	{ "tcp.DstPort > 65535", NET, "false" }, { "tcp.Syn == 0", NET, "not tcp.Syn" },
	{ "tcp.Syn != 1", NET, "not tcp.Syn" }, { "tcp.Syn == 1", NET, "tcp.Syn" },
	{ "not not not tcp", NET, "not tcp" }, { "tcp.Syn > 0", NET, "tcp.Syn > 0" },
	{ "ip.Id == 4660", NET, "ip.Id = 0x1234" }, { "ip.Checksum < 15", NET, "ip.Checksum < 0xf" },
	{ "packet32[2] == 5", NET, "packet32[8b] = 0x5" },
	{ "packet[-3] > 1", NET, "packet[-3b] > 0x1" },
	{ "tcp.Payload16[-2] != 0xABCD", NET, "tcp.Payload16[-4b] != 0xabcd" },
	{ "ipv6.SrcAddr == 2001:0db8:0000:0000:0000:0000:0000:0001", NET,
	  "ipv6.SrcAddr = 2001:db8::1" },
	{ "ipv6.SrcAddr == 1:0:0:2:0:0:0:3", NET, "ipv6.SrcAddr = 1:0:0:2::3" },
	{ "ipv6.DstAddr == 1:0:2:3:4:5:6:7", NET, "ipv6.DstAddr = 1::2:3:4:5:6:7" },
	{ "ipv6.DstAddr == ::", NET, "ipv6.DstAddr = ::" },
	{ "ipv6.DstAddr == 1::", NET, "ipv6.DstAddr = 1::" },
	{ "ipv6.DstAddr >= ::ffff:1.2.3.4", NET, "ipv6.DstAddr >= 1.2.3.4" },
	{ "localAddr == 10.1.2.3", NET, "localAddr = 10.1.2.3" },
	{ "ip.SrcAddr >= 10.0.0.0 and ip.SrcAddr <= 10.255.255.255", NET,
	  "ip.SrcAddr >= 10.0.0.0 and ip.SrcAddr <= 10.255.255.255" },
	{ "timestamp >= -100", NET, "timestamp >= -100" },
	{ "tcp.DstPort = 0x50", NET, "tcp.DstPort = 80" },
	{ "event == 0", NET, "event = PACKET" }, { "event == 0", FWD, "event = PACKET" },
	{ "(tcp? udp: icmp)", NET, "(tcp? udp: icmp)" },
	{ "(tcp? udp: true)", NET, "(tcp? udp: true)" },
	{ "(tcp? false: udp)", NET, "(tcp? false: udp)" },
	{ "(tcp? ipv6.SrcAddr == 1:: : udp)", NET, "(tcp? ipv6.SrcAddr = 1:: : udp)" },
	{ "(tcp.DstPort == 80? tcp.Syn: false)", NET, "tcp.DstPort = 80 and tcp.Syn" },
	{ "tcp or udp and icmp", NET, "tcp or (udp and icmp)" },
	{ "(tcp or udp) and icmp", NET, "(tcp or udp) and icmp" },
	{ "tcp and udp and icmp or ip and ipv6", NET, "(tcp and udp and icmp) or (ip and ipv6)" },
	{ "not tcp or udp", NET, "not tcp or udp" },
	{ "event == ESTABLISHED", WINDIVERT_LAYER_FLOW, "event = ESTABLISHED" },
	{ "event == CLOSE", WINDIVERT_LAYER_SOCKET, "event = CLOSE" },
	{ "event == CLOSE", WINDIVERT_LAYER_REFLECT, "event = CLOSE" },
	{ "event == 8", WINDIVERT_LAYER_SOCKET, "event = 8" },
	{ "layer == FLOW and priority < -5", WINDIVERT_LAYER_REFLECT,
	  "layer = FLOW and priority < -5" },
	{ "processId == 7 or endpointId > 18446744073709551614", WINDIVERT_LAYER_SOCKET,
	  "processId = 7 or endpointId > 18446744073709551614" },
};

static void test_format(void)
{
	for (size_t i = 0; i < sizeof(format_cases) / sizeof(format_cases[0]); i++) {
		const struct format_case *c = &format_cases[i];
		char text[1024] = "";

		CHECK(WinDivertHelperFormatFilter(c->filter, c->layer, text, sizeof(text)));
		if (strcmp(text, c->text) != 0)
			fprintf(stderr, "  format \"%s\": \"%s\", want \"%s\"\n", c->filter, text,
				c->text);
		CHECK(strcmp(text, c->text) == 0);
	}
}

/*
 * The canonical text is what the object says: format(x) == format(compile(x)), and
 * for these filters it is a fixed point: format(format(x)) == format(x). The object
 * of format(x) may differ from x's, as in WinDivert: "tcp.Syn == 1" prints as
 * "tcp.Syn", which is "tcp.Syn != 0"; and a constant test ("a and false") leaves
 * tests in the object that take one more round to go. Objects compile to themselves.
 */
static void check_round_trip(const char *filter, WINDIVERT_LAYER layer)
{
	static char obj[16384], again[16384], text[16384], text2[16384];

	if (!WinDivertHelperCompileFilter(filter, layer, obj, sizeof(obj), NULL, NULL))
		return;
	CHECK(WinDivertHelperFormatFilter(filter, layer, text, sizeof(text)));
	CHECK(WinDivertHelperFormatFilter(obj, layer, text2, sizeof(text2)));
	CHECK(strcmp(text, text2) == 0);
	CHECK(WinDivertHelperFormatFilter(text, layer, text2, sizeof(text2)));
	if (strcmp(text, text2) != 0)
		fprintf(stderr, "  \"%s\" formats as \"%s\", then \"%s\"\n", filter, text, text2);
	CHECK(strcmp(text, text2) == 0);
	CHECK(WinDivertHelperCompileFilter(obj, layer, again, sizeof(again), NULL, NULL));
	CHECK(strcmp(obj, again) == 0);
}

static void test_round_trips(void)
{
	for (size_t i = 0; i < sizeof(eval_cases) / sizeof(eval_cases[0]); i++)
		check_round_trip(eval_cases[i].filter, eval_cases[i].addr == A_FWD ? FWD : NET);
	for (size_t i = 0; i < sizeof(format_cases) / sizeof(format_cases[0]); i++)
		check_round_trip(format_cases[i].filter, format_cases[i].layer);
}

/* ---- limits: depth, tokens, tests ---- */

/* n copies of unit joined by sep, each followed by its number (1, 2, ...) if numbered. */
static char *repeat(const char *unit, const char *sep, int n, int numbered)
{
	char *s = malloc((size_t)n * (strlen(unit) + strlen(sep) + 8) + 1), *p = s;

	*p = '\0';
	for (int i = 0; i < n; i++) {
		p += sprintf(p, "%s", unit);
		if (numbered)
			p += sprintf(p, "%d", i + 1);
		if (i + 1 < n)
			p += sprintf(p, "%s", sep);
	}
	return s;
}

/* Compile filter: 1 with no error, else 0 with *err and *pos. */
static int compiles(const char *filter, const char **err, UINT *pos)
{
	return WinDivertHelperCompileFilter(filter, NET, NULL, 0, err, pos);
}

/* n '(' around "tcp", n ')' */
static char *nested(int n)
{
	char *open = repeat("(", "", n, 0), *s = malloc(2 * (size_t)n + 4);

	sprintf(s, "%stcp", open);
	memset(s + n + 3, ')', (size_t)n);
	s[2 * n + 3] = '\0';
	free(open);
	return s;
}

static void test_depth(void)
{
	char *ok = nested(340), *deep = nested(341);
	const char *err;
	UINT pos;
	DWORD e;

	CHECK(compiles(ok, &err, &pos));
	CHECK(eval(ok, &pkts[P_TCP4], A_OUT, &e) == 1 && eval(ok, &pkts[P_UDP4], A_OUT, &e) == 0);
	check_round_trip(ok, NET);
	/* the depth runs out at the 341st '(': WinDivert reports the token after it */
	CHECK(!compiles(deep, &err, &pos) && strcmp(err, E_PARSE) == 0 && pos == 341);
	free(ok);
	free(deep);
}

static void test_tokens(void)
{
	char *ok = repeat("true", " and ", 639, 0), *over = repeat("true", " and ", 640, 0);
	const char *err;
	UINT pos;

	CHECK(compiles(ok, &err, &pos));
	CHECK(!compiles(over, &err, &pos) && strcmp(err, "Filter expression too long") == 0);
	CHECK(pos == 5750); /* right after the 1278th token */
	free(ok);
	free(over);
}

static void test_tests(void)
{
	char *ok = repeat("tcp.DstPort == ", " or ", 256, 1);
	char *over = repeat("tcp.DstPort == ", " or ", 257, 1);
	const char *err;
	DWORD e;
	UINT pos;

	CHECK(compiles(ok, &err, &pos));
	CHECK(eval(ok, &pkts[P_TCP4], A_OUT, &e) == 1 && eval(ok, &pkts[P_TCP6], A_OUT, &e) == 0);
	CHECK(eval(object_of(ok, NET), &pkts[P_TCP4], A_OUT, &e) == 1);
	check_round_trip(ok, NET);
	CHECK(!compiles(over, &err, &pos) && strcmp(err, "Filter expression too long") == 0);
	CHECK(pos == 0);
	free(ok);
	free(over);
}

/* ---- the event layers ---- */

static void flow_addr(WINDIVERT_ADDRESS *a)
{
	memset(a, 0, sizeof(*a));
	a->Layer = WINDIVERT_LAYER_FLOW;
	a->Event = WINDIVERT_EVENT_FLOW_ESTABLISHED;
	a->Outbound = 1;
	a->Timestamp = 5;
	a->Flow.ProcessId = 42;
	a->Flow.Protocol = 6;
	a->Flow.LocalPort = 80;
	a->Flow.RemotePort = 51000;
	a->Flow.LocalAddr[0] = A4(10, 0, 0, 1);
	a->Flow.RemoteAddr[0] = A4(10, 0, 0, 2);
	a->Flow.LocalAddr[1] = a->Flow.RemoteAddr[1] = 0xFFFF;
	a->Flow.EndpointId = 0x100000001ull;
	a->Flow.ParentEndpointId = 7;
}

static void test_event_layers(void)
{
	WINDIVERT_ADDRESS a;

	flow_addr(&a);
	CHECK(WinDivertHelperEvalFilter("event == ESTABLISHED and processId == 42 and tcp and "
					"not udp and ip and not ipv6 and localPort == 80 and "
					"remotePort == 51000 and localAddr == 10.0.0.1 and "
					"remoteAddr == 10.0.0.2 and endpointId == 4294967297 and "
					"parentEndpointId == 7 and outbound and protocol == TCP and "
					"timestamp == 5 and not loopback", NULL, 0, &a));
	CHECK(!WinDivertHelperEvalFilter("icmp or event == DELETED", NULL, 0, &a));
	CHECK(GetLastError() == 0);
	CHECK(!WinDivertHelperEvalFilter("true", pkts[P_TCP4].b, pkts[P_TCP4].len, &a));
	CHECK(GetLastError() == ERROR_INVALID_PARAMETER);
	CHECK(!WinDivertHelperEvalFilter("ifIdx == 0", NULL, 0, &a));
	memset(&a.Flow, 0, sizeof(a.Flow));
	a.Layer = WINDIVERT_LAYER_SOCKET;
	a.Event = WINDIVERT_EVENT_SOCKET_CONNECT;
	a.IPv6 = 1;
	a.Socket.Protocol = 17;
	a.Socket.LocalAddr[3] = 0x20010db8;
	a.Socket.LocalAddr[0] = 1;
	a.Socket.ProcessId = 3;
	CHECK(WinDivertHelperEvalFilter("event == CONNECT and ipv6 and udp and processId == 3 and "
					"localAddr == 2001:db8::1 and remoteAddr == ::", NULL, 0, &a));
	memset(&a.Socket, 0, sizeof(a.Socket));
	a.Layer = WINDIVERT_LAYER_REFLECT;
	a.Event = WINDIVERT_EVENT_REFLECT_OPEN;
	a.Reflect.Layer = WINDIVERT_LAYER_NETWORK_FORWARD;
	a.Reflect.Priority = -100;
	a.Reflect.ProcessId = 9;
	CHECK(WinDivertHelperEvalFilter("event == OPEN and layer == NETWORK_FORWARD and "
					"priority == -100 and priority > -101 and priority < -99 "
					"and processId == 9", NULL, 0, &a));
	CHECK(!WinDivertHelperEvalFilter("priority >= 0", NULL, 0, &a));
}

/* ---- the kernel part: a pcap superset, directions, interface ---- */

static uint32_t rng_state = 0x2545f491;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return n ? rng_state % n : 0;
}

#define PICK(a) (a)[rnd(sizeof(a) / sizeof((a)[0]))]

/* A transport header for proto (after an extension header for those): the
 * protocol of the last header written; *odd set if the header is malformed. */
static uint8_t random_transport(struct pkt *p, uint8_t proto, int *odd)
{
	static const uint16_t ports[] = { 53, 80, 443, 1000, 1234, 2000, 5353, 50000 };
	static const uint8_t words[] = { 5, 5, 5, 6, 4 }, types[] = { 0, 8, 128, 129 };
	static const uint8_t inner[] = { 6, 17, 58 };
	static const uint16_t frags[] = { 0, 0x0100, 0x0001 };
	uint8_t w, next;

	switch (proto) {
	case 6:
		w = PICK(words);
		*odd |= w < 5;
		tcp(p, PICK(ports), PICK(ports), (uint8_t)rnd(64), w);
		return proto;
	case 17:
		udp(p, PICK(ports), PICK(ports));
		return proto;
	case 1:
	case 58:
		icmp(p, PICK(types), rnd(~0u));
		return proto;
	case 0: case 43: case 44: case 60:
		next = PICK(inner);
		ext6(p, next, proto == 44 ? PICK(frags) : 0);
		return random_transport(p, next, odd);
	}
	return proto;
}

/* Now and then damage p: cut it short, give it a wrong length or flip a byte. */
static int damage(struct pkt *p)
{
	switch (rnd(8)) {
	case 0:
		p->len = 1 + rnd(p->len);
		return 1;
	case 1:
		put16(p->b + (p->b[0] >> 4 == 4 ? 2 : 4), rnd(p->len + 40));
		return 1;
	case 2:
		p->b[rnd(p->len)] ^= (uint8_t)(1 + rnd(255));
		return 1;
	}
	return 0;
}

/* A packet of any shape: IPv4 or IPv6, any transport, options, fragments, and
 * sometimes damaged. Returns 1 if it is well formed. */
static int random_packet(struct pkt *p)
{
	static const uint8_t proto4[] = { 6, 6, 17, 17, 1, 47 };
	static const uint8_t proto6[] = { 6, 17, 58, 0, 44, 60, 43, 1 };
	static const uint8_t hls[] = { 20, 20, 20, 24, 28, 16 };
	static const uint16_t frag4[] = { 0, 0, 0x4000, 0x2000, 185, 0x2003 };
	static const uint32_t addrs[] = { A4(10, 0, 0, 1), A4(10, 0, 0, 2), A4(192, 168, 1, 1) };
	uint32_t payload = rnd(25);
	int odd = 0, v6 = (int)rnd(2);
	uint8_t proto = v6 ? PICK(proto6) : PICK(proto4);

	if (v6) {
		ip6(p, proto, (uint8_t)(1 + rnd(2)), (uint8_t)(1 + rnd(2)));
	} else {
		ip4(p, proto, PICK(addrs), PICK(addrs), PICK(hls), PICK(frag4));
		odd = p->len < 20;
		p->b[8] = (uint8_t)(62 + rnd(4)); /* the TTL */
	}
	proto = random_transport(p, proto, &odd);
	for (uint32_t i = 0; i < payload; i++)
		p->b[p->len++] = i < 4 ? (uint8_t)"GET "[i] : (uint8_t)rnd(256);
	finish(p);
	if (proto == 17)
		set_udp_length(p);
	return !damage(p) && !odd;
}

/* Fields tested bare, and fields with values the packets above have. */
static const char *const random_flags[] = {
	"tcp", "udp", "ip", "ipv6", "icmp", "icmpv6", "fragment", "outbound", "inbound",
	"loopback", "impostor", "tcp.Syn", "tcp.Ack", "tcp.Fin", "ip.DF", "ip.MF", "zero",
	"true", "false",
};
static const struct {
	const char *field;
	const char *values[6];
} random_tests[] = {
	{ "tcp.DstPort", { "80", "53", "443", "1234", "0", "50000" } },
	{ "tcp.SrcPort", { "80", "1000", "2000", "65535", "5353", "1234" } },
	{ "udp.DstPort", { "53", "80", "2000", "443", "0", "5353" } },
	{ "udp.SrcPort", { "53", "1000", "50000", "1", "80", "2000" } },
	{ "localPort", { "80", "53", "0", "8", "1234", "128" } },
	{ "remotePort", { "80", "53", "0", "8", "1000", "129" } },
	{ "protocol", { "6", "17", "1", "58", "TCP", "UDP" } },
	{ "ip.TTL", { "62", "63", "64", "65", "0", "255" } },
	{ "ip.Protocol", { "6", "17", "1", "47", "0", "58" } },
	{ "ip.HdrLength", { "5", "6", "7", "4", "0", "15" } },
	{ "ip.Length", { "40", "54", "48", "20", "100", "0" } },
	{ "ip.FragOff", { "0", "185", "3", "1", "8191", "2" } },
	{ "ip.SrcAddr", { "10.0.0.1", "10.0.0.2", "192.168.1.1", "0.0.0.0", "10.0.0.0",
			  "255.255.255.255" } },
	{ "ip.DstAddr", { "10.0.0.1", "10.0.0.2", "192.168.1.1", "::1", "10.0.0.3", "1.1.1.1" } },
	{ "ipv6.SrcAddr", { "2001:db8::1", "2001:db8::2", "::", "::1", "2001:db8::",
			    "ffff::" } },
	{ "ipv6.DstAddr", { "2001:db8::1", "2001:db8::2", "::ffff:10.0.0.1", "2001:db8::3",
			    "0", "2001:db9::" } },
	{ "localAddr", { "10.0.0.1", "2001:db8::1", "10.0.0.2", "2001:db8::2", "::",
			 "192.168.1.1" } },
	{ "remoteAddr", { "10.0.0.2", "2001:db8::2", "10.0.0.1", "2001:db8::1", "::ffff:0:0",
			  "8.8.8.8" } },
	{ "ipv6.NextHdr", { "6", "17", "0", "44", "58", "60" } },
	{ "ipv6.HopLimit", { "64", "63", "0", "255", "65", "1" } },
	{ "ipv6.FlowLabel", { "0x12345", "0", "1", "0x12344", "0xfffff", "74565" } },
	{ "ipv6.TrafficClass", { "0xab", "0", "171", "0xac", "255", "1" } },
	{ "ipv6.Length", { "20", "24", "8", "16", "32", "0" } },
	{ "icmp.Type", { "8", "0", "128", "3", "129", "255" } },
	{ "icmpv6.Type", { "128", "129", "8", "0", "1", "255" } },
	{ "icmp.Body", { "0", "1", "0x12340001", "4294967295", "7", "8" } },
	{ "tcp.HdrLength", { "5", "6", "4", "0", "15", "7" } },
	{ "tcp.PayloadLength", { "0", "1", "4", "10", "24", "14" } },
	{ "udp.PayloadLength", { "0", "1", "4", "10", "24", "12" } },
	{ "tcp.Payload32[0]", { "0x47455420", "0", "1", "0x47455421", "0x47", "7" } },
	{ "udp.Payload[0]", { "0x47", "0", "71", "255", "1", "0x46" } },
	{ "length", { "40", "48", "54", "60", "64", "100" } },
	{ "packet[0]", { "0x45", "0x46", "0x60", "0x6a", "0x47", "0" } },
	{ "packet[9b]", { "6", "17", "1", "47", "0", "58" } },
	{ "packet16[-1]", { "0", "0x4745", "0x5420", "1", "65535", "80" } },
	{ "packet32[-8b]", { "0", "0x47455420", "1", "0x11223344", "80", "53" } },
	{ "packet[-1b]", { "0", "32", "0x54", "1", "255", "128" } },
	{ "packet[40]", { "0", "0x47", "6", "17", "1", "0x50" } },
	{ "ifIdx", { "1", "3", "7", "0", "2", "9" } },
	{ "subIfIdx", { "0", "1", "2", "3", "4", "5" } },
	{ "event", { "PACKET", "0", "1", "2", "3", "9" } },
	{ "timestamp", { "0", "1000", "-7", "5", "-1", "100" } },
};
/* A comparison on a field. */
static void random_test(char *buf, size_t size)
{
	static const char *const ops[] = { "==", "=", "!=", "<", "<=", ">", ">=" };
	const char *not = rnd(4) == 0 ? "not " : "";

	if (rnd(4) == 0) {
		snprintf(buf, size, "%s%s", not, PICK(random_flags));
	} else {
		size_t i = rnd(sizeof(random_tests) / sizeof(random_tests[0]));

		snprintf(buf, size, "%s%s %s %s", not, random_tests[i].field, PICK(ops),
			 random_tests[i].values[rnd(6)]);
	}
}

/* A filter of tests joined by and, or, not and conditionals, depth levels deep. */
static void random_filter(char *buf, size_t size, int depth)
{
	char a[2048], b[2048], c[2048];

	if (depth == 0 || rnd(3) == 0) {
		random_test(buf, size);
		return;
	}
	random_filter(a, sizeof(a), depth - 1);
	random_filter(b, sizeof(b), depth - 1);
	switch (rnd(4)) {
	case 0:
		snprintf(buf, size, "(%s) and (%s)", a, b);
		break;
	case 1:
		snprintf(buf, size, "%s or %s", a, b);
		break;
	case 2:
		random_filter(c, sizeof(c), depth - 1);
		snprintf(buf, size, "(%s ? %s : %s)", a, b, c);
		break;
	default:
		snprintf(buf, size, "%s && %s || !tcp", a, b);
	}
}

/* A filter's kernel part, with its pcap expression compiled by libpcap as the
 * kernel gets it (optimized) and as written (not optimized: libpcap's optimizer
 * is not free of bugs, and the expression must be right whatever it does). */
struct kprog {
	const char *text;
	struct wd_filter *f;
	struct wd_kernel k;
	struct bpf_program bpf[2]; /* as written, optimized */
	int has_bpf;
};

static int kprog_open(const char *filter, WINDIVERT_LAYER layer, struct kprog *kp)
{
	pcap_t *pcap;

	memset(kp, 0, sizeof(*kp));
	kp->text = filter;
	if (wd_filter_compile(filter, layer, &kp->f, NULL, NULL) < 0)
		return -1;
	if (wd_filter_kernel(kp->f, &kp->k) < 0) {
		fprintf(stderr, "  \"%s\": no kernel part\n", filter);
		CHECK(0);
	}
	if (!kp->k.pcap)
		return 0;
	pcap = pcap_open_dead(DLT_RAW, 262144);
	kp->has_bpf = 1;
	for (int opt = 0; opt <= 1; opt++) {
		if (pcap_compile(pcap, &kp->bpf[opt], kp->k.pcap, opt, PCAP_NETMASK_UNKNOWN) == 0)
			continue;
		fprintf(stderr, "  \"%s\": pcap \"%s\": %s\n", filter, kp->k.pcap,
			pcap_geterr(pcap));
		kp->has_bpf = 0;
		if (opt)
			pcap_freecode(&kp->bpf[0]);
		break;
	}
	CHECK(kp->has_bpf);
	pcap_close(pcap);
	return 0;
}

static void kprog_close(struct kprog *kp)
{
	for (int opt = 0; opt <= 1 && kp->has_bpf; opt++)
		pcap_freecode(&kp->bpf[opt]);
	wd_kernel_free(&kp->k);
	wd_filter_free(kp->f);
}

/* Whether the kernel would queue the packet: its hook, its interface, its program. */
static int kernel_takes(const struct kprog *kp, int opt, const struct pkt *p,
			const WINDIVERT_ADDRESS *a)
{
	if (a->Outbound ? !kp->k.outbound : !kp->k.inbound)
		return 0;
	if (kp->k.ifidx && a->Network.IfIdx != kp->k.ifidx)
		return 0;
	return !kp->k.pcap ||
	       (kp->has_bpf && bpf_filter(kp->bpf[opt].bf_insns, p->b, p->len, p->len));
}

static int kernel_failures;

/* One packet with one address: the superset and, for an exact filter, equality. */
static void check_kernel_one(const struct kprog *kp, const struct pkt *p,
			     const WINDIVERT_ADDRESS *a)
{
	int m = wd_filter_run(kp->f, p->b, p->len, a);

	for (int opt = 0; opt <= 1 && m >= 0; opt++) {
		int t = kernel_takes(kp, opt, p, a);

		if (m <= t && (!kp->k.exact || m == t))
			continue;
		if (kernel_failures++ < 5)
			fprintf(stderr, "  \"%s\" (%s%s) on a %u-byte packet, %s: filter %d, "
				"kernel %d%s\n", kp->text, kp->k.exact ? "exact, " : "",
				kp->k.pcap ? kp->k.pcap : "every packet", p->len,
				a->Outbound ? "outbound" : "inbound", m, t,
				opt ? " (libpcap optimized)" : "");
		CHECK(0);
	}
}

/* Every packet the filter matches is one the kernel queues; exactly those if exact. */
static void check_kernel(const struct kprog *kp, const struct pkt *p)
{
	static const int64_t stamps[] = { 0, 1000, -7, 5 };
	WINDIVERT_ADDRESS a;

	for (int i = 0; i < 4; i++) {
		make_addr(i & 1 ? A_IN : A_OUT, p, &a);
		a.Layer = wd_filter_layer(kp->f);
		a.Network.IfIdx = i & 2 ? 3 : 7;
		a.Network.SubIfIdx = 0;
		a.Loopback = rnd(2);
		a.Impostor = rnd(2);
		a.Timestamp = PICK(stamps);
		check_kernel_one(kp, p, &a);
	}
}

#define RANDOM_PACKETS 200
#define RANDOM_FILTERS 200

static struct pkt random_pkts[RANDOM_PACKETS];
static int random_clean[RANDOM_PACKETS];

static void check_kernel_all(const char *filter, WINDIVERT_LAYER layer)
{
	struct kprog kp;

	if (layer > FWD || kprog_open(filter, layer, &kp) < 0)
		return;
	for (int i = 0; i < P_BAD; i++)
		check_kernel(&kp, &pkts[i]);
	for (int i = 0; i < RANDOM_PACKETS; i++)
		check_kernel(&kp, &random_pkts[i]);
	kprog_close(&kp);
}

static void test_kernel_superset(void)
{
	char filter[8192];

	for (int i = 0; i < RANDOM_PACKETS; i++)
		random_clean[i] = random_packet(&random_pkts[i]);
	for (size_t i = 0; i < sizeof(eval_cases) / sizeof(eval_cases[0]); i++)
		check_kernel_all(eval_cases[i].filter, eval_cases[i].addr == A_FWD ? FWD : NET);
	for (size_t i = 0; i < sizeof(format_cases) / sizeof(format_cases[0]); i++)
		check_kernel_all(format_cases[i].filter, format_cases[i].layer);
	for (int i = 0; i < RANDOM_FILTERS; i++) {
		random_filter(filter, sizeof(filter), 3);
		check_kernel_all(filter, rnd(4) ? NET : FWD);
	}
}

/* What the hooks decide: directions and interface; and which filters are exact. */
static const struct {
	const char *filter;
	WINDIVERT_LAYER layer;
	int outbound, inbound;
	UINT32 ifidx;
	int exact; /* 1 exact, 0 not, -1 either */
} fact_cases[] = {
	{ "true", NET, 1, 1, 0, 1 }, { "false", NET, 0, 0, 0, 1 },
	{ "outbound and tcp", NET, 1, 0, 0, 0 }, { "inbound", NET, 0, 1, 0, 1 },
	{ "outbound and inbound", NET, 0, 0, 0, 1 }, { "not outbound", NET, 0, 1, 0, 1 },
	{ "event != PACKET", NET, 0, 0, 0, 1 }, { "subIfIdx == 1", NET, 0, 0, 0, 1 },
	{ "ifIdx == 3 and ip.TTL == 64", NET, 1, 1, 3, 1 },
	{ "ifIdx == 3 or ifIdx == 4", NET, 1, 1, 0, 0 },
	{ "(ifIdx == 3 or tcp) and ifIdx == 3", NET, 1, 1, 3, -1 },
	{ "tcp", FWD, 1, 1, 0, 0 }, { "ifIdx == 9", FWD, 1, 1, 9, 1 },
	{ "ip", NET, 1, 1, 0, 1 }, { "ipv6", NET, 1, 1, 0, 1 }, { "ip.TTL < 5", NET, 1, 1, 0, 1 },
	{ "ipv6.HopLimit == 64", NET, 1, 1, 0, 1 }, { "length > 100", NET, 1, 1, 0, 1 },
	{ "ip.SrcAddr >= 10.0.0.0 and ip.SrcAddr <= 10.255.255.255", NET, 1, 1, 0, 1 },
	{ "ipv6.DstAddr > 2001:db8::1", NET, 1, 1, 0, 1 },
	{ "outbound and localAddr == 10.0.0.1", NET, 1, 0, 0, 1 },
	{ "inbound and remoteAddr == 2001:db8::1", NET, 0, 1, 0, 1 },
	{ "packet[0] == 0x45", NET, 1, 1, 0, 1 }, { "packet32[-1] == 0x2f312e31", NET, 1, 1, 0, 1 },
	{ "ip and protocol == 6", NET, 1, 1, 0, 1 }, { "ip and fragment", NET, 1, 1, 0, 1 },
	{ "(ip? ip.TTL == 64: ipv6.HopLimit == 64)", NET, 1, 1, 0, 1 },
	{ "ip.DF or ipv6.FlowLabel == 0x12345", NET, 1, 1, 0, 1 },
	{ "loopback", NET, 1, 1, 0, 0 }, { "timestamp > 5", NET, 1, 1, 0, 0 },
	{ "tcp.Payload[0] == 1", NET, 1, 1, 0, 0 }, { "localPort == 80", NET, 1, 1, 0, 0 },
};

static void test_kernel_facts(void)
{
	for (size_t i = 0; i < sizeof(fact_cases) / sizeof(fact_cases[0]); i++) {
		struct kprog kp;

		CHECK(kprog_open(fact_cases[i].filter, fact_cases[i].layer, &kp) == 0);
		if (kp.k.outbound != fact_cases[i].outbound || kp.k.inbound != fact_cases[i].inbound ||
		    kp.k.ifidx != fact_cases[i].ifidx || (fact_cases[i].exact >= 0 && kp.k.exact != fact_cases[i].exact))
			fprintf(stderr, "  \"%s\": out %d in %d ifidx %u exact %d: %s\n",
				fact_cases[i].filter, kp.k.outbound, kp.k.inbound, kp.k.ifidx, kp.k.exact,
				kp.k.pcap ? kp.k.pcap : "every packet");
		CHECK(kp.k.outbound == fact_cases[i].outbound && kp.k.inbound == fact_cases[i].inbound);
		CHECK(kp.k.ifidx == fact_cases[i].ifidx);
		CHECK(fact_cases[i].exact < 0 || kp.k.exact == fact_cases[i].exact);
		kprog_close(&kp);
	}
}

/* Filters whose kernel expressions grow, two characters at a time, past the
 * size the kernel part keeps: none matches every packet, so an exact kernel part
 * has an expression (it is never dropped for "every packet" and still called exact). */
static void test_kernel_long(void)
{
	static char filter[4096];

	for (int n = 48; n <= 56; n++) {
		for (int j = 0; j <= n; j++) {
			struct kprog kp;
			int o = 0;

			for (int k = 1; k <= n; k++)
				o += snprintf(filter + o, sizeof(filter) - (size_t)o, "%spacket[-%db] == %d",
					      k > 1 ? " or " : "", k, k <= j ? 100 : 1);
			CHECK(kprog_open(filter, NET, &kp) == 0);
			CHECK(!kp.k.exact || kp.k.pcap);
			kprog_close(&kp);
		}
	}
}

/* An IPv6 packet whose first header is an extension header: transport not looked for. */
static int ipv6_extension_first(const struct pkt *p)
{
	static const uint8_t ext[] = { 0, 43, 44, 51, 60, 135 };

	return p->b[0] >> 4 == 6 && memchr(ext, p->b[6], sizeof(ext));
}

/* A port test keeps in the kernel every well-formed packet it does not match
 * (IPv6 packets with extension headers go to user space). */
static void test_kernel_tight(void)
{
	static const char *const filters[] = { "tcp.DstPort == 80", "udp.DstPort == 53",
					       "outbound and tcp.SrcPort == 1234",
					       "icmp.Type == 8", "tcp.DstPort == 80 or tcp.DstPort == 443" };

	for (size_t f = 0; f < sizeof(filters) / sizeof(filters[0]); f++) {
		struct kprog kp;
		WINDIVERT_ADDRESS a;

		CHECK(kprog_open(filters[f], NET, &kp) == 0 && kp.k.pcap);
		for (int i = 0; i < RANDOM_PACKETS + P_BAD; i++) {
			const struct pkt *p = i < P_BAD ? &pkts[i] : &random_pkts[i - P_BAD];

			if ((i >= P_BAD && !random_clean[i - P_BAD]) || i == P_TRUNC4)
				continue;
			make_addr(A_OUT, p, &a);
			if (kernel_takes(&kp, 1, p, &a) && !wd_filter_match(kp.f, p->b, p->len, &a) &&
			    !ipv6_extension_first(p)) {
				fprintf(stderr, "  \"%s\" takes a %u-byte packet it does not match\n",
					filters[f], p->len);
				CHECK(0);
			}
		}
		kprog_close(&kp);
	}
}

/* ---- random8/16/32: bits of WinDivertHelperHashPacket(packet, timestamp) ---- */

static void test_random(void)
{
	char filter[256];
	DWORD e;

	for (int i = 0; i < P_BAD; i++) {
		for (int kind = A_OUT; kind <= A_IN; kind++) {
			WINDIVERT_ADDRESS a;
			UINT64 h;

			if (i == P_TRUNC4) /* the helper refuses a cut packet; the filter hashes it */
				continue;
			make_addr(kind, &pkts[i], &a);
			h = WinDivertHelperHashPacket(pkts[i].b, pkts[i].len, (UINT64)a.Timestamp) |
			    0xFF00000000000000ull;
			snprintf(filter, sizeof(filter),
				 "random8 == %u and random16 == %u and random32 == %u",
				 (unsigned int)(h >> 48 & 0xFF), (unsigned int)(h >> 32 & 0xFFFF),
				 (unsigned int)h);
			CHECK(eval(filter, &pkts[i], kind, &e) == 1);
			snprintf(filter, sizeof(filter), "random16 != %u",
				 (unsigned int)(h >> 32 & 0xFFFF));
			CHECK(eval(filter, &pkts[i], kind, &e) == 0);
		}
	}
}

/* A cut packet's headers hash as a whole packet's would. */
static void test_random_cut(void)
{
	struct pkt p = pkts[P_TCP4];
	WINDIVERT_ADDRESS a;
	char filter[64];
	DWORD e;
	UINT64 h;

	make_addr(A_OUT, &p, &a);
	h = WinDivertHelperHashPacket(p.b, p.len, (UINT64)a.Timestamp) | 0xFF00000000000000ull;
	p.len -= 10; /* the payload cut short: the headers are all there */
	snprintf(filter, sizeof(filter), "random32 == %u", (unsigned int)h);
	CHECK(WinDivertHelperHashPacket(p.b, p.len, (UINT64)a.Timestamp) == 0);
	CHECK(eval(filter, &p, A_OUT, &e) == 1);
}

int main(void)
{
	static const struct check_case cases[] = {
		CHECK_CASE(test_eval_table), CHECK_CASE(test_errors),
		CHECK_CASE(test_helper_errors), CHECK_CASE(test_format),
		CHECK_CASE(test_round_trips), CHECK_CASE(test_depth),
		CHECK_CASE(test_tokens), CHECK_CASE(test_tests),
		CHECK_CASE(test_event_layers), CHECK_CASE(test_random),
		CHECK_CASE(test_random_cut), CHECK_CASE(test_kernel_superset),
		CHECK_CASE(test_kernel_facts), CHECK_CASE(test_kernel_long),
		CHECK_CASE(test_kernel_tight),
	};

	build_packets();
	if (getenv("WD_FILTER_SEED")) /* another run of the random cases */
		rng_state = (uint32_t)strtoul(getenv("WD_FILTER_SEED"), NULL, 0) | 1;
	return check_run("windivert_filter", cases, sizeof(cases) / sizeof(cases[0]));
}
