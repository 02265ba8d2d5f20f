/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* packet.c - parse, checksums and address helpers: pure functions over packet bytes, no I/O. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <string.h>
#include <sys/socket.h>

#include "internal.h"

#define IP4_HDR_MIN 20
#define IP6_HDR_LEN 40
#define IP6_FRAG_HDR_LEN 8
#define IP4_TTL_OFF 8
#define IP4_CSUM_OFF 10
#define IP6_HOP_LIMIT_OFF 7
#define TCP_HDR_MIN 20
#define UDP_HDR_LEN 8
#define ICMP_HDR_LEN 8

/* Why the last internal check failed; the public call that fails reports it. */
static __thread const char *why;

/* A failed check: remember its reason, return err. */
static int fault(int err, const char *reason)
{
	why = reason;
	return err;
}

/* The public call's failure: err with the reason of the check that failed. */
static int fail(const char *call, int err)
{
	return ipr_fail(err, "%s: %s", call, why);
}

/* A parse result plus what only the checksum code needs. */
struct parse_ctx {
	struct ipr_parsed p;
	const uint8_t *src;     /* pseudo-header source address */
	const uint8_t *dst;     /* pseudo-header destination (IPv6: final one, RFC 8200 8.1) */
	int later_fragment;     /* no transport header in this fragment */
};

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- checksum arithmetic ---- */

static uint32_t load32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint16_t csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/*
 * Sum len bytes as native-order words into sum; the ones' complement sum is
 * byte-order independent, so the folded result is in memory (network) order.
 * 32-bit words in a 64-bit accumulator cannot overflow below 16 GiB.
 */
static uint64_t csum_add(const uint8_t *p, size_t len, uint64_t sum)
{
	uint64_t a = 0, b = 0;
	uint16_t last = 0;

	for (; len >= 32; p += 32, len -= 32) {
		a += (uint64_t)load32(p) + load32(p + 4) + load32(p + 8) + load32(p + 12);
		b += (uint64_t)load32(p + 16) + load32(p + 20) + load32(p + 24) + load32(p + 28);
	}
	for (; len >= 4; p += 4, len -= 4)
		a += load32(p);
	if (len >= 2) {
		memcpy(&last, p, 2);
		a += last;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint8_t pad[2] = { p[0], 0 };

		memcpy(&last, pad, 2);
		a += last;
	}
	return sum + a + b;
}

static uint16_t csum_partial(const void *data, size_t len, uint64_t sum)
{
	return csum_fold(csum_add(data, len, sum));
}

IPR_EXPORT uint16_t ipr_csum_partial(const void *data, size_t len, uint32_t sum)
{
	return csum_partial(data, len, sum);
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). */
static void csum_replace(uint16_t *sum, uint64_t not_old_plus_new)
{
	*sum = (uint16_t)~csum_fold((uint16_t)~*sum + not_old_plus_new);
}

IPR_EXPORT void ipr_csum_replace2(uint16_t *sum, uint16_t old_be, uint16_t new_be)
{
	csum_replace(sum, (uint16_t)~old_be + (uint64_t)new_be);
}

IPR_EXPORT void ipr_csum_replace4(uint16_t *sum, uint32_t old_be, uint32_t new_be)
{
	csum_replace(sum, (uint64_t)(uint32_t)~old_be + new_be);
}

/* ---- parsing ---- */

/* A header of len bytes at off: 0 fits, -EINVAL past the IP length, -EMSGSIZE past the capture. */
static int header_fits(const struct ipr_parsed *p, uint32_t off, uint32_t len)
{
	uint64_t end = (uint64_t)off + len;

	if (end <= p->l3_len)
		return 0;
	if (p->ip_len && end > p->ip_len)
		return fault(-EINVAL, "a header runs past the IP length");
	return fault(-EMSGSIZE, "the capture ends inside the IP headers");
}

/* A transport header of len bytes at off: 1 there, 0 cut short legitimately, or -EINVAL. */
static int transport_fits(const struct ipr_parsed *p, uint32_t off, uint32_t len)
{
	int err = header_fits(p, off, len);

	/* cut by the capture, or by the end of a first fragment: no transport view */
	if (err == -EMSGSIZE || (err && p->fragment))
		return 0;
	return err ? err : 1;
}

static int is_icmp(const struct ipr_parsed *p)
{
	return (p->version == 4 && p->proto == IPPROTO_ICMP) ||
	       (p->version == 6 && p->proto == IPPROTO_ICMPV6);
}

static int is_icmp_echo(const struct ipr_parsed *p, uint8_t type)
{
	if (p->version == 4)
		return type == 0 || type == 8;
	return type == 128 || type == 129;
}

/* Fixed (TCP: minimum) transport header length, 0 for a protocol we do not parse. */
static uint32_t transport_min_len(const struct ipr_parsed *p)
{
	if (p->proto == IPPROTO_TCP)
		return TCP_HDR_MIN;
	if (p->proto == IPPROTO_UDP)
		return UDP_HDR_LEN;
	return is_icmp(p) ? ICMP_HDR_LEN : 0;
}

static void set_transport(struct ipr_parsed *p, uint32_t off, uint32_t hdr_len)
{
	const uint8_t *l4 = p->l3 + off;

	p->l4 = l4;
	p->l4_hdr_len = (uint16_t)hdr_len;
	p->l4_len = p->l3_len - off;
	p->payload_len = p->l4_len - hdr_len;
	p->payload = p->payload_len ? l4 + hdr_len : NULL;
	p->sport = get_be16(l4); /* ICMP: type and code */
	if (!is_icmp(p))
		p->dport = get_be16(l4 + 2);
	else if (is_icmp_echo(p, l4[0]))
		p->dport = get_be16(l4 + 4);
}

static int parse_transport(struct ipr_parsed *p)
{
	uint32_t off = p->l3_hdr_len;
	uint32_t len = transport_min_len(p);
	int ret;

	if (!len)
		return 0;
	ret = transport_fits(p, off, len);
	if (ret <= 0)
		return ret;
	if (p->proto == IPPROTO_TCP) {
		len = (p->l3[off + 12] >> 4) * 4u;
		if (len < TCP_HDR_MIN)
			return fault(-EINVAL, "TCP data offset below 5");
		ret = transport_fits(p, off, len);
		if (ret <= 0)
			return ret;
	}
	set_transport(p, off, len);
	return 0;
}

/* ip_len 0 means unknown: the capture is the packet. */
static void set_network(struct ipr_parsed *p, const uint8_t *pkt, uint32_t caplen, uint32_t ip_len)
{
	p->l3 = pkt;
	p->ip_len = ip_len;
	p->l3_len = ip_len && ip_len < caplen ? ip_len : caplen;
	p->truncated = ip_len > caplen;
}

static int parse_ipv4(struct parse_ctx *c, const uint8_t *pkt, uint32_t caplen)
{
	struct ipr_parsed *p = &c->p;
	uint32_t hdr_len = (pkt[0] & 0x0f) * 4u;
	uint32_t ip_len;
	uint16_t frag;

	if (hdr_len < IP4_HDR_MIN)
		return fault(-EINVAL, "IPv4 header length below 20 bytes");
	if (hdr_len > caplen)
		return fault(-EMSGSIZE, "the capture ends inside the IPv4 header");
	ip_len = get_be16(pkt + 2);
	if (ip_len && ip_len < hdr_len)
		return fault(-EINVAL, "IPv4 total length shorter than its header");
	set_network(p, pkt, caplen, ip_len);
	p->l3_hdr_len = (uint16_t)hdr_len;
	p->ttl = pkt[IP4_TTL_OFF];
	p->proto = pkt[9];
	frag = get_be16(pkt + 6);
	p->fragment = (frag & (IP_MF | IP_OFFMASK)) != 0;
	c->later_fragment = (frag & IP_OFFMASK) != 0;
	c->src = pkt + 12;
	c->dst = pkt + 16;
	return 0;
}

static int is_ipv6_ext(uint8_t nexthdr)
{
	return nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING ||
	       nexthdr == IPPROTO_FRAGMENT || nexthdr == IPPROTO_DSTOPTS || nexthdr == IPPROTO_AH;
}

static uint32_t ipv6_ext_len(uint8_t nexthdr, const uint8_t *h)
{
	if (nexthdr == IPPROTO_FRAGMENT)
		return IP6_FRAG_HDR_LEN;
	if (nexthdr == IPPROTO_AH)
		return (h[1] + 2u) * 4;
	return (h[1] + 1u) * 8;
}

/* Routing types 0 and 2 list the final destination last, an SRH (4) first. */
static void note_final_dst(struct parse_ctx *c, const uint8_t *rh, uint32_t len)
{
	uint8_t type = rh[2], segments_left = rh[3];

	if (!segments_left || len < 8 + 16)
		return;
	if (type == 0 || type == 2)
		c->dst = rh + len - 16;
	else if (type == 4)
		c->dst = rh + 8;
}

static void note_fragment(struct parse_ctx *c, const uint8_t *fh)
{
	uint16_t off_flags = get_be16(fh + 2);

	c->p.fragment |= (off_flags & 0xfff9) != 0; /* offset or M, not the reserved bits */
	c->later_fragment = (off_flags & 0xfff8) != 0;
}

/* One extension header at off: its length, or -EINVAL/-EMSGSIZE. */
static int ipv6_ext(struct parse_ctx *c, uint8_t nexthdr, uint32_t off)
{
	const uint8_t *h = c->p.l3 + off;
	uint32_t len;
	int err;

	if (nexthdr == IPPROTO_HOPOPTS && off != IP6_HDR_LEN)
		return fault(-EINVAL, "IPv6 hop-by-hop options not first");
	err = header_fits(&c->p, off, 2);
	if (err)
		return err;
	len = ipv6_ext_len(nexthdr, h);
	err = header_fits(&c->p, off, len);
	if (err)
		return err;
	if (nexthdr == IPPROTO_ROUTING)
		note_final_dst(c, h, len);
	if (nexthdr == IPPROTO_FRAGMENT)
		note_fragment(c, h);
	return (int)len;
}

static int parse_ipv6(struct parse_ctx *c, const uint8_t *pkt, uint32_t caplen)
{
	struct ipr_parsed *p = &c->p;
	uint16_t payload_len;
	uint8_t nexthdr;
	uint32_t off = IP6_HDR_LEN;

	if (caplen < IP6_HDR_LEN)
		return fault(-EMSGSIZE, "the capture ends inside the IPv6 header");
	payload_len = get_be16(pkt + 4);
	set_network(p, pkt, caplen, payload_len ? IP6_HDR_LEN + payload_len : 0);
	p->ttl = pkt[IP6_HOP_LIMIT_OFF];
	c->src = pkt + 8;
	c->dst = pkt + 24;
	nexthdr = pkt[6];
	while (is_ipv6_ext(nexthdr) && !c->later_fragment) {
		int len = ipv6_ext(c, nexthdr, off);

		if (len < 0)
			return len;
		nexthdr = pkt[off];
		off += (uint32_t)len;
		if (off > UINT16_MAX)
			return fault(-EINVAL, "IPv6 extension headers longer than 64 KiB");
	}
	p->proto = nexthdr;
	p->l3_hdr_len = (uint16_t)off;
	return 0;
}

static int parse_ctx_init(struct parse_ctx *c, const void *pkt, size_t caplen)
{
	const uint8_t *bytes = pkt;
	/* views are 32-bit: a longer buffer is seen as its first 4 GiB */
	uint32_t cap = caplen > UINT32_MAX ? UINT32_MAX : (uint32_t)caplen;
	int err;

	memset(c, 0, sizeof(*c));
	if (!pkt)
		return fault(-EINVAL, "no packet (NULL)");
	if (!cap)
		return fault(-EMSGSIZE, "empty packet");
	c->p.version = bytes[0] >> 4;
	if (c->p.version == 4)
		err = parse_ipv4(c, bytes, cap);
	else if (c->p.version == 6)
		err = parse_ipv6(c, bytes, cap);
	else
		err = fault(-EINVAL, "not IPv4 or IPv6 (version nibble)");
	if (err || c->later_fragment)
		return err;
	return parse_transport(&c->p);
}

IPR_EXPORT int ipr_parse(const void *pkt, size_t caplen, struct ipr_parsed *out)
{
	struct parse_ctx c;
	int err;

	if (!out)
		return ipr_fail(-EINVAL, "ipr_parse: no place for the result (NULL)");
	err = parse_ctx_init(&c, pkt, caplen);
	*out = err ? (struct ipr_parsed){ 0 } : c.p;
	return err ? fail("ipr_parse", err) : 0;
}

/* ---- whole-packet checksums ---- */

/* Parse a packet that must be complete, as the checksum calls need. */
static int parse_whole(struct parse_ctx *c, const void *pkt, size_t len)
{
	int err = parse_ctx_init(c, pkt, len);

	if (err)
		return err;
	return c->p.truncated ? fault(-EMSGSIZE, "shorter than its IP length") : 0;
}

/* The transport checksum covers the whole datagram: not computable from a fragment. */
static int has_transport_csum(const struct ipr_parsed *p)
{
	return p->l4 && !p->fragment;
}

static uint32_t transport_csum_off(const struct ipr_parsed *p)
{
	if (p->proto == IPPROTO_TCP)
		return 16;
	if (p->proto == IPPROTO_UDP)
		return 6;
	return 2;
}

static uint64_t pseudo_header_sum(const struct parse_ctx *c)
{
	const struct ipr_parsed *p = &c->p;
	size_t addr_len = p->version == 4 ? 4 : 16;
	uint8_t ph[2 * 16 + 8] = { 0 };

	if (p->proto == IPPROTO_ICMP)
		return 0;
	memcpy(ph, c->src, addr_len);
	memcpy(ph + addr_len, c->dst, addr_len);
	/* IPv6 layout (32-bit length, 0, 0, 0, proto) sums as IPv4's (0, proto, 16-bit length) */
	put_be32(ph + 2 * addr_len, p->l4_len);
	ph[2 * addr_len + 7] = p->proto;
	return csum_add(ph, 2 * addr_len + 8, 0);
}

/* Folded sum of the pseudo-header and the transport bytes, checksum field included. */
static uint16_t transport_sum(const struct parse_ctx *c)
{
	return csum_partial(c->p.l4, c->p.l4_len, pseudo_header_sum(c));
}

static void fill_ipv4_header(uint8_t *l3, uint32_t hdr_len)
{
	uint16_t check = 0;

	memcpy(l3 + IP4_CSUM_OFF, &check, 2);
	check = (uint16_t)~csum_partial(l3, hdr_len, 0);
	memcpy(l3 + IP4_CSUM_OFF, &check, 2);
}

static void fill_transport(const struct parse_ctx *c, uint8_t *l4)
{
	uint32_t off = transport_csum_off(&c->p);
	uint16_t check = 0;

	memcpy(l4 + off, &check, 2);
	check = (uint16_t)~transport_sum(c);
	/* UDP sends "no checksum" as 0, so a computed 0 is sent as its equivalent 0xffff */
	if (c->p.proto == IPPROTO_UDP && check == 0)
		check = 0xffff;
	memcpy(l4 + off, &check, 2);
}

IPR_EXPORT int ipr_checksum_fill(void *pkt, size_t len)
{
	struct parse_ctx c;
	uint8_t *bytes = pkt;
	int err = parse_whole(&c, pkt, len);

	if (err)
		return fail("ipr_checksum_fill", err);
	if (c.p.version == 4)
		fill_ipv4_header(bytes, c.p.l3_hdr_len);
	if (has_transport_csum(&c.p))
		fill_transport(&c, bytes + (c.p.l4 - c.p.l3));
	return 0;
}

static const char *transport_name(uint8_t proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "TCP";
	case IPPROTO_UDP:
		return "UDP";
	case IPPROTO_ICMP:
		return "ICMP";
	default:
		return "ICMPv6";
	}
}

static int transport_csum_ok(const struct parse_ctx *c)
{
	uint16_t check;

	memcpy(&check, c->p.l4 + transport_csum_off(&c->p), 2);
	if (c->p.version == 4 && c->p.proto == IPPROTO_UDP && check == 0)
		return 1; /* UDP over IPv4: checksum not used */
	return transport_sum(c) == 0xffff;
}

IPR_EXPORT int ipr_checksum_verify(const void *pkt, size_t len)
{
	struct parse_ctx c;
	int err = parse_whole(&c, pkt, len);

	if (err)
		return fail("ipr_checksum_verify", err);
	if (c.p.version == 4 && csum_partial(c.p.l3, c.p.l3_hdr_len, 0) != 0xffff)
		return ipr_fail(-EBADMSG, "ipr_checksum_verify: the IPv4 header checksum is wrong");
	if (has_transport_csum(&c.p) && !transport_csum_ok(&c))
		return ipr_fail(-EBADMSG, "ipr_checksum_verify: the %s checksum is wrong",
				transport_name(c.p.proto));
	return 0;
}

/* ---- TTL / hop limit ---- */

/* Offset of the TTL or hop limit, or -EINVAL if the IP header is not all there. */
static int ttl_offset(const uint8_t *pkt, size_t len)
{
	if (!pkt || !len)
		return fault(-EINVAL, "empty packet");
	if (pkt[0] >> 4 == 6)
		return len >= IP6_HDR_LEN ? IP6_HOP_LIMIT_OFF :
					    fault(-EINVAL, "shorter than an IPv6 header");
	if (pkt[0] >> 4 != 4 || (pkt[0] & 0x0f) < 5 || (pkt[0] & 0x0f) * 4u > len)
		return fault(-EINVAL, "not a whole IPv4 or IPv6 header");
	return IP4_TTL_OFF;
}

static void write_ttl(uint8_t *pkt, int off, uint8_t ttl)
{
	uint16_t old_word, new_word, check;

	if (off == IP6_HOP_LIMIT_OFF) {
		pkt[off] = ttl;
		return;
	}
	/* the TTL shares a 16-bit checksum word with the protocol */
	memcpy(&old_word, pkt + IP4_TTL_OFF, 2);
	pkt[IP4_TTL_OFF] = ttl;
	memcpy(&new_word, pkt + IP4_TTL_OFF, 2);
	memcpy(&check, pkt + IP4_CSUM_OFF, 2);
	ipr_csum_replace2(&check, old_word, new_word);
	memcpy(pkt + IP4_CSUM_OFF, &check, 2);
}

IPR_EXPORT int ipr_decrement_ttl(void *pkt, size_t len)
{
	uint8_t *bytes = pkt;
	int off = ttl_offset(bytes, len);

	if (off < 0)
		return fail("ipr_decrement_ttl", off);
	if (bytes[off] <= 1)
		return ipr_fail(-ETIMEDOUT, "ipr_decrement_ttl: the TTL is already %u", bytes[off]);
	write_ttl(bytes, off, (uint8_t)(bytes[off] - 1));
	return bytes[off];
}

IPR_EXPORT int ipr_set_ttl(void *pkt, size_t len, uint8_t ttl)
{
	int off = ttl_offset(pkt, len);

	if (off < 0)
		return fail("ipr_set_ttl", off);
	write_ttl(pkt, off, ttl);
	return 0;
}

/* ---- addresses ---- */

IPR_EXPORT int ipr_addr_parse(const char *text, struct ipr_addr *addr)
{
	if (!text || !addr)
		return ipr_fail(-EINVAL, "ipr_addr_parse: no text or no place for the result");
	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, text, addr->bytes) == 1)
		addr->family = AF_INET;
	else if (inet_pton(AF_INET6, text, addr->bytes) == 1)
		addr->family = AF_INET6;
	else
		memset(addr, 0, sizeof(*addr));
	return addr->family ? 0 : ipr_fail(-EINVAL, "\"%.64s\" is not an IPv4 or IPv6 address", text);
}

IPR_EXPORT int ipr_addr_format(const struct ipr_addr *addr, char *buf, size_t size)
{
	socklen_t room = size < IPR_ADDR_STRLEN ? (socklen_t)size : IPR_ADDR_STRLEN;

	if (!addr || !buf || (addr->family != AF_INET && addr->family != AF_INET6))
		return ipr_fail(-EINVAL, "ipr_addr_format: no address, no buffer or an unknown family");
	if (!inet_ntop(addr->family, addr->bytes, buf, room))
		return ipr_fail(-ENOSPC, "ipr_addr_format: %zu bytes cannot hold the address", size);
	return (int)strlen(buf);
}

static void set_addr(struct ipr_addr *addr, uint8_t family, const uint8_t *bytes, size_t len)
{
	if (!addr)
		return;
	memset(addr, 0, sizeof(*addr));
	addr->family = family;
	memcpy(addr->bytes, bytes, len);
}

IPR_EXPORT int ipr_packet_addrs(const struct ipr_parsed *p, struct ipr_addr *src,
				struct ipr_addr *dst)
{
	size_t off = 12, len = 4;
	uint8_t family = AF_INET;

	if (!p || !p->l3 || (p->version != 4 && p->version != 6) ||
	    p->l3_hdr_len < (p->version == 6 ? 40 : 20))
		return ipr_fail(-EINVAL, "ipr_packet_addrs: not a packet ipr_parse() accepted");
	if (p->version == 6) {
		off = 8;
		len = 16;
		family = AF_INET6;
	}
	set_addr(src, family, p->l3 + off, len);
	set_addr(dst, family, p->l3 + off + len, len);
	return 0;
}
