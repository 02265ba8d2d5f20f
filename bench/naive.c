/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * naive.c - the reference redirectors of the benchmark: the loop most users
 * write with libnetfilter_queue. One packet per recv(), one nfq_set_verdict()
 * per packet, full copy, no batching.
 *
 *   naive QUEUE
 *       The loop as tutorials show it: default socket buffer, default queue
 *       length (1024), segments rather than GSO packets, no fail-open.
 *   naive --tuned [--fail-closed] QUEUE
 *       The same loop set up the way the documentation advises ("naive+"):
 *       a 64 MiB socket buffer (SO_RCVBUFFORCE), GSO packets whole
 *       (NFQA_CFG_F_GSO), a queue of 8192 packets, fail-open on overflow
 *       (NFQA_CFG_F_FAIL_OPEN; not with --fail-closed), and ENOBUFS counted.
 *
 * Binds NFQUEUE number QUEUE (the caller installs the rule that feeds it),
 * prints "ready queue=QUEUE" once bound, accepts every packet unchanged and
 * runs until SIGINT or SIGTERM; then prints "packets=N enobufs=E" and exits 0.
 * Exit status: 1 on a netlink error, 2 on bad arguments.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h> /* NF_ACCEPT; after netinet/in.h */

#define TUNED_RCVBUF (64 << 20)
#define TUNED_MAXLEN 8192

struct config {
	int queue, tuned, fail_closed;
};

static volatile sig_atomic_t stopping;
static unsigned long long packets, enobufs;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

/* Accept every packet as it came. */
static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa,
		     void *data)
{
	struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
	uint32_t id = ph ? ntohl(ph->packet_id) : 0;

	(void)msg;
	(void)data;
	packets++;
	return nfq_set_verdict(qh, id, NF_ACCEPT, 0, NULL);
}

static int parse_queue(const char *arg)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || v > 65535) {
		fprintf(stderr, "naive: bad queue number \"%s\"\n", arg);
		exit(2);
	}
	return (int)v;
}

static void usage(void)
{
	fprintf(stderr, "usage: naive [--tuned [--fail-closed]] QUEUE\n");
	exit(2);
}

static void parse_args(int argc, char **argv, struct config *c)
{
	int i;

	for (i = 1; i < argc - 1; i++) {
		if (!strcmp(argv[i], "--tuned"))
			c->tuned = 1;
		else if (!strcmp(argv[i], "--fail-closed"))
			c->fail_closed = 1;
		else
			usage();
	}
	if (i != argc - 1 || (c->fail_closed && !c->tuned))
		usage();
	c->queue = parse_queue(argv[i]);
}

/* The documented settings: big buffer, GSO, long queue, fail-open unless asked not to. */
static int tune(struct nfq_q_handle *qh, int fd, const struct config *c)
{
	uint32_t flags = NFQA_CFG_F_GSO | (c->fail_closed ? 0 : NFQA_CFG_F_FAIL_OPEN);
	int size = TUNED_RCVBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 ||
	    nfq_set_queue_maxlen(qh, TUNED_MAXLEN) < 0 ||
	    nfq_set_queue_flags(qh, NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN, flags) < 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	static char buf[65536 + 4096];
	struct config c = { 0 };
	struct nfq_q_handle *qh;
	struct nfq_handle *h;
	int fd;

	parse_args(argc, argv, &c);
	sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: recv() returns EINTR */
	sigaction(SIGTERM, &sa, NULL);

	h = nfq_open();
	if (!h) {
		perror("naive: nfq_open");
		return 1;
	}
	qh = nfq_create_queue(h, (uint16_t)c.queue, on_packet, NULL);
	if (!qh || nfq_set_mode(qh, NFQNL_COPY_PACKET, 0xffff) < 0) {
		perror("naive: bind queue");
		nfq_close(h);
		return 1;
	}
	fd = nfq_fd(h);
	if (c.tuned && tune(qh, fd, &c) < 0) {
		perror("naive: tune queue");
		nfq_close(h);
		return 1;
	}
	printf("ready queue=%d\n", c.queue);
	fflush(stdout);

	while (!stopping) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n >= 0) {
			nfq_handle_packet(h, buf, (int)n);
		} else if (errno == ENOBUFS) {
			enobufs++; /* the kernel dropped packets for us; the loop goes on */
		} else if (errno != EINTR) {
			perror("naive: recv");
			break;
		}
	}
	nfq_destroy_queue(qh);
	nfq_close(h);
	printf("packets=%llu enobufs=%llu\n", packets, enobufs);
	return stopping ? 0 : 1;
}
