/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * naive.c - the reference redirector of the benchmark: the loop most users
 * write with libnetfilter_queue. One packet per recv(), one nfq_set_verdict()
 * per packet, full copy, no batching, no fail-open.
 *
 *   naive QUEUE
 *
 * Binds NFQUEUE number QUEUE (the caller installs the rule that feeds it),
 * prints "ready queue=QUEUE" once bound, accepts every packet unchanged and
 * runs until SIGINT or SIGTERM; then prints "packets=N" and exits 0.
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

static volatile sig_atomic_t stopping;
static unsigned long long packets;

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

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	static char buf[65536 + 4096];
	struct nfq_q_handle *qh;
	struct nfq_handle *h;
	int queue, fd;

	if (argc != 2) {
		fprintf(stderr, "usage: naive QUEUE\n");
		return 2;
	}
	queue = parse_queue(argv[1]);
	sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: recv() returns EINTR */
	sigaction(SIGTERM, &sa, NULL);

	h = nfq_open();
	if (!h) {
		perror("naive: nfq_open");
		return 1;
	}
	qh = nfq_create_queue(h, (uint16_t)queue, on_packet, NULL);
	if (!qh || nfq_set_mode(qh, NFQNL_COPY_PACKET, 0xffff) < 0) {
		perror("naive: bind queue");
		nfq_close(h);
		return 1;
	}
	fd = nfq_fd(h);
	printf("ready queue=%d\n", queue);
	fflush(stdout);

	while (!stopping) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n >= 0) {
			nfq_handle_packet(h, buf, (int)n);
		} else if (errno != EINTR && errno != ENOBUFS) {
			perror("naive: recv");
			break;
		}
		/* ENOBUFS: the kernel dropped packets for us; a naive loop just goes on. */
	}
	nfq_destroy_queue(qh);
	nfq_close(h);
	printf("packets=%llu\n", packets);
	return stopping ? 0 : 1;
}
