/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * events.c - what `ipredir flows` and `ipredir sockets` share: their process
 * filter, one line (or one JSON object) per event, the receive loop until a
 * signal or --count, and the summary.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define EVENTS_BATCH 64

/* The counts of the summary. */
struct events_counts {
	unsigned long long received, printed, blocked;
};

int events_option(const struct cli_spec *spec, int opt, const char *arg,
		  struct events_config *cfg)
{
	switch (opt) {
	case EVENTS_OPT_PID: cfg->pid = cli_uint(spec, "pid", arg, 1, 0x7fffffff); break;
	case EVENTS_OPT_COMM: cfg->comm = arg; break;
	case EVENTS_OPT_EXE: cfg->exe = arg; break;
	case 'c': cfg->count = cli_uint(spec, "count", arg, 1, 0xffffffffu); break;
	case 'j': cfg->json = 1; break;
	default: return 0;
	}
	return 1;
}

void events_check_config(const struct cli_spec *spec, struct events_config *cfg)
{
	if (cfg->comm && (!cfg->comm[0] || strlen(cfg->comm) >= IPR_COMM_MAX))
		cli_usage_error(spec, "--comm \"%s\": a command name has 1 to %d characters",
				cfg->comm, IPR_COMM_MAX - 1);
	if (!cfg->exe)
		return;
	if (cfg->exe[0] != '/')
		cli_usage_error(spec, "--exe %s: give its absolute path", cfg->exe);
	/* /proc/PID/exe names the file, not a symbolic link to it */
	if (realpath(cfg->exe, cfg->exe_path) == NULL)
		snprintf(cfg->exe_path, sizeof(cfg->exe_path), "%s", cfg->exe);
}

/* ---- the process filter ---- */

static int exe_is(uint32_t pid, const char *want)
{
	char exe[PATH_MAX];

	return ipr_process_exe(pid, exe, sizeof(exe)) == 0 && !strcmp(exe, want);
}

static int wanted(const struct events_config *cfg, const struct ipr_event *ev)
{
	if (cfg->pid && ev->pid != cfg->pid)
		return 0;
	if (cfg->comm && strncmp(ev->comm, cfg->comm, IPR_COMM_MAX))
		return 0;
	return !cfg->exe || (ev->pid && exe_is(ev->pid, cfg->exe_path));
}

/* ---- one event ---- */

static const char *kind_name(uint32_t kind)
{
	static const char *const names[] = {
		[IPR_EVENT_FLOW_ESTABLISHED] = "established", [IPR_EVENT_FLOW_DELETED] = "deleted",
		[IPR_EVENT_SOCKET_BIND] = "bind",   [IPR_EVENT_SOCKET_CONNECT] = "connect",
		[IPR_EVENT_SOCKET_LISTEN] = "listen", [IPR_EVENT_SOCKET_ACCEPT] = "accept",
		[IPR_EVENT_SOCKET_CLOSE] = "close",
	};

	return kind < sizeof(names) / sizeof(names[0]) && names[kind] ? names[kind] : "unknown";
}

static const char *protocol_name(uint8_t protocol)
{
	return protocol == IPPROTO_TCP ? "tcp" : protocol == IPPROTO_UDP ? "udp" : "other";
}

static int is_flow(const struct ipr_event *ev)
{
	return ev->kind == IPR_EVENT_FLOW_ESTABLISHED || ev->kind == IPR_EVENT_FLOW_DELETED;
}

/* "out" for what this host opened, "in" for what it accepted, NULL where the
 * event does not say (bind, listen, close). */
static const char *direction(const struct ipr_event *ev)
{
	if (ev->outbound)
		return "out";
	return is_flow(ev) || ev->kind == IPR_EVENT_SOCKET_ACCEPT ? "in" : NULL;
}

static const char *arrow(const struct ipr_event *ev)
{
	const char *d = direction(ev);

	return !d ? "--" : d[0] == 'o' ? "->" : "<-";
}

/* Whether the event has a remote end to show. */
static int has_remote(const struct ipr_event *ev)
{
	static const uint8_t zero[16];

	return ev->remote_port || memcmp(ev->remote.bytes, zero, sizeof(zero));
}

static void addr_text(const struct ipr_addr *a, char *buf)
{
	if (ipr_addr_format(a, buf, IPR_ADDR_STRLEN) < 0)
		snprintf(buf, IPR_ADDR_STRLEN, "?");
}

/* Nanoseconds to add to CLOCK_MONOTONIC for the time of day. */
static int64_t monotonic_to_real(void)
{
	struct timespec mono, real;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	return (int64_t)(real.tv_sec - mono.tv_sec) * 1000000000 + (real.tv_nsec - mono.tv_nsec);
}

static void format_time(int64_t ns, char *buf, size_t size)
{
	time_t sec = (time_t)(ns / 1000000000);
	struct tm tm;

	localtime_r(&sec, &tm);
	snprintf(buf, size, "%02d:%02d:%02d.%06u", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned int)(ns % 1000000000 / 1000));
}

/* TIME KIND [DIRECTION] PROTO LOCAL [ARROW REMOTE] COMM[PID] endpoint N [parent N] [blocked] */
static void print_text(const struct ipr_event *ev, int64_t real_ns)
{
	char when[32], local[IPR_ADDR_STRLEN], remote[IPR_ADDR_STRLEN];

	format_time(ev->ts_ns + real_ns, when, sizeof(when));
	addr_text(&ev->local, local);
	addr_text(&ev->remote, remote);
	printf("%s %s", when, kind_name(ev->kind));
	if (is_flow(ev))
		printf(" %s", direction(ev));
	printf(" %s %s.%u", protocol_name(ev->protocol), local, ev->local_port);
	if (has_remote(ev))
		printf(" %s %s.%u", arrow(ev), remote, ev->remote_port);
	printf(" %s[%u] endpoint %llu", ev->comm[0] ? ev->comm : "-", ev->pid,
	       (unsigned long long)ev->endpoint);
	if (ev->parent_endpoint)
		printf(" parent %llu", (unsigned long long)ev->parent_endpoint);
	printf("%s\n", ev->blocked ? " blocked" : "");
}

static void print_json(const struct ipr_event *ev, int64_t real_ns)
{
	char local[IPR_ADDR_STRLEN], remote[IPR_ADDR_STRLEN];
	struct json_obj o;

	addr_text(&ev->local, local);
	addr_text(&ev->remote, remote);
	json_begin(&o, stdout);
	json_real(&o, "time", (double)(ev->ts_ns + real_ns) / 1e9, 6);
	json_str(&o, "event", kind_name(ev->kind));
	json_str(&o, "direction", direction(ev));
	json_str(&o, "protocol", protocol_name(ev->protocol));
	json_str(&o, "local", local);
	json_uint(&o, "local_port", ev->local_port);
	json_str(&o, "remote", has_remote(ev) ? remote : NULL);
	json_uint(&o, "remote_port", ev->remote_port);
	json_uint(&o, "pid", ev->pid);
	json_str(&o, "comm", ev->comm);
	json_uint(&o, "endpoint", ev->endpoint);
	json_uint(&o, "parent_endpoint", ev->parent_endpoint);
	json_bool(&o, "loopback", ev->loopback);
	json_bool(&o, "blocked", ev->blocked);
	json_end(&o);
}

/* ---- the loop ---- */

static int count_reached(const struct events_config *cfg, const struct events_counts *n)
{
	return cfg->count && n->printed >= cfg->count;
}

static void take_batch(const struct events_config *cfg, const struct ipr_event *ev, int n,
		       int64_t real_ns, struct events_counts *counts)
{
	for (int i = 0; i < n && !count_reached(cfg, counts); i++) {
		counts->received++;
		counts->blocked += ev[i].blocked;
		if (!wanted(cfg, &ev[i]))
			continue;
		counts->printed++;
		if (cfg->json)
			print_json(&ev[i], real_ns);
		else
			print_text(&ev[i], real_ns);
	}
	fflush(stdout);
}

static int receive_loop(const struct cli_spec *spec, const struct events_config *cfg,
			struct ipr_events *e, struct events_counts *counts)
{
	struct ipr_event ev[EVENTS_BATCH];
	int64_t real_ns = monotonic_to_real();

	while (!cli_stop && !count_reached(cfg, counts)) {
		int n = ipr_events_recv(e, ev, EVENTS_BATCH, 0);

		if (n == -EINTR || n == -EAGAIN)
			continue;
		if (n < 0) {
			fprintf(stderr, "ipredir %s: %s\n", spec->name, ipr_last_error());
			return 1;
		}
		take_batch(cfg, ev, n, real_ns, counts);
	}
	return 0;
}

static void print_summary(const struct cli_spec *spec, const struct events_config *cfg,
			  const struct events_counts *n, uint64_t lost, double seconds)
{
	struct json_obj o;

	if (!cfg->json) {
		fprintf(stderr, "%s: %llu events, %llu printed, %llu blocked, %llu lost in %.1f s\n",
			spec->name, n->received, n->printed, n->blocked, (unsigned long long)lost,
			seconds);
		return;
	}
	json_begin(&o, stderr);
	json_str(&o, "tool", spec->name);
	json_uint(&o, "events", n->received);
	json_uint(&o, "printed", n->printed);
	json_uint(&o, "blocked", n->blocked);
	json_uint(&o, "lost", lost);
	json_real(&o, "seconds", seconds, 3);
	json_end(&o);
}

static struct ipr_events *open_events(const struct cli_spec *spec, unsigned int which, int verbose)
{
	struct ipr_events *e;
	int err;

	cli_set_log(verbose);
	err = ipr_events_open(which, &e);
	if (err) {
		fprintf(stderr, "ipredir %s: %s\n", spec->name, ipr_last_error());
		exit(1);
	}
	return e;
}

int events_run(const struct cli_spec *spec, unsigned int which, const struct events_config *cfg,
	       const struct ipr_call_test *rule, unsigned int tests)
{
	struct events_counts counts = { 0 };
	struct ipr_events *e;
	double start;
	int status = 1;

	cli_signals(0);
	e = open_events(spec, which, cfg->verbose);
	if (tests && ipr_events_block(e, rule, tests)) {
		fprintf(stderr, "ipredir %s: %s\n", spec->name, ipr_last_error());
		goto out;
	}
	fprintf(stderr, "%s: watching %s of this network namespace%s; Ctrl-C stops\n", spec->name,
		which & IPR_EVENTS_FLOW ? "flows" : "sockets",
		tests ? ", refusing the calls of the rule" : "");
	start = cli_now();
	status = receive_loop(spec, cfg, e, &counts);
	print_summary(spec, cfg, &counts, ipr_events_lost(e), cli_now() - start);
out:
	ipr_events_close(e);
	return status;
}
