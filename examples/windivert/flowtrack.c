/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * flowtrack - show the network flows of this host as they come and go: each
 * open flow with its process ID, program, protocol, and local and remote
 * ends, the arrow telling who opened it ("---->" this host, "<----" the
 * other end). The table is drawn again every second.
 *
 * Shows: the FLOW layer (WINDIVERT_FLAG_SNIFF | WINDIVERT_FLAG_RECV_ONLY, as
 * that layer requires), WINDIVERT_EVENT_FLOW_ESTABLISHED and _DELETED, the
 * Flow data of an address, and WinDivertHelperFormatIPv6Address on its
 * IPv4-mapped addresses.
 *
 * Usage: flowtrack [filter]
 * The filter (FLOW layer fields, e.g. "tcp and remotePort == 443" or
 * "processId == 1234") chooses the flows; the default is "true".
 *
 * On Linux: run it as root in the network namespace of the flows, e.g.
 *   ip netns exec NS build/examples/windivert/flowtrack
 * On a terminal the table is redrawn in place; otherwise each drawing is
 * printed after the last, for logs. SIGINT or SIGTERM ends it (status 0).
 */
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <windivert.h>

#define MAX_FLOWS 256
#define ADDR_TEXT 64
#define DRAW_ROWS 40 /* rows of a drawing that is not on a terminal */

/* The open flows, newest first. */
struct flow {
	WINDIVERT_ADDRESS addr;
	struct flow *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct flow *flows;
static int console;

/* The program of a process: its command name, or "???" once it is gone. */
static void program_of(UINT32 pid, char *name, size_t size)
{
	char path[64];
	FILE *f;

	snprintf(name, size, "???");
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	f = pid ? fopen(path, "r") : NULL;
	if (!f)
		return;
	if (fgets(name, (int)size, f))
		name[strcspn(name, "\n")] = 0;
	fclose(f);
}

static const char *protocol_name(UINT8 protocol)
{
	switch (protocol) {
	case IPPROTO_TCP: return "TCP";
	case IPPROTO_UDP: return "UDP";
	case IPPROTO_ICMP: return "ICMP";
	case IPPROTO_ICMPV6: return "ICMPV6";
	default: return NULL;
	}
}

static void print_flow(const WINDIVERT_ADDRESS *addr)
{
	const WINDIVERT_DATA_FLOW *f = &addr->Flow;
	char program[32], local[ADDR_TEXT], remote[ADDR_TEXT];
	const char *prot = protocol_name(f->Protocol);

	program_of(f->ProcessId, program, sizeof(program));
	WinDivertHelperFormatIPv6Address(f->LocalAddr, local, sizeof(local));
	WinDivertHelperFormatIPv6Address(f->RemoteAddr, remote, sizeof(remote));
	printf("%-10u %-20.20s ", f->ProcessId, program);
	if (prot)
		printf("%-6s ", prot);
	else
		printf("%-6u ", f->Protocol);
	printf("%s:%u %s %s:%u\n", local, f->LocalPort, addr->Outbound ? "---->" : "<----",
	       remote, f->RemotePort);
}

/* How many rows a drawing has: the terminal's, or DRAW_ROWS. */
static unsigned int rows(void)
{
	const char *lines = getenv("LINES");
	long n = lines ? strtol(lines, NULL, 10) : 0;

	return console && n > 2 ? (unsigned int)n : DRAW_ROWS;
}

/* Draw the flows once: a snapshot taken under the lock, printed outside it. */
static void draw(void)
{
	static WINDIVERT_ADDRESS snapshot[MAX_FLOWS];
	unsigned int n = 0, max = rows() - 1;
	const struct flow *f;

	pthread_mutex_lock(&lock);
	for (f = flows; f && n < MAX_FLOWS && n < max; f = f->next)
		snapshot[n++] = f->addr;
	pthread_mutex_unlock(&lock);
	if (console)
		fputs("\033[H\033[2J\033[7m", stdout); /* top left, cleared, header reversed */
	printf("PID        PROGRAM              PROT   FLOW%s\n", console ? "\033[0m" : "");
	for (unsigned int i = 0; i < n; i++) {
		if (i == max - 1 && f) {
			puts("...");
			break;
		}
		print_flow(&snapshot[i]);
	}
	if (!console)
		putchar('\n');
	fflush(stdout);
}

static void *drawer(void *arg)
{
	(void)arg;
	for (;;) {
		draw();
		sleep(1);
	}
	return NULL;
}

/* The same flow: its endpoint and its 5-tuple. */
static int same_flow(const WINDIVERT_DATA_FLOW *a, const WINDIVERT_DATA_FLOW *b)
{
	return a->EndpointId == b->EndpointId && a->Protocol == b->Protocol &&
	       a->LocalPort == b->LocalPort && a->RemotePort == b->RemotePort &&
	       !memcmp(a->LocalAddr, b->LocalAddr, sizeof(a->LocalAddr)) &&
	       !memcmp(a->RemoteAddr, b->RemoteAddr, sizeof(a->RemoteAddr));
}

static void flow_established(const WINDIVERT_ADDRESS *addr)
{
	struct flow *f = malloc(sizeof(*f));

	if (!f) {
		fprintf(stderr, "error: failed to allocate memory\n");
		exit(EXIT_FAILURE);
	}
	f->addr = *addr;
	pthread_mutex_lock(&lock);
	f->next = flows;
	flows = f;
	pthread_mutex_unlock(&lock);
}

static void flow_deleted(const WINDIVERT_ADDRESS *addr)
{
	struct flow **at, *gone = NULL;

	pthread_mutex_lock(&lock);
	for (at = &flows; *at && !gone; at = &(*at)->next)
		if (same_flow(&(*at)->addr.Flow, &addr->Flow)) {
			gone = *at;
			*at = gone->next;
			break;
		}
	pthread_mutex_unlock(&lock);
	free(gone);
}

static HANDLE open_flow_layer(const char *filter)
{
	const char *err_str;
	HANDLE h = WinDivertOpen(filter, WINDIVERT_LAYER_FLOW, 776,
				 WINDIVERT_FLAG_SNIFF | WINDIVERT_FLAG_RECV_ONLY);

	if (h != INVALID_HANDLE_VALUE)
		return h;
	if (GetLastError() == ERROR_INVALID_PARAMETER &&
	    !WinDivertHelperCompileFilter(filter, WINDIVERT_LAYER_FLOW, NULL, 0, &err_str, NULL)) {
		fprintf(stderr, "error: invalid filter \"%s\"\n", err_str);
		exit(EXIT_FAILURE);
	}
	fprintf(stderr, "error: failed to open the WinDivert device (%lu)\n",
		(unsigned long)GetLastError());
	exit(EXIT_FAILURE);
}

/* Follow the flows until the handle is shut down. */
static void *receiver(void *arg)
{
	HANDLE handle = arg;
	WINDIVERT_ADDRESS addr;

	for (;;) {
		if (!WinDivertRecv(handle, NULL, 0, NULL, &addr)) {
			if (GetLastError() == ERROR_NO_DATA)
				return NULL;
			fprintf(stderr, "failed to read packet (%lu)\n", (unsigned long)GetLastError());
			continue;
		}
		if (addr.Event == WINDIVERT_EVENT_FLOW_ESTABLISHED)
			flow_established(&addr);
		else if (addr.Event == WINDIVERT_EVENT_FLOW_DELETED)
			flow_deleted(&addr);
	}
}

int main(int argc, char **argv)
{
	const char *filter = argc == 2 ? argv[1] : "true";
	pthread_t draw_thread, recv_thread;
	sigset_t stop;
	HANDLE handle;
	int sig;

	if (argc > 2) {
		fprintf(stderr, "usage: %s [filter]\n", argv[0]);
		exit(EXIT_FAILURE);
	}
	console = isatty(STDOUT_FILENO);
	handle = open_flow_layer(filter);
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL); /* for every thread: this one takes them */
	if (pthread_create(&draw_thread, NULL, drawer, NULL) ||
	    pthread_create(&recv_thread, NULL, receiver, handle)) {
		fprintf(stderr, "error: failed to create thread\n");
		return EXIT_FAILURE;
	}
	sigwait(&stop, &sig);
	WinDivertShutdown(handle, WINDIVERT_SHUTDOWN_BOTH);
	pthread_join(recv_thread, NULL);
	WinDivertClose(handle);
	return EXIT_SUCCESS;
}
