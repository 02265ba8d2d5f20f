/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * progress.c - what a tool reports while it runs, from a thread of its own so
 * that no receive loop changes: each second the progress line (rate, drops,
 * held), in place on a terminal and a line each with --progress elsewhere;
 * every few seconds the --metrics-file; and at any time the counters `status`
 * asks for over the stats socket (metrics.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"

#define TICK_SECONDS 1.0
#define FILE_SECONDS 2.0 /* how often --metrics-file is rewritten */

struct reporter {
	pthread_t thread;
	int started;
	int wake[2];   /* a byte here stops the thread */
	int listen_fd; /* the stats socket, -1 if none */
	struct ipr_handle *h;
	const char *metrics_file;
	int line;        /* print the progress line */
	int tty;         /* ... in place on stderr, a terminal */
	int line_shown;  /* something to erase at the end */
	int file_failed; /* the metrics file's error was said once */
	struct metrics_redirector r;
	struct ipr_stats last;
	double last_t, next_file;
};

static struct reporter rep = { .wake = { -1, -1 }, .listen_fd = -1 };

/* The terminal's width for a line in place; 0 when unknown. */
static unsigned int terminal_width(void)
{
	struct winsize ws;

	return ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 ? ws.ws_col : 0;
}

static void print_line(double now, const struct ipr_stats *s)
{
	double dt = now - rep.last_t;
	unsigned int width = rep.tty ? terminal_width() : 0;
	char text[256];

	if (dt <= 0)
		return;
	snprintf(text, sizeof(text),
		 "%s: %9.0f pkt/s %7.3f Gbit/s  drops %llu  kernel drops %llu  fail-open %llu"
		 "  held %llu", rep.r.tool, (double)(s->received - rep.last.received) / dt,
		 (double)(s->bytes - rep.last.bytes) * 8 / dt / 1e9,
		 (unsigned long long)s->dropped,
		 (unsigned long long)(s->queue_dropped + s->user_dropped),
		 (unsigned long long)s->failopen, (unsigned long long)s->waiting);
	if (width > 1 && width <= sizeof(text))
		text[width - 1] = '\0'; /* a wrapped line would not be overwritten in place */
	fprintf(stderr, "%s%s", text, rep.tty ? "\033[K\r" : "\n");
	rep.line_shown = 1;
}

static void write_file(void)
{
	int err = metrics_write_file(rep.metrics_file, &rep.r);

	if (err && !rep.file_failed)
		fprintf(stderr, "ipredir %s: --metrics-file %s: %s\n", rep.r.tool, rep.metrics_file,
			strerror(-err));
	rep.file_failed = err != 0;
}

static void tick(double now)
{
	struct ipr_stats s;

	metrics_collect(rep.h, &rep.r);
	metrics_sum(&rep.r, &s);
	if (rep.line)
		print_line(now, &s);
	rep.last = s;
	rep.last_t = now;
	if (rep.metrics_file && now >= rep.next_file) {
		write_file();
		rep.next_file = now + FILE_SECONDS;
	}
}

static void *reporter_loop(void *arg)
{
	double next = cli_now() + TICK_SECONDS;

	for (;;) {
		struct pollfd fds[2] = { { rep.wake[0], POLLIN, 0 }, { rep.listen_fd, POLLIN, 0 } };
		double wait = next - cli_now();
		int n = poll(fds, rep.listen_fd >= 0 ? 2 : 1, wait > 0 ? (int)(wait * 1000) + 1 : 0);

		if (n > 0 && fds[0].revents)
			break;
		if (n > 0 && fds[1].revents) {
			metrics_collect(rep.h, &rep.r);
			metrics_answer(rep.listen_fd, &rep.r);
		}
		if (cli_now() >= next) {
			tick(cli_now());
			next += TICK_SECONDS;
		}
	}
	return NULL;
}

/* Signals stay with the main thread: SIGINT and SIGTERM stop the tool there. */
static int start_thread(void)
{
	sigset_t all, old;
	int err;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	err = pthread_create(&rep.thread, NULL, reporter_loop, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -err;
}

static void describe(const struct cli_spec *spec, const struct cli_common *c,
		     struct ipr_handle *h)
{
	struct ipr_info info;

	ipr_get_info(h, &info);
	snprintf(rep.r.table, sizeof(rep.r.table), "%s", info.table);
	snprintf(rep.r.tool, sizeof(rep.r.tool), "%s", spec->name);
	rep.r.filter = c->opts.describe ? c->opts.describe : c->opts.filter ? c->opts.filter : "";
}

void cli_report_start(const struct cli_spec *spec, const struct cli_common *c,
		      struct ipr_handle *h)
{
	int err;

	rep.h = h;
	rep.metrics_file = c->metrics_file;
	rep.tty = isatty(STDERR_FILENO);
	rep.line = c->progress == CLI_PROGRESS_ON || (c->progress == CLI_PROGRESS_AUTO && rep.tty);
	describe(spec, c, h);
	rep.last_t = cli_now(); /* no rate yet: the first line comes a second later */
	tick(rep.last_t);
	if (rep.file_failed)
		exit(1);
	rep.listen_fd = metrics_listen(rep.r.table);
	err = pipe2(rep.wake, O_CLOEXEC) < 0 ? -errno : start_thread();
	if (err < 0)
		fprintf(stderr, "ipredir %s: no progress line or metrics: %s\n", spec->name,
			strerror(-err));
	rep.started = err == 0;
}

void cli_report_stop(void)
{
	if (!rep.started)
		return;
	rep.started = 0;
	if (write(rep.wake[1], "", 1) == 1)
		pthread_join(rep.thread, NULL);
	if (rep.tty && rep.line_shown)
		fputs("\r\033[K", stderr);
	metrics_collect(rep.h, &rep.r);
	if (rep.metrics_file)
		write_file();
	if (rep.listen_fd >= 0)
		close(rep.listen_fd);
	close(rep.wake[0]);
	close(rep.wake[1]);
}

void cli_stats(struct ipr_handle *h, struct ipr_stats *total)
{
	static struct metrics_redirector r;

	metrics_collect(h, &r);
	metrics_sum(&r, total);
}
