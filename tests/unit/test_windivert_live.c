/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_windivert_live.c - the filter language live: for each case, one packet
 * goes through the kernel while two SNIFF handles watch, one with only a
 * guard that singles the packet out, one with the case's filter and the
 * guard. The case's handle must take the packet exactly when the table says,
 * and WinDivertHelperEvalFilter() on the packet and address the guard's
 * handle got must say the same: the kernel part, the user-space part and the
 * evaluator agree on real traffic. In a private network namespace (root).
 *
 * Packets: outbound over loopback from real sockets (UDP, TCP, ICMP, IPv4 and
 * IPv6), and inbound as arriving on a veth end, injected with ipr_send_in()
 * by a libipredir handle of the highest priority (so they are impostors).
 */
#include <errno.h>
#include <netinet/ip_icmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ipredir.h"
#include "live.h"
#include "windivert.h"

#define PORT 7500

enum kind { UDP4_OUT, UDP6_OUT, TCP4_OUT, ICMP4_OUT, UDP4_IN, KINDS };

/* The guard that singles out a kind's packet (its port, or ICMP's id). */
static const char *const guard[KINDS] = {
	[UDP4_OUT] = "udp.DstPort == 7500", [UDP6_OUT] = "udp.DstPort == 7501",
	[TCP4_OUT] = "tcp.DstPort == 7502", [ICMP4_OUT] = "icmp.Type == 8 and icmp.Body == 0x1d4c0001",
	[UDP4_IN] = "udp.DstPort == 7504",
};

struct live_case {
	const char *filter;
	enum kind kind;
	int want;
};

static const struct live_case cases[] = {
	{ "true", UDP4_OUT, 1 }, { "false", UDP4_OUT, 0 },
	{ "outbound", UDP4_OUT, 1 }, { "inbound", UDP4_OUT, 0 }, { "inbound", UDP4_IN, 1 },
	{ "loopback", UDP4_OUT, 1 }, { "loopback", UDP4_IN, 0 },
	{ "impostor", UDP4_IN, 1 }, { "impostor", UDP4_OUT, 0 },
	{ "ip", UDP4_OUT, 1 }, { "ipv6", UDP4_OUT, 0 }, { "ipv6", UDP6_OUT, 1 },
	{ "udp", UDP6_OUT, 1 }, { "tcp", UDP4_OUT, 0 }, { "tcp", TCP4_OUT, 1 },
	{ "icmp", ICMP4_OUT, 1 }, { "icmp and icmp.Code == 0", ICMP4_OUT, 1 },
	{ "icmp.Code != 0", ICMP4_OUT, 0 }, { "protocol == 17", UDP4_OUT, 1 },
	{ "protocol == UDP", UDP6_OUT, 1 }, { "protocol == TCP", UDP4_OUT, 0 },
	{ "ip.DstAddr == 127.0.0.1", UDP4_OUT, 1 }, { "ip.SrcAddr == 10.99.0.2", UDP4_IN, 1 },
	{ "ip.SrcAddr == 10.99.0.3", UDP4_IN, 0 }, { "ipv6.DstAddr == ::1", UDP6_OUT, 1 },
	{ "localAddr == 10.99.0.1 and remoteAddr == 10.99.0.2", UDP4_IN, 1 },
	{ "remotePort == 4444", UDP4_IN, 1 }, { "localPort == 7504", UDP4_IN, 1 },
	{ "udp.SrcPort == 4444", UDP4_IN, 1 }, { "udp.SrcPort < 1024", UDP4_IN, 0 },
	{ "udp.Length == 16", UDP4_OUT, 1 }, { "udp.PayloadLength == 8", UDP6_OUT, 1 },
	{ "udp.Payload[0] == 0x61", UDP4_OUT, 1 }, { "udp.Payload[-1] == 0x68", UDP4_OUT, 1 },
	{ "udp.Payload16[1] == 0x6364", UDP4_IN, 1 }, { "udp.Payload32[-4b] == 0x65666768", UDP6_OUT, 1 },
	{ "udp.Payload[8]", UDP4_OUT, 0 }, { "packet[9] == 17", UDP4_OUT, 1 },
	{ "packet16[-2b] == 0x6768", UDP4_IN, 1 }, { "packet32[0] == 0x45000024", UDP4_OUT, 1 },
	{ "length == 36", UDP4_OUT, 1 }, { "length == 56", UDP6_OUT, 1 },
	{ "ip.TTL == 64", UDP4_OUT, 1 }, { "ip.TTL > 64", UDP4_OUT, 0 }, { "ipv6.HopLimit == 64", UDP6_OUT, 1 },
	{ "ip.DF", TCP4_OUT, 1 }, { "ip.MF or fragment", UDP4_OUT, 0 },
	{ "tcp.Syn and not tcp.Ack", TCP4_OUT, 1 }, { "tcp.Fin", TCP4_OUT, 0 },
	{ "tcp.PayloadLength == 0", TCP4_OUT, 1 }, { "tcp.HdrLength > 5", TCP4_OUT, 1 },
	{ "ifIdx == 1", UDP4_OUT, 1 }, { "ifIdx == 1", UDP4_IN, 0 },
	{ "(udp ? udp.SrcPort == 4444 : false)", UDP4_IN, 1 },
	{ "(tcp ? true : udp.Payload[0] == 0x62)", UDP4_OUT, 0 },
	{ "not ip or not udp or length > 1000", UDP4_OUT, 0 },
	{ "((((udp.DstPort > 7000))) && (!tcp && !icmp))", UDP4_OUT, 1 },
	{ "random8 >= 0", UDP4_OUT, 1 }, { "zero == 0", ICMP4_OUT, 1 },
	{ "event == PACKET", UDP6_OUT, 1 },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static struct ipr_handle *injector; /* priority 30000: its injections are impostors below */
static unsigned int veth;
static uint8_t buf[WINDIVERT_MTU_MAX];

/* ---- the packets ---- */

static void send_udp(int family, uint16_t port)
{
	struct sockaddr_in6 to6 = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				    .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in to4 = loopback_port(port);
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (family == AF_INET6)
		sendto(fd, "abcdefgh", 8, 0, (struct sockaddr *)&to6, sizeof(to6));
	else
		sendto(fd, "abcdefgh", 8, 0, (struct sockaddr *)&to4, sizeof(to4));
	close(fd);
}

static void send_syn(uint16_t port)
{
	struct sockaddr_in to = loopback_port(port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	connect(fd, (struct sockaddr *)&to, sizeof(to)); /* the SYN: nobody listens */
	usleep(20 * 1000);
	close(fd);
}

/* An echo request with id 0x1d4c and sequence 1 (icmp.Body 0x1d4c0001). */
static void send_ping(void)
{
	uint8_t echo[16] = { 8, 0, 0, 0, 0x1d, 0x4c, 0, 1 };
	struct sockaddr_in to = loopback_port(0);
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	uint16_t sum = (uint16_t)~ipr_csum_partial(echo, sizeof(echo), 0);

	memcpy(echo + 2, &sum, 2);
	sendto(fd, echo, sizeof(echo), 0, (struct sockaddr *)&to, sizeof(to));
	close(fd);
}

/* 10.99.0.2:4444 -> 10.99.0.1:7504 "abcdefgh", arriving on the veth end. */
static void send_inbound(void)
{
	uint8_t p[36] = { 0x45, 0, 0, 36, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 99, 0, 2,
			  10, 99, 0, 1, 0x11, 0x5c, 0x1d, 0x50, 0, 16, 0, 0 };

	memcpy(p + 28, "abcdefgh", 8);
	ipr_checksum_fill(p, sizeof(p));
	ipr_send_in(injector, p, sizeof(p), veth);
}

static void send_kind(enum kind k)
{
	switch (k) {
	case UDP4_OUT:
		return send_udp(AF_INET, PORT);
	case UDP6_OUT:
		return send_udp(AF_INET6, PORT + 1);
	case TCP4_OUT:
		return send_syn(PORT + 2);
	case ICMP4_OUT:
		return send_ping();
	default:
		return send_inbound();
	}
}

/* ---- one case ---- */

static HANDLE sniff(const char *filter)
{
	HANDLE h = WinDivertOpen(filter, WINDIVERT_LAYER_NETWORK, 0, WINDIVERT_FLAG_SNIFF);

	if (h == INVALID_HANDLE_VALUE)
		fprintf(stderr, "  open \"%s\": error %u\n", filter, (unsigned)GetLastError());
	return h;
}

/* Whether h took a packet by now; the first one into buf/len/a. */
static int took(HANDLE h, UINT *len, WINDIVERT_ADDRESS *a)
{
	WinDivertShutdown(h, WINDIVERT_SHUTDOWN_RECV); /* what waits, then ERROR_NO_DATA */
	return WinDivertRecv(h, buf, sizeof(buf), len, a);
}

/* 1 if the case holds; prints what disagreed otherwise. */
static int run_case(const struct live_case *c)
{
	char both[512];
	WINDIVERT_ADDRESS a, b;
	UINT len = 0, len2 = 0;
	HANDLE g, h;
	int got, taken, eval;

	snprintf(both, sizeof(both), "(%s) and %s", c->filter, guard[c->kind]);
	g = sniff(guard[c->kind]);
	h = sniff(both);
	if (g == INVALID_HANDLE_VALUE || h == INVALID_HANDLE_VALUE)
		return 0;
	send_kind(c->kind);
	usleep(100 * 1000);
	taken = took(h, &len2, &b);
	got = took(g, &len, &a);
	eval = got ? WinDivertHelperEvalFilter(c->filter, buf, len, &a) : -1;
	WinDivertClose(g);
	WinDivertClose(h);
	if (got && taken == c->want && eval == c->want)
		return 1;
	fprintf(stderr, "  \"%s\": want %d, live %d, eval %d%s\n", c->filter, c->want, taken,
		eval, got ? "" : " (the guard saw no packet)");
	return 0;
}

static void test_live_filters(void)
{
	for (size_t i = 0; i < NCASES; i++)
		CHECK(run_case(&cases[i]));
}

/* A veth end with 10.99.0.1 to take inbound packets; the injector. */
static int setup(void)
{
	struct ipr_options o = IPR_OPTIONS_INIT;

	if (system("ip link add wv0 type veth peer name wv1 && ip addr add 10.99.0.1/24 dev wv0"
		   " && ip link set wv0 up && ip link set wv1 up"))
		return -1;
	veth = if_nametoindex("wv0");
	o.flags = IPR_OPEN_SEND_ONLY | IPR_OPEN_INJECT_BELOW;
	o.priority = IPR_PRIORITY_MAX;
	return veth && ipr_open(&o, &injector) == 0 ? 0 : -1;
}

int main(void)
{
	static const struct check_case all[] = { CHECK_CASE(test_live_filters) };

	if (private_netns() < 0 || setup() < 0) {
		printf("SKIP: windivert_live.test_live_filters (needs root and a private network "
		       "namespace)\n");
		return 0;
	}
	return check_run("windivert_live", all, 1);
}
