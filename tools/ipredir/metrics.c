/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * metrics.c - a redirector's counters per queue, in Prometheus' text exposition
 * format: printed by `status --prometheus`, rewritten atomically by
 * --metrics-file, and served by every running tool on an abstract unix socket
 * named after its table (abstract sockets belong to the network namespace, as
 * the tables do, and vanish with the process), where `status` reads them.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"

#define SOCKET_PREFIX "ipredir-stats/"
#define READ_TIMEOUT_MS 1000

/* One metric family: its name, help, type, and the counter of struct ipr_stats it shows. */
struct metric {
	const char *name;
	const char *help;
	const char *type;
	size_t field;
	int kernel; /* 1: also known without the program (/proc/net/netfilter/nfnetlink_queue) */
};

#define STAT(f) offsetof(struct ipr_stats, f)

static const struct metric metrics[] = {
	{ "ipredir_received_packets_total", "Packets handed to the program.", "counter",
	  STAT(received), 0 },
	{ "ipredir_received_bytes_total", "Bytes of the packets handed to the program.", "counter",
	  STAT(bytes), 0 },
	{ "ipredir_accepted_packets_total", "Accept verdicts without new bytes.", "counter",
	  STAT(accepted), 0 },
	{ "ipredir_modified_packets_total", "Accept verdicts with new bytes.", "counter",
	  STAT(modified), 0 },
	{ "ipredir_dropped_packets_total", "Drop verdicts.", "counter", STAT(dropped), 0 },
	{ "ipredir_fail_open_packets_total",
	  "Packets passed unredirected because the queue or socket was full (first queue: all).",
	  "counter", STAT(failopen), 0 },
	{ "ipredir_queue_drops_total", "Packets the kernel dropped because the queue was full.",
	  "counter", STAT(queue_dropped), 1 },
	{ "ipredir_socket_drops_total",
	  "Packets the kernel dropped because the program's socket buffer was full.", "counter",
	  STAT(user_dropped), 1 },
	{ "ipredir_held_packets", "Packets held for a verdict right now.", "gauge", STAT(waiting),
	  1 },
	{ "ipredir_expired_packets_total",
	  "Packets accepted because no verdict came within the deadline.", "counter",
	  STAT(expired), 0 },
	{ "ipredir_verdict_errors_total", "Verdicts the kernel refused.", "counter",
	  STAT(verdict_errors), 0 },
};

#define METRICS (sizeof(metrics) / sizeof(metrics[0]))

static uint64_t stat_of(const struct ipr_stats *s, const struct metric *m)
{
	return *(const uint64_t *)((const char *)s + m->field);
}

/* ---- collecting ---- */

int metrics_collect(struct ipr_handle *h, struct metrics_redirector *r)
{
	struct ipr_info info;
	int err = 0;

	r->queues = ipr_queue_count(h);
	for (unsigned int i = 0; i < r->queues; i++) { /* each queue, whatever one says */
		struct metrics_queue *q = &r->queue[i];
		struct ipr_handle *qh = ipr_queue_handle(h, i);
		int e;

		memset(&q->stats, 0, sizeof(q->stats));
		ipr_get_info(qh, &info);
		q->queue = info.queue;
		q->in_process = 1;
		e = ipr_get_stats(qh, &q->stats, sizeof(q->stats));
		if (e && !err)
			err = e;
	}
	return err;
}

void metrics_sum(const struct metrics_redirector *r, struct ipr_stats *total)
{
	uint64_t *to = (uint64_t *)total;

	memset(total, 0, sizeof(*total));
	for (unsigned int i = 0; i < r->queues; i++) {
		const uint64_t *from = (const uint64_t *)&r->queue[i].stats;

		for (size_t k = 0; k < sizeof(*total) / sizeof(uint64_t); k++)
			to[k] += from[k];
	}
}

/* ---- the exposition format ---- */

/* A label value: backslash, double quote and newline escaped. */
static void print_label(FILE *f, const char *name, const char *value, const char *sep)
{
	fprintf(f, "%s=\"", name);
	for (; *value; value++) {
		if (*value == '\\' || *value == '"')
			fprintf(f, "\\%c", *value);
		else if (*value == '\n')
			fputs("\\n", f);
		else
			fputc(*value, f);
	}
	fprintf(f, "\"%s", sep);
}

static void print_sample(FILE *f, const struct metric *m, const struct metrics_redirector *r,
			 const struct metrics_queue *q)
{
	fprintf(f, "%s{", m->name);
	print_label(f, "table", r->table, ",");
	fprintf(f, "queue=\"%u\",", q->queue);
	print_label(f, "tool", r->tool, ",");
	print_label(f, "filter", r->filter, "");
	fprintf(f, "} %llu\n", (unsigned long long)stat_of(&q->stats, m));
}

void metrics_print(FILE *f, const struct metrics_redirector *rs, unsigned int n)
{
	for (const struct metric *m = metrics; m < metrics + METRICS; m++) {
		fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name, m->type);
		for (unsigned int i = 0; i < n; i++)
			for (unsigned int k = 0; k < rs[i].queues; k++)
				if (rs[i].queue[k].in_process || m->kernel)
					print_sample(f, m, &rs[i], &rs[i].queue[k]);
	}
}

/* ---- the metrics file ---- */

/* The temporary file beside path: same directory, so rename() is atomic; hidden, so a
 * textfile collector (it reads *.prom) never takes it. */
static int temp_name(const char *path, char *buf, size_t size)
{
	const char *slash = strrchr(path, '/');
	int dir = slash ? (int)(slash - path + 1) : 0;

	return (size_t)snprintf(buf, size, "%.*s.%s.%d.tmp", dir, path, path + dir,
				(int)getpid()) < size ? 0 : -ENAMETOOLONG;
}

int metrics_write_file(const char *path, const struct metrics_redirector *r)
{
	char tmp[4096];
	FILE *f;
	int err = temp_name(path, tmp, sizeof(tmp));

	if (err)
		return err;
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fchmod(fileno(f), 0644);
	metrics_print(f, r, 1);
	err = fflush(f) || ferror(f) ? -EIO : 0;
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}

/* ---- the stats socket ---- */

static socklen_t socket_address(const char *table, struct sockaddr_un *sa)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, SOCKET_PREFIX "%s", table);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

int metrics_listen(const char *table)
{
	struct sockaddr_un sa;
	socklen_t len = socket_address(table, &sa);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, 8) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Wire format, both ends this program: "tool NAME\n", then per queue "Q V1 .. Vn\n" with the
 * values of the metrics table in its order. */
void metrics_answer(int listen_fd, const struct metrics_redirector *r)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	FILE *f;

	if (fd < 0)
		return;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return;
	}
	fprintf(f, "tool %s\n", r->tool);
	for (unsigned int i = 0; i < r->queues; i++) {
		fprintf(f, "%u", r->queue[i].queue);
		for (const struct metric *m = metrics; m < metrics + METRICS; m++)
			fprintf(f, " %llu", (unsigned long long)stat_of(&r->queue[i].stats, m));
		fputc('\n', f);
	}
	fclose(f);
}

/* One "Q V1 .. Vn" line into q; 0 or -EINVAL. */
static int parse_queue(char *line, struct metrics_queue *q)
{
	char *p = line, *end;

	memset(q, 0, sizeof(*q));
	q->queue = (unsigned int)strtoul(p, &end, 10);
	for (const struct metric *m = metrics; m < metrics + METRICS && end != p; m++) {
		p = end;
		*(uint64_t *)((char *)&q->stats + m->field) = strtoull(p, &end, 10);
	}
	q->in_process = end != p;
	return q->in_process ? 0 : -EINVAL;
}

/* The peer is the process that owns the table, not an impostor that took the name. */
static int connect_owner(const char *table, int pid)
{
	struct timeval tv = { READ_TIMEOUT_MS / 1000, READ_TIMEOUT_MS % 1000 * 1000 };
	struct sockaddr_un sa;
	socklen_t len = socket_address(table, &sa), cl = sizeof(struct ucred);
	struct ucred cred;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, len) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 || cred.pid != pid) {
		close(fd);
		return -1;
	}
	return fd;
}

int metrics_ask(const char *table, int pid, struct metrics_redirector *r)
{
	char line[1024];
	int fd = connect_owner(table, pid);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;

	if (!f) {
		if (fd >= 0)
			close(fd);
		return -ENOENT;
	}
	r->queues = 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "tool ", 5))
			snprintf(r->tool, sizeof(r->tool), "%.*s", (int)strcspn(line + 5, "\n"),
				 line + 5);
		else if (r->queues < IPR_QUEUES_MAX && !parse_queue(line, &r->queue[r->queues]))
			r->queues++;
	fclose(f);
	return r->queues ? 0 : -ENOENT;
}
