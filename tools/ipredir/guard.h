/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * guard.h - undo what a subcommand changed outside its redirector (routes,
 * sysctls, a cgroup) even when it is killed: a guardian process makes the
 * changes itself, so it knows exactly what to undo, and undoes them once the
 * socket from the subcommand reaches end of file (exit, crash or SIGKILL alike).
 */
#ifndef IPREDIR_GUARD_H
#define IPREDIR_GUARD_H

#include <sys/types.h>

struct guard {
	pid_t pid; /* the guardian; 0 once it has ended */
	int fd;    /* our end of the socket pair: requests out, results in */
};

/*
 * Fork a guardian that runs setup(arg) when guard_setup() asks, and undo(arg)
 * once this process ends or calls guard_end(). It ignores SIGINT, SIGTERM and
 * SIGHUP. Start it before opening the redirector: it must not inherit sockets
 * whose closing the kernel waits for. Returns 0 or -errno.
 */
int guard_start(struct guard *g, int (*setup)(void *), void (*undo)(void *), void *arg);

/* Run setup in the guardian; returns its result (0 or -errno). */
int guard_setup(struct guard *g);

/* Let the guardian undo everything and wait until it has. */
void guard_end(struct guard *g);

#endif /* IPREDIR_GUARD_H */
