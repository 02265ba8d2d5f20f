/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tcpstream.c - a test tool: one TCP stream whose every byte is checked at
 * the receiving end, with the bytes received per 100 ms.
 *
 *   tcpstream send HOST PORT [--seconds S] [--bytes N]
 *       Connects and sends the stream of PORT until S seconds passed, N bytes
 *       went out, or SIGINT/SIGTERM; then shuts down its side and waits for
 *       the receiver to close. Prints "sent bytes=N".
 *   tcpstream recv PORT
 *       Listens on [::]:PORT (IPv4 and IPv6), prints "listening", accepts one
 *       connection and reads it to the end, comparing each byte with the
 *       stream of PORT. Prints "intervals start_ms=T bytes=B0,B1,..." (bytes
 *       received in each 100 ms from T, wall-clock milliseconds) and
 *       "received bytes=N corrupt=C first_corrupt=OFFSET" (-1 if none).
 *
 * The stream of PORT: 64-bit words splitmix64(PORT << 40 | word index) in
 * little-endian order, so any offset can be checked on its own.
 * Exit status: 0, 1 on a socket error, 2 on bad arguments.
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "toolkit.h"

#define CHUNK (256 * 1024)
#define INTERVAL_MS 100
#define MAX_INTERVALS (36000 * 10) /* ten hours of 100 ms */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Write the len bytes of the stream of port that start at offset into buf. */
static void stream_bytes(uint64_t port, uint64_t offset, uint8_t *buf, size_t len)
{
	uint64_t word = offset / 8;
	size_t skip = offset % 8, done = 0;

	while (done < len) {
		uint64_t v = splitmix64(port << 40 | word++);
		uint8_t b[8];

		for (int i = 0; i < 8; i++)
			b[i] = (uint8_t)(v >> (8 * i));
		for (size_t i = skip; i < 8 && done < len; i++)
			buf[done++] = b[i];
		skip = 0;
	}
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int connect_to(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST };
	struct addrinfo *ai;
	int fd, err = getaddrinfo(host, port, &hints, &ai);

	if (err) {
		fprintf(stderr, "tcpstream: %s %s: %s\n", host, port, gai_strerror(err));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		perror("tcpstream: connect");
	freeaddrinfo(ai);
	return fd;
}

static int cmd_send(const char *host, const char *port, double seconds, uint64_t limit)
{
	static uint8_t buf[CHUNK];
	int fd = connect_to(host, port);
	uint64_t p = tool_number("tcpstream", "port", port, 0, 65535), sent = 0;
	double end = now_ms() + seconds * 1e3;

	if (fd < 0)
		return 1;
	while (!stop && sent < limit && now_ms() < end) {
		size_t n = limit - sent < CHUNK ? (size_t)(limit - sent) : CHUNK;
		ssize_t w;

		stream_bytes(p, sent, buf, n);
		w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			perror("tcpstream: write");
			return 1;
		}
		sent += (uint64_t)w;
	}
	shutdown(fd, SHUT_WR);
	for (ssize_t r = 1; r > 0 || (r < 0 && errno == EINTR);) /* until the receiver closes */
		r = read(fd, buf, sizeof(buf));
	close(fd);
	printf("sent bytes=%llu\n", (unsigned long long)sent);
	return 0;
}

static int listen_on(const char *port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), off = 0, on = 1;

	sa.sin6_port = htons((uint16_t)tool_number("tcpstream", "port", port, 0, 65535));
	if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1) < 0) {
		perror("tcpstream: listen");
		return -1;
	}
	return fd;
}

/* Compare n received bytes at offset with the stream; count the bad ones. */
static void verify(uint64_t port, uint64_t offset, const uint8_t *got, size_t n, uint64_t *corrupt,
		   int64_t *first)
{
	static uint8_t want[CHUNK];

	stream_bytes(port, offset, want, n);
	if (!memcmp(want, got, n))
		return;
	for (size_t i = 0; i < n; i++)
		if (want[i] != got[i]) {
			if (*first < 0)
				*first = (int64_t)(offset + i);
			(*corrupt)++;
		}
}

static void print_intervals(double start, const uint64_t *bytes, size_t count)
{
	printf("intervals start_ms=%.0f bytes=", start);
	for (size_t i = 0; i < count; i++)
		printf("%s%llu", i ? "," : "", (unsigned long long)bytes[i]);
	printf("\n");
}

static int cmd_recv(const char *port)
{
	static uint8_t buf[CHUNK];
	uint64_t p = tool_number("tcpstream", "port", port, 0, 65535), received = 0, corrupt = 0;
	uint64_t *bytes = calloc(MAX_INTERVALS, sizeof(*bytes));
	int64_t first = -1;
	size_t last = 0;
	double start;
	int lfd = listen_on(port), fd;

	if (lfd < 0 || !bytes)
		return 1;
	printf("listening\n");
	fd = accept(lfd, NULL, NULL);
	if (fd < 0) {
		perror("tcpstream: accept");
		return 1;
	}
	start = now_ms();
	start -= (double)((uint64_t)start % INTERVAL_MS);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		size_t slot;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		verify(p, received, buf, (size_t)n, &corrupt, &first);
		received += (uint64_t)n;
		slot = (size_t)((now_ms() - start) / INTERVAL_MS);
		if (slot < MAX_INTERVALS) {
			bytes[slot] += (uint64_t)n;
			last = slot;
		}
	}
	close(fd);
	print_intervals(start, bytes, last + 1);
	printf("received bytes=%llu corrupt=%llu first_corrupt=%lld\n",
	       (unsigned long long)received, (unsigned long long)corrupt, (long long)first);
	free(bytes);
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	double seconds = 1e9;
	uint64_t limit = UINT64_MAX;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (argc >= 4 && !strcmp(argv[1], "send")) {
		for (int i = 4; i + 1 < argc; i += 2) {
			if (!strcmp(argv[i], "--seconds"))
				seconds = (double)tool_number("tcpstream", "seconds", argv[i + 1], 0,
							      1000000);
			else if (!strcmp(argv[i], "--bytes"))
				limit = tool_number("tcpstream", "bytes", argv[i + 1], 0, ULONG_MAX);
			else
				argc = 0;
		}
		if (argc && argc % 2 == 0)
			return cmd_send(argv[2], argv[3], seconds, limit);
	}
	if (argc == 3 && !strcmp(argv[1], "recv"))
		return cmd_recv(argv[2]);
	fprintf(stderr, "usage: tcpstream send HOST PORT [--seconds S] [--bytes N]\n"
			"       tcpstream recv PORT\n");
	return 2;
}
