/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * helper_hash.c - WinDivertHelperHashPacket(): WinDivert's 64-bit packet hash,
 * bit for bit, so that the same packet and seed give the value they give on
 * Windows (the filter fields random8/16/32 are cut from it).
 *
 * The hash is one xxHash64 stripe over a fixed 32-byte-lane layout: the seed,
 * the first 20 bytes of an IPv4 header (or the 40 of an IPv6 header) and the
 * first 20 bytes of a TCP header or 8 of a UDP/ICMP/ICMPv6 header, each 64-bit
 * word read little-endian (as on x86) and XORed with a key, then xxHash64's
 * round, merge and avalanche steps with the length taken as 32. Checksums and
 * the TTL are in the hashed bytes; the payload is not.
 */
#include "wd.h"

/* xxHash64's primes. */
#define PRIME64_1 0x9E3779B185EBCA87ULL
#define PRIME64_2 0xC2B2AE3D27D4EB4FULL
#define PRIME64_3 0x165667B19E3779F9ULL
#define PRIME64_4 0x85EBCA77C2B2AE63ULL

/* The keys: the first 18 SHA-256 round constants, two to a word. */
static const UINT64 keys[9] = {
	0x428A2F9871374491ULL, 0xB5C0FBCFE9B5DBA5ULL, 0x3956C25B59F111F1ULL,
	0x923F82A4AB1C5ED5ULL, 0xD807AA9812835B01ULL, 0x243185BE550C7DC3ULL,
	0x72BE5D7480DEB1FEULL, 0x9BDC06A7C19BF174ULL, 0xE49B69C1EFBE4786ULL,
};

/*
 * The lanes before the rounds: in[] are the rounds' inputs (the seed, then
 * IP header words), acc[] their accumulators (the rest of the IPv6 header,
 * transport header words, then the seed again); n counts acc[] filled.
 */
struct lanes {
	UINT64 in[4];
	UINT64 acc[4];
	unsigned int n;
};

static UINT64 load_le(const uint8_t *p, unsigned int bytes)
{
	UINT64 v = 0;

	while (bytes--)
		v = v << 8 | p[bytes];
	return v;
}

static UINT64 rotl(UINT64 x, unsigned int r)
{
	return x << r | x >> (64 - r);
}

/* xxHash64's round: acc takes in one 64-bit input. */
static UINT64 xxh_round(UINT64 acc, UINT64 input)
{
	return rotl(acc + input * PRIME64_2, 31) * PRIME64_1;
}

static UINT64 xxh_merge(UINT64 h, UINT64 lane)
{
	return (h ^ xxh_round(0, lane)) * PRIME64_1 + PRIME64_4;
}

static UINT64 xxh_avalanche(UINT64 h)
{
	h ^= h >> 33;
	h *= PRIME64_2;
	h ^= h >> 29;
	h *= PRIME64_3;
	return h ^ h >> 32;
}

static void add_acc(struct lanes *l, UINT64 word)
{
	l->acc[l->n] = word ^ keys[4 + l->n];
	l->n++;
}

static void load_ip(struct lanes *l, const struct wd_packet *p)
{
	if (p->ip) {
		l->in[1] = load_le(p->ip, 8) ^ keys[1];
		l->in[2] = load_le(p->ip + 8, 8) ^ keys[2];
		l->in[3] = load_le(p->ip + 16, 4) ^ keys[3];
		return;
	}
	l->in[1] = load_le(p->ipv6, 8) ^ keys[1];
	l->in[2] = load_le(p->ipv6 + 8, 8) ^ keys[2];
	l->in[3] = load_le(p->ipv6 + 16, 8) ^ keys[3];
	add_acc(l, load_le(p->ipv6 + 24, 8));
	add_acc(l, load_le(p->ipv6 + 32, 8));
}

static void load_transport(struct lanes *l, const struct wd_packet *p)
{
	const uint8_t *other = p->udp ? p->udp : p->icmp ? p->icmp : p->icmpv6;

	if (p->tcp) {
		add_acc(l, load_le(p->tcp, 8));
		add_acc(l, load_le(p->tcp + 8, 8));
		/* after an IPv6 header the lanes are full: the last word goes high in in[1] */
		if (l->n < 4)
			add_acc(l, load_le(p->tcp + 16, 4));
		else
			l->in[1] ^= load_le(p->tcp + 16, 4) << 32;
	} else if (other) {
		add_acc(l, load_le(other, 8));
	}
}

UINT64 wd_hash_packet(const struct wd_packet *p, UINT64 seed)
{
	struct lanes l = { .in = { seed ^ keys[0] } };
	UINT64 h;

	if (!p->ip && !p->ipv6)
		return 0;
	load_ip(&l, p);
	load_transport(&l, p);
	while (l.n < 4)
		add_acc(&l, seed);
	for (unsigned int i = 0; i < 4; i++)
		l.in[i] = xxh_round(l.acc[i], l.in[i]);
	h = rotl(l.in[0], 1) + rotl(l.in[1], 7) + rotl(l.in[2], 12) + rotl(l.in[3], 18);
	for (unsigned int i = 0; i < 4; i++)
		h = xxh_merge(h, l.in[i]);
	return xxh_avalanche(h + 32);
}

WD_EXPORT UINT64 WinDivertHelperHashPacket(const VOID *pPacket, UINT packetLen, UINT64 seed)
{
	struct wd_packet p;

	if (wd_parse(pPacket, packetLen, &p) || p.truncated) {
		wd_fail(ERROR_INVALID_PARAMETER);
		return 0;
	}
	wd_ok();
	return wd_hash_packet(&p, seed);
}
