/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_windivert_helper.c - libwindivert's WinDivertHelper* calls over canned
 * packets: the header structs' layout on real bytes, parsing (single and
 * batch), the packet hash against known values, checksums (checked with
 * libipredir's ipr_checksum_verify), the TTL, address text and byte order.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "check.h"
#include "ipredir.h"
#include "packets.h"
#include "windivert.h"

/* 10.0.0.1:40000 -> 10.0.0.2:80 TCP PSH|ACK, an MSS option (header 24 bytes), "GET /" */
static const uint8_t ipv4_tcp[49] = {
	0x45, 0x00, 0x00, 0x31, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0x0a, 0x7f,
	0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x9c, 0x40, 0x00, 0x50,
	0x01, 0x02, 0x03, 0x04, 0x0a, 0x0b, 0x0c, 0x0d, 0x60, 0x18, 0xfa, 0xf0,
	0x08, 0x04, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x47, 0x45, 0x54, 0x20,
	0x2f,
};

/* [2001:db8::1]:4660 -> [2001:db8::2]:443 TCP SYN, "hi" */
static const uint8_t ipv6_tcp[62] = {
	0x60, 0x00, 0x00, 0x00, 0x00, 0x16, 0x06, 0x40, 0x20, 0x01, 0x0d, 0xb8,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x02, 0x12, 0x34, 0x01, 0xbb, 0x00, 0x00, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x00, 0x50, 0x02, 0xfa, 0xf0, 0xdd, 0x21, 0x00, 0x00,
	0x68, 0x69,
};

/* 10.0.0.1:1000 -> 10.0.0.2:2000 UDP "opt" behind four bytes of IPv4 options (NOPs) */
static const uint8_t ipv4_opts_udp[35] = {
	0x46, 0x00, 0x00, 0x23, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x11, 0x07, 0x80,
	0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x01, 0x01, 0x01, 0x01,
	0x03, 0xe8, 0x07, 0xd0, 0x00, 0x0b, 0xfc, 0xac, 0x6f, 0x70, 0x74,
};

#define MAX_PKT 256

/* A writable copy of a canned packet in buf. */
static UINT copy_packet(uint8_t *buf, const uint8_t *pkt, size_t len)
{
	memcpy(buf, pkt, len);
	return (UINT)len;
}

static int failed_with(DWORD code)
{
	return GetLastError() == code;
}

/* ---- layout ---- */

static void layout_sizes(void)
{
	CHECK(sizeof(WINDIVERT_ADDRESS) == 80);
	CHECK(offsetof(WINDIVERT_ADDRESS, Network) == 16);
	CHECK(offsetof(WINDIVERT_ADDRESS, Reserved2) == 12);
	CHECK(sizeof(WINDIVERT_IPHDR) == 20);
	CHECK(sizeof(WINDIVERT_IPV6HDR) == 40);
	CHECK(sizeof(WINDIVERT_ICMPHDR) == 8 && sizeof(WINDIVERT_ICMPV6HDR) == 8);
	CHECK(sizeof(WINDIVERT_TCPHDR) == 20);
	CHECK(sizeof(WINDIVERT_UDPHDR) == 8);
	CHECK(offsetof(WINDIVERT_IPHDR, TTL) == 8 && offsetof(WINDIVERT_IPHDR, Checksum) == 10);
	CHECK(offsetof(WINDIVERT_IPHDR, SrcAddr) == 12 && offsetof(WINDIVERT_IPHDR, DstAddr) == 16);
	CHECK(offsetof(WINDIVERT_IPV6HDR, Length) == 4 && offsetof(WINDIVERT_IPV6HDR, NextHdr) == 6);
	CHECK(offsetof(WINDIVERT_IPV6HDR, HopLimit) == 7 && offsetof(WINDIVERT_IPV6HDR, SrcAddr) == 8);
	CHECK(offsetof(WINDIVERT_IPV6HDR, DstAddr) == 24);
	CHECK(offsetof(WINDIVERT_TCPHDR, Window) == 14 && offsetof(WINDIVERT_TCPHDR, Checksum) == 16);
	CHECK(offsetof(WINDIVERT_TCPHDR, UrgPtr) == 18);
	CHECK(offsetof(WINDIVERT_UDPHDR, Checksum) == 6 && offsetof(WINDIVERT_ICMPHDR, Body) == 4);
}

/* The address flags sit where WinDivert's ABI puts them: byte 8 on. */
static void layout_address_bits(void)
{
	WINDIVERT_ADDRESS a;
	uint8_t *raw = (uint8_t *)&a;

	memset(&a, 0, sizeof(a));
	a.Layer = WINDIVERT_LAYER_FLOW;
	a.Event = WINDIVERT_EVENT_FLOW_DELETED;
	a.Outbound = 1;
	a.IPv6 = 1;
	a.UDPChecksum = 1;
	CHECK(raw[8] == 2 && raw[9] == 2);
	CHECK(raw[10] == (1 << 1 | 1 << 4 | 1 << 7));
	memset(&a, 0, sizeof(a));
	raw[10] = 1 << 0 | 1 << 2 | 1 << 3 | 1 << 5 | 1 << 6;
	CHECK(a.Sniffed && a.Loopback && a.Impostor && a.IPChecksum && a.TCPChecksum);
	CHECK(!a.Outbound && !a.IPv6 && !a.UDPChecksum);
	a.Network.IfIdx = 7;
	CHECK(raw[16] == 7);
}

static void layout_ipv4(void)
{
	uint8_t buf[20] = { 0x46 };
	PWINDIVERT_IPHDR ip = (PWINDIVERT_IPHDR)buf;

	CHECK(ip->HdrLength == 6 && ip->Version == 4);
	buf[6] = 0x40;
	CHECK(WINDIVERT_IPHDR_GET_DF(ip) && !WINDIVERT_IPHDR_GET_MF(ip));
	CHECK(ntohs(WINDIVERT_IPHDR_GET_FRAGOFF(ip)) == 0);
	buf[6] = 0x20;
	buf[7] = 0x05;
	CHECK(WINDIVERT_IPHDR_GET_MF(ip) && !WINDIVERT_IPHDR_GET_DF(ip));
	CHECK(ntohs(WINDIVERT_IPHDR_GET_FRAGOFF(ip)) == 5);
	buf[6] = 0x9f;
	buf[7] = 0xff;
	CHECK(WINDIVERT_IPHDR_GET_RESERVED(ip) && ntohs(WINDIVERT_IPHDR_GET_FRAGOFF(ip)) == 0x1fff);
	buf[6] = buf[7] = 0;
	WINDIVERT_IPHDR_SET_MF(ip, 1);
	WINDIVERT_IPHDR_SET_FRAGOFF(ip, htons(0x123));
	CHECK(buf[6] == 0x21 && buf[7] == 0x23);
	WINDIVERT_IPHDR_SET_DF(ip, 1);
	WINDIVERT_IPHDR_SET_MF(ip, 0);
	CHECK(buf[6] == 0x41 && buf[7] == 0x23);
}

static void layout_ipv6(void)
{
	uint8_t buf[40] = { 0x6a, 0xbc, 0xde, 0xf1 };
	PWINDIVERT_IPV6HDR ip6 = (PWINDIVERT_IPV6HDR)buf;

	CHECK(ip6->Version == 6);
	CHECK(WINDIVERT_IPV6HDR_GET_TRAFFICCLASS(ip6) == 0xab);
	CHECK(ip6->FlowLabel0 == 0xc && ntohs(ip6->FlowLabel1) == 0xdef1);
	WINDIVERT_IPV6HDR_SET_TRAFFICCLASS(ip6, 0x12);
	CHECK(buf[0] == 0x61 && buf[1] == 0x2c);
	WINDIVERT_IPV6HDR_SET_FLOWLABEL(ip6, 0x54321);
	CHECK(WINDIVERT_IPV6HDR_GET_FLOWLABEL(ip6) == 0x54321 && (buf[1] & 0x0f) == 5);
	CHECK(ip6->Version == 6 && WINDIVERT_IPV6HDR_GET_TRAFFICCLASS(ip6) == 0x12);
}

static void layout_tcp(void)
{
	uint8_t buf[20] = { 0 };
	PWINDIVERT_TCPHDR tcp = (PWINDIVERT_TCPHDR)buf;

	buf[12] = 0x50;
	buf[13] = 0x02;
	CHECK(tcp->HdrLength == 5 && tcp->Reserved1 == 0);
	CHECK(tcp->Syn && !tcp->Fin && !tcp->Rst && !tcp->Psh && !tcp->Ack && !tcp->Urg);
	buf[12] = 0x8f;
	buf[13] = 0x12;
	CHECK(tcp->HdrLength == 8 && tcp->Reserved1 == 0xf && tcp->Syn && tcp->Ack);
	buf[13] = 0x01 | 0x04 | 0x08 | 0x20 | 0xc0;
	CHECK(tcp->Fin && tcp->Rst && tcp->Psh && tcp->Urg && tcp->Reserved2 == 3 && !tcp->Syn);
}

/* ---- parsing ---- */

/* Every output of one WinDivertHelperParsePacket() call. */
struct parsed {
	BOOL ok;
	PWINDIVERT_IPHDR ip;
	PWINDIVERT_IPV6HDR ip6;
	UINT8 proto;
	PWINDIVERT_ICMPHDR icmp;
	PWINDIVERT_ICMPV6HDR icmp6;
	PWINDIVERT_TCPHDR tcp;
	PWINDIVERT_UDPHDR udp;
	PVOID data, next;
	UINT data_len, next_len;
};

static struct parsed parse(const void *pkt, UINT len)
{
	struct parsed p;

	memset(&p, 0xaa, sizeof(p)); /* every output must be written */
	p.ok = WinDivertHelperParsePacket(pkt, len, &p.ip, &p.ip6, &p.proto, &p.icmp, &p.icmp6,
					  &p.tcp, &p.udp, &p.data, &p.data_len, &p.next,
					  &p.next_len);
	return p;
}

static void parse_ipv4_tcp(void)
{
	struct parsed p = parse(ipv4_tcp, sizeof(ipv4_tcp));

	CHECK(p.ok && GetLastError() == 0);
	CHECK(p.ip == (void *)ipv4_tcp && !p.ip6 && p.proto == IPPROTO_TCP);
	CHECK(p.tcp == (void *)(ipv4_tcp + 20) && !p.udp && !p.icmp && !p.icmp6);
	CHECK(p.tcp && ntohs(p.tcp->SrcPort) == 40000 && ntohs(p.tcp->DstPort) == 80);
	CHECK(p.tcp && p.tcp->HdrLength == 6 && p.tcp->Psh && p.tcp->Ack);
	CHECK(p.ip && ntohl(p.ip->DstAddr) == 0x0a000002 && p.ip->TTL == 64);
	CHECK(p.data == (void *)(ipv4_tcp + 44) && p.data_len == 5);
	CHECK(!p.next && p.next_len == 0);
}

static void parse_ipv6_tcp(void)
{
	struct parsed p = parse(ipv6_tcp, sizeof(ipv6_tcp));

	CHECK(p.ok && !p.ip && p.ip6 == (void *)ipv6_tcp && p.proto == IPPROTO_TCP);
	CHECK(p.tcp == (void *)(ipv6_tcp + 40) && p.tcp->Syn && !p.tcp->Ack);
	CHECK(p.data == (void *)(ipv6_tcp + 60) && p.data_len == 2);
	CHECK(p.ip6 && ntohs(p.ip6->Length) == 22 && p.ip6->HopLimit == 64);
}

/* ICMP's data is what follows its 8-byte header (type, code, checksum, body). */
static void parse_icmp(void)
{
	struct parsed p = parse(ipv4_icmp_echo, sizeof(ipv4_icmp_echo));

	CHECK(p.ok && p.icmp == (void *)(ipv4_icmp_echo + 20) && p.proto == IPPROTO_ICMP);
	CHECK(p.icmp && p.icmp->Type == 8 && ntohl(p.icmp->Body) == 0x12340001);
	CHECK(p.data == (void *)(ipv4_icmp_echo + 28) && p.data_len == 5);
	p = parse(ipv6_icmp_echo, sizeof(ipv6_icmp_echo));
	CHECK(p.ok && p.icmp6 == (void *)(ipv6_icmp_echo + 40) && !p.icmp);
	CHECK(p.data == (void *)(ipv6_icmp_echo + 48) && p.data_len == 4);
}

/* ICMP is only taken over IPv4 and ICMPv6 only over IPv6. */
static void parse_icmp_wrong_family(void)
{
	uint8_t buf[MAX_PKT];
	UINT len = copy_packet(buf, ipv6_icmp_echo, sizeof(ipv6_icmp_echo));
	struct parsed p;

	buf[6] = IPPROTO_ICMP;
	p = parse(buf, len);
	CHECK(p.ok && !p.icmp && !p.icmp6 && p.proto == IPPROTO_ICMP);
	CHECK(p.data == buf + 40 && p.data_len == 12);
	len = copy_packet(buf, ipv4_icmp_echo, sizeof(ipv4_icmp_echo));
	buf[9] = IPPROTO_ICMPV6;
	p = parse(buf, len);
	CHECK(p.ok && !p.icmp && !p.icmp6 && p.data == buf + 20 && p.data_len == 13);
}

static void parse_ipv6_extension_headers(void)
{
	uint8_t buf[MAX_PKT];
	UINT len = copy_packet(buf, ipv6_udp_ext, sizeof(ipv6_udp_ext));
	struct parsed p = parse(buf, len);

	CHECK(p.ok && p.proto == IPPROTO_UDP && p.udp == (void *)(buf + 64));
	CHECK(p.udp && ntohs(p.udp->SrcPort) == 1000 && ntohs(p.udp->DstPort) == 2000);
	CHECK(p.data == buf + 72 && p.data_len == 4);
	/* destination options claiming 64 bytes: the walk stops in front of them */
	buf[49] = 7;
	p = parse(buf, len);
	CHECK(p.ok && !p.udp && p.proto == IPPROTO_DSTOPTS && p.data == buf + 48);
	CHECK(p.data_len == 28);
}

/* A header cut by the IP length is not given; a TCP header's options may be. */
static void parse_short_transport(void)
{
	uint8_t buf[MAX_PKT];
	UINT len = copy_packet(buf, ipv4_udp, 24);
	struct parsed p;

	buf[3] = 24;
	p = parse(buf, len);
	CHECK(p.ok && !p.udp && p.proto == IPPROTO_UDP && p.data == buf + 20 && p.data_len == 4);
	len = copy_packet(buf, ipv4_tcp, 44);
	buf[3] = 44;
	buf[32] = 0xf0; /* a 60-byte header in 24 bytes */
	p = parse(buf, len);
	CHECK(p.ok && p.tcp == (void *)(buf + 20) && !p.data && p.data_len == 0);
	buf[32] = 0x40; /* a data offset below 5 */
	p = parse(buf, len);
	CHECK(p.ok && !p.tcp && p.data == buf + 20 && p.data_len == 24);
}

static void parse_fragments(void)
{
	uint8_t buf[MAX_PKT];
	UINT len = copy_packet(buf, ipv4_tcp, sizeof(ipv4_tcp));
	struct parsed p;

	buf[6] = 0x20; /* first fragment: MF, offset 0 */
	p = parse(buf, len);
	CHECK(p.ok && p.tcp == (void *)(buf + 20));
	buf[7] = 0x03; /* a later fragment: no transport header */
	p = parse(buf, len);
	CHECK(p.ok && !p.tcp && p.proto == IPPROTO_TCP && p.data == buf + 20 && p.data_len == 29);
	len = copy_packet(buf, ipv6_udp_ext, sizeof(ipv6_udp_ext));
	buf[58] = 0x01; /* the fragment header at 56: offset 32 (256 bytes) */
	p = parse(buf, len);
	CHECK(p.ok && !p.udp && p.proto == IPPROTO_UDP && p.data == buf + 64 && p.data_len == 12);
}

static void parse_other_protocol(void)
{
	uint8_t buf[MAX_PKT];
	UINT len = copy_packet(buf, ipv4_udp, sizeof(ipv4_udp));
	struct parsed p;

	buf[9] = 47; /* GRE */
	p = parse(buf, len);
	CHECK(p.ok && !p.udp && !p.tcp && p.proto == 47 && p.data == buf + 20 && p.data_len == 20);
	p = parse(buf, 20);
	CHECK(!p.ok); /* shorter than its IP length */
	buf[3] = 20;
	p = parse(buf, 20);
	CHECK(p.ok && p.proto == 47 && !p.data && p.data_len == 0);
}

/* A buffer shorter than its IP length, or with no IP header: FALSE, every output NULL. */
static void parse_refused(void)
{
	uint8_t buf[MAX_PKT];
	UINT len = copy_packet(buf, ipv4_tcp, sizeof(ipv4_tcp));
	struct parsed p = parse(buf, len - 1);

	CHECK(!p.ok && failed_with(ERROR_INVALID_PARAMETER) && errno == EINVAL);
	CHECK(!p.ip && !p.ip6 && !p.tcp && !p.data && p.data_len == 0 && !p.next && p.proto == 0);
	CHECK(!parse(NULL, 40).ok && !parse(buf, 0).ok && !parse(buf, 19).ok);
	CHECK(!parse(ipv6_tcp, 39).ok);
	buf[0] = 0x44; /* IHL 4 */
	CHECK(!parse(buf, len).ok);
	buf[0] = 0x45;
	buf[3] = 19; /* total length below the header */
	CHECK(!parse(buf, len).ok);
	buf[0] = 0x55;
	CHECK(!parse(buf, len).ok);
}

static void parse_no_outputs(void)
{
	CHECK(WinDivertHelperParsePacket(ipv4_tcp, sizeof(ipv4_tcp), NULL, NULL, NULL, NULL, NULL,
					 NULL, NULL, NULL, NULL, NULL, NULL));
	CHECK(!WinDivertHelperParsePacket(ipv4_tcp, 30, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
					  NULL, NULL, NULL, NULL));
}

/* Three packets back to back, walked as the documentation's loop walks them. */
static void parse_batch(void)
{
	uint8_t buf[MAX_PKT];
	UINT len = copy_packet(buf, ipv4_tcp, sizeof(ipv4_tcp));
	PVOID pkt = buf;
	UINT16 ports[3] = { 0 };
	int n = 0;

	len += copy_packet(buf + len, ipv6_udp_ext, sizeof(ipv6_udp_ext));
	len += copy_packet(buf + len, ipv4_udp, sizeof(ipv4_udp));
	for (PWINDIVERT_TCPHDR tcp; n < 3; n++) {
		PWINDIVERT_UDPHDR udp;

		if (!WinDivertHelperParsePacket(pkt, len, NULL, NULL, NULL, NULL, NULL, &tcp, &udp,
						NULL, NULL, &pkt, &len))
			break;
		ports[n] = ntohs(tcp ? tcp->DstPort : udp->DstPort);
	}
	CHECK(n == 3 && ports[0] == 80 && ports[1] == 2000 && ports[2] == 53);
	CHECK(!pkt && len == 0);
}

/* Bytes after the packet that are no packet: the first parses, the rest does not. */
static void parse_trailing_junk(void)
{
	uint8_t buf[MAX_PKT];
	UINT len = copy_packet(buf, ipv4_udp, sizeof(ipv4_udp));
	struct parsed p;

	memset(buf + len, 0xee, 8);
	p = parse(buf, len + 8);
	CHECK(p.ok && p.next == buf + len && p.next_len == 8 && p.data_len == 12);
	CHECK(!parse(p.next, p.next_len).ok);
}

/* ---- hashing ---- */

static const struct {
	const uint8_t *pkt;
	size_t len;
	UINT64 seed0;        /* hash with seed 0 */
	UINT64 seed_pattern; /* hash with seed 0x0123456789abcdef */
} hashes[] = {
	{ ipv4_icmp_echo, sizeof(ipv4_icmp_echo), 0x3d3fb8a79f592085ULL, 0x31c35c2a853bdc5aULL },
	{ ipv4_udp, sizeof(ipv4_udp), 0x45645e7b71710311ULL, 0x403fd0359f4ed1feULL },
	{ ipv6_icmp_echo, sizeof(ipv6_icmp_echo), 0x772e7e2b8c58e28fULL, 0xcfdf989379b5cfdfULL },
	{ ipv6_udp_ext, sizeof(ipv6_udp_ext), 0xda64e596ade92b48ULL, 0x3c81152a34dd828eULL },
	{ ipv4_tcp, sizeof(ipv4_tcp), 0xe265ac4979d766b8ULL, 0x6326b404fe507ca9ULL },
	{ ipv6_tcp, sizeof(ipv6_tcp), 0x5519007cb7ad5cd7ULL, 0x7b9983fbfbb677bbULL },
	{ ipv4_opts_udp, sizeof(ipv4_opts_udp), 0xe052bc1e08aae995ULL, 0x31d724fba82049a4ULL },
};

#define NHASHES (sizeof(hashes) / sizeof(hashes[0]))

/* Values of an independent transcription of WinDivert's hash (no published ones exist). */
static void hash_known_values(void)
{
	for (size_t i = 0; i < NHASHES; i++) {
		UINT len = (UINT)hashes[i].len;

		CHECK(WinDivertHelperHashPacket(hashes[i].pkt, len, 0) == hashes[i].seed0);
		CHECK(WinDivertHelperHashPacket(hashes[i].pkt, len, 0x0123456789abcdefULL) ==
		      hashes[i].seed_pattern);
	}
}

/* Which bytes count: headers (checksums and TTL too), the seed; not payload or IPv4 options. */
static void hash_inputs(void)
{
	uint8_t buf[MAX_PKT];
	UINT len = copy_packet(buf, ipv4_tcp, sizeof(ipv4_tcp));
	UINT64 h = WinDivertHelperHashPacket(buf, len, 0);

	CHECK(WinDivertHelperHashPacket(buf, len, 1) != h);
	buf[44] ^= 0x20; /* payload */
	CHECK(WinDivertHelperHashPacket(buf, len, 0) == h);
	CHECK(WinDivertHelperCalcChecksums(buf, len, NULL, 0));
	CHECK(WinDivertHelperHashPacket(buf, len, 0) != h); /* through the TCP checksum */
	len = copy_packet(buf, ipv4_tcp, sizeof(ipv4_tcp));
	buf[8]--; /* TTL */
	CHECK(WinDivertHelperHashPacket(buf, len, 0) != h);
	len = copy_packet(buf, ipv4_opts_udp, sizeof(ipv4_opts_udp));
	h = WinDivertHelperHashPacket(buf, len, 0);
	buf[23] = 0; /* an IPv4 option byte */
	CHECK(WinDivertHelperHashPacket(buf, len, 0) == h);
}

static void hash_batch_and_refusals(void)
{
	uint8_t buf[MAX_PKT];
	UINT len = copy_packet(buf, ipv6_tcp, sizeof(ipv6_tcp));

	len += copy_packet(buf + len, ipv4_udp, sizeof(ipv4_udp));
	CHECK(WinDivertHelperHashPacket(buf, len, 0) == 0x5519007cb7ad5cd7ULL);
	CHECK(GetLastError() == 0);
	CHECK(WinDivertHelperHashPacket(ipv6_tcp, sizeof(ipv6_tcp) - 1, 0) == 0);
	CHECK(failed_with(ERROR_INVALID_PARAMETER));
	CHECK(WinDivertHelperHashPacket(NULL, 0, 0) == 0);
	memset(buf, 0, 40);
	CHECK(WinDivertHelperHashPacket(buf, 40, 0) == 0);
}

/* ---- checksums ---- */

/* Spoil every checksum of a copy of pkt in buf. */
static UINT spoiled(uint8_t *buf, const uint8_t *pkt, size_t len, size_t l4, size_t csum_off)
{
	copy_packet(buf, pkt, len);
	if (buf[0] >> 4 == 4)
		buf[10] ^= 0x5a;
	buf[l4 + csum_off] ^= 0xa5;
	return (UINT)len;
}

static void csum_each_protocol(void)
{
	static const struct {
		const uint8_t *pkt;
		size_t len, l4, csum_off;
		int ip, tcp, udp; /* the address bits expected */
	} cases[] = {
		{ ipv4_tcp, sizeof(ipv4_tcp), 20, 16, 1, 1, 0 },
		{ ipv6_tcp, sizeof(ipv6_tcp), 40, 16, 0, 1, 0 },
		{ ipv4_udp, sizeof(ipv4_udp), 20, 6, 1, 0, 1 },
		{ ipv6_udp_ext, sizeof(ipv6_udp_ext), 64, 6, 0, 0, 1 },
		{ ipv4_icmp_echo, sizeof(ipv4_icmp_echo), 20, 2, 1, 0, 0 },
		{ ipv6_icmp_echo, sizeof(ipv6_icmp_echo), 40, 2, 0, 0, 0 },
	};
	uint8_t buf[MAX_PKT];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		UINT len = spoiled(buf, cases[i].pkt, cases[i].len, cases[i].l4, cases[i].csum_off);
		WINDIVERT_ADDRESS addr;

		memset(&addr, 0, sizeof(addr));
		CHECK(ipr_checksum_verify(buf, len) == -EBADMSG);
		CHECK(WinDivertHelperCalcChecksums(buf, len, &addr, 0) && GetLastError() == 0);
		CHECK(ipr_checksum_verify(buf, len) == 0 && !memcmp(buf, cases[i].pkt, len));
		CHECK(addr.IPChecksum == cases[i].ip && addr.TCPChecksum == cases[i].tcp);
		CHECK(addr.UDPChecksum == cases[i].udp);
	}
}

static void csum_flags(void)
{
	uint8_t buf[MAX_PKT];
	UINT len = spoiled(buf, ipv4_tcp, sizeof(ipv4_tcp), 20, 16);
	WINDIVERT_ADDRESS addr;

	memset(&addr, 0, sizeof(addr));
	CHECK(WinDivertHelperCalcChecksums(buf, len, &addr, WINDIVERT_HELPER_NO_IP_CHECKSUM));
	CHECK(buf[10] != ipv4_tcp[10] && buf[36] == ipv4_tcp[36]);
	CHECK(!addr.IPChecksum && addr.TCPChecksum);
	len = spoiled(buf, ipv4_tcp, sizeof(ipv4_tcp), 20, 16);
	memset(&addr, 0, sizeof(addr));
	CHECK(WinDivertHelperCalcChecksums(buf, len, &addr, WINDIVERT_HELPER_NO_TCP_CHECKSUM));
	CHECK(buf[10] == ipv4_tcp[10] && buf[36] != ipv4_tcp[36]);
	CHECK(addr.IPChecksum && !addr.TCPChecksum);
	len = spoiled(buf, ipv4_udp, sizeof(ipv4_udp), 20, 6);
	CHECK(WinDivertHelperCalcChecksums(buf, len, NULL, WINDIVERT_HELPER_NO_UDP_CHECKSUM |
				      WINDIVERT_HELPER_NO_IP_CHECKSUM));
	CHECK(buf[10] != ipv4_udp[10] && buf[26] != ipv4_udp[26]);
	len = spoiled(buf, ipv6_icmp_echo, sizeof(ipv6_icmp_echo), 40, 2);
	CHECK(WinDivertHelperCalcChecksums(buf, len, NULL, WINDIVERT_HELPER_NO_ICMPV6_CHECKSUM));
	CHECK(buf[42] != ipv6_icmp_echo[42]);
	len = spoiled(buf, ipv4_icmp_echo, sizeof(ipv4_icmp_echo), 20, 2);
	CHECK(WinDivertHelperCalcChecksums(buf, len, NULL, WINDIVERT_HELPER_NO_ICMP_CHECKSUM));
	CHECK(buf[22] != ipv4_icmp_echo[22] && buf[10] == ipv4_icmp_echo[10]);
}

/* A UDP checksum that computes to 0 is sent as 0xffff (0 means "none"). */
static void csum_udp_zero(void)
{
	uint8_t buf[MAX_PKT];
	UINT len = copy_packet(buf, ipv4_udp, sizeof(ipv4_udp));

	/* adding the checksum's own value to the data brings the checksum to 0 */
	memset(buf + 28, 0, 2);
	CHECK(WinDivertHelperCalcChecksums(buf, len, NULL, 0));
	memcpy(buf + 28, buf + 26, 2);
	CHECK(WinDivertHelperCalcChecksums(buf, len, NULL, 0));
	CHECK(buf[26] == 0xff && buf[27] == 0xff && ipr_checksum_verify(buf, len) == 0);
}

/* Fragments and cut packets get their IPv4 header checksum and no transport one. */
static void csum_partial_packets(void)
{
	uint8_t buf[MAX_PKT];
	UINT len = spoiled(buf, ipv4_tcp, sizeof(ipv4_tcp), 20, 16);
	WINDIVERT_ADDRESS addr;

	memset(&addr, 0, sizeof(addr));
	buf[6] = 0x20; /* MF */
	CHECK(!WinDivertHelperCalcChecksums(buf, len, &addr, 0));
	CHECK(failed_with(ERROR_INVALID_PARAMETER) && addr.IPChecksum && !addr.TCPChecksum);
	CHECK(buf[36] != ipv4_tcp[36]);
	CHECK(WinDivertHelperCalcChecksums(buf, len, NULL, WINDIVERT_HELPER_NO_TCP_CHECKSUM));
	buf[7] = 0x01; /* a later fragment: nothing but the IPv4 header to do */
	CHECK(WinDivertHelperCalcChecksums(buf, len, NULL, 0));
	len = spoiled(buf, ipv4_tcp, sizeof(ipv4_tcp), 20, 16);
	CHECK(!WinDivertHelperCalcChecksums(buf, len - 1, NULL, 0));
	CHECK(buf[10] == ipv4_tcp[10] && buf[36] != ipv4_tcp[36]);
	CHECK(!WinDivertHelperCalcChecksums(buf, 10, NULL, 0));
	CHECK(!WinDivertHelperCalcChecksums(NULL, 40, NULL, 0));
}

/* In a batch only the first packet is summed, up to its IP length. */
static void csum_batch(void)
{
	uint8_t buf[MAX_PKT];
	UINT len = spoiled(buf, ipv4_udp, sizeof(ipv4_udp), 20, 6);
	UINT second = spoiled(buf + len, ipv6_tcp, sizeof(ipv6_tcp), 40, 16);

	CHECK(WinDivertHelperCalcChecksums(buf, len + second, NULL, 0));
	CHECK(!memcmp(buf, ipv4_udp, len));
	CHECK(ipr_checksum_verify(buf + len, second) == -EBADMSG);
}

/* ---- TTL ---- */

static void ttl_decrement(void)
{
	uint8_t buf[MAX_PKT];
	UINT len = copy_packet(buf, ipv4_tcp, sizeof(ipv4_tcp));

	CHECK(WinDivertHelperDecrementTTL(buf, len) && GetLastError() == 0);
	CHECK(buf[8] == 63 && ipr_checksum_verify(buf, len) == 0);
	len = copy_packet(buf, ipv6_tcp, sizeof(ipv6_tcp));
	CHECK(WinDivertHelperDecrementTTL(buf, len) && buf[7] == 63);
}

/* A TTL that would reach 0 is FALSE without an error, the packet as it was. */
static void ttl_expiry(void)
{
	uint8_t buf[MAX_PKT];
	UINT len = copy_packet(buf, ipv4_udp, sizeof(ipv4_udp));

	CHECK(WinDivertHelperCalcChecksums(buf, len, NULL, 0));
	buf[8] = 2;
	CHECK(WinDivertHelperCalcChecksums(buf, len, NULL, 0));
	CHECK(WinDivertHelperDecrementTTL(buf, len) && buf[8] == 1);
	CHECK(!WinDivertHelperDecrementTTL(buf, len) && buf[8] == 1 && GetLastError() == 0);
	CHECK(ipr_checksum_verify(buf, len) == 0);
	len = copy_packet(buf, ipv6_icmp_echo, sizeof(ipv6_icmp_echo));
	buf[7] = 0;
	CHECK(!WinDivertHelperDecrementTTL(buf, len) && buf[7] == 0);
	CHECK(!WinDivertHelperDecrementTTL(buf, 39) && failed_with(ERROR_INVALID_PARAMETER));
	CHECK(!WinDivertHelperDecrementTTL(NULL, 40) && failed_with(ERROR_INVALID_PARAMETER));
	buf[0] = 0x30;
	CHECK(!WinDivertHelperDecrementTTL(buf, len) && failed_with(ERROR_INVALID_PARAMETER));
}

/* ---- addresses ---- */

static void addr_parse_ipv4(void)
{
	UINT32 addr = 0;

	CHECK(WinDivertHelperParseIPv4Address("192.0.2.1", &addr) && addr == 0xc0000201);
	CHECK(WinDivertHelperParseIPv4Address("255.255.255.255", NULL));
	CHECK(!WinDivertHelperParseIPv4Address("1.2.3", &addr) && addr == 0xc0000201);
	CHECK(failed_with(ERROR_INVALID_PARAMETER) && errno == EINVAL);
	CHECK(!WinDivertHelperParseIPv4Address("1.2.3.256", NULL));
	CHECK(!WinDivertHelperParseIPv4Address("1.2.3.4 ", NULL));
	CHECK(!WinDivertHelperParseIPv4Address("", NULL));
	CHECK(!WinDivertHelperParseIPv4Address("::1", NULL));
	CHECK(!WinDivertHelperParseIPv4Address(NULL, &addr));
	/* read as the filter language reads it: decimal, leading zeros too */
	CHECK(WinDivertHelperParseIPv4Address("010.0.0.01", &addr) && addr == 0x0a000001);
}

static int addr_is(const UINT32 *a, UINT32 w3, UINT32 w2, UINT32 w1, UINT32 w0)
{
	return a[3] == w3 && a[2] == w2 && a[1] == w1 && a[0] == w0;
}

static void addr_parse_ipv6(void)
{
	UINT32 a[4];

	CHECK(WinDivertHelperParseIPv6Address("2001:DB8::1", a));
	CHECK(addr_is(a, 0x20010db8, 0, 0, 1));
	CHECK(WinDivertHelperParseIPv6Address("::", a) && addr_is(a, 0, 0, 0, 0));
	CHECK(WinDivertHelperParseIPv6Address("1:2:3:4:5:6:7:8", a));
	CHECK(addr_is(a, 0x00010002, 0x00030004, 0x00050006, 0x00070008));
	CHECK(WinDivertHelperParseIPv6Address("::ffff:10.0.0.1", a));
	CHECK(addr_is(a, 0, 0, 0xffff, 0x0a000001));
	CHECK(WinDivertHelperParseIPv6Address("::10.0.0.1", a) && addr_is(a, 0, 0, 0, 0x0a000001));
	CHECK(WinDivertHelperParseIPv6Address("10.0.0.1", a) && addr_is(a, 0, 0, 0, 0x0a000001));
	CHECK(!WinDivertHelperParseIPv6Address("64:ff9b::1.2.3.4", a));
	CHECK(failed_with(ERROR_INVALID_PARAMETER));
	CHECK(!WinDivertHelperParseIPv6Address("1::2::3", NULL));
	CHECK(!WinDivertHelperParseIPv6Address("12345::", NULL));
	CHECK(!WinDivertHelperParseIPv6Address("g::", NULL));
	CHECK(!WinDivertHelperParseIPv6Address(NULL, a));
}

static void addr_format_ipv4(void)
{
	char buf[16];

	CHECK(WinDivertHelperFormatIPv4Address(0xc0000201, buf, sizeof(buf)));
	CHECK(!strcmp(buf, "192.0.2.1") && GetLastError() == 0);
	CHECK(WinDivertHelperFormatIPv4Address(0xffffffff, buf, 16) && !strcmp(buf, "255.255.255.255"));
	CHECK(WinDivertHelperFormatIPv4Address(0xc0000201, buf, 10) && !strcmp(buf, "192.0.2.1"));
	CHECK(!WinDivertHelperFormatIPv4Address(0xc0000201, buf, 9) && !strcmp(buf, "192.0.2."));
	CHECK(failed_with(ERROR_INSUFFICIENT_BUFFER) && errno == EMSGSIZE);
	CHECK(!WinDivertHelperFormatIPv4Address(0, buf, 0));
	CHECK(!WinDivertHelperFormatIPv4Address(0, NULL, 16) && failed_with(ERROR_INVALID_PARAMETER));
}

/* WinDivert's text: the first longest zero run as "::", even one group; mapped IPv4 dotted. */
static void addr_format_ipv6(void)
{
	static const char *const texts[][2] = {
		{ "2001:db8::1", "2001:db8::1" },
		{ "::", "::" },
		{ "::1", "::1" },
		{ "1::", "1::" },
		{ "1:0:2:3:4:5:6:7", "1::2:3:4:5:6:7" },
		{ "1:0:0:2:0:0:0:3", "1:0:0:2::3" },
		{ "1:0:0:2:3:0:0:4", "1::2:3:0:0:4" },
		{ "ABCD:EF01:2345:6789:abcd:ef01:2345:6789", "abcd:ef01:2345:6789:abcd:ef01:2345:6789" },
		{ "::ffff:192.0.2.1", "192.0.2.1" },
		{ "::192.0.2.1", "::c000:201" },
	};
	UINT32 a[4], b[4];
	char buf[64];

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		CHECK(WinDivertHelperParseIPv6Address(texts[i][0], a));
		CHECK(WinDivertHelperFormatIPv6Address(a, buf, sizeof(buf)));
		CHECK(!strcmp(buf, texts[i][1]));
		/* the dotted form of a mapped address reads back as ::a.b.c.d, as on Windows */
		if (strchr(buf, ':'))
			CHECK(WinDivertHelperParseIPv6Address(buf, b) && !memcmp(a, b, sizeof(a)));
	}
	CHECK(WinDivertHelperParseIPv6Address("2001:db8::1", a));
	CHECK(WinDivertHelperFormatIPv6Address(a, buf, 12) && !strcmp(buf, "2001:db8::1"));
	CHECK(!WinDivertHelperFormatIPv6Address(a, buf, 11) && !strcmp(buf, "2001:db8::"));
	CHECK(failed_with(ERROR_INSUFFICIENT_BUFFER));
	CHECK(!WinDivertHelperFormatIPv6Address(NULL, buf, 64));
}

static void byte_order(void)
{
	static const uint8_t bytes[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	UINT16 x16;
	UINT32 x32;
	UINT64 x64;

	memcpy(&x16, bytes, 2);
	memcpy(&x32, bytes, 4);
	memcpy(&x64, bytes, 8);
	CHECK(WinDivertHelperNtohs(x16) == 0x0102 && WinDivertHelperHtons(0x0102) == x16);
	CHECK(WinDivertHelperNtohl(x32) == 0x01020304 && WinDivertHelperHtonl(0x01020304) == x32);
	CHECK(WinDivertHelperNtohll(x64) == 0x0102030405060708ULL);
	CHECK(WinDivertHelperHtonll(0x0102030405060708ULL) == x64);
}

/* Network-order address bytes <-> host-order words, both spellings, in place too. */
static void byte_order_ipv6(void)
{
	UINT net[4], host[4], back[4];

	memcpy(net, ipv6_tcp + 8, 16); /* 2001:db8::1 */
	WinDivertHelperNtohIPv6Address(net, host);
	CHECK(addr_is(host, 0x20010db8, 0, 0, 1));
	WinDivertHelperHtonIPv6Address(host, back);
	CHECK(!memcmp(back, net, 16));
	WinDivertHelperNtohIpv6Address(net, back);
	CHECK(!memcmp(back, host, 16));
	WinDivertHelperHtonIpv6Address(back, back);
	CHECK(!memcmp(back, net, 16));
}

CHECK_MAIN("windivert_helper",
	   CHECK_CASE(layout_sizes), CHECK_CASE(layout_address_bits), CHECK_CASE(layout_ipv4),
	   CHECK_CASE(layout_ipv6), CHECK_CASE(layout_tcp), CHECK_CASE(parse_ipv4_tcp),
	   CHECK_CASE(parse_ipv6_tcp), CHECK_CASE(parse_icmp), CHECK_CASE(parse_icmp_wrong_family),
	   CHECK_CASE(parse_ipv6_extension_headers), CHECK_CASE(parse_short_transport),
	   CHECK_CASE(parse_fragments), CHECK_CASE(parse_other_protocol), CHECK_CASE(parse_refused),
	   CHECK_CASE(parse_no_outputs), CHECK_CASE(parse_batch), CHECK_CASE(parse_trailing_junk),
	   CHECK_CASE(hash_known_values), CHECK_CASE(hash_inputs),
	   CHECK_CASE(hash_batch_and_refusals), CHECK_CASE(csum_each_protocol),
	   CHECK_CASE(csum_flags), CHECK_CASE(csum_udp_zero), CHECK_CASE(csum_partial_packets),
	   CHECK_CASE(csum_batch), CHECK_CASE(ttl_decrement), CHECK_CASE(ttl_expiry),
	   CHECK_CASE(addr_parse_ipv4), CHECK_CASE(addr_parse_ipv6), CHECK_CASE(addr_format_ipv4),
	   CHECK_CASE(addr_format_ipv6), CHECK_CASE(byte_order), CHECK_CASE(byte_order_ipv6))
