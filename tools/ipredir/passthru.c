/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * passthru.c - `ipredir passthru`: receive every matching packet and send it on
 * unchanged, in batches (the counterpart of IPRedir's UmTxRxLoopEx), one thread
 * per queue. With --rewrite each packet goes back as new bytes (identical
 * content, checksums filled in), exercising the modify path end to end; with
 * --bypass-after N each flow is offloaded to the kernel after N packets.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define DEFAULT_BATCH 64
#define MAX_BATCH 1024

struct worker {
	struct ipr_handle *h;
	pthread_t thread;
	void *buf;
	size_t buflen;
	struct ipr_packet *pkts;
	struct flow_table *flows; /* --bypass-after */
	int status;
};

static atomic_ullong seen;     /* packets of all threads, for --count */
static atomic_int running;     /* worker threads still looping */
static pthread_t main_thread;

static const struct option passthru_options[] = {
	{ "batch", required_argument, NULL, 'b' },
	{ "snap", required_argument, NULL, 's' },
	{ "rewrite", no_argument, NULL, 'r' },
	{ "count", required_argument, NULL, 'c' },
	{ "queues", required_argument, NULL, 'q' },
	{ "bypass-after", required_argument, NULL, 'B' },
	{ "quiet", no_argument, NULL, 'Q' },
	{ 0 },
};

struct passthru_config passthru_config = { .batch = DEFAULT_BATCH };

static void parse_option(int opt, const char *arg, void *ctx);

const struct cli_spec passthru_spec = {
	.name = "passthru",
	.synopsis = "[options]",
	.help = "  -b, --batch N          packets per receive call (1..1024, default 64)\n"
		"      --snap N           copy only the first N bytes of each packet\n"
		"      --rewrite          send each packet back as new (identical) bytes\n"
		"  -q, --queues N         spread flows over N queues, one thread each\n"
		"                         (default: one per CPU; 1 with --queue)\n"
		"      --bypass-after N   offload each flow to the kernel after N packets\n"
		"  -c, --count N          stop after N packets\n"
		"      --quiet            no announcement and no progress line\n",
	.longopts = passthru_options,
	.shortopts = "b:c:q:",
	.redirect = 1,
	.parse = parse_option,
	.ctx = &passthru_config,
};

static void parse_option(int opt, const char *arg, void *ctx)
{
	struct passthru_config *p = ctx;
	const struct cli_spec *spec = &passthru_spec;

	switch (opt) {
	case 'b': p->batch = cli_uint(spec, "batch", arg, 1, MAX_BATCH); break;
	case 's': p->snaplen = cli_uint(spec, "snap", arg, 40, IPR_SNAPLEN_MAX); break;
	case 'r': p->rewrite = 1; break;
	case 'c': p->count = cli_uint(spec, "count", arg, 1, 0xffffffffu); break;
	case 'q': p->queues = cli_uint(spec, "queues", arg, 1, IPR_QUEUES_MAX); break;
	case 'B': p->bypass_after = cli_uint(spec, "bypass-after", arg, 1, 0xffffffu); break;
	case 'Q': p->quiet = 1; break;
	default: cli_usage_error(spec, "unexpected option");
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

static int answer_one(struct worker *w, struct ipr_packet *pkt)
{
	if (w->flows && flow_count(w->flows, pkt) >= passthru_config.bypass_after)
		return ipr_accept_bypass(w->h, pkt);
	if (passthru_config.rewrite)
		return rewrite_packet(w->h, pkt);
	return ipr_accept(w->h, pkt);
}

static int answer(struct worker *w, int n)
{
	int err = 0;

	if (!passthru_config.rewrite && !w->flows)
		return ipr_set_verdicts(w->h, w->pkts, (unsigned int)n, IPR_ACCEPT);
	for (int i = 0; i < n && !err; i++)
		err = answer_one(w, &w->pkts[i]);
	return err;
}

static int count_reached(void)
{
	return passthru_config.count && atomic_load(&seen) >= passthru_config.count;
}

static void *worker_loop(void *arg)
{
	struct worker *w = arg;

	while (!cli_stop && !count_reached()) {
		int n = ipr_recv_batch(w->h, w->buf, w->buflen, w->pkts, passthru_config.batch, 0);

		if (n == -EINTR || n == -EAGAIN)
			continue;
		if (n < 0 || answer(w, n) < 0) {
			fprintf(stderr, "ipredir passthru: %s\n", ipr_last_error());
			w->status = 1;
			break;
		}
		atomic_fetch_add(&seen, (unsigned long long)n);
	}
	ipr_flush(w->h);
	atomic_fetch_sub(&running, 1);
	pthread_kill(main_thread, SIGUSR1);
	return NULL;
}

static void print_summary_json(const struct ipr_stats *s, double seconds)
{
	struct json_obj o;

	json_begin(&o, stdout);
	json_str(&o, "tool", "passthru");
	json_real(&o, "seconds", seconds, 3);
	json_real(&o, "gbit_s", seconds > 0 ? (double)s->bytes * 8 / seconds / 1e9 : 0.0, 3);
	json_stats(&o, s);
	json_end(&o);
}

static void print_summary(struct ipr_handle *h, double seconds)
{
	struct ipr_stats s;

	cli_stats(h, &s);
	if (passthru_config.json) {
		print_summary_json(&s, seconds);
		return;
	}
	printf("passthru: %llu packets, %llu bytes in %.1f s (%.3f Gbit/s): accepted %llu, "
	       "modified %llu, dropped %llu, filtered %llu, bypass verdicts %llu, expired %llu; "
	       "fail-open %llu, kernel queue drops %llu, socket drops %llu, verdict errors %llu\n",
	       (unsigned long long)s.received, (unsigned long long)s.bytes, seconds,
	       seconds > 0 ? (double)s.bytes * 8 / seconds / 1e9 : 0.0,
	       (unsigned long long)s.accepted, (unsigned long long)s.modified,
	       (unsigned long long)s.dropped, (unsigned long long)s.filtered,
	       (unsigned long long)s.bypassed, (unsigned long long)s.expired,
	       (unsigned long long)s.failopen, (unsigned long long)s.queue_dropped,
	       (unsigned long long)s.user_dropped, (unsigned long long)s.verdict_errors);
	fflush(stdout);
}

static void announce(struct ipr_handle *h)
{
	struct ipr_info info;

	ipr_get_info(h, &info);
	fprintf(stderr, "passthru: redirecting (table %s, queue %u, %u queue%s, %s, filter %s); "
			"Ctrl-C stops\n",
		info.table, info.queue, ipr_queue_count(h), ipr_queue_count(h) > 1 ? "s" : "",
		info.queue_kind, info.filter_kind);
}

static int setup_worker(struct worker *w, struct ipr_handle *h)
{
	w->h = h;
	w->buflen = ipr_slot_size(h) * passthru_config.batch;
	w->buf = calloc(1, w->buflen); /* every page touched now: memory flat from the start */
	w->pkts = calloc(passthru_config.batch, sizeof(*w->pkts));
	if (passthru_config.bypass_after)
		w->flows = flow_table_new();
	if (!w->buf || !w->pkts || (passthru_config.bypass_after && !w->flows)) {
		fprintf(stderr, "ipredir passthru: out of memory\n");
		return -1;
	}
	return 0;
}

static void free_workers(struct worker *w, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		free(w[i].buf);
		free(w[i].pkts);
		flow_table_free(w[i].flows);
	}
	free(w);
}

/* Workers take only SIGUSR1 (a wake-up); the main thread handles the rest. */
static int start_workers(struct worker *w, unsigned int n)
{
	sigset_t block, old;
	int err = 0;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGALRM);
	sigaddset(&block, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	atomic_store(&running, (int)n);
	for (unsigned int i = 0; i < n && !err; i++)
		err = pthread_create(&w[i].thread, NULL, worker_loop, &w[i]);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

/* Wake the workers until each has left its receive call, then join them. */
static void stop_workers(struct worker *w, unsigned int n)
{
	cli_stop = 1;
	for (unsigned int i = 0; i < n; i++) {
		struct timespec ts;

		do {
			pthread_kill(w[i].thread, SIGUSR1);
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
		} while (pthread_timedjoin_np(w[i].thread, NULL, &ts) == ETIMEDOUT);
	}
}

static void on_wake(int sig)
{
}

int passthru_run(struct ipr_handle *h, int (*done)(void))
{
	unsigned int n = ipr_queue_count(h);
	struct worker *w = calloc(n, sizeof(*w));
	struct sigaction sa = { .sa_handler = on_wake };
	double start = cli_now();
	int status = 0;

	sigaction(SIGUSR1, &sa, NULL);
	main_thread = pthread_self();
	for (unsigned int i = 0; w && i < n && !status; i++)
		status = setup_worker(&w[i], ipr_queue_handle(h, i));
	if (!w || status || start_workers(w, n)) {
		free_workers(w, w ? n : 0);
		return 1;
	}
	if (!passthru_config.quiet)
		announce(h);
	while (!cli_stop && atomic_load(&running) == (int)n && !(done && done())) {
		pause();
		cli_tick = 0;
	}
	stop_workers(w, n);
	cli_report_stop();
	print_summary(h, cli_now() - start);
	for (unsigned int i = 0; i < n; i++)
		status |= w[i].status;
	free_workers(w, n);
	return status;
}

int cmd_passthru(int argc, char **argv)
{
	struct cli_common c;
	struct ipr_handle *h;
	int status;

	if (cli_parse(&passthru_spec, argc, argv, &c) != argc)
		cli_usage_error(&passthru_spec, "unexpected argument \"%s\"", argv[optind]);
	passthru_apply(&c);
	cli_signals(1); /* the tick also rechecks the stop conditions */
	h = cli_open(&passthru_spec, &c);
	cli_ready(&passthru_spec, &c, h, 0);
	status = passthru_run(h, NULL);
	return cli_close(&passthru_spec, h, status);
}

/* One queue and thread per CPU spreads the copying over every core; a queue
 * number given by hand means the user chose exactly one. */
static unsigned int default_queues(const struct cli_common *c)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (c->opts.queue || cpus < 1)
		return 1;
	return cpus > IPR_QUEUES_MAX ? IPR_QUEUES_MAX : (unsigned int)cpus;
}

void passthru_apply(struct cli_common *c)
{
	c->opts.snaplen = passthru_config.snaplen;
	passthru_config.json = c->json;
	c->opts.queues = passthru_config.queues ? passthru_config.queues : default_queues(c);
	if (passthru_config.bypass_after)
		c->opts.flags |= IPR_OPEN_BYPASS;
	if (passthru_config.quiet)
		c->progress = CLI_PROGRESS_OFF;
}
