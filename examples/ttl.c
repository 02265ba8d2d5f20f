/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ttl - rewrite the IPv4 TTL / IPv6 hop limit of every packet this host sends
 * to N, so that the receivers see that value (try it on the side that answers
 * pings: the pinger then prints ttl=N).
 *
 * Shows: modifying a packet in place and accepting the new bytes
 * (ipr_set_ttl, ipr_checksum_fill for IPR_PKT_CSUM_NOT_READY packets,
 * ipr_accept_modified), and leaving alone what must not change: truncated
 * copies and IPv6 neighbour discovery, whose hop limit must stay 255.
 *
 * Run:   sudo build/examples/ttl 7 [COUNT]
 * It stops after COUNT packets (default: run until Ctrl-C or SIGTERM) and
 * prints how many it rewrote.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <ipredir.h>

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	stopping = sig;
}

/* No SA_RESTART: a signal makes the blocking receive return -EINTR. */
static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* ICMPv6 router/neighbour solicitations, advertisements and redirects (133-137). */
static int is_neighbour_discovery(const struct ipr_parsed *p)
{
	return p->version == 6 && p->proto == 58 && p->l4 && p->l4[0] >= 133 && p->l4[0] <= 137;
}

/* Give pkt its verdict: accepted with the new TTL, or unchanged. Returns 1 if rewritten. */
static int rewrite(struct ipr_handle *h, struct ipr_packet *pkt, uint8_t ttl)
{
	struct ipr_parsed p;

	if ((pkt->flags & IPR_PKT_TRUNCATED) || ipr_parse(pkt->data, pkt->caplen, &p) < 0 ||
	    is_neighbour_discovery(&p) || ipr_set_ttl(pkt->data, pkt->caplen, ttl) < 0)
		return ipr_accept(h, pkt) < 0 ? -1 : 0;
	if ((pkt->flags & IPR_PKT_CSUM_NOT_READY) && ipr_checksum_fill(pkt->data, pkt->caplen) < 0)
		return ipr_accept(h, pkt) < 0 ? -1 : 0; /* the kernel gets the old bytes */
	return ipr_accept_modified(h, pkt, pkt->data, pkt->caplen) < 0 ? -1 : 1;
}

static int run(struct ipr_handle *h, uint8_t ttl, unsigned long limit, unsigned long *done)
{
	size_t buflen = ipr_slot_size(h);
	struct ipr_packet pkt;
	unsigned long seen = 0;
	void *buf = malloc(buflen);
	int n = 0;

	if (!buf)
		return -ENOMEM;
	while (!stopping && (limit == 0 || seen < limit)) {
		n = ipr_recv(h, buf, buflen, &pkt, 0);
		if (n == -EINTR) {
			n = 0;
			continue;
		}
		if (n < 0 || (n = rewrite(h, &pkt, ttl)) < 0)
			break;
		*done += n;
		seen++;
	}
	n = n < 0 ? -1 : ipr_flush(h); /* the last new bytes live in buf */
	free(buf);
	return n;
}

int main(int argc, char **argv)
{
	struct ipr_options opts = IPR_OPTIONS_INIT;
	unsigned long ttl = argc > 1 ? strtoul(argv[1], NULL, 10) : 0, done = 0;
	struct ipr_handle *h;
	int err;

	if (argc < 2 || argc > 3 || ttl < 1 || ttl > 255) {
		fprintf(stderr, "usage: %s TTL(1-255) [COUNT]\n", argv[0]);
		return 2;
	}
	opts.layers = IPR_LAYER_OUT;
	catch_signals();
	if (ipr_open(&opts, &h) < 0) {
		fprintf(stderr, "ttl: %s\n", ipr_last_error());
		return 1;
	}
	printf("ttl: ready, setting %lu\n", ttl);
	fflush(stdout);
	err = run(h, (uint8_t)ttl, argc > 2 ? strtoul(argv[2], NULL, 10) : 0, &done);
	if (err < 0)
		fprintf(stderr, "ttl: %s\n", err == -ENOMEM ? "out of memory" : ipr_last_error());
	ipr_close(h);
	printf("ttl: %lu packets rewritten\n", done);
	return err < 0;
}
