/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * wanem.c - `ipredir wanem`: a WAN / satellite link emulator in user space.
 *
 * Every matching packet is held in the kernel (no verdict yet) and accepted
 * when its time comes: --delay plus a uniform --jitter, after the packets
 * ahead of it left a link of --rate bits per second. --loss drops that share,
 * --reorder releases that share at once (overtaking the held ones); all other
 * packets leave in arrival order. The layers (--in, --out, --forward) choose
 * the directions it applies to.
 *
 * Only the struct ipr_packet of a held packet is kept: a verdict needs its id
 * and bookkeeping, not its bytes, so the receive slots are reused at once.
 * Receiving never blocks releasing: one ppoll() waits for the socket or the
 * next due packet, and receives are non-blocking.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define BATCH 64
#define BATCHES_PER_ROUND 16        /* receive calls before releasing again */
#define MAX_BACKLOG_NS 1000000000ull /* a rate queue longer than 1 s drops (tail drop) */
#define DEADLINE_MARGIN_MS 3000
#define MIN_QUEUE_LEN 8192
#define DEFAULT_QUEUE_LEN 65536
#define MAX_QUEUE_LEN (1u << 20)
#define MAX_DELAY_MS 600000
#define NS_PER_MS 1000000ull

enum {
	OPT_DELAY = 300,
	OPT_JITTER,
	OPT_LOSS,
	OPT_RATE,
	OPT_REORDER,
	OPT_QUEUE_LEN,
};

struct wanem_config {
	unsigned int delay_ms, jitter_ms;
	double loss, reorder;  /* probabilities 0..1 */
	double rate_bps;       /* 0 = unlimited */
	unsigned int queue_len;
};

/* A packet waiting for its verdict. */
struct held {
	struct ipr_packet pkt; /* pkt.data is stale: only the verdict fields are used */
	uint64_t due_ns;
};

struct wanem_state {
	struct held *ring;
	unsigned int cap, head, count;
	uint64_t last_due_ns;  /* keeps the order */
	uint64_t link_free_ns; /* when the rate-limited link is idle again */
	uint64_t rng;
	uint64_t received, delayed, lost, reordered, overflow, stale;
};

static struct wanem_config config;

static void parse_option(int opt, const char *arg, void *ctx);

static const struct option wanem_options[] = {
	{ "delay", required_argument, NULL, OPT_DELAY },
	{ "jitter", required_argument, NULL, OPT_JITTER },
	{ "loss", required_argument, NULL, OPT_LOSS },
	{ "rate", required_argument, NULL, OPT_RATE },
	{ "reorder", required_argument, NULL, OPT_REORDER },
	{ "queue-len", required_argument, NULL, OPT_QUEUE_LEN },
	{ 0 },
};

static const struct cli_spec wanem_spec = {
	.name = "wanem",
	.synopsis = "[options]",
	.help = "      --delay MS         hold each packet MS milliseconds (\"50\", \"50ms\", \"1s\")\n"
		"      --jitter MS        add a uniform -MS..+MS to each delay (order still kept)\n"
		"      --loss PCT         drop PCT percent of the packets at random\n"
		"      --rate RATE        release no faster than RATE: bit/s, or with a suffix\n"
		"                         kbit, mbit, gbit (bits), bps, kbps, mbps (bytes); a backlog\n"
		"                         of more than 1 s is dropped\n"
		"      --reorder PCT      release PCT percent at once, ahead of held packets\n"
		"      --queue-len N      packets the kernel may hold (default: from delay and rate)\n"
		"  The layers choose the directions: --in (arriving), --out (leaving),\n"
		"  --forward (routed); default --in --out. For different settings per\n"
		"  direction run two instances, one with --in and one with --out.\n",
	.longopts = wanem_options,
	.shortopts = "",
	.redirect = 1,
	.parse = parse_option,
	.ctx = &config,
};

/* ---- option values ---- */

/* "50", "50ms", "1.5s" -> milliseconds. */
static unsigned int parse_ms(const char *what, const char *arg)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (!strcmp(end, "s"))
		v *= 1000;
	else if (*end && strcmp(end, "ms"))
		v = -1;
	if (errno || end == arg || !(v >= 0 && v <= MAX_DELAY_MS))
		cli_usage_error(&wanem_spec, "%s \"%s\": expected milliseconds from 0 to %d", what,
				arg, MAX_DELAY_MS);
	return (unsigned int)(v + 0.5);
}

/* "30", "30%", "0.5" -> probability 0..1. */
static double parse_percent(const char *what, const char *arg)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || (*end && strcmp(end, "%")) || !(v >= 0 && v <= 100))
		cli_usage_error(&wanem_spec, "%s \"%s\": expected a percentage from 0 to 100", what,
				arg);
	return v / 100;
}

struct rate_unit {
	const char *suffix;
	double bits;
};

static const struct rate_unit rate_units[] = {
	{ "", 1 },       { "bit", 1 },     { "kbit", 1e3 }, { "mbit", 1e6 },  { "gbit", 1e9 },
	{ "k", 1e3 },    { "m", 1e6 },     { "g", 1e9 },    { "bps", 8 },     { "kbps", 8e3 },
	{ "mbps", 8e6 }, { "gbps", 8e9 },
};

/* "10mbit" -> bits per second. */
static double parse_rate(const char *arg)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (!errno && end != arg && v > 0 && isfinite(v))
		for (size_t i = 0; i < sizeof(rate_units) / sizeof(rate_units[0]); i++)
			if (!strcasecmp(end, rate_units[i].suffix) && v * rate_units[i].bits >= 8)
				return v * rate_units[i].bits;
	cli_usage_error(&wanem_spec, "rate \"%s\": expected e.g. 10mbit, 512kbit, 1mbps", arg);
}

static void parse_option(int opt, const char *arg, void *ctx)
{
	struct wanem_config *w = ctx;

	switch (opt) {
	case OPT_DELAY: w->delay_ms = parse_ms("delay", arg); break;
	case OPT_JITTER: w->jitter_ms = parse_ms("jitter", arg); break;
	case OPT_LOSS: w->loss = parse_percent("loss", arg); break;
	case OPT_RATE: w->rate_bps = parse_rate(arg); break;
	case OPT_REORDER: w->reorder = parse_percent("reorder", arg); break;
	case OPT_QUEUE_LEN:
		w->queue_len = cli_uint(&wanem_spec, "queue-len", arg, 64, MAX_QUEUE_LEN);
		break;
	default: cli_usage_error(&wanem_spec, "unexpected option");
	}
}

/* ---- time and chance ---- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A uniform number in [0, 1) (xorshift64*). */
static double chance(struct wanem_state *st)
{
	st->rng ^= st->rng >> 12;
	st->rng ^= st->rng << 25;
	st->rng ^= st->rng >> 27;
	return (double)((st->rng * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}

/* ---- sizing the redirector ---- */

static unsigned int longest_hold_ms(void)
{
	return config.delay_ms + config.jitter_ms +
	       (config.rate_bps > 0 ? (unsigned int)(MAX_BACKLOG_NS / NS_PER_MS) : 0);
}

/* Enough for a full rate backlog of small packets, or a generous default. */
static unsigned int queue_len(void)
{
	double n;

	if (config.queue_len)
		return config.queue_len;
	if (config.rate_bps <= 0)
		return DEFAULT_QUEUE_LEN;
	n = config.rate_bps / 8 / 256 * longest_hold_ms() / 1000;
	return n < MIN_QUEUE_LEN ? MIN_QUEUE_LEN : n > MAX_QUEUE_LEN ? MAX_QUEUE_LEN : (unsigned int)n;
}

static void apply_config(struct cli_common *c)
{
	unsigned int need = longest_hold_ms() + DEADLINE_MARGIN_MS;

	c->opts.queue_maxlen = queue_len();
	if (c->opts.deadline_ms < need) {
		if (c->opts.deadline_ms)
			fprintf(stderr, "wanem: verdict deadline raised to %u ms (longest hold "
					"%u ms)\n", need, longest_hold_ms());
		c->opts.deadline_ms = need;
	}
}

/* ---- the hold queue ---- */

static uint64_t transmit_ns(uint32_t len)
{
	return config.rate_bps > 0 ? (uint64_t)((double)len * 8 * 1e9 / config.rate_bps) : 0;
}

/* When pkt, arriving now, may leave; 0 if the rate backlog is full. */
static uint64_t due_time(struct wanem_state *st, const struct ipr_packet *pkt, uint64_t now)
{
	uint64_t start = st->link_free_ns > now ? st->link_free_ns : now, due;
	double jitter = config.jitter_ms ? (chance(st) * 2 - 1) * config.jitter_ms : 0;
	double delay_ms = config.delay_ms + jitter;

	if (start - now > MAX_BACKLOG_NS)
		return 0;
	st->link_free_ns = start + transmit_ns(pkt->len);
	due = st->link_free_ns + (uint64_t)((delay_ms > 0 ? delay_ms : 0) * NS_PER_MS);
	if (due < st->last_due_ns)
		due = st->last_due_ns;
	st->last_due_ns = due;
	return due;
}

static int hold(struct ipr_handle *h, struct wanem_state *st, struct ipr_packet *pkt,
		uint64_t now)
{
	uint64_t due = due_time(st, pkt, now);
	struct held *slot;

	if (!due || st->count == st->cap) {
		st->overflow++;
		return ipr_drop(h, pkt);
	}
	slot = &st->ring[(st->head + st->count) % st->cap];
	slot->pkt = *pkt;
	slot->pkt.data = NULL;
	slot->due_ns = due;
	st->count++;
	st->delayed++;
	return 0;
}

static int on_packet(struct ipr_handle *h, struct wanem_state *st, struct ipr_packet *pkt,
		     uint64_t now)
{
	st->received++;
	if (config.loss > 0 && chance(st) < config.loss) {
		st->lost++;
		return ipr_drop(h, pkt);
	}
	if (config.reorder > 0 && chance(st) < config.reorder) {
		st->reordered++;
		return ipr_accept(h, pkt);
	}
	return hold(h, st, pkt, now);
}

/* Accept every held packet that is due; a packet the deadline took is no error. */
static int release_due(struct ipr_handle *h, struct wanem_state *st, uint64_t now)
{
	while (st->count && st->ring[st->head].due_ns <= now) {
		int err = ipr_accept(h, &st->ring[st->head].pkt);

		if (err == -ESTALE)
			st->stale++;
		else if (err)
			return err;
		st->head = (st->head + 1) % st->cap;
		st->count--;
	}
	return 0;
}

/* ---- the loop ---- */

/* Receive what waits, without blocking; returns 0 or -errno. */
static int receive_all(struct ipr_handle *h, struct wanem_state *st, void *buf, size_t buflen,
		       struct ipr_packet *pkts)
{
	for (int round = 0; round < BATCHES_PER_ROUND; round++) {
		int n = ipr_recv_batch(h, buf, buflen, pkts, BATCH, IPR_RECV_NONBLOCK);
		uint64_t now = now_ns();

		if (n == -EAGAIN || n == -EINTR)
			return 0;
		if (n < 0)
			return n;
		for (int i = 0; i < n; i++) {
			int err = on_packet(h, st, &pkts[i], now);
			if (err)
				return err;
		}
		if (n < BATCH)
			return 0;
	}
	return 0;
}

/* Wait for packets or for the head of the queue to fall due. */
static int wait_event(struct ipr_handle *h, const struct wanem_state *st)
{
	struct pollfd pfd = { .fd = ipr_fd(h), .events = POLLIN };
	struct timespec ts, *timeout = NULL;

	if (st->count) {
		uint64_t now = now_ns(), due = st->ring[st->head].due_ns;
		uint64_t wait = due > now ? due - now : 0;

		ts.tv_sec = (time_t)(wait / 1000000000ull);
		ts.tv_nsec = (long)(wait % 1000000000ull);
		timeout = &ts;
	} else {
		ts = (struct timespec){ .tv_sec = 1 }; /* the library's deadline scan */
		timeout = &ts;
	}
	if (ppoll(&pfd, 1, timeout, NULL) < 0 && errno != EINTR)
		return -errno;
	return 0;
}

static int serve(struct ipr_handle *h, struct wanem_state *st)
{
	size_t buflen = ipr_slot_size(h) * BATCH;
	struct ipr_packet pkts[BATCH];
	void *buf = malloc(buflen);
	int err = 0;

	if (!buf)
		return -ENOMEM;
	while (!cli_stop && !err) {
		err = ipr_flush(h);
		if (!err)
			err = wait_event(h, st);
		if (!err && !cli_stop)
			err = receive_all(h, st, buf, buflen, pkts);
		if (!err)
			err = release_due(h, st, now_ns());
	}
	free(buf);
	return err;
}

static void print_summary_json(const struct wanem_state *st)
{
	struct json_obj o;

	json_begin(&o, stdout);
	json_str(&o, "tool", "wanem");
	json_uint(&o, "packets", st->received);
	json_uint(&o, "delayed", st->delayed);
	json_uint(&o, "lost", st->lost);
	json_uint(&o, "reordered", st->reordered);
	json_uint(&o, "rate_drops", st->overflow);
	json_uint(&o, "released_by_deadline", st->stale);
	json_uint(&o, "held_at_exit", st->count);
	json_end(&o);
}

static void print_summary(const struct wanem_state *st, int json)
{
	if (json) {
		print_summary_json(st);
		return;
	}
	printf("wanem: %llu packets: delayed %llu, lost %llu, reordered %llu, dropped by the rate "
	       "backlog %llu, released by the deadline %llu; %u still held at exit (accepted)\n",
	       (unsigned long long)st->received, (unsigned long long)st->delayed,
	       (unsigned long long)st->lost, (unsigned long long)st->reordered,
	       (unsigned long long)st->overflow, (unsigned long long)st->stale, st->count);
	fflush(stdout);
}

int cmd_wanem(int argc, char **argv)
{
	struct wanem_state st = { 0 };
	struct ipr_handle *h;
	struct cli_common c;
	int status = 0, err;

	if (cli_parse(&wanem_spec, argc, argv, &c) != argc)
		cli_usage_error(&wanem_spec, "unexpected argument \"%s\"", argv[optind]);
	apply_config(&c);
	st.cap = c.opts.queue_maxlen;
	st.ring = calloc(st.cap, sizeof(*st.ring));
	if (!st.ring) {
		fprintf(stderr, "ipredir wanem: out of memory\n");
		return 1;
	}
	st.rng = now_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15ull;
	cli_signals(0);
	h = cli_open(&wanem_spec, &c);
	cli_ready(&wanem_spec, &c, h, 0);
	fprintf(stderr, "wanem: delay %u ms, jitter %u ms, loss %g%%, rate %g bit/s, reorder %g%%; "
			"Ctrl-C stops\n",
		config.delay_ms, config.jitter_ms, config.loss * 100, config.rate_bps,
		config.reorder * 100);
	err = serve(h, &st);
	if (err) {
		fprintf(stderr, "ipredir wanem: %s\n", ipr_last_error());
		status = 1;
	}
	cli_report_stop();
	print_summary(&st, c.json);
	status = cli_close(&wanem_spec, h, status); /* accepts what is still held */
	free(st.ring);
	return status;
}
