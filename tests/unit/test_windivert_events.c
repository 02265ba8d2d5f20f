/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_windivert_events.c - the FLOW and SOCKET layers of libwindivert.
 *
 * Without root: a SOCKET filter's kernel rule (wd_filter_rule()) decides every
 * bind and connect of a table as the filter decides its event, and filters the
 * kernel cannot decide are refused. Live, in a private network namespace
 * (root; skipped otherwise): the flows of TCP and UDP over IPv4 and IPv6 with
 * their process, endpoints, addresses and direction; the filter choosing
 * them; bind, connect, listen, accept and close; a SOCKET handle without SNIFF
 * refusing connects and binds (EPERM) until it is closed or its process is
 * killed; the flags each layer requires; Send refused; Shutdown waking a Recv.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "check.h"
#include "filter.h"
#include "live.h"
#include "windivert.h"

#define PORT 7600
#define SNIFF_ONLY (WINDIVERT_FLAG_SNIFF | WINDIVERT_FLAG_RECV_ONLY)

/* ---- the kernel rule, run here as the kernel runs it ---- */

/* A bind or connect call as the rule and the filter see it. */
struct call {
	uint32_t event, pid, protocol, v6, local_port, remote_port, loopback;
	uint32_t local[4], remote[4];
};

static int rule_holds(const struct call *c, const struct ipr_call_test *t)
{
	const uint32_t *v = NULL;
	uint32_t one[4] = { 0 };
	int words = 1, r = 0;

	switch (t->field) {
	case IPR_CALL_EVENT: one[0] = c->event; break;
	case IPR_CALL_PID: one[0] = c->pid; break;
	case IPR_CALL_PROTOCOL: one[0] = c->protocol; break;
	case IPR_CALL_IPV6: one[0] = c->v6; break;
	case IPR_CALL_LOCAL_ADDR: v = c->local, words = 4; break;
	case IPR_CALL_LOCAL_PORT: one[0] = c->local_port; break;
	case IPR_CALL_REMOTE_ADDR: v = c->remote, words = 4; break;
	case IPR_CALL_REMOTE_PORT: one[0] = c->remote_port; break;
	case IPR_CALL_LOOPBACK: one[0] = c->loopback; break;
	}
	v = v ? v : one;
	for (int i = words - 1; i >= 0 && !r; i--)
		r = v[i] < t->value[i] ? -1 : v[i] > t->value[i];
	return wd_op_holds(t->cmp, r);
}

static int rule_matches(const struct ipr_call_test *rule, int n, const struct call *c)
{
	unsigned int i = 0;

	while ((int)i < n)
		i = rule_holds(c, &rule[i]) ? rule[i].yes : rule[i].no;
	return i == IPR_CALL_MATCH;
}

static void address_of_call(const struct call *c, WINDIVERT_ADDRESS *a)
{
	memset(a, 0, sizeof(*a));
	a->Layer = WINDIVERT_LAYER_SOCKET;
	a->Event = c->event;
	a->Outbound = c->event == WINDIVERT_EVENT_SOCKET_CONNECT;
	a->Loopback = c->loopback;
	a->IPv6 = c->v6;
	a->Socket.ProcessId = c->pid;
	a->Socket.Protocol = (UINT8)c->protocol;
	a->Socket.LocalPort = (UINT16)c->local_port;
	a->Socket.RemotePort = (UINT16)c->remote_port;
	a->Socket.EndpointId = 12345; /* what the rule cannot see: the filter must not ask */
	memcpy(a->Socket.LocalAddr, c->local, sizeof(c->local));
	memcpy(a->Socket.RemoteAddr, c->remote, sizeof(c->remote));
}

#define V4(a, b, c, d) { ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d)), 0xFFFF }

static const struct call calls[] = {
	{ 4, 100, 6, 0, 40000, 80, 0, V4(10, 0, 0, 2), V4(10, 0, 0, 1) },
	{ 4, 100, 17, 0, 40001, 53, 0, V4(10, 0, 0, 2), V4(10, 0, 0, 9) },
	{ 4, 200, 6, 1, 40002, 80, 1, { 1 }, { 1 } },
	{ 4, 200, 1, 0, 0, 0, 1, V4(127, 0, 0, 1), V4(127, 0, 0, 1) },
	{ 4, 200, 58, 1, 0, 0, 0, { 1 }, { 5, 0, 0, 0xfd000000 } },
	{ 3, 100, 6, 0, 8080, 0, 0, V4(0, 0, 0, 0), { 0 } },
	{ 3, 300, 17, 1, 53, 0, 0, { 0 }, { 0 } },
	{ 3, 300, 17, 0, 999, 0, 0, V4(127, 0, 0, 1), { 0 } },
};

/* The rule of filter and the filter agree on every call of the table. */
static int rule_agrees(const char *filter)
{
	struct ipr_call_test rule[IPR_CALL_TESTS];
	struct wd_filter *f = NULL;
	int n, ok = 1;

	if (wd_filter_compile(filter, WINDIVERT_LAYER_SOCKET, &f, NULL, NULL))
		return 0;
	n = wd_filter_rule(f, rule, IPR_CALL_TESTS);
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]) && n >= 0; i++) {
		WINDIVERT_ADDRESS a;

		address_of_call(&calls[i], &a);
		if (rule_matches(rule, n, &calls[i]) != wd_filter_match(f, NULL, 0, &a)) {
			fprintf(stderr, "  \"%s\": the rule and the filter differ on call %zu\n",
				filter, i);
			ok = 0;
		}
	}
	wd_filter_free(f);
	return n >= 0 && ok;
}

static int rule_error(const char *filter)
{
	struct ipr_call_test rule[IPR_CALL_TESTS];
	struct wd_filter *f = NULL;
	int n = -1;

	if (wd_filter_compile(filter, WINDIVERT_LAYER_SOCKET, &f, NULL, NULL) == 0)
		n = wd_filter_rule(f, rule, IPR_CALL_TESTS);
	wd_filter_free(f);
	return n;
}

static void test_rule_decides_as_the_filter(void)
{
	static const char *const filters[] = {
		"true", "false", "zero", "remotePort == 80", "tcp and remotePort == 80",
		"not udp", "udp or remotePort < 60", "outbound", "inbound and localPort == 53",
		"icmp", "icmpv6", "not icmp", "ip and remoteAddr == 10.0.0.1", "ipv6",
		"remoteAddr == ::1 or localAddr == 127.0.0.1", "loopback", "not loopback",
		"(processId == 100 ? remotePort == 80 : localPort >= 999)",
		"event == CONNECT", "event == BIND and localPort != 8080", "event != LISTEN",
		"event == CLOSE and endpointId == 5 or remotePort == 53",
		"parentEndpointId == 0 and localPort > 1000", "parentEndpointId != 0",
		"remoteAddr >= fd00::1 and remoteAddr < fd00::10", "protocol == 17 and ipv6",
		"localAddr == 0.0.0.0 or localAddr == ::", "(tcp ? outbound : udp) and not zero",
	};

	for (size_t i = 0; i < sizeof(filters) / sizeof(filters[0]); i++)
		CHECK(rule_agrees(filters[i]));
}

static void test_rule_refuses_what_the_kernel_cannot_see(void)
{
	char big[2048] = "remotePort == 1";

	CHECK(rule_error("endpointId == 5") == -EINVAL);
	CHECK(rule_error("remotePort == 80 and timestamp > 0") == -EINVAL);
	CHECK(rule_error("event == ACCEPT and endpointId == 5") == 0); /* never at a call */
	CHECK(rule_error("false") == 0);
	for (int i = 2; i <= 70; i++)
		snprintf(big + strlen(big), sizeof(big) - strlen(big), " or remotePort == %d", i);
	CHECK(rule_error(big) == -E2BIG);
}

/* ---- live ---- */

static uint64_t cookie_of(int fd)
{
	uint64_t c = 0;
	socklen_t len = sizeof(c);

	getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len);
	return c;
}

static HANDLE open_layer(const char *filter, WINDIVERT_LAYER layer, UINT64 flags)
{
	HANDLE h = WinDivertOpen(filter, layer, 0, flags);

	if (h == INVALID_HANDLE_VALUE)
		fprintf(stderr, "  WinDivertOpen(\"%s\"): error %u\n", filter,
			(unsigned)GetLastError());
	return h;
}

/* An address of one family as a sockaddr: 127.0.0.1 or ::1 at port. */
static socklen_t loopback_at(int v6, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (v6) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		s->sin6_addr = in6addr_loopback;
		return sizeof(*s);
	}
	*(struct sockaddr_in *)ss = loopback_port(port);
	return sizeof(struct sockaddr_in);
}

static int socket_at(int v6, int type, uint16_t port, int do_bind)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback_at(v6, port, &ss);
	int fd = socket(v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, 0);

	if (fd >= 0 && do_bind && bind(fd, (struct sockaddr *)&ss, len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* connect fd to the loopback address of its family at port: 0 or errno. */
static int connect_to(int fd, int v6, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback_at(v6, port, &ss);

	return connect(fd, (struct sockaddr *)&ss, len) < 0 ? errno : 0;
}

/* Whether the address's words are 127.0.0.1 (as ::ffff:127.0.0.1) or ::1. */
static int is_loopback_words(const UINT32 *w, int v6)
{
	if (v6)
		return w[0] == 1 && !w[1] && !w[2] && !w[3];
	return w[0] == 0x7f000001 && w[1] == 0xFFFF && !w[2] && !w[3];
}

static int recv_event(HANDLE h, WINDIVERT_ADDRESS *a)
{
	UINT len = 99;

	return WinDivertRecv(h, NULL, 0, &len, a) && len == 0;
}

/* A TCP connection over loopback: its client, its server's end, its listener. */
struct conn {
	int client, server, listener;
};

static int tcp_connect(int v6, uint16_t port, struct conn *c)
{
	c->listener = socket_at(v6, SOCK_STREAM, port, 1);
	c->client = socket_at(v6, SOCK_STREAM, 0, 0);
	c->server = -1;
	if (c->listener < 0 || c->client < 0 || listen(c->listener, 4) < 0 ||
	    connect_to(c->client, v6, port))
		return -1;
	c->server = accept(c->listener, NULL, NULL);
	return c->server < 0 ? -1 : 0;
}

static void conn_close(struct conn *c)
{
	close(c->client);
	close(c->server);
	close(c->listener);
}

/* A FLOW event of this process's connection, as the client or the server sees it. */
static int flow_is(const WINDIVERT_ADDRESS *a, WINDIVERT_EVENT event, int v6, uint64_t endpoint,
		   uint64_t parent, int outbound, uint16_t local_port, uint16_t remote_port,
		   uint8_t protocol)
{
	const WINDIVERT_DATA_FLOW *f = &a->Flow;

	return a->Layer == WINDIVERT_LAYER_FLOW && a->Event == event && a->Sniffed &&
	       a->IPv6 == (unsigned int)v6 && a->Outbound == (unsigned int)outbound &&
	       a->Loopback && f->ProcessId == (UINT32)getpid() && f->EndpointId == endpoint &&
	       f->ParentEndpointId == parent && f->Protocol == protocol &&
	       (!local_port || f->LocalPort == local_port) &&
	       (!remote_port || f->RemotePort == remote_port) &&
	       is_loopback_words(f->LocalAddr, v6) && is_loopback_words(f->RemoteAddr, v6) &&
	       a->Timestamp > 0;
}

/* Receive two events and tell them apart by endpoint: *first is e1's, *second e2's. */
static int recv_pair(HANDLE h, uint64_t e1, WINDIVERT_ADDRESS *first, WINDIVERT_ADDRESS *second)
{
	WINDIVERT_ADDRESS a[2];

	if (!recv_event(h, &a[0]) || !recv_event(h, &a[1]))
		return 0;
	*first = a[0].Flow.EndpointId == e1 ? a[0] : a[1];
	*second = a[0].Flow.EndpointId == e1 ? a[1] : a[0];
	return 1;
}

/* TCP flows: the client's outbound one and the server's inbound one (its parent the
 * listener), each established and then deleted, with this process's ID. */
static void tcp_flows(int v6)
{
	uint16_t port = PORT + (uint16_t)v6;
	uint64_t client, server, listener;
	WINDIVERT_ADDRESS a, b;
	char filter[128];
	struct conn c;
	HANDLE h;

	snprintf(filter, sizeof(filter), "processId == %d and tcp and (localPort == %u or "
		 "remotePort == %u)", (int)getpid(), port, port);
	h = open_layer(filter, WINDIVERT_LAYER_FLOW, SNIFF_ONLY);
	CHECK(h != INVALID_HANDLE_VALUE && tcp_connect(v6, port, &c) == 0);
	client = cookie_of(c.client), server = cookie_of(c.server), listener = cookie_of(c.listener);
	CHECK(recv_pair(h, client, &a, &b));
	CHECK(flow_is(&a, WINDIVERT_EVENT_FLOW_ESTABLISHED, v6, client, 0, 1, 0, port, 6));
	CHECK(flow_is(&b, WINDIVERT_EVENT_FLOW_ESTABLISHED, v6, server, listener, 0, port, 0, 6));
	CHECK(a.Flow.LocalPort == b.Flow.RemotePort);
	conn_close(&c);
	CHECK(recv_pair(h, client, &a, &b));
	CHECK(flow_is(&a, WINDIVERT_EVENT_FLOW_DELETED, v6, client, 0, 1, 0, port, 6));
	CHECK(flow_is(&b, WINDIVERT_EVENT_FLOW_DELETED, v6, server, listener, 0, port, 0, 6));
	CHECK(WinDivertClose(h));
}

static void test_flow_tcp_v4(void)
{
	tcp_flows(0);
}

static void test_flow_tcp_v6(void)
{
	tcp_flows(1);
}

/* A UDP flow: the first datagram to a remote end establishes it, the socket's
 * close deletes it; the filter's remotePort chooses it among others. */
static void udp_flow(int v6)
{
	uint16_t port = PORT + 10 + (uint16_t)v6, other = port + 5;
	struct sockaddr_storage to, to2;
	socklen_t len = loopback_at(v6, port, &to);
	char filter[64];
	WINDIVERT_ADDRESS a;
	HANDLE h;

	snprintf(filter, sizeof(filter), "udp and remotePort == %u", port);
	h = open_layer(filter, WINDIVERT_LAYER_FLOW, SNIFF_ONLY); /* before the sockets: */
	int rx = socket_at(v6, SOCK_DGRAM, port, 1), tx = socket_at(v6, SOCK_DGRAM, 0, 0);
	int rx2 = socket_at(v6, SOCK_DGRAM, other, 1), tx2 = socket_at(v6, SOCK_DGRAM, 0, 0);
	uint64_t sender = cookie_of(tx); /* events of older ones are not seen */

	loopback_at(v6, other, &to2);
	CHECK(h != INVALID_HANDLE_VALUE && rx >= 0 && tx >= 0 && rx2 >= 0 && tx2 >= 0);
	CHECK(sendto(tx2, "x", 1, 0, (struct sockaddr *)&to2, len) == 1); /* not this filter's */
	CHECK(sendto(tx, "x", 1, 0, (struct sockaddr *)&to, len) == 1);
	CHECK(recv_event(h, &a));
	CHECK(flow_is(&a, WINDIVERT_EVENT_FLOW_ESTABLISHED, v6, sender, 0, 1, 0, port, 17));
	close(tx2);
	close(tx);
	CHECK(recv_event(h, &a));
	CHECK(flow_is(&a, WINDIVERT_EVENT_FLOW_DELETED, v6, sender, 0, 1, 0, port, 17));
	CHECK(WinDivertClose(h));
	close(rx);
	close(rx2);
}

static void test_flow_udp_v4(void)
{
	udp_flow(0);
}

static void test_flow_udp_v6(void)
{
	udp_flow(1);
}

/* The SOCKET data of an event of this process's socket endpoint. */
static int socket_is(const WINDIVERT_ADDRESS *a, WINDIVERT_EVENT event, uint64_t endpoint,
		     uint64_t parent, uint16_t local_port, uint16_t remote_port, int sniffed)
{
	const WINDIVERT_DATA_SOCKET *s = &a->Socket;

	return a->Layer == WINDIVERT_LAYER_SOCKET && a->Event == event &&
	       a->Sniffed == (unsigned int)sniffed && s->ProcessId == (UINT32)getpid() &&
	       s->EndpointId == endpoint && s->ParentEndpointId == parent &&
	       s->Protocol == 6 && (!local_port || s->LocalPort == local_port) &&
	       s->RemotePort == remote_port && !a->IPv6;
}

static uint16_t port_of(int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	return getsockname(fd, (struct sockaddr *)&sin, &len) ? 0 : ntohs(sin.sin_port);
}

/* SOCKET events of a TCP server and client: bind, listen, connect, accept, close. */
static void test_socket_events(void)
{
	uint16_t port = PORT + 20;
	char filter[96];
	struct conn c;
	WINDIVERT_ADDRESS a;
	uint64_t listener, client, server;
	HANDLE h;

	snprintf(filter, sizeof(filter), "processId == %d and tcp and event != CLOSE or "
		 "localPort == %u", (int)getpid(), port);
	h = open_layer(filter, WINDIVERT_LAYER_SOCKET, SNIFF_ONLY);
	CHECK(h != INVALID_HANDLE_VALUE && tcp_connect(0, port, &c) == 0);
	listener = cookie_of(c.listener), client = cookie_of(c.client), server = cookie_of(c.server);
	CHECK(recv_event(h, &a) && socket_is(&a, WINDIVERT_EVENT_SOCKET_BIND, listener, 0, port, 0, 1));
	CHECK(!a.Outbound && is_loopback_words(a.Socket.LocalAddr, 0));
	CHECK(recv_event(h, &a) && socket_is(&a, WINDIVERT_EVENT_SOCKET_LISTEN, listener, 0, port, 0, 1));
	CHECK(recv_event(h, &a) && socket_is(&a, WINDIVERT_EVENT_SOCKET_CONNECT, client, 0, 0, port, 1));
	CHECK(a.Outbound && a.Loopback && is_loopback_words(a.Socket.RemoteAddr, 0));
	CHECK(recv_event(h, &a) && socket_is(&a, WINDIVERT_EVENT_SOCKET_ACCEPT, server, listener,
					     port, port_of(c.client), 1));
	close(c.listener);
	CHECK(recv_event(h, &a) && socket_is(&a, WINDIVERT_EVENT_SOCKET_CLOSE, listener, 0, port, 0, 1));
	close(c.client);
	close(c.server);
	CHECK(WinDivertClose(h));
}

/* connect to port: 0 or errno. */
static int udp_connect(uint16_t port)
{
	int fd = socket_at(0, SOCK_DGRAM, 0, 0), err = fd < 0 ? errno : connect_to(fd, 0, port);

	if (fd >= 0)
		close(fd);
	return err;
}

/* bind a UDP socket to port: 0 or errno. */
static int udp_bind(uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback_at(0, port, &ss);
	int fd = socket_at(0, SOCK_DGRAM, 0, 0), err = fd < 0 ? errno : 0;

	if (!err && bind(fd, (struct sockaddr *)&ss, len) < 0)
		err = errno;
	if (fd >= 0)
		close(fd);
	return err;
}

/* A SOCKET handle without SNIFF refuses what its filter matches, and receives it. */
static void test_socket_block(void)
{
	uint16_t port = PORT + 30;
	char filter[96];
	struct conn c;
	WINDIVERT_ADDRESS a;
	HANDLE h;

	snprintf(filter, sizeof(filter), "remotePort == %u or (event == BIND and localPort == %u)",
		 port, port + 1);
	h = open_layer(filter, WINDIVERT_LAYER_SOCKET, WINDIVERT_FLAG_RECV_ONLY);
	CHECK(h != INVALID_HANDLE_VALUE);
	CHECK(udp_connect(port) == EPERM && udp_connect(port + 2) == 0);
	CHECK(recv_event(h, &a) && a.Event == WINDIVERT_EVENT_SOCKET_CONNECT && !a.Sniffed &&
	      a.Socket.RemotePort == port && a.Socket.ProcessId == (UINT32)getpid());
	CHECK(udp_bind(port + 1) == EPERM && udp_bind(port + 2) == 0);
	CHECK(recv_event(h, &a) && a.Event == WINDIVERT_EVENT_SOCKET_BIND && !a.Sniffed &&
	      a.Socket.LocalPort == port + 1);
	CHECK(tcp_connect(0, port, &c) < 0 && errno == EPERM); /* TCP too */
	conn_close(&c);
	CHECK(WinDivertClose(h));
	CHECK(udp_connect(port) == 0 && udp_bind(port + 1) == 0);
}

/* The block goes with the process that holds the handle, SIGKILL too. */
static void test_socket_block_dies_with_process(void)
{
	uint16_t port = PORT + 40;
	int ready[2], status;
	char filter[64], byte = 0;
	pid_t child;

	snprintf(filter, sizeof(filter), "remotePort == %u", port);
	CHECK(pipe(ready) == 0);
	child = fork();
	if (child == 0) {
		HANDLE h = WinDivertOpen(filter, WINDIVERT_LAYER_SOCKET, 0, WINDIVERT_FLAG_RECV_ONLY);

		byte = h != INVALID_HANDLE_VALUE;
		if (write(ready[1], &byte, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	CHECK(child > 0 && read(ready[0], &byte, 1) == 1 && byte == 1);
	CHECK(udp_connect(port) == EPERM);
	CHECK(kill(child, SIGKILL) == 0 && waitpid(child, &status, 0) == child);
	CHECK(udp_connect(port) == 0);
	close(ready[0]);
	close(ready[1]);
}

/* Each layer's required flags, a blocking filter the kernel cannot decide, Send. */
static void test_flags_and_refusals(void)
{
	WINDIVERT_ADDRESS a = { 0 };
	uint8_t byte[40] = { 0x45 };
	HANDLE h;

	CHECK(WinDivertOpen("true", WINDIVERT_LAYER_FLOW, 0, WINDIVERT_FLAG_RECV_ONLY) ==
		      INVALID_HANDLE_VALUE && GetLastError() == ERROR_INVALID_PARAMETER);
	CHECK(WinDivertOpen("true", WINDIVERT_LAYER_FLOW, 0, WINDIVERT_FLAG_SNIFF) ==
		      INVALID_HANDLE_VALUE && GetLastError() == ERROR_INVALID_PARAMETER);
	CHECK(WinDivertOpen("true", WINDIVERT_LAYER_SOCKET, 0, WINDIVERT_FLAG_SNIFF) ==
		      INVALID_HANDLE_VALUE && GetLastError() == ERROR_INVALID_PARAMETER);
	CHECK(WinDivertOpen("endpointId == 5", WINDIVERT_LAYER_SOCKET, 0,
			    WINDIVERT_FLAG_RECV_ONLY) == INVALID_HANDLE_VALUE &&
	      GetLastError() == ERROR_INVALID_PARAMETER);
	CHECK(WinDivertOpen("tcp.DstPort == 80", WINDIVERT_LAYER_FLOW, 0, SNIFF_ONLY) ==
		      INVALID_HANDLE_VALUE && GetLastError() == ERROR_INVALID_PARAMETER);
	h = open_layer("endpointId == 5", WINDIVERT_LAYER_SOCKET, SNIFF_ONLY); /* observes only */
	CHECK(h != INVALID_HANDLE_VALUE);
	a.Layer = WINDIVERT_LAYER_SOCKET;
	CHECK(!WinDivertSend(h, byte, sizeof(byte), NULL, &a) &&
	      GetLastError() == ERROR_INVALID_PARAMETER);
	CHECK(WinDivertClose(h));
}

static void *recv_one_event(void *arg)
{
	WINDIVERT_ADDRESS a;
	static DWORD code;

	code = recv_event(arg, &a) ? ERROR_SUCCESS : GetLastError();
	return &code;
}

/* A Recv waiting for an event returns ERROR_NO_DATA once the handle is shut down. */
static void test_shutdown_wakes_recv(void)
{
	HANDLE h = open_layer("remotePort == 1", WINDIVERT_LAYER_FLOW, SNIFF_ONLY);
	pthread_t t;
	void *code = NULL;

	if (h == INVALID_HANDLE_VALUE || pthread_create(&t, NULL, recv_one_event, h)) {
		CHECK(!"a handle and a thread to wait in it");
		return;
	}
	usleep(100000); /* let it wait; a later shutdown must wake it as well */
	CHECK(WinDivertShutdown(h, WINDIVERT_SHUTDOWN_RECV));
	CHECK(pthread_join(t, &code) == 0 && *(DWORD *)code == ERROR_NO_DATA);
	CHECK(!recv_event(h, NULL) && GetLastError() == ERROR_NO_DATA);
	CHECK(WinDivertClose(h));
}

int main(void)
{
	static const struct check_case offline[] = {
		CHECK_CASE(test_rule_decides_as_the_filter),
		CHECK_CASE(test_rule_refuses_what_the_kernel_cannot_see),
	};
	static const struct check_case live[] = {
		CHECK_CASE(test_flow_tcp_v4),
		CHECK_CASE(test_flow_tcp_v6),
		CHECK_CASE(test_flow_udp_v4),
		CHECK_CASE(test_flow_udp_v6),
		CHECK_CASE(test_socket_events),
		CHECK_CASE(test_socket_block),
		CHECK_CASE(test_socket_block_dies_with_process),
		CHECK_CASE(test_flags_and_refusals),
		CHECK_CASE(test_shutdown_wakes_recv),
	};
	const unsigned int n = sizeof(live) / sizeof(live[0]);
	int failed = check_run("windivert_events", offline, 2);

	if (private_netns() < 0) {
		for (unsigned int i = 0; i < n; i++)
			printf("SKIP: windivert_events.%s (needs root and a private network "
			       "namespace)\n", live[i].name);
		return failed;
	}
	alarm(30); /* an event that never comes ends the run, not the machine's day */
	return check_run("windivert_events", live, n) || failed;
}
