/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * passthru - take every packet that matches a filter and send it straight
 * back, in batches, from several threads: what diverting alone costs, with
 * nothing else done to the packets, for performance tests.
 *
 * Shows: WinDivertOpen, WinDivertRecvEx and WinDivertSendEx with batches,
 * one handle shared by threads, WinDivertShutdown to stop them cleanly.
 *
 * Usage: passthru [filter [num-threads [batch-size [priority]]]]
 *   filter       WinDivert filter of the packets to take (default "true")
 *   num-threads  1 to 64 threads receiving and sending (default 1)
 *   batch-size   1 to 255 packets per call (default 1)
 *   priority     -30000 to 30000 (default 0)
 *
 * On Linux: run it as root, for example in a network namespace of its own:
 *   ip netns exec NS build/examples/windivert/passthru "tcp" 2 32
 * Ctrl-C or SIGTERM stops it: the receives end, what was taken goes on, and
 * it exits with status 0.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <windivert.h>

#define MTU 1500        /* one Ethernet packet */
#define MAX_THREADS 64

struct config {
	HANDLE handle;
	int batch;
};

/* Room for batch packets of Ethernet size, and always for one of the largest
 * (Linux hands over GSO packets of up to 64 KiB). */
static UINT buffer_size(int batch)
{
	return (UINT)batch * MTU + WINDIVERT_MTU_MAX;
}

/* Receive a batch, send it back; until the handle is shut down. */
static void *passthru(void *arg)
{
	const struct config *config = arg;
	UINT packet_len = buffer_size(config->batch), recv_len, addr_len;
	UINT8 *packet = malloc(packet_len);
	WINDIVERT_ADDRESS *addr = calloc((size_t)config->batch, sizeof(*addr));

	if (!packet || !addr) {
		fprintf(stderr, "error: failed to allocate buffer\n");
		exit(EXIT_FAILURE);
	}
	for (;;) {
		addr_len = (UINT)config->batch * sizeof(*addr);
		if (!WinDivertRecvEx(config->handle, packet, packet_len, &recv_len, 0, addr,
				     &addr_len, NULL)) {
			if (GetLastError() == ERROR_NO_DATA)
				break; /* shut down, nothing left */
			fprintf(stderr, "warning: failed to read packet (%u)\n", GetLastError());
			continue;
		}
		if (!WinDivertSendEx(config->handle, packet, recv_len, NULL, 0, addr, addr_len,
				     NULL))
			fprintf(stderr, "warning: failed to reinject packet (%u)\n",
				GetLastError());
	}
	free(packet);
	free(addr);
	return NULL;
}

/* What the signal thread needs. */
struct stopper {
	sigset_t signals;
	HANDLE handle;
};

/* What a console control handler does on Windows: wait in a thread of its own
 * for Ctrl-C or SIGTERM, then stop the receives. */
static void *stop_on_signal(void *arg)
{
	struct stopper *stopper = arg;
	int sig;

	sigwait(&stopper->signals, &sig);
	if (!WinDivertShutdown(stopper->handle, WINDIVERT_SHUTDOWN_RECV))
		fprintf(stderr, "warning: failed to shut the handle down (%u)\n", GetLastError());
	return NULL;
}

/* Hand SIGINT and SIGTERM to that thread (blocked in all the others). */
static void watch_signals(HANDLE handle)
{
	static struct stopper stopper;
	pthread_t thread;

	sigemptyset(&stopper.signals);
	sigaddset(&stopper.signals, SIGINT);
	sigaddset(&stopper.signals, SIGTERM);
	stopper.handle = handle;
	pthread_sigmask(SIG_BLOCK, &stopper.signals, NULL);
	if (pthread_create(&thread, NULL, stop_on_signal, &stopper)) {
		fprintf(stderr, "error: failed to start the signal thread\n");
		exit(EXIT_FAILURE);
	}
	pthread_detach(thread);
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [filter] [num-threads] [batch-size] [priority]\n", prog);
	exit(EXIT_FAILURE);
}

/* atoi() with a range: exits with message if s is out of [min, max]. */
static int number(const char *s, int min, int max, const char *message)
{
	int n = atoi(s);

	if (n < min || n > max) {
		fprintf(stderr, "error: %s\n", message);
		exit(EXIT_FAILURE);
	}
	return n;
}

static HANDLE open_handle(const char *filter, int priority)
{
	HANDLE handle = WinDivertOpen(filter, WINDIVERT_LAYER_NETWORK, (INT16)priority, 0);

	if (handle != INVALID_HANDLE_VALUE)
		return handle;
	if (GetLastError() == ERROR_INVALID_PARAMETER)
		fprintf(stderr, "error: filter syntax error\n");
	else
		fprintf(stderr, "error: failed to open the WinDivert device (%u)\n",
			GetLastError());
	exit(EXIT_FAILURE);
}

int main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : "true";
	int threads = 1, priority = 0;
	pthread_t thread[MAX_THREADS];
	struct config config = { .batch = 1 };

	if (argc > 5)
		usage(argv[0]);
	if (argc > 2)
		threads = number(argv[2], 1, MAX_THREADS, "invalid number of threads");
	if (argc > 3)
		config.batch = number(argv[3], 1, WINDIVERT_BATCH_MAX, "invalid batch size");
	if (argc > 4)
		priority = number(argv[4], WINDIVERT_PRIORITY_LOWEST, WINDIVERT_PRIORITY_HIGHEST,
				  "invalid priority value");
	config.handle = open_handle(filter, priority);
	watch_signals(config.handle);
	for (int i = 1; i < threads; i++)
		if (pthread_create(&thread[i], NULL, passthru, &config)) {
			fprintf(stderr, "error: failed to start passthru thread\n");
			exit(EXIT_FAILURE);
		}
	passthru(&config);
	for (int i = 1; i < threads; i++)
		pthread_join(thread[i], NULL);
	if (!WinDivertClose(config.handle)) {
		fprintf(stderr, "error: failed to close the WinDivert handle (%u)\n",
			GetLastError());
		return EXIT_FAILURE;
	}
	return 0;
}
