/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * watchdog.c - keep traffic moving while the redirector is stopped (SIGSTOP,
 * SIGTSTP, a debugger). A stopped process answers nothing, the kernel never
 * times out queued packets, and TCP stops sending once its window is held, so
 * the queue never fills and fail-open never engages: the redirector's traffic
 * would stand still. A child process shares the queue sockets (the same
 * netlink port, so the kernel takes its verdicts) and, only while the parent
 * is stopped, accepts every packet that arrives; TCP retransmits what the
 * stopped process holds and carries on. The child dies with the parent.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cli.h"

#define CHECK_MS 100 /* how often the parent's state is read */
#define BATCH 64

/* 1 while process pid is stopped or traced-stopped. */
static int stopped(pid_t pid)
{
	char path[64], buf[256], *state;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	state = strrchr(buf, ')'); /* the name may hold anything; the state follows it */
	return state && (state[2] == 'T' || state[2] == 't');
}

/* Accept whatever queue handle q has waiting; returns the packets passed. */
static int pass_waiting(struct ipr_handle *q, void *buf, size_t buflen, struct ipr_packet *pkts)
{
	int n = ipr_recv_batch(q, buf, buflen, pkts, BATCH, IPR_RECV_NONBLOCK);

	if (n <= 0)
		return 0;
	ipr_set_verdicts(q, pkts, (unsigned int)n, IPR_ACCEPT);
	ipr_flush(q);
	return n;
}

/* While the parent is stopped, pass every queue's packets. */
static void pass_while_stopped(struct ipr_handle *h, pid_t parent)
{
	unsigned int nq = ipr_queue_count(h);
	size_t buflen = ipr_slot_size(h) * BATCH;
	struct ipr_packet pkts[BATCH];
	struct pollfd pfd[IPR_QUEUES_MAX];
	void *buf = malloc(buflen);

	if (!buf)
		return;
	for (unsigned int i = 0; i < nq; i++)
		pfd[i] = (struct pollfd){ .fd = ipr_fd(ipr_queue_handle(h, i)), .events = POLLIN };
	while (stopped(parent)) {
		int passed = 0;

		for (unsigned int i = 0; i < nq; i++)
			passed += pass_waiting(ipr_queue_handle(h, i), buf, buflen, pkts);
		if (!passed)
			poll(pfd, nq, CHECK_MS);
	}
	free(buf);
}

static int by_value(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Close every descriptor but the queue sockets: the table, its owner socket and
 * any tun device must go with the parent alone. */
static void keep_only_queues(struct ipr_handle *h)
{
	unsigned int nq = ipr_queue_count(h), from = 3;
	int keep[IPR_QUEUES_MAX];

	for (unsigned int i = 0; i < nq; i++)
		keep[i] = ipr_fd(ipr_queue_handle(h, i));
	qsort(keep, nq, sizeof(keep[0]), by_value);
	for (unsigned int i = 0; i < nq; i++) {
		if ((unsigned int)keep[i] > from)
			close_range(from, (unsigned int)keep[i] - 1, 0);
		from = (unsigned int)keep[i] + 1;
	}
	close_range(from, ~0u, 0);
}

static void __attribute__((noreturn)) watch(struct ipr_handle *h, pid_t parent)
{
	keep_only_queues(h);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGALRM, SIG_IGN);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(0);
	for (;;) {
		usleep(CHECK_MS * 1000);
		if (getppid() != parent)
			_exit(0);
		pass_while_stopped(h, parent);
	}
}

int cli_watchdog_start(struct ipr_handle *h)
{
	pid_t parent = getpid(), pid;

	if (ipr_queue_count(h) > IPR_QUEUES_MAX)
		return -EINVAL;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		watch(h, parent);
	return 0;
}
