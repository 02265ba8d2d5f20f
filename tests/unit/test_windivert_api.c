/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_windivert_api.c - WinDivert's semantics through libwindivert, live, in
 * a private network namespace (root; skipped otherwise): a received packet is
 * taken out of the stack until it is sent; sent unchanged or modified it goes
 * on; priorities; the flags; parameters; shutdown; loopback taken once;
 * impostors; inbound sends on an interface; checksum flags; threads sharing a
 * handle; the REFLECT layer; bad arguments.
 * Traffic is UDP to 127.0.0.1 (a veth pair for the inbound send), one port
 * per case.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "check.h"
#include "ipredir.h"
#include "live.h"
#include "windivert.h"

#define PORT 7300
#define MTU 65575

static uint8_t pkt[MTU];

static HANDLE open_port(uint16_t port, INT16 priority, UINT64 flags)
{
	char filter[64];
	HANDLE h;

	snprintf(filter, sizeof(filter), "udp.DstPort == %u", port);
	h = WinDivertOpen(filter, WINDIVERT_LAYER_NETWORK, priority, flags);
	if (h == INVALID_HANDLE_VALUE)
		fprintf(stderr, "  WinDivertOpen: error %u\n", (unsigned)GetLastError());
	return h;
}

static int recv_one(HANDLE h, UINT *len, WINDIVERT_ADDRESS *a)
{
	return WinDivertRecv(h, pkt, sizeof(pkt), len, a);
}

/* A received packet never sent does not arrive; the same sent back does. */
static void test_recv_takes_and_send_gives_back(void)
{
	HANDLE h = open_port(PORT, 0, 0);
	int rx = udp_receiver(PORT);
	WINDIVERT_ADDRESS a;
	UINT len = 0;

	CHECK(h != INVALID_HANDLE_VALUE && rx >= 0);
	CHECK(WinDivertSetParam(h, WINDIVERT_PARAM_QUEUE_TIME, 100));
	CHECK(udp_send(PORT) == 0 && recv_one(h, &len, &a) && len == 35);
	CHECK(a.Outbound && a.Loopback && !a.Impostor && !a.Sniffed && !a.IPv6);
	CHECK(a.Layer == WINDIVERT_LAYER_NETWORK && a.Event == WINDIVERT_EVENT_NETWORK_PACKET);
	CHECK(!arrives_within(rx, 400)); /* taken, and dropped after QUEUE_TIME */
	CHECK(udp_send(PORT) == 0 && recv_one(h, &len, &a));
	CHECK(WinDivertSend(h, pkt, len, NULL, &a) && arrived(rx));
	CHECK(WinDivertClose(h));
	close(rx);
}

/* A modified packet goes on with its new bytes and the checksums filled in. */
static void test_send_modified(void)
{
	HANDLE h = open_port(PORT + 1, 0, 0);
	int rx = udp_receiver(PORT + 1);
	char got[16] = { 0 };
	WINDIVERT_ADDRESS a;
	UINT len = 0;

	CHECK(h != INVALID_HANDLE_VALUE && rx >= 0);
	CHECK(udp_send(PORT + 1) == 0 && recv_one(h, &len, &a) && len == 35);
	memcpy(pkt + 28, "HOSTILE", 7);
	a.UDPChecksum = 0; /* the library fills it in */
	CHECK(WinDivertSend(h, pkt, len, NULL, &a));
	for (int i = 0; i < 100 && recv(rx, got, sizeof(got), 0) != 7; i++)
		usleep(10000);
	CHECK(!memcmp(got, "HOSTILE", 7));
	CHECK(WinDivertClose(h));
	close(rx);
}

/* A checksum the address vouches for is sent as it is: a wrong one is dropped. */
static void test_checksum_flags_honoured(void)
{
	HANDLE h = open_port(PORT + 2, 0, 0);
	int rx = udp_receiver(PORT + 2);
	WINDIVERT_ADDRESS a;
	UINT len = 0;

	CHECK(h != INVALID_HANDLE_VALUE && rx >= 0);
	CHECK(udp_send(PORT + 2) == 0 && recv_one(h, &len, &a));
	pkt[26] ^= 0x5a; /* a wrong UDP checksum, vouched for */
	a.UDPChecksum = 1;
	a.IPChecksum = 1;
	CHECK(WinDivertSend(h, pkt, len, NULL, &a) && !arrives_within(rx, 300));
	CHECK(udp_send(PORT + 2) == 0 && recv_one(h, &len, &a));
	pkt[26] ^= 0x5a;
	a.UDPChecksum = 0; /* not vouched for: filled in */
	CHECK(WinDivertSend(h, pkt, len, NULL, &a) && arrived(rx));
	CHECK(WinDivertClose(h));
	close(rx);
}

struct waiter {
	HANDLE h;
	int got;          /* 1 once its receive returned a packet */
	DWORD error;      /* its GetLastError() if it failed */
	WINDIVERT_ADDRESS a;
	UINT len;
	uint8_t buf[MTU];
};

static void *wait_packet(void *arg)
{
	struct waiter *w = arg;

	if (WinDivertRecv(w->h, w->buf, sizeof(w->buf), &w->len, &w->a))
		__atomic_store_n(&w->got, 1, __ATOMIC_RELEASE);
	else
		w->error = GetLastError();
	return NULL;
}

static int waiter_got(struct waiter *w, int ms)
{
	for (int i = 0; i < ms / 10 && !__atomic_load_n(&w->got, __ATOMIC_ACQUIRE); i++)
		usleep(10000);
	return __atomic_load_n(&w->got, __ATOMIC_ACQUIRE);
}

/* Higher priority first; what it sends is seen next by the lower one only. */
static void test_priorities(void)
{
	static struct waiter low;
	HANDLE high = open_port(PORT + 3, 10, 0);
	int rx = udp_receiver(PORT + 3);
	WINDIVERT_ADDRESS a;
	pthread_t t;
	UINT len = 0;

	low.h = open_port(PORT + 3, 0, 0);
	CHECK(high != INVALID_HANDLE_VALUE && low.h != INVALID_HANDLE_VALUE && rx >= 0);
	CHECK(pthread_create(&t, NULL, wait_packet, &low) == 0);
	CHECK(udp_send(PORT + 3) == 0 && recv_one(high, &len, &a));
	CHECK(!waiter_got(&low, 200)); /* held by the higher handle */
	CHECK(WinDivertSend(high, pkt, len, NULL, &a));
	CHECK(waiter_got(&low, 2000) && !low.a.Impostor);
	CHECK(WinDivertSend(low.h, low.buf, low.len, NULL, &low.a) && arrived(rx));
	pthread_join(t, NULL);
	CHECK(WinDivertClose(high) && WinDivertClose(low.h));
	close(rx);
}

/* A new packet a handle injects: an impostor to lower priorities, unseen by itself. */
static void test_impostor(void)
{
	static struct waiter low;
	HANDLE high = open_port(PORT + 4, 10, 0);
	int rx = udp_receiver(PORT + 4);
	WINDIVERT_ADDRESS a, fresh;
	pthread_t t;
	UINT len = 0;

	low.h = open_port(PORT + 4, 0, 0);
	CHECK(high != INVALID_HANDLE_VALUE && low.h != INVALID_HANDLE_VALUE && rx >= 0);
	CHECK(udp_send(PORT + 4) == 0 && recv_one(high, &len, &a));
	memset(&fresh, 0, sizeof(fresh)); /* no token: a new packet */
	fresh.Outbound = 1; /* checksums not vouched for: the loopback one is partial */
	CHECK(pthread_create(&t, NULL, wait_packet, &low) == 0);
	CHECK(WinDivertSend(high, pkt, len, NULL, &fresh));
	CHECK(waiter_got(&low, 2000) && low.a.Impostor);
	low.a.Impostor = 0; /* sent on as it came (an impostor's TTL would drop by one) */
	CHECK(WinDivertSend(low.h, low.buf, low.len, NULL, &low.a) && arrived(rx));
	pthread_join(t, NULL);
	CHECK(WinDivertClose(high) && WinDivertClose(low.h));
	close(rx);
}

/* SNIFF: a copy, the packet goes on; DROP: it never arrives and receiving is refused. */
static void test_sniff_and_drop(void)
{
	HANDLE sniff = open_port(PORT + 5, 0, WINDIVERT_FLAG_SNIFF);
	HANDLE drop = open_port(PORT + 6, 0, WINDIVERT_FLAG_DROP);
	int rx5 = udp_receiver(PORT + 5), rx6 = udp_receiver(PORT + 6);
	WINDIVERT_ADDRESS a;
	UINT len = 0;

	CHECK(sniff != INVALID_HANDLE_VALUE && drop != INVALID_HANDLE_VALUE);
	CHECK(udp_send(PORT + 5) == 0 && recv_one(sniff, &len, &a) && a.Sniffed && arrived(rx5));
	CHECK(udp_send(PORT + 6) == 0 && !arrives_within(rx6, 300));
	CHECK(!recv_one(drop, &len, &a) && GetLastError() == ERROR_INVALID_PARAMETER);
	CHECK(WinDivertClose(sniff) && WinDivertClose(drop));
	close(rx5);
	close(rx6);
}

/* RECV_ONLY refuses sends, SEND_ONLY refuses receives but sends. */
static void test_recv_only_send_only(void)
{
	HANDLE ro = open_port(PORT + 7, 0, WINDIVERT_FLAG_RECV_ONLY);
	HANDLE so = open_port(PORT + 8, 0, WINDIVERT_FLAG_SEND_ONLY | WINDIVERT_FLAG_NO_INSTALL);
	int rx = udp_receiver(PORT + 7);
	WINDIVERT_ADDRESS a;
	UINT len = 0;

	CHECK(ro != INVALID_HANDLE_VALUE && so != INVALID_HANDLE_VALUE && rx >= 0);
	CHECK(udp_send(PORT + 7) == 0 && recv_one(ro, &len, &a));
	CHECK(!WinDivertSend(ro, pkt, len, NULL, &a) && GetLastError() == ERROR_INVALID_PARAMETER);
	CHECK(!recv_one(so, &len, &a) && GetLastError() == ERROR_INVALID_PARAMETER);
	memset(a.Reserved3, 0, sizeof(a.Reserved3));
	CHECK(WinDivertSend(so, pkt, len, NULL, &a) && arrived(rx));
	CHECK(WinDivertClose(ro) && WinDivertClose(so));
	close(rx);
}

/* The documented defaults and ranges; the version is 2.2. */
static void test_params(void)
{
	HANDLE h = open_port(PORT + 9, 0, 0);
	UINT64 v = 0;

	CHECK(h != INVALID_HANDLE_VALUE);
	CHECK(WinDivertGetParam(h, WINDIVERT_PARAM_QUEUE_LENGTH, &v) && v == 4096);
	CHECK(WinDivertGetParam(h, WINDIVERT_PARAM_QUEUE_TIME, &v) && v == 2000);
	CHECK(WinDivertGetParam(h, WINDIVERT_PARAM_QUEUE_SIZE, &v) && v == 4194304);
	CHECK(WinDivertGetParam(h, WINDIVERT_PARAM_VERSION_MAJOR, &v) && v == 2);
	CHECK(WinDivertGetParam(h, WINDIVERT_PARAM_VERSION_MINOR, &v) && v == 2);
	CHECK(!WinDivertSetParam(h, WINDIVERT_PARAM_QUEUE_LENGTH, 31) &&
	      GetLastError() == ERROR_INVALID_PARAMETER);
	CHECK(!WinDivertSetParam(h, WINDIVERT_PARAM_QUEUE_TIME, 16001));
	CHECK(!WinDivertSetParam(h, WINDIVERT_PARAM_QUEUE_SIZE, 65534));
	CHECK(!WinDivertSetParam(h, WINDIVERT_PARAM_VERSION_MAJOR, 3));
	CHECK(!WinDivertGetParam(h, (WINDIVERT_PARAM)5, &v));
	CHECK(WinDivertSetParam(h, WINDIVERT_PARAM_QUEUE_LENGTH, 16384));
	CHECK(WinDivertSetParam(h, WINDIVERT_PARAM_QUEUE_SIZE, 33554432));
	CHECK(WinDivertGetParam(h, WINDIVERT_PARAM_QUEUE_LENGTH, &v) && v == 16384);
	CHECK(WinDivertClose(h));
}

/* Shutdown: what waits is still received, then ERROR_NO_DATA; a blocked receive wakes. */
static void test_shutdown(void)
{
	static struct waiter blocked;
	HANDLE h = open_port(PORT + 10, 0, 0);
	WINDIVERT_ADDRESS a;
	pthread_t t;
	UINT len = 0;

	blocked.h = open_port(PORT + 11, 0, 0);
	CHECK(h != INVALID_HANDLE_VALUE && blocked.h != INVALID_HANDLE_VALUE);
	CHECK(udp_send(PORT + 10) == 0);
	usleep(50 * 1000);
	CHECK(WinDivertShutdown(h, WINDIVERT_SHUTDOWN_BOTH));
	CHECK(recv_one(h, &len, &a));
	CHECK(!recv_one(h, &len, &a) && GetLastError() == ERROR_NO_DATA);
	CHECK(!WinDivertSend(h, pkt, len, NULL, &a) && GetLastError() == ERROR_NO_DATA);
	CHECK(!WinDivertShutdown(h, (WINDIVERT_SHUTDOWN)4));
	CHECK(pthread_create(&t, NULL, wait_packet, &blocked) == 0);
	usleep(100 * 1000);
	CHECK(WinDivertShutdown(blocked.h, WINDIVERT_SHUTDOWN_RECV));
	pthread_join(t, NULL);
	CHECK(!blocked.got && blocked.error == ERROR_NO_DATA);
	CHECK(WinDivertClose(h) && WinDivertClose(blocked.h));
}

/* A packet to this host itself is taken once, outbound, marked Loopback. */
static void test_loopback_once(void)
{
	HANDLE h = open_port(PORT + 12, 0, WINDIVERT_FLAG_SNIFF);
	int rx = udp_receiver(PORT + 12);
	WINDIVERT_ADDRESS a;
	UINT len = 0;

	CHECK(h != INVALID_HANDLE_VALUE && rx >= 0);
	CHECK(udp_send(PORT + 12) == 0 && recv_one(h, &len, &a) && a.Loopback && a.Outbound);
	CHECK(arrived(rx));
	CHECK(WinDivertShutdown(h, WINDIVERT_SHUTDOWN_RECV));
	CHECK(!recv_one(h, &len, &a) && GetLastError() == ERROR_NO_DATA); /* no second copy */
	CHECK(WinDivertClose(h));
	close(rx);
}

/* Outbound = 0 with IfIdx: the packet arrives inbound on that interface. */
static void test_inbound_send_on_interface(void)
{
	HANDLE h = WinDivertOpen("false", WINDIVERT_LAYER_NETWORK, 0, 0);
	int rx = veth_receiver(PORT + 13), wv0 = (int)if_nametoindex("wv0");
	const uint8_t head[28] = { 0x45, 0, 0, 35, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 99, 0, 2,
				   10, 99, 0, 1, 0x30, 0x39, (PORT + 13) >> 8, (PORT + 13) & 0xff,
				   0, 15, 0, 0 };
	WINDIVERT_ADDRESS a = { .Outbound = 0 };

	CHECK(h != INVALID_HANDLE_VALUE && rx >= 0 && wv0);
	memcpy(pkt, head, sizeof(head));
	memcpy(pkt + 28, "hostile", 7);
	a.Network.IfIdx = (UINT32)wv0;
	CHECK(WinDivertSend(h, pkt, 35, NULL, &a)); /* checksums unvouched: filled in */
	CHECK(arrival_ifindex(rx) == wv0);
	CHECK(WinDivertClose(h));
	close(rx);
}

/* ---- threads sharing a handle ---- */

#define FLOWS 32
#define PER_FLOW 8
#define BATCH 8

/* A passthru loop on a shared handle, as WinDivert's sample runs one per thread. */
struct forwarder {
	HANDLE h;
	pthread_t thread;
	unsigned int packets;
	UINT32 pid; /* the process the last packet's address names */
	uint8_t buf[BATCH * 1600];
};

static void *forward(void *arg)
{
	struct forwarder *f = arg;
	WINDIVERT_ADDRESS a[BATCH];

	for (;;) {
		UINT alen = sizeof(a), len = 0;

		if (!WinDivertRecvEx(f->h, f->buf, sizeof(f->buf), &len, 0, a, &alen, NULL)) {
			if (GetLastError() == ERROR_NO_DATA)
				return NULL;
			continue;
		}
		f->packets += alen / (UINT)sizeof(a[0]);
		f->pid = a[0].Flow.ProcessId;
		WinDivertSendEx(f->h, f->buf, len, NULL, 0, a, alen, NULL);
	}
}

/* FLOWS flows (source ports) of PER_FLOW datagrams each to port, numbered; 0 or -1. */
static int send_flows(uint16_t port)
{
	struct sockaddr_in to = loopback_port(port);
	int err = 0;

	for (uint32_t f = 0; f < FLOWS && !err; f++) {
		int tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		err = tx < 0 || connect(tx, (struct sockaddr *)&to, sizeof(to)) < 0;
		for (uint32_t i = 0; i < PER_FLOW && !err; i++) {
			uint32_t id = f * PER_FLOW + i;

			err = send(tx, &id, sizeof(id), 0) != sizeof(id);
		}
		if (tx >= 0)
			close(tx);
	}
	return err ? -1 : 0;
}

/* Whether every numbered datagram reaches rx exactly once. */
static int each_arrives_once(int rx)
{
	uint8_t seen[FLOWS * PER_FLOW] = { 0 };
	unsigned int got = 0;
	uint32_t id;

	for (int idle = 0; got < FLOWS * PER_FLOW && idle < 300;) {
		if (recv(rx, &id, sizeof(id), 0) != sizeof(id)) {
			usleep(10000), idle++;
			continue;
		}
		if (id >= FLOWS * PER_FLOW || seen[id]++)
			return 0;
		got++;
	}
	return got == FLOWS * PER_FLOW && !arrives_within(rx, 100);
}

/* Whether the namespace's one redirector has a queue per CPU (at most 8, as
 * libwindivert opens them), and each took packets. */
static int every_queue_used(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct ipr_redirector r[4];
	struct ipr_queue_counters c;
	int n = ipr_list_redirectors(r, 4);

	if (n != 1 || r[0].queues != (unsigned int)(cpus > 8 ? 8 : cpus))
		return 0;
	for (unsigned int q = r[0].queue; q < r[0].queue + r[0].queues; q++)
		if (ipr_queue_counters(q, &c) || !c.last_id)
			return 0;
	return 1;
}

/* Threads forwarding through one handle: each packet taken once and sent on; with
 * one thread as with several, every queue of the handle is served. */
static void forward_with_threads(uint16_t port, unsigned int threads)
{
	static struct forwarder f[2];
	HANDLE h = open_port(port, 0, 0);
	int rx = udp_receiver(port);
	unsigned int total = 0;

	CHECK(h != INVALID_HANDLE_VALUE && rx >= 0);
	for (unsigned int i = 0; i < threads; i++) {
		f[i] = (struct forwarder){ .h = h };
		CHECK(pthread_create(&f[i].thread, NULL, forward, &f[i]) == 0);
	}
	CHECK(send_flows(port) == 0 && each_arrives_once(rx));
	CHECK(every_queue_used());
	CHECK(WinDivertShutdown(h, WINDIVERT_SHUTDOWN_RECV));
	for (unsigned int i = 0; i < threads; i++) {
		pthread_join(f[i].thread, NULL);
		total += f[i].packets;
	}
	CHECK(total == FLOWS * PER_FLOW);
	CHECK(WinDivertClose(h));
	close(rx);
}

static void test_one_thread_serves_every_queue(void)
{
	forward_with_threads(PORT + 16, 1);
}

static void test_threads_share_a_handle(void)
{
	forward_with_threads(PORT + 17, 2);
}

/* REFLECT: handles open before it come as opened, later ones open and close. */
/* processId at the NETWORK layer: this process's datagram is taken and its address
 * names the process; a child's goes on untouched. */
static void test_process_id(void)
{
	static struct forwarder f;
	uint16_t port = PORT + 20;
	int rx = udp_receiver(port), status = -1;
	char filter[80];
	pid_t child;

	snprintf(filter, sizeof(filter), "udp.DstPort == %u and processId == %d", port,
		 (int)getpid());
	f = (struct forwarder){ .h = WinDivertOpen(filter, WINDIVERT_LAYER_NETWORK, 0, 0) };
	CHECK(f.h != INVALID_HANDLE_VALUE && rx >= 0);
	CHECK(pthread_create(&f.thread, NULL, forward, &f) == 0);
	child = fork();
	if (child == 0)
		_exit(udp_send(port) ? 1 : 0);
	CHECK(child > 0 && waitpid(child, &status, 0) == child && status == 0);
	CHECK(arrived(rx) && f.packets == 0); /* the child's */
	CHECK(udp_send(port) == 0 && arrived(rx)); /* ours, taken and sent back */
	CHECK(WinDivertShutdown(f.h, WINDIVERT_SHUTDOWN_BOTH));
	pthread_join(f.thread, NULL);
	CHECK(f.packets == 1 && f.pid == (UINT32)getpid());
	CHECK(WinDivertClose(f.h));
	close(rx);
}

static void test_reflect(void)
{
	HANDLE before = open_port(PORT + 14, 7, WINDIVERT_FLAG_SNIFF), later, x;
	char text[256];
	WINDIVERT_ADDRESS a;
	UINT len = 0;

	x = WinDivertOpen("processId == 0 or true", WINDIVERT_LAYER_REFLECT, 0,
			  WINDIVERT_FLAG_SNIFF | WINDIVERT_FLAG_RECV_ONLY);
	CHECK(before != INVALID_HANDLE_VALUE && x != INVALID_HANDLE_VALUE);
	CHECK(recv_one(x, &len, &a) && a.Event == WINDIVERT_EVENT_REFLECT_OPEN);
	CHECK(a.Layer == WINDIVERT_LAYER_REFLECT && a.Reflect.ProcessId == (UINT32)getpid());
	CHECK(a.Reflect.Layer == WINDIVERT_LAYER_NETWORK && a.Reflect.Priority == 7);
	CHECK(a.Reflect.Flags == WINDIVERT_FLAG_SNIFF);
	CHECK(WinDivertHelperFormatFilter((char *)pkt, WINDIVERT_LAYER_NETWORK, text,
					  sizeof(text)) && strstr(text, "7314"));
	/* a long filter comes whole: its last test is in the event's filter object */
	later = WinDivertOpen("udp.DstPort == 7315 and ip.TTL > 1 and udp.PayloadLength > 1 and "
			      "ip.Id != 12345", WINDIVERT_LAYER_NETWORK, -3, 0);
	CHECK(recv_one(x, &len, &a) && a.Event == WINDIVERT_EVENT_REFLECT_OPEN &&
	      a.Reflect.Priority == -3);
	CHECK(WinDivertHelperFormatFilter((char *)pkt, WINDIVERT_LAYER_NETWORK, text,
					  sizeof(text)) && strstr(text, "ip.Id != 0x3039"));
	CHECK(WinDivertClose(later));
	CHECK(recv_one(x, &len, &a) && a.Event == WINDIVERT_EVENT_REFLECT_CLOSE &&
	      a.Reflect.Priority == -3);
	/* an event handle too: its layer, priority and filter */
	later = WinDivertOpen("tcp and remotePort == 7316", WINDIVERT_LAYER_FLOW, 5,
			      WINDIVERT_FLAG_SNIFF | WINDIVERT_FLAG_RECV_ONLY);
	CHECK(recv_one(x, &len, &a) && a.Event == WINDIVERT_EVENT_REFLECT_OPEN &&
	      a.Reflect.Layer == WINDIVERT_LAYER_FLOW && a.Reflect.Priority == 5);
	CHECK(WinDivertHelperFormatFilter((char *)pkt, WINDIVERT_LAYER_FLOW, text, sizeof(text)) &&
	      strstr(text, "7316"));
	CHECK(WinDivertClose(later));
	CHECK(recv_one(x, &len, &a) && a.Event == WINDIVERT_EVENT_REFLECT_CLOSE &&
	      a.Reflect.Layer == WINDIVERT_LAYER_FLOW);
	CHECK(WinDivertOpen("true", WINDIVERT_LAYER_REFLECT, 0, 0) == INVALID_HANDLE_VALUE &&
	      GetLastError() == ERROR_INVALID_PARAMETER); /* SNIFF and RECV_ONLY are required */
	CHECK(WinDivertShutdown(x, WINDIVERT_SHUTDOWN_RECV));
	CHECK(!recv_one(x, &len, &a) && GetLastError() == ERROR_NO_DATA);
	CHECK(WinDivertClose(x) && WinDivertClose(before));
}

/* Bad arguments fail with the documented codes. */
static void test_bad_arguments(void)
{
	WINDIVERT_ADDRESS a = { 0 };
	UINT64 v;
	HANDLE h;

	CHECK(WinDivertOpen("tcp.NoSuchField", WINDIVERT_LAYER_NETWORK, 0, 0) ==
		      INVALID_HANDLE_VALUE && GetLastError() == ERROR_INVALID_PARAMETER);
	CHECK(WinDivertOpen("true", (WINDIVERT_LAYER)9, 0, 0) == INVALID_HANDLE_VALUE &&
	      GetLastError() == ERROR_INVALID_PARAMETER);
	CHECK(WinDivertOpen("true", WINDIVERT_LAYER_NETWORK, 30001, 0) == INVALID_HANDLE_VALUE);
	CHECK(WinDivertOpen("true", WINDIVERT_LAYER_NETWORK, 0,
			    WINDIVERT_FLAG_SNIFF | WINDIVERT_FLAG_DROP) == INVALID_HANDLE_VALUE);
	CHECK(WinDivertOpen("true", WINDIVERT_LAYER_NETWORK, 0, 0x1000) == INVALID_HANDLE_VALUE);
	CHECK(!WinDivertRecv(INVALID_HANDLE_VALUE, pkt, sizeof(pkt), NULL, &a) &&
	      GetLastError() == ERROR_INVALID_HANDLE);
	CHECK(!WinDivertGetParam(NULL, WINDIVERT_PARAM_QUEUE_LENGTH, &v) &&
	      GetLastError() == ERROR_INVALID_HANDLE);
	h = WinDivertOpen("outbound and udp.DstPort == 1", WINDIVERT_LAYER_NETWORK, 0,
			  WINDIVERT_FLAG_FRAGMENTS); /* fragments are only about inbound */
	CHECK(h != INVALID_HANDLE_VALUE && WinDivertClose(h));
	CHECK(!WinDivertClose(h) && GetLastError() == ERROR_INVALID_HANDLE);
}

int main(void)
{
	static const struct check_case cases[] = {
		CHECK_CASE(test_recv_takes_and_send_gives_back),
		CHECK_CASE(test_send_modified),
		CHECK_CASE(test_checksum_flags_honoured),
		CHECK_CASE(test_priorities),
		CHECK_CASE(test_impostor),
		CHECK_CASE(test_sniff_and_drop),
		CHECK_CASE(test_recv_only_send_only),
		CHECK_CASE(test_params),
		CHECK_CASE(test_shutdown),
		CHECK_CASE(test_loopback_once),
		CHECK_CASE(test_inbound_send_on_interface),
		CHECK_CASE(test_one_thread_serves_every_queue),
		CHECK_CASE(test_threads_share_a_handle),
		CHECK_CASE(test_process_id),
		CHECK_CASE(test_reflect),
		CHECK_CASE(test_bad_arguments),
	};
	const unsigned int n = sizeof(cases) / sizeof(cases[0]);

	if (private_netns() < 0) {
		for (unsigned int i = 0; i < n; i++)
			printf("SKIP: windivert_api.%s (needs root and a private network namespace)\n",
			       cases[i].name);
		return 0;
	}
	return check_run("windivert_api", cases, n);
}
