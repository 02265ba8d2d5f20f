/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * socketdump - print the socket operations of this host as they happen, one
 * line each: BIND, LISTEN, CONNECT, ACCEPT or CLOSE, with the process ID and
 * program, the endpoint and its parent, the protocol, and the local and remote
 * ends where the operation has them. With --block the operations the filter
 * matches are also refused: a bind or connect then fails with EPERM in the
 * program that made it (listen, accept and close are printed, not refused).
 *
 * Shows: the SOCKET layer (WINDIVERT_FLAG_RECV_ONLY, with WINDIVERT_FLAG_SNIFF
 * to observe only), the WINDIVERT_EVENT_SOCKET_* events, the Socket data of an
 * address, and WinDivertHelperFormatIPv6Address.
 *
 * Usage: socketdump [filter]
 *        socketdump --block [filter]
 * The filter (SOCKET layer fields, e.g. "remotePort == 80" or "processId ==
 * 1234") chooses the operations; the default is "true". A blocking filter
 * may not test endpointId or timestamp where a bind or connect reaches them:
 * the kernel cannot see them when it decides.
 *
 * On Linux: run it as root in the network namespace of the sockets, e.g.
 *   ip netns exec NS build/examples/windivert/socketdump --block "remotePort == 25"
 * SIGINT or SIGTERM ends it (status 0), and with it any block.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <windivert.h>

#define ADDR_TEXT 64

/* The console colours of the Windows sample, as ANSI colours, on a terminal only. */
enum { RED = 1, GREEN = 2, BLUE = 4, WHITE = RED | GREEN | BLUE };

static int console;

static void set_color(int color)
{
	if (console && color == WHITE)
		fputs("\033[0m", stdout);
	else if (console)
		printf("\033[%dm", 30 + color);
}

/* " name=" in white, then the value's colour. */
static void label(const char *name)
{
	set_color(WHITE);
	printf(" %s=", name);
	set_color(RED | GREEN);
}

static void print_event(WINDIVERT_EVENT event)
{
	static const char *const names[] = {
		[WINDIVERT_EVENT_SOCKET_BIND] = "BIND", [WINDIVERT_EVENT_SOCKET_LISTEN] = "LISTEN",
		[WINDIVERT_EVENT_SOCKET_CONNECT] = "CONNECT",
		[WINDIVERT_EVENT_SOCKET_ACCEPT] = "ACCEPT", [WINDIVERT_EVENT_SOCKET_CLOSE] = "CLOSE",
	};
	const char *name = event < sizeof(names) / sizeof(names[0]) ? names[event] : NULL;

	set_color(!name ? BLUE : event == WINDIVERT_EVENT_SOCKET_CLOSE ? RED : GREEN);
	fputs(name ? name : "???", stdout);
}

/* The program of a process: its command name, or "???" once it is gone. */
static void print_program(UINT32 pid)
{
	char path[64], name[32] = "???";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	f = pid ? fopen(path, "r") : NULL;
	if (f && fgets(name, sizeof(name), f))
		name[strcspn(name, "\n")] = 0;
	if (f)
		fclose(f);
	label("program");
	fputs(name, stdout);
}

static void print_protocol(UINT8 protocol)
{
	label("protocol");
	switch (protocol) {
	case IPPROTO_TCP: fputs("TCP", stdout); break;
	case IPPROTO_UDP: fputs("UDP", stdout); break;
	case IPPROTO_ICMP: fputs("ICMP", stdout); break;
	case IPPROTO_ICMPV6: fputs("ICMPV6", stdout); break;
	default: printf("%u", protocol); break;
	}
}

/* An end of the operation, unless it has none (the address :: and port 0). */
static void print_end(const char *name, const UINT32 *addr, UINT16 port)
{
	char text[ADDR_TEXT];

	WinDivertHelperFormatIPv6Address(addr, text, sizeof(text));
	if (port == 0 && strcmp(text, "::") == 0)
		return;
	label(name);
	printf("[%s]:%u", text, port);
}

static void print_operation(const WINDIVERT_ADDRESS *addr)
{
	const WINDIVERT_DATA_SOCKET *s = &addr->Socket;

	print_event(addr->Event);
	label("pid");
	printf("%u", s->ProcessId);
	print_program(s->ProcessId);
	label("endpoint");
	printf("%llu", (unsigned long long)s->EndpointId);
	label("parent");
	printf("%llu", (unsigned long long)s->ParentEndpointId);
	print_protocol(s->Protocol);
	print_end("local", s->LocalAddr, s->LocalPort);
	print_end("remote", s->RemoteAddr, s->RemotePort);
	set_color(WHITE);
	putchar('\n');
	fflush(stdout);
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [filter]\n", prog);
	fprintf(stderr, "       %s --block [filter]\n", prog);
	exit(EXIT_FAILURE);
}

static HANDLE open_socket_layer(const char *filter, int block)
{
	const char *err_str;
	HANDLE h = WinDivertOpen(filter, WINDIVERT_LAYER_SOCKET, 1121,
				 (block ? 0 : WINDIVERT_FLAG_SNIFF) | WINDIVERT_FLAG_RECV_ONLY);

	if (h != INVALID_HANDLE_VALUE)
		return h;
	if (GetLastError() == ERROR_INVALID_PARAMETER &&
	    !WinDivertHelperCompileFilter(filter, WINDIVERT_LAYER_SOCKET, NULL, 0, &err_str, NULL)) {
		fprintf(stderr, "error: invalid filter \"%s\"\n", err_str);
		exit(EXIT_FAILURE);
	}
	if (GetLastError() == ERROR_INVALID_PARAMETER && block)
		fprintf(stderr, "error: the kernel cannot decide this filter at a bind or "
			"connect (endpointId, timestamp, or more than it can run)\n");
	fprintf(stderr, "error: failed to open the WinDivert device (%lu)\n",
		(unsigned long)GetLastError());
	exit(EXIT_FAILURE);
}

static void *stop_on_signal(void *arg)
{
	sigset_t stop;
	int sig;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigwait(&stop, &sig);
	WinDivertShutdown(arg, WINDIVERT_SHUTDOWN_BOTH); /* the receive returns */
	return NULL;
}

int main(int argc, char **argv)
{
	int block = argc > 1 && strcmp(argv[1], "--block") == 0;
	const char *filter = argc > 1 + block ? argv[1 + block] : "true";
	WINDIVERT_ADDRESS addr;
	pthread_t thread;
	sigset_t stop;
	HANDLE handle;

	if (argc > 2 + block)
		usage(argv[0]);
	console = isatty(STDOUT_FILENO);
	handle = open_socket_layer(filter, block);
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	if (pthread_create(&thread, NULL, stop_on_signal, handle)) {
		fprintf(stderr, "error: failed to create thread\n");
		return EXIT_FAILURE;
	}
	for (;;) {
		if (WinDivertRecv(handle, NULL, 0, NULL, &addr)) {
			print_operation(&addr);
			continue;
		}
		if (GetLastError() == ERROR_NO_DATA)
			break;
		fprintf(stderr, "failed to read packet (%lu)\n", (unsigned long)GetLastError());
	}
	pthread_join(thread, NULL);
	WinDivertClose(handle);
	return EXIT_SUCCESS;
}
