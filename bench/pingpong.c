/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pingpong.c - request/response latency of the benchmark: one small UDP
 * datagram out, its echo back, one at a time.
 *
 *   pingpong server PORT
 *       Binds [::]:PORT (IPv4 and IPv6), prints "listening", sends every
 *       datagram back to its sender until SIGINT or SIGTERM; then prints
 *       "echoed=N" and exits 0.
 *   pingpong client HOST PORT [--count N] [--size B] [--timeout-ms T]
 *       Sends a datagram of B bytes (default 64), waits for its echo, N times
 *       (default 10000), after 10 unrecorded warm-up round trips. Each round
 *       trip is timed with CLOCK_MONOTONIC; one without its echo after T ms
 *       (default 1000) counts as lost. Prints
 *       "count=N lost=L median_us=M p99_us=P min_us=X max_us=Y" (p99 by
 *       nearest rank) and exits 0, or 1 if no round trip completed.
 *
 * Each request carries a 64-bit sequence number; stale echoes are ignored.
 * Exit status: 0, 1 on a socket error, 2 on bad arguments.
 */
#include <endian.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../tests/netns/toolkit.h"

#define WARMUP 10
#define MIN_SIZE 8
#define MAX_SIZE 1472

struct args {
	const char *host, *port;
	unsigned long count, size, timeout_ms;
};

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: pingpong server PORT\n"
			"       pingpong client HOST PORT [--count N] [--size B] [--timeout-ms T]\n");
	exit(2);
}

static unsigned long number(const char *what, const char *arg, unsigned long min,
			    unsigned long max)
{
	return tool_number("pingpong", what, arg, min, max);
}

/* Parse "--name value" pairs after the positional arguments. */
static void parse_options(int argc, char **argv, int first, struct args *a)
{
	for (int i = first; i < argc; i += 2) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--count"))
			a->count = number("count", argv[i + 1], 1, 100000000);
		else if (!strcmp(argv[i], "--size"))
			a->size = number("size", argv[i + 1], MIN_SIZE, MAX_SIZE);
		else if (!strcmp(argv[i], "--timeout-ms"))
			a->timeout_ms = number("timeout", argv[i + 1], 1, 60000);
		else
			usage();
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------ server */

static int open_server(const char *port)
{
	return tool_udp_listen("pingpong", port);
}

static int cmd_server(const struct args *a)
{
	struct sigaction sa = { .sa_handler = on_signal };
	int fd = open_server(a->port), status = 0;
	unsigned long long echoed = 0;
	uint8_t buf[MAX_SIZE];

	if (fd < 0)
		return 1;
	sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: recvfrom() returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	printf("listening\n");
	fflush(stdout);
	while (!stopping) {
		struct sockaddr_in6 src;
		socklen_t srclen = sizeof(src);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&src, &srclen);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			perror("pingpong: recvfrom");
			status = 1;
			break;
		}
		/* A refused echo (a firewall's drop) is the client's lost round trip. */
		if (sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&src, srclen) == n)
			echoed++;
	}
	printf("echoed=%llu\n", echoed);
	close(fd);
	return status;
}

/* ------------------------------------------------------------------ client */

static int open_client(const struct args *a)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICHOST };
	struct addrinfo *ai;
	int fd, err;

	number("port", a->port, 1, 65535);
	err = getaddrinfo(a->host, a->port, &hints, &ai);
	if (err) {
		fprintf(stderr, "pingpong: %s %s: %s\n", a->host, a->port, gai_strerror(err));
		exit(2);
	}
	fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		perror("pingpong: client socket");
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* Wait for the echo of seq; returns 1 when it came, 0 on timeout, -1 on error. */
static int await_echo(int fd, uint64_t seq, uint64_t deadline, uint8_t *buf, size_t size)
{
	for (;;) {
		uint64_t now = now_ns(), got;
		int left = now < deadline ? (int)((deadline - now) / 1000000 + 1) : 0;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, left);
		ssize_t n;

		if (r < 0 && errno != EINTR)
			return -1;
		if (r <= 0) {
			if (now_ns() >= deadline)
				return 0;
			continue;
		}
		n = recv(fd, buf, size, 0);
		if (n < 0)
			return errno == ECONNREFUSED || errno == EINTR ? 0 : -1;
		memcpy(&got, buf, sizeof(got));
		if (n >= MIN_SIZE && be64toh(got) == seq)
			return 1;
	}
}

/*
 * One round trip; returns its time in ns, 0 when lost, -1 on a socket error.
 * A refused send (a firewall's drop, ECONNREFUSED) is a lost round trip.
 */
static int64_t round_trip(int fd, uint64_t seq, const struct args *a, uint8_t *buf)
{
	uint64_t be = htobe64(seq), t0 = now_ns();
	int r;

	memcpy(buf, &be, sizeof(be));
	if (send(fd, buf, a->size, 0) < 0)
		return 0;
	r = await_echo(fd, seq, t0 + a->timeout_ms * 1000000, buf, MAX_SIZE);
	return r > 0 ? (int64_t)(now_ns() - t0) : r;
}

static int compare_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* Median and 99th percentile (nearest rank) of n sorted round trips, in us. */
static void report(uint64_t *rtt, unsigned long n, unsigned long lost)
{
	unsigned long p99 = (n * 99 + 99) / 100 - 1;
	double median = n % 2 ? (double)rtt[n / 2] : ((double)rtt[n / 2 - 1] + rtt[n / 2]) / 2;

	printf("count=%lu lost=%lu median_us=%.1f p99_us=%.1f min_us=%.1f max_us=%.1f\n", n, lost,
	       median / 1e3, rtt[p99] / 1e3, rtt[0] / 1e3, rtt[n - 1] / 1e3);
}

static int cmd_client(const struct args *a)
{
	uint64_t *rtt = calloc(a->count, sizeof(*rtt));
	unsigned long done = 0, lost = 0;
	int fd = open_client(a), status = 1;
	uint8_t buf[MAX_SIZE] = { 0 };

	if (fd < 0 || !rtt)
		goto out;
	for (uint64_t seq = 0; seq < WARMUP + a->count; seq++) {
		int64_t t = round_trip(fd, seq, a, buf);

		if (t < 0) {
			perror("pingpong: round trip");
			goto out;
		}
		if (seq < WARMUP)
			continue;
		if (t)
			rtt[done++] = (uint64_t)t;
		else
			lost++;
	}
	if (done) {
		qsort(rtt, done, sizeof(*rtt), compare_u64);
		report(rtt, done, lost);
		status = 0;
	} else {
		fprintf(stderr, "pingpong: no echo came back (%lu lost)\n", lost);
	}
out:
	if (fd >= 0)
		close(fd);
	free(rtt);
	return status;
}

int main(int argc, char **argv)
{
	struct args a = { .count = 10000, .size = 64, .timeout_ms = 1000 };

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "server")) {
		a.port = argv[2];
		return cmd_server(&a);
	}
	if (argc >= 4 && !strcmp(argv[1], "client")) {
		a.host = argv[2];
		a.port = argv[3];
		parse_options(argc, argv, 4, &a);
		return cmd_client(&a);
	}
	usage();
}
