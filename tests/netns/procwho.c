/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * procwho.c - a test tool: holds every TCP and UDP packet of the namespace with
 * IPR_OPEN_PROCESS, lets it go on, and prints which process each one names.
 *
 *   procwho [FILTER] [DELAY_MS]
 *       With DELAY_MS, waits that long after each receive before looking the
 *       packets up (their processes may have exited meanwhile). Prints "ready" once the redirector is open (and, on stderr, the one-line
 *       limit of process lookups here, if any), then one line per packet:
 *         HOOK PROTO LOCAL_PORT REMOTE_PORT PID COMM FLAGS
 *       HOOK is "out" (local out) or "in" (local in), PID 0 and COMM "-" for
 *       none, FLAGS the enum ipr_process_flags. Runs until SIGINT or SIGTERM.
 * Exit status: 0, 1 when the redirector cannot open or fails.
 */
#include <errno.h>
#include <linux/netfilter.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ipredir.h"

#define BATCH 64

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

static void print_packet(struct ipr_handle *h, const struct ipr_packet *p)
{
	struct ipr_process proc;
	struct ipr_parsed pp;
	int out = p->hook == NF_INET_LOCAL_OUT;

	if (ipr_parse(p->data, p->caplen, &pp) || !pp.l4)
		return;
	if (ipr_packet_process(h, p, &proc, sizeof(proc)))
		proc = (struct ipr_process){ .comm = "-" };
	printf("%s %s %u %u %u %s %u\n", out ? "out" : "in",
	       pp.proto == 6 ? "tcp" : "udp", out ? pp.sport : pp.dport,
	       out ? pp.dport : pp.sport, proc.pid, proc.comm[0] ? proc.comm : "-", proc.flags);
}

static void pause_ms(unsigned long ms)
{
	struct timespec t = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	nanosleep(&t, NULL);
}

static int serve(struct ipr_handle *h, unsigned long delay_ms)
{
	size_t buflen = BATCH * ipr_slot_size(h);
	struct ipr_packet pkts[BATCH];
	void *buf = malloc(buflen);

	if (!buf)
		return 1;
	while (!stop) {
		int n = ipr_recv_batch(h, buf, buflen, pkts, BATCH, 0);

		if (n == -EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "procwho: %s\n", ipr_last_error());
			break;
		}
		if (delay_ms)
			pause_ms(delay_ms);
		for (int i = 0; i < n; i++) {
			print_packet(h, &pkts[i]);
			ipr_accept(h, &pkts[i]);
		}
		fflush(stdout);
	}
	free(buf);
	return stop ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct ipr_options o = IPR_OPTIONS_INIT;
	struct sigaction sa = { .sa_handler = on_signal };
	struct ipr_handle *h;
	const char *limits;
	int ret;

	o.filter = argc > 1 && *argv[1] ? argv[1] : "tcp or udp";
	o.flags = IPR_OPEN_PROCESS;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (ipr_open(&o, &h)) {
		fprintf(stderr, "procwho: %s\n", ipr_last_error());
		return 1;
	}
	limits = ipr_process_limits(h);
	if (limits)
		fprintf(stderr, "procwho: %s\n", limits);
	printf("ready\n");
	fflush(stdout);
	ret = serve(h, argc > 2 ? strtoul(argv[2], NULL, 10) : 0);
	ipr_close(h);
	return ret;
}
