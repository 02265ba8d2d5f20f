/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * streamdump - put a local proxy into the TCP connections this host makes to
 * one port, by rewriting addresses alone, and print what goes through it.
 *
 * An outbound packet to PORT is turned round into an inbound packet to the
 * proxy's port (source and destination swapped), so the proxy accepts the
 * connection; its answers are turned round the same way back to the client.
 * The proxy opens its own connection to the real server on ALT_PORT, and
 * those packets are moved to PORT on the way out and back to ALT_PORT on the
 * way in. Every chunk of data the proxy passes on is printed:
 *   [LEN] the first 65 characters...
 *
 * Shows: rewriting headers in place, WinDivertHelperCalcChecksums, sending a
 * packet the other way (Outbound flipped), a program that is at once the
 * redirector and an ordinary socket server.
 *
 * Usage: streamdump port
 * IPv4 only, as WinDivert's sample; IPv6 connections to the port go on directly.
 *
 * On Linux: run it as root on the client's host, for example in a network
 * namespace: ip netns exec NS build/examples/windivert/streamdump 80
 * The turned-round packets arrive as if received on the interface they left by.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <windivert.h>

#define MAXBUF WINDIVERT_MTU_MAX
#define PROXY_PORT 34010
#define ALT_PORT 43010
#define MAX_LINE 65

/* The server's port, the proxy's, and the one the proxy connects to. */
struct ports {
	UINT16 port, proxy_port, alt_port;
};

struct connection_config {
	int s;
	UINT16 alt_port;
	struct in_addr dest;
};

struct transfer_config {
	int inbound; /* from the server to the client */
	int s, t;
};

/* One thread at a time prints. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

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

__attribute__((format(printf, 1, 2))) static void message(const char *msg, ...)
{
	va_list args;

	va_start(args, msg);
	pthread_mutex_lock(&lock);
	vfprintf(stderr, msg, args);
	putc('\n', stderr);
	pthread_mutex_unlock(&lock);
	va_end(args);
}

#define error(msg, ...)                                   \
	do {                                              \
		message("error: " msg, ##__VA_ARGS__);    \
		exit(EXIT_FAILURE);                       \
	} while (0)
#define warning(msg, ...) message("warning: " msg, ##__VA_ARGS__)

static void *checked(void *p)
{
	if (!p)
		error("failed to allocate memory");
	return p;
}

/* What CreateThread does: start fn(arg) on its own, nobody waits for it. */
static int start_detached(void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	pthread_t thread;
	int err;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&thread, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return err;
}

/* ---- the proxy ---- */

/* One chunk on the screen: its length and its first characters. */
static void dump(const char *buf, int len, int inbound)
{
	pthread_mutex_lock(&lock);
	printf("[%.4d] ", len);
	set_color(inbound ? RED : GREEN);
	for (int i = 0; i < len && i < MAX_LINE; i++)
		putchar(isprint((unsigned char)buf[i]) ? buf[i] : '.');
	set_color(WHITE);
	printf("%s\n", len > MAX_LINE ? "..." : "");
	fflush(stdout);
	pthread_mutex_unlock(&lock);
}

/* Send all of buf to t; 0 or -1 (errno set). */
static int send_all(int t, const char *buf, int len)
{
	for (int i = 0; i < len;) {
		ssize_t sent = send(t, buf + i, (size_t)(len - i), MSG_NOSIGNAL);

		if (sent < 0)
			return -1;
		i += (int)sent;
	}
	return 0;
}

/* Copy s to t until s ends, printing what goes through. */
static void *transfer(void *arg)
{
	struct transfer_config config = *(struct transfer_config *)arg;
	char buf[8192];
	ssize_t len;

	free(arg);
	while ((len = recv(config.s, buf, sizeof(buf), 0)) > 0) {
		dump(buf, (int)len, config.inbound);
		if (send_all(config.t, buf, (int)len) < 0) {
			warning("failed to send to socket (%s)", strerror(errno));
			break;
		}
	}
	if (len < 0)
		warning("failed to recv from socket (%s)", strerror(errno));
	if (len == 0) { /* the end of one direction: pass it on */
		shutdown(config.s, SHUT_RD);
		shutdown(config.t, SHUT_WR);
	} else {
		shutdown(config.s, SHUT_RDWR);
		shutdown(config.t, SHUT_RDWR);
	}
	return NULL;
}

static struct transfer_config *transfer_config(int inbound, int s, int t)
{
	struct transfer_config *c = checked(malloc(sizeof(*c)));

	*c = (struct transfer_config){ .inbound = inbound, .s = s, .t = t };
	return c;
}

/* Connect to the server on the alternative port; the socket or -1. */
static int connect_server(struct in_addr dest, UINT16 alt_port)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(alt_port),
				    .sin_addr = dest };
	int t = socket(AF_INET, SOCK_STREAM, 0);

	if (t < 0) {
		warning("failed to create socket (%s)", strerror(errno));
		return -1;
	}
	if (connect(t, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		warning("failed to connect socket (%s)", strerror(errno));
		close(t);
		return -1;
	}
	return t;
}

/* One client: a connection to its server, then the data both ways. */
static void *connection(void *arg)
{
	struct connection_config config = *(struct connection_config *)arg;
	int s = config.s, t;
	pthread_t thread;

	free(arg);
	t = connect_server(config.dest, config.alt_port);
	if (t < 0) {
		close(s);
		return NULL;
	}
	if (pthread_create(&thread, NULL, transfer, transfer_config(0, s, t))) {
		warning("failed to create thread");
		close(s);
		close(t);
		return NULL;
	}
	transfer(transfer_config(1, t, s));
	pthread_join(thread, NULL);
	close(s);
	close(t);
	return NULL;
}

static int listen_on(UINT16 port)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
	int on = 1, s = socket(AF_INET, SOCK_STREAM, 0);

	if (s < 0)
		error("failed to create socket (%s)", strerror(errno));
	if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
		error("failed to re-use address (%s)", strerror(errno));
	if (bind(s, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		error("failed to bind socket (%s)", strerror(errno));
	if (listen(s, 16) < 0)
		error("failed to listen socket (%s)", strerror(errno));
	return s;
}

/* The proxy server: a thread per connection it accepts. */
static void *proxy(void *arg)
{
	const struct ports *config = arg;
	int s = listen_on(config->proxy_port);

	for (;;) {
		struct sockaddr_in addr;
		socklen_t size = sizeof(addr);
		struct connection_config *c;
		int t = accept(s, (struct sockaddr *)&addr, &size);

		if (t < 0) {
			warning("failed to accept socket (%s)", strerror(errno));
			continue;
		}
		c = checked(malloc(sizeof(*c)));
		*c = (struct connection_config){ .s = t, .alt_port = config->alt_port,
						 .dest = addr.sin_addr };
		if (start_detached(connection, c)) {
			warning("failed to create thread");
			close(t);
			free(c);
		}
	}
	return NULL;
}

/* ---- the redirector ---- */

/* Swap the packet's addresses and turn it round: outbound becomes inbound. */
static void reflect(PWINDIVERT_IPHDR ip, WINDIVERT_ADDRESS *addr)
{
	UINT32 dst_addr = ip->DstAddr;

	ip->DstAddr = ip->SrcAddr;
	ip->SrcAddr = dst_addr;
	addr->Outbound = FALSE;
}

/* Rewrite one packet of the three ports as the proxy needs it. */
static void rewrite(PWINDIVERT_IPHDR ip, PWINDIVERT_TCPHDR tcp, WINDIVERT_ADDRESS *addr,
		    const struct ports *ports)
{
	UINT16 port = htons(ports->port), proxy_port = htons(ports->proxy_port),
	       alt_port = htons(ports->alt_port);

	if (addr->Outbound && tcp->DstPort == port) {
		tcp->DstPort = proxy_port; /* client -> PORT becomes -> PROXY */
		reflect(ip, addr);
	} else if (addr->Outbound && tcp->SrcPort == proxy_port) {
		tcp->SrcPort = port; /* PROXY -> client becomes PORT -> */
		reflect(ip, addr);
	} else if (addr->Outbound && tcp->DstPort == alt_port) {
		tcp->DstPort = port; /* proxy -> ALT goes to the server's PORT */
	} else if (!addr->Outbound && tcp->SrcPort == port) {
		tcp->SrcPort = alt_port; /* and its answers come from ALT */
	}
}

static HANDLE open_handle(const struct ports *p)
{
	char filter[256];
	HANDLE handle;
	int r = snprintf(filter, sizeof(filter),
			 "ip and tcp and "
			 "(tcp.DstPort == %d or tcp.DstPort == %d or tcp.DstPort == %d or "
			 "tcp.SrcPort == %d or tcp.SrcPort == %d or tcp.SrcPort == %d)",
			 p->port, p->proxy_port, p->alt_port, p->port, p->proxy_port, p->alt_port);

	if (r < 0 || (size_t)r >= sizeof(filter))
		error("failed to create filter string");
	handle = WinDivertOpen(filter, WINDIVERT_LAYER_NETWORK, 123 /* any */, 0);
	if (handle == INVALID_HANDLE_VALUE)
		error("failed to open the WinDivert device (%u)", GetLastError());
	return handle;
}

static void start_proxy(struct ports *ports)
{
	if (start_detached(proxy, ports))
		error("failed to create thread");
}

/* Rewrite and send every packet, until killed. */
static void redirect(HANDLE handle, const struct ports *ports)
{
	static unsigned char packet[MAXBUF];
	WINDIVERT_ADDRESS addr;
	PWINDIVERT_IPHDR ip;
	PWINDIVERT_TCPHDR tcp;
	UINT packet_len;

	for (;;) {
		if (!WinDivertRecv(handle, packet, sizeof(packet), &packet_len, &addr)) {
			warning("failed to read packet (%u)", GetLastError());
			continue;
		}
		WinDivertHelperParsePacket(packet, packet_len, &ip, NULL, NULL, NULL, NULL, &tcp,
					   NULL, NULL, NULL, NULL, NULL);
		if (!ip || !tcp) {
			warning("failed to parse packet (%u)", GetLastError());
			continue;
		}
		rewrite(ip, tcp, &addr, ports);
		WinDivertHelperCalcChecksums(packet, packet_len, &addr, 0);
		if (!WinDivertSend(handle, packet, packet_len, NULL, &addr))
			warning("failed to send packet (%u)", GetLastError());
	}
}

int main(int argc, char **argv)
{
	static struct ports ports;
	HANDLE handle;
	int port;

	if (argc != 2) {
		fprintf(stderr, "usage: %s dest-port\n", argv[0]);
		exit(EXIT_FAILURE);
	}
	port = atoi(argv[1]);
	if (port <= 0 || port > 0xFFFF) {
		fprintf(stderr, "error: invalid port number (%d)\n", port);
		exit(EXIT_FAILURE);
	}
	ports.port = (UINT16)port;
	ports.proxy_port = port == PROXY_PORT ? PROXY_PORT + 1 : PROXY_PORT;
	ports.alt_port = port == ALT_PORT ? ALT_PORT + 1 : ALT_PORT;
	console = isatty(STDOUT_FILENO);
	handle = open_handle(&ports);
	start_proxy(&ports);
	redirect(handle, &ports);
	return 0;
}
