/* SPDX-License-Identifier: GPL-2.0-or-later */
/* common.c - option parsing, opening, signals and output helpers of the subcommands. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "cli.h"

#define MAX_OPTIONS 48

enum {
	OPT_IN = 256,
	OPT_OUT,
	OPT_FORWARD,
	OPT_IN_IFACE,
	OPT_OUT_IFACE,
	OPT_QUEUE,
	OPT_FAIL_CLOSED,
	OPT_DEADLINE,
	OPT_VERSION,
};

volatile sig_atomic_t cli_stop;
volatile sig_atomic_t cli_tick;

static const struct option redirect_options[] = {
	{ "filter", required_argument, NULL, 'f' },
	{ "in", no_argument, NULL, OPT_IN },
	{ "out", no_argument, NULL, OPT_OUT },
	{ "forward", no_argument, NULL, OPT_FORWARD },
	{ "interface", required_argument, NULL, 'i' },
	{ "in-interface", required_argument, NULL, OPT_IN_IFACE },
	{ "out-interface", required_argument, NULL, OPT_OUT_IFACE },
	{ "priority", required_argument, NULL, 'p' },
	{ "queue", required_argument, NULL, OPT_QUEUE },
	{ "fail-closed", no_argument, NULL, OPT_FAIL_CLOSED },
	{ "deadline", required_argument, NULL, OPT_DEADLINE },
	{ 0 },
};

static const struct option general_options[] = {
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ 0 },
};

static const char redirect_help[] =
	"  -f, --filter EXPR      pcap-syntax filter (default: every IP packet)\n"
	"      --in               packets delivered to this host\n"
	"      --out              packets this host sends\n"
	"      --forward          packets routed through this host\n"
	"                         (default: --in --out)\n"
	"  -i, --interface NAME   packets arriving on or leaving through NAME\n"
	"      --in-interface NAME   packets that arrived on NAME\n"
	"      --out-interface NAME  packets that leave through NAME\n"
	"  -p, --priority N       higher sees packets first (-10000..10000, default 0)\n"
	"      --queue N          NFQUEUE number (default: a free one)\n"
	"      --fail-closed      drop packets when the queue overflows (default: pass)\n"
	"      --deadline MS      accept packets left without a verdict this long (default 5000)\n";

static const char general_help[] = "  -v, --verbose          print library messages\n"
				   "  -h, --help             show this help\n"
				   "      --version          show the version\n";

void cli_usage_error(const struct cli_spec *spec, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ipredir %s: ", spec->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; try 'ipredir %s --help'\n", spec->name);
	exit(2);
}

unsigned int cli_uint(const struct cli_spec *spec, const char *what, const char *arg,
		      unsigned int min, unsigned int max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 0);
	if (errno || end == arg || *end || arg[0] == '-' || v < min || v > max)
		cli_usage_error(spec, "%s \"%s\": expected a number from %u to %u", what, arg, min,
				max);
	return (unsigned int)v;
}

static int parse_priority(const struct cli_spec *spec, const char *arg)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 0);
	if (errno || end == arg || *end || v < -IPR_PRIORITY_MAX || v > IPR_PRIORITY_MAX)
		cli_usage_error(spec, "priority \"%s\": expected a number from %d to %d", arg,
				-IPR_PRIORITY_MAX, IPR_PRIORITY_MAX);
	return (int)v;
}

static void usage(const struct cli_spec *spec)
{
	printf("Usage: ipredir %s %s\n\nOptions:\n%s%s%s", spec->name, spec->synopsis,
	       spec->help ? spec->help : "", spec->redirect ? redirect_help : "", general_help);
}

/* Append the { 0 }-terminated list from to the array at *n. */
static void append_options(struct option *all, size_t *n, const struct option *from)
{
	for (; from && from->name; from++)
		if (*n < MAX_OPTIONS - 1)
			all[(*n)++] = *from;
}

static void build_options(const struct cli_spec *spec, struct option *all, char *shorts,
			  size_t size)
{
	size_t n = 0;

	memset(all, 0, MAX_OPTIONS * sizeof(*all));
	append_options(all, &n, spec->longopts);
	if (spec->redirect)
		append_options(all, &n, redirect_options);
	append_options(all, &n, general_options);
	snprintf(shorts, size, "+%s%svh", spec->shortopts, spec->redirect ? "f:i:p:" : "");
}

/* Handle one common option; returns 0 if opt is not one of them. */
static int parse_common(const struct cli_spec *spec, int opt, const char *arg,
			struct cli_common *c)
{
	struct ipr_options *o = &c->opts;

	switch (opt) {
	case 'f': o->filter = arg; break;
	case OPT_IN: o->layers |= IPR_LAYER_IN; break;
	case OPT_OUT: o->layers |= IPR_LAYER_OUT; break;
	case OPT_FORWARD: o->layers |= IPR_LAYER_FORWARD; break;
	case 'i': o->interface = arg; break;
	case OPT_IN_IFACE: o->in_interface = arg; break;
	case OPT_OUT_IFACE: o->out_interface = arg; break;
	case 'p': o->priority = parse_priority(spec, arg); break;
	case OPT_QUEUE: o->queue = cli_uint(spec, "queue", arg, 1, 65535); break;
	case OPT_FAIL_CLOSED: o->flags |= IPR_OPEN_FAIL_CLOSED; break;
	case OPT_DEADLINE: o->deadline_ms = cli_uint(spec, "deadline", arg, 1, 86400000); break;
	case 'v': c->verbose++; break;
	case 'h': usage(spec); exit(0);
	case OPT_VERSION: printf("ipredir %s\n", ipr_version()); exit(0);
	default: return 0;
	}
	return 1;
}

int cli_parse(const struct cli_spec *spec, int argc, char **argv, struct cli_common *c)
{
	struct option all[MAX_OPTIONS];
	char shorts[64];
	int opt;

	*c = (struct cli_common){ .opts = IPR_OPTIONS_INIT };
	build_options(spec, all, shorts, sizeof(shorts));
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, shorts, all, NULL)) != -1) {
		if (opt == '?' || opt == ':')
			cli_usage_error(spec, "bad or incomplete option \"%s\"", argv[optind - 1]);
		if (!parse_common(spec, opt, optarg, c))
			spec->parse(opt, optarg, spec->ctx);
	}
	return optind;
}

static void log_to_stderr(enum ipr_log_level level, const char *msg, void *arg)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };

	fprintf(stderr, "ipredir: %s: %s\n", names[level], msg);
}

struct ipr_handle *cli_open(const struct cli_spec *spec, const struct cli_common *c)
{
	struct ipr_handle *h;
	int err;

	ipr_set_log(log_to_stderr, NULL, c->verbose > 1 ? IPR_LOG_DEBUG : IPR_LOG_WARN);
	err = ipr_open(&c->opts, &h);
	if (err) {
		fprintf(stderr, "ipredir %s: %s\n", spec->name, ipr_last_error());
		exit(err == -EINVAL || err == -E2BIG ? 2 : 1);
	}
	return h;
}

int cli_serve(const struct cli_spec *spec, struct ipr_handle *h, cli_batch_fn fn, void *arg)
{
	size_t buflen = ipr_slot_size(h) * CLI_BATCH;
	struct ipr_packet pkts[CLI_BATCH];
	void *buf = malloc(buflen);
	int status = 0;

	if (!buf) {
		fprintf(stderr, "ipredir %s: out of memory\n", spec->name);
		return 1;
	}
	while (!cli_stop && !status) {
		int n = ipr_recv_batch(h, buf, buflen, pkts, CLI_BATCH, 0);

		if (n == -EINTR || n == -EAGAIN)
			continue;
		if (n < 0 || fn(h, pkts, n, arg) < 0) {
			fprintf(stderr, "ipredir %s: %s\n", spec->name, ipr_last_error());
			status = 1;
		}
	}
	ipr_flush(h);
	free(buf);
	return status;
}

int cli_close(const struct cli_spec *spec, struct ipr_handle *h, int status)
{
	if (h && ipr_close(h) < 0 && !status) {
		fprintf(stderr, "ipredir %s: %s\n", spec->name, ipr_last_error());
		status = 1;
	}
	return status;
}

static void on_signal(int sig)
{
	if (sig == SIGALRM)
		cli_tick = 1;
	else
		cli_stop = 1;
}

void cli_signals(int tick)
{
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART: waits end */
	struct itimerval every_second = { { 1, 0 }, { 1, 0 } };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!tick)
		return;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &every_second, NULL);
}

double cli_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}
