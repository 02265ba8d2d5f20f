/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_inject.c - what ipr_send() refuses before anything is sent, over canned
 * packet bytes (no root needed: refused packets never open a socket or a tun).
 *
 * Each case copies its packet into a buffer of exactly the length under test,
 * so valgrind or -fsanitize=address catch any read past it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "internal.h"
#include "packets.h"

/* 10.0.0.1 -> 10.0.0.2 UDP with a 4-byte IPv4 option (IHL 6: NOP NOP NOP EOL), no payload */
static const uint8_t ipv4_udp_options[32] = {
	0x46, 0x00, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00,
	0x0a, 0x00, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x02, 0x01, 0x01, 0x01, 0x00,
	0x13, 0x88, 0x13, 0x89, 0x00, 0x08, 0x00, 0x00,
};

/* A copy of len bytes of src (len may be shorter than src) in a buffer of exactly len. */
static uint8_t *dup_bytes(const uint8_t *src, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	if (p && len)
		memcpy(p, src, len);
	return p;
}

/* ipr_inject_check() over the first len bytes of pkt, after one byte set to value. */
static int check_with(const uint8_t *pkt, size_t len, size_t off, uint8_t value)
{
	uint8_t *p = dup_bytes(pkt, len);
	int ret;

	if (!p)
		return -ENOMEM;
	if (off < len)
		p[off] = value;
	ret = ipr_inject_check(p, len);
	free(p);
	return ret;
}

static int check_bytes(const uint8_t *pkt, size_t len)
{
	return check_with(pkt, len, len, 0);
}

/* The refusal reason names what was wrong. */
static int reason_has(const char *word)
{
	return strstr(ipr_last_error(), word) != NULL;
}

static void good_packets(void)
{
	CHECK(check_bytes(ipv4_icmp_echo, sizeof(ipv4_icmp_echo)) == 0);
	CHECK(check_bytes(ipv4_udp, sizeof(ipv4_udp)) == 0);
	CHECK(check_bytes(ipv4_udp_options, sizeof(ipv4_udp_options)) == 0);
	CHECK(check_bytes(ipv6_icmp_echo, sizeof(ipv6_icmp_echo)) == 0);
	CHECK(check_bytes(ipv6_udp_ext, sizeof(ipv6_udp_ext)) == 0);
}

/* A bare header is a whole packet: protocol 59 (no next header) or an unparsed protocol. */
static void header_only(void)
{
	uint8_t v4[20] = { 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 253, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2 };
	uint8_t v6[40] = { 0x60, 0, 0, 0, 0, 0, 59, 64 };

	CHECK(check_bytes(v4, sizeof(v4)) == 0);
	CHECK(check_bytes(v6, sizeof(v6)) == 0);
}

/* A later IPv4 fragment has no transport header to check: it may be sent. */
static void later_fragment(void)
{
	uint8_t *p = dup_bytes(ipv4_udp, sizeof(ipv4_udp));

	p[6] = 0x00;
	p[7] = 0x10; /* offset 128 bytes, no transport header here */
	CHECK(ipr_inject_check(p, sizeof(ipv4_udp)) == 0);
	free(p);
}

static void empty(void)
{
	CHECK(ipr_inject_check(NULL, 20) == -EINVAL);
	CHECK(check_bytes(ipv4_udp, 0) == -EINVAL);
	CHECK(reason_has("empty"));
}

static void too_short(void)
{
	CHECK(check_bytes(ipv4_udp, 1) == -EINVAL);
	CHECK(check_bytes(ipv4_udp, 19) == -EINVAL);
	CHECK(reason_has("shorter than the 20-byte IPv4 header"));
	CHECK(check_bytes(ipv6_icmp_echo, 39) == -EINVAL);
	CHECK(reason_has("shorter than the 40-byte IPv6 header"));
	CHECK(check_bytes(ipv6_icmp_echo, 20) == -EINVAL);
}

static void bad_version(void)
{
	static const uint8_t versions[] = { 0x05, 0x35, 0x55, 0x75, 0xf5 };

	for (size_t i = 0; i < sizeof(versions); i++) {
		CHECK(check_with(ipv4_udp, sizeof(ipv4_udp), 0, versions[i]) == -EINVAL);
		CHECK(reason_has("IP version"));
	}
	/* an IPv6 packet labelled 4 fails the IPv4 checks */
	CHECK(check_with(ipv6_icmp_echo, sizeof(ipv6_icmp_echo), 0, 0x40) == -EINVAL);
}

static void bad_header_length(void)
{
	for (uint8_t ihl = 0; ihl < 5; ihl++) {
		CHECK(check_with(ipv4_udp, sizeof(ipv4_udp), 0, (uint8_t)(0x40 | ihl)) == -EINVAL);
		CHECK(reason_has("below the minimum"));
	}
	/* 60-byte header in a 40-byte packet */
	CHECK(check_with(ipv4_udp, sizeof(ipv4_udp), 0, 0x4f) == -EINVAL);
	CHECK(reason_has("longer than the whole packet"));
}

static void total_length_lies(void)
{
	CHECK(check_with(ipv4_udp, sizeof(ipv4_udp), 3, 0x29) == -EINVAL); /* says 41 */
	CHECK(reason_has("total length"));
	CHECK(check_with(ipv4_udp, sizeof(ipv4_udp), 3, 0x27) == -EINVAL); /* says 39 */
	CHECK(check_with(ipv4_udp, sizeof(ipv4_udp), 3, 0x00) == -EINVAL); /* says 0 */
	CHECK(check_with(ipv4_udp, sizeof(ipv4_udp), 2, 0x01) == -EINVAL); /* says 296 */
	/* trailing bytes (link padding) are not part of one whole packet */
	CHECK(check_bytes(ipv4_icmp_echo, sizeof(ipv4_icmp_echo) - 1) == -EINVAL);
}

static void payload_length_lies(void)
{
	CHECK(check_with(ipv6_icmp_echo, sizeof(ipv6_icmp_echo), 5, 0x0d) == -EINVAL);
	CHECK(reason_has("payload length"));
	CHECK(check_with(ipv6_icmp_echo, sizeof(ipv6_icmp_echo), 5, 0x0b) == -EINVAL);
	CHECK(check_with(ipv6_icmp_echo, sizeof(ipv6_icmp_echo), 5, 0x00) == -EINVAL); /* jumbo */
	CHECK(check_bytes(ipv6_udp_ext, sizeof(ipv6_udp_ext) - 4) == -EINVAL);
}

/* 20-byte IPv4 header + 4 bytes claiming to be UDP */
static void udp_overruns(void)
{
	CHECK(check_with(ipv4_udp, 24, 3, 24) == -EINVAL);
	CHECK(reason_has("malformed IPv4"));
}

/* ICMPv6 with 4 payload bytes: shorter than the 8-byte ICMPv6 header */
static void icmp6_overruns(void)
{
	CHECK(check_with(ipv6_icmp_echo, 44, 5, 4) == -EINVAL);
	CHECK(reason_has("malformed IPv6"));
}

static void bad_extension_chain(void)
{
	/* the destination options header claims 48 bytes, more than the payload has */
	CHECK(check_with(ipv6_udp_ext, sizeof(ipv6_udp_ext), 49, 0x05) == -EINVAL);
	/* hop-by-hop options anywhere but first */
	CHECK(check_with(ipv6_udp_ext, sizeof(ipv6_udp_ext), 40, 0x00) == -EINVAL);
}

static void too_large(void)
{
	size_t len = 65536;
	uint8_t *p = calloc(1, len);

	p[0] = 0x45;
	p[2] = 0xff;
	p[3] = 0xff;
	CHECK(ipr_inject_check(p, len) == -EMSGSIZE);
	CHECK(reason_has("at most 65535"));
	free(p);
}

/* The largest IPv4 packet is fine; the kernel decides whether its route carries it. */
static void largest(void)
{
	size_t len = 65535;
	uint8_t *p = calloc(1, len);

	memcpy(p, ipv4_udp, 20);
	p[2] = 0xff;
	p[3] = 0xff;
	p[9] = 253; /* experimental protocol: no transport header to check */
	CHECK(ipr_inject_check(p, len) == 0);
	free(p);
}

/* Nothing is opened for a refused packet or a bad direction. */
static void send_refuses_early(void)
{
	struct ipr_inject in = { .raw4 = -1, .raw6 = -1, .tun = -1, .mark = 1 };
	uint8_t *p = dup_bytes(ipv4_udp, sizeof(ipv4_udp));

	p[0] = 0x44;
	CHECK(ipr_inject_send(&in, p, sizeof(ipv4_udp), IPR_LAYER_OUT) == -EINVAL);
	CHECK(ipr_inject_send(&in, p, sizeof(ipv4_udp), IPR_LAYER_IN) == -EINVAL);
	p[0] = 0x45;
	CHECK(ipr_inject_send(&in, p, sizeof(ipv4_udp), 0) == -EINVAL);
	CHECK(ipr_inject_send(&in, p, sizeof(ipv4_udp), IPR_LAYER_FORWARD) == -EINVAL);
	CHECK(ipr_inject_send(&in, p, sizeof(ipv4_udp), IPR_LAYER_IN | IPR_LAYER_OUT) == -EINVAL);
	CHECK(ipr_inject_send(&in, p, sizeof(ipv4_udp), IPR_SEND_NONBLOCK) == -EINVAL);
	CHECK(reason_has("direction"));
	p[0] = 0x44; /* the flag changes nothing about what is refused */
	CHECK(ipr_inject_send(&in, p, sizeof(ipv4_udp), IPR_LAYER_OUT | IPR_SEND_NONBLOCK) == -EINVAL);
	CHECK(in.raw4 == -1 && in.raw6 == -1 && in.tun == -1);
	ipr_inject_close(&in);
	CHECK(in.raw4 == -1 && in.raw6 == -1 && in.tun == -1);
	free(p);
}

CHECK_MAIN("inject", CHECK_CASE(good_packets), CHECK_CASE(header_only),
	   CHECK_CASE(later_fragment), CHECK_CASE(empty), CHECK_CASE(too_short),
	   CHECK_CASE(bad_version), CHECK_CASE(bad_header_length),
	   CHECK_CASE(total_length_lies), CHECK_CASE(payload_length_lies),
	   CHECK_CASE(udp_overruns), CHECK_CASE(icmp6_overruns), CHECK_CASE(bad_extension_chain),
	   CHECK_CASE(too_large), CHECK_CASE(largest), CHECK_CASE(send_refuses_early))
