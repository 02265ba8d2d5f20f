/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * helper.c - WinDivertHelperParsePacket(): the headers and payload of a packet
 * or of each packet of a batch, read the way WinDivert reads them.
 *
 * WinDivert's reading differs from ipr_parse()'s, so it is its own: a buffer
 * shorter than the IP length parses but is refused by the public call; the
 * bytes past the IP length are the next packet of a batch; a transport header
 * is taken only if its fixed part fits, a TCP header's options may be cut;
 * IPv6 extension headers are walked in any order (mobility included) until
 * one does not fit; the payload is what follows the last header found.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "wd.h"

#define IPV4_HDR_MIN 20
#define IPV6_HDR_LEN 40
#define IPV6_FRAG_HDR_LEN 8
#define TCP_HDR_MIN 20
#define UDP_HDR_LEN 8
#define ICMP_HDR_LEN 8

static UINT16 get_be16(const uint8_t *p)
{
	return (UINT16)(p[0] << 8 | p[1]);
}

/* Move the payload view past a header of len bytes. */
static void skip(struct wd_packet *p, UINT len)
{
	p->data += len;
	p->data_len -= len;
}

/* The IPv4 header; 0, or -EINVAL if its lengths do not fit. */
static int parse_ipv4(struct wd_packet *p, const uint8_t *pkt, UINT len)
{
	UINT hdr_len = (pkt[0] & 0x0fu) * 4;
	UINT16 frag = get_be16(pkt + 6);

	p->total_len = get_be16(pkt + 2);
	if (hdr_len < IPV4_HDR_MIN || hdr_len > len || p->total_len < hdr_len)
		return -EINVAL;
	p->ip = pkt;
	p->protocol = pkt[9];
	p->frag_off = frag & 0x1fff;
	p->mf = (frag & 0x2000) != 0;
	p->fragment = p->mf || p->frag_off;
	p->data = pkt;
	p->data_len = p->total_len < len ? p->total_len : len;
	skip(p, hdr_len);
	return 0;
}

/* Length of an IPv6 extension header h of type nexthdr; 0 for any other header. */
static UINT ipv6_ext_len(UINT8 nexthdr, const uint8_t *h)
{
	switch (nexthdr) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_DSTOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_MH:
		return (h[1] + 1u) * 8;
	case IPPROTO_AH:
		return (h[1] + 2u) * 4;
	case IPPROTO_FRAGMENT:
		return IPV6_FRAG_HDR_LEN;
	default:
		return 0;
	}
}

/* Walk the extension headers up to a later fragment's data or one that does not fit. */
static void skip_ipv6_ext(struct wd_packet *p)
{
	while (!p->frag_off && p->data_len >= 2) {
		UINT len = ipv6_ext_len(p->protocol, p->data);

		if (!len || len > p->data_len)
			return;
		if (p->protocol == IPPROTO_FRAGMENT) {
			UINT16 off_flags = get_be16(p->data + 2);

			if (p->fragment)
				return; /* a second fragment header ends the walk */
			p->frag_off = off_flags >> 3;
			p->mf = off_flags & 1;
			p->fragment = 1;
		}
		p->protocol = p->data[0];
		skip(p, len);
	}
}

static int parse_ipv6(struct wd_packet *p, const uint8_t *pkt, UINT len)
{
	if (len < IPV6_HDR_LEN)
		return -EINVAL;
	p->ipv6 = pkt;
	p->total_len = IPV6_HDR_LEN + get_be16(pkt + 4);
	p->protocol = pkt[6];
	p->data = pkt;
	p->data_len = p->total_len < len ? p->total_len : len;
	skip(p, IPV6_HDR_LEN);
	skip_ipv6_ext(p);
	return 0;
}

/* Length of the transport header at p->data, 0 if there is none. */
static UINT transport_len(const struct wd_packet *p)
{
	UINT tcp_len;

	switch (p->protocol) {
	case IPPROTO_TCP:
		if (p->data_len < TCP_HDR_MIN || p->data[12] >> 4 < 5)
			return 0;
		tcp_len = (p->data[12] >> 4) * 4u;
		return tcp_len < p->data_len ? tcp_len : p->data_len;
	case IPPROTO_UDP:
		return p->data_len >= UDP_HDR_LEN ? UDP_HDR_LEN : 0;
	case IPPROTO_ICMP:
		return p->ip && p->data_len >= ICMP_HDR_LEN ? ICMP_HDR_LEN : 0;
	case IPPROTO_ICMPV6:
		return p->ipv6 && p->data_len >= ICMP_HDR_LEN ? ICMP_HDR_LEN : 0;
	default:
		return 0;
	}
}

static void parse_transport(struct wd_packet *p)
{
	UINT len = p->frag_off ? 0 : transport_len(p);

	if (!len)
		return;
	if (p->protocol == IPPROTO_TCP)
		p->tcp = p->data;
	else if (p->protocol == IPPROTO_UDP)
		p->udp = p->data;
	else if (p->protocol == IPPROTO_ICMP)
		p->icmp = p->data;
	else
		p->icmpv6 = p->data;
	skip(p, len);
}

int wd_parse(const void *pkt, UINT len, struct wd_packet *out)
{
	const uint8_t *bytes = pkt;
	int err = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (bytes && len >= IPV4_HDR_MIN && bytes[0] >> 4 == 4)
		err = parse_ipv4(out, bytes, len);
	else if (bytes && len >= IPV4_HDR_MIN && bytes[0] >> 4 == 6)
		err = parse_ipv6(out, bytes, len);
	if (err) {
		memset(out, 0, sizeof(*out));
		return err;
	}
	parse_transport(out);
	out->header_len = (UINT)(out->data - bytes);
	out->truncated = out->total_len > len;
	out->extended = out->total_len < len;
	if (!out->data_len)
		out->data = NULL;
	return 0;
}

/* The API hands back pointers into the caller's buffer, const or not. */
static void *into_buffer(const void *p)
{
	return (void *)(uintptr_t)p;
}

#define PUT(out, value)                       \
	do {                                  \
		if (out)                      \
			*(out) = (value);     \
	} while (0)

WD_EXPORT BOOL WinDivertHelperParsePacket(
	const VOID *pPacket, UINT packetLen, PWINDIVERT_IPHDR *ppIpHdr,
	PWINDIVERT_IPV6HDR *ppIpv6Hdr, UINT8 *pProtocol, PWINDIVERT_ICMPHDR *ppIcmpHdr,
	PWINDIVERT_ICMPV6HDR *ppIcmpv6Hdr, PWINDIVERT_TCPHDR *ppTcpHdr,
	PWINDIVERT_UDPHDR *ppUdpHdr, PVOID *ppData, UINT *pDataLen, PVOID *ppNext,
	UINT *pNextLen)
{
	struct wd_packet p;
	/* only the whole packet counts; the rest of a batch follows it */
	int ok = wd_parse(pPacket, packetLen, &p) == 0 && !p.truncated;
	UINT used = p.header_len + p.data_len;

	if (!ok)
		memset(&p, 0, sizeof(p));
	PUT(ppIpHdr, into_buffer(p.ip));
	PUT(ppIpv6Hdr, into_buffer(p.ipv6));
	PUT(pProtocol, p.protocol);
	PUT(ppIcmpHdr, into_buffer(p.icmp));
	PUT(ppIcmpv6Hdr, into_buffer(p.icmpv6));
	PUT(ppTcpHdr, into_buffer(p.tcp));
	PUT(ppUdpHdr, into_buffer(p.udp));
	PUT(ppData, into_buffer(p.data));
	PUT(pDataLen, p.data_len);
	PUT(ppNext, p.extended ? into_buffer((const uint8_t *)pPacket + used) : NULL);
	PUT(pNextLen, p.extended ? packetLen - used : 0);
	return ok ? wd_ok() : wd_fail(ERROR_INVALID_PARAMETER);
}
