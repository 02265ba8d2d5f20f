/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* queue.c - the NFQUEUE socket: bind, configure, batched receive, drain on close. */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <poll.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define SOCKET_BUFFER (64 << 20)  /* room for a burst of GSO packets */
#define SLOT_OVERHEAD 512         /* netlink and attribute headers before the payload */
#define PROC_QUEUES "/proc/net/netfilter/nfnetlink_queue"

/* Start a queue subsystem message of the given type for queue num. */
static struct nlmsghdr *put_queue_header(void *buf, uint8_t type, uint16_t num, uint32_t seq)
{
	return ipr_nfnl_put_header(buf, NFNL_SUBSYS_QUEUE, type, num, seq);
}

static int send_command(struct ipr_queue *q, uint16_t num, uint8_t command)
{
	char buf[IPR_REQUEST_SIZE] = { 0 };
	struct nlmsghdr *nlh = put_queue_header(buf, NFQNL_MSG_CONFIG, num, ++q->seq);
	struct nfqnl_msg_config_cmd cmd = { .command = command };

	mnl_attr_put(nlh, NFQA_CFG_CMD, sizeof(cmd), &cmd);
	return ipr_nfnl_talk(q->fd, nlh);
}

static uint32_t queue_flags(unsigned int open_flags)
{
	uint32_t flags = NFQA_CFG_F_UID_GID;

	if (!(open_flags & IPR_OPEN_NO_GSO))
		flags |= NFQA_CFG_F_GSO;
	if (!(open_flags & IPR_OPEN_FAIL_CLOSED))
		flags |= NFQA_CFG_F_FAIL_OPEN;
	return flags;
}

static int configure(struct ipr_queue *q, unsigned int snaplen, unsigned int maxlen,
		     unsigned int open_flags)
{
	char buf[IPR_REQUEST_SIZE] = { 0 };
	struct nlmsghdr *nlh = put_queue_header(buf, NFQNL_MSG_CONFIG, q->num, ++q->seq);
	struct nfqnl_msg_config_params params = {
		.copy_range = htonl(snaplen),
		.copy_mode = NFQNL_COPY_PACKET,
	};
	uint32_t flags = queue_flags(open_flags);
	int err;

	mnl_attr_put(nlh, NFQA_CFG_PARAMS, sizeof(params), &params);
	mnl_attr_put_u32(nlh, NFQA_CFG_QUEUE_MAXLEN, htonl(maxlen));
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(flags));
	err = ipr_nfnl_talk(q->fd, nlh);
	if (err)
		return ipr_fail(err, "configuring queue %u: %s", q->num, strerror(-err));
	return 0;
}

/* Bind queue num; -EBUSY (quietly) if another socket holds it. */
static int bind_queue(struct ipr_queue *q, unsigned int num)
{
	int err;

	q->num = (uint16_t)num;
	err = send_command(q, q->num, NFQNL_CFG_CMD_BIND);
	if (err == -EPERM)
		return ipr_fail(err, "binding an NFQUEUE needs CAP_NET_ADMIN: run as root");
	if (err == -EBUSY)
		return ipr_fail(err, "queue %u is held by another program", num);
	if (err)
		return ipr_fail(err, "binding queue %u: %s", num, strerror(-err));
	return 0;
}

static void set_buffers(int fd)
{
	int size = SOCKET_BUFFER, on = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	size = IPR_PENDING_BYTES * 4;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	/* Overflow is counted by the kernel; an ENOBUFS error would only stop a loop. */
	setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &on, sizeof(on));
	/* Error acks for verdicts must not echo 64 KiB payloads back. */
	setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof(on));
}

static int open_socket(struct ipr_queue *q)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK };

	q->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (q->fd < 0)
		return ipr_fail(-errno, "netlink socket: %s", strerror(errno));
	if (bind(q->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return ipr_fail(-errno, "netlink bind: %s", strerror(errno));
	set_buffers(q->fd);
	return 0;
}

static int alloc_held(struct ipr_queue *q, unsigned int cap)
{
	q->held = calloc(cap, sizeof(*q->held));
	if (!q->held)
		return ipr_fail(-ENOMEM, "out of memory");
	q->held_cap = cap;
	for (unsigned int i = 0; i < cap; i++)
		q->held[i].next_free = i + 1;
	q->free_held = 0;
	return 0;
}

static int alloc_vectors(struct ipr_queue *q)
{
	q->rx_msgs = calloc(IPR_BATCH_MAX, sizeof(*q->rx_msgs));
	q->rx_iov = calloc(IPR_BATCH_MAX, sizeof(*q->rx_iov));
	q->pending = calloc(IPR_PENDING_MAX, sizeof(*q->pending));
	q->tx_iov = calloc(3 * IPR_PENDING_MAX + 1, sizeof(*q->tx_iov));
	q->tx_hdrs = calloc(IPR_PENDING_MAX, 64);
	if (!q->rx_msgs || !q->rx_iov || !q->pending || !q->tx_iov || !q->tx_hdrs)
		return ipr_fail(-ENOMEM, "out of memory");
	for (unsigned int i = 0; i < IPR_BATCH_MAX; i++) {
		q->rx_msgs[i].msg_hdr.msg_iov = &q->rx_iov[i];
		q->rx_msgs[i].msg_hdr.msg_iovlen = 1;
	}
	return 0;
}

static void free_queue(struct ipr_queue *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	free(q->rx_msgs);
	free(q->rx_iov);
	free(q->pending);
	free(q->tx_iov);
	free(q->tx_hdrs);
	free(q->held);
	q->held = NULL;
}

int ipr_queue_open(struct ipr_queue *q, unsigned int num, unsigned int snaplen,
		   unsigned int maxlen, unsigned int open_flags, unsigned int deadline_ms)
{
	int err;

	q->fd = -1;
	q->pending_sorted = 1;
	q->deadline_ms = deadline_ms;
	err = alloc_vectors(q);
	if (!err)
		err = alloc_held(q, maxlen);
	if (!err)
		err = open_socket(q);
	if (!err)
		err = bind_queue(q, num);
	if (!err)
		err = configure(q, snaplen, maxlen, open_flags);
	if (err) {
		if (err != -EBUSY && q->fd >= 0)
			send_command(q, q->num, NFQNL_CFG_CMD_UNBIND);
		free_queue(q);
	}
	return err;
}

IPR_EXPORT size_t ipr_slot_size(const struct ipr_handle *h)
{
	return (h->snaplen + SLOT_OVERHEAD + 63) & ~(size_t)63;
}

/* ---- packets handed out, and the verdict deadline ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + 1;
}

/* Note a packet handed to the program; pkt->priv finds it again. */
static void hold(struct ipr_queue *q, struct ipr_packet *p, uint64_t now)
{
	uint32_t i = q->free_held;

	p->priv = UINT32_MAX;
	if (i >= q->held_cap)
		return; /* more than the kernel queue holds: cannot happen */
	q->undecided++;
	q->free_held = q->held[i].next_free;
	q->held[i].id = p->id;
	q->held[i].since_ms = now;
	p->priv = i;
}

static void unhold(struct ipr_queue *q, uint32_t i)
{
	q->held[i].since_ms = 0;
	q->held[i].next_free = q->free_held;
	q->free_held = i;
	q->undecided--;
}

int ipr_queue_release(struct ipr_queue *q, const struct ipr_packet *pkt)
{
	uint32_t i = pkt->priv;

	if (i >= q->held_cap || !q->held[i].since_ms || q->held[i].id != pkt->id)
		return ipr_fail(-ESTALE,
				"packet %u is not held: it was answered already, or the verdict "
				"deadline (%u ms) accepted it",
				pkt->id, q->deadline_ms);
	unhold(q, i);
	return 0;
}

/* Accept every packet the program has held longer than the deadline. */
static void expire(struct ipr_handle *h, uint64_t now)
{
	struct ipr_queue *q = &h->queue;

	if (!q->deadline_ms || !q->undecided || now < q->next_scan_ms)
		return;
	q->next_scan_ms = now + (q->deadline_ms >= 40 ? q->deadline_ms / 4 : 10);
	for (uint32_t i = 0; i < q->held_cap; i++) {
		struct ipr_pending v = { .id = q->held[i].id, .verdict = NF_ACCEPT };

		if (!q->held[i].since_ms || now - q->held[i].since_ms < q->deadline_ms)
			continue;
		ipr_log(IPR_LOG_WARN, "packet %u of queue %u had no verdict for %u ms: accepted",
			v.id, q->num, q->deadline_ms);
		unhold(q, i);
		h->stats.expired++;
		ipr_queue_verdict(q, &v);
	}
}

/* Before a blocking receive with packets held: wake up in time to expire them. */
static int wait_with_deadline(struct ipr_handle *h, unsigned int flags)
{
	struct ipr_queue *q = &h->queue;
	struct pollfd pfd = { .fd = q->fd, .events = POLLIN };

	while (!(flags & IPR_RECV_NONBLOCK) && q->deadline_ms && q->undecided) {
		int n = poll(&pfd, 1, (int)(q->deadline_ms >= 40 ? q->deadline_ms / 4 : 10));

		if (n > 0)
			return 0;
		if (n < 0)
			return -errno;
		expire(h, now_ms());
		n = ipr_queue_flush(q);
		if (n)
			return n;
	}
	return 0;
}

/* ---- receive ---- */

/* Copy one attribute of a packet message into the packet's metadata. */
static void parse_attr(const struct nlattr *a, struct ipr_packet *p)
{
	const void *v = mnl_attr_get_payload(a);

	switch (mnl_attr_get_type(a)) {
	case NFQA_PACKET_HDR: {
		const struct nfqnl_msg_packet_hdr *ph = v;
		p->id = ntohl(ph->packet_id);
		p->hook = ph->hook;
		if (ntohs(ph->hw_protocol) == 0x86dd)
			p->flags |= IPR_PKT_IPV6;
		break;
	}
	case NFQA_PAYLOAD:
		p->data = (uint8_t *)v;
		p->caplen = mnl_attr_get_payload_len(a);
		break;
	case NFQA_CAP_LEN:
		p->len = ntohl(mnl_attr_get_u32(a));
		break;
	case NFQA_MARK:
		p->mark = ntohl(mnl_attr_get_u32(a));
		break;
	case NFQA_IFINDEX_INDEV:
		p->ifindex_in = ntohl(mnl_attr_get_u32(a));
		break;
	case NFQA_IFINDEX_OUTDEV:
		p->ifindex_out = ntohl(mnl_attr_get_u32(a));
		break;
	case NFQA_UID:
		p->uid = ntohl(mnl_attr_get_u32(a));
		p->flags |= IPR_PKT_HAS_UID;
		break;
	case NFQA_GID:
		p->gid = ntohl(mnl_attr_get_u32(a));
		p->flags |= IPR_PKT_HAS_GID;
		break;
	case NFQA_SKB_INFO: {
		uint32_t info = ntohl(mnl_attr_get_u32(a));
		if (info & NFQA_SKB_GSO)
			p->flags |= IPR_PKT_GSO;
		if (info & NFQA_SKB_CSUMNOTREADY)
			p->flags |= IPR_PKT_CSUM_NOT_READY;
		if (info & NFQA_SKB_CSUM_NOTVERIFIED)
			p->flags |= IPR_PKT_CSUM_NOT_VERIFIED;
		break;
	}
	case NFQA_TIMESTAMP: {
		struct nfqnl_msg_packet_timestamp ts; /* attributes are only 4-byte aligned */
		memcpy(&ts, v, sizeof(ts));
		p->ts_sec = (int64_t)be64toh(ts.sec);
		p->ts_nsec = (uint32_t)be64toh(ts.usec) * 1000;
		p->flags |= IPR_PKT_KERNEL_TIME;
		break;
	}
	}
}

/* Note the id sequence: a jump means the kernel skipped packets it could not deliver. */
static void track_id(struct ipr_queue *q, uint32_t id)
{
	q->id_gaps += ipr_seq_advance(&q->last_id, &q->have_id, id);
}

/* Parse one packet message; returns 1 for a packet, 0 for anything else. */
static int parse_packet(struct ipr_handle *h, const struct nlmsghdr *nlh, size_t n,
			int truncated, const struct timespec *now, struct ipr_packet *p)
{
	const struct nlattr *a;

	if (!mnl_nlmsg_ok(nlh, (int)n))
		return 0;
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
		if (e->error) {
			h->stats.verdict_errors++;
			ipr_log(IPR_LOG_WARN, "kernel refused a verdict: %s", strerror(-e->error));
		}
		return 0;
	}
	if (nlh->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET))
		return 0;
	memset(p, 0, sizeof(*p));
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		parse_attr(a, p);
	if (!p->data)
		return 0;
	if (!p->len)
		p->len = p->caplen;
	if (p->caplen < p->len || truncated)
		p->flags |= IPR_PKT_TRUNCATED;
	if (!(p->flags & IPR_PKT_KERNEL_TIME)) {
		p->ts_sec = now->tv_sec;
		p->ts_nsec = (uint32_t)now->tv_nsec;
	}
	p->layer = ipr_hook_layer(p->hook);
	p->queue = h->queue.num;
	track_id(&h->queue, p->id);
	return 1;
}

/* The library's own answer for packets the user-space filter rejects. */
static int filtered_out(struct ipr_handle *h, const struct ipr_packet *p)
{
	struct ipr_pending v = { .id = p->id, .verdict = NF_ACCEPT };

	if (!h->filter.user || ipr_filter_match(&h->filter, p->data, p->caplen, p->len))
		return 0;
	h->stats.filtered++;
	ipr_queue_verdict(&h->queue, &v);
	return 1;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* One recvmmsg of up to max messages, waiting for the first unless MSG_DONTWAIT. */
static int receive(struct ipr_queue *q, unsigned int max, int sockflags)
{
	int n = recvmmsg(q->fd, q->rx_msgs, max, MSG_WAITFORONE | sockflags, NULL);

	return n < 0 ? -errno : n;
}

/* Receive without sleeping, again and again for up to busy_poll_us: the thread stays
 * on its CPU, so a packet's arrival costs no wake-up. -EAGAIN if none came. */
static int busy_poll(struct ipr_queue *q, unsigned int max, uint64_t start)
{
	uint64_t end = start + q->busy_poll_us;
	int n;

	do
		n = receive(q, max, MSG_DONTWAIT);
	while (n == -EAGAIN && now_us() < end);
	return n;
}

/* Poll first only while packets keep coming within busy_poll_us of the previous
 * receive: on a link where the next packet takes longer, spinning is all cost. */
static int wait_polling(struct ipr_queue *q, unsigned int max)
{
	uint64_t start = now_us();
	int n = -EAGAIN;

	if (q->poll_pays)
		n = busy_poll(q, max, start);
	if (n == -EAGAIN)
		n = receive(q, max, 0);
	q->poll_pays = n > 0 && now_us() - start <= q->busy_poll_us;
	return n;
}

/* After a partial batch of several packets more are on their way: waiting a moment
 * lets the next receive take them together, for fewer system calls and wake-ups per
 * packet. A lone packet (a quiet link) is never delayed. */
static void coalesce(struct ipr_queue *q, unsigned int flags)
{
	struct timespec pause = { 0, (long)q->coalesce_us * 1000 };

	if (q->coalesce_us && q->last_partial && !(flags & IPR_RECV_NONBLOCK))
		nanosleep(&pause, NULL);
}

static int receive_messages(struct ipr_handle *h, uint8_t *buf, size_t slot, unsigned int max,
			    unsigned int flags)
{
	struct ipr_queue *q = &h->queue;
	int n;

	for (unsigned int i = 0; i < max; i++) {
		q->rx_iov[i].iov_base = buf + i * slot;
		q->rx_iov[i].iov_len = slot;
		q->rx_msgs[i].msg_hdr.msg_flags = 0;
	}
	if (flags & IPR_RECV_NONBLOCK)
		n = receive(q, max, MSG_DONTWAIT);
	else
		n = q->busy_poll_us ? wait_polling(q, max) : receive(q, max, 0);
	q->last_partial = n > 1 && (unsigned int)n < max;
	return n;
}

/* Turn received datagrams into packets, dropping replies and filtered packets. */
static unsigned int collect_packets(struct ipr_handle *h, int n, struct ipr_packet *pkts)
{
	struct ipr_queue *q = &h->queue;
	unsigned int count = 0;
	uint64_t held_since = now_ms();
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	for (int i = 0; i < n; i++) {
		const struct msghdr *m = &q->rx_msgs[i].msg_hdr;
		struct ipr_packet *p = &pkts[count];

		if (!parse_packet(h, m->msg_iov->iov_base, q->rx_msgs[i].msg_len,
				  !!(m->msg_flags & MSG_TRUNC), &now, p) ||
		    filtered_out(h, p))
			continue;
		h->stats.received++;
		h->stats.bytes += p->len;
		hold(q, p, held_since);
		count++;
	}
	return count;
}

IPR_EXPORT int ipr_recv_batch(struct ipr_handle *h, void *buf, size_t buflen,
			      struct ipr_packet *pkts, unsigned int max, unsigned int flags)
{
	size_t slot = ipr_slot_size(h);
	int n, err;

	if (buflen / slot < max)
		max = (unsigned int)(buflen / slot);
	if (max > IPR_BATCH_MAX)
		max = IPR_BATCH_MAX;
	if (!max)
		return ipr_fail(-EINVAL, "receive buffer of %zu bytes holds no packet: need %zu",
				buflen, slot);
	if (h->flags & IPR_OPEN_MONITOR)
		return ipr_monitor_recv(h, buf, buflen, pkts, max, flags);
	do {
		expire(h, now_ms());
		err = ipr_queue_flush(&h->queue);
		if (!err)
			err = wait_with_deadline(h, flags);
		if (err)
			return err;
		coalesce(&h->queue, flags);
		n = receive_messages(h, buf, slot, max, flags);
		if (n < 0)
			return n == -EAGAIN || n == -EINTR ? n : ipr_fail(n, "receive: %s", strerror(-n));
		n = (int)collect_packets(h, n, pkts);
	} while (!n);
	return n;
}

IPR_EXPORT int ipr_recv(struct ipr_handle *h, void *buf, size_t buflen, struct ipr_packet *pkt,
			unsigned int flags)
{
	return ipr_recv_batch(h, buf, buflen, pkt, 1, flags);
}

/* ---- close ---- */

/* Read whatever is still queued to us, noting the newest id; no packet is kept. */
static void drain(struct ipr_queue *q)
{
	char buf[IPR_SNAPLEN_MAX + SLOT_OVERHEAD];
	ssize_t n;

	while ((n = recv(q->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		const struct nlattr *a;

		if (!mnl_nlmsg_ok(nlh, (int)n) ||
		    nlh->nlmsg_type != ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET))
			continue;
		mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
			if (mnl_attr_get_type(a) == NFQA_PACKET_HDR)
				track_id(q, ntohl(((const struct nfqnl_msg_packet_hdr *)
							   mnl_attr_get_payload(a))->packet_id));
	}
}

/* One batch verdict accepts every packet still held up to the newest id. */
static int accept_all(struct ipr_queue *q)
{
	char buf[IPR_REQUEST_SIZE] = { 0 };
	struct nlmsghdr *nlh;
	struct nfqnl_msg_verdict_hdr vh = { .verdict = htonl(NF_ACCEPT) };

	if (!q->have_id)
		return 0;
	vh.id = htonl(q->last_id);
	nlh = put_queue_header(buf, NFQNL_MSG_VERDICT_BATCH, q->num, ++q->seq);
	mnl_attr_put(nlh, NFQA_VERDICT_HDR, sizeof(vh), &vh);
	return send(q->fd, nlh, nlh->nlmsg_len, 0) < 0 ? -errno : 0;
}

int ipr_queue_close(struct ipr_queue *q)
{
	int err;

	if (q->fd < 0)
		return 0;
	err = ipr_queue_flush(q);
	drain(q);
	if (!err)
		err = accept_all(q);
	send_command(q, q->num, NFQNL_CFG_CMD_UNBIND);
	free_queue(q);
	return err;
}

/* ---- kernel counters ---- */

int ipr_queue_kernel_stats(const struct ipr_queue *q, uint64_t *queue_dropped,
			   uint64_t *user_dropped, uint64_t *waiting, uint64_t *last_id)
{
	unsigned int num, portid, total, mode, range, qdrop, udrop, id;
	char line[256];
	FILE *f = fopen(PROC_QUEUES, "re");
	int err = -ENOENT;

	if (!f)
		return ipr_fail(-errno, "%s: %s", PROC_QUEUES, strerror(errno));
	while (err && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%u %u %u %u %u %u %u %u", &num, &portid, &total, &mode, &range,
			   &qdrop, &udrop, &id) != 8 || num != q->num)
			continue;
		*queue_dropped = qdrop;
		*user_dropped = udrop;
		*waiting = total;
		*last_id = id;
		err = 0;
	}
	fclose(f);
	return err ? ipr_fail(err, "queue %u not found in %s", q->num, PROC_QUEUES) : 0;
}
