/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * passthru - the smallest complete redirector: every IP packet this host
 * receives or sends is held by the kernel, handed to this program in batches,
 * and let go again with one verdict call per batch.
 *
 * Shows: ipr_open, ipr_slot_size, ipr_recv_batch, ipr_set_verdicts, ipr_close.
 *
 * Run:   sudo build/examples/passthru [COUNT]
 * It stops after COUNT packets (default: run until Ctrl-C or SIGTERM) and
 * prints how many packets went through.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <ipredir.h>

#define BATCH 64

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

/* Accept packets in batches until a signal or until limit (0: none) of them. */
static int pass_packets(struct ipr_handle *h, unsigned long limit, unsigned long *total)
{
	size_t buflen = BATCH * ipr_slot_size(h);
	struct ipr_packet pkts[BATCH];
	void *buf = malloc(buflen);
	int n, err = 0;

	if (!buf)
		return -ENOMEM;
	while (!stopping && (limit == 0 || *total < limit)) {
		unsigned int max = BATCH;

		if (limit && limit - *total < max)
			max = limit - *total;
		n = ipr_recv_batch(h, buf, buflen, pkts, max, 0);
		if (n == -EINTR)
			continue;
		if (n < 0 || (err = ipr_set_verdicts(h, pkts, n, IPR_ACCEPT)) < 0) {
			err = n < 0 ? n : err;
			break;
		}
		*total += n;
	}
	if (!err)
		err = ipr_flush(h);
	free(buf);
	return err;
}

int main(int argc, char **argv)
{
	struct ipr_options opts = IPR_OPTIONS_INIT; /* every IP packet, in and out */
	unsigned long limit = argc > 1 ? strtoul(argv[1], NULL, 10) : 0, total = 0;
	struct ipr_handle *h;
	int err;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [COUNT]\n", argv[0]);
		return 2;
	}
	catch_signals();
	if (ipr_open(&opts, &h) < 0) {
		fprintf(stderr, "passthru: %s\n", ipr_last_error());
		return 1;
	}
	printf("passthru: ready\n");
	fflush(stdout);
	err = pass_packets(h, limit, &total);
	if (err < 0)
		fprintf(stderr, "passthru: %s\n", err == -ENOMEM ? "out of memory" : ipr_last_error());
	ipr_close(h);
	printf("passthru: %lu packets\n", total);
	return err < 0;
}
