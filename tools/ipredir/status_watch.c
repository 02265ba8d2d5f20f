/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * status_watch.c - `ipredir status --watch [-j]`: every redirector of this
 * network namespace opened or closed, by any program, one line (or one JSON
 * object) each as it happens, those already open first, until SIGINT or
 * SIGTERM.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* The names of enum ipr_open_flags, bit by bit. */
static const char *const flag_names[] = {
	"fail-closed", "no-gso", "queue-compat", "queue-native", "user-filter", "monitor",
	"bypass", "expire-drop", "no-loopback-in", "send-only", "inject-below", "process",
};
#define FLAG_NAMES (int)(sizeof(flag_names) / sizeof(flag_names[0]))

/* The names of the flags set, into names; how many. */
static int flags_of(unsigned int flags, const char *names[FLAG_NAMES])
{
	int n = 0;

	for (int i = 0; i < FLAG_NAMES; i++)
		if (flags & (1u << i))
			names[n++] = flag_names[i];
	return n;
}

static const char *event_name(const struct ipr_watch_event *e)
{
	return e->change == IPR_WATCH_CLOSED ? "close" : "open";
}

/* When the change was seen, in seconds since the epoch (the event's clock is monotonic). */
static double seen_at(const struct ipr_watch_event *e)
{
	struct timespec mono, real;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	return (double)real.tv_sec + real.tv_nsec / 1e9 -
	       ((double)mono.tv_sec + mono.tv_nsec / 1e9 - (double)e->time_ns / 1e9);
}

static void print_event_text(const struct ipr_watch_event *e)
{
	const struct ipr_redirector *r = &e->redirector;
	const char *names[FLAG_NAMES];
	char flags[256] = "-", when[16];
	time_t sec;
	double t = seen_at(e);
	int n = flags_of(e->flags, names);

	for (int i = 0, at = 0; i < n; i++)
		at += snprintf(flags + at, sizeof(flags) - (size_t)at, "%s%s", i ? "," : "", names[i]);
	sec = (time_t)t;
	strftime(when, sizeof(when), "%H:%M:%S", localtime(&sec));
	printf("%s.%03d %s%s pid=%d comm=%s table=%s layers=%s priority=%d flags=%s", when,
	       (int)((t - (double)sec) * 1000), event_name(e),
	       e->change == IPR_WATCH_EXISTING ? " (existing)" : "", r->pid,
	       e->comm[0] ? e->comm : "?", r->table, r->layers[0] ? r->layers : "?", e->priority,
	       flags);
	if (r->monitor == IPR_MONITOR_BPF)
		printf(" ring=bpf");
	else if (r->queues) /* an events handle has none */
		printf(" %s=%u", r->monitor ? "group" : "queue", r->queue);
	if (!r->monitor && r->queues > 1)
		printf("..%u", r->queue + r->queues - 1);
	printf(" filter=%s\n", r->filter);
	fflush(stdout);
}

static void print_event_json(const struct ipr_watch_event *e)
{
	const struct ipr_redirector *r = &e->redirector;
	const char *names[FLAG_NAMES];
	struct json_obj o;

	json_begin(&o, stdout);
	json_real(&o, "time", seen_at(e), 3);
	json_str(&o, "event", event_name(e));
	json_bool(&o, "existing", e->change == IPR_WATCH_EXISTING);
	json_int(&o, "pid", r->pid);
	json_str(&o, "command", e->comm);
	json_str(&o, "table", r->table);
	json_str(&o, "layers", r->layers);
	json_int(&o, "priority", e->priority);
	json_strings(&o, "flags", names, flags_of(e->flags, names));
	json_bool(&o, "monitor", r->monitor);
	json_bool(&o, "events", !r->queues);
	if (r->monitor == IPR_MONITOR_BPF)
		json_str(&o, "engine", "bpf");
	else if (r->queues) {
		json_uint(&o, r->monitor ? "nflog_group" : "first_queue", r->queue);
		if (!r->monitor)
			json_uint(&o, "last_queue", r->queue + r->queues - 1);
	}
	json_bool(&o, "owned", r->owned);
	json_str(&o, "filter", r->filter);
	json_end(&o);
}

/* Print every event waiting in w: 0, or -errno. */
static int print_waiting(struct ipr_watch *w, int json)
{
	struct ipr_watch_event e;
	int ret;

	while ((ret = ipr_watch_next(w, &e, sizeof(e), 0)) == 1)
		(json ? print_event_json : print_event_text)(&e);
	return ret == -EINTR ? 0 : ret;
}

/* Wait for w or a signal; SIGINT and SIGTERM are blocked but while waiting. */
static int wait_for(struct ipr_watch *w, const sigset_t *unblocked)
{
	struct pollfd p = { .fd = ipr_watch_fd(w), .events = POLLIN };

	if (ppoll(&p, 1, NULL, unblocked) < 0 && errno != EINTR)
		return -errno;
	return 0;
}

int status_watch(int json)
{
	struct ipr_watch *w;
	sigset_t stop, unblocked;
	int err;

	cli_signals(0);
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, &unblocked); /* a signal cannot fall before the wait */
	err = ipr_watch_open(&w);
	if (err) {
		fprintf(stderr, "ipredir status: %s\n", ipr_last_error());
		return 1;
	}
	while (!err && !cli_stop) {
		err = print_waiting(w, json);
		if (!err)
			err = wait_for(w, &unblocked);
	}
	if (err)
		fprintf(stderr, "ipredir status: %s\n", ipr_last_error());
	ipr_watch_close(w);
	return err ? 1 : 0;
}
