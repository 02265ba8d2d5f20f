/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * netfilter - a small firewall: every packet that matches the filter is
 * blocked, and the sender is told so, as iptables' REJECT target does:
 *   TCP          a reset goes back to the packet's source;
 *   UDP          an ICMP (or ICMPv6) "port unreachable" goes back;
 *   ICMP/ICMPv6  the packet is dropped without an answer.
 * Each blocked packet is printed on one line.
 *
 * Shows: building packets from the header structures of windivert.h, sending
 * them the other way (the received address with Outbound flipped), and
 * WinDivertHelperCalcChecksums. A received packet that is never sent is
 * dropped.
 *
 * Usage: netfilter windivert-filter [priority]
 *   e.g. netfilter true
 *        netfilter "outbound and tcp.DstPort == 80" 1000
 *        netfilter "inbound and tcp.Syn" -400
 *
 * On Linux: run it as root, for example in a network namespace:
 *   ip netns exec NS build/examples/windivert/netfilter "inbound and tcp.DstPort == 8080"
 * An answer sent inbound arrives as if received on the interface of its address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <windivert.h>

#define ntohs(x) WinDivertHelperNtohs(x)
#define ntohl(x) WinDivertHelperNtohl(x)
#define htons(x) WinDivertHelperHtons(x)
#define htonl(x) WinDivertHelperHtonl(x)

#define MAXBUF WINDIVERT_MTU_MAX
#define INET6_ADDRSTRLEN 45
#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_ICMPV6 58
#define QUOTE_MAX 1184 /* bytes of the blocked packet an ICMP error carries, at most */

/* The packets this program makes. */
struct tcp4 {
	WINDIVERT_IPHDR ip;
	WINDIVERT_TCPHDR tcp;
};

struct tcp6 {
	WINDIVERT_IPV6HDR ipv6;
	WINDIVERT_TCPHDR tcp;
};

struct icmp4 {
	WINDIVERT_IPHDR ip;
	WINDIVERT_ICMPHDR icmp;
	UINT8 quote[QUOTE_MAX];
};

struct icmp6 {
	WINDIVERT_IPV6HDR ipv6;
	WINDIVERT_ICMPV6HDR icmpv6;
	UINT8 quote[QUOTE_MAX];
};

/* The headers of the blocked packet. */
struct parsed {
	PWINDIVERT_IPHDR ip;
	PWINDIVERT_IPV6HDR ipv6;
	PWINDIVERT_ICMPHDR icmp;
	PWINDIVERT_ICMPV6HDR icmpv6;
	PWINDIVERT_TCPHDR tcp;
	PWINDIVERT_UDPHDR udp;
	UINT payload_len;
};

/* The console colours of the Windows sample, as ANSI colours, on a terminal only. */
enum { RED = 1, GREEN = 2, BLUE = 4, WHITE = RED | GREEN | BLUE };

static int console;

static void set_color(int color)
{
	if (console && color == WHITE)
		fputs("\033[0m", stdout);
	else if (console)
		printf("\033[%dm", 30 + color);
}

/* ---- the answers ---- */

static void ipv4_init(WINDIVERT_IPHDR *ip, UINT8 protocol, UINT len, const WINDIVERT_IPHDR *to)
{
	ip->Version = 4;
	ip->HdrLength = sizeof(*ip) / sizeof(UINT32);
	ip->Length = htons((UINT16)len);
	ip->TTL = 64;
	ip->Protocol = protocol;
	ip->SrcAddr = to->DstAddr;
	ip->DstAddr = to->SrcAddr;
}

static void ipv6_init(WINDIVERT_IPV6HDR *ipv6, UINT8 next, UINT len,
		      const WINDIVERT_IPV6HDR *to)
{
	ipv6->Version = 6;
	ipv6->Length = htons((UINT16)(len - sizeof(*ipv6)));
	ipv6->NextHdr = next;
	ipv6->HopLimit = 64;
	memcpy(ipv6->SrcAddr, to->DstAddr, sizeof(ipv6->SrcAddr));
	memcpy(ipv6->DstAddr, to->SrcAddr, sizeof(ipv6->DstAddr));
}

/* A reset that answers tcp: it acknowledges what tcp carried. */
static void reset_init(WINDIVERT_TCPHDR *rst, const struct parsed *p)
{
	UINT32 seen = p->tcp->Syn ? 1 : p->payload_len;

	rst->SrcPort = p->tcp->DstPort;
	rst->DstPort = p->tcp->SrcPort;
	rst->SeqNum = p->tcp->Ack ? p->tcp->AckNum : 0;
	rst->AckNum = htonl(ntohl(p->tcp->SeqNum) + seen);
	rst->HdrLength = sizeof(*rst) / sizeof(UINT32);
	rst->Rst = 1;
	rst->Ack = 1;
}

/* The reset for p into buf; its length. */
static UINT make_reset(void *buf, const struct parsed *p)
{
	struct tcp4 *r4 = buf;
	struct tcp6 *r6 = buf;

	if (p->ip) {
		memset(r4, 0, sizeof(*r4));
		ipv4_init(&r4->ip, PROTO_TCP, sizeof(*r4), p->ip);
		reset_init(&r4->tcp, p);
		return sizeof(*r4);
	}
	memset(r6, 0, sizeof(*r6));
	ipv6_init(&r6->ipv6, PROTO_TCP, sizeof(*r6), p->ipv6);
	reset_init(&r6->tcp, p);
	return sizeof(*r6);
}

/* How much of the blocked packet the error quotes: its IP header and the
 * first 8 bytes of its UDP header, as RFC 792 and RFC 4443 ask for. */
static UINT quote_len(const UINT8 *packet, UINT len, const struct parsed *p)
{
	UINT n = (UINT)((const UINT8 *)p->udp - packet) + sizeof(*p->udp);

	n = n < len ? n : len;
	return n < QUOTE_MAX ? n : QUOTE_MAX;
}

/* The "port unreachable" for p into buf; its length. */
static UINT make_unreachable(void *buf, const UINT8 *packet, UINT len, const struct parsed *p)
{
	UINT quoted = quote_len(packet, len, p);
	struct icmp4 *r4 = buf;
	struct icmp6 *r6 = buf;
	UINT total;

	if (p->ip) {
		memset(r4, 0, sizeof(*r4));
		total = sizeof(r4->ip) + sizeof(r4->icmp) + quoted;
		ipv4_init(&r4->ip, PROTO_ICMP, total, p->ip);
		r4->icmp.Type = 3; /* destination unreachable */
		r4->icmp.Code = 3; /* port unreachable */
		memcpy(r4->quote, packet, quoted);
		return total;
	}
	memset(r6, 0, sizeof(*r6));
	total = sizeof(r6->ipv6) + sizeof(r6->icmpv6) + quoted;
	ipv6_init(&r6->ipv6, PROTO_ICMPV6, total, p->ipv6);
	r6->icmpv6.Type = 1; /* destination unreachable */
	r6->icmpv6.Code = 4; /* port unreachable */
	memcpy(r6->quote, packet, quoted);
	return total;
}

/* Send an answer back where the blocked packet came from. */
static void send_back(HANDLE handle, void *answer, UINT len, const WINDIVERT_ADDRESS *recv_addr,
		      const char *what)
{
	WINDIVERT_ADDRESS send_addr = *recv_addr;

	send_addr.Outbound = !recv_addr->Outbound;
	WinDivertHelperCalcChecksums(answer, len, &send_addr, 0);
	if (!WinDivertSend(handle, answer, len, NULL, &send_addr))
		fprintf(stderr, "warning: failed to send %s (%u)\n", what, GetLastError());
}

/* ---- printing ---- */

static void print_addresses(const struct parsed *p)
{
	char src[INET6_ADDRSTRLEN + 1], dst[INET6_ADDRSTRLEN + 1];
	UINT32 addr[4];

	if (p->ip) {
		WinDivertHelperFormatIPv4Address(ntohl(p->ip->SrcAddr), src, sizeof(src));
		WinDivertHelperFormatIPv4Address(ntohl(p->ip->DstAddr), dst, sizeof(dst));
	} else {
		WinDivertHelperNtohIPv6Address(p->ipv6->SrcAddr, addr);
		WinDivertHelperFormatIPv6Address(addr, src, sizeof(src));
		WinDivertHelperNtohIPv6Address(p->ipv6->DstAddr, addr);
		WinDivertHelperFormatIPv6Address(addr, dst, sizeof(dst));
	}
	set_color(RED);
	fputs("BLOCK ", stdout);
	set_color(WHITE);
	printf("ip.SrcAddr=%s ip.DstAddr=%s ", src, dst);
}

static void print_tcp(const WINDIVERT_TCPHDR *tcp)
{
	printf("tcp.SrcPort=%u tcp.DstPort=%u tcp.Flags=%s%s%s%s%s%s ", ntohs(tcp->SrcPort),
	       ntohs(tcp->DstPort), tcp->Fin ? "[FIN]" : "", tcp->Rst ? "[RST]" : "",
	       tcp->Urg ? "[URG]" : "", tcp->Syn ? "[SYN]" : "", tcp->Psh ? "[PSH]" : "",
	       tcp->Ack ? "[ACK]" : "");
}

static void print_packet(const struct parsed *p)
{
	print_addresses(p);
	if (p->icmp)
		printf("icmp.Type=%u icmp.Code=%u ", p->icmp->Type, p->icmp->Code);
	if (p->icmpv6)
		printf("icmpv6.Type=%u icmpv6.Code=%u ", p->icmpv6->Type, p->icmpv6->Code);
	if (p->tcp)
		print_tcp(p->tcp);
	if (p->udp)
		printf("udp.SrcPort=%u udp.DstPort=%u ", ntohs(p->udp->SrcPort),
		       ntohs(p->udp->DstPort));
	putchar('\n');
}

/* ---- the program ---- */

/* Print the packet, answer it if it is TCP (but not a reset or FIN) or UDP. */
static void block(HANDLE handle, const UINT8 *packet, UINT len, const WINDIVERT_ADDRESS *addr)
{
	static union {
		struct tcp4 tcp4;
		struct tcp6 tcp6;
		struct icmp4 icmp4;
		struct icmp6 icmp6;
	} answer;
	struct parsed p;

	WinDivertHelperParsePacket(packet, len, &p.ip, &p.ipv6, NULL, &p.icmp, &p.icmpv6, &p.tcp,
				   &p.udp, NULL, &p.payload_len, NULL, NULL);
	if (!p.ip && !p.ipv6)
		return;
	print_packet(&p);
	if (p.tcp && !p.tcp->Rst && !p.tcp->Fin)
		send_back(handle, &answer, make_reset(&answer, &p), addr, "TCP reset");
	if (p.udp)
		send_back(handle, &answer, make_unreachable(&answer, packet, len, &p), addr,
			  p.ip ? "ICMP message" : "ICMPv6 message");
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s windivert-filter [priority]\n", prog);
	fprintf(stderr, "examples:\n");
	fprintf(stderr, "\t%s true\n", prog);
	fprintf(stderr, "\t%s \"outbound and tcp.DstPort == 80\" 1000\n", prog);
	fprintf(stderr, "\t%s \"inbound and tcp.Syn\" -400\n", prog);
	exit(EXIT_FAILURE);
}

static HANDLE open_handle(const char *filter, INT16 priority)
{
	HANDLE handle = WinDivertOpen(filter, WINDIVERT_LAYER_NETWORK, priority, 0);
	const char *err_str;

	if (handle != INVALID_HANDLE_VALUE)
		return handle;
	if (GetLastError() == ERROR_INVALID_PARAMETER &&
	    !WinDivertHelperCompileFilter(filter, WINDIVERT_LAYER_NETWORK, NULL, 0, &err_str,
					  NULL)) {
		fprintf(stderr, "error: invalid filter \"%s\"\n", err_str);
		exit(EXIT_FAILURE);
	}
	fprintf(stderr, "error: failed to open the WinDivert device (%u)\n", GetLastError());
	exit(EXIT_FAILURE);
}

int main(int argc, char **argv)
{
	static UINT8 packet[MAXBUF];
	INT16 priority = 0;
	UINT packet_len;
	WINDIVERT_ADDRESS addr;
	HANDLE handle;

	if (argc != 2 && argc != 3)
		usage(argv[0]);
	if (argc == 3)
		priority = (INT16)atoi(argv[2]);
	console = isatty(STDOUT_FILENO);
	setvbuf(stdout, NULL, _IOLBF, 0); /* each line as it comes, into a pipe or file too */
	handle = open_handle(argv[1], priority);
	for (;;) {
		if (!WinDivertRecv(handle, packet, sizeof(packet), &packet_len, &addr)) {
			fprintf(stderr, "warning: failed to read packet (%u)\n", GetLastError());
			continue;
		}
		block(handle, packet, packet_len, &addr);
	}
}
