/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * passthru.c - `ipredir passthru`: receive every matching packet and send it on
 * unchanged, in batches (the counterpart of IPRedir's UmTxRxLoopEx). With
 * --rewrite each packet goes back as new bytes (identical content, checksums
 * filled in), exercising the modify path end to end.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define DEFAULT_BATCH 64
#define MAX_BATCH 1024

struct passthru {
	unsigned int batch;
	unsigned int snaplen;
	unsigned long long count; /* stop after this many packets; 0 = never */
	int rewrite;
	int quiet;
};

struct rate {
	double t;
	uint64_t packets, bytes;
};

static const struct option passthru_options[] = {
	{ "batch", required_argument, NULL, 'b' },
	{ "snap", required_argument, NULL, 's' },
	{ "rewrite", no_argument, NULL, 'r' },
	{ "count", required_argument, NULL, 'c' },
	{ "quiet", no_argument, NULL, 'q' },
	{ 0 },
};

static void parse_option(int opt, const char *arg, void *ctx);

static struct passthru config = { .batch = DEFAULT_BATCH };

static const struct cli_spec spec = {
	.name = "passthru",
	.synopsis = "[options]",
	.help = "  -b, --batch N          packets per receive call (1..1024, default 64)\n"
		"      --snap N           copy only the first N bytes of each packet\n"
		"      --rewrite          send each packet back as new (identical) bytes\n"
		"  -c, --count N          stop after N packets\n"
		"  -q, --quiet            no status line each second\n",
	.longopts = passthru_options,
	.shortopts = "b:c:q",
	.redirect = 1,
	.parse = parse_option,
	.ctx = &config,
};

static void parse_option(int opt, const char *arg, void *ctx)
{
	struct passthru *p = ctx;

	switch (opt) {
	case 'b': p->batch = cli_uint(&spec, "batch", arg, 1, MAX_BATCH); break;
	case 's': p->snaplen = cli_uint(&spec, "snap", arg, 40, IPR_SNAPLEN_MAX); break;
	case 'r': p->rewrite = 1; break;
	case 'c': p->count = cli_uint(&spec, "count", arg, 1, 0xffffffffu); break;
	case 'q': p->quiet = 1; break;
	default: cli_usage_error(&spec, "unexpected option");
	}
}

/* New bytes for the kernel need real checksums: a partial one would be sent as is. */
static int rewrite_packet(struct ipr_handle *h, struct ipr_packet *pkt)
{
	if (pkt->flags & IPR_PKT_TRUNCATED)
		return ipr_accept(h, pkt);
	if ((pkt->flags & IPR_PKT_CSUM_NOT_READY) && ipr_checksum_fill(pkt->data, pkt->caplen) < 0)
		return ipr_accept(h, pkt);
	return ipr_accept_modified(h, pkt, pkt->data, pkt->caplen);
}

static int answer(struct ipr_handle *h, struct ipr_packet *pkts, int n)
{
	int err = 0;

	if (!config.rewrite)
		return ipr_set_verdicts(h, pkts, (unsigned int)n, IPR_ACCEPT);
	for (int i = 0; i < n && !err; i++)
		err = rewrite_packet(h, &pkts[i]);
	return err;
}

static void print_status(struct ipr_handle *h, struct rate *last)
{
	struct ipr_stats s;
	double now = cli_now(), dt = now - last->t;

	if (ipr_get_stats(h, &s, sizeof(s)) < 0 || dt <= 0)
		return;
	fprintf(stderr, "passthru: %9.0f pkt/s %7.3f Gbit/s  drops %llu  kernel-queue drops %llu"
			"  fail-open %llu%s",
		(double)(s.received - last->packets) / dt,
		(double)(s.bytes - last->bytes) * 8 / dt / 1e9,
		(unsigned long long)s.dropped,
		(unsigned long long)(s.queue_dropped + s.user_dropped),
		(unsigned long long)s.failopen, isatty(2) ? "\033[K\r" : "\n");
	*last = (struct rate){ now, s.received, s.bytes };
}

static void print_summary(struct ipr_handle *h, double seconds)
{
	struct ipr_stats s = { 0 };

	ipr_get_stats(h, &s, sizeof(s));
	printf("passthru: %llu packets, %llu bytes in %.1f s (%.3f Gbit/s): accepted %llu, "
	       "modified %llu, dropped %llu, filtered %llu; fail-open %llu, kernel queue drops "
	       "%llu, socket drops %llu, verdict errors %llu\n",
	       (unsigned long long)s.received, (unsigned long long)s.bytes, seconds,
	       seconds > 0 ? (double)s.bytes * 8 / seconds / 1e9 : 0.0,
	       (unsigned long long)s.accepted, (unsigned long long)s.modified,
	       (unsigned long long)s.dropped, (unsigned long long)s.filtered,
	       (unsigned long long)s.failopen, (unsigned long long)s.queue_dropped,
	       (unsigned long long)s.user_dropped, (unsigned long long)s.verdict_errors);
}

static int loop(struct ipr_handle *h, void *buf, size_t buflen, struct ipr_packet *pkts)
{
	struct rate last = { cli_now(), 0, 0 };
	unsigned long long seen = 0;

	while (!cli_stop && (!config.count || seen < config.count)) {
		int n = ipr_recv_batch(h, buf, buflen, pkts, config.batch, 0);

		if (n == -EINTR || n == -EAGAIN) {
			if (cli_tick && !config.quiet)
				print_status(h, &last);
			cli_tick = 0;
			continue;
		}
		if (n < 0 || answer(h, pkts, n) < 0) {
			fprintf(stderr, "ipredir passthru: %s\n", ipr_last_error());
			return 1;
		}
		seen += (unsigned long long)n;
		if (cli_tick && !config.quiet)
			print_status(h, &last);
		cli_tick = 0;
	}
	return 0;
}

static void announce(struct ipr_handle *h)
{
	struct ipr_info info;

	ipr_get_info(h, &info);
	fprintf(stderr, "passthru: redirecting (table %s, queue %u, %s queue, filter %s); "
			"Ctrl-C stops\n",
		info.table, info.queue, info.queue_kind, info.filter_kind);
}

int cmd_passthru(int argc, char **argv)
{
	struct cli_common c;
	struct ipr_handle *h;
	struct ipr_packet *pkts;
	size_t buflen;
	void *buf;
	double start;
	int status;

	if (cli_parse(&spec, argc, argv, &c) != argc)
		cli_usage_error(&spec, "unexpected argument \"%s\"", argv[optind]);
	c.opts.snaplen = config.snaplen;
	cli_signals(!config.quiet);
	h = cli_open(&spec, &c);
	buflen = ipr_slot_size(h) * config.batch;
	buf = malloc(buflen);
	pkts = calloc(config.batch, sizeof(*pkts));
	if (!buf || !pkts) {
		fprintf(stderr, "ipredir passthru: out of memory\n");
		ipr_close(h);
		return 1;
	}
	if (!config.quiet)
		announce(h);
	start = cli_now();
	status = loop(h, buf, buflen, pkts);
	print_summary(h, cli_now() - start);
	if (ipr_close(h) < 0 && !status) {
		fprintf(stderr, "ipredir passthru: %s\n", ipr_last_error());
		status = 1;
	}
	free(pkts);
	free(buf);
	return status;
}
