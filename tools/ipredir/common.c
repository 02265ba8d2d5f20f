/* SPDX-License-Identifier: GPL-2.0-or-later */
/* common.c - option parsing, opening, signals and output helpers of the subcommands. */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

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
	OPT_BUSY_POLL,
	OPT_COALESCE,
	OPT_USER,
	OPT_VERSION,
	OPT_PID,
	OPT_COMM,
	OPT_EXE,
	OPT_PROCESS,
	OPT_PROGRESS,
	OPT_METRICS_FILE,
	OPT_NO_FOLLOW_CPU,
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
	{ "busy-poll", required_argument, NULL, OPT_BUSY_POLL },
	{ "coalesce", required_argument, NULL, OPT_COALESCE },
	{ "no-follow-cpu", no_argument, NULL, OPT_NO_FOLLOW_CPU },
	{ "user", required_argument, NULL, OPT_USER },
	{ "pid", required_argument, NULL, OPT_PID },
	{ "comm", required_argument, NULL, OPT_COMM },
	{ "exe", required_argument, NULL, OPT_EXE },
	{ "process", no_argument, NULL, OPT_PROCESS },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "metrics-file", required_argument, NULL, OPT_METRICS_FILE },
	{ "json", no_argument, NULL, 'j' },
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
	"  -p, --priority N       higher sees packets first (-30000..30000, default 0)\n"
	"      --queue N          NFQUEUE number (default: a free one)\n"
	"      --fail-closed      drop packets when the queue overflows (default: pass)\n"
	"      --deadline MS      accept packets left without a verdict this long (default 5000)\n"
	"      --busy-poll US     while packets come within US microseconds of each other,\n"
	"                         poll that long before sleeping: lower latency, one CPU\n"
	"                         busy per queue while they do (0 = never; default: adapt)\n"
	"      --coalesce US      after a partial batch of several packets wait US\n"
	"                         microseconds so batches fill: more packets/s and less CPU\n"
	"                         under floods of small packets (0 = never; default: adapt)\n"
	"      --no-follow-cpu    leave queue threads where the scheduler puts them (default:\n"
	"                         a queue per CPU, and while packets are sparse a thread\n"
	"                         runs on the CPU that sends them: no cross-CPU wake-up)\n"
	"      --user NAME        run as user NAME once the redirector is set up\n"
	"      --pid PID          only packets of the sockets of process PID\n"
	"      --comm NAME        only packets of processes named NAME (as ps -o comm)\n"
	"      --exe PATH         only packets of processes running the executable PATH\n"
	"      --process          look up the process of each packet (shown by dump)\n"
	"      --progress         the progress line also when stderr is no terminal\n"
	"      --metrics-file PATH  keep PATH a Prometheus textfile of the counters\n"
	"  -j, --json             print the summary as one JSON object\n";

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

/* The reason of the last parse error; one line. */
static char parse_error[256];

static const char *parse_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const char *parse_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(parse_error, sizeof(parse_error), fmt, ap);
	va_end(ap);
	return parse_error;
}

/* A number in [min, max] for option what into *out; NULL or the reason. */
static const char *parse_long(const char *what, const char *arg, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 0);
	if (errno || end == arg || *end || v < min || v > max)
		return parse_fail("%s \"%s\": expected a number from %ld to %ld", what, arg, min,
				  max);
	*out = v;
	return NULL;
}

unsigned int cli_uint(const struct cli_spec *spec, const char *what, const char *arg,
		      unsigned int min, unsigned int max)
{
	const char *err;
	long v;

	err = parse_long(what, arg, (long)min, (long)max, &v);
	if (err)
		cli_usage_error(spec, "%s", err);
	return (unsigned int)v;
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
	snprintf(shorts, size, "+%s%svh", spec->shortopts, spec->redirect ? "f:i:p:j" : "");
}

/* A numeric common option into *out (an int or unsigned int field); NULL or the reason. */
static const char *parse_number(const char *what, const char *arg, long min, long max, void *out,
				int is_signed)
{
	const char *err;
	long v;

	err = parse_long(what, arg, min, max, &v);
	if (err)
		return err;
	if (is_signed)
		*(int *)out = (int)v;
	else
		*(unsigned int *)out = (unsigned int)v;
	return NULL;
}

/* Handle one common option: NULL, or the reason it is bad; *known = 0 if it is not one. */
static const char *parse_common(int opt, const char *arg, struct cli_common *c, int *known)
{
	struct ipr_options *o = &c->opts;

	*known = 1;
	switch (opt) {
	case 'f': o->filter = arg; break;
	case OPT_IN: o->layers |= IPR_LAYER_IN; break;
	case OPT_OUT: o->layers |= IPR_LAYER_OUT; break;
	case OPT_FORWARD: o->layers |= IPR_LAYER_FORWARD; break;
	case 'i': o->interface = arg; break;
	case OPT_IN_IFACE: o->in_interface = arg; break;
	case OPT_OUT_IFACE: o->out_interface = arg; break;
	case 'p':
		return parse_number("priority", arg, -IPR_PRIORITY_MAX, IPR_PRIORITY_MAX,
				    &o->priority, 1);
	case OPT_QUEUE: return parse_number("queue", arg, 1, 65535, &o->queue, 0);
	case OPT_FAIL_CLOSED: o->flags |= IPR_OPEN_FAIL_CLOSED; break;
	case OPT_DEADLINE:
		return parse_number("deadline", arg, 1, 86400000, &o->deadline_ms, 0);
	case OPT_BUSY_POLL:
		o->flags |= IPR_OPEN_FIXED_PACING; /* 0 means off, not "adapt" */
		return parse_number("busy-poll", arg, 0, 1000000, &o->busy_poll_us, 0);
	case OPT_COALESCE:
		o->flags |= IPR_OPEN_FIXED_PACING;
		return parse_number("coalesce", arg, 0, 1000000, &o->coalesce_us, 0);
	case OPT_NO_FOLLOW_CPU: o->flags &= ~IPR_OPEN_FOLLOW_CPU; break;
	case OPT_USER:
		if (!*arg)
			return parse_fail("--user needs a user name");
		c->user = arg;
		break;
	case OPT_PID: return parse_number("pid", arg, 1, 0x7fffffff, &o->pid, 0);
	case OPT_COMM: o->comm = arg; break;
	case OPT_EXE: o->exe = arg; break;
	case OPT_PROCESS: o->flags |= IPR_OPEN_PROCESS; break;
	case OPT_PROGRESS: c->progress = CLI_PROGRESS_ON; break;
	case OPT_METRICS_FILE: c->metrics_file = arg; break;
	case 'j': c->json = 1; break;
	case 'v': c->verbose++; break;
	case 'h': c->action = CLI_HELP; break;
	case OPT_VERSION: c->action = CLI_VERSION; break;
	default: *known = 0; break;
	}
	return NULL;
}

/* Whether opt is one of spec's own options, which take precedence over common ones. */
static int own_option(const struct cli_spec *spec, int opt)
{
	for (const struct option *o = spec->longopts; o && o->name; o++)
		if (o->val == opt)
			return 1;
	return opt > 0 && opt < 256 && strchr(spec->shortopts, opt);
}

/* The option argv[optind - 1] that getopt refused, for the message. */
static const char *bad_option(int argc, char **argv)
{
	return optind >= 1 && optind <= argc ? argv[optind - 1] : "";
}

const char *cli_parse_args(const struct cli_spec *spec, int argc, char **argv,
			   struct cli_common *c, int *first)
{
	struct option all[MAX_OPTIONS];
	const char *err = NULL;
	char shorts[64];
	int opt, known;

	*c = (struct cli_common){ .opts = IPR_OPTIONS_INIT };
	c->opts.flags |= IPR_OPEN_FOLLOW_CPU; /* the tool's threads are its own to place */
	*first = argc;
	build_options(spec, all, shorts, sizeof(shorts));
	opterr = 0;
	optind = 0; /* 0, not 1: glibc then forgets the previous argv entirely */
	while (!err && !c->action && (opt = getopt_long(argc, argv, shorts, all, NULL)) != -1) {
		if (opt == '?' || opt == ':')
			return parse_fail("bad or incomplete option \"%s\"", bad_option(argc, argv));
		known = 0;
		if (!own_option(spec, opt))
			err = parse_common(opt, optarg, c, &known);
		if (!err && !known && spec->parse)
			spec->parse(opt, optarg, spec->ctx);
	}
	*first = optind;
	return err;
}

/* Look up --user NAME before anything is installed. */
static void resolve_user(const struct cli_spec *spec, struct cli_common *c)
{
	struct passwd *pw;

	if (!c->user)
		return;
	errno = 0;
	pw = getpwnam(c->user);
	if (!pw)
		cli_usage_error(spec, "--user %s: %s", c->user,
				errno ? strerror(errno) : "no such user");
	c->uid = pw->pw_uid;
	c->gid = pw->pw_gid;
}

int cli_parse(const struct cli_spec *spec, int argc, char **argv, struct cli_common *c)
{
	const char *err;
	int first;

	err = cli_parse_args(spec, argc, argv, c, &first);
	if (err)
		cli_usage_error(spec, "%s", err);
	if (c->action == CLI_HELP) {
		usage(spec);
		exit(0);
	}
	if (c->action == CLI_VERSION) {
		printf("ipredir %s\n", ipr_version());
		exit(0);
	}
	resolve_user(spec, c);
	return first;
}

static void log_to_stderr(enum ipr_log_level level, const char *msg, void *arg)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };

	fprintf(stderr, "ipredir: %s: %s\n", names[level], msg);
}

void cli_set_log(int verbose)
{
	ipr_set_log(log_to_stderr, NULL, verbose > 1 ? IPR_LOG_DEBUG : IPR_LOG_WARN);
}

struct ipr_handle *cli_open(const struct cli_spec *spec, const struct cli_common *c)
{
	struct ipr_handle *h;
	int err;

	cli_set_log(c->verbose);
	err = ipr_open(&c->opts, &h);
	if (err) {
		fprintf(stderr, "ipredir %s: %s\n", spec->name, ipr_last_error());
		exit(err == -EINVAL || err == -E2BIG ? 2 : 1);
	}
	if (c->opts.flags & IPR_OPEN_PROCESS || c->opts.pid || c->opts.comm || c->opts.exe) {
		const char *limits = ipr_process_limits(h);

		if (limits)
			fprintf(stderr, "ipredir %s: processes found through /proc only: %s\n",
				spec->name, limits);
	}
	return h;
}

/* ---- --user: least privilege after setup ---- */

/* Capabilities kept after the drop: every nfnetlink message, verdicts too, needs it. */
#define KEPT_CAPS (1ull << CAP_NET_ADMIN)

static int capset_to(uint64_t caps)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {
		{ .effective = (uint32_t)caps, .permitted = (uint32_t)caps },
		{ .effective = (uint32_t)(caps >> 32), .permitted = (uint32_t)(caps >> 32) },
	};

	return (int)syscall(SYS_capset, &hdr, data);
}

static uint64_t effective_caps(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { { 0 } };

	if (syscall(SYS_capget, &hdr, data))
		return UINT64_MAX;
	return data[0].effective | (uint64_t)data[1].effective << 32 | data[0].permitted |
	       (uint64_t)data[1].permitted << 32;
}

/* Remove every capability but KEPT_CAPS from the bounding set: no exec regains them. */
static int drop_bounding_set(void)
{
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap) >= 0; cap++)
		if (!(KEPT_CAPS & (1ull << cap)) && prctl(PR_CAPBSET_DROP, cap))
			return -1;
	return 0;
}

/* setgroups/setgid/setuid to c's user keeping only KEPT_CAPS; NULL or what failed. */
static const char *switch_user(const struct cli_common *c)
{
	if (drop_bounding_set())
		return "dropping capabilities from the bounding set";
	if (prctl(PR_SET_KEEPCAPS, 1))
		return "PR_SET_KEEPCAPS";
	if (setgroups(0, NULL))
		return "setgroups";
	if (setgid(c->gid))
		return "setgid";
	if (setuid(c->uid))
		return "setuid";
	if (prctl(PR_SET_KEEPCAPS, 0) || capset_to(KEPT_CAPS))
		return "keeping CAP_NET_ADMIN";
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return "PR_SET_NO_NEW_PRIVS";
	return NULL;
}

/* The drop took effect: ids all changed, no way back to root, no extra capability. */
static const char *verify_switch(const struct cli_common *c)
{
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;

	if (getresuid(&ruid, &euid, &suid) || ruid != c->uid || euid != c->uid ||
	    suid != c->uid)
		return "the user ids did not all change";
	if (getresgid(&rgid, &egid, &sgid) || rgid != c->gid || egid != c->gid ||
	    sgid != c->gid)
		return "the group ids did not all change";
	if (getgroups(0, NULL) != 0)
		return "supplementary groups remain";
	if (c->uid != 0 && setuid(0) == 0)
		return "root could be regained";
	if (effective_caps() & ~KEPT_CAPS)
		return "capabilities beyond CAP_NET_ADMIN remain";
	return NULL;
}

/* Open the injection paths of every queue handle that the subcommand will use. */
static const char *prepare_injection(struct ipr_handle *h, unsigned int inject)
{
	static const unsigned int dirs[] = { IPR_LAYER_OUT, IPR_LAYER_IN };

	for (unsigned int i = 0; i < ipr_queue_count(h); i++)
		for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++)
			if ((inject & dirs[d]) && ipr_send(ipr_queue_handle(h, i), NULL, 0, dirs[d]))
				return ipr_last_error();
	return NULL;
}

static void drop_privileges(const struct cli_spec *spec, const struct cli_common *c,
			    struct ipr_handle *h, unsigned int inject)
{
	const char *err = prepare_injection(h, inject);

	if (err) {
		fprintf(stderr, "ipredir %s: before switching to user %s: %s\n", spec->name,
			c->user, err);
		exit(1);
	}
	err = switch_user(c);
	if (err) {
		fprintf(stderr, "ipredir %s: switching to user %s: %s: %s\n", spec->name, c->user,
			err, strerror(errno));
		exit(1);
	}
	err = verify_switch(c);
	if (err) {
		fprintf(stderr, "ipredir %s: switching to user %s: %s\n", spec->name, c->user, err);
		exit(1);
	}
	if (c->verbose)
		fprintf(stderr, "ipredir %s: running as %s (uid %u, gid %u)\n", spec->name, c->user,
			(unsigned int)c->uid, (unsigned int)c->gid);
}

void cli_ready(const struct cli_spec *spec, const struct cli_common *c, struct ipr_handle *h,
	       unsigned int inject)
{
	int err;

	if (c->user)
		drop_privileges(spec, c, h, inject);
	err = cli_watchdog_start(h);
	if (err)
		fprintf(stderr, "ipredir %s: no watchdog for a stopped redirector: %s\n", spec->name,
			strerror(-err));
	cli_report_start(spec, c, h);
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
	cli_report_stop();
	free(buf);
	return status;
}

int cli_close(const struct cli_spec *spec, struct ipr_handle *h, int status)
{
	cli_report_stop();
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
