/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nflog.c - the NFLOG engine of monitor handles: the kernel copies each packet
 * to an NFLOG group, batched; nothing is held and there are no verdicts. The
 * group's sequence numbers count the copies the kernel could not deliver.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define BATCH 64                   /* copies the kernel gathers per NFLOG datagram */
#define DGRAM_MAX (128u << 10)     /* largest NFLOG datagram (kernel skb limit) */
#define RX_DGRAMS 4                /* datagrams one receive call takes at most */
#define SOCKET_BUFFER (64 << 20)   /* copies a stopped program can fall behind before losing any */
#define NLBUFSIZ (124u << 10)      /* kernel batch buffer: with the skb's own overhead its
				      allocation stays within DGRAM_MAX */
#define COPY_MAX (0xffff - MNL_ATTR_HDRLEN) /* the kernel's largest copy (16-bit attribute) */
#define FLUSH_TIMEOUT 1            /* 1/100 s: a quiet link still delivers within 10 ms */
#define ULOG_PACKET ((NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET)
#define STASH_SIZE (RX_DGRAMS * DGRAM_MAX)

struct monitor {
	int fd;                    /* NETLINK_NETFILTER socket bound to the NFLOG group */
	uint16_t group;
	uint32_t seq;              /* netlink sequence of config requests */
	uint32_t snaplen;          /* bytes copied per packet */
	uint32_t last_seq;         /* NFULA_SEQ of the newest copy */
	int have_seq;
	uint64_t lost;             /* copies the kernel could not deliver (sequence gaps) */
	uint8_t *stash;            /* messages received but not yet handed out (max reached) */
	size_t stash_off;          /* the first of them */
	size_t stash_len;          /* their bytes; 0 = none */
	struct mmsghdr rx_msgs[RX_DGRAMS]; /* recvmmsg vectors */
	struct iovec rx_iov[RX_DGRAMS];
};

/* ---- open and close ---- */

static struct nlmsghdr *put_command(void *buf, struct monitor *m, uint8_t command)
{
	return ipr_nfnl_put_command(buf, NFNL_SUBSYS_ULOG, m->group, ++m->seq, command);
}

/* One group of the automatic range; -EBUSY if some socket holds it (the kernel says EPERM). */
static int try_group(void *arg, unsigned int group)
{
	char buf[IPR_REQUEST_SIZE] = { 0 };
	struct monitor *m = arg;
	unsigned long long v[1];
	int err;

	m->group = (uint16_t)group;
	err = ipr_nfnl_talk(m->fd, put_command(buf, m, NFULNL_CFG_CMD_BIND));
	if (err == -EPERM && ipr_nfnl_proc_line("nfnetlink_log", group, v, 1) == 0)
		err = -EBUSY;
	return err;
}

static int bind_group(struct monitor *m)
{
	int err = ipr_nfnl_find_free("NFLOG group", 1, try_group, m);

	if (err == -EPERM)
		return ipr_fail(err, "binding an NFLOG group needs CAP_NET_ADMIN: run as root");
	if (err && err != -EBUSY)
		return ipr_fail(err, "binding NFLOG group %u: %s", m->group, strerror(-err));
	return err;
}

/* Whole copies of snaplen bytes, batched, flushed after 10 ms, numbered to count losses. */
static int configure(struct monitor *m)
{
	char buf[IPR_REQUEST_SIZE] = { 0 };
	struct nlmsghdr *nlh = ipr_nfnl_put_config(buf, NFNL_SUBSYS_ULOG, m->group, ++m->seq);
	struct nfulnl_msg_config_mode mode = {
		.copy_range = htonl(m->snaplen),
		.copy_mode = NFULNL_COPY_PACKET,
	};
	int err;

	mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof(mode), &mode);
	mnl_attr_put_u32(nlh, NFULA_CFG_NLBUFSIZ, htonl(NLBUFSIZ));
	mnl_attr_put_u32(nlh, NFULA_CFG_TIMEOUT, htonl(FLUSH_TIMEOUT));
	mnl_attr_put_u32(nlh, NFULA_CFG_QTHRESH, htonl(BATCH));
	mnl_attr_put_u16(nlh, NFULA_CFG_FLAGS, htons(NFULNL_CFG_F_SEQ));
	err = ipr_nfnl_talk(m->fd, nlh);
	if (err)
		return ipr_fail(err, "configuring NFLOG group %u: %s", m->group, strerror(-err));
	return 0;
}

/* Unbind and close; safe on a monitor that never opened. */
static int nflog_close(struct ipr_handle *h)
{
	char buf[IPR_REQUEST_SIZE] = { 0 };
	struct monitor *m = h->priv;
	struct nlmsghdr *nlh;

	if (!m)
		return 0;
	if (m->fd >= 0) {
		/* No ack: the socket may hold megabytes of copies to read past first. */
		nlh = put_command(buf, m, NFULNL_CFG_CMD_UNBIND);
		send(m->fd, nlh, nlh->nlmsg_len, 0);
		close(m->fd); /* also releases the group if it is still bound */
	}
	free(m->stash);
	free(m);
	h->priv = NULL;
	h->fd = -1;
	return 0;
}

static int open_monitor(struct monitor *m, unsigned int snaplen)
{
	int err;

	m->snaplen = snaplen < COPY_MAX ? snaplen : COPY_MAX;
	/* A group's sequence starts at 0: copies lost before the first one count too. */
	m->last_seq = UINT32_MAX;
	m->have_seq = 1;
	m->stash = malloc(STASH_SIZE);
	if (!m->stash)
		return ipr_fail(-ENOMEM, "out of memory");
	m->fd = ipr_nfnl_socket(SOCKET_BUFFER, 0);
	if (m->fd < 0)
		return m->fd;
	err = bind_group(m);
	return err ? err : configure(m);
}

static int nflog_open(struct ipr_handle *h, const struct ipr_options *o,
		      struct ipr_rules_action *act)
{
	struct monitor *m = calloc(1, sizeof(*m));
	int err;

	if (!m)
		return ipr_fail(-ENOMEM, "out of memory");
	m->fd = -1;
	h->priv = m;
	err = open_monitor(m, o->snaplen);
	h->fd = m->fd;
	if (err) {
		nflog_close(h);
		return err;
	}
	*act = (struct ipr_rules_action){
		.kind = IPR_ACTION_LOG,
		.first = m->group,
		.count = 1,
		.snaplen = o->snaplen,
		.threshold = BATCH,
	};
	return 0;
}

/* ---- one packet message ---- */

/* What the shared attributes of a packet message carry. */
static const uint8_t attr_meta[] = {
	[NFULA_PAYLOAD] = IPR_META_PAYLOAD,
	[NFULA_MARK] = IPR_META_MARK,
	[NFULA_IFINDEX_INDEV] = IPR_META_IFINDEX_IN,
	[NFULA_IFINDEX_OUTDEV] = IPR_META_IFINDEX_OUT,
	[NFULA_UID] = IPR_META_UID,
	[NFULA_GID] = IPR_META_GID,
	[NFULA_TIMESTAMP] = IPR_META_TIMESTAMP,
};

/* Copy one attribute into the packet's metadata; returns 1 for NFULA_SEQ. */
static int parse_attr(const struct nlattr *a, struct ipr_packet *p)
{
	uint16_t type = mnl_attr_get_type(a), len = mnl_attr_get_payload_len(a);
	const struct nfulnl_msg_packet_hdr *ph = mnl_attr_get_payload(a);

	if (type == NFULA_PACKET_HDR && len >= sizeof(*ph))
		ipr_nfnl_take_hook(ph->hook, ph->hw_protocol, p);
	else if (type == NFULA_SEQ && len >= 4)
		p->id = ntohl(mnl_attr_get_u32(a));
	else if (type < sizeof(attr_meta))
		ipr_nfnl_take_meta(a, attr_meta[type], p);
	return type == NFULA_SEQ && len >= 4;
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
static void set_length(const struct monitor *m, struct ipr_packet *p)
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

/* Parse one packet message into p; returns 1, or 0 if it carries no packet. */
static int parse_packet(struct monitor *m, const struct nlmsghdr *nlh,
			const struct timespec *now, struct ipr_packet *p)
{
	const struct nlattr *a;
	int has_seq = 0;

	memset(p, 0, sizeof(*p));
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		has_seq |= parse_attr(a, p);
	/* A sequence jump means the kernel could not deliver the copies in between. */
	if (has_seq)
		m->lost += ipr_seq_advance(&m->last_seq, &m->have_seq, p->id);
	if (!p->data)
		return 0;
	set_length(m, p);
	set_version(p);
	ipr_nfnl_finish_packet(p, now, m->group);
	return 1;
}

/* ---- receive ---- */

/* One nflog_recv() call: the caller's buffer and packet array. */
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

	if (!parse_packet(h->priv, nlh, &b->now, p) || !ipr_packet_wanted(h, p))
		return 0;
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

static void stash_put(struct monitor *m, const uint8_t *data, size_t len)
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
	struct monitor *m = h->priv;

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
		DGRAM_MAX);
}

/* Datagrams for the packets still wanted, as many as the buffer holds whole. */
static unsigned int direct_count(const struct batch *b)
{
	unsigned int want = (b->max - b->count + BATCH - 1) / BATCH;
	size_t fit = (b->buflen - b->used) / DGRAM_MAX;

	if (want > fit)
		want = (unsigned int)fit;
	return want < RX_DGRAMS ? want : RX_DGRAMS;
}

/* Receive datagrams straight into the caller's buffer; what max leaves over is stashed. */
static int receive_direct(struct ipr_handle *h, struct batch *b, unsigned int vlen, int how)
{
	struct monitor *m = h->priv;
	uint8_t *base = b->buf + b->used;
	int n;

	for (unsigned int i = 0; i < vlen; i++) {
		m->rx_iov[i].iov_base = base + (size_t)i * DGRAM_MAX;
		m->rx_iov[i].iov_len = DGRAM_MAX;
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
static int receive_stashed(struct monitor *m, struct batch *b, int how)
{
	ssize_t n = recv(m->fd, m->stash, DGRAM_MAX, how | MSG_TRUNC);

	if (n < 0)
		return -errno;
	clock_gettime(CLOCK_REALTIME, &b->now);
	if (n > DGRAM_MAX) {
		warn_cut((size_t)n);
		n = DGRAM_MAX;
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
	return receive_stashed(h->priv, b, how);
}

static int nflog_recv(struct ipr_handle *h, const struct ipr_rx *rx)
{
	struct batch b = { .buf = rx->buf, .buflen = rx->buflen, .pkts = rx->pkts, .max = rx->max };
	int err, tried = 0, nonblock = !!(rx->flags & IPR_RECV_NONBLOCK);

	clock_gettime(CLOCK_REALTIME, &b.now);
	for (;;) {
		err = take_stash(h, &b);
		if (err)
			return err;
		if (b.count == b.max || (b.count && tried))
			break;
		/* Wait only while nothing is in hand, and not once shut down. */
		err = receive(h, &b, b.count || nonblock || ipr_is_shut(h) ? MSG_DONTWAIT : 0);
		if (err)
			break;
		tried = 1;
	}
	if (b.count || !err)
		return (int)b.count;
	return err == -EAGAIN && ipr_is_shut(h) ? ipr_shut_empty() : ipr_recv_failed(err);
}

/* An acked request that changes nothing: its answer wakes a blocked receive. */
static int nflog_wake(struct ipr_handle *h)
{
	char buf[IPR_REQUEST_SIZE] = { 0 };
	struct monitor *m = h->priv;
	struct nlmsghdr *nlh = ipr_nfnl_put_config(buf, NFNL_SUBSYS_ULOG, m->group, 0);

	nlh->nlmsg_flags |= NLM_F_ACK;
	return send(m->fd, nlh, nlh->nlmsg_len, 0) < 0 ? -errno : 0;
}

static int nflog_set_param(struct ipr_handle *h, enum ipr_param param, uint64_t value)
{
	if (param != IPR_PARAM_RCVBUF)
		return ipr_fail(-EINVAL, "a monitor handle holds no queue: only its receive "
					 "buffer can change");
	return ipr_nfnl_set_rcvbuf(((struct monitor *)h->priv)->fd, (int)value);
}

static int nflog_serves(const struct ipr_options *o)
{
	return (o->flags & IPR_OPEN_MONITOR) && ipr_engine_allowed("nflog");
}

static int nflog_stats(struct ipr_handle *h, struct ipr_stats *s)
{
	s->failopen = ((struct monitor *)h->priv)->lost;
	return 0;
}

const struct ipr_engine ipr_engine_nflog = {
	.name = "nflog",
	.holds = 0,
	.serves = nflog_serves,
	.open = nflog_open,
	.recv = nflog_recv,
	.stats = nflog_stats,
	.close = nflog_close,
	.wake = nflog_wake,
	.set_param = nflog_set_param,
};
