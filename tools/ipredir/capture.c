/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * capture.c - capture files: opening, batches of blocks written with one
 * writev (packet bytes straight from the receive buffer), and the pcap format:
 * link type LINUX_SLL2, whose header records the direction and the interface
 * index of each packet. pcapng.c writes the pcapng blocks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if_arp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_packet.h>

#include "capture.h"

#define PCAP_MAGIC 0xa1b2c3d4u  /* microsecond timestamps, host byte order */
#define LINKTYPE_LINUX_SLL2 276
#define SLL2_HDR_LEN 20

/* pcap's file header. */
struct pcap_file_head {
	uint32_t magic;
	uint16_t major, minor;
	int32_t thiszone;
	uint32_t sigfigs, snaplen, linktype;
};

/* What goes before each packet's bytes: pcap's record header and the SLL2 header. */
struct pcap_record_head {
	uint32_t ts_sec, ts_usec, caplen, len;
	uint8_t sll2[SLL2_HDR_LEN];
};

enum capture_format capture_format_of(const char *file)
{
	size_t len = strlen(file), ext = strlen(".pcapng");

	return len > ext && !strcmp(file + len - ext, ".pcapng") ? CAPTURE_PCAPNG : CAPTURE_PCAP;
}

uint64_t capture_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- batches ---- */

int capture_put(struct capture *c, const void *data, size_t len)
{
	if (len > CAPTURE_ARENA - c->used || c->niov >= (int)(sizeof(c->iov) / sizeof(c->iov[0])))
		return -ENOBUFS;
	memcpy(c->arena + c->used, data, len);
	capture_ref(c, c->arena + c->used, len);
	c->used += len;
	return 0;
}

void capture_ref(struct capture *c, const void *data, size_t len)
{
	c->iov[c->niov++] = (struct iovec){ (void *)data, len };
}

/* writev all of iov, going on after short writes and signals; 0 or -errno. */
static int write_all(int fd, struct iovec *iov, int cnt)
{
	while (cnt > 0) {
		ssize_t n = writev(fd, iov, cnt > IOV_MAX ? IOV_MAX : cnt);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -EIO;
		for (; cnt > 0 && (size_t)n >= iov->iov_len; iov++, cnt--)
			n -= (ssize_t)iov->iov_len;
		if (cnt > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

int capture_flush(struct capture *c)
{
	int err = write_all(c->fd, c->iov, c->niov);

	c->niov = 0;
	c->used = 0;
	return err;
}

/* ---- pcap (LINUX_SLL2) ---- */

static int pcap_header(struct capture *c, const struct capture_about *about)
{
	struct pcap_file_head h = {
		.magic = PCAP_MAGIC,
		.major = 2,
		.minor = 4,
		.snaplen = about->snaplen + SLL2_HDR_LEN,
		.linktype = LINKTYPE_LINUX_SLL2,
	};

	return capture_put(c, &h, sizeof(h));
}

/* The 20-byte SLL2 header: the interface and direction tcpdump shows. */
static void sll2_header(const struct ipr_packet *pkt, uint8_t *h)
{
	uint16_t proto = htons(pkt->flags & IPR_PKT_IPV6 ? 0x86dd : 0x0800);
	uint32_t index = htonl(pkt->layer == IPR_LAYER_OUT ? pkt->ifindex_out : pkt->ifindex_in);
	uint16_t hatype = htons(ARPHRD_NONE);

	memset(h, 0, SLL2_HDR_LEN);
	memcpy(h, &proto, 2);
	memcpy(h + 4, &index, 4);
	memcpy(h + 8, &hatype, 2);
	h[10] = pkt->layer == IPR_LAYER_IN  ? PACKET_HOST :
		pkt->layer == IPR_LAYER_OUT ? PACKET_OUTGOING : PACKET_OTHERHOST;
	h[11] = 0; /* no link-layer address */
}

static int pcap_packets(struct capture *c, const struct ipr_packet *pkts, int n)
{
	struct pcap_record_head r;

	for (int i = 0; i < n; i++) {
		r.ts_sec = (uint32_t)pkts[i].ts_sec;
		r.ts_usec = pkts[i].ts_nsec / 1000;
		r.caplen = SLL2_HDR_LEN + pkts[i].caplen;
		r.len = SLL2_HDR_LEN + pkts[i].len;
		sll2_header(&pkts[i], r.sll2);
		if (capture_put(c, &r, sizeof(r)) < 0)
			return -ENOBUFS;
		capture_ref(c, pkts[i].data, pkts[i].caplen);
	}
	return 0;
}

/* ---- the file ---- */

static int open_file(const char *file)
{
	if (!strcmp(file, "-"))
		return STDOUT_FILENO;
	return open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

struct capture *capture_open(const char *file, enum capture_format format,
			     const struct capture_about *about)
{
	struct capture *c = calloc(1, sizeof(*c));
	int err;

	if (!c)
		return NULL;
	c->format = format;
	c->snaplen = about->snaplen;
	c->start_ns = capture_now_ns();
	c->fd = open_file(file);
	c->close_fd = c->fd != STDOUT_FILENO;
	if (c->fd < 0) {
		free(c);
		return NULL;
	}
	err = format == CAPTURE_PCAPNG ? pcapng_header(c, about) : pcap_header(c, about);
	if (!err)
		err = capture_flush(c);
	if (err) {
		capture_close(c, NULL);
		errno = -err;
		return NULL;
	}
	return c;
}

int capture_write(struct capture *c, const struct ipr_packet *pkts, int n,
		  const char *const *comments)
{
	int err;

	if (n > CAPTURE_BATCH)
		return -EINVAL;
	if (c->format == CAPTURE_PCAPNG)
		err = pcapng_packets(c, pkts, n, comments);
	else
		err = pcap_packets(c, pkts, n);
	if (err) {
		c->niov = 0;
		c->used = 0;
		return err;
	}
	return capture_flush(c);
}

int capture_close(struct capture *c, const struct ipr_stats *stats)
{
	int err = 0;

	if (!c)
		return 0;
	if (stats && c->format == CAPTURE_PCAPNG)
		err = pcapng_statistics(c, stats);
	if (c->close_fd && close(c->fd) < 0 && !err)
		err = -errno;
	free(c);
	return err;
}
