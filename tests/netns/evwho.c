/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * evwho.c - a test tool: prints the socket and flow events of its network
 * namespace (ipr_events_open with IPR_EVENTS_FLOW | IPR_EVENTS_SOCKET).
 *
 *   evwho [PORT]
 *       Prints "ready" once the events are on, then one line per event:
 *         KIND PROTO LOCAL_PORT REMOTE_PORT PID COMM OUTBOUND ENDPOINT PARENT
 *       KIND one of established deleted bind connect listen accept close,
 *       followed by "blocked" for a refused call. With PORT, refuses every
 *       connect to remote port PORT and every bind to local port PORT + 1.
 *       Runs until SIGINT or SIGTERM; then "lost N".
 * Exit status: 0, 1 when events cannot start or fail.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "ipredir.h"

#define BATCH 64

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

static const char *kind_name(uint32_t kind)
{
	static const char *const names[] = { "?", "established", "deleted", "bind", "connect",
					      "listen", "accept", "close" };

	return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

/* connect to remote port PORT, or bind to local port PORT + 1. */
static int block_port(struct ipr_events *e, uint32_t port)
{
	const struct ipr_call_test rule[] = {
		{ IPR_CALL_EVENT, IPR_CMP_EQ, 1, 2, { IPR_EVENT_SOCKET_CONNECT } },
		{ IPR_CALL_REMOTE_PORT, IPR_CMP_EQ, IPR_CALL_MATCH, IPR_CALL_NO_MATCH, { port } },
		{ IPR_CALL_LOCAL_PORT, IPR_CMP_EQ, IPR_CALL_MATCH, IPR_CALL_NO_MATCH, { port + 1 } },
	};

	return ipr_events_block(e, rule, 3);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct ipr_event ev[BATCH];
	struct ipr_events *e;
	int n = 0;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (ipr_events_open(IPR_EVENTS_FLOW | IPR_EVENTS_SOCKET, &e) ||
	    (argc > 1 && block_port(e, (uint32_t)strtoul(argv[1], NULL, 10)))) {
		fprintf(stderr, "evwho: %s\n", ipr_last_error());
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (!stop && (n = ipr_events_recv(e, ev, BATCH, 0)) != -1000) {
		if (n == -EINTR)
			continue;
		if (n < 0)
			break;
		for (int i = 0; i < n; i++)
			printf("%s %s %u %u %u %s %u %llu %llu%s\n", kind_name(ev[i].kind),
			       ev[i].protocol == 6 ? "tcp" : "udp", ev[i].local_port,
			       ev[i].remote_port, ev[i].pid, ev[i].comm[0] ? ev[i].comm : "-",
			       ev[i].outbound, (unsigned long long)ev[i].endpoint,
			       (unsigned long long)ev[i].parent_endpoint,
			       ev[i].blocked ? " blocked" : "");
		fflush(stdout);
	}
	printf("lost %llu\n", (unsigned long long)ipr_events_lost(e));
	ipr_events_close(e);
	if (n < 0 && n != -EINTR)
		fprintf(stderr, "evwho: %s\n", ipr_last_error());
	return n < 0 && n != -EINTR ? 1 : 0;
}
