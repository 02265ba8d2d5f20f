/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * slowredir.c - a test tool: a deliberately slow redirector, to overload its
 * queue. Uses only the public API.
 *
 *   slowredir [--filter EXPR] [--sleep-us N] [--maxlen N] [--fail-closed]
 *       Opens one queue on the in layer (queue_maxlen N, default 1024), prints
 *       "ready queue=Q", then receives one packet at a time and accepts it
 *       after sleeping N microseconds (default 500). On SIGINT or SIGTERM it
 *       prints "stats received=R failopen=F queue_dropped=Q user_dropped=U
 *       expired=E" and closes.
 * Exit status: 0, 1 on a failure, 2 on bad arguments.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipredir.h"
#include "toolkit.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static void print_stats(struct ipr_handle *h)
{
	struct ipr_stats s;

	if (ipr_get_stats(h, &s, sizeof(s)) < 0) {
		fprintf(stderr, "slowredir: stats: %s\n", ipr_last_error());
		return;
	}
	printf("stats received=%llu failopen=%llu queue_dropped=%llu user_dropped=%llu "
	       "expired=%llu\n", (unsigned long long)s.received, (unsigned long long)s.failopen,
	       (unsigned long long)s.queue_dropped, (unsigned long long)s.user_dropped,
	       (unsigned long long)s.expired);
}

static int serve(struct ipr_handle *h, unsigned int sleep_us)
{
	size_t size = ipr_slot_size(h);
	void *buf = malloc(size);
	struct ipr_packet pkt;
	int n = 0;

	while (buf && !stop) {
		n = ipr_recv(h, buf, size, &pkt, 0);
		if (n == -EINTR) {
			n = 0;
			continue;
		}
		if (n < 0)
			break;
		usleep(sleep_us);
		n = ipr_accept(h, &pkt);
		if (n < 0)
			break;
	}
	if (n < 0)
		fprintf(stderr, "slowredir: %s\n", ipr_last_error());
	free(buf);
	return buf && n >= 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct ipr_options opts = IPR_OPTIONS_INIT;
	struct ipr_handle *h;
	struct ipr_info info;
	unsigned int sleep_us = 500;
	int status;

	opts.layers = IPR_LAYER_IN;
	opts.queue_maxlen = 1024;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--fail-closed"))
			opts.flags |= IPR_OPEN_FAIL_CLOSED;
		else if (i + 1 < argc && !strcmp(argv[i], "--filter"))
			opts.filter = argv[++i];
		else if (i + 1 < argc && !strcmp(argv[i], "--sleep-us"))
			sleep_us = (unsigned int)tool_number("slowredir", "sleep", argv[++i], 0,
							     1000000);
		else if (i + 1 < argc && !strcmp(argv[i], "--maxlen"))
			opts.queue_maxlen = (unsigned int)tool_number("slowredir", "maxlen", argv[++i],
									      1, 1u << 20);
		else {
			fprintf(stderr, "usage: slowredir [--filter EXPR] [--sleep-us N] "
					"[--maxlen N] [--fail-closed]\n");
			return 2;
		}
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (ipr_open(&opts, &h) < 0) {
		fprintf(stderr, "slowredir: %s\n", ipr_last_error());
		return 1;
	}
	ipr_get_info(h, &info);
	printf("ready queue=%u\n", info.queue);
	status = serve(h, sleep_us);
	print_stats(h);
	ipr_close(h);
	return status;
}
