/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * windivertctl - list, watch or end the WinDivert handles open on this host.
 * It reads the REFLECT layer, whose events are handles being opened and
 * closed, each with the process, layer, flags, priority and filter of the
 * handle:
 *   list   print the handles open now (events queued at open), then exit;
 *   watch  print handles as they are opened and closed, until killed;
 *   kill   end the processes that hold the handles open now (SIGKILL, as
 *          TerminateProcess does on Windows).
 * The optional filter (REFLECT layer fields, e.g. "layer == NETWORK" or
 * "processId == 1234") chooses the handles.
 *
 * Shows: the REFLECT layer, WINDIVERT_FLAG_SNIFF | WINDIVERT_FLAG_RECV_ONLY,
 * WinDivertShutdown to read what is queued and no more, and
 * WinDivertHelperFormatFilter on the filter object an event carries.
 *
 * Usage: windivertctl (list|watch|kill) [filter]
 *        windivertctl uninstall
 * "uninstall" has no meaning on Linux and fails: there is no WinDivert driver
 * or service; libwindivert uses the kernel's own netfilter, and what a handle
 * installs goes away when the handle is closed or its process ends.
 *
 * On Linux: run it as root in the network namespace of the handles, e.g.
 *   ip netns exec NS build/examples/windivert/windivertctl list
 * It needs the REFLECT layer of libwindivert; where WinDivertOpen() refuses
 * that layer (ERROR_NOT_SUPPORTED), it says so and exits with status 1.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <windivert.h>

#define MAX_PACKET 0xFFFF
#define MAX_FILTER_LEN 30000

enum mode { LIST, WATCH, KILL, UNINSTALL };

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

/* Now in the unit of the REFLECT timestamps: 100 ns of CLOCK_MONOTONIC. */
static INT64 now_ticks(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (INT64)ts.tv_sec * 10000000 + ts.tv_nsec / 100;
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s (list|watch|kill) [filter]\n", prog);
	fprintf(stderr, "       %s uninstall\n", prog);
	exit(EXIT_FAILURE);
}

static enum mode mode_of(int argc, char **argv)
{
	static const char *const names[] = { "list", "watch", "kill", "uninstall" };

	if (argc != 2 && argc != 3)
		usage(argv[0]);
	for (enum mode m = LIST; m <= UNINSTALL; m++)
		if (!strcmp(argv[1], names[m]) && (m != UNINSTALL || argc == 2))
			return m;
	usage(argv[0]);
	return LIST;
}

/* ---- the handle ---- */

static HANDLE open_reflect(const char *filter, enum mode mode)
{
	UINT64 flags = WINDIVERT_FLAG_SNIFF | WINDIVERT_FLAG_RECV_ONLY |
		       (mode == WATCH ? 0 : WINDIVERT_FLAG_NO_INSTALL);
	HANDLE handle = WinDivertOpen(filter, WINDIVERT_LAYER_REFLECT, -333 /* any */, flags);
	const char *err_str = NULL;

	if (handle != INVALID_HANDLE_VALUE)
		return handle;
	if (mode != WATCH && GetLastError() == ERROR_SERVICE_DOES_NOT_EXIST)
		exit(0); /* no driver running, so no handle open */
	if (GetLastError() == ERROR_INVALID_PARAMETER &&
	    !WinDivertHelperCompileFilter(filter, WINDIVERT_LAYER_REFLECT, NULL, 0, &err_str,
					  NULL)) {
		fprintf(stderr, "error: invalid filter \"%s\"\n", err_str);
		exit(EXIT_FAILURE);
	}
	if (GetLastError() == ERROR_NOT_SUPPORTED) {
		fprintf(stderr, "error: failed to open the WinDivert device (%u): the REFLECT "
			"layer is not supported by this libwindivert\n", GetLastError());
		exit(EXIT_FAILURE);
	}
	fprintf(stderr, "error: failed to open the WinDivert device (%u)\n", GetLastError());
	exit(EXIT_FAILURE);
}

/* list and kill read what is queued now; watch goes on. */
static void prepare(HANDLE handle, enum mode mode)
{
	if (mode != WATCH && !WinDivertShutdown(handle, WINDIVERT_SHUTDOWN_BOTH)) {
		fprintf(stderr, "error: failed to shutdown WinDivert handle (%u)\n",
			GetLastError());
		exit(EXIT_FAILURE);
	}
	if (!WinDivertSetParam(handle, WINDIVERT_PARAM_QUEUE_LENGTH,
			       WINDIVERT_PARAM_QUEUE_LENGTH_MAX) ||
	    !WinDivertSetParam(handle, WINDIVERT_PARAM_QUEUE_SIZE,
			       WINDIVERT_PARAM_QUEUE_SIZE_MAX) ||
	    !WinDivertSetParam(handle, WINDIVERT_PARAM_QUEUE_TIME,
			       WINDIVERT_PARAM_QUEUE_TIME_MAX)) {
		fprintf(stderr, "error: failed to set WinDivert handle params (%u)\n",
			GetLastError());
		exit(EXIT_FAILURE);
	}
}

/* ---- one event ---- */

/* OPEN, CLOSE or KILL in its colour; 0 if the event is not shown in this mode. */
static int print_event(const WINDIVERT_ADDRESS *addr, enum mode mode)
{
	int ending = mode == KILL;

	switch (addr->Event) {
	case WINDIVERT_EVENT_REFLECT_OPEN:
		set_color(ending ? RED : GREEN);
		fputs(ending ? "KILL" : "OPEN", stdout);
		return 1;
	case WINDIVERT_EVENT_REFLECT_CLOSE:
		if (mode != WATCH)
			return 0;
		set_color(RED);
		fputs("CLOSE", stdout);
		return 1;
	default:
		fputs("???", stdout);
		return 1;
	}
}

/* The program of pid, as GetProcessImageFileName gives it on Windows. */
static void print_exe(UINT32 pid)
{
	char link[64], path[PATH_MAX];
	ssize_t len;

	snprintf(link, sizeof(link), "/proc/%u/exe", pid);
	len = readlink(link, path, sizeof(path) - 1);
	if (len > 0)
		path[len] = '\0';
	label("exe");
	fputs(len > 0 ? path : "???", stdout);
}

static void print_layer(WINDIVERT_LAYER layer)
{
	static const char *const names[] = { "NETWORK", "NETWORK_FORWARD", "FLOW", "SOCKET",
					     "REFLECT" };

	label("layer");
	fputs((unsigned int)layer < sizeof(names) / sizeof(names[0]) ? names[layer] : "???",
	      stdout);
}

static void print_flags(UINT64 flags)
{
	static const struct {
		UINT64 flag;
		const char *name;
	} names[] = {
		{ WINDIVERT_FLAG_SNIFF, "SNIFF" },         { WINDIVERT_FLAG_DROP, "DROP" },
		{ WINDIVERT_FLAG_RECV_ONLY, "RECV_ONLY" }, { WINDIVERT_FLAG_SEND_ONLY, "SEND_ONLY" },
		{ WINDIVERT_FLAG_NO_INSTALL, "NO_INSTALL" }, { WINDIVERT_FLAG_FRAGMENTS, "FRAGMENTS" },
	};
	const char *sep = "";

	label("flags");
	if (!flags)
		putchar('0');
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (flags & names[i].flag) {
			printf("%s%s", sep, names[i].name);
			sep = "|";
		}
}

/* The filter of the handle: the event's packet is its object form. */
static void print_filter(const char *object, WINDIVERT_LAYER layer)
{
	static char filter_str[MAX_FILTER_LEN];

	label("filter");
	if (WinDivertHelperFormatFilter(object, layer, filter_str, sizeof(filter_str)))
		printf("\"%s\"", filter_str);
	else
		printf("\"%s\"", object);
}

static void show(const char *object, const WINDIVERT_ADDRESS *addr, enum mode mode, INT64 start)
{
	const WINDIVERT_DATA_REFLECT *r = &addr->Reflect;

	if (!print_event(addr, mode))
		return;
	label("time");
	printf("%.3fs", (double)(r->Timestamp - start) / 1e7);
	label("pid");
	printf("%u", r->ProcessId);
	print_exe(r->ProcessId);
	if (mode == KILL && r->ProcessId != (UINT32)getpid())
		kill((pid_t)r->ProcessId, SIGKILL);
	print_layer(r->Layer);
	print_flags(r->Flags);
	label("priority");
	printf("%d", r->Priority);
	print_filter(object, r->Layer);
	set_color(WHITE);
	putchar('\n');
}

int main(int argc, char **argv)
{
	static char packet[MAX_PACKET + 1];
	enum mode mode = mode_of(argc, argv);
	const char *filter = argc == 3 ? argv[2] : "true";
	WINDIVERT_ADDRESS addr;
	UINT packet_len;
	HANDLE handle;
	INT64 start = now_ticks();

	if (mode == UNINSTALL) {
		fprintf(stderr, "error: uninstall: there is no WinDivert driver on Linux; what a "
			"handle installs goes when it is closed (use \"%s kill\" to end the "
			"processes that hold handles)\n", argv[0]);
		return EXIT_FAILURE;
	}
	console = isatty(STDOUT_FILENO);
	setvbuf(stdout, NULL, _IOLBF, 0); /* each line as it comes, into a pipe or file too */
	handle = open_reflect(filter, mode);
	prepare(handle, mode);
	for (;;) {
		if (!WinDivertRecv(handle, packet, MAX_PACKET, &packet_len, &addr)) {
			if (mode != WATCH && GetLastError() == ERROR_NO_DATA)
				break;
			fprintf(stderr, "failed to receive event (%u)\n", GetLastError());
			continue;
		}
		packet[packet_len] = '\0';
		show(packet, &addr, mode, start);
	}
	if (!WinDivertClose(handle)) {
		fprintf(stderr, "error: failed to close WinDivert handle (%u)\n", GetLastError());
		return EXIT_FAILURE;
	}
	return 0;
}
