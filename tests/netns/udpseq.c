/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * udpseq.c - a test tool: many sequence-numbered UDP flows, checked for loss,
 * reordering and duplicates at the receiving end.
 *
 *   udpseq send HOST PORT --flows N --count M [--size B]
 *       Opens N UDP sockets (N different source ports) towards HOST PORT and
 *       sends M datagrams on each, round-robin over the flows in sendmmsg
 *       batches, as fast as the sockets take them; then 3 end markers per flow.
 *       Prints "sent flows=N datagrams=T" at the end.
 *   udpseq recv PORT --flows N [--timeout S]
 *       Receives on one socket bound to [::]:PORT (IPv4 and IPv6), prints
 *       "listening" once bound, and keys flows by source address and port.
 *       Stops once end markers of N flows arrived (then drains stragglers for
 *       0.2 s), or after S seconds (default 10) without any datagram. Prints
 *       "flows=F received=R lost=L reordered=X duplicates=D" and exits 0.
 *
 * Payload (network byte order, padded with zeros to B bytes, default 64,
 * at least 16): a 4-byte magic ("USQD" data, "USQE" end marker), the 32-bit
 * flow index, and a 64-bit sequence number counting from 0 (an end marker
 * carries the flow's datagram count instead).
 *
 * Counted per flow: received = distinct data datagrams; a datagram whose
 * number is below the highest seen so far and was not seen before is
 * reordered, one seen before is a duplicate; lost = datagrams the flow sent
 * (from its end marker, else highest number + 1) that never arrived.
 * Exit status: 0, 1 on a socket error, 2 on bad arguments.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "toolkit.h"

#define BATCH 64          /* datagrams per sendmmsg / recvmmsg */
#define END_MARKERS 3     /* end markers per flow */
#define MAX_FLOWS 1024    /* sender sockets */
#define TABLE_SIZE 8192   /* receiver flow slots (power of two) */
#define MAX_SEQ (1u << 28) /* larger numbers are not ours */
#define HDR_LEN 16
#define MAX_SIZE 65000
#define RCVBUF (64 << 20)

static const uint8_t MAGIC_DATA[4] = { 'U', 'S', 'Q', 'D' };
static const uint8_t MAGIC_END[4] = { 'U', 'S', 'Q', 'E' };

static void usage(void)
{
	fprintf(stderr, "usage: udpseq send HOST PORT --flows N --count M [--size B]\n"
			"       udpseq recv PORT --flows N [--timeout S]\n");
	exit(2);
}

static unsigned long number(const char *what, const char *arg, unsigned long min,
			    unsigned long max)
{
	return tool_number("udpseq", what, arg, min, max);
}

struct args {
	const char *host, *port;
	unsigned long flows, count, size, timeout;
};

/* Parse "--name value" pairs after the positional arguments. */
static void parse_options(int argc, char **argv, int first, struct args *a)
{
	for (int i = first; i < argc; i += 2) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--flows"))
			a->flows = number("flows", argv[i + 1], 1, MAX_FLOWS);
		else if (!strcmp(argv[i], "--count"))
			a->count = number("count", argv[i + 1], 1, MAX_SEQ - 1);
		else if (!strcmp(argv[i], "--size"))
			a->size = number("size", argv[i + 1], HDR_LEN, MAX_SIZE);
		else if (!strcmp(argv[i], "--timeout"))
			a->timeout = number("timeout", argv[i + 1], 1, 3600);
		else
			usage();
	}
}

static void put_header(uint8_t *buf, const uint8_t magic[4], uint32_t flow, uint64_t seq)
{
	uint32_t f = htonl(flow);
	uint64_t s = htobe64(seq);

	memcpy(buf, magic, 4);
	memcpy(buf + 4, &f, 4);
	memcpy(buf + 8, &s, 8);
}

/* ------------------------------------------------------------------ send */

/* Send n datagrams of len bytes from bufs on fd; retries what the kernel refused for now. */
static int send_all(int fd, uint8_t *bufs, size_t len, unsigned int n)
{
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	unsigned int done = 0;

	memset(msgs, 0, sizeof(msgs));
	for (unsigned int i = 0; i < n; i++) {
		iov[i] = (struct iovec){ .iov_base = bufs + i * len, .iov_len = len };
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (done < n) {
		int r = sendmmsg(fd, msgs + done, n - done, 0);

		if (r > 0) {
			done += (unsigned int)r;
		} else if (r < 0 && errno == ENOBUFS) {
			usleep(1000);
		} else if (r < 0 && errno != EINTR && errno != ECONNREFUSED && errno != EAGAIN) {
			perror("udpseq: sendmmsg");
			return -1;
		}
	}
	return 0;
}

static int open_flow(const struct addrinfo *ai)
{
	int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		perror("udpseq: socket");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int cmd_send(const struct args *a)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICHOST };
	struct addrinfo *ai;
	int fds[MAX_FLOWS], status = 0;
	unsigned long opened = 0;
	uint8_t *bufs;
	int err;

	err = getaddrinfo(a->host, a->port, &hints, &ai);
	if (err) {
		fprintf(stderr, "udpseq: %s %s: %s\n", a->host, a->port, gai_strerror(err));
		return 2;
	}
	bufs = calloc(BATCH, a->size);
	for (; bufs && opened < a->flows; opened++) {
		fds[opened] = open_flow(ai);
		if (fds[opened] < 0)
			break;
	}
	freeaddrinfo(ai);
	if (!bufs || opened < a->flows) {
		status = 1;
		goto out;
	}
	for (unsigned long base = 0; base < a->count && !status; base += BATCH) {
		unsigned int n = a->count - base < BATCH ? (unsigned int)(a->count - base) : BATCH;

		for (unsigned long f = 0; f < a->flows && !status; f++) {
			for (unsigned int i = 0; i < n; i++)
				put_header(bufs + i * a->size, MAGIC_DATA, (uint32_t)f, base + i);
			status = send_all(fds[f], bufs, a->size, n) ? 1 : 0;
		}
	}
	for (unsigned long f = 0; f < a->flows && !status; f++) {
		for (unsigned int i = 0; i < END_MARKERS; i++)
			put_header(bufs + i * a->size, MAGIC_END, (uint32_t)f, a->count);
		status = send_all(fds[f], bufs, a->size, END_MARKERS) ? 1 : 0;
	}
	if (!status)
		printf("sent flows=%lu datagrams=%lu\n", a->flows, a->flows * a->count);
out:
	while (opened > 0)
		close(fds[--opened]);
	free(bufs);
	return status;
}

/* ------------------------------------------------------------------ recv */

struct flow {
	int used;
	struct in6_addr addr;
	uint16_t port;
	int ended;           /* an end marker arrived */
	uint64_t sent;       /* datagram count from the end marker */
	int64_t highest;     /* highest number seen, -1 before the first */
	uint64_t received, reordered, duplicates;
	uint8_t *seen;       /* bitmap of numbers seen */
	size_t seen_bytes;
};

struct totals {
	unsigned long flows, ended, malformed;
};

static struct flow table[TABLE_SIZE];

static unsigned int slot_of(const struct sockaddr_in6 *src)
{
	uint32_t h = 2166136261u;
	const uint8_t *b = src->sin6_addr.s6_addr;

	for (int i = 0; i < 16; i++)
		h = (h ^ b[i]) * 16777619u;
	h = (h ^ src->sin6_port) * 16777619u;
	return h & (TABLE_SIZE - 1);
}

/* The flow of src, created on first sight; NULL when the table is full. */
static struct flow *flow_of(const struct sockaddr_in6 *src, struct totals *t)
{
	unsigned int i = slot_of(src);

	for (unsigned int probes = 0; probes < TABLE_SIZE; probes++, i = (i + 1) & (TABLE_SIZE - 1)) {
		struct flow *f = &table[i];

		if (!f->used) {
			if (t->flows >= TABLE_SIZE / 2)
				return NULL;
			f->used = 1;
			f->addr = src->sin6_addr;
			f->port = src->sin6_port;
			f->highest = -1;
			t->flows++;
			return f;
		}
		if (f->port == src->sin6_port && !memcmp(&f->addr, &src->sin6_addr, sizeof(f->addr)))
			return f;
	}
	return NULL;
}

/* Mark seq seen; returns 1 if it was seen before, -1 without memory. */
static int test_and_set(struct flow *f, uint64_t seq)
{
	size_t byte = (size_t)(seq / 8);
	uint8_t bit = (uint8_t)(1u << (seq % 8));
	int was;

	if (byte >= f->seen_bytes) {
		size_t n = f->seen_bytes ? f->seen_bytes : 4096;
		uint8_t *p;

		while (n <= byte)
			n *= 2;
		p = realloc(f->seen, n);
		if (!p)
			return -1;
		memset(p + f->seen_bytes, 0, n - f->seen_bytes);
		f->seen = p;
		f->seen_bytes = n;
	}
	was = !!(f->seen[byte] & bit);
	f->seen[byte] |= bit;
	return was;
}

static void account(const uint8_t *data, size_t len, const struct sockaddr_in6 *src,
		    struct totals *t)
{
	struct flow *f;
	uint64_t seq;
	int dup;

	if (len < HDR_LEN || (memcmp(data, MAGIC_DATA, 4) && memcmp(data, MAGIC_END, 4))) {
		t->malformed++;
		return;
	}
	memcpy(&seq, data + 8, 8);
	seq = be64toh(seq);
	f = flow_of(src, t);
	if (!f || seq >= MAX_SEQ) {
		t->malformed++;
		return;
	}
	if (!memcmp(data, MAGIC_END, 4)) {
		if (!f->ended)
			t->ended++;
		f->ended = 1;
		f->sent = seq;
		return;
	}
	dup = test_and_set(f, seq);
	if (dup < 0) {
		t->malformed++;
		return;
	}
	if (dup) {
		f->duplicates++;
		return;
	}
	f->received++;
	if ((int64_t)seq < f->highest)
		f->reordered++;
	else
		f->highest = (int64_t)seq;
}

static int open_listener(const char *port)
{
	int fd = tool_udp_listen("udpseq", port), size = RCVBUF;

	if (fd < 0)
		return -1;
	/* A big buffer (beyond rmem_max as root) so bursts are not lost at the socket. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	return fd;
}

/* Read what is queued on fd; returns datagrams read or -1. */
static int drain(int fd, uint8_t *bufs, struct totals *t)
{
	struct sockaddr_in6 src[BATCH];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	int n;

	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ .iov_base = bufs + (size_t)i * MAX_SIZE, .iov_len = MAX_SIZE };
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &src[i];
		msgs[i].msg_hdr.msg_namelen = sizeof(src[i]);
	}
	n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	for (int i = 0; i < n; i++)
		account(bufs + (size_t)i * MAX_SIZE, msgs[i].msg_len, &src[i], t);
	return n;
}

static void report(const struct totals *t)
{
	uint64_t received = 0, lost = 0, reordered = 0, duplicates = 0;

	for (unsigned int i = 0; i < TABLE_SIZE; i++) {
		const struct flow *f = &table[i];
		uint64_t sent;

		if (!f->used)
			continue;
		sent = f->ended ? f->sent : (uint64_t)(f->highest + 1);
		received += f->received;
		reordered += f->reordered;
		duplicates += f->duplicates;
		lost += sent > f->received ? sent - f->received : 0;
	}
	if (t->malformed)
		fprintf(stderr, "udpseq: %lu datagrams not understood\n", t->malformed);
	printf("flows=%lu received=%llu lost=%llu reordered=%llu duplicates=%llu\n", t->flows,
	       (unsigned long long)received, (unsigned long long)lost,
	       (unsigned long long)reordered, (unsigned long long)duplicates);
}

static int cmd_recv(const struct args *a)
{
	int fd = open_listener(a->port), status = 0;
	uint8_t *bufs = malloc((size_t)BATCH * MAX_SIZE);
	struct totals t = { 0 };
	int idle_ms = (int)a->timeout * 1000;

	if (fd < 0 || !bufs) {
		free(bufs);
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r, all_ended = t.ended >= a->flows;

		/* After every end marker, only stragglers may still come. */
		r = poll(&p, 1, all_ended ? 200 : idle_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		while ((r = drain(fd, bufs, &t)) > 0)
			;
		if (r < 0) {
			perror("udpseq: recvmmsg");
			status = 1;
			break;
		}
	}
	report(&t);
	close(fd);
	free(bufs);
	return status;
}

int main(int argc, char **argv)
{
	struct args a = { .size = 64, .timeout = 10 };

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 4 && !strcmp(argv[1], "send")) {
		a.host = argv[2];
		a.port = argv[3];
		parse_options(argc, argv, 4, &a);
		if (!a.flows || !a.count)
			usage();
		number("port", a.port, 1, 65535);
		return cmd_send(&a);
	}
	if (argc >= 3 && !strcmp(argv[1], "recv")) {
		a.port = argv[2];
		parse_options(argc, argv, 3, &a);
		if (!a.flows)
			usage();
		return cmd_recv(&a);
	}
	usage();
}
