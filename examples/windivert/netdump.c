/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * netdump - a traffic monitor: print every packet that matches a filter,
 * header by header, then its bytes in hex and as text. The handle only takes
 * copies (WINDIVERT_FLAG_SNIFF): the packets themselves go on untouched.
 *
 * Shows: WINDIVERT_FLAG_SNIFF, WinDivertSetParam, WinDivertHelperParsePacket,
 * WinDivertHelperHashPacket, the address formatting helpers, and
 * WinDivertHelperCompileFilter to say what is wrong with a filter.
 *
 * Usage: netdump windivert-filter [priority]
 *   e.g. netdump true
 *        netdump "outbound and tcp.DstPort == 80" 1000
 *        netdump "inbound and tcp.Syn" -400
 *
 * On Linux: run it as root, for example in a network namespace:
 *   ip netns exec NS build/examples/windivert/netdump "icmp or icmpv6"
 * WinDivert's netdump also asks for WINDIVERT_FLAG_FRAGMENTS; libwindivert
 * refuses that flag for inbound packets (the kernel reassembles them before
 * they can be taken), so this one shows inbound packets reassembled.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <windivert.h>

#define ntohs(x) WinDivertHelperNtohs(x)
#define ntohl(x) WinDivertHelperNtohl(x)

#define MAXBUF WINDIVERT_MTU_MAX
#define INET6_ADDRSTRLEN 45

/* The console colours of the Windows sample, as ANSI colours (bit 0 red,
 * bit 1 green, bit 2 blue), shown only on a terminal. */
enum { RED = 1, GREEN = 2, BLUE = 4, WHITE = RED | GREEN | BLUE };

static int console;

static void set_color(int color)
{
	if (console && color == WHITE)
		fputs("\033[0m", stdout);
	else if (console)
		printf("\033[%dm", 30 + color);
}

/* Now in the unit of WINDIVERT_ADDRESS.Timestamp: 100 ns of CLOCK_MONOTONIC. */
static INT64 now_ticks(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (INT64)ts.tv_sec * 10000000 + ts.tv_nsec / 100;
}

static void print_address(const void *packet, UINT len, const WINDIVERT_ADDRESS *addr,
			  INT64 base)
{
	set_color(RED);
	printf("Packet [Timestamp=%.8g, Direction=%s IfIdx=%u SubIfIdx=%u Loopback=%u "
	       "Hash=0x%.16llX]\n",
	       (double)(addr->Timestamp - base) / 1e7, addr->Outbound ? "outbound" : "inbound",
	       addr->Network.IfIdx, addr->Network.SubIfIdx, addr->Loopback,
	       (unsigned long long)WinDivertHelperHashPacket(packet, len, 0));
}

static void print_ipv4(const WINDIVERT_IPHDR *ip)
{
	char src[INET6_ADDRSTRLEN + 1], dst[INET6_ADDRSTRLEN + 1];

	WinDivertHelperFormatIPv4Address(ntohl(ip->SrcAddr), src, sizeof(src));
	WinDivertHelperFormatIPv4Address(ntohl(ip->DstAddr), dst, sizeof(dst));
	set_color(RED | GREEN);
	printf("IPv4 [Version=%u HdrLength=%u TOS=%u Length=%u Id=0x%.4X Reserved=%u DF=%u "
	       "MF=%u FragOff=%u TTL=%u Protocol=%u Checksum=0x%.4X SrcAddr=%s DstAddr=%s]\n",
	       ip->Version, ip->HdrLength, ip->TOS, ntohs(ip->Length), ntohs(ip->Id),
	       WINDIVERT_IPHDR_GET_RESERVED(ip), WINDIVERT_IPHDR_GET_DF(ip),
	       WINDIVERT_IPHDR_GET_MF(ip), ntohs(WINDIVERT_IPHDR_GET_FRAGOFF(ip)), ip->TTL,
	       ip->Protocol, ntohs(ip->Checksum), src, dst);
}

/* The 20-bit flow label: 4 bits, then 16 in network order. */
static UINT32 flow_label(const WINDIVERT_IPV6HDR *ipv6)
{
	return (UINT32)ipv6->FlowLabel0 << 16 | ntohs(ipv6->FlowLabel1);
}

static void print_ipv6(const WINDIVERT_IPV6HDR *ipv6)
{
	char src[INET6_ADDRSTRLEN + 1], dst[INET6_ADDRSTRLEN + 1];
	UINT32 addr[4];

	WinDivertHelperNtohIPv6Address(ipv6->SrcAddr, addr);
	WinDivertHelperFormatIPv6Address(addr, src, sizeof(src));
	WinDivertHelperNtohIPv6Address(ipv6->DstAddr, addr);
	WinDivertHelperFormatIPv6Address(addr, dst, sizeof(dst));
	set_color(RED | GREEN);
	printf("IPv6 [Version=%u TrafficClass=%u FlowLabel=%u Length=%u NextHdr=%u "
	       "HopLimit=%u SrcAddr=%s DstAddr=%s]\n",
	       ipv6->Version, WINDIVERT_IPV6HDR_GET_TRAFFICCLASS(ipv6), flow_label(ipv6),
	       ntohs(ipv6->Length), ipv6->NextHdr, ipv6->HopLimit, src, dst);
}

static void print_icmp(const char *name, UINT8 type, UINT8 code, UINT16 checksum, UINT32 body)
{
	set_color(RED);
	printf("%s [Type=%u Code=%u Checksum=0x%.4X Body=0x%.8X]\n", name, type, code,
	       ntohs(checksum), ntohl(body));
}

static void print_tcp(const WINDIVERT_TCPHDR *tcp)
{
	set_color(GREEN);
	printf("TCP [SrcPort=%u DstPort=%u SeqNum=%u AckNum=%u HdrLength=%u Reserved1=%u "
	       "Reserved2=%u Urg=%u Ack=%u Psh=%u Rst=%u Syn=%u Fin=%u Window=%u "
	       "Checksum=0x%.4X UrgPtr=%u]\n",
	       ntohs(tcp->SrcPort), ntohs(tcp->DstPort), ntohl(tcp->SeqNum), ntohl(tcp->AckNum),
	       tcp->HdrLength, tcp->Reserved1, tcp->Reserved2, tcp->Urg, tcp->Ack, tcp->Psh,
	       tcp->Rst, tcp->Syn, tcp->Fin, ntohs(tcp->Window), ntohs(tcp->Checksum),
	       ntohs(tcp->UrgPtr));
}

static void print_udp(const WINDIVERT_UDPHDR *udp)
{
	set_color(GREEN);
	printf("UDP [SrcPort=%u DstPort=%u Length=%u Checksum=0x%.4X]\n", ntohs(udp->SrcPort),
	       ntohs(udp->DstPort), ntohs(udp->Length), ntohs(udp->Checksum));
}

/* The packet's bytes: 20 a line in hex, then 40 a line as text. */
static void print_bytes(const UINT8 *packet, UINT len)
{
	set_color(GREEN | BLUE);
	for (UINT i = 0; i < len; i++)
		printf(i % 20 == 0 ? "\n\t%.2X" : "%.2X", packet[i]);
	set_color(RED | BLUE);
	for (UINT i = 0; i < len; i++) {
		if (i % 40 == 0)
			fputs("\n\t", stdout);
		putchar(isprint(packet[i]) ? packet[i] : '.');
	}
	putchar('\n');
	set_color(WHITE);
}

static void print_packet(const UINT8 *packet, UINT len, const WINDIVERT_ADDRESS *addr,
			 INT64 base)
{
	PWINDIVERT_IPHDR ip;
	PWINDIVERT_IPV6HDR ipv6;
	PWINDIVERT_ICMPHDR icmp;
	PWINDIVERT_ICMPV6HDR icmpv6;
	PWINDIVERT_TCPHDR tcp;
	PWINDIVERT_UDPHDR udp;

	WinDivertHelperParsePacket(packet, len, &ip, &ipv6, NULL, &icmp, &icmpv6, &tcp, &udp,
				   NULL, NULL, NULL, NULL);
	if (!ip && !ipv6)
		fprintf(stderr, "warning: junk packet\n");
	putchar('\n');
	print_address(packet, len, addr, base);
	if (ip)
		print_ipv4(ip);
	if (ipv6)
		print_ipv6(ipv6);
	if (icmp)
		print_icmp("ICMP", icmp->Type, icmp->Code, icmp->Checksum, icmp->Body);
	if (icmpv6)
		print_icmp("ICMPV6", icmpv6->Type, icmpv6->Code, icmpv6->Checksum, icmpv6->Body);
	if (tcp)
		print_tcp(tcp);
	if (udp)
		print_udp(udp);
	print_bytes(packet, len);
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
	HANDLE handle = WinDivertOpen(filter, WINDIVERT_LAYER_NETWORK, priority,
				      WINDIVERT_FLAG_SNIFF);
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

/* The longest queue the handle may have, so that a burst loses no copy. */
static void max_out_queue(HANDLE handle)
{
	if (!WinDivertSetParam(handle, WINDIVERT_PARAM_QUEUE_LENGTH,
			       WINDIVERT_PARAM_QUEUE_LENGTH_MAX) ||
	    !WinDivertSetParam(handle, WINDIVERT_PARAM_QUEUE_TIME,
			       WINDIVERT_PARAM_QUEUE_TIME_MAX) ||
	    !WinDivertSetParam(handle, WINDIVERT_PARAM_QUEUE_SIZE,
			       WINDIVERT_PARAM_QUEUE_SIZE_MAX)) {
		fprintf(stderr, "error: failed to set the packet queue parameters (%u)\n",
			GetLastError());
		exit(EXIT_FAILURE);
	}
}

int main(int argc, char **argv)
{
	static UINT8 packet[MAXBUF];
	INT16 priority = 0;
	UINT packet_len;
	WINDIVERT_ADDRESS addr;
	HANDLE handle;
	INT64 base;

	if (argc != 2 && argc != 3)
		usage(argv[0]);
	if (argc == 3)
		priority = (INT16)atoi(argv[2]);
	console = isatty(STDOUT_FILENO);
	setvbuf(stdout, NULL, _IOLBF, 0); /* each line as it comes, into a pipe or file too */
	handle = open_handle(argv[1], priority);
	max_out_queue(handle);
	base = now_ticks();
	for (;;) {
		if (!WinDivertRecv(handle, packet, sizeof(packet), &packet_len, &addr)) {
			fprintf(stderr, "warning: failed to read packet (%u)\n", GetLastError());
			continue;
		}
		print_packet(packet, packet_len, &addr, base);
	}
}
