/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * guard.c - the guardian of changes a subcommand makes outside its redirector.
 * The kernel removes the redirector's table when the process dies; nothing
 * does that for routes, sysctls or cgroups, so a forked guardian makes those
 * changes on request and undoes them when its socket to us reaches end of
 * file, which the kernel guarantees however we end.
 */
#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guard.h"

#define REQUEST_SETUP 'S'

/* The guardian's life: serve setup requests until end of file, then undo. */
static void __attribute__((noreturn))
guardian(int fd, int (*setup)(void *), void (*undo)(void *), void *arg)
{
	char req;
	ssize_t n;

	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	while ((n = read(fd, &req, 1)) == 1 || (n < 0 && errno == EINTR)) {
		int result;

		if (n != 1 || req != REQUEST_SETUP)
			continue;
		result = setup(arg);
		if (send(fd, &result, sizeof(result), MSG_NOSIGNAL) != sizeof(result))
			break;
	}
	undo(arg);
	_exit(0);
}

int guard_start(struct guard *g, int (*setup)(void *), void (*undo)(void *), void *arg)
{
	int fds[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0)
		return -errno;
	g->pid = fork();
	if (g->pid < 0) {
		int err = -errno;

		close(fds[0]);
		close(fds[1]);
		return err;
	}
	if (g->pid == 0) {
		close(fds[0]);
		guardian(fds[1], setup, undo, arg);
	}
	close(fds[1]);
	g->fd = fds[0];
	return 0;
}

int guard_setup(struct guard *g)
{
	char req = REQUEST_SETUP;
	int result;
	ssize_t n;

	if (send(g->fd, &req, 1, MSG_NOSIGNAL) != 1)
		return -errno;
	do
		n = recv(g->fd, &result, sizeof(result), MSG_WAITALL);
	while (n < 0 && errno == EINTR);
	return n == sizeof(result) ? result : -EPIPE;
}

void guard_end(struct guard *g)
{
	if (g->pid <= 0)
		return;
	close(g->fd);
	while (waitpid(g->pid, NULL, 0) < 0 && errno == EINTR)
		;
	g->pid = 0;
}
