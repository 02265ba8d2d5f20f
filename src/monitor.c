/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* monitor.c - the NFLOG socket of monitor handles: bind a group, batched copies, lost copies. */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define SOCKET_BUFFER (64 << 20)   /* copies a stopped program can fall behind before losing any */
#define NLBUFSIZ (124u << 10)      /* kernel batch buffer: with the skb's own overhead its
				      allocation stays within IPR_MONITOR_DGRAM_MAX */
#define COPY_MAX (0xffff - MNL_ATTR_HDRLEN) /* the kernel's largest copy (16-bit attribute) */
#define FLUSH_TIMEOUT 1            /* 1/100 s: a quiet link still delivers within 10 ms */
#define AUTO_GROUP_FIRST 49152     /* auto-picked groups: far from hand-written rules */
#define AUTO_GROUP_SPAN 16384
#define PROC_GROUPS "/proc/net/netfilter/nfnetlink_log"
#define ULOG_PACKET ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET)
#define STASH_SIZE (IPR_MONITOR_RX_DGRAMS * IPR_MONITOR_DGRAM_MAX)

/* Start a log subsystem message of the given type for group. */
static struct nlmsghdr *put_log_header(void *buf, uint8_t type, uint16_t group, uint32_t seq)
{
	return ipr_nfnl_put_header(buf, NFNL_SUBSYS_ULOG, type, group, seq);
}

static struct nlmsghdr *put_command(void *buf, struct ipr_monitor *m, uint8_t command)
{
	struct nlmsghdr *nlh = put_log_header(buf, NFULNL_MSG_CONFIG, m->group, ++m->seq);
	struct nfulnl_msg_config_cmd cmd = { .command = command };

	mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof(cmd), &cmd);
	return nlh;
}

static int send_command(struct ipr_monitor *m, uint8_t command)
{
	char buf[IPR_REQUEST_SIZE] = { 0 };

	return ipr_nfnl_talk(m->fd, put_command(buf, m, command));
}

/* Whether some socket has bound group (the kernel says EPERM for a group bound elsewhere). */
static int group_taken(uint16_t group)
{
	FILE *f = fopen(PROC_GROUPS, "re");
	unsigned int num;
	char line[128];
	int taken = 0;

	if (!f)
		return 0;
	while (!taken && fgets(line, sizeof(line), f))
		taken = sscanf(line, "%u", &num) == 1 && num == group;
	fclose(f);
	return taken;
}

/* Bind the first free group of the automatic range. */
static int bind_group(struct ipr_monitor *m)
{
	unsigned int start = (unsigned int)getpid() % AUTO_GROUP_SPAN;
	int err = -EBUSY;

	for (unsigned int i = 0; i < AUTO_GROUP_SPAN && err == -EBUSY; i++) {
		m->group = (uint16_t)(AUTO_GROUP_FIRST + (start + i) % AUTO_GROUP_SPAN);
		err = send_command(m, NFULNL_CFG_CMD_BIND);
		if (err == -EPERM && group_taken(m->group))
			err = -EBUSY;
	}
	if (err == -EPERM)
		return ipr_fail(err, "binding an NFLOG group needs CAP_NET_ADMIN: run as root");
	if (err == -EBUSY)
		return ipr_fail(err, "every NFLOG group from %d to %d is taken", AUTO_GROUP_FIRST,
				AUTO_GROUP_FIRST + AUTO_GROUP_SPAN - 1);
	if (err)
		return ipr_fail(err, "binding NFLOG group %u: %s", m->group, strerror(-err));
	return 0;
}

/* Whole copies of snaplen bytes, batched, flushed after 10 ms, numbered to count losses. */
static int configure(struct ipr_monitor *m)
{
	char buf[IPR_REQUEST_SIZE] = { 0 };
	struct nlmsghdr *nlh = put_log_header(buf, NFULNL_MSG_CONFIG, m->group, ++m->seq);
	struct nfulnl_msg_config_mode mode = {
		.copy_range = htonl(m->snaplen),
		.copy_mode = NFULNL_COPY_PACKET,
	};
	int err;

	mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof(mode), &mode);
	mnl_attr_put_u32(nlh, NFULA_CFG_NLBUFSIZ, htonl(NLBUFSIZ));
	mnl_attr_put_u32(nlh, NFULA_CFG_TIMEOUT, htonl(FLUSH_TIMEOUT));
	mnl_attr_put_u32(nlh, NFULA_CFG_QTHRESH, htonl(IPR_MONITOR_BATCH));
	mnl_attr_put_u16(nlh, NFULA_CFG_FLAGS, htons(NFULNL_CFG_F_SEQ));
	err = ipr_nfnl_talk(m->fd, nlh);
	if (err)
		return ipr_fail(err, "configuring NFLOG group %u: %s", m->group, strerror(-err));
	return 0;
}

static int open_socket(struct ipr_monitor *m)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK };
	int size = SOCKET_BUFFER, on = 1;

	m->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (m->fd < 0)
		return ipr_fail(-errno, "netlink socket: %s", strerror(errno));
	if (bind(m->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return ipr_fail(-errno, "netlink bind: %s", strerror(errno));
	if (setsockopt(m->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(m->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	/* Lost copies show as sequence gaps; an ENOBUFS error would only stop a loop. */
	setsockopt(m->fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &on, sizeof(on));
	return 0;
}

static void free_monitor(struct ipr_monitor *m)
{
	if (m->fd >= 0)
		close(m->fd); /* also releases the group if it is still bound */
	m->fd = -1;
	free(m->stash);
	m->stash = NULL;
	m->stash_len = 0;
}

int ipr_monitor_open(struct ipr_monitor *m, unsigned int snaplen)
{
	int err = 0;

	m->snaplen = snaplen < COPY_MAX ? snaplen : COPY_MAX;
	/* A group's sequence starts at 0: copies lost before the first one count too. */
	m->last_seq = UINT32_MAX;
	m->have_seq = 1;
	m->stash = malloc(STASH_SIZE);
	if (!m->stash)
		err = ipr_fail(-ENOMEM, "out of memory");
	if (!err)
		err = open_socket(m);
	if (!err)
		err = bind_group(m);
	if (!err)
		err = configure(m);
	if (err)
		free_monitor(m);
	return err;
}

void ipr_monitor_close(struct ipr_monitor *m)
{
	char buf[IPR_REQUEST_SIZE] = { 0 };
	struct nlmsghdr *nlh;

	if (m->fd < 0)
		return;
	/* No ack: the socket may hold megabytes of copies to read past first. */
	nlh = put_command(buf, m, NFULNL_CFG_CMD_UNBIND);
	send(m->fd, nlh, nlh->nlmsg_len, 0);
	free_monitor(m);
}

/* ---- one packet message ---- */

/* Smallest payload of the attributes we read; shorter ones are ignored. */
static const uint8_t attr_size[NFULA_MAX + 1] = {
	[NFULA_PACKET_HDR] = sizeof(struct nfulnl_msg_packet_hdr),
	[NFULA_MARK] = 4,
	[NFULA_TIMESTAMP] = sizeof(struct nfulnl_msg_packet_timestamp),
	[NFULA_IFINDEX_INDEV] = 4,
	[NFULA_IFINDEX_OUTDEV] = 4,
	[NFULA_UID] = 4,
	[NFULA_GID] = 4,
	[NFULA_SEQ] = 4,
};

static uint32_t attr_u32(const struct nlattr *a)
{
	return ntohl(mnl_attr_get_u32(a));
}

static void parse_timestamp(const struct nlattr *a, struct ipr_packet *p)
{
	struct nfulnl_msg_packet_timestamp ts;

	memcpy(&ts, mnl_attr_get_payload(a), sizeof(ts));
	if (!ts.sec && !ts.usec)
		return; /* the kernel had no time for this packet */
	p->ts_sec = (int64_t)be64toh(ts.sec);
	p->ts_nsec = (uint32_t)be64toh(ts.usec) * 1000;
	p->flags |= IPR_PKT_KERNEL_TIME;
}

/* Copy one attribute into the packet's metadata; returns 1 for NFULA_SEQ. */
static int parse_attr(const struct nlattr *a, struct ipr_packet *p)
{
	uint16_t type = mnl_attr_get_type(a);

	if (type > NFULA_MAX || mnl_attr_get_payload_len(a) < attr_size[type])
		return 0;
	switch (type) {
	case NFULA_PACKET_HDR: {
		const struct nfulnl_msg_packet_hdr *ph = mnl_attr_get_payload(a);
		p->hook = ph->hook;
		if (ntohs(ph->hw_protocol) == 0x86dd)
			p->flags |= IPR_PKT_IPV6;
		break;
	}
	case NFULA_PAYLOAD:
		p->data = mnl_attr_get_payload(a);
		p->caplen = mnl_attr_get_payload_len(a);
		break;
	case NFULA_MARK:
		p->mark = attr_u32(a);
		break;
	case NFULA_IFINDEX_INDEV:
		p->ifindex_in = attr_u32(a);
		break;
	case NFULA_IFINDEX_OUTDEV:
		p->ifindex_out = attr_u32(a);
		break;
	case NFULA_UID:
		p->uid = attr_u32(a);
		p->flags |= IPR_PKT_HAS_UID;
		break;
	case NFULA_GID:
		p->gid = attr_u32(a);
		p->flags |= IPR_PKT_HAS_GID;
		break;
	case NFULA_TIMESTAMP:
		parse_timestamp(a, p);
		break;
	case NFULA_SEQ:
		p->id = attr_u32(a);
		return 1;
	}
	return 0;
}

/* Length of the whole packet from its IP header; 0 if the header does not say. */
static uint32_t ip_length(const uint8_t *pkt, uint32_t caplen)
{
	uint16_t v;

	if (caplen >= 20 && pkt[0] >> 4 == 4) {
		memcpy(&v, pkt + 2, sizeof(v));
		return ntohs(v);
	}
	if (caplen >= 40 && pkt[0] >> 4 == 6) {
		memcpy(&v, pkt + 4, sizeof(v));
		return v ? 40 + (uint32_t)ntohs(v) : 0; /* 0: a jumbogram */
	}
	return 0;
}

/* NFLOG gives no original length: take it from the IP header when the copy was cut. */
static void set_length(const struct ipr_monitor *m, struct ipr_packet *p)
{
	uint32_t ip_len = ip_length(p->data, p->caplen);

	p->len = ip_len > p->caplen ? ip_len : p->caplen;
	if (ip_len > p->caplen || (!ip_len && p->caplen >= m->snaplen))
		p->flags |= IPR_PKT_TRUNCATED;
}

/* The version nibble decides; the link protocol only when no byte was copied. */
static void set_version(struct ipr_packet *p)
{
	if (!p->caplen)
		return;
	if (p->data[0] >> 4 == 6)
		p->flags |= IPR_PKT_IPV6;
	else
		p->flags &= ~(uint32_t)IPR_PKT_IPV6;
}

/* Note the sequence: a jump means the kernel could not deliver the copies in between. */
static void track_seq(struct ipr_monitor *m, uint32_t seq)
{
	m->lost += ipr_seq_advance(&m->last_seq, &m->have_seq, seq);
}

/* Parse one packet message into p; returns 1, or 0 if it carries no packet. */
static int parse_packet(struct ipr_monitor *m, const struct nlmsghdr *nlh,
			const struct timespec *now, struct ipr_packet *p)
{
	const struct nlattr *a;
	int has_seq = 0;

	memset(p, 0, sizeof(*p));
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		has_seq |= parse_attr(a, p);
	if (has_seq)
		track_seq(m, p->id);
	if (!p->data)
		return 0;
	set_length(m, p);
	set_version(p);
	if (!(p->flags & IPR_PKT_KERNEL_TIME)) {
		p->ts_sec = now->tv_sec;
		p->ts_nsec = (uint32_t)now->tv_nsec;
	}
	p->layer = ipr_hook_layer(p->hook);
	p->queue = m->group;
	return 1;
}

/* ---- receive ---- */

/* One ipr_monitor_recv() call: the caller's buffer and packet array. */
struct batch {
	uint8_t *buf;
	size_t buflen;
	size_t used;          /* bytes of buf that handed-out packets point into */
	struct ipr_packet *pkts;
	unsigned int max;
	unsigned int count;   /* packets handed out */
	struct timespec now;  /* receive time of copies without a kernel timestamp */
};

static int is_packet(const struct nlmsghdr *nlh)
{
	return nlh->nlmsg_type == ULOG_PACKET &&
	       nlh->nlmsg_len >= MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg));
}

/* Hand out the packet of one message unless the user-space filter rejects it. */
static int take_packet(struct ipr_handle *h, struct batch *b, const struct nlmsghdr *nlh)
{
	struct ipr_packet *p = &b->pkts[b->count];

	if (!parse_packet(&h->monitor, nlh, &b->now, p))
		return 0;
	if (h->filter.user && !ipr_filter_match(&h->filter, p->data, p->caplen, p->len)) {
		h->stats.filtered++;
		return 0;
	}
	h->stats.received++;
	h->stats.bytes += p->len;
	b->count++;
	return 1;
}

/* Bytes from nlh to the next message, within the rest bytes left. */
static size_t message_span(const struct nlmsghdr *nlh, size_t rest)
{
	size_t len = NLMSG_ALIGN(nlh->nlmsg_len);

	return len < rest ? len : rest;
}

/*
 * Hand out the packets of one datagram in place. Returns the bytes used: less
 * than len when max was reached first (the rest waits for the next call).
 */
static size_t take_datagram(struct ipr_handle *h, struct batch *b, uint8_t *data, size_t len)
{
	size_t off = 0;

	while (off < len) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)(data + off);

		if (!mnl_nlmsg_ok(nlh, (int)(len - off)))
			break; /* a cut datagram: the sequence gap counts what is lost */
		if (is_packet(nlh)) {
			if (b->count == b->max)
				return off;
			take_packet(h, b, nlh);
		}
		off += message_span(nlh, len - off);
	}
	return len;
}

static void stash_put(struct ipr_monitor *m, const uint8_t *data, size_t len)
{
	if (!m->stash_len)
		m->stash_off = 0;
	memcpy(m->stash + m->stash_off + m->stash_len, data, len);
	m->stash_len += len;
}

/*
 * Hand out stashed packets: each message is copied to the caller's buffer, so
 * packets always point there. Stops at max or when the buffer is full.
 */
static int take_stash(struct ipr_handle *h, struct batch *b)
{
	struct ipr_monitor *m = &h->monitor;

	while (m->stash_len && b->count < b->max) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)(m->stash + m->stash_off);
		size_t len;

		if (!mnl_nlmsg_ok(nlh, (int)m->stash_len)) {
			m->stash_len = 0; /* the cut end of a datagram */
			break;
		}
		len = message_span(nlh, m->stash_len);
		if (is_packet(nlh)) {
			if (len > b->buflen - b->used)
				return b->count ? 0 : ipr_fail(-EINVAL, "receive buffer of %zu bytes "
					"cannot hold a copy of %zu bytes: allocate ipr_slot_size() bytes",
					b->buflen, len);
			memcpy(b->buf + b->used, nlh, len);
			if (take_packet(h, b, (const struct nlmsghdr *)(b->buf + b->used)))
				b->used += len;
		}
		m->stash_off += len;
		m->stash_len -= len;
	}
	return 0;
}

static void warn_cut(size_t len)
{
	ipr_log(IPR_LOG_WARN, "an NFLOG datagram of %zu bytes was cut to %u: copies lost", len,
		IPR_MONITOR_DGRAM_MAX);
}

/* Datagrams for the packets still wanted, as many as the buffer holds whole. */
static unsigned int direct_count(const struct batch *b)
{
	unsigned int want = (b->max - b->count + IPR_MONITOR_BATCH - 1) / IPR_MONITOR_BATCH;
	size_t fit = (b->buflen - b->used) / IPR_MONITOR_DGRAM_MAX;

	if (want > fit)
		want = (unsigned int)fit;
	return want < IPR_MONITOR_RX_DGRAMS ? want : IPR_MONITOR_RX_DGRAMS;
}

/* Receive datagrams straight into the caller's buffer; what max leaves over is stashed. */
static int receive_direct(struct ipr_handle *h, struct batch *b, unsigned int vlen, int how)
{
	struct ipr_monitor *m = &h->monitor;
	uint8_t *base = b->buf + b->used;
	int n;

	for (unsigned int i = 0; i < vlen; i++) {
		m->rx_iov[i].iov_base = base + (size_t)i * IPR_MONITOR_DGRAM_MAX;
		m->rx_iov[i].iov_len = IPR_MONITOR_DGRAM_MAX;
		m->rx_msgs[i].msg_hdr.msg_iov = &m->rx_iov[i];
		m->rx_msgs[i].msg_hdr.msg_iovlen = 1;
		m->rx_msgs[i].msg_hdr.msg_flags = 0;
	}
	n = recvmmsg(m->fd, m->rx_msgs, vlen, MSG_WAITFORONE | how, NULL);
	if (n < 0)
		return -errno;
	clock_gettime(CLOCK_REALTIME, &b->now);
	for (int i = 0; i < n; i++) {
		uint8_t *data = m->rx_iov[i].iov_base;
		size_t len = m->rx_msgs[i].msg_len, used;

		if (m->rx_msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
			warn_cut(len);
		used = take_datagram(h, b, data, len);
		if (used < len)
			stash_put(m, data + used, len - used);
		b->used = (size_t)(data - b->buf) + len;
	}
	return 0;
}

/* Receive one datagram into the stash, for a buffer too small to take one whole. */
static int receive_stashed(struct ipr_monitor *m, struct batch *b, int how)
{
	ssize_t n = recv(m->fd, m->stash, IPR_MONITOR_DGRAM_MAX, how | MSG_TRUNC);

	if (n < 0)
		return -errno;
	clock_gettime(CLOCK_REALTIME, &b->now);
	if (n > IPR_MONITOR_DGRAM_MAX) {
		warn_cut((size_t)n);
		n = IPR_MONITOR_DGRAM_MAX;
	}
	m->stash_off = 0;
	m->stash_len = (size_t)n;
	return 0;
}

/* Receive more copies; the stash is empty here. how: 0 (wait) or MSG_DONTWAIT. */
static int receive(struct ipr_handle *h, struct batch *b, int how)
{
	unsigned int vlen;

	if (!b->count)
		b->used = 0; /* nothing handed out points into the buffer yet */
	vlen = direct_count(b);
	if (vlen)
		return receive_direct(h, b, vlen, how);
	return receive_stashed(&h->monitor, b, how);
}

int ipr_monitor_recv(struct ipr_handle *h, void *buf, size_t buflen, struct ipr_packet *pkts,
		     unsigned int max, unsigned int flags)
{
	struct batch b = { .buf = buf, .buflen = buflen, .pkts = pkts, .max = max };
	int err, tried = 0;

	if (b.max > IPR_BATCH_MAX)
		b.max = IPR_BATCH_MAX;
	clock_gettime(CLOCK_REALTIME, &b.now);
	for (;;) {
		err = take_stash(h, &b);
		if (err)
			return err;
		if (b.count == b.max || (b.count && tried))
			break;
		/* Wait only while nothing is in hand. */
		err = receive(h, &b, b.count || (flags & IPR_RECV_NONBLOCK) ? MSG_DONTWAIT : 0);
		if (err)
			break;
		tried = 1;
	}
	if (b.count || !err)
		return (int)b.count;
	if (err == -EAGAIN || err == -EINTR)
		return err;
	return ipr_fail(err, "receive: %s", strerror(-err));
}
