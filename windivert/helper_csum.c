/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * helper_csum.c - WinDivertHelperCalcChecksums() and WinDivertHelperDecrementTTL().
 *
 * The headers are found as WinDivert finds them (wd_parse()), so the checksums
 * cover what WinDivert's do: the first packet of the buffer up to its IP
 * length, the pseudo-header with the IPv6 header's own destination. The sums
 * are libipredir's (ipr_csum_partial); the TTL step is ipr_decrement_ttl().
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "wd.h"

#define IPV4_CSUM_OFF 10

/* The transport header whose checksum is due, and how to find and skip it. */
struct transport {
	const uint8_t *hdr;
	UINT csum_off;   /* offset of the checksum field in the header */
	UINT64 no_flag;  /* WINDIVERT_HELPER_NO_*_CHECKSUM */
	UINT8 protocol;
};

static struct transport transport_of(const struct wd_packet *p)
{
	if (p->tcp)
		return (struct transport){ p->tcp, 16, WINDIVERT_HELPER_NO_TCP_CHECKSUM, IPPROTO_TCP };
	if (p->udp)
		return (struct transport){ p->udp, 6, WINDIVERT_HELPER_NO_UDP_CHECKSUM, IPPROTO_UDP };
	if (p->icmp)
		return (struct transport){ p->icmp, 2, WINDIVERT_HELPER_NO_ICMP_CHECKSUM,
					   IPPROTO_ICMP };
	if (p->icmpv6)
		return (struct transport){ p->icmpv6, 2, WINDIVERT_HELPER_NO_ICMPV6_CHECKSUM,
					   IPPROTO_ICMPV6 };
	return (struct transport){ NULL, 0, 0, 0 };
}

/* Write the checksum of len bytes at hdr (field included, as 0) after sum into hdr + off. */
static UINT16 fill_field(uint8_t *hdr, UINT off, UINT len, uint32_t sum)
{
	UINT16 check = 0;

	memcpy(hdr + off, &check, sizeof(check));
	check = (UINT16)~ipr_csum_partial(hdr, len, sum);
	memcpy(hdr + off, &check, sizeof(check));
	return check;
}

/* Folded sum of the pseudo-header for len transport bytes of protocol proto. */
static uint32_t pseudo_header_sum(const struct wd_packet *p, UINT8 proto, UINT len)
{
	uint8_t ph[40] = { 0 };
	size_t n;

	if (p->ip) {
		memcpy(ph, p->ip + 12, 8);
		ph[9] = proto;
		ph[10] = (uint8_t)(len >> 8);
		ph[11] = (uint8_t)len;
		n = 12;
	} else {
		memcpy(ph, p->ipv6 + 8, 32);
		ph[32] = (uint8_t)(len >> 24);
		ph[33] = (uint8_t)(len >> 16);
		ph[34] = (uint8_t)(len >> 8);
		ph[35] = (uint8_t)len;
		ph[39] = proto;
		n = 40;
	}
	return ipr_csum_partial(ph, n, 0);
}

/* The transport checksum from its header to the end of the packet. */
static void fill_transport(uint8_t *pkt, const struct wd_packet *p, const struct transport *t)
{
	UINT off = (UINT)(t->hdr - (p->ip ? p->ip : p->ipv6));
	UINT len = p->header_len + p->data_len - off;
	uint32_t sum = t->protocol == IPPROTO_ICMP ? 0 : pseudo_header_sum(p, t->protocol, len);
	UINT16 check = fill_field(pkt + off, t->csum_off, len, sum);

	/* UDP sends "no checksum" as 0: a computed 0 goes out as its equal, 0xffff */
	if (t->protocol == IPPROTO_UDP && check == 0)
		memset(pkt + off + t->csum_off, 0xff, 2);
}

static void mark_valid(WINDIVERT_ADDRESS *addr, UINT8 protocol)
{
	if (addr && protocol == IPPROTO_TCP)
		addr->TCPChecksum = 1;
	if (addr && protocol == IPPROTO_UDP)
		addr->UDPChecksum = 1;
}

WD_EXPORT BOOL WinDivertHelperCalcChecksums(VOID *pPacket, UINT packetLen,
					    WINDIVERT_ADDRESS *pAddr, UINT64 flags)
{
	struct wd_packet p;
	struct transport t;

	if (wd_parse(pPacket, packetLen, &p))
		return wd_fail(ERROR_INVALID_PARAMETER);
	if (p.ip && !(flags & WINDIVERT_HELPER_NO_IP_CHECKSUM)) {
		fill_field(pPacket, IPV4_CSUM_OFF, (p.ip[0] & 0x0fu) * 4, 0);
		if (pAddr)
			pAddr->IPChecksum = 1;
	}
	t = transport_of(&p);
	if (!t.hdr || (flags & t.no_flag))
		return wd_ok();
	/* the transport checksum spans the whole datagram: not computable from a part */
	if (p.truncated || p.mf || p.frag_off)
		return wd_fail(ERROR_INVALID_PARAMETER);
	fill_transport(pPacket, &p, &t);
	mark_valid(pAddr, t.protocol);
	return wd_ok();
}

WD_EXPORT BOOL WinDivertHelperDecrementTTL(VOID *pPacket, UINT packetLen)
{
	int ttl = pPacket && packetLen >= 20 ? ipr_decrement_ttl(pPacket, packetLen) : -EINVAL;

	/* a TTL that runs out is the answer, not an error */
	if (ttl == -ETIMEDOUT) {
		wd_ok();
		return FALSE;
	}
	return ttl < 0 ? wd_fail(ERROR_INVALID_PARAMETER) : wd_ok();
}
