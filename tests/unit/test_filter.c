/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test_filter.c - pcap expressions compiled for xt_bpf and user space, run over canned packets. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "check.h"
#include "internal.h"

#define RANDOM_PACKETS 20000
#define EXPR_MAX 8192

struct packet {
	uint8_t bytes[80];
	uint32_t caplen;
	uint32_t len;
};

struct flow {
	int v6;
	uint8_t proto;
	uint8_t src[16], dst[16];
	uint16_t sport, dport; /* ICMP: ignored, an echo request is built */
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t l4_header_len(uint8_t proto)
{
	return proto == IPPROTO_TCP ? 20 : 8;
}

static void build_l4(uint8_t *l4, const struct flow *fl)
{
	if (fl->proto == IPPROTO_ICMP || fl->proto == IPPROTO_ICMPV6) {
		l4[0] = fl->proto == IPPROTO_ICMP ? 8 : 128;
		return;
	}
	put16(l4, fl->sport);
	put16(l4 + 2, fl->dport);
	if (fl->proto == IPPROTO_TCP)
		l4[12] = 0x50;
	else
		put16(l4 + 4, 8);
}

/* A whole (not truncated) packet of flow fl. */
static void build_packet(struct packet *pkt, const struct flow *fl)
{
	uint32_t l3_len = fl->v6 ? 40 : 20;
	uint8_t *b = pkt->bytes;

	memset(pkt, 0, sizeof(*pkt));
	pkt->len = pkt->caplen = l3_len + l4_header_len(fl->proto);
	if (fl->v6) {
		b[0] = 0x60;
		put16(b + 4, (uint16_t)(pkt->len - l3_len));
		b[6] = fl->proto;
		b[7] = 64;
		memcpy(b + 8, fl->src, 16);
		memcpy(b + 24, fl->dst, 16);
	} else {
		b[0] = 0x45;
		put16(b + 2, (uint16_t)pkt->len);
		b[8] = 64;
		b[9] = fl->proto;
		memcpy(b + 12, fl->src, 4);
		memcpy(b + 16, fl->dst, 4);
	}
	build_l4(b + l3_len, fl);
}

static void canned_packet(struct packet *pkt, const char *src, const char *dst, uint8_t proto,
			  uint16_t sport, uint16_t dport)
{
	struct flow fl = { .v6 = strchr(src, ':') != NULL, .proto = proto,
			   .sport = sport, .dport = dport };
	int family = fl.v6 ? AF_INET6 : AF_INET;

	CHECK(inet_pton(family, src, fl.src) == 1);
	CHECK(inet_pton(family, dst, fl.dst) == 1);
	build_packet(pkt, &fl);
}

/* struct sock_filter -> struct bpf_insn, field by field; 0 if it does not fit xt_bpf. */
static unsigned int to_bpf_insns(const struct sock_filter *prog, unsigned int n,
				 struct bpf_insn *out)
{
	if (n == 0 || n > IPR_XT_BPF_MAX)
		return 0;
	for (unsigned int i = 0; i < n; i++) {
		out[i].code = prog[i].code;
		out[i].jt = prog[i].jt;
		out[i].jf = prog[i].jf;
		out[i].k = prog[i].k;
	}
	return n;
}

/* Run the kernel program the way xt_bpf would: non-zero return = match. */
static int kernel_match(const struct ipr_filter *f, const struct packet *pkt)
{
	struct bpf_insn insns[IPR_XT_BPF_MAX];

	if (!f->kernel)
		return 1;
	if (!to_bpf_insns(f->kernel, f->kernel_len, insns))
		return -1;
	return bpf_filter(insns, pkt->bytes, pkt->len, pkt->caplen) != 0;
}

/* The kernel program passes libpcap's own validator and ends in a return. */
static int kernel_valid(const struct ipr_filter *f)
{
	struct bpf_insn insns[IPR_XT_BPF_MAX];
	unsigned int n = to_bpf_insns(f->kernel, f->kernel_len, insns);

	return n && bpf_validate(insns, (int)n) && BPF_CLASS(insns[n - 1].code) == BPF_RET;
}

static int user_match(const struct ipr_filter *f, const struct packet *pkt)
{
	return ipr_filter_match(f, pkt->bytes, pkt->caplen, pkt->len);
}

/* Filters with long host and port lists. */
#define LIST_HOSTS 30  /* 10.0.0.1 .. 10.0.0.30 */
#define LIST_PORTS 20  /* 1007, 1014, ... every 7th port */
#define LIST_HOSTS6 12 /* fd00::1 .. fd00::c */

static void append_or(char *buf, const char *term)
{
	size_t used = strlen(buf);

	snprintf(buf + used, EXPR_MAX - used, "%s%s", used ? " or " : "", term);
}

static void host_list(char *buf, unsigned int n)
{
	char term[32];

	buf[0] = '\0';
	for (unsigned int i = 1; i <= n; i++) {
		snprintf(term, sizeof(term), "host 10.0.0.%u", i);
		append_or(buf, term);
	}
}

static void port_list(char *buf, unsigned int n)
{
	char term[32];

	buf[0] = '\0';
	for (unsigned int i = 1; i <= n; i++) {
		snprintf(term, sizeof(term), "port %u", 1000 + 7 * i);
		append_or(buf, term);
	}
}

static void host6_list(char *buf, unsigned int n)
{
	char term[32];

	buf[0] = '\0';
	for (unsigned int i = 1; i <= n; i++) {
		snprintf(term, sizeof(term), "host fd00::%x", i);
		append_or(buf, term);
	}
}

/* ---- cases ---- */

static void test_simple_filters_fit_kernel(void)
{
	static const char *const exprs[] = {
		"tcp port 80 and host 10.1.2.3", "ip6 and udp", "icmp", "net fd00::/8",
	};

	for (size_t i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
		struct ipr_filter f;

		CHECK(ipr_filter_compile(exprs[i], 0, &f) == 0);
		CHECK(f.prog && f.prog_len > 1 && f.prog_len <= IPR_XT_BPF_MAX);
		CHECK(f.kernel && f.kernel_len == f.prog_len);
		CHECK(f.kernel && memcmp(f.kernel, f.prog, f.prog_len * sizeof(*f.prog)) == 0);
		CHECK(f.user == 0);
		CHECK(kernel_valid(&f));
		ipr_filter_free(&f);
		CHECK(!f.prog && !f.kernel);
	}
}

static void test_empty_filter_matches_all(void)
{
	static const char *const exprs[] = { NULL, "", " \t\n " };
	struct packet garbage = { .bytes = { 0x10, 0x20 }, .caplen = 2, .len = 2 };

	for (size_t i = 0; i < sizeof(exprs) / sizeof(exprs[0]); i++) {
		struct ipr_filter f;

		CHECK(ipr_filter_compile(exprs[i], 0, &f) == 0);
		CHECK(!f.prog && f.prog_len == 0);
		CHECK(!f.kernel && f.kernel_len == 0);
		CHECK(f.user == 0);
		CHECK(user_match(&f, &garbage) == 1);
		ipr_filter_free(&f);
	}
}

/* The failure, its message, and a filter left empty. */
static void check_bad_filter(const char *expr, const char *where)
{
	struct ipr_filter f;
	char prefix[256];

	snprintf(prefix, sizeof(prefix), "bad filter \"%s\": ", expr);
	CHECK(ipr_filter_compile(expr, 0, &f) == -EINVAL);
	CHECK(!f.prog && !f.kernel && f.prog_len == 0 && f.kernel_len == 0);
	CHECK(strncmp(ipr_last_error(), prefix, strlen(prefix)) == 0);
	if (where) {
		const char *at = strstr(ipr_last_error(), where);

		CHECK(at && strcmp(at, where) == 0);
	} else {
		CHECK(!strstr(ipr_last_error(), " at word "));
	}
	ipr_filter_free(&f);
}

static void test_bad_filter_is_einval(void)
{
	check_bad_filter("tcp prot 80", "syntax error at word 2");
	check_bad_filter("tcp and and port 80", "syntax error at word 3");
	check_bad_filter("host nosuchhost.invalid", "unknown host 'nosuchhost.invalid' at word 2");
	check_bad_filter("tcp port 80 and (host nosuchhost.invalid)", " at word 6");
	check_bad_filter("udp and port nosuchport", "unknown port 'nosuchport' at word 4");
	check_bad_filter("host 300.1.1.1", " at word 2");
	/* the same name twice: libpcap does not say which one, so neither do we */
	check_bad_filter("host nosuch.invalid or host nosuch.invalid", NULL);
	check_bad_filter("udp port 53 and tcp[13] = 2", NULL);
	check_bad_filter("tcp port 80 and (", "syntax error at the end");
}

/* A long expression is cut in the message; the reason and the word stay. */
static void test_bad_long_filter_keeps_reason(void)
{
	static const char tail[] = "unknown host 'nosuch.invalid' at word 92";
	char expr[EXPR_MAX];
	struct ipr_filter f;
	size_t len;

	host_list(expr, LIST_HOSTS);
	append_or(expr, "host nosuch.invalid");
	CHECK(ipr_filter_compile(expr, 0, &f) == -EINVAL);
	len = strlen(ipr_last_error());
	CHECK(strncmp(ipr_last_error(), "bad filter \"host 10.0.0.1 or ", 29) == 0);
	CHECK(strstr(ipr_last_error(), "...\": "));
	CHECK(len > sizeof(tail) && strcmp(ipr_last_error() + len - strlen(tail), tail) == 0);
}

struct canned {
	const char *expr;
	const char *src, *dst;
	uint8_t proto;
	uint16_t sport, dport;
	int match;
};

static const struct canned canned_cases[] = {
	{ "tcp port 80 and host 10.1.2.3", "10.1.2.3", "10.9.9.9", IPPROTO_TCP, 40000, 80, 1 },
	{ "tcp port 80 and host 10.1.2.3", "10.9.9.9", "10.1.2.3", IPPROTO_TCP, 80, 40000, 1 },
	{ "tcp port 80 and host 10.1.2.3", "10.1.2.4", "10.9.9.9", IPPROTO_TCP, 40000, 80, 0 },
	{ "tcp port 80 and host 10.1.2.3", "10.1.2.3", "10.9.9.9", IPPROTO_UDP, 40000, 80, 0 },
	{ "tcp port 80 and host 10.1.2.3", "10.1.2.3", "10.9.9.9", IPPROTO_TCP, 40000, 81, 0 },
	{ "ip6 and udp", "fd00::1", "fd00::2", IPPROTO_UDP, 5000, 53, 1 },
	{ "ip6 and udp", "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 5000, 53, 0 },
	{ "ip6 and udp", "fd00::1", "fd00::2", IPPROTO_TCP, 5000, 53, 0 },
	{ "icmp", "10.0.0.1", "10.0.0.2", IPPROTO_ICMP, 0, 0, 1 },
	{ "icmp", "fd00::1", "fd00::2", IPPROTO_ICMPV6, 0, 0, 0 },
	{ "icmp6", "fd00::1", "fd00::2", IPPROTO_ICMPV6, 0, 0, 1 },
	{ "udp dst port 53 and dst host fd00::53", "fd00::1", "fd00::53", IPPROTO_UDP, 999, 53, 1 },
	{ "udp dst port 53 and dst host fd00::53", "fd00::53", "fd00::1", IPPROTO_UDP, 53, 999, 0 },
	{ "not tcp", "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 1, 2, 1 },
	{ "not tcp", "fd00::1", "fd00::2", IPPROTO_TCP, 1, 2, 0 },
};

static void test_match_canned_packets(void)
{
	for (size_t i = 0; i < sizeof(canned_cases) / sizeof(canned_cases[0]); i++) {
		const struct canned *c = &canned_cases[i];
		struct ipr_filter f, forced;
		struct packet pkt;

		canned_packet(&pkt, c->src, c->dst, c->proto, c->sport, c->dport);
		CHECK(ipr_filter_compile(c->expr, 0, &f) == 0);
		CHECK(ipr_filter_compile(c->expr, 1, &forced) == 0);
		if (user_match(&f, &pkt) != c->match)
			fprintf(stderr, "  case %zu: \"%s\" expected %d\n", i, c->expr, c->match);
		CHECK(user_match(&f, &pkt) == c->match);
		CHECK(kernel_match(&f, &pkt) == c->match);
		CHECK(user_match(&forced, &pkt) == c->match);
		ipr_filter_free(&f);
		ipr_filter_free(&forced);
	}
}

/* caplen bounds what the program may read; len is what "len" compares. */
static void test_truncated_packets(void)
{
	struct ipr_filter port, length;
	struct packet pkt;

	CHECK(ipr_filter_compile("tcp port 80", 0, &port) == 0);
	CHECK(ipr_filter_compile("len > 1000", 0, &length) == 0);
	canned_packet(&pkt, "10.0.0.1", "10.0.0.2", IPPROTO_TCP, 1234, 80);
	pkt.caplen = 24;
	CHECK(user_match(&port, &pkt) == 1);
	pkt.caplen = 20;
	CHECK(user_match(&port, &pkt) == 0);
	pkt.len = 1500;
	CHECK(user_match(&length, &pkt) == 1);
	pkt.len = pkt.caplen;
	CHECK(user_match(&length, &pkt) == 0);
	ipr_filter_free(&port);
	ipr_filter_free(&length);
}

static void test_force_user(void)
{
	struct ipr_filter f;
	struct packet pkt;

	CHECK(ipr_filter_compile("tcp port 80", 1, &f) == 0);
	CHECK(f.prog && f.prog_len > 0);
	CHECK(!f.kernel && f.kernel_len == 0);
	CHECK(f.user == 1);
	canned_packet(&pkt, "fd00::1", "fd00::2", IPPROTO_TCP, 80, 1234);
	CHECK(user_match(&f, &pkt) == 1);
	canned_packet(&pkt, "fd00::1", "fd00::2", IPPROTO_TCP, 81, 1234);
	CHECK(user_match(&f, &pkt) == 0);
	ipr_filter_free(&f);

	CHECK(ipr_filter_compile("", 1, &f) == 0);
	CHECK(!f.prog && !f.kernel && f.user == 1);
	CHECK(user_match(&f, &pkt) == 1);
	ipr_filter_free(&f);
}

/* ---- the coarse kernel program of a large filter ---- */

static uint32_t next_random(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

static void random_addr(uint32_t *rng, int v6, uint8_t *addr)
{
	uint32_t r = next_random(rng);

	memset(addr, 0, 16);
	if (r % 2 == 0) {
		for (int i = 0; i < 16; i++)
			addr[i] = (uint8_t)next_random(rng);
	} else if (v6) {
		addr[0] = 0xfd;
		addr[15] = (uint8_t)(1 + r / 2 % (2 * LIST_HOSTS6)); /* half in the list */
	} else {
		addr[0] = 10;
		addr[3] = (uint8_t)(1 + r / 2 % (2 * LIST_HOSTS));
	}
}

static uint16_t random_port(uint32_t *rng)
{
	uint32_t r = next_random(rng);

	if (r % 2)
		return (uint16_t)(r >> 16);
	return (uint16_t)(1000 + 7 * (1 + r / 2 % (2 * LIST_PORTS)));
}

static const uint8_t random_protos[] = {
	IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_GRE,
};

/* Not IPv4 or IPv6: the version nibble is anything else. */
static void random_garbage(uint32_t *rng, struct packet *pkt)
{
	static const uint8_t versions[] = { 0, 1, 2, 3, 5, 7, 9, 15 };

	for (size_t i = 0; i < sizeof(pkt->bytes); i++)
		pkt->bytes[i] = (uint8_t)next_random(rng);
	pkt->bytes[0] = (uint8_t)(versions[pkt->bytes[0] % 8] << 4 | 5);
	pkt->len = pkt->caplen = 60;
}

/* An IPv4/IPv6 TCP/UDP/ICMP/... packet, sometimes a fragment or truncated. */
static void random_ip_packet(uint32_t *rng, struct packet *pkt)
{
	uint32_t r = next_random(rng);
	struct flow fl = {
		.v6 = r % 2,
		.proto = random_protos[r / 2 % sizeof(random_protos)],
	};

	random_addr(rng, fl.v6, fl.src);
	random_addr(rng, fl.v6, fl.dst);
	fl.sport = random_port(rng);
	fl.dport = random_port(rng);
	build_packet(pkt, &fl);
	if (!fl.v6 && r % 64 == 1)
		pkt->bytes[7] = 0x10; /* a later fragment */
	if (r % 32 == 3)
		pkt->caplen = 1 + r / 64 % pkt->caplen;
}

struct soundness {
	unsigned int matched;         /* full program matched */
	unsigned int nonmatched;      /* full program did not match */
	unsigned int coarse_rejected; /* of those, the kernel program rejected */
	unsigned int unsound;         /* full matched, kernel program did not */
	unsigned int garbage_passed;  /* non-IP packets the kernel program matched */
};

static void run_random_packets(const struct ipr_filter *f, struct soundness *s)
{
	uint32_t rng = 0x9e3779b9;
	struct packet pkt;

	memset(s, 0, sizeof(*s));
	for (unsigned int i = 0; i < RANDOM_PACKETS; i++) {
		int garbage = i % 10 == 0, full, coarse;

		if (garbage)
			random_garbage(&rng, &pkt);
		else
			random_ip_packet(&rng, &pkt);
		full = user_match(f, &pkt);
		coarse = kernel_match(f, &pkt);
		s->matched += full;
		s->nonmatched += !full;
		s->coarse_rejected += !full && !coarse;
		s->unsound += full && !coarse;
		s->garbage_passed += garbage && coarse;
	}
}

static void check_coarse_filter(const char *expr)
{
	struct soundness s;
	struct ipr_filter f;

	CHECK(ipr_filter_compile(expr, 0, &f) == 0);
	CHECK(f.prog_len > IPR_XT_BPF_MAX);
	CHECK(f.user == 1);
	CHECK(f.kernel && f.kernel_len <= IPR_XT_BPF_MAX);
	CHECK(kernel_valid(&f));
	run_random_packets(&f, &s);
	if (getenv("CHECK_VERBOSE"))
		fprintf(stderr, "  %u insns -> %u: %u matched, %u of %u others rejected by kernel\n",
			f.prog_len, f.kernel_len, s.matched, s.coarse_rejected, s.nonmatched);
	CHECK(s.matched > 0 && s.nonmatched > 0);
	CHECK(s.unsound == 0);
	CHECK(s.coarse_rejected > 0);
	CHECK(s.garbage_passed == 0);
	ipr_filter_free(&f);
}

static void test_large_filter_coarse_kernel_superset(void)
{
	char *hosts = malloc(EXPR_MAX), *ports = malloc(EXPR_MAX);
	char *hosts6 = malloc(EXPR_MAX), *expr = malloc(EXPR_MAX);

	CHECK(hosts && ports && hosts6 && expr);
	if (!hosts || !ports || !hosts6 || !expr)
		goto out;
	host_list(hosts, LIST_HOSTS);
	port_list(ports, LIST_PORTS);
	host6_list(hosts6, LIST_HOSTS6);
	check_coarse_filter(hosts);
	check_coarse_filter(ports);
	check_coarse_filter(hosts6);
	snprintf(expr, EXPR_MAX, "(tcp or udp) and (%s) and (%s)", hosts, ports);
	check_coarse_filter(expr);
	snprintf(expr, EXPR_MAX, "icmp or (tcp and (%s))", ports);
	check_coarse_filter(expr);
	snprintf(expr, EXPR_MAX, "(%s) and not udp", hosts6);
	check_coarse_filter(expr);
	host_list(expr, 150); /* long enough for libpcap to emit "ja" */
	check_coarse_filter(expr);
out:
	free(hosts);
	free(ports);
	free(hosts6);
	free(expr);
}

/* Protocols the filter never names never reach user space. */
static void test_coarse_rejects_unnamed_protocols(void)
{
	char expr[EXPR_MAX];
	struct ipr_filter f;
	struct packet pkt;

	port_list(expr, LIST_PORTS);
	CHECK(ipr_filter_compile(expr, 0, &f) == 0);
	CHECK(f.user == 1);
	canned_packet(&pkt, "10.0.0.1", "10.0.0.2", IPPROTO_ICMP, 0, 0);
	CHECK(kernel_match(&f, &pkt) == 0);
	canned_packet(&pkt, "fd00::1", "fd00::2", IPPROTO_ICMPV6, 0, 0);
	CHECK(kernel_match(&f, &pkt) == 0);
	canned_packet(&pkt, "10.0.0.1", "10.0.0.2", IPPROTO_TCP, 1000 + 7 * 20, 9);
	CHECK(kernel_match(&f, &pkt) == 1 && user_match(&f, &pkt) == 1);
	ipr_filter_free(&f);
}

CHECK_MAIN("filter",
	   CHECK_CASE(test_simple_filters_fit_kernel),
	   CHECK_CASE(test_empty_filter_matches_all),
	   CHECK_CASE(test_bad_filter_is_einval),
	   CHECK_CASE(test_bad_long_filter_keeps_reason),
	   CHECK_CASE(test_match_canned_packets),
	   CHECK_CASE(test_truncated_packets),
	   CHECK_CASE(test_force_user),
	   CHECK_CASE(test_large_filter_coarse_kernel_superset),
	   CHECK_CASE(test_coarse_rejects_unnamed_protocols))
