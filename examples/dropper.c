/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dropper - a one-rule firewall: every IP packet that matches a pcap filter,
 * received or sent by this host, is dropped and counted; everything else is
 * never seen by the program and flows as usual.
 *
 * Shows: a kernel-side filter (ipr_options.filter), drop verdicts for a batch
 * (ipr_set_verdicts with IPR_DROP), ipr_last_error() for a bad filter.
 *
 * Run:   sudo build/examples/dropper 'icmp and dst host 10.0.0.1' [COUNT]
 * It stops after COUNT drops (default: run until Ctrl-C or SIGTERM) and
 * prints how many packets it dropped.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <ipredir.h>

#define BATCH 32

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

/* Drop matching packets until a signal or until limit (0: none) of them. */
static int drop_packets(struct ipr_handle *h, unsigned long limit, unsigned long *dropped)
{
	size_t buflen = BATCH * ipr_slot_size(h);
	struct ipr_packet pkts[BATCH];
	void *buf = malloc(buflen);
	int n, err = 0;

	if (!buf)
		return -ENOMEM;
	while (!stopping && (limit == 0 || *dropped < limit)) {
		unsigned int max = BATCH;

		if (limit && limit - *dropped < max)
			max = limit - *dropped;
		n = ipr_recv_batch(h, buf, buflen, pkts, max, 0);
		if (n == -EINTR)
			continue;
		if (n < 0 || (err = ipr_set_verdicts(h, pkts, n, IPR_DROP)) < 0) {
			err = n < 0 ? n : err;
			break;
		}
		*dropped += n;
	}
	if (!err)
		err = ipr_flush(h);
	free(buf);
	return err;
}

int main(int argc, char **argv)
{
	struct ipr_options opts = IPR_OPTIONS_INIT;
	unsigned long limit = argc > 2 ? strtoul(argv[2], NULL, 10) : 0, dropped = 0;
	struct ipr_handle *h;
	int err;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: %s FILTER [COUNT]\n", argv[0]);
		return 2;
	}
	opts.filter = argv[1]; /* compiled here and run in the kernel */
	catch_signals();
	if (ipr_open(&opts, &h) < 0) {
		fprintf(stderr, "dropper: %s\n", ipr_last_error());
		return 1;
	}
	printf("dropper: ready, dropping '%s'\n", argv[1]);
	fflush(stdout);
	err = drop_packets(h, limit, &dropped);
	if (err < 0)
		fprintf(stderr, "dropper: %s\n", err == -ENOMEM ? "out of memory" : ipr_last_error());
	ipr_close(h);
	printf("dropper: %lu packets dropped\n", dropped);
	return err < 0;
}
