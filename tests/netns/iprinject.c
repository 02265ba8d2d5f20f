/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * iprinject.c - a test tool: build one packet, inject it with ipr_send()
 * through a redirector handle, and watch that handle's packets for the answer.
 *
 *   iprinject [--in|--out] [--filter EXPR] [--wait SECONDS] [--hold] PACKET
 *   PACKET:   --icmp-echo SRC DST [--id N] [--seq N] [--size N]
 *           | --udp SRC:PORT DST:PORT TEXT      (IPv6: [ADDR]:PORT)
 *           | --raw-hex HEX                     (any bytes, sent as given)
 *
 * --out (default) sends the packet out through the stack, --in makes it arrive
 * from the network. The handle (filter EXPR, default "icmp or icmp6", layers in
 * and out) accepts every packet it receives. Prints "sent dir=D len=N" once
 * injected; for --icmp-echo it waits up to --wait seconds (default 3) and
 * prints "reply from ADDR" when the echo reply to its id comes. A packet the
 * handle captures that is the one injected prints "own packet seen layer=L".
 * --hold keeps the handle (and its tun device) open, accepting packets, until
 * SIGINT or SIGTERM. Exit 0: sent (and, for an echo, answered); 1: refused,
 * failed or unanswered, with the reason on stderr; 2: bad arguments.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "ipredir.h"

#define PKT_MAX 65535
#define BATCH 16
#define DEFAULT_ECHO_SIZE 32

enum kind { KIND_NONE, KIND_ECHO, KIND_UDP, KIND_RAW };

struct inject {
	struct ipr_options opts;
	enum kind kind;
	unsigned int direction;
	unsigned int id, seq, size;
	double wait;
	int hold;
	const char *hex;
	struct ipr_addr src, dst;
	unsigned int sport, dport;
	const char *text;
	uint8_t pkt[PKT_MAX];
	size_t len;
};

struct watch {
	int replied;
	int own_seen;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static void usage(const char *why, const char *arg)
{
	fprintf(stderr, "iprinject: %s%s%s%s\n", why, arg ? " \"" : "", arg ? arg : "",
		arg ? "\"" : "");
	fprintf(stderr, "usage: iprinject [--in|--out] [--filter EXPR] [--wait S] [--hold]\n"
			"         (--icmp-echo SRC DST [--id N] [--seq N] [--size N]\n"
			"          | --udp SRC:PORT DST:PORT TEXT | --raw-hex HEX)\n");
	exit(2);
}

static unsigned int number(const char *arg, unsigned int max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 0);
	if (errno || !*arg || *end || v > max)
		usage("bad number", arg);
	return (unsigned int)v;
}

static void parse_addr(const char *text, struct ipr_addr *addr)
{
	if (ipr_addr_parse(text, addr) < 0)
		usage("bad address", text);
}

/* "10.0.0.1:53", "[fd00::1]:53" or "fd00::1:53" (the last colon starts the port). */
static void parse_endpoint(const char *arg, struct ipr_addr *addr, unsigned int *port)
{
	char host[64];
	const char *colon = strrchr(arg, ':');
	size_t n;

	if (!colon || colon == arg)
		usage("bad ADDR:PORT", arg);
	n = (size_t)(colon - arg);
	if (arg[0] == '[' && colon[-1] == ']')
		arg++, n -= 2;
	if (n >= sizeof(host))
		usage("bad ADDR:PORT", arg);
	memcpy(host, arg, n);
	host[n] = '\0';
	parse_addr(host, addr);
	*port = number(colon + 1, 65535);
}

static void set_kind(struct inject *in, enum kind kind)
{
	if (in->kind != KIND_NONE)
		usage("give one of --icmp-echo, --udp, --raw-hex", NULL);
	in->kind = kind;
}

static void parse_options(int argc, char **argv, struct inject *in)
{
	static const struct option longopts[] = {
		{ "in", no_argument, NULL, 'I' },	{ "out", no_argument, NULL, 'O' },
		{ "icmp-echo", no_argument, NULL, 'e' }, { "udp", no_argument, NULL, 'u' },
		{ "raw-hex", required_argument, NULL, 'x' }, { "id", required_argument, NULL, 'i' },
		{ "seq", required_argument, NULL, 's' }, { "size", required_argument, NULL, 'z' },
		{ "filter", required_argument, NULL, 'f' }, { "wait", required_argument, NULL, 'w' },
		{ "hold", no_argument, NULL, 'H' },	{ 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'I': in->direction = IPR_LAYER_IN; break;
		case 'O': in->direction = IPR_LAYER_OUT; break;
		case 'e': set_kind(in, KIND_ECHO); break;
		case 'u': set_kind(in, KIND_UDP); break;
		case 'x': set_kind(in, KIND_RAW); in->hex = optarg; break;
		case 'i': in->id = number(optarg, 65535); break;
		case 's': in->seq = number(optarg, 65535); break;
		case 'z': in->size = number(optarg, PKT_MAX); break;
		case 'f': in->opts.filter = optarg; break;
		case 'w': in->wait = number(optarg, 3600); break;
		case 'H': in->hold = 1; break;
		default: exit(2);
		}
	}
}

static void parse_args(int argc, char **argv, struct inject *in)
{
	char **pos;
	int npos;

	parse_options(argc, argv, in);
	pos = argv + optind;
	npos = argc - optind;
	if (in->kind == KIND_ECHO && npos == 2) {
		parse_addr(pos[0], &in->src);
		parse_addr(pos[1], &in->dst);
	} else if (in->kind == KIND_UDP && npos == 3) {
		parse_endpoint(pos[0], &in->src, &in->sport);
		parse_endpoint(pos[1], &in->dst, &in->dport);
		in->text = pos[2];
	} else if (in->kind != KIND_RAW || npos != 0) {
		usage("wrong arguments for the packet kind", NULL);
	}
	if (in->kind != KIND_RAW && in->src.family != in->dst.family)
		usage("source and destination must both be IPv4 or both IPv6", NULL);
}

/* ---- building packets ---- */

static void put16(uint8_t *p, unsigned int v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* IP header for l4_len transport bytes of protocol proto; returns the header length. */
static size_t put_ip(struct inject *in, uint8_t proto, size_t l4_len)
{
	uint8_t *p = in->pkt;

	if (in->src.family == AF_INET) {
		p[0] = 0x45;
		put16(p + 2, (unsigned int)(20 + l4_len));
		put16(p + 6, 0x4000); /* DF */
		p[8] = 64;
		p[9] = proto;
		memcpy(p + 12, in->src.bytes, 4);
		memcpy(p + 16, in->dst.bytes, 4);
		return 20;
	}
	p[0] = 0x60;
	put16(p + 4, (unsigned int)l4_len);
	p[6] = proto;
	p[7] = 64;
	memcpy(p + 8, in->src.bytes, 16);
	memcpy(p + 24, in->dst.bytes, 16);
	return 40;
}

static int too_big(size_t l4_len, const struct inject *in)
{
	return l4_len + (in->src.family == AF_INET ? 20 : 40) > PKT_MAX;
}

static void build_echo(struct inject *in)
{
	int v4 = in->src.family == AF_INET;
	size_t l4_len = 8 + in->size, hdr;
	uint8_t *icmp;

	if (too_big(l4_len, in))
		usage("--size too large for one IP packet", NULL);
	hdr = put_ip(in, v4 ? 1 : 58, l4_len);
	icmp = in->pkt + hdr;
	icmp[0] = v4 ? 8 : 128; /* echo request */
	put16(icmp + 4, in->id);
	put16(icmp + 6, in->seq);
	for (size_t i = 0; i < in->size; i++)
		icmp[8 + i] = (uint8_t)('a' + i % 26);
	in->len = hdr + l4_len;
}

static void build_udp(struct inject *in)
{
	size_t text_len = strlen(in->text), l4_len = 8 + text_len, hdr;
	uint8_t *udp;

	if (too_big(l4_len, in))
		usage("TEXT too long for one IP packet", NULL);
	hdr = put_ip(in, 17, l4_len);
	udp = in->pkt + hdr;
	put16(udp, in->sport);
	put16(udp + 2, in->dport);
	put16(udp + 4, (unsigned int)l4_len);
	memcpy(udp + 8, in->text, text_len);
	in->len = hdr + l4_len;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void build_raw(struct inject *in)
{
	size_t n = strlen(in->hex);

	if (n % 2 || n / 2 > PKT_MAX)
		usage("--raw-hex needs an even number of hex digits, at most 65535 bytes", NULL);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_digit(in->hex[2 * i]), lo = hex_digit(in->hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			usage("bad hex digits", in->hex);
		in->pkt[i] = (uint8_t)(hi << 4 | lo);
	}
	in->len = n / 2;
}

static void build(struct inject *in)
{
	if (in->kind == KIND_RAW) {
		build_raw(in);
		return;
	}
	if (in->kind == KIND_ECHO)
		build_echo(in);
	else
		build_udp(in);
	if (ipr_checksum_fill(in->pkt, in->len) < 0)
		usage("could not compute the checksums of the packet", NULL);
}

/* ---- watching the handle ---- */

static const char *layer_name(uint8_t layer)
{
	return layer == IPR_LAYER_IN ? "in" : layer == IPR_LAYER_OUT ? "out" : "forward";
}

static int same_addr(const struct ipr_addr *a, const struct ipr_addr *b)
{
	size_t n = a->family == AF_INET ? 4 : 16;

	return a->family == b->family && !memcmp(a->bytes, b->bytes, n);
}

/* The injected packet, up to what the kernel may fill in (IPv4 id and header checksum). */
static int is_own(const struct inject *in, const struct ipr_parsed *p)
{
	struct ipr_parsed q;
	struct ipr_addr a, b, c, d;

	if (in->kind == KIND_RAW || ipr_parse(in->pkt, in->len, &q) < 0 || !p->l4 || !q.l4)
		return 0;
	if (ipr_packet_addrs(p, &a, &b) < 0 || ipr_packet_addrs(&q, &c, &d) < 0)
		return 0;
	return same_addr(&a, &c) && same_addr(&b, &d) && p->proto == q.proto &&
	       p->l4_len == q.l4_len && !memcmp(p->l4, q.l4, q.l4_len);
}

/* An echo reply from the echo's destination to its id. */
static int is_reply(const struct inject *in, const struct ipr_parsed *p)
{
	struct ipr_addr src;
	unsigned int type = p->version == 4 ? 0 : 129;
	uint8_t proto = p->version == 4 ? 1 : 58;

	if (in->kind != KIND_ECHO || !p->l4 || p->proto != proto || p->sport >> 8 != type ||
	    p->dport != in->id)
		return 0;
	return ipr_packet_addrs(p, &src, NULL) == 0 && same_addr(&src, &in->dst);
}

static void look_at(const struct inject *in, const struct ipr_packet *pkt, struct watch *w)
{
	char addr[IPR_ADDR_STRLEN];
	struct ipr_parsed p;
	struct ipr_addr src;

	if (ipr_parse(pkt->data, pkt->caplen, &p) < 0)
		return;
	if (is_own(in, &p)) {
		printf("own packet seen layer=%s\n", layer_name(pkt->layer));
		w->own_seen = 1;
	}
	if (!w->replied && is_reply(in, &p)) {
		ipr_packet_addrs(&p, &src, NULL);
		ipr_addr_format(&src, addr, sizeof(addr));
		printf("reply from %s\n", addr);
		w->replied = 1;
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* poll() the handle: 1 readable, 0 timeout or signal, -errno. */
static int wait_packets(struct ipr_handle *h, int timeout_ms)
{
	struct pollfd pfd = { .fd = ipr_fd(h), .events = POLLIN };
	int n = poll(&pfd, 1, timeout_ms);

	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	return n;
}

/* Accept what the handle receives until the echo reply or the deadline (< 0: until a signal). */
static int watch(struct ipr_handle *h, const struct inject *in, struct watch *w, double deadline,
		 void *buf, size_t slot)
{
	struct ipr_packet pkts[BATCH];
	int n;

	while (!stop) {
		double left = deadline - now();

		if (deadline >= 0 && (left <= 0 || w->replied))
			return 0;
		n = wait_packets(h, deadline < 0 ? -1 : (int)(left * 1000) + 1);
		if (n <= 0) {
			if (n < 0)
				return n;
			continue;
		}
		n = ipr_recv_batch(h, buf, slot * BATCH, pkts, BATCH, IPR_RECV_NONBLOCK);
		if (n == -EAGAIN || n == -EINTR)
			continue;
		if (n < 0)
			return n;
		for (int i = 0; i < n; i++) {
			look_at(in, &pkts[i], w);
			ipr_accept(h, &pkts[i]);
		}
		ipr_flush(h);
	}
	return 0;
}

static int send_and_watch(struct ipr_handle *h, struct inject *in)
{
	size_t slot = ipr_slot_size(h);
	void *buf = malloc(slot * BATCH);
	struct watch w = { 0 };
	int err;

	if (!buf) {
		fprintf(stderr, "iprinject: out of memory\n");
		return 1;
	}
	err = ipr_send(h, in->pkt, in->len, in->direction);
	if (err) {
		fprintf(stderr, "iprinject: refused: %s\n", ipr_last_error());
		goto out;
	}
	printf("sent dir=%s len=%zu\n", layer_name((uint8_t)in->direction), in->len);
	err = watch(h, in, &w, in->kind == KIND_ECHO ? now() + in->wait : now(), buf, slot);
	if (!err && in->hold)
		err = watch(h, in, &w, -1, buf, slot);
	if (err)
		fprintf(stderr, "iprinject: receiving: %s\n", strerror(-err));
	else if (in->kind == KIND_ECHO && !w.replied)
		fprintf(stderr, "iprinject: no echo reply within %.0f s\n", in->wait);
out:
	free(buf);
	return err || (in->kind == KIND_ECHO && !w.replied) ? 1 : 0;
}

int main(int argc, char **argv)
{
	static struct inject in = { .opts = IPR_OPTIONS_INIT, .direction = IPR_LAYER_OUT,
				    .id = 0x4242, .seq = 1, .size = DEFAULT_ECHO_SIZE, .wait = 3 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct ipr_handle *h;
	int status;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv, &in);
	build(&in);
	if (!in.opts.filter)
		in.opts.filter = "icmp or icmp6";
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (ipr_open(&in.opts, &h)) {
		fprintf(stderr, "iprinject: %s\n", ipr_last_error());
		return 1;
	}
	status = send_and_watch(h, &in);
	ipr_close(h);
	return status;
}
