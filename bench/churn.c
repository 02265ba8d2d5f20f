/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * churn.c - short TCP connections per second for the benchmark: each one
 * connects, sends a small request, reads a small reply and closes.
 *
 *   churn server PORT [--threads N] [--size B]
 *       Listens on [::]:PORT (IPv4 and IPv6), prints "listening"; N threads
 *       (default 4) each accept a connection, read its B-byte request
 *       (default 64), send B bytes back and close first (the server side
 *       keeps TIME_WAIT, so clients can reuse their ports at once). On SIGINT
 *       or SIGTERM prints "served=N failed=F" and exits 0.
 *   churn client HOST PORT [--threads N] [--seconds S] [--count C] [--size B]
 *       N threads (default 8) open connections one after another until S
 *       seconds have passed (default 3) or, with --count, C connections were
 *       made in all; each sends B bytes, reads B bytes and the server's close.
 *       A connection refused, reset or silent for 5 s fails. Prints
 *       "connections=N failed=F seconds=T per_second=R" (R: completed
 *       connections per second of wall time) and exits 0, or 1 when any
 *       connection failed or none completed.
 *
 * Exit status: 0, 1 on a socket error or a failed connection, 2 on bad
 * arguments.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../tests/netns/toolkit.h"

#define MAX_THREADS 256
#define MAX_SIZE 65536
#define TIMEOUT_S 5
#define BACKLOG 4096

struct args {
	const char *host, *port;
	unsigned long threads, seconds, count, size;
};

/* What the threads of one side share. */
struct shared {
	const struct args *a;
	int listener;                    /* server */
	struct addrinfo *ai;             /* client: the server's address */
	uint64_t deadline_ns;            /* client: stop after this, 0 = by count */
	atomic_ulong started, done, failed;
};

static void usage(void)
{
	fprintf(stderr, "usage: churn server PORT [--threads N] [--size B]\n"
			"       churn client HOST PORT [--threads N] [--seconds S] [--count C]"
			" [--size B]\n");
	exit(2);
}

static unsigned long number(const char *what, const char *arg, unsigned long min,
			    unsigned long max)
{
	return tool_number("churn", what, arg, min, max);
}

/* Parse "--name value" pairs after the positional arguments. */
static void parse_options(int argc, char **argv, int first, struct args *a)
{
	for (int i = first; i < argc; i += 2) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--threads"))
			a->threads = number("threads", argv[i + 1], 1, MAX_THREADS);
		else if (!strcmp(argv[i], "--seconds"))
			a->seconds = number("seconds", argv[i + 1], 1, 3600);
		else if (!strcmp(argv[i], "--count"))
			a->count = number("count", argv[i + 1], 1, 100000000);
		else if (!strcmp(argv[i], "--size"))
			a->size = number("size", argv[i + 1], 1, MAX_SIZE);
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

/* Send and receive time out after TIMEOUT_S (connect too: it waits as a send). */
static int set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = TIMEOUT_S };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
		return -1;
	return setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Read exactly size bytes; 0 when they came, -1 on an error, a timeout or an early EOF. */
static int read_all(int fd, uint8_t *buf, size_t size)
{
	for (size_t got = 0; got < size;) {
		ssize_t n = recv(fd, buf + got, size - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static int write_all(int fd, const uint8_t *buf, size_t size)
{
	for (size_t put = 0; put < size;) {
		ssize_t n = send(fd, buf + put, size - put, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		put += (size_t)n;
	}
	return 0;
}

/* Start n threads running fn over s; returns how many started. */
static unsigned long start_threads(pthread_t *t, unsigned long n, void *(*fn)(void *),
				   struct shared *s)
{
	unsigned long i;

	for (i = 0; i < n; i++) {
		if (pthread_create(&t[i], NULL, fn, s)) {
			fprintf(stderr, "churn: could not start thread %lu\n", i);
			break;
		}
	}
	return i;
}

/* ------------------------------------------------------------------ server */

static int open_listener(const char *port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), off = 0, on = 1;

	sa.sin6_port = htons((uint16_t)number("port", port, 1, 65535));
	if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, BACKLOG) < 0) {
		fprintf(stderr, "churn: TCP listener on port %s: %s\n", port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* One accepted connection: its request in, the reply out, then close. */
static int serve(int fd, size_t size, uint8_t *buf)
{
	int ok = set_timeouts(fd) == 0 && read_all(fd, buf, size) == 0 &&
		 write_all(fd, buf, size) == 0;

	close(fd);
	return ok ? 0 : -1;
}

static void *server_thread(void *arg)
{
	struct shared *s = arg;
	uint8_t *buf = malloc(s->a->size);

	while (buf) {
		int fd = accept4(s->listener, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN)
				continue;
			break; /* EINVAL: the listener was shut down */
		}
		if (serve(fd, s->a->size, buf) == 0)
			atomic_fetch_add(&s->done, 1);
		else
			atomic_fetch_add(&s->failed, 1);
	}
	free(buf);
	return NULL;
}

/* Threads accept until SIGINT or SIGTERM; then shutdown() wakes their accept(). */
static int cmd_server(const struct args *a)
{
	struct shared s = { .a = a, .listener = open_listener(a->port) };
	pthread_t t[MAX_THREADS];
	unsigned long n;
	sigset_t stop;
	int sig;

	if (s.listener < 0)
		return 1;
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL); /* the threads inherit the mask */
	n = start_threads(t, a->threads, server_thread, &s);
	if (n) {
		printf("listening\n");
		sigwait(&stop, &sig);
	}
	shutdown(s.listener, SHUT_RDWR);
	for (unsigned long i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	close(s.listener);
	printf("served=%lu failed=%lu\n", atomic_load(&s.done), atomic_load(&s.failed));
	return n ? 0 : 1;
}

/* ------------------------------------------------------------------ client */

/* One connection: connect, request, reply, the server's close; 0 when all went well. */
static int one_connection(const struct shared *s, uint8_t *buf)
{
	const struct addrinfo *ai = s->ai;
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1, ok;

	if (fd < 0)
		return -1;
	ok = set_timeouts(fd) == 0 &&
	     setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == 0 &&
	     connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
	     write_all(fd, buf, s->a->size) == 0 && read_all(fd, buf, s->a->size) == 0 &&
	     recv(fd, buf, 1, 0) == 0;
	close(fd);
	return ok ? 0 : -1;
}

/* Another connection to make: before the deadline, or while the count lasts. */
static int more(struct shared *s)
{
	if (s->deadline_ns)
		return now_ns() < s->deadline_ns;
	return atomic_fetch_add(&s->started, 1) < s->a->count;
}

static void *client_thread(void *arg)
{
	struct shared *s = arg;
	uint8_t *buf = calloc(1, s->a->size);

	while (buf && more(s)) {
		if (one_connection(s, buf) == 0)
			atomic_fetch_add(&s->done, 1);
		else
			atomic_fetch_add(&s->failed, 1);
	}
	free(buf);
	return NULL;
}

static struct addrinfo *resolve(const struct args *a)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST };
	struct addrinfo *ai;
	int err;

	number("port", a->port, 1, 65535);
	err = getaddrinfo(a->host, a->port, &hints, &ai);
	if (err) {
		fprintf(stderr, "churn: %s %s: %s\n", a->host, a->port, gai_strerror(err));
		exit(2);
	}
	return ai;
}

static int cmd_client(const struct args *a)
{
	struct shared s = { .a = a, .ai = resolve(a) };
	pthread_t t[MAX_THREADS];
	unsigned long n, done, failed;
	uint64_t t0 = now_ns();
	double seconds;

	if (!a->count)
		s.deadline_ns = t0 + a->seconds * 1000000000u;
	n = start_threads(t, a->threads, client_thread, &s);
	for (unsigned long i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	seconds = (double)(now_ns() - t0) / 1e9;
	freeaddrinfo(s.ai);
	done = atomic_load(&s.done);
	failed = atomic_load(&s.failed);
	printf("connections=%lu failed=%lu seconds=%.3f per_second=%.0f\n", done, failed, seconds,
	       done / seconds);
	return done && !failed ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct args a = { .seconds = 3, .size = 64 };

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "server")) {
		a.port = argv[2];
		a.threads = 4;
		parse_options(argc, argv, 3, &a);
		return cmd_server(&a);
	}
	if (argc >= 4 && !strcmp(argv[1], "client")) {
		a.host = argv[2];
		a.port = argv[3];
		a.threads = 8;
		parse_options(argc, argv, 4, &a);
		return cmd_client(&a);
	}
	usage();
}
