/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_packet.c - packet helpers over canned packet bytes.
 *
 * The packets were built by hand and their checksums computed once with an
 * independent RFC 1071 implementation; the fill tests must reproduce them byte
 * for byte. Each case copies its input into a buffer of exactly the length
 * under test, so valgrind or -fsanitize=address catch any read past it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "ipredir.h"
#include "packets.h"

/* 10.0.0.1:40000 -> 10.0.0.2:80 SYN; MSS, SACK-permitted, timestamps, NOP, window scale */
static const uint8_t ipv4_tcp_syn[60] = {
	0x45, 0x00, 0x00, 0x3c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x06, 0x0a, 0x74,
	0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x9c, 0x40, 0x00, 0x50,
	0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0,
	0x36, 0x6c, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
	0x00, 0xbc, 0x61, 0x4e, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
};

/* 10.0.0.1:9 -> 10.0.0.2:9 UDP whose checksum computes to 0, so it is sent as 0xffff */
static const uint8_t ipv4_udp_csum0[30] = {
	0x45, 0x00, 0x00, 0x1e, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x11, 0x0a, 0x87,
	0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x00, 0x09, 0x00, 0x09,
	0x00, 0x0a, 0xff, 0xff, 0xeb, 0xc5,
};

/* [2001:db8::1]:443 -> [2001:db8::2]:51000 PSH|ACK, "GET /" */
static const uint8_t ipv6_tcp[65] = {
	0x60, 0x00, 0x00, 0x00, 0x00, 0x19, 0x06, 0x40, 0x20, 0x01, 0x0d, 0xb8,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x02, 0x01, 0xbb, 0xc7, 0x38, 0x11, 0x22, 0x33, 0x44,
	0x55, 0x66, 0x77, 0x88, 0x50, 0x18, 0x01, 0xf6, 0xad, 0xae, 0x00, 0x00,
	0x47, 0x45, 0x54, 0x20, 0x2f,
};

/* [2001:db8::1]:7 -> [2001:db8::2]:7 UDP "rt" with a type 2 routing header (segments
 * left 1) naming 2001:db8::99: the checksum uses that final destination */
static const uint8_t ipv6_udp_rh2[74] = {
	0x60, 0x00, 0x00, 0x00, 0x00, 0x22, 0x2b, 0x40, 0x20, 0x01, 0x0d, 0xb8,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x02, 0x11, 0x02, 0x02, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x99, 0x00, 0x07, 0x00, 0x07, 0x00, 0x0a, 0x31, 0x4c,
	0x72, 0x74,
};

/* What ipr_parse must find in each canned packet. */
struct canned {
	const char *name;
	const uint8_t *bytes;
	size_t len;
	uint8_t version, proto;
	uint16_t l3_hdr_len, l4_hdr_len;
	uint16_t sport, dport;
	uint16_t csum_off; /* transport checksum, from the start of the packet */
};

#define CANNED(pkt, ...) { #pkt, pkt, sizeof(pkt), __VA_ARGS__ }

static const struct canned canned[] = {
	CANNED(ipv4_icmp_echo, 4, IPPROTO_ICMP, 20, 8, 0x0800, 0x1234, 22),
	CANNED(ipv4_tcp_syn, 4, IPPROTO_TCP, 20, 40, 40000, 80, 36),
	CANNED(ipv4_udp, 4, IPPROTO_UDP, 20, 8, 5353, 53, 26),
	CANNED(ipv4_udp_csum0, 4, IPPROTO_UDP, 20, 8, 9, 9, 26),
	CANNED(ipv6_tcp, 6, IPPROTO_TCP, 40, 20, 443, 51000, 56),
	CANNED(ipv6_udp_ext, 6, IPPROTO_UDP, 64, 8, 1000, 2000, 70),
	CANNED(ipv6_icmp_echo, 6, IPPROTO_ICMPV6, 40, 8, 0x8000, 0xbeef, 42),
	CANNED(ipv6_udp_rh2, 6, IPPROTO_UDP, 64, 8, 7, 7, 70),
};

#define N_CANNED (sizeof(canned) / sizeof(canned[0]))

/* A heap copy of exactly len bytes, so a read past it is caught by the tools. */
static uint8_t *dup_exact(const uint8_t *src, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);

	if (!copy)
		abort();
	memcpy(copy, src, len);
	return copy;
}

/* A canned packet with one byte changed. */
static uint8_t *dup_with(const uint8_t *src, size_t len, size_t at, uint8_t value)
{
	uint8_t *copy = dup_exact(src, len);

	copy[at] = value;
	return copy;
}

/* Parse an exact copy; the views in *p dangle afterwards, use only its numbers. */
static int parse_exact(const uint8_t *src, size_t len, struct ipr_parsed *p)
{
	uint8_t *copy = dup_exact(src, len);
	int ret = ipr_parse(copy, len, p);

	free(copy);
	return ret;
}

static uint16_t read_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Every invariant of a successful parse of caplen bytes at buf. */
static int views_consistent(const struct ipr_parsed *p, const uint8_t *buf, size_t caplen)
{
	uint32_t expect_l3_len = p->ip_len && p->ip_len < caplen ? p->ip_len : (uint32_t)caplen;

	if (p->l3 != buf || p->l3_len != expect_l3_len || p->truncated != (p->ip_len > caplen))
		return 0;
	if (p->l3_hdr_len > p->l3_len || (p->version != 4 && p->version != 6))
		return 0;
	if (!p->l4)
		return !p->l4_hdr_len && !p->l4_len && !p->payload && !p->payload_len &&
		       !p->sport && !p->dport;
	if (p->l4 != buf + p->l3_hdr_len || !p->l4_hdr_len || p->l4_hdr_len > p->l4_len)
		return 0;
	if (p->l3_hdr_len + p->l4_len != p->l3_len || p->payload_len != p->l4_len - p->l4_hdr_len)
		return 0;
	return p->payload == (p->payload_len ? p->l4 + p->l4_hdr_len : NULL);
}

/* Deterministic pseudo-random numbers (xorshift32). */
static uint32_t rng_state = 0x9e3779b9;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* ---- parsing well-formed packets ---- */

static void test_parse_canned(void)
{
	for (size_t i = 0; i < N_CANNED; i++) {
		const struct canned *c = &canned[i];
		uint8_t *buf = dup_exact(c->bytes, c->len);
		struct ipr_parsed p;

		CHECK(ipr_parse(buf, c->len, &p) == 0);
		CHECK(views_consistent(&p, buf, c->len));
		CHECK(p.version == c->version && p.proto == c->proto);
		CHECK(p.l3_hdr_len == c->l3_hdr_len && p.l4_hdr_len == c->l4_hdr_len);
		CHECK(p.sport == c->sport && p.dport == c->dport);
		CHECK(p.ip_len == c->len && p.l3_len == c->len && !p.truncated && !p.fragment);
		CHECK(p.l4_len == c->len - c->l3_hdr_len);
		CHECK(p.ttl == 64);
		if (check_failed)
			fprintf(stderr, "  in %s\n", c->name);
		free(buf);
	}
}

static void test_parse_payload_views(void)
{
	struct ipr_parsed p;
	uint8_t *buf;

	CHECK(parse_exact(ipv4_tcp_syn, sizeof(ipv4_tcp_syn), &p) == 0);
	CHECK(p.payload_len == 0 && p.l4_hdr_len == 40); /* a SYN carries none */
	CHECK(parse_exact(ipv4_icmp_echo, sizeof(ipv4_icmp_echo), &p) == 0);
	CHECK(p.payload_len == 5);
	buf = dup_exact(ipv6_tcp, sizeof(ipv6_tcp));
	CHECK(ipr_parse(buf, sizeof(ipv6_tcp), &p) == 0);
	CHECK(p.payload_len == 5 && p.payload == buf + 60 && memcmp(p.payload, "GET /", 5) == 0);
	free(buf);
}

static void test_parse_ignores_padding(void)
{
	for (size_t i = 0; i < N_CANNED; i++) {
		const struct canned *c = &canned[i];
		size_t padded_len = c->len + 7;
		uint8_t *buf = calloc(1, padded_len);
		struct ipr_parsed p;

		memcpy(buf, c->bytes, c->len);
		memset(buf + c->len, 0xee, 7);
		CHECK(ipr_parse(buf, padded_len, &p) == 0);
		CHECK(views_consistent(&p, buf, padded_len));
		CHECK(p.l3_len == c->len && p.ip_len == c->len && !p.truncated);
		CHECK(p.l4_len == c->len - c->l3_hdr_len);
		CHECK(ipr_checksum_verify(buf, padded_len) == 0);
		CHECK(ipr_checksum_fill(buf, padded_len) == 0);
		CHECK(memcmp(buf, c->bytes, c->len) == 0 && buf[c->len] == 0xee);
		free(buf);
	}
}

/* Every prefix of a valid packet: an error, or a correct truncated view. */
static void test_parse_every_truncation(void)
{
	for (size_t i = 0; i < N_CANNED; i++) {
		const struct canned *c = &canned[i];
		size_t whole_l4 = (size_t)c->l3_hdr_len + c->l4_hdr_len;

		for (size_t n = 0; n < c->len; n++) {
			uint8_t *buf = dup_exact(c->bytes, n);
			struct ipr_parsed p;
			int ret = ipr_parse(buf, n, &p);

			if (n < c->l3_hdr_len) {
				CHECK(ret == -EMSGSIZE);
			} else {
				CHECK(ret == 0 && views_consistent(&p, buf, n));
				CHECK(p.truncated && p.l3_len == n && p.ip_len == c->len);
				CHECK((p.l4 != NULL) == (n >= whole_l4));
				CHECK(!p.l4 || (p.sport == c->sport && p.dport == c->dport));
			}
			CHECK(ipr_checksum_fill(buf, n) < 0);
			CHECK(ipr_checksum_verify(buf, n) < 0);
			if (check_failed) {
				fprintf(stderr, "  in %s cut at %zu\n", c->name, n);
				free(buf);
				return;
			}
			free(buf);
		}
	}
}

/* ---- malformed IPv4 ---- */

struct malformed {
	const char *what;
	const uint8_t *bytes;
	size_t len;
	size_t at; /* byte to change */
	uint8_t value;
	int expect;
};

static void run_malformed(const struct malformed *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct malformed *m = &cases[i];
		uint8_t *buf = dup_with(m->bytes, m->len, m->at, m->value);
		struct ipr_parsed p;

		CHECK(ipr_parse(buf, m->len, &p) == m->expect);
		if (m->expect < 0)
			CHECK(p.l3 == NULL && p.l4 == NULL);
		if (check_failed) {
			fprintf(stderr, "  in case \"%s\"\n", m->what);
			free(buf);
			return;
		}
		free(buf);
	}
}

static void test_parse_bad_ipv4(void)
{
	static const struct malformed cases[] = {
		{ "version 0", ipv4_udp, sizeof(ipv4_udp), 0, 0x05, -EINVAL },
		{ "version 5", ipv4_udp, sizeof(ipv4_udp), 0, 0x55, -EINVAL },
		{ "version 15", ipv4_udp, sizeof(ipv4_udp), 0, 0xf5, -EINVAL },
		{ "IHL 4", ipv4_udp, sizeof(ipv4_udp), 0, 0x44, -EINVAL },
		{ "IHL 0", ipv4_udp, sizeof(ipv4_udp), 0, 0x40, -EINVAL },
		{ "IHL 15 beyond capture", ipv4_udp, sizeof(ipv4_udp), 0, 0x4f, -EMSGSIZE },
		{ "total length 19", ipv4_udp, sizeof(ipv4_udp), 3, 19, -EINVAL },
		{ "total length 1", ipv4_udp, sizeof(ipv4_udp), 3, 1, -EINVAL },
		{ "total length ends in UDP header", ipv4_udp, sizeof(ipv4_udp), 3, 24, -EINVAL },
		{ "total length ends in TCP options", ipv4_tcp_syn, sizeof(ipv4_tcp_syn), 3, 50,
		  -EINVAL },
		{ "TCP data offset 4", ipv4_tcp_syn, sizeof(ipv4_tcp_syn), 32, 0x40, -EINVAL },
		{ "TCP data offset 0", ipv4_tcp_syn, sizeof(ipv4_tcp_syn), 32, 0x00, -EINVAL },
		{ "TCP data offset 15 beyond IP", ipv4_tcp_syn, sizeof(ipv4_tcp_syn), 32, 0xf0,
		  -EINVAL },
		{ "no transport header at all", ipv4_tcp_syn, sizeof(ipv4_tcp_syn), 3, 20,
		  -EINVAL },
		{ "GRE: no transport view, no error", ipv4_udp, sizeof(ipv4_udp), 9, 47, 0 },
	};

	run_malformed(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_parse_ipv4_total_length(void)
{
	uint8_t *buf = dup_with(ipv4_tcp_syn, sizeof(ipv4_tcp_syn), 3, 0);
	struct ipr_parsed p;

	buf[2] = 0; /* total length 0: unknown (big GSO), the capture is the packet */
	CHECK(ipr_parse(buf, sizeof(ipv4_tcp_syn), &p) == 0);
	CHECK(views_consistent(&p, buf, sizeof(ipv4_tcp_syn)));
	CHECK(p.ip_len == 0 && p.l3_len == sizeof(ipv4_tcp_syn) && !p.truncated);
	CHECK(p.l4 && p.dport == 80);
	free(buf);

	buf = dup_with(ipv4_tcp_syn, sizeof(ipv4_tcp_syn), 2, 0x05); /* claims 1340 bytes */
	CHECK(ipr_parse(buf, sizeof(ipv4_tcp_syn), &p) == 0);
	CHECK(p.truncated && p.ip_len == 0x053c && p.l3_len == sizeof(ipv4_tcp_syn));
	CHECK(p.l4 && p.l4_hdr_len == 40);
	CHECK(ipr_checksum_fill(buf, sizeof(ipv4_tcp_syn)) == -EMSGSIZE);
	CHECK(ipr_checksum_verify(buf, sizeof(ipv4_tcp_syn)) == -EMSGSIZE);
	free(buf);
}

static void test_parse_ipv4_fragments(void)
{
	uint8_t *buf = dup_with(ipv4_tcp_syn, sizeof(ipv4_tcp_syn), 6, 0x20); /* MF, offset 0 */
	struct ipr_parsed p;

	CHECK(ipr_parse(buf, sizeof(ipv4_tcp_syn), &p) == 0);
	CHECK(p.fragment && p.l4 && p.l4_hdr_len == 40 && p.sport == 40000);
	buf[3] = 30; /* a first fragment too short for its TCP header: no error, no l4 */
	CHECK(ipr_parse(buf, sizeof(ipv4_tcp_syn), &p) == 0);
	CHECK(p.fragment && !p.l4 && views_consistent(&p, buf, sizeof(ipv4_tcp_syn)));
	free(buf);

	buf = dup_with(ipv4_tcp_syn, sizeof(ipv4_tcp_syn), 7, 0x05); /* DF, offset 40 bytes */
	buf[6] = 0x00;
	CHECK(ipr_parse(buf, sizeof(ipv4_tcp_syn), &p) == 0);
	CHECK(p.fragment && !p.l4 && !p.payload && p.proto == IPPROTO_TCP && !p.sport);
	CHECK(p.l3_hdr_len == 20 && p.l3_len == 60);
	free(buf);
}

/* ---- malformed and unusual IPv6 ---- */

static void test_parse_bad_ipv6(void)
{
	static const struct malformed cases[] = {
		{ "hop-by-hop length past payload", ipv6_udp_ext, sizeof(ipv6_udp_ext), 41, 0xff,
		  -EINVAL },
		{ "destination options length past payload", ipv6_udp_ext, sizeof(ipv6_udp_ext),
		  49, 3, -EINVAL },
		{ "hop-by-hop not first", ipv6_udp_ext, sizeof(ipv6_udp_ext), 48, 0, -EINVAL },
		{ "payload length ends inside the chain", ipv6_udp_ext, sizeof(ipv6_udp_ext), 5,
		  10, -EINVAL },
		{ "payload length ends at a next header", ipv6_udp_ext, sizeof(ipv6_udp_ext), 5,
		  8, -EINVAL },
		{ "payload length ends in UDP header", ipv6_udp_ext, sizeof(ipv6_udp_ext), 5, 28,
		  -EINVAL },
		{ "routing length past payload", ipv6_udp_rh2, sizeof(ipv6_udp_rh2), 41, 9,
		  -EINVAL },
		{ "TCP data offset 3", ipv6_tcp, sizeof(ipv6_tcp), 52, 0x30, -EINVAL },
		{ "no next header", ipv6_tcp, sizeof(ipv6_tcp), 6, IPPROTO_NONE, 0 },
		{ "ESP is not walked", ipv6_udp_ext, sizeof(ipv6_udp_ext), 56, IPPROTO_ESP, 0 },
		{ "ICMP (v4) in IPv6 is no transport we parse", ipv6_icmp_echo,
		  sizeof(ipv6_icmp_echo), 6, IPPROTO_ICMP, 0 },
	};

	run_malformed(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_parse_ipv6_chain_past_capture(void)
{
	uint8_t *buf = dup_with(ipv6_udp_ext, sizeof(ipv6_udp_ext), 5, 0xff); /* payload 255 */
	struct ipr_parsed p;

	buf[41] = 0x10; /* hop-by-hop of 136 bytes: inside the payload length, past the capture */
	CHECK(ipr_parse(buf, sizeof(ipv6_udp_ext), &p) == -EMSGSIZE);
	buf[4] = 0;
	buf[5] = 0; /* jumbo: the same chain can only run past the capture */
	CHECK(ipr_parse(buf, sizeof(ipv6_udp_ext), &p) == -EMSGSIZE);
	free(buf);
	CHECK(parse_exact(ipv6_udp_ext, 40, &p) == -EMSGSIZE);
	CHECK(parse_exact(ipv6_udp_ext, 41, &p) == -EMSGSIZE);
	CHECK(parse_exact(ipv6_udp_ext, 47, &p) == -EMSGSIZE);
	CHECK(parse_exact(ipv6_udp_ext, 64, &p) == 0 && p.truncated && !p.l4_hdr_len);
}

static void test_parse_ipv6_fragments(void)
{
	uint8_t *buf = dup_with(ipv6_udp_ext, sizeof(ipv6_udp_ext), 59, 0x01); /* M set */
	struct ipr_parsed p;

	CHECK(ipr_parse(buf, sizeof(ipv6_udp_ext), &p) == 0);
	CHECK(p.fragment && p.l4 && p.dport == 2000 && p.l3_hdr_len == 64);
	buf[59] = 0x08; /* offset 1 (8 bytes): a later fragment, no transport header */
	CHECK(ipr_parse(buf, sizeof(ipv6_udp_ext), &p) == 0);
	CHECK(p.fragment && !p.l4 && p.proto == IPPROTO_UDP && p.l3_hdr_len == 64);
	CHECK(views_consistent(&p, buf, sizeof(ipv6_udp_ext)));
	buf[59] = 0x06; /* only reserved bits: an atomic fragment */
	CHECK(ipr_parse(buf, sizeof(ipv6_udp_ext), &p) == 0);
	CHECK(!p.fragment && p.l4);
	free(buf);
}

static void test_parse_ipv6_jumbo(void)
{
	uint8_t *buf = dup_with(ipv6_tcp, sizeof(ipv6_tcp), 5, 0); /* payload length 0 */
	struct ipr_parsed p;

	CHECK(ipr_parse(buf, sizeof(ipv6_tcp), &p) == 0);
	CHECK(p.ip_len == 0 && p.l3_len == sizeof(ipv6_tcp) && !p.truncated);
	CHECK(p.l4 && p.payload_len == 5 && p.dport == 51000);
	free(buf);
}

/* An authentication header counts (len + 2) * 4 bytes. */
static void test_parse_ipv6_ah(void)
{
	uint8_t pkt[sizeof(ipv6_tcp) + 24] = { 0 };
	struct ipr_parsed p;

	memcpy(pkt, ipv6_tcp, 40);
	memcpy(pkt + 64, ipv6_tcp + 40, sizeof(ipv6_tcp) - 40);
	pkt[5] += 24;
	pkt[6] = IPPROTO_AH;
	pkt[40] = IPPROTO_TCP;
	pkt[41] = 4;
	CHECK(parse_exact(pkt, sizeof(pkt), &p) == 0);
	CHECK(p.l3_hdr_len == 64 && p.proto == IPPROTO_TCP && p.l4_hdr_len == 20 && p.sport == 443);
	pkt[41] = 7; /* 36 bytes: no room left for the TCP header */
	CHECK(parse_exact(pkt, sizeof(pkt), &p) == -EINVAL);
}

/* Mutated and random bytes never crash and never yield views outside the buffer. */
static void test_parse_fuzz(void)
{
	for (unsigned int round = 0; round < 20000; round++) {
		const struct canned *c = &canned[rng() % N_CANNED];
		size_t len = rng() % 4 ? c->len : rng() % (c->len + 1);
		uint8_t *buf = dup_exact(c->bytes, len);
		struct ipr_parsed p;

		for (unsigned int k = rng() % 4 + 1; len && k; k--)
			buf[rng() % len] = (uint8_t)rng();
		if (ipr_parse(buf, len, &p) == 0)
			CHECK(views_consistent(&p, buf, len));
		ipr_checksum_verify(buf, len);
		ipr_checksum_fill(buf, len);
		if (ipr_parse(buf, len, &p) == 0 && !p.truncated && p.l3_len == len)
			CHECK(ipr_checksum_verify(buf, len) == 0);
		ipr_decrement_ttl(buf, len);
		free(buf);
		if (check_failed)
			return;
	}
}

/* ---- checksums ---- */

static void test_csum_known_vectors(void)
{
	static const uint8_t rfc1071[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	static const uint8_t ip_hdr[] = {
		0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
	};

	CHECK(ntohs(ipr_csum_partial(rfc1071, sizeof(rfc1071), 0)) == 0xddf2);
	CHECK(ntohs((uint16_t)~ipr_csum_partial(ip_hdr, sizeof(ip_hdr), 0)) == 0xb861);
	CHECK(ipr_csum_partial(NULL, 0, 0) == 0);
	CHECK(ipr_csum_partial(NULL, 0, 0x1234) == 0x1234);
}

/* Plain RFC 1071 over big-endian words, in host order. */
static uint16_t reference_csum(const uint8_t *p, size_t len, uint16_t seed)
{
	uint64_t sum = seed;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += read_be16(p + i);
	if (len & 1)
		sum += (uint16_t)(p[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void test_csum_matches_reference(void)
{
	static const uint16_t seeds[] = { 0, 1, 0x1234, 0xfffe, 0xffff };
	uint8_t random[300];

	for (size_t i = 0; i < sizeof(random); i++)
		random[i] = (uint8_t)rng();
	for (size_t len = 0; len <= 300; len++) {
		for (size_t off = 0; off < 8; off++) {
			/* unaligned start, exact end */
			uint8_t *buf = malloc(off + len + 1);
			uint8_t *data = buf + 1 + off;

			memcpy(data, random, len);
			for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++)
				CHECK(ntohs(ipr_csum_partial(data, len, htons(seeds[s]))) ==
				      reference_csum(data, len, seeds[s]));
			free(buf);
		}
	}
}

static void test_csum_large_and_odd(void)
{
	size_t len = 65535;
	uint8_t *buf = malloc(len);

	memset(buf, 0xff, len);
	CHECK(ipr_csum_partial(buf, len - 1, 0) == 0xffff); /* no carry is lost */
	CHECK(ipr_csum_partial(buf, len - 1, 0xffffffff) == 0xffff);
	CHECK(ntohs(ipr_csum_partial(buf, len, 0)) == 0xff00); /* odd: last byte is high */
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)rng();
	CHECK(ntohs(ipr_csum_partial(buf, len, 0)) == reference_csum(buf, len, 0));
	CHECK(ntohs(ipr_csum_partial(buf + 1, len - 1, 0)) == reference_csum(buf + 1, len - 1, 0));
	/* continuing from an even-length block gives the sum over both */
	CHECK(ipr_csum_partial(buf + 1000, len - 1000, ipr_csum_partial(buf, 1000, 0)) ==
	      ipr_csum_partial(buf, len, 0));
	free(buf);
}

/* Fill over garbage checksums must reproduce the known-good bytes exactly. */
static void test_checksum_fill_known(void)
{
	for (size_t i = 0; i < N_CANNED; i++) {
		const struct canned *c = &canned[i];
		uint8_t *buf = dup_exact(c->bytes, c->len);

		CHECK(ipr_checksum_verify(buf, c->len) == 0);
		buf[c->csum_off] ^= 0x5a;
		buf[c->csum_off + 1] ^= 0xa5;
		if (c->version == 4)
			memset(buf + 10, 0xde, 2);
		CHECK(ipr_checksum_verify(buf, c->len) == -EBADMSG);
		CHECK(ipr_checksum_fill(buf, c->len) == 0);
		CHECK(memcmp(buf, c->bytes, c->len) == 0);
		if (check_failed)
			fprintf(stderr, "  in %s\n", c->name);
		free(buf);
	}
}

/* Is byte at under a checksum: all of IPv4, IPv6 addresses (pseudo-header) and transport. */
static int under_checksum(const struct canned *c, size_t at)
{
	if (c->version == 4 || at >= c->l3_hdr_len)
		return 1;
	/* the routing header's final destination replaces the header's in the pseudo-header */
	return at >= 8 && at < (c->bytes == ipv6_udp_rh2 ? 24u : 40u);
}

/* Any single changed byte under a checksum is caught. */
static void test_checksum_verify_detects_changes(void)
{
	for (size_t i = 0; i < N_CANNED; i++) {
		const struct canned *c = &canned[i];

		for (size_t at = 0; at < c->len; at++) {
			uint8_t *buf;

			if (!under_checksum(c, at))
				continue;
			buf = dup_with(c->bytes, c->len, at, (uint8_t)~c->bytes[at]);

			CHECK(ipr_checksum_verify(buf, c->len) != 0);
			free(buf);
		}
		if (check_failed)
			fprintf(stderr, "  in %s\n", c->name);
	}
}

static void test_checksum_round_trip(void)
{
	for (size_t i = 0; i < N_CANNED; i++) {
		const struct canned *c = &canned[i];
		uint8_t *buf = dup_exact(c->bytes, c->len);

		for (size_t at = c->l3_hdr_len + c->l4_hdr_len; at < c->len; at++)
			buf[at] = (uint8_t)rng(); /* a program rewrote the payload */
		CHECK(ipr_checksum_fill(buf, c->len) == 0);
		CHECK(ipr_checksum_verify(buf, c->len) == 0);
		free(buf);
	}
}

static void test_checksum_udp_zero(void)
{
	uint8_t *buf = dup_exact(ipv4_udp, sizeof(ipv4_udp));

	memset(buf + 26, 0, 2); /* UDP over IPv4: 0 = no checksum */
	CHECK(ipr_checksum_verify(buf, sizeof(ipv4_udp)) == 0);
	free(buf);
	buf = dup_exact(ipv6_udp_ext, sizeof(ipv6_udp_ext));
	memset(buf + 70, 0, 2); /* over IPv6 it is mandatory */
	CHECK(ipr_checksum_verify(buf, sizeof(ipv6_udp_ext)) == -EBADMSG);
	free(buf);
	buf = dup_exact(ipv4_udp_csum0, sizeof(ipv4_udp_csum0));
	memset(buf + 26, 0, 2);
	CHECK(ipr_checksum_fill(buf, sizeof(ipv4_udp_csum0)) == 0);
	CHECK(buf[26] == 0xff && buf[27] == 0xff);
	free(buf);
}

static void test_checksum_fragment_header_only(void)
{
	uint8_t *buf = dup_with(ipv4_tcp_syn, sizeof(ipv4_tcp_syn), 6, 0x20); /* MF */

	memset(buf + 36, 0xab, 2);
	CHECK(ipr_checksum_verify(buf, sizeof(ipv4_tcp_syn)) == -EBADMSG); /* IP header */
	CHECK(ipr_checksum_fill(buf, sizeof(ipv4_tcp_syn)) == 0);
	CHECK(buf[36] == 0xab && buf[37] == 0xab);
	CHECK(ipr_checksum_verify(buf, sizeof(ipv4_tcp_syn)) == 0);
	free(buf);

	buf = dup_with(ipv6_udp_ext, sizeof(ipv6_udp_ext), 59, 0x01); /* M */
	memset(buf + 70, 0xab, 2);
	CHECK(ipr_checksum_fill(buf, sizeof(ipv6_udp_ext)) == 0);
	CHECK(buf[70] == 0xab && buf[71] == 0xab);
	free(buf);
}

/* The pseudo-header takes the routing header's final destination, not the header's. */
static void test_checksum_routing_final_destination(void)
{
	uint8_t *buf = dup_with(ipv6_udp_rh2, sizeof(ipv6_udp_rh2), 39, 0x77);

	CHECK(ipr_checksum_verify(buf, sizeof(ipv6_udp_rh2)) == 0);
	buf[39] = 0x02;
	buf[63] = 0x98;
	CHECK(ipr_checksum_verify(buf, sizeof(ipv6_udp_rh2)) == -EBADMSG);
	buf[63] = 0x99;
	buf[43] = 0; /* segments left 0: the header destination is final */
	CHECK(ipr_checksum_verify(buf, sizeof(ipv6_udp_rh2)) == -EBADMSG);
	free(buf);
}

static void test_checksum_bad_input(void)
{
	CHECK(ipr_checksum_fill(NULL, 40) == -EINVAL);
	CHECK(ipr_checksum_verify(NULL, 40) == -EINVAL);
	CHECK(ipr_checksum_verify(ipv4_udp, 0) == -EMSGSIZE);
}

/* ---- incremental updates ---- */

static void test_set_ttl_matches_recompute(void)
{
	for (unsigned int ttl = 0; ttl <= 255; ttl++) {
		uint8_t *inc = dup_exact(ipv4_tcp_syn, sizeof(ipv4_tcp_syn));
		uint8_t *full = dup_with(ipv4_tcp_syn, sizeof(ipv4_tcp_syn), 8, (uint8_t)ttl);

		CHECK(ipr_set_ttl(inc, sizeof(ipv4_tcp_syn), (uint8_t)ttl) == 0);
		CHECK(ipr_checksum_fill(full, sizeof(ipv4_tcp_syn)) == 0);
		CHECK(memcmp(inc, full, sizeof(ipv4_tcp_syn)) == 0);
		free(inc);
		free(full);
	}
}

static void test_decrement_ttl(void)
{
	uint8_t *buf = dup_exact(ipv4_icmp_echo, sizeof(ipv4_icmp_echo));

	CHECK(ipr_decrement_ttl(buf, sizeof(ipv4_icmp_echo)) == 63);
	CHECK(buf[8] == 63 && ipr_checksum_verify(buf, sizeof(ipv4_icmp_echo)) == 0);
	CHECK(ipr_set_ttl(buf, sizeof(ipv4_icmp_echo), 2) == 0);
	CHECK(ipr_decrement_ttl(buf, 20) == 1); /* a header-only buffer is enough */
	CHECK(ipr_checksum_verify(buf, sizeof(ipv4_icmp_echo)) == 0);
	CHECK(ipr_decrement_ttl(buf, sizeof(ipv4_icmp_echo)) == -ETIMEDOUT);
	CHECK(buf[8] == 1 && ipr_checksum_verify(buf, sizeof(ipv4_icmp_echo)) == 0);
	CHECK(ipr_set_ttl(buf, sizeof(ipv4_icmp_echo), 0) == 0);
	CHECK(ipr_decrement_ttl(buf, sizeof(ipv4_icmp_echo)) == -ETIMEDOUT && buf[8] == 0);
	free(buf);

	buf = dup_exact(ipv6_icmp_echo, sizeof(ipv6_icmp_echo));
	CHECK(ipr_decrement_ttl(buf, sizeof(ipv6_icmp_echo)) == 63 && buf[7] == 63);
	CHECK(ipr_checksum_verify(buf, sizeof(ipv6_icmp_echo)) == 0);
	CHECK(ipr_set_ttl(buf, sizeof(ipv6_icmp_echo), 1) == 0);
	CHECK(ipr_decrement_ttl(buf, sizeof(ipv6_icmp_echo)) == -ETIMEDOUT && buf[7] == 1);
	free(buf);
}

static void test_ttl_bad_input(void)
{
	uint8_t *v5 = dup_with(ipv4_udp, sizeof(ipv4_udp), 0, 0x55);
	uint8_t *ihl4 = dup_with(ipv4_udp, sizeof(ipv4_udp), 0, 0x44);
	uint8_t *ihl6 = dup_with(ipv4_udp, 20, 0, 0x46);

	CHECK(ipr_decrement_ttl(NULL, 20) == -EINVAL);
	CHECK(ipr_decrement_ttl(v5, sizeof(ipv4_udp)) == -EINVAL);
	CHECK(ipr_set_ttl(ihl4, sizeof(ipv4_udp), 9) == -EINVAL);
	CHECK(ipr_set_ttl(ihl6, 20, 9) == -EINVAL && ihl6[8] == 64);
	CHECK(ipr_decrement_ttl(ihl6, 0) == -EINVAL);
	for (size_t n = 0; n < 40; n++) {
		uint8_t *buf = dup_exact(ipv6_tcp, n);

		CHECK(ipr_decrement_ttl(buf, n) == -EINVAL);
		free(buf);
	}
	free(v5);
	free(ihl4);
	free(ihl6);
}

/* Rewrite a 32-bit field at field_off, fixing the checksums at the csum offsets. */
static void replace32(uint8_t *pkt, size_t field_off, uint32_t new_be, const size_t *csum_offs,
		      size_t n_csums)
{
	uint32_t old_be;

	memcpy(&old_be, pkt + field_off, 4);
	for (size_t i = 0; i < n_csums; i++) {
		uint16_t check;

		memcpy(&check, pkt + csum_offs[i], 2);
		ipr_csum_replace4(&check, old_be, new_be);
		memcpy(pkt + csum_offs[i], &check, 2);
	}
	memcpy(pkt + field_off, &new_be, 4);
}

/* NAT of a destination address: IP header and TCP pseudo-header checksums. */
static void test_replace4_matches_recompute(void)
{
	static const size_t csums[] = { 10, 36 };

	for (unsigned int round = 0; round < 2000; round++) {
		uint8_t *inc = dup_exact(ipv4_tcp_syn, sizeof(ipv4_tcp_syn));
		uint8_t *full = dup_exact(ipv4_tcp_syn, sizeof(ipv4_tcp_syn));
		uint32_t addr = round < 2 ? (round ? 0xffffffff : 0) : rng();

		replace32(inc, 16, addr, csums, 2);
		memcpy(full + 16, &addr, 4);
		CHECK(ipr_checksum_fill(full, sizeof(ipv4_tcp_syn)) == 0);
		CHECK(memcmp(inc, full, sizeof(ipv4_tcp_syn)) == 0);
		free(inc);
		free(full);
		if (check_failed)
			return;
	}
}

static void test_replace2_matches_recompute(void)
{
	for (unsigned int port = 0; port <= 0xffff; port += 7) {
		uint8_t *inc = dup_exact(ipv4_udp, sizeof(ipv4_udp));
		uint8_t *full = dup_exact(ipv4_udp, sizeof(ipv4_udp));
		uint16_t old_be, new_be = htons((uint16_t)port), check;

		memcpy(&old_be, inc + 22, 2);
		memcpy(&check, inc + 26, 2);
		ipr_csum_replace2(&check, old_be, new_be);
		memcpy(inc + 26, &check, 2);
		memcpy(inc + 22, &new_be, 2);
		memcpy(full + 22, &new_be, 2);
		CHECK(ipr_checksum_fill(full, sizeof(ipv4_udp)) == 0);
		/* a UDP checksum of 0 is sent as 0xffff; the incremental update cannot know */
		if (full[26] != 0xff || full[27] != 0xff)
			CHECK(memcmp(inc, full, sizeof(ipv4_udp)) == 0);
		CHECK(ipr_checksum_verify(inc, sizeof(ipv4_udp)) == 0);
		free(inc);
		free(full);
		if (check_failed)
			return;
	}
}

/* ---- addresses ---- */

static void test_addr_round_trip(void)
{
	static const struct {
		const char *text;
		uint8_t family;
	} cases[] = {
		{ "10.1.2.3", AF_INET },	  { "0.0.0.0", AF_INET },
		{ "255.255.255.255", AF_INET },	  { "fd00::1", AF_INET6 },
		{ "::", AF_INET6 },		  { "::1", AF_INET6 },
		{ "2001:db8::1:0:0:1", AF_INET6 }, { "::ffff:1.2.3.4", AF_INET6 },
		{ "fe80::1:2:3:4", AF_INET6 },
		{ "2001:db8:1:2:3:4:5:6", AF_INET6 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ipr_addr addr;
		char buf[IPR_ADDR_STRLEN];

		CHECK(ipr_addr_parse(cases[i].text, &addr) == 0);
		CHECK(addr.family == cases[i].family);
		CHECK(ipr_addr_format(&addr, buf, sizeof(buf)) == (int)strlen(cases[i].text));
		CHECK(strcmp(buf, cases[i].text) == 0);
	}
}

static void test_addr_bytes(void)
{
	static const uint8_t v4[16] = { 10, 1, 2, 3 };
	static const uint8_t v6[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	struct ipr_addr addr;
	char buf[IPR_ADDR_STRLEN];

	CHECK(ipr_addr_parse("10.1.2.3", &addr) == 0 && memcmp(addr.bytes, v4, 16) == 0);
	CHECK(ipr_addr_parse("FD00:0::0:1", &addr) == 0 && memcmp(addr.bytes, v6, 16) == 0);
	CHECK(ipr_addr_format(&addr, buf, sizeof(buf)) == 7 && strcmp(buf, "fd00::1") == 0);
}

static void test_addr_bad_text(void)
{
	static const char *const bad[] = {
		"", "1.2.3", "1.2.3.256", "1.2.3.4.5", "fd00::1::2", " 10.1.2.3", "10.1.2.3 ",
		"abc", "fe80::1%eth0", "[fd00::1]", "10.1.2.3/24", "1:2:3:4:5:6:7:8:9", "::g",
	};
	struct ipr_addr addr;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&addr, 0x55, sizeof(addr));
		CHECK(ipr_addr_parse(bad[i], &addr) == -EINVAL);
		CHECK(addr.family == 0);
	}
	CHECK(ipr_addr_parse(NULL, &addr) == -EINVAL);
	CHECK(ipr_addr_parse("10.1.2.3", NULL) == -EINVAL);
}

static void test_addr_format_errors(void)
{
	struct ipr_addr addr = { .family = 0 };
	char buf[IPR_ADDR_STRLEN];

	CHECK(ipr_addr_format(&addr, buf, sizeof(buf)) == -EINVAL);
	addr.family = 99;
	CHECK(ipr_addr_format(&addr, buf, sizeof(buf)) == -EINVAL);
	CHECK(ipr_addr_parse("255.255.255.255", &addr) == 0);
	CHECK(ipr_addr_format(&addr, buf, 15) == -ENOSPC);
	CHECK(ipr_addr_format(&addr, buf, 16) == 15);
	CHECK(ipr_addr_format(&addr, buf, 0) == -ENOSPC);
	CHECK(ipr_addr_format(NULL, buf, sizeof(buf)) == -EINVAL);
	CHECK(ipr_addr_format(&addr, NULL, sizeof(buf)) == -EINVAL);
}

static void test_packet_addrs(void)
{
	uint8_t *hdr = dup_exact(ipv4_tcp_syn, 20); /* a header-only capture */
	uint8_t *pkt = dup_exact(ipv6_udp_rh2, sizeof(ipv6_udp_rh2));
	struct ipr_parsed p;
	struct ipr_addr src, dst;
	char buf[IPR_ADDR_STRLEN];

	CHECK(ipr_parse(hdr, 20, &p) == 0);
	CHECK(ipr_packet_addrs(&p, &src, &dst) == 0);
	CHECK(src.family == AF_INET && dst.family == AF_INET);
	CHECK(ipr_addr_format(&src, buf, sizeof(buf)) > 0 && strcmp(buf, "10.0.0.1") == 0);
	CHECK(ipr_addr_format(&dst, buf, sizeof(buf)) > 0 && strcmp(buf, "10.0.0.2") == 0);

	CHECK(ipr_parse(pkt, sizeof(ipv6_udp_rh2), &p) == 0);
	CHECK(ipr_packet_addrs(&p, NULL, &dst) == 0 && dst.family == AF_INET6);
	CHECK(ipr_addr_format(&dst, buf, sizeof(buf)) > 0 && strcmp(buf, "2001:db8::2") == 0);

	memset(&p, 0, sizeof(p));
	CHECK(ipr_packet_addrs(&p, &src, &dst) == -EINVAL);
	CHECK(ipr_packet_addrs(NULL, &src, &dst) == -EINVAL);
	free(hdr);
	free(pkt);
}

static void test_parse_bad_arguments(void)
{
	struct ipr_parsed p;

	CHECK(ipr_parse(ipv4_udp, sizeof(ipv4_udp), NULL) == -EINVAL);
	CHECK(ipr_parse(NULL, 20, &p) == -EINVAL);
	CHECK(ipr_parse(ipv4_udp, 0, &p) == -EMSGSIZE);
}

/* Leave a known reason, so a helper that fails without its own is caught. */
static void stale_reason(void)
{
	struct ipr_handle *h = NULL;

	CHECK(ipr_open(NULL, &h) == -EINVAL && strstr(ipr_last_error(), "IPR_OPTIONS_INIT"));
}

/* ipr_last_error() holds words of the helper's own reason. */
static int reason_has(const char *a, const char *b)
{
	return strstr(ipr_last_error(), a) && (!b || strstr(ipr_last_error(), b));
}

/* Every failure of a packet helper leaves its reason in ipr_last_error(). */
static void test_helpers_leave_reasons(void)
{
	uint8_t pkt[sizeof(ipv4_udp)], small[8];
	struct ipr_parsed p;
	struct ipr_addr a;

	memcpy(pkt, ipv4_udp, sizeof(pkt));
	stale_reason();
	CHECK(ipr_parse(pkt, 10, &p) == -EMSGSIZE && reason_has("ipr_parse", "IPv4 header"));
	stale_reason();
	pkt[0] = 0x35;
	CHECK(ipr_parse(pkt, sizeof(pkt), &p) == -EINVAL && reason_has("ipr_parse", "version"));
	pkt[0] = 0x45;
	stale_reason();
	CHECK(ipr_checksum_fill(pkt, 30) == -EMSGSIZE &&
	      reason_has("ipr_checksum_fill", "IP length"));
	pkt[30] ^= 0xff;
	stale_reason();
	CHECK(ipr_checksum_verify(pkt, sizeof(pkt)) == -EBADMSG &&
	      reason_has("ipr_checksum_verify", "UDP checksum"));
	pkt[8] = 1;
	stale_reason();
	CHECK(ipr_decrement_ttl(pkt, sizeof(pkt)) == -ETIMEDOUT && reason_has("TTL", NULL));
	stale_reason();
	CHECK(ipr_set_ttl(pkt, 4, 9) == -EINVAL && reason_has("ipr_set_ttl", "header"));
	stale_reason();
	CHECK(ipr_addr_parse("10.0.0.300", &a) == -EINVAL && reason_has("10.0.0.300", NULL));
	CHECK(ipr_addr_parse("fd00::1234", &a) == 0);
	stale_reason();
	CHECK(ipr_addr_format(&a, (char *)small, sizeof(small)) == -ENOSPC &&
	      reason_has("ipr_addr_format", "8 bytes"));
	memset(&p, 0, sizeof(p));
	stale_reason();
	CHECK(ipr_packet_addrs(&p, &a, NULL) == -EINVAL && reason_has("ipr_packet_addrs", NULL));
}

CHECK_MAIN("packet",
	   CHECK_CASE(test_parse_canned),
	   CHECK_CASE(test_parse_payload_views),
	   CHECK_CASE(test_parse_ignores_padding),
	   CHECK_CASE(test_parse_every_truncation),
	   CHECK_CASE(test_parse_bad_ipv4),
	   CHECK_CASE(test_parse_ipv4_total_length),
	   CHECK_CASE(test_parse_ipv4_fragments),
	   CHECK_CASE(test_parse_bad_ipv6),
	   CHECK_CASE(test_parse_ipv6_chain_past_capture),
	   CHECK_CASE(test_parse_ipv6_fragments),
	   CHECK_CASE(test_parse_ipv6_jumbo),
	   CHECK_CASE(test_parse_ipv6_ah),
	   CHECK_CASE(test_parse_bad_arguments),
	   CHECK_CASE(test_parse_fuzz),
	   CHECK_CASE(test_csum_known_vectors),
	   CHECK_CASE(test_csum_matches_reference),
	   CHECK_CASE(test_csum_large_and_odd),
	   CHECK_CASE(test_checksum_fill_known),
	   CHECK_CASE(test_checksum_verify_detects_changes),
	   CHECK_CASE(test_checksum_round_trip),
	   CHECK_CASE(test_checksum_udp_zero),
	   CHECK_CASE(test_checksum_fragment_header_only),
	   CHECK_CASE(test_checksum_routing_final_destination),
	   CHECK_CASE(test_checksum_bad_input),
	   CHECK_CASE(test_set_ttl_matches_recompute),
	   CHECK_CASE(test_decrement_ttl),
	   CHECK_CASE(test_ttl_bad_input),
	   CHECK_CASE(test_replace4_matches_recompute),
	   CHECK_CASE(test_replace2_matches_recompute),
	   CHECK_CASE(test_addr_round_trip),
	   CHECK_CASE(test_addr_bytes),
	   CHECK_CASE(test_addr_bad_text),
	   CHECK_CASE(test_addr_format_errors),
	   CHECK_CASE(test_packet_addrs),
	   CHECK_CASE(test_helpers_leave_reasons))
