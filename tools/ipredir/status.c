/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * status.c - `ipredir status [-j | --prometheus]`: every ipredir redirector of
 * this network namespace (its table, owning process, layers, filter, queues or
 * NFLOG group) and the kernel's counters of each queue, as text or JSON; or
 * every counter, the program's too, in Prometheus' text format; or, with
 * --watch, redirectors opened and closed as it happens (status_watch.c).
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_REDIRECTORS 256

struct status_config {
	int json;
	int prometheus;
	int watch;
};

static struct status_config status_config;

static const struct option status_options[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "prometheus", no_argument, NULL, 'P' },
	{ "watch", no_argument, NULL, 'W' },
	{ 0 },
};

static void parse_option(int opt, const char *arg, void *ctx);

static const struct cli_spec status_spec = {
	.name = "status",
	.synopsis = "[-j | --prometheus] [--watch]",
	.help = "  -j, --json             print a JSON array (with --watch: one object per line)\n"
		"      --prometheus       print every counter in Prometheus' text format\n"
		"      --watch            print redirectors opened and closed, by any program, as\n"
		"                         it happens (those open first), until SIGINT or SIGTERM\n",
	.longopts = status_options,
	.shortopts = "j",
	.parse = parse_option,
	.ctx = &status_config,
};

static void parse_option(int opt, const char *arg, void *ctx)
{
	struct status_config *s = ctx;

	if (opt == 'j')
		s->json = 1;
	else if (opt == 'P')
		s->prometheus = 1;
	else if (opt == 'W')
		s->watch = 1;
	else
		cli_usage_error(&status_spec, "unexpected option");
}

/* The command name of pid from /proc/PID/comm; "" if it is gone. */
static void process_name(int pid, char *buf, size_t size)
{
	char path[64];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = pid > 0 ? fopen(path, "re") : NULL;
	if (!f)
		return;
	if (fgets(buf, (int)size, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* ---- text ---- */

static void print_queue_text(unsigned int queue)
{
	struct ipr_queue_counters c;

	if (ipr_queue_counters(queue, &c) < 0) {
		printf("  queue %u: not bound\n", queue);
		return;
	}
	printf("  queue %u: waiting %u, queue drops %llu, user drops %llu, last id %u\n", queue,
	       c.waiting, (unsigned long long)c.queue_dropped, (unsigned long long)c.user_dropped,
	       c.last_id);
}

static void print_text(const struct ipr_redirector *r)
{
	char comm[64];

	process_name(r->pid, comm, sizeof(comm));
	printf("table inet %s%s\n", r->table, r->owned ? "" : " (not owned)");
	printf("  process     %d (%s)\n", r->pid, comm[0] ? comm : "gone");
	printf("  layers      %s\n", r->layers);
	printf("  filter      %s\n", r->filter[0] ? r->filter
					 : r->queues ? "(every IP packet)" : "(every event)");
	if (r->monitor == IPR_MONITOR_BPF) {
		printf("  BPF ring    (monitor: copies only)\n");
		return;
	}
	if (r->monitor) {
		printf("  NFLOG group %u (monitor: copies only)\n", r->queue);
		return;
	}
	if (!r->queues) {
		printf("  events      (no packets held)\n");
		return;
	}
	printf("  queues      %u..%u\n", r->queue, r->queue + r->queues - 1);
	for (unsigned int i = 0; i < r->queues; i++)
		print_queue_text(r->queue + i);
}

/* ---- JSON ---- */

static void print_queue_json(unsigned int queue, int first)
{
	struct ipr_queue_counters c;
	int bound = ipr_queue_counters(queue, &c) == 0;

	if (!bound)
		memset(&c, 0, sizeof(c));
	printf("%s{\"queue\": %u, \"bound\": %s, \"waiting\": %u, \"queue_drops\": %llu, "
	       "\"user_drops\": %llu, \"last_id\": %u}",
	       first ? "" : ", ", queue, bound ? "true" : "false", c.waiting,
	       (unsigned long long)c.queue_dropped, (unsigned long long)c.user_dropped, c.last_id);
}

static void print_json(const struct ipr_redirector *r, int first)
{
	char comm[64];

	process_name(r->pid, comm, sizeof(comm));
	printf("%s\n  {\"table\": ", first ? "" : ",");
	cli_json_string(stdout, r->table);
	printf(", \"pid\": %d, \"command\": ", r->pid);
	cli_json_string(stdout, comm);
	printf(", \"owned\": %s, \"layers\": ", r->owned ? "true" : "false");
	cli_json_string(stdout, r->layers);
	printf(", \"filter\": ");
	cli_json_string(stdout, r->filter);
	printf(", \"monitor\": %s", r->monitor ? "true" : "false");
	if (r->monitor == IPR_MONITOR_BPF) {
		printf(", \"engine\": \"bpf\", \"queues\": []}");
		return;
	}
	if (r->monitor || !r->queues) {
		printf(", \"%s\": %u, \"queues\": []}", r->monitor ? "nflog_group" : "events",
		       r->queue);
		return;
	}
	printf(", \"first_queue\": %u, \"last_queue\": %u, \"queues\": [", r->queue,
	       r->queue + r->queues - 1);
	for (unsigned int i = 0; i < r->queues; i++)
		print_queue_json(r->queue + i, i == 0);
	printf("]}");
}

/* ---- Prometheus ---- */

/* Without an answer from the owner (a program of its own, say): the kernel's counters. */
static void kernel_counters(const struct ipr_redirector *r, struct metrics_redirector *m)
{
	struct ipr_queue_counters c;

	process_name(r->pid, m->tool, sizeof(m->tool));
	m->queues = 0;
	for (unsigned int i = 0; !r->monitor && i < r->queues && i < IPR_QUEUES_MAX; i++) {
		struct metrics_queue *q = &m->queue[m->queues];

		if (ipr_queue_counters(r->queue + i, &c) < 0)
			continue;
		*q = (struct metrics_queue){ .queue = r->queue + i };
		q->stats.queue_dropped = c.queue_dropped;
		q->stats.user_dropped = c.user_dropped;
		q->stats.waiting = c.waiting;
		m->queues++;
	}
}

static void print_prometheus(const struct ipr_redirector *rs, unsigned int n)
{
	struct metrics_redirector *ms = calloc(n ? n : 1, sizeof(*ms));

	if (!ms) {
		fprintf(stderr, "ipredir status: out of memory\n");
		return;
	}
	for (unsigned int i = 0; i < n; i++) {
		snprintf(ms[i].table, sizeof(ms[i].table), "%s", rs[i].table);
		ms[i].filter = rs[i].filter;
		if (metrics_ask(rs[i].table, rs[i].pid, &ms[i]) < 0)
			kernel_counters(&rs[i], &ms[i]);
	}
	metrics_print(stdout, ms, n);
	free(ms);
}

static void print_all(const struct ipr_redirector *rs, unsigned int n, int json)
{
	if (json) {
		printf("[");
		for (unsigned int i = 0; i < n; i++)
			print_json(&rs[i], i == 0);
		printf("%s]\n", n ? "\n" : "");
		return;
	}
	if (!n)
		printf("no ipredir redirector in this network namespace\n");
	for (unsigned int i = 0; i < n; i++)
		print_text(&rs[i]);
}

int cmd_status(int argc, char **argv)
{
	struct ipr_redirector *rs;
	int n, status = 0;

	if (cli_parse(&status_spec, argc, argv, &(struct cli_common){ 0 }) != argc)
		cli_usage_error(&status_spec, "unexpected argument \"%s\"", argv[optind]);
	if (status_config.json && status_config.prometheus)
		cli_usage_error(&status_spec, "give -j or --prometheus, not both");
	if (status_config.watch && status_config.prometheus)
		cli_usage_error(&status_spec, "give --watch or --prometheus, not both");
	if (status_config.watch)
		return status_watch(status_config.json);
	rs = calloc(MAX_REDIRECTORS, sizeof(*rs));
	if (!rs) {
		fprintf(stderr, "ipredir status: out of memory\n");
		return 1;
	}
	n = ipr_list_redirectors(rs, MAX_REDIRECTORS);
	if (n < 0) {
		fprintf(stderr, "ipredir status: %s\n", ipr_last_error());
		status = 1;
		goto out;
	}
	if (n > MAX_REDIRECTORS) {
		fprintf(stderr, "ipredir status: %d redirectors, showing the first %d\n", n,
			MAX_REDIRECTORS);
		n = MAX_REDIRECTORS;
	}
	if (status_config.prometheus)
		print_prometheus(rs, (unsigned int)n);
	else
		print_all(rs, (unsigned int)n, status_config.json);
	if (fflush(stdout) != 0)
		status = 1;
out:
	free(rs);
	return status;
}
