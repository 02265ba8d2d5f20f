/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_hostile.c - every entry point that takes bytes or text refuses
 * malformed input with a clear error.
 *
 * Canned packets are cut or given lying fields and handed to each entry point
 * that takes packet bytes (parse, checksums, TTL, the injection check); each
 * input is copied into a buffer of exactly its length, so -fsanitize=address
 * or valgrind catch any read past it. Absurd ipr_open() options are refused
 * before anything is installed. As root, a handle in a private network
 * namespace takes stale, forged, double and late verdicts.
 *
 * API promise on closed handles: ipr_close() frees the handle, so a closed
 * handle pointer is invalid memory and no call may be made with it. What can
 * be tested is a packet that outlives its handle: given to a new handle of
 * the same queue number it is refused as not held (-ESTALE).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "internal.h"
#include "live.h"
#include "packets.h"

#define LEN_ANY ((size_t)-1) /* keep the packet's own length */

/* A canned packet with one byte changed and cut to len bytes. */
struct mutation {
	const char *name;
	const uint8_t *pkt;
	size_t pkt_len;
	int at;            /* byte to change, -1 = none */
	uint8_t value;
	size_t len;        /* bytes passed, LEN_ANY = pkt_len */
	int parse;         /* what ipr_parse() returns */
	int fill;          /* what ipr_checksum_fill() returns */
	int inject;        /* what ipr_inject_check() returns */
	const char *why;   /* a word ipr_last_error() has after a refused injection */
};

#define PKT(p) p, sizeof(p)

static const struct mutation mutations[] = {
	{ "empty", PKT(ipv4_udp), -1, 0, 0, -EMSGSIZE, -EMSGSIZE, -EINVAL, "empty" },
	{ "one byte", PKT(ipv4_udp), -1, 0, 1, -EMSGSIZE, -EMSGSIZE, -EINVAL, "shorter" },
	{ "IPv4 three bytes", PKT(ipv4_udp), -1, 0, 3, -EMSGSIZE, -EMSGSIZE, -EINVAL, "shorter" },
	{ "IPv6 five bytes", PKT(ipv6_icmp_echo), -1, 0, 5, -EMSGSIZE, -EMSGSIZE, -EINVAL,
	  "shorter" },
	{ "version 5", PKT(ipv4_udp), 0, 0x55, LEN_ANY, -EINVAL, -EINVAL, -EINVAL, "version" },
	{ "version 0", PKT(ipv6_icmp_echo), 0, 0x00, LEN_ANY, -EINVAL, -EINVAL, -EINVAL, "version" },
	{ "IHL 4", PKT(ipv4_udp), 0, 0x44, LEN_ANY, -EINVAL, -EINVAL, -EINVAL, "minimum" },
	{ "IHL 15 past the packet", PKT(ipv4_udp), 0, 0x4f, LEN_ANY, -EMSGSIZE, -EMSGSIZE,
	  -EINVAL, "longer" },
	{ "total length below the header", PKT(ipv4_udp), 3, 19, LEN_ANY, -EINVAL, -EINVAL,
	  -EINVAL, "total length" },
	{ "total length past the capture", PKT(ipv4_udp), 3, 0x29, LEN_ANY, 0, -EMSGSIZE,
	  -EINVAL, "total length" },
	{ "total length ends in UDP header", PKT(ipv4_udp), 3, 24, LEN_ANY, -EINVAL, -EINVAL,
	  -EINVAL, "total length" },
	{ "total length cuts the TCP options", PKT(ipv4_icmp_echo), 9, IPPROTO_TCP, LEN_ANY,
	  -EINVAL, -EINVAL, -EINVAL, "overruns" },
	{ "IPv4 cut in the header", PKT(ipv4_udp), -1, 0, 19, -EMSGSIZE, -EMSGSIZE, -EINVAL,
	  "shorter" },
	{ "IPv4 cut in UDP", PKT(ipv4_udp), -1, 0, 24, 0, -EMSGSIZE, -EINVAL, "total length" },
	{ "IPv6 payload length past the capture", PKT(ipv6_icmp_echo), 5, 0x40, LEN_ANY, 0,
	  -EMSGSIZE, -EINVAL, "payload length" },
	{ "IPv6 payload length ends in ICMPv6", PKT(ipv6_icmp_echo), 5, 4, LEN_ANY, -EINVAL,
	  -EINVAL, -EINVAL, "payload length" },
	{ "UDP relabelled TCP: data offset 0", PKT(ipv4_udp), 9, IPPROTO_TCP, LEN_ANY, -EINVAL,
	  -EINVAL, -EINVAL, "data offset" },
	{ "hop-by-hop not first", PKT(ipv6_udp_ext), 48, 0, LEN_ANY, -EINVAL, -EINVAL, -EINVAL,
	  "extension" },
	{ "extension header past the payload", PKT(ipv6_udp_ext), 49, 0xff, LEN_ANY, -EINVAL,
	  -EINVAL, -EINVAL, "extension" },
	{ "chain cut by the capture", PKT(ipv6_udp_ext), -1, 0, 44, -EMSGSIZE, -EMSGSIZE,
	  -EINVAL, "payload length" },
	{ "well-formed IPv4", PKT(ipv4_icmp_echo), -1, 0, LEN_ANY, 0, 0, 0, NULL },
	{ "well-formed IPv6 with a chain", PKT(ipv6_udp_ext), -1, 0, LEN_ANY, 0, 0, 0, NULL },
};

static uint8_t *mutated(const struct mutation *m, size_t *len)
{
	uint8_t *buf;

	*len = m->len == LEN_ANY ? m->pkt_len : m->len;
	buf = malloc(*len ? *len : 1);
	memcpy(buf, m->pkt, *len);
	if (m->at >= 0 && (size_t)m->at < *len)
		buf[m->at] = m->value;
	return buf;
}

/* One mutation through every entry point that takes packet bytes. */
static int run_mutation(const struct mutation *m)
{
	struct ipr_parsed p;
	size_t len;
	uint8_t *buf = mutated(m, &len);
	int ok = 1, fill = ipr_checksum_fill(buf, len);

	ok &= ipr_parse(buf, len, &p) == m->parse;
	ok &= fill == m->fill;
	ok &= ipr_checksum_verify(buf, len) == (fill ? m->fill : 0);
	ok &= ipr_inject_check(buf, len) == m->inject;
	if (m->why)
		ok &= strstr(ipr_last_error(), m->why) != NULL;
	if (!ok)
		fprintf(stderr, "  %s: parse %d fill %d inject %d \"%s\"\n", m->name,
			ipr_parse(buf, len, &p), fill, ipr_inject_check(buf, len), ipr_last_error());
	free(buf);
	return ok;
}

static void test_mutated_packets(void)
{
	for (size_t i = 0; i < sizeof(mutations) / sizeof(mutations[0]); i++)
		CHECK(run_mutation(&mutations[i]));
}

/* TTL helpers refuse what has no complete IP header, and never write then. */
static void test_ttl_hostile(void)
{
	uint8_t v4[20], v6[40];

	memcpy(v4, ipv4_udp, sizeof(v4));
	memcpy(v6, ipv6_icmp_echo, sizeof(v6));
	CHECK(ipr_decrement_ttl(NULL, 20) == -EINVAL && ipr_set_ttl(NULL, 40, 1) == -EINVAL);
	CHECK(ipr_decrement_ttl(v4, 19) == -EINVAL && ipr_set_ttl(v6, 39, 1) == -EINVAL);
	v4[0] = 0x46; /* IHL 6: 24 bytes */
	CHECK(ipr_set_ttl(v4, sizeof(v4), 9) == -EINVAL && v4[8] == ipv4_udp[8]);
	v4[0] = 0x35;
	CHECK(ipr_decrement_ttl(v4, sizeof(v4)) == -EINVAL && v4[8] == ipv4_udp[8]);
	v6[7] = 1;
	CHECK(ipr_decrement_ttl(v6, sizeof(v6)) == -ETIMEDOUT && v6[7] == 1);
}

/* An IPv6 chain of thousands of headers ends at the 64 KiB limit, not in a loop. */
static void test_longest_chain(void)
{
	size_t len = 65535;
	uint8_t *buf = calloc(1, len);
	struct ipr_parsed p;

	memcpy(buf, ipv6_icmp_echo, 40);
	buf[4] = 0xff;
	buf[5] = 0xd7; /* payload length 65495: the whole buffer */
	buf[6] = IPPROTO_DSTOPTS;
	for (size_t off = 40; off + 8 <= len; off += 8)
		buf[off] = IPPROTO_DSTOPTS; /* each 8 bytes long, naming another */
	CHECK(ipr_parse(buf, len, &p) == -EINVAL);
	CHECK(ipr_checksum_fill(buf, len) == -EINVAL);
	CHECK(ipr_inject_check(buf, len) == -EINVAL);
	free(buf);
}

/* Larger than any IP packet: injection refuses it, parsing sees its first bytes only. */
static void test_oversized(void)
{
	size_t len = 70000;
	uint8_t *buf = calloc(1, len);
	struct ipr_parsed p;

	memcpy(buf, ipv4_udp, sizeof(ipv4_udp));
	CHECK(ipr_inject_check(buf, len) == -EMSGSIZE);
	CHECK(strstr(ipr_last_error(), "at most 65535") != NULL);
	CHECK(ipr_parse(buf, len, &p) == 0 && p.l3_len == sizeof(ipv4_udp));
	buf[2] = buf[3] = 0; /* total length 0: the capture is taken as the packet */
	CHECK(ipr_parse(buf, len, &p) == 0 && p.l3_len == len && p.payload_len == len - 28);
	free(buf);
}

/* Address text: junk, overlong and embedded-NUL strings are refused. */
static void test_address_text(void)
{
	char big[4096];
	struct ipr_addr a;
	char out[IPR_ADDR_STRLEN];

	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(ipr_addr_parse(big, &a) == -EINVAL && a.family == 0);
	CHECK(ipr_addr_parse("10.0.0.1 ", &a) == -EINVAL);
	CHECK(ipr_addr_parse("10.0.0.256", &a) == -EINVAL);
	CHECK(ipr_addr_parse("1:2:3:4:5:6:7:8:9", &a) == -EINVAL);
	CHECK(ipr_addr_parse("", &a) == -EINVAL && ipr_addr_parse(NULL, &a) == -EINVAL);
	CHECK(ipr_addr_parse("::1", NULL) == -EINVAL);
	CHECK(ipr_addr_parse("2001:db8::1", &a) == 0);
	CHECK(ipr_addr_format(&a, out, 5) == -ENOSPC);
	CHECK(ipr_addr_format(&a, NULL, sizeof(out)) == -EINVAL);
	a.family = 99;
	CHECK(ipr_addr_format(&a, out, sizeof(out)) == -EINVAL);
}

/* ---- absurd options: refused before anything is installed ---- */

struct bad_option {
	const char *name;
	void (*set)(struct ipr_options *o);
	int err;
	const char *why; /* a word of ipr_last_error() */
};

static void set_size_zero(struct ipr_options *o) { o->size = 0; }
static void set_layers(struct ipr_options *o) { o->layers = 0x80; }
static void set_flags(struct ipr_options *o) { o->flags = 1u << 31; }
static void set_both_kinds(struct ipr_options *o)
{
	o->flags = IPR_OPEN_QUEUE_COMPAT | IPR_OPEN_QUEUE_NATIVE;
}
static void set_priority(struct ipr_options *o) { o->priority = IPR_PRIORITY_MAX + 1; }
static void set_priority_neg(struct ipr_options *o) { o->priority = -2147483647 - 1; }
static void set_snaplen_small(struct ipr_options *o) { o->snaplen = 39; }
static void set_snaplen_big(struct ipr_options *o) { o->snaplen = 65536; }
static void set_maxlen(struct ipr_options *o) { o->queue_maxlen = 1u << 21; }
static void set_deadline(struct ipr_options *o) { o->deadline_ms = 0xffffffffu; }
static void set_ifname_long(struct ipr_options *o) { o->interface = "sixteen-chars-xx"; }
static void set_ifname_empty(struct ipr_options *o) { o->in_interface = ""; }
static void set_in_iface_out_layer(struct ipr_options *o)
{
	o->in_interface = "lo";
	o->layers = IPR_LAYER_OUT;
}
static void set_mark_outside(struct ipr_options *o)
{
	o->inject_mark = 3;
	o->inject_mask = 1;
}
static void set_masks_overlap(struct ipr_options *o)
{
	o->inject_mask = 0xff;
	o->inject_mark = 1;
	o->bypass_mask = 0x0f;
	o->bypass_mark = 2;
}
static void set_queues(struct ipr_options *o) { o->queues = IPR_QUEUES_MAX + 1; }
static void set_queue_high(struct ipr_options *o) { o->queue = 65536; }
static void set_queue_wrap(struct ipr_options *o)
{
	o->queue = 0xffffffffu;
	o->queues = 2; /* first + count - 1 wraps to 0 in 32 bits */
}
static void set_queue_range(struct ipr_options *o)
{
	o->queue = 65535;
	o->queues = 2;
}
static void set_monitor_queues(struct ipr_options *o)
{
	o->flags = IPR_OPEN_MONITOR;
	o->queues = 2;
}
static void set_cgroup_forward(struct ipr_options *o)
{
	o->cgroup = "/";
	o->layers = IPR_LAYER_FORWARD;
}
static void set_busy_poll(struct ipr_options *o) { o->busy_poll_us = 1000001; }
static void set_coalesce(struct ipr_options *o) { o->coalesce_us = 0xffffffffu; }
static void set_monitor_busy_poll(struct ipr_options *o)
{
	o->flags = IPR_OPEN_MONITOR;
	o->busy_poll_us = 10;
}
static void set_bad_filter(struct ipr_options *o) { o->filter = "tcp port 99999999"; }

static const struct bad_option bad_options[] = {
	{ "size 0", set_size_zero, -EINVAL, "IPR_OPTIONS_INIT" },
	{ "unknown layer", set_layers, -EINVAL, "layer" },
	{ "unknown flag", set_flags, -EINVAL, "flags" },
	{ "native and compat", set_both_kinds, -EINVAL, "native and compat" },
	{ "priority too high", set_priority, -EINVAL, "priority" },
	{ "priority INT_MIN", set_priority_neg, -EINVAL, "priority" },
	{ "snap length 39", set_snaplen_small, -EINVAL, "snap length" },
	{ "snap length 65536", set_snaplen_big, -EINVAL, "snap length" },
	{ "queue length 2^21", set_maxlen, -EINVAL, "queue length" },
	{ "deadline 49 days", set_deadline, -EINVAL, "deadline" },
	{ "interface name of 16", set_ifname_long, -EINVAL, "characters" },
	{ "empty interface name", set_ifname_empty, -EINVAL, "characters" },
	{ "input interface on out", set_in_iface_out_layer, -EINVAL, "input interface" },
	{ "mark outside its mask", set_mark_outside, -EINVAL, "mask" },
	{ "overlapping masks", set_masks_overlap, -EINVAL, "overlap" },
	{ "65 queues", set_queues, -EINVAL, "queues" },
	{ "queue 65536", set_queue_high, -EINVAL, "65535" },
	{ "queue range wraps", set_queue_wrap, -EINVAL, "65535" },
	{ "queue range past 65535", set_queue_range, -EINVAL, "65535" },
	{ "monitor with queues", set_monitor_queues, -EINVAL, "monitor" },
	{ "cgroup on forward", set_cgroup_forward, -EINVAL, "cgroup" },
	{ "busy poll over 1 s", set_busy_poll, -EINVAL, "busy poll" },
	{ "coalescing of 71 minutes", set_coalesce, -EINVAL, "coalescing" },
	{ "monitor with busy poll", set_monitor_busy_poll, -EINVAL, "monitor" },
	{ "bad filter", set_bad_filter, -EINVAL, "bad filter" },
};

static void test_absurd_options(void)
{
	for (size_t i = 0; i < sizeof(bad_options) / sizeof(bad_options[0]); i++) {
		const struct bad_option *b = &bad_options[i];
		struct ipr_options o = IPR_OPTIONS_INIT;
		struct ipr_handle *h = NULL;
		int err;

		b->set(&o);
		err = ipr_open(&o, &h);
		if (err != b->err || h || !strstr(ipr_last_error(), b->why)) {
			fprintf(stderr, "  %s: %d \"%s\"\n", b->name, err, ipr_last_error());
			check_failed = 1;
		}
	}
}

/* Options from a newer header: unknown fields that are set are refused. */
static void test_options_from_newer_header(void)
{
	struct {
		struct ipr_options o;
		uint64_t newer;
	} big = { .o = IPR_OPTIONS_INIT };
	struct ipr_handle *h = NULL;

	big.o.size = sizeof(big);
	big.newer = 1;
	CHECK(ipr_open(&big.o, &h) == -E2BIG && !h);
	CHECK(strstr(ipr_last_error(), "does not know") != NULL);
	CHECK(ipr_open(NULL, &h) == -EINVAL && !h);
	big.newer = 0; /* valid options, nowhere to put the handle: nothing is opened */
	CHECK(ipr_open(&big.o, NULL) == -EINVAL && strstr(ipr_last_error(), "&handle"));
}

/* A 100 KiB expression fails with the expression cut short in the message. */
static void test_huge_filter(void)
{
	size_t len = 100 * 1024;
	struct ipr_options o = IPR_OPTIONS_INIT;
	struct ipr_handle *h = NULL;
	char *expr = malloc(len + 1);

	memset(expr, '(', len);
	expr[len] = '\0';
	o.filter = expr;
	CHECK(ipr_open(&o, &h) == -EINVAL && !h);
	CHECK(!strncmp(ipr_last_error(), "bad filter \"((", 14));
	CHECK(strlen(ipr_last_error()) < 512);
	free(expr);
}

/* ---- a live handle in a private network namespace (root) ---- */

#define PORT 9 /* the live handle's; other handles take the next ports */
#define SLOTS 4

static struct ipr_handle *live;
static void *live_buf;
static size_t live_buflen;

/* A handle of the out layer for UDP datagrams to port. */
static int open_live(uint16_t port, unsigned int queue, unsigned int deadline_ms,
		     struct ipr_handle **h)
{
	struct ipr_options o = IPR_OPTIONS_INIT;
	char filter[32];

	snprintf(filter, sizeof(filter), "udp dst port %u", port);
	o.filter = filter;
	o.layers = IPR_LAYER_OUT;
	o.queue = queue;
	o.deadline_ms = deadline_ms;
	return ipr_open(&o, h);
}

/* Send one datagram to port and receive it from h. */
static int receive_one(struct ipr_handle *h, uint16_t port, struct ipr_packet *pkt, int *rx)
{
	if (send_datagram(port, rx) < 0)
		return -1;
	return ipr_recv(h, live_buf, live_buflen, pkt, 0) == 1 ? 0 : -1;
}

static uint64_t verdict_errors(struct ipr_handle *h)
{
	struct ipr_stats s = { 0 };

	ipr_get_stats(h, &s, sizeof(s));
	return s.verdict_errors;
}

/* Forged, invalid, double verdicts are refused; the real one still works. */
static void test_live_verdicts(void)
{
	uint8_t small[8] = { 0x45 };
	struct ipr_packet pkt, forged;
	int rx = -1;

	CHECK(receive_one(live, PORT, &pkt, &rx) == 0);
	CHECK(ipr_recv(live, live_buf, 0, &forged, IPR_RECV_NONBLOCK) == -EINVAL);
	CHECK(ipr_set_verdict(live, &pkt, (enum ipr_verdict)7, NULL, 0) == -EINVAL);
	CHECK(ipr_set_verdict(live, &pkt, IPR_DROP, ipv4_udp, sizeof(ipv4_udp)) == -EINVAL);
	CHECK(ipr_accept_modified(live, &pkt, small, sizeof(small)) == -EINVAL);
	CHECK(ipr_accept_modified(live, &pkt, NULL, 100) == -EINVAL);
	CHECK(ipr_accept_modified(live, &pkt, live_buf, 70000) == -EINVAL);
	forged = pkt;
	forged.id += 1000; /* an id never handed out */
	CHECK(ipr_accept(live, &forged) == -ESTALE);
	forged = pkt;
	forged.priv = 123456789;
	CHECK(ipr_drop(live, &forged) == -ESTALE);
	forged = pkt;
	forged.queue++;
	CHECK(ipr_drop(live, &forged) == -EINVAL && strstr(ipr_last_error(), "queue"));
	CHECK(ipr_accept_bypass(live, &pkt) == -EINVAL); /* opened without IPR_OPEN_BYPASS */
	forged = pkt;
	CHECK(ipr_accept(live, &pkt) == 0);
	CHECK(ipr_accept(live, &pkt) == -EALREADY);
	CHECK(ipr_drop(live, &forged) == -ESTALE); /* a copy without the decided flag */
	CHECK(ipr_flush(live) == 0);
	CHECK(arrived(rx));
	CHECK(verdict_errors(live) == 0);
	close(rx);
}

/* A packet the deadline accepted takes no late verdict. */
static void test_live_late_verdict(void)
{
	struct ipr_handle *h = NULL;
	struct ipr_packet pkt, other;
	struct ipr_stats s = { 0 };
	int rx = -1;

	CHECK(open_live(PORT + 1, 0, 50, &h) == 0);
	if (!h)
		return;
	CHECK(receive_one(h, PORT + 1, &pkt, &rx) == 0);
	usleep(200 * 1000);
	CHECK(ipr_recv(h, live_buf, live_buflen, &other, IPR_RECV_NONBLOCK) == -EAGAIN);
	CHECK(arrived(rx));
	CHECK(ipr_accept(h, &pkt) == -ESTALE && strstr(ipr_last_error(), "deadline"));
	CHECK(ipr_get_stats(h, &s, sizeof(s)) == 0 && s.expired == 1 && s.verdict_errors == 0);
	CHECK(ipr_close(h) == 0);
	close(rx);
}

/* A packet of a closed handle, given to a new handle on the same queue: not held. */
static void test_live_packet_outlives_handle(void)
{
	struct ipr_handle *a = NULL, *b = NULL;
	struct ipr_info info;
	struct ipr_packet pkt;
	int rx = -1;

	CHECK(open_live(PORT + 2, 0, 0, &a) == 0);
	if (!a)
		return;
	CHECK(receive_one(a, PORT + 2, &pkt, &rx) == 0);
	ipr_get_info(a, &info);
	CHECK(ipr_close(a) == 0); /* accepts what it held */
	CHECK(arrived(rx));
	CHECK(open_live(PORT + 2, info.queue, 0, &b) == 0);
	if (b) {
		CHECK(ipr_accept(b, &pkt) == -ESTALE);
		CHECK(ipr_flush(b) == 0 && verdict_errors(b) == 0);
		CHECK(ipr_close(b) == 0);
	}
	close(rx);
}

/* Malformed injections are refused before any socket is opened or written. */
static void test_live_send(void)
{
	uint8_t bad[sizeof(ipv4_udp)];

	memcpy(bad, ipv4_udp, sizeof(bad));
	bad[3]++; /* total length one more than the bytes */
	CHECK(ipr_send(live, bad, sizeof(bad), IPR_LAYER_OUT) == -EINVAL);
	CHECK(ipr_send(live, ipv4_udp, 3, IPR_LAYER_OUT) == -EINVAL);
	CHECK(ipr_send(live, NULL, 20, IPR_LAYER_OUT) == -EINVAL);
	CHECK(ipr_send(live, ipv4_udp, sizeof(ipv4_udp), 0) == -EINVAL);
	CHECK(ipr_send(live, ipv4_udp, sizeof(ipv4_udp), IPR_LAYER_FORWARD) == -EINVAL);
	CHECK(ipr_send(live, NULL, 0, IPR_LAYER_OUT) == 0); /* opens the raw sockets now */
}

static int run_live(void)
{
	static const struct check_case cases[] = {
		CHECK_CASE(test_live_verdicts),
		CHECK_CASE(test_live_late_verdict),
		CHECK_CASE(test_live_packet_outlives_handle),
		CHECK_CASE(test_live_send),
	};
	const unsigned int n = sizeof(cases) / sizeof(cases[0]);
	int status;

	if (private_netns() < 0 || open_live(PORT, 0, 0, &live) < 0) {
		for (unsigned int i = 0; i < n; i++)
			printf("SKIP: hostile.%s (needs root and a private network namespace)\n",
			       cases[i].name);
		return 0;
	}
	live_buflen = SLOTS * ipr_slot_size(live);
	live_buf = malloc(live_buflen);
	status = check_run("hostile", cases, n);
	free(live_buf);
	ipr_close(live);
	return status;
}

int main(void)
{
	static const struct check_case cases[] = {
		CHECK_CASE(test_mutated_packets),
		CHECK_CASE(test_ttl_hostile),
		CHECK_CASE(test_longest_chain),
		CHECK_CASE(test_oversized),
		CHECK_CASE(test_address_text),
		CHECK_CASE(test_absurd_options),
		CHECK_CASE(test_options_from_newer_header),
		CHECK_CASE(test_huge_filter),
	};
	int status = check_run("hostile", cases, sizeof(cases) / sizeof(cases[0]));

	return run_live() | status;
}
