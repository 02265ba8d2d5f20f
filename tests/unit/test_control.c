/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_control.c - controlling an open handle: ipr_shutdown() (also from
 * another thread), ipr_set_param()/ipr_get_param(), and the open flags
 * IPR_OPEN_EXPIRE_DROP, IPR_OPEN_SEND_ONLY, IPR_OPEN_NO_LOOPBACK_IN and
 * IPR_OPEN_INJECT_BELOW.
 * Each case opens its own handle for UDP to its own port on 127.0.0.1, in a
 * private network namespace (root; skipped otherwise).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ipredir.h"
#include "live.h"

#define PORT 7100
#define BIG 20000 /* bytes of a datagram beyond any device's usual MTU */
#define SLOTS 16

static void *buf;
static size_t buflen;

static struct ipr_handle *open_udp(uint16_t port, unsigned int layers, unsigned int flags,
				   unsigned int maxlen, unsigned int deadline_ms)
{
	struct ipr_options o = IPR_OPTIONS_INIT;
	struct ipr_handle *h = NULL;
	char filter[32];

	snprintf(filter, sizeof(filter), "udp dst port %u", port);
	o.filter = filter;
	o.layers = layers;
	o.flags = flags;
	o.queue_maxlen = maxlen;
	o.deadline_ms = deadline_ms;
	if (ipr_open(&o, &h) < 0)
		fprintf(stderr, "  ipr_open: %s\n", ipr_last_error());
	return h;
}

/* Packets received until the receive says something else; *last is what it said. */
static int drain(struct ipr_handle *h, unsigned int flags, int *last)
{
	struct ipr_packet pkts[SLOTS];
	int n, total = 0;

	while ((n = ipr_recv_batch(h, buf, buflen, pkts, SLOTS, flags)) > 0) {
		ipr_set_verdicts(h, pkts, (unsigned int)n, IPR_ACCEPT);
		total += n;
	}
	ipr_flush(h);
	*last = n;
	return total;
}

/* A case that could not set up its handle or socket fails. */
static void fail_setup(void)
{
	CHECK(!"setup: a handle or socket could not be opened");
}

static void *blocked_receive(void *arg)
{
	struct ipr_packet pkt;
	void *own = malloc(buflen);
	intptr_t n = ipr_recv(arg, own, buflen, &pkt, 0);

	free(own);
	return (void *)n;
}

/* A receive blocked in another thread wakes up with -ESHUTDOWN. */
static void test_shutdown_wakes_receiver(void)
{
	struct ipr_handle *h = open_udp(PORT, IPR_LAYER_OUT, 0, 0, 0);
	pthread_t t;
	void *ret = NULL;

	if (!h) {
		fail_setup();
		return;
	}
	CHECK(pthread_create(&t, NULL, blocked_receive, h) == 0);
	usleep(100 * 1000);
	CHECK(ipr_shutdown(h) == 0);
	CHECK(pthread_join(t, &ret) == 0 && (intptr_t)ret == -ESHUTDOWN);
	CHECK(ipr_close(h) == 0);
}

/* After a shutdown, what waited is still received; new packets pass untaken. */
static void test_shutdown_keeps_waiting_packets(void)
{
	struct ipr_handle *h = open_udp(PORT + 1, IPR_LAYER_OUT, 0, 0, 0);
	int rx = udp_receiver(PORT + 1), last = 0;

	if (!h || rx < 0) {
		fail_setup();
		return;
	}
	CHECK(udp_send(PORT + 1) == 0 && udp_send(PORT + 1) == 0);
	usleep(50 * 1000);
	CHECK(ipr_shutdown(h) == 0);
	CHECK(drain(h, 0, &last) == 2 && last == -ESHUTDOWN);
	CHECK(strstr(ipr_last_error(), "shut down") != NULL);
	CHECK(arrived(rx) && arrived(rx)); /* the two, accepted */
	CHECK(udp_send(PORT + 1) == 0 && arrived(rx)); /* not taken any more */
	CHECK(drain(h, IPR_RECV_NONBLOCK, &last) == 0 && last == -ESHUTDOWN);
	CHECK(ipr_close(h) == 0);
	close(rx);
}

/* The defaults read back; bad values and parameters are refused with a reason. */
static void test_params_read_and_refuse(void)
{
	struct ipr_handle *h = open_udp(PORT + 2, IPR_LAYER_OUT, 0, 0, 0);
	uint64_t v = 0;

	if (!h) {
		fail_setup();
		return;
	}
	CHECK(ipr_get_param(h, IPR_PARAM_QUEUE_MAXLEN, &v) == 0 && v == 8192);
	CHECK(ipr_get_param(h, IPR_PARAM_DEADLINE_MS, &v) == 0 && v == IPR_DEFAULT_DEADLINE_MS);
	CHECK(ipr_get_param(h, IPR_PARAM_RCVBUF, &v) == 0 && v >= 65536);
	CHECK(ipr_set_param(h, IPR_PARAM_QUEUE_MAXLEN, 0) == -EINVAL &&
	      strstr(ipr_last_error(), "queue length"));
	CHECK(ipr_set_param(h, IPR_PARAM_RCVBUF, 1) == -EINVAL);
	CHECK(ipr_set_param(h, (enum ipr_param)99, 1) == -EINVAL &&
	      strstr(ipr_last_error(), "unknown parameter"));
	CHECK(ipr_get_param(h, (enum ipr_param)99, &v) == -EINVAL);
	CHECK(ipr_set_param(h, IPR_PARAM_RCVBUF, 1 << 20) == 0);
	CHECK(ipr_get_param(h, IPR_PARAM_RCVBUF, &v) == 0 && v == 1 << 20);
	CHECK(ipr_close(h) == 0);
}

static uint64_t queue_dropped(struct ipr_handle *h)
{
	struct ipr_stats s = { 0 };

	ipr_get_stats(h, &s, sizeof(s));
	return s.queue_dropped;
}

/* A shorter queue takes effect in the kernel; a longer one holds more than at open. */
static void test_params_queue_length(void)
{
	struct ipr_handle *h = open_udp(PORT + 3, IPR_LAYER_OUT, IPR_OPEN_FAIL_CLOSED, 4, 0);
	int last = 0;

	if (!h) {
		fail_setup();
		return;
	}
	CHECK(ipr_set_param(h, IPR_PARAM_QUEUE_MAXLEN, 2) == 0);
	for (int i = 0; i < 5; i++)
		CHECK(udp_send(PORT + 3) == 0);
	usleep(50 * 1000);
	CHECK(queue_dropped(h) == 3);
	CHECK(drain(h, IPR_RECV_NONBLOCK, &last) == 2);
	CHECK(ipr_set_param(h, IPR_PARAM_QUEUE_MAXLEN, 64) == 0);
	for (int i = 0; i < 40; i++)
		CHECK(udp_send(PORT + 3) == 0);
	usleep(50 * 1000);
	CHECK(queue_dropped(h) == 3);
	CHECK(drain(h, IPR_RECV_NONBLOCK, &last) == 40 && last == -EAGAIN);
	CHECK(ipr_close(h) == 0);
}

/* With IPR_OPEN_EXPIRE_DROP a packet left without a verdict is dropped at the deadline;
 * the deadline set later applies. */
static void test_expire_drop(void)
{
	struct ipr_handle *h = open_udp(PORT + 4, IPR_LAYER_OUT, IPR_OPEN_EXPIRE_DROP, 0, 0);
	int rx = udp_receiver(PORT + 4);
	struct ipr_packet pkt;
	struct ipr_stats s = { 0 };

	if (!h || rx < 0) {
		fail_setup();
		return;
	}
	CHECK(ipr_set_param(h, IPR_PARAM_DEADLINE_MS, 50) == 0);
	CHECK(udp_send(PORT + 4) == 0);
	CHECK(ipr_recv(h, buf, buflen, &pkt, 0) == 1);
	usleep(200 * 1000);
	CHECK(ipr_recv(h, buf, buflen, &pkt, IPR_RECV_NONBLOCK) == -EAGAIN);
	CHECK(!arrives_within(rx, 300));
	CHECK(ipr_get_stats(h, &s, sizeof(s)) == 0 && s.expired == 1);
	CHECK(ipr_close(h) == 0);
	close(rx);
}

/* The process of this test's own datagram: pid, name, executable, cgroup; a filter
 * on another process lets it go on unseen. */
static void test_packet_process(void)
{
	struct ipr_handle *h = open_udp(PORT + 5, IPR_LAYER_OUT, IPR_OPEN_PROCESS, 0, 0);
	char comm[IPR_COMM_MAX] = "", exe[4096], own_exe[4096] = "", cgroup[4096];
	struct ipr_process proc = { 0 };
	struct ipr_packet pkt;
	FILE *f = fopen("/proc/self/comm", "re");
	ssize_t n = readlink("/proc/self/exe", own_exe, sizeof(own_exe) - 1);

	if (!h || !f || n <= 0 || !fgets(comm, sizeof(comm), f)) {
		fail_setup();
		return;
	}
	fclose(f);
	own_exe[n] = 0;
	comm[strcspn(comm, "\n")] = 0;
	CHECK(udp_send(PORT + 5) == 0 && ipr_recv(h, buf, buflen, &pkt, 0) == 1);
	CHECK((pkt.flags & IPR_PKT_HAS_PROCESS) && pkt.pid == (uint32_t)getpid());
	CHECK(ipr_packet_process(h, &pkt, &proc, sizeof(proc)) == 0 && proc.pid == pkt.pid);
	CHECK(!strcmp(proc.comm, comm) && proc.cgroup_id != 0);
	CHECK(ipr_process_exe(proc.pid, exe, sizeof(exe)) == 0 && !strcmp(exe, own_exe));
	CHECK(ipr_process_cgroup(proc.pid, cgroup, sizeof(cgroup)) == 0 && cgroup[0] == '/');
	CHECK(ipr_process_exe(proc.pid, exe, 4) == -ENAMETOOLONG);
	CHECK(ipr_process_limits(h) == NULL);
	ipr_accept(h, &pkt);
	CHECK(ipr_close(h) == 0);
}

/* A UDP datagram of 7 bytes from 127.0.0.1:12345 to 127.0.0.1:port, checksums filled. */
static void udp_packet(uint8_t pkt[35], uint16_t port)
{
	const uint8_t head[28] = { 0x45, 0, 0, 35, 0, 0, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1,
				   127, 0, 0, 1, 0x30, 0x39, port >> 8, port & 0xff, 0, 15, 0, 0 };

	memcpy(pkt, head, sizeof(head));
	memcpy(pkt + sizeof(head), "hostile", 7);
	ipr_checksum_fill(pkt, 35);
}

/* A send-only handle takes nothing and installs no table, but injects. */
static void test_send_only(void)
{
	struct ipr_handle *h = open_udp(PORT + 5, IPR_LAYER_OUT, IPR_OPEN_SEND_ONLY, 0, 0);
	uint8_t pkt[35];
	struct ipr_redirector r[4];
	struct ipr_packet got;
	int rx = udp_receiver(PORT + 5);

	if (!h || rx < 0) {
		fail_setup();
		return;
	}
	CHECK(ipr_list_redirectors(r, 4) == 0);
	CHECK(ipr_recv(h, buf, buflen, &got, IPR_RECV_NONBLOCK) == -ENOTCONN);
	udp_packet(pkt, PORT + 5);
	CHECK(ipr_send(h, pkt, sizeof(pkt), IPR_LAYER_OUT) == 0 && arrived(rx));
	CHECK(ipr_close(h) == 0);
	close(rx);
}

/* Packets taken on a loopback round trip: twice by default, once with the flag. */
static int loopback_takes(uint16_t port, unsigned int flags)
{
	struct ipr_handle *h = open_udp(port, IPR_LAYER_IN | IPR_LAYER_OUT, flags, 0, 0);
	int rx = udp_receiver(port), last = 0, n = -1;

	if (h && rx >= 0 && udp_send(port) == 0 && (usleep(50 * 1000), 1))
		n = drain(h, IPR_RECV_NONBLOCK, &last);
	if (h && (n == 2 || n == 1)) { /* the first copy's accept lets the second come */
		usleep(50 * 1000);
		n += drain(h, IPR_RECV_NONBLOCK, &last);
	}
	if (!arrived(rx))
		n = -1;
	ipr_close(h);
	if (rx >= 0)
		close(rx);
	return n;
}

static void test_no_loopback_in(void)
{
	CHECK(loopback_takes(PORT + 6, 0) == 2);
	CHECK(loopback_takes(PORT + 7, IPR_OPEN_NO_LOOPBACK_IN) == 1);
}

/* Opened at priority with flags: what its injection shows to a handle of priority 0. */
static int injection_seen_below(uint16_t port, int priority, unsigned int flags)
{
	struct ipr_options o = IPR_OPTIONS_INIT;
	struct ipr_handle *high = NULL, *low = open_udp(port, IPR_LAYER_OUT, 0, 0, 0);
	struct ipr_packet got;
	uint8_t pkt[35];
	int seen = -1, last = 0;

	o.filter = "udp";
	o.layers = IPR_LAYER_OUT;
	o.priority = priority;
	o.flags = flags;
	udp_packet(pkt, port);
	if (low && ipr_open(&o, &high) == 0 && ipr_send(high, pkt, sizeof(pkt), IPR_LAYER_OUT) == 0) {
		usleep(50 * 1000);
		seen = ipr_recv(low, buf, buflen, &got, IPR_RECV_NONBLOCK) == 1 ?
			       (int)(got.flags & IPR_PKT_INJECTED) : 0;
		if (drain(high, IPR_RECV_NONBLOCK, &last) != 0)
			seen = -2; /* the injecting handle took its own packet */
	}
	if (seen > 0)
		ipr_accept(low, &got);
	ipr_close(high);
	ipr_close(low);
	return seen;
}

/* With IPR_OPEN_INJECT_BELOW, lower priorities see an injection, flagged; else none. */
static void test_inject_below(void)
{
	CHECK(injection_seen_below(PORT + 8, 100, IPR_OPEN_INJECT_BELOW) == IPR_PKT_INJECTED);
	CHECK(injection_seen_below(PORT + 9, 100, 0) == 0);
	CHECK(injection_seen_below(PORT + 10, -100, IPR_OPEN_INJECT_BELOW) == 0);
}

/* A UDP datagram of 7 bytes from 10.99.0.2 to 10.99.0.1:port, checksums filled. */
static void udp_packet_to_veth(uint8_t pkt[35], uint16_t port)
{
	udp_packet(pkt, port);
	memcpy(pkt + 12, (uint8_t[]){ 10, 99, 0, 2, 10, 99, 0, 1 }, 8);
	ipr_checksum_fill(pkt, 35);
}

/* A UDP datagram of BIG bytes from 10.99.0.2 to 10.99.0.1:port, checksums filled. */
static uint8_t *big_udp_to_veth(uint16_t port)
{
	static uint8_t big[BIG];

	udp_packet_to_veth(big, port);
	big[2] = BIG >> 8;
	big[3] = BIG & 0xff;
	big[24] = (BIG - 20) >> 8;
	big[25] = (BIG - 20) & 0xff;
	ipr_checksum_fill(big, BIG);
	return big;
}

/* ipr_send_in() delivers as received on the interface named; ipr_send() on its tun. */
static void test_send_in(void)
{
	struct ipr_handle *h = open_udp(PORT + 11, IPR_LAYER_OUT, IPR_OPEN_SEND_ONLY, 0, 0);
	int rx = veth_receiver(PORT + 11), wv0 = (int)if_nametoindex("wv0");
	uint8_t pkt[35];

	if (!h || rx < 0 || !wv0) {
		fail_setup();
		return;
	}
	udp_packet_to_veth(pkt, PORT + 11);
	CHECK(ipr_send_in(h, pkt, sizeof(pkt), (unsigned int)wv0) == 0);
	CHECK(arrival_ifindex(rx) == wv0);
	CHECK(ipr_send_in(h, pkt, sizeof(pkt), 0) == 0);
	CHECK(arrival_ifindex(rx) != wv0);
	CHECK(ipr_send_in(h, big_udp_to_veth(PORT + 11), BIG, (unsigned int)wv0) == 0);
	CHECK(arrival_ifindex(rx) == wv0); /* larger than a 1500-byte MTU: a GSO packet's size */
	CHECK(ipr_send_in(h, pkt, sizeof(pkt), 9999) == -ENODEV);
	CHECK(ipr_send_in(h, pkt, 20, (unsigned int)wv0) == -EINVAL);
	CHECK(ipr_close(h) == 0);
	close(rx);
}

int main(void)
{
	static const struct check_case cases[] = {
		CHECK_CASE(test_shutdown_wakes_receiver),
		CHECK_CASE(test_shutdown_keeps_waiting_packets),
		CHECK_CASE(test_params_read_and_refuse),
		CHECK_CASE(test_params_queue_length),
		CHECK_CASE(test_expire_drop),
		CHECK_CASE(test_send_only),
		CHECK_CASE(test_no_loopback_in),
		CHECK_CASE(test_inject_below),
		CHECK_CASE(test_send_in),
		CHECK_CASE(test_packet_process),
	};
	const unsigned int n = sizeof(cases) / sizeof(cases[0]);
	struct ipr_handle *probe = NULL;
	int status;

	if (private_netns() < 0) {
		for (unsigned int i = 0; i < n; i++)
			printf("SKIP: control.%s (needs root and a private network namespace)\n",
			       cases[i].name);
		return 0;
	}
	probe = open_udp(PORT + 99, IPR_LAYER_OUT, 0, 0, 0);
	buflen = SLOTS * ipr_slot_size(probe);
	ipr_close(probe);
	buf = malloc(buflen);
	status = check_run("control", cases, n);
	free(buf);
	return status;
}
