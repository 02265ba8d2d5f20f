/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pcapng.c - the pcapng blocks of a capture (libpcap 1.10 writes none):
 *
 *   Section Header       shb_hardware, shb_os, shb_userappl, and a comment with
 *                        the host name and the filter
 *   Interface Description one per interface, at its first packet: if_name (the
 *                        name it had then), "ifindex N" as if_description,
 *                        link type RAW (IPv4 and IPv6), nanosecond timestamps
 *   Enhanced Packet      epb_flags: direction in bits 0-1 (inbound, outbound) and
 *                        the ipredir layer in bits 9-10, the reserved bits
 *                        Wireshark shows as frame.packet_flags_reserved (1 in,
 *                        2 out, 3 forward); an optional comment (the process)
 *   Interface Statistics at the end, one per interface: packets written
 *                        (isb_usrdeliv), and on the first the redirector's drops
 *                        (isb_ifdrop: Wireshark shows them as the interface's
 *                        dropped packets) with a comment that names them
 *
 * Every block is in host byte order, as the section header's magic says.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "capture.h"

#define BLOCK_SHB 0x0A0D0D0Au
#define BLOCK_IDB 1u
#define BLOCK_ISB 5u
#define BLOCK_EPB 6u
#define BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define LINKTYPE_RAW 101

#define OPT_END 0
#define OPT_COMMENT 1
#define SHB_HARDWARE 2
#define SHB_OS 3
#define SHB_USERAPPL 4
#define IF_NAME 2
#define IF_DESCRIPTION 3
#define IF_TSRESOL 9
#define EPB_FLAGS 2
#define ISB_STARTTIME 2
#define ISB_ENDTIME 3
#define ISB_IFDROP 5
#define ISB_USRDELIV 8

#define EPB_INBOUND 1u
#define EPB_OUTBOUND 2u
#define EPB_LAYER_SHIFT 9     /* reserved bits 9-10: the ipredir layer */
#define COMMENT_MAX 256       /* bytes kept of a packet's comment */
#define OPTIONS_MAX 8192      /* bytes of one block's options */

/* The options of one block, padded to 4 bytes each, then the block's total length. */
struct options {
	uint8_t buf[OPTIONS_MAX + 4];
	size_t len;
};

static void opt_add(struct options *o, uint16_t code, const void *data, size_t len)
{
	static const uint8_t zero[4];
	size_t pad = (4 - len % 4) % 4;

	if (len > 0xffff || 4 + len + pad + 4 > OPTIONS_MAX - o->len)
		return; /* too long for the block: left out */
	memcpy(o->buf + o->len, &code, 2);
	memcpy(o->buf + o->len + 2, &(uint16_t){ (uint16_t)len }, 2);
	memcpy(o->buf + o->len + 4, data, len);
	memcpy(o->buf + o->len + 4 + len, zero, pad);
	o->len += 4 + len + pad;
}

static void opt_str(struct options *o, uint16_t code, const char *s, size_t max)
{
	size_t len = strlen(s);

	opt_add(o, code, s, len < max ? len : max);
}

static void opt_u32(struct options *o, uint16_t code, uint32_t v)
{
	opt_add(o, code, &v, sizeof(v));
}

static void opt_u64(struct options *o, uint16_t code, uint64_t v)
{
	opt_add(o, code, &v, sizeof(v));
}

/* A timestamp as pcapng stores it: the high 32 bits first. */
static void opt_time(struct options *o, uint16_t code, uint64_t ns)
{
	uint32_t t[2] = { (uint32_t)(ns >> 32), (uint32_t)ns };

	opt_add(o, code, t, sizeof(t));
}

/*
 * Queue one block: its type and length, the fixed fields of body, data (not
 * copied) padded to 4 bytes, the options (end-of-options added when there are
 * some) and the length again. 0 or -ENOBUFS.
 */
static int put_block(struct capture *c, uint32_t type, const void *body, size_t body_len,
		     const void *data, size_t data_len, struct options *o)
{
	static const uint8_t zero[4];
	size_t pad = (4 - data_len % 4) % 4;
	uint32_t head[2] = { type, 0 };
	uint32_t total;

	if (o->len)
		opt_add(o, OPT_END, NULL, 0);
	total = (uint32_t)(sizeof(head) + body_len + data_len + pad + o->len + 4);
	head[1] = total;
	memcpy(o->buf + o->len, &total, 4);
	if (capture_put(c, head, sizeof(head)) < 0 || capture_put(c, body, body_len) < 0)
		return -ENOBUFS;
	if (data_len)
		capture_ref(c, data, data_len);
	if ((pad && capture_put(c, zero, pad) < 0) || capture_put(c, o->buf, o->len + 4) < 0)
		return -ENOBUFS;
	return 0;
}

/* ---- section header ---- */

int pcapng_header(struct capture *c, const struct capture_about *about)
{
	struct {
		uint32_t magic;
		uint16_t major, minor;
		int64_t section_len;
	} __attribute__((packed)) body = { BYTE_ORDER_MAGIC, 1, 0, -1 };
	struct options o = { .len = 0 };
	char host[256] = "?", text[OPTIONS_MAX], os[2 * sizeof(((struct utsname *)0)->release)];
	struct utsname u;

	gethostname(host, sizeof(host) - 1);
	if (uname(&u) == 0) {
		snprintf(os, sizeof(os), "%s %s", u.sysname, u.release);
		opt_str(&o, SHB_HARDWARE, u.machine, 256);
		opt_str(&o, SHB_OS, os, 256);
	}
	snprintf(text, sizeof(text), "ipredir %s", ipr_version());
	opt_str(&o, SHB_USERAPPL, text, 256);
	snprintf(text, sizeof(text), "host %s; filter %s", host,
		 about->filter && *about->filter ? about->filter : "(every IP packet)");
	opt_str(&o, OPT_COMMENT, text, OPTIONS_MAX / 2);
	return put_block(c, BLOCK_SHB, &body, sizeof(body), NULL, 0, &o);
}

/* ---- interfaces ---- */

static int put_interface(struct capture *c, uint32_t ifindex)
{
	struct {
		uint16_t linktype, reserved;
		uint32_t snaplen;
	} body = { LINKTYPE_RAW, 0, c->snaplen };
	struct options o = { .len = 0 };
	char name[IF_NAMESIZE + 16], text[32];
	uint8_t nanoseconds = 9;

	if (!ifindex)
		snprintf(name, sizeof(name), "unknown");
	else if (!if_indextoname(ifindex, name))
		snprintf(name, sizeof(name), "if%u", ifindex);
	snprintf(text, sizeof(text), "ifindex %u", ifindex);
	opt_str(&o, IF_NAME, name, sizeof(name));
	opt_str(&o, IF_DESCRIPTION, text, sizeof(text));
	opt_add(&o, IF_TSRESOL, &nanoseconds, 1);
	return put_block(c, BLOCK_IDB, &body, sizeof(body), NULL, 0, &o);
}

/* The pcapng interface id of ifindex, describing it first if it is new; < 0 on error. */
static int interface_id(struct capture *c, uint32_t ifindex)
{
	unsigned int i;

	for (i = 0; i < c->nifaces; i++)
		if (c->iface[i].ifindex == ifindex)
			return (int)i;
	if (i == CAPTURE_IFACES)
		return -ENOSPC;
	if (put_interface(c, ifindex) < 0)
		return -ENOBUFS;
	c->iface[i] = (struct capture_iface){ .ifindex = ifindex };
	c->nifaces++;
	return (int)i;
}

/* ---- packets ---- */

/* A forwarded packet is recorded inbound on the interface it came from. */
static uint32_t packet_ifindex(const struct ipr_packet *pkt)
{
	return pkt->layer == IPR_LAYER_OUT ? pkt->ifindex_out : pkt->ifindex_in;
}

static uint32_t packet_flags(const struct ipr_packet *pkt)
{
	uint32_t layer = pkt->layer == IPR_LAYER_IN ? 1 : pkt->layer == IPR_LAYER_OUT ? 2 : 3;

	return (pkt->layer == IPR_LAYER_OUT ? EPB_OUTBOUND : EPB_INBOUND) |
	       layer << EPB_LAYER_SHIFT;
}

static int put_packet(struct capture *c, const struct ipr_packet *pkt, const char *comment)
{
	uint64_t ts = (uint64_t)pkt->ts_sec * 1000000000u + pkt->ts_nsec;
	int id = interface_id(c, packet_ifindex(pkt));
	struct options o = { .len = 0 };
	uint32_t body[5];

	if (id < 0)
		return id;
	body[0] = (uint32_t)id;
	body[1] = (uint32_t)(ts >> 32);
	body[2] = (uint32_t)ts;
	body[3] = pkt->caplen;
	body[4] = pkt->len;
	opt_u32(&o, EPB_FLAGS, packet_flags(pkt));
	if (comment && *comment)
		opt_str(&o, OPT_COMMENT, comment, COMMENT_MAX);
	c->iface[id].written++;
	return put_block(c, BLOCK_EPB, body, sizeof(body), pkt->data, pkt->caplen, &o);
}

int pcapng_packets(struct capture *c, const struct ipr_packet *pkts, int n,
		   const char *const *comments)
{
	int err = 0;

	for (int i = 0; i < n && !err; i++)
		err = put_packet(c, &pkts[i], comments ? comments[i] : NULL);
	return err;
}

/* ---- statistics ---- */

static void drop_options(struct options *o, const struct ipr_stats *s)
{
	char text[256];

	opt_u64(o, ISB_IFDROP, s->queue_dropped + s->user_dropped + s->failopen);
	snprintf(text, sizeof(text), "drops of the whole redirector: queue full %llu, socket "
		 "buffer full %llu, passed uncaptured (fail-open) %llu",
		 (unsigned long long)s->queue_dropped, (unsigned long long)s->user_dropped,
		 (unsigned long long)s->failopen);
	opt_str(o, OPT_COMMENT, text, sizeof(text));
}

int pcapng_statistics(struct capture *c, const struct ipr_stats *stats)
{
	uint64_t now = capture_now_ns();
	int err = 0;

	for (unsigned int i = 0; i < c->nifaces && !err; i++) {
		struct options o = { .len = 0 };
		uint32_t body[3] = { i, (uint32_t)(now >> 32), (uint32_t)now };

		opt_time(&o, ISB_STARTTIME, c->start_ns);
		opt_time(&o, ISB_ENDTIME, now);
		opt_u64(&o, ISB_USRDELIV, c->iface[i].written);
		if (i == 0)
			drop_options(&o, stats);
		err = put_block(c, BLOCK_ISB, body, sizeof(body), NULL, 0, &o);
		if (!err)
			err = capture_flush(c);
	}
	return err;
}
