/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * helper_addr.c - address text and byte order: WinDivertHelperParse/Format-
 * IPv4/IPv6Address() and the Ntoh/Hton family.
 *
 * Addresses are in host order; an IPv6 address is UINT32[4] with the last 32
 * bits in [0], so that the array read as one 128-bit little-endian number is
 * the address. Text is read by the filter language's reader (filter_lex.c), as
 * in WinDivert, where a filter and these helpers read addresses alike; it is
 * written as WinDivert writes it: the longest run of zero groups
 * (the first of equals, even a single group) as "::", an IPv4-mapped address
 * as plain "a.b.c.d".
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "wd.h"

#define IPV6_TEXT_MAX 40 /* eight groups of four digits, seven colons, NUL */

static void put_be32(uint8_t *p, UINT32 v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Copy text (n bytes) into buf: n, or -ENOSPC with as much as fits, NUL-terminated. */
static int copy_out(const char *text, int n, char *buf, size_t size)
{
	size_t fit = (size_t)n < size ? (size_t)n : size ? size - 1 : 0;

	if (size) {
		memcpy(buf, text, fit);
		buf[fit] = '\0';
	}
	return (size_t)n < size ? n : -ENOSPC;
}

int wd_format_ipv4(UINT32 addr, char *buf, size_t size)
{
	struct ipr_addr a = { .family = AF_INET };
	char text[IPR_ADDR_STRLEN];
	int n;

	put_be32(a.bytes, addr);
	n = ipr_addr_format(&a, text, sizeof(text));
	return n < 0 ? n : copy_out(text, n, buf, size);
}

/* The first longest run of zero groups: its length, 0 if none; its start in *start. */
static int longest_zero_run(const UINT16 *group, int *start)
{
	int best = 0, run = 0;

	for (int i = 0; i < 8; i++) {
		run = group[i] ? 0 : run + 1;
		if (run > best) {
			best = run;
			*start = i - run + 1;
		}
	}
	return best;
}

static int format_groups(const UINT16 *group, char *text)
{
	int start = 0, run = longest_zero_run(group, &start), n = 0;

	for (int i = 0; i < 8; i++) {
		if (run && i == start) {
			n += snprintf(text + n, IPV6_TEXT_MAX - n, "%s", i ? ":" : "::");
			i += run - 1;
			continue;
		}
		n += snprintf(text + n, IPV6_TEXT_MAX - n, "%x%s", group[i], i < 7 ? ":" : "");
	}
	return n;
}

int wd_format_ipv6(const UINT32 *addr, char *buf, size_t size)
{
	UINT16 group[8];
	char text[IPV6_TEXT_MAX];

	if (!addr[3] && !addr[2] && addr[1] == 0xffff)
		return wd_format_ipv4(addr[0], buf, size);
	for (int i = 0; i < 4; i++) {
		group[2 * i] = (UINT16)(addr[3 - i] >> 16);
		group[2 * i + 1] = (UINT16)addr[3 - i];
	}
	return copy_out(text, format_groups(group, text), buf, size);
}

WD_EXPORT BOOL WinDivertHelperParseIPv4Address(const char *addrStr, UINT32 *pAddr)
{
	UINT32 addr;

	if (wd_parse_ipv4(addrStr, &addr))
		return wd_fail(ERROR_INVALID_PARAMETER);
	if (pAddr)
		*pAddr = addr;
	return wd_ok();
}

WD_EXPORT BOOL WinDivertHelperParseIPv6Address(const char *addrStr, UINT32 *pAddr)
{
	UINT32 addr[4];

	if (wd_parse_ipv6(addrStr, addr))
		return wd_fail(ERROR_INVALID_PARAMETER);
	if (pAddr)
		memcpy(pAddr, addr, sizeof(addr));
	return wd_ok();
}

/* A formatter's result as the API reports it. */
static BOOL format_result(int n)
{
	return n >= 0 ? wd_ok() : wd_fail(ERROR_INSUFFICIENT_BUFFER);
}

WD_EXPORT BOOL WinDivertHelperFormatIPv4Address(UINT32 addr, char *buffer, UINT bufLen)
{
	if (!buffer)
		return wd_fail(ERROR_INVALID_PARAMETER);
	return format_result(wd_format_ipv4(addr, buffer, bufLen));
}

WD_EXPORT BOOL WinDivertHelperFormatIPv6Address(const UINT32 *pAddr, char *buffer, UINT bufLen)
{
	if (!pAddr || !buffer)
		return wd_fail(ERROR_INVALID_PARAMETER);
	return format_result(wd_format_ipv6(pAddr, buffer, bufLen));
}

/* ---- byte order ---- */

WD_EXPORT UINT16 WinDivertHelperNtohs(UINT16 x)
{
	return ntohs(x);
}

WD_EXPORT UINT16 WinDivertHelperHtons(UINT16 x)
{
	return htons(x);
}

WD_EXPORT UINT32 WinDivertHelperNtohl(UINT32 x)
{
	return ntohl(x);
}

WD_EXPORT UINT32 WinDivertHelperHtonl(UINT32 x)
{
	return htonl(x);
}

WD_EXPORT UINT64 WinDivertHelperNtohll(UINT64 x)
{
	return be64toh(x);
}

WD_EXPORT UINT64 WinDivertHelperHtonll(UINT64 x)
{
	return htobe64(x);
}

/* Network-order bytes <-> host-order words, last word first; in and out may overlap. */
static void swap_ipv6(const UINT *in, UINT *out)
{
	UINT words[4];

	for (int i = 0; i < 4; i++)
		words[3 - i] = ntohl(in[i]);
	memcpy(out, words, sizeof(words));
}

WD_EXPORT void WinDivertHelperNtohIPv6Address(const UINT *inAddr, UINT *outAddr)
{
	swap_ipv6(inAddr, outAddr);
}

WD_EXPORT void WinDivertHelperHtonIPv6Address(const UINT *inAddr, UINT *outAddr)
{
	swap_ipv6(inAddr, outAddr);
}

WD_EXPORT void WinDivertHelperNtohIpv6Address(const UINT *inAddr, UINT *outAddr)
{
	swap_ipv6(inAddr, outAddr);
}

WD_EXPORT void WinDivertHelperHtonIpv6Address(const UINT *inAddr, UINT *outAddr)
{
	swap_ipv6(inAddr, outAddr);
}
