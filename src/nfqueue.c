/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * nfqueue.c - the NFQUEUE engine: the kernel holds each packet until a verdict.
 *
 * One queue per member of the handle: a netlink socket bound to it, batched
 * receive (paced by pacing.c: polling and coalescing), the packets handed out
 * and not yet answered (the verdict deadline accepts those held too long),
 * verdicts through verdict.c, and on close every held packet accepted.
 * With IPR_OPEN_FOLLOW_CPU a member's socket binds one queue per CPU (slot c
 * takes its flows' packets enqueued on CPU c, in arrival order, so flows stay
 * ordered), and its thread moves to the CPU its packets come from (follow.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <poll.h>
#include <sched.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define SOCKET_BUFFER (64 << 20) /* room for a burst of GSO packets */
#define DRAIN_BUFFER (IPR_SNAPLEN_MAX + 512)
#define PACKET_MSG ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)
#define SLEPT_US 50 /* a wait this much longer than its poll: the thread slept, then woke */

/* A packet handed to the program and not yet answered. */
struct held {
	uint32_t id;
	uint32_t next_free;  /* free-list link while unused */
	uint64_t since_ms;   /* when it was handed out; 0 = unused */
	uint8_t slot;        /* its queue's slot */
};

/* The packet ids of one queue of the socket. */
struct slot_ids {
	uint32_t last_id;    /* newest packet id received */
	int have_id;         /* last_id is valid */
	uint64_t id_gaps;    /* ids the kernel skipped (socket full) */
};

struct queue {
	int fd;                       /* NETLINK_NETFILTER socket bound to the queues */
	uint16_t num;                 /* queue number (of slot 0) */
	unsigned int nslots;          /* queues bound: num + verdicts.stride * slot */
	uint32_t seq;                 /* netlink sequence of config requests */
	struct ipr_verdicts verdicts; /* not yet sent */
	struct held *held;            /* packets handed out, indexed by ipr_packet.priv */
	unsigned int held_cap;        /* the kernel's queue length: it never holds more */
	uint32_t free_held;           /* first unused entry; held_cap = none */
	unsigned int deadline_ms;     /* answer packets undecided this long */
	uint8_t expire_verdict;       /* with this: NF_ACCEPT or NF_DROP */
	struct ipr_pacing pacing;     /* when a receive polls, when it pauses */
	uint64_t next_scan_ms;        /* when to look for expired packets again */
	struct slot_ids ids[IPR_CPU_SLOTS_MAX];
	struct ipr_follow follow;     /* with several slots: where the thread should run */
	struct ipr_pin pin;           /* the thread's CPU while it follows */
	struct mmsghdr rx_msgs[IPR_BATCH_MAX]; /* recvmmsg vectors */
	struct iovec rx_iov[IPR_BATCH_MAX];
};

/* ---- open ---- */

static uint16_t slot_queue(const struct queue *q, unsigned int slot)
{
	return ipr_verdicts_queue(&q->verdicts, slot);
}

static int send_command(struct queue *q, unsigned int slot, uint8_t command)
{
	char buf[IPR_REQUEST_SIZE] = { 0 };

	return ipr_nfnl_talk(q->fd, ipr_nfnl_put_command(buf, NFNL_SUBSYS_QUEUE,
							 slot_queue(q, slot), ++q->seq, command));
}

/* Unbind the first n slots' queues. */
static void unbind(struct queue *q, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		send_command(q, i, NFQNL_CFG_CMD_UNBIND);
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

static int configure(struct queue *q, unsigned int slot, const struct ipr_options *o)
{
	char buf[IPR_REQUEST_SIZE] = { 0 };
	uint16_t num = slot_queue(q, slot);
	struct nlmsghdr *nlh = ipr_nfnl_put_config(buf, NFNL_SUBSYS_QUEUE, num, ++q->seq);
	struct nfqnl_msg_config_params params = {
		.copy_range = htonl(o->snaplen),
		.copy_mode = NFQNL_COPY_PACKET,
	};
	uint32_t flags = queue_flags(o->flags);
	int err;

	mnl_attr_put(nlh, NFQA_CFG_PARAMS, sizeof(params), &params);
	mnl_attr_put_u32(nlh, NFQA_CFG_QUEUE_MAXLEN, htonl(o->queue_maxlen));
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(flags));
	err = ipr_nfnl_talk(q->fd, nlh);
	if (err)
		return ipr_fail(err, "configuring queue %u: %s", num, strerror(-err));
	return 0;
}

static int queue_listed(unsigned int num)
{
	unsigned long long v[1];

	return ipr_nfnl_proc_line("nfnetlink_queue", num, v, 1) == 0;
}

/*
 * Bind queue num. The kernel refuses a queue that another socket holds with
 * -EPERM, as it refuses a caller without CAP_NET_ADMIN: a queue listed in /proc
 * is taken (-EBUSY), whoever holds it, even this process's other handles.
 */
static int bind_queue(struct queue *q, unsigned int slot)
{
	unsigned int num = slot_queue(q, slot);
	int err = send_command(q, slot, NFQNL_CFG_CMD_BIND);

	if (err == -EPERM && queue_listed(num))
		err = -EBUSY;
	if (err == -EPERM)
		return ipr_fail(err, "binding an NFQUEUE needs CAP_NET_ADMIN: run as root");
	if (err == -EBUSY)
		return ipr_fail(err, "queue %u is held by another program", num);
	if (err)
		return ipr_fail(err, "binding queue %u: %s", num, strerror(-err));
	return 0;
}

static int alloc_held(struct queue *q, unsigned int cap)
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

static struct queue *new_queue(const struct ipr_options *o, unsigned int slots)
{
	struct queue *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->fd = -1;
	q->nslots = slots;
	ipr_follow_init(&q->follow);
	ipr_pin_init(&q->pin);
	q->deadline_ms = o->deadline_ms;
	q->expire_verdict = (o->flags & IPR_OPEN_EXPIRE_DROP) ? NF_DROP : NF_ACCEPT;
	ipr_pacing_init(&q->pacing, o->busy_poll_us, o->coalesce_us,
			!(o->flags & IPR_OPEN_FIXED_PACING));
	for (unsigned int i = 0; i < IPR_BATCH_MAX; i++) {
		q->rx_msgs[i].msg_hdr.msg_iov = &q->rx_iov[i];
		q->rx_msgs[i].msg_hdr.msg_iovlen = 1;
	}
	return q;
}

static void free_queue(struct queue *q)
{
	if (q->fd >= 0)
		close(q->fd);
	ipr_verdicts_free(&q->verdicts);
	free(q->held);
	free(q);
}

/* Bind and configure the queue of each slot; on failure none stays bound. */
static int bind_slots(struct queue *q, const struct ipr_options *o)
{
	unsigned int i;
	int err = 0;

	for (i = 0; i < q->nslots && !err; i++) {
		err = bind_queue(q, i);
		if (err) {
			unbind(q, i);
			return err;
		}
		err = configure(q, i, o);
	}
	if (err)
		unbind(q, i);
	return err;
}

/* Open the socket, bind queues num + stride * slot and configure them; -EBUSY if
 * one is taken. */
static int open_queue(struct queue *q, unsigned int num, unsigned int stride,
		      const struct ipr_options *o)
{
	int err = ipr_nfnl_socket(SOCKET_BUFFER, IPR_PENDING_BYTES * 4);

	if (err < 0)
		return err;
	q->fd = err;
	q->num = (uint16_t)num;
	err = ipr_verdicts_init(&q->verdicts, q->fd, (uint16_t)num, (uint16_t)stride);
	if (!err)
		err = alloc_held(q, o->queue_maxlen * q->nslots);
	if (!err)
		err = bind_slots(q, o);
	if (err) {
		close(q->fd);
		q->fd = -1;
	}
	return err;
}

static int nfqueue_close(struct ipr_handle *h);

/* One attempt at queues first..first+n*slots-1 for the n members, all or none. */
struct range {
	struct ipr_handle *owner;
	const struct ipr_options *o;
	unsigned int slots; /* queues per member: one per CPU, or 1 */
};

static int open_range(void *arg, unsigned int first)
{
	const struct range *r = arg;
	int err = 0;

	for (unsigned int i = 0; i < r->owner->nmembers && !err; i++) {
		struct ipr_handle *m = r->owner->members[i];
		struct queue *q = new_queue(r->o, r->slots);

		m->priv = q;
		err = q ? open_queue(q, first + i, r->owner->nmembers, r->o) :
			  ipr_fail(-ENOMEM, "out of memory");
		m->fd = q ? q->fd : -1;
	}
	for (unsigned int i = 0; i < r->owner->nmembers && err; i++)
		nfqueue_close(r->owner->members[i]);
	return err;
}

static enum ipr_queue_kind queue_kind(unsigned int flags)
{
	if (flags & IPR_OPEN_QUEUE_NATIVE)
		return IPR_QUEUE_NATIVE;
	return flags & IPR_OPEN_QUEUE_COMPAT ? IPR_QUEUE_COMPAT : IPR_QUEUE_AUTO;
}

/* CPU ids the kernel may name (/sys/devices/system/cpu/possible: "0-N"), when a
 * queue for each fits a socket; else 1. */
static unsigned int cpu_slots(void)
{
	unsigned int lo = 0, hi = 0;
	FILE *f = fopen("/sys/devices/system/cpu/possible", "re");
	int n = f ? fscanf(f, "%u-%u", &lo, &hi) : 0;

	if (f)
		fclose(f);
	if (n < 1 || lo != 0 || hi + 1 > IPR_CPU_SLOTS_MAX)
		return 1;
	return hi + 1;
}

/* Queues per member: one per CPU when the thread follows its packets' CPU, as long
 * as the handle's queues stay within IPR_QUEUES_MAX. */
static unsigned int member_slots(const struct ipr_options *o)
{
	unsigned int slots;

	if (!(o->flags & IPR_OPEN_FOLLOW_CPU) || o->queue)
		return 1; /* numbers the caller chose stay as chosen */
	slots = cpu_slots();
	return slots * o->queues <= IPR_QUEUES_MAX ? slots : 1;
}

/* The queue range the options name, or the first free one of the automatic range. */
static int nfqueue_open(struct ipr_handle *h, const struct ipr_options *o,
			struct ipr_rules_action *act)
{
	struct range r = { h, o, member_slots(o) };
	int err;

	if (o->queue)
		err = open_range(&r, o->queue);
	else
		err = ipr_nfnl_find_free("range of queues", o->queues * r.slots, open_range, &r);
	if (err)
		return err;
	*act = (struct ipr_rules_action){
		.kind = IPR_ACTION_QUEUE,
		.first = ((struct queue *)h->priv)->num,
		.count = o->queues,
		.cpus = r.slots,
		.queue_kind = queue_kind(o->flags),
	};
	return 0;
}

/* ---- packets handed out, and the verdict deadline ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000 + 1;
}

/* Note a packet of slot's queue handed to the program; pkt->priv finds it again. */
static void hold(struct queue *q, struct ipr_packet *p, unsigned int slot, uint64_t now)
{
	uint32_t i = q->free_held;

	p->priv = UINT32_MAX;
	if (i >= q->held_cap)
		return; /* more than the kernel queue holds: cannot happen */
	q->verdicts.undecided++;
	q->free_held = q->held[i].next_free;
	q->held[i].id = p->id;
	q->held[i].since_ms = now;
	q->held[i].slot = (uint8_t)slot;
	p->priv = i;
}

static void unhold(struct queue *q, uint32_t i)
{
	q->held[i].since_ms = 0;
	q->held[i].next_free = q->free_held;
	q->free_held = i;
	q->verdicts.undecided--;
}

/* Take a handed-out packet off the held list: its slot, or -ESTALE if it is not on it. */
static int release(struct queue *q, const struct ipr_packet *pkt)
{
	uint32_t i = pkt->priv;

	if (i >= q->held_cap || !q->held[i].since_ms || q->held[i].id != pkt->id)
		return ipr_fail(-ESTALE,
				"packet %u is not held: it was answered already, or the verdict "
				"deadline (%u ms) accepted it",
				pkt->id, q->deadline_ms);
	unhold(q, i);
	return q->held[i].slot;
}

/* Answer every packet the program has held longer than the deadline. */
static int expire(struct ipr_handle *h, struct queue *q, uint64_t now)
{
	int err = 0;

	if (!q->deadline_ms || !q->verdicts.undecided || now < q->next_scan_ms)
		return 0;
	q->next_scan_ms = now + (q->deadline_ms >= 40 ? q->deadline_ms / 4 : 10);
	for (uint32_t i = 0; i < q->held_cap && !err; i++) {
		struct ipr_pending v = { .id = q->held[i].id, .verdict = q->expire_verdict,
					 .slot = q->held[i].slot };

		if (!q->held[i].since_ms || now - q->held[i].since_ms < q->deadline_ms)
			continue;
		ipr_log(IPR_LOG_WARN, "packet %u of queue %u had no verdict for %u ms: %s", v.id,
			slot_queue(q, v.slot), q->deadline_ms,
			v.verdict == NF_DROP ? "dropped" : "accepted");
		unhold(q, i);
		h->stats.expired++;
		err = ipr_verdicts_add(&q->verdicts, &v);
	}
	return err;
}

/* Before a blocking receive with packets held: wake up in time to expire them. */
static int wait_with_deadline(struct ipr_handle *h, struct queue *q, unsigned int flags)
{
	struct pollfd pfd = { .fd = q->fd, .events = POLLIN };

	while (!(flags & IPR_RECV_NONBLOCK) && q->deadline_ms && q->verdicts.undecided) {
		int n = poll(&pfd, 1, (int)(q->deadline_ms >= 40 ? q->deadline_ms / 4 : 10));

		if (n > 0)
			return 0;
		if (n < 0)
			return -errno;
		n = expire(h, q, now_ms());
		if (!n)
			n = ipr_verdicts_flush(&q->verdicts);
		if (n)
			return n;
	}
	return 0;
}

/* ---- receive ---- */

/* What the shared attributes of a packet message carry. */
static const uint8_t attr_meta[] = {
	[NFQA_PAYLOAD] = IPR_META_PAYLOAD,
	[NFQA_MARK] = IPR_META_MARK,
	[NFQA_IFINDEX_INDEV] = IPR_META_IFINDEX_IN,
	[NFQA_IFINDEX_OUTDEV] = IPR_META_IFINDEX_OUT,
	[NFQA_UID] = IPR_META_UID,
	[NFQA_GID] = IPR_META_GID,
	[NFQA_TIMESTAMP] = IPR_META_TIMESTAMP,
};

static void take_skb_info(uint32_t info, struct ipr_packet *p)
{
	if (info & NFQA_SKB_GSO)
		p->flags |= IPR_PKT_GSO;
	if (info & NFQA_SKB_CSUMNOTREADY)
		p->flags |= IPR_PKT_CSUM_NOT_READY;
	if (info & NFQA_SKB_CSUM_NOTVERIFIED)
		p->flags |= IPR_PKT_CSUM_NOT_VERIFIED;
}

/* Copy one attribute of a packet message into the packet's metadata. */
static void parse_attr(const struct nlattr *a, struct ipr_packet *p)
{
	uint16_t type = mnl_attr_get_type(a);
	const struct nfqnl_msg_packet_hdr *ph;

	switch (type) {
	case NFQA_PACKET_HDR:
		if (mnl_attr_get_payload_len(a) < sizeof(*ph))
			break;
		ph = mnl_attr_get_payload(a);
		p->id = ntohl(ph->packet_id);
		ipr_nfnl_take_hook(ph->hook, ph->hw_protocol, p);
		break;
	case NFQA_CAP_LEN:
		p->len = ntohl(mnl_attr_get_u32(a));
		break;
	case NFQA_SKB_INFO:
		take_skb_info(ntohl(mnl_attr_get_u32(a)), p);
		break;
	default:
		if (type < sizeof(attr_meta))
			ipr_nfnl_take_meta(a, attr_meta[type], p);
	}
}

/* Note a kernel verdict error; a queue answers acks only for refused verdicts. */
static void note_error(struct ipr_handle *h, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	if (!e->error)
		return;
	h->stats.verdict_errors++;
	ipr_log(IPR_LOG_WARN, "kernel refused a verdict: %s", strerror(-e->error));
}

/* The slot of the queue a message came from; -1 for none of ours. */
static int slot_of(const struct queue *q, const struct nlmsghdr *nlh)
{
	const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
	unsigned int off = (uint16_t)(ntohs(g->res_id) - q->num);
	unsigned int stride = q->verdicts.stride ? q->verdicts.stride : 1;

	if (off % stride || off / stride >= q->nslots)
		return -1;
	return (int)(off / stride);
}

/* Move slot's id sequence on to id; returns the ids the kernel skipped. */
static uint32_t note_id(struct queue *q, int slot, uint32_t id)
{
	struct slot_ids *ids = &q->ids[slot];

	return ipr_seq_advance(&ids->last_id, &ids->have_id, id);
}

/* Parse one packet message; returns its slot for a packet, -1 for anything else. */
static int parse_packet(struct ipr_handle *h, struct queue *q, const struct nlmsghdr *nlh,
			size_t n, int truncated, const struct timespec *now, struct ipr_packet *p)
{
	const struct nlattr *a;
	int slot;

	if (!mnl_nlmsg_ok(nlh, (int)n))
		return -1;
	if (nlh->nlmsg_type == NLMSG_ERROR)
		note_error(h, nlh);
	slot = nlh->nlmsg_type == PACKET_MSG ? slot_of(q, nlh) : -1;
	if (slot < 0)
		return -1;
	memset(p, 0, sizeof(*p));
	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
		parse_attr(a, p);
	if (!p->data)
		return -1;
	if (!p->len)
		p->len = p->caplen;
	if (p->caplen < p->len || truncated)
		p->flags |= IPR_PKT_TRUNCATED;
	ipr_nfnl_finish_packet(p, now, q->num); /* the handle's queue, whichever slot's */
	/* An id jump means the kernel skipped packets it could not deliver. */
	q->ids[slot].id_gaps += note_id(q, slot, p->id);
	return slot;
}

/* The library's own answer for packets the user-space filter rejects. */
static int filtered_out(struct ipr_handle *h, struct queue *q, struct ipr_packet *p, int slot)
{
	struct ipr_pending v = { .id = p->id, .verdict = NF_ACCEPT, .slot = (uint8_t)slot };

	if (ipr_packet_wanted(h, p))
		return 0;
	ipr_verdicts_add(&q->verdicts, &v);
	return 1;
}

/* One recvmmsg of up to max messages, waiting for the first unless MSG_DONTWAIT. */
static int receive(struct queue *q, unsigned int max, int sockflags)
{
	int n = recvmmsg(q->fd, q->rx_msgs, max, MSG_WAITFORONE | sockflags, NULL);

	return n < 0 ? -errno : n;
}

/* Receive without sleeping, again and again until end: the thread stays on its
 * CPU, so a packet's arrival costs no wake-up. -EAGAIN if none came. */
static int busy_poll(struct queue *q, unsigned int max, uint64_t end)
{
	int n;

	do
		n = receive(q, max, MSG_DONTWAIT);
	while (n == -EAGAIN && ipr_now_us() < end);
	return n;
}

static void pause_for(unsigned int us)
{
	struct timespec pause = { 0, (long)us * 1000 };

	if (us)
		nanosleep(&pause, NULL);
}

/* A blocking receive paced as q->pacing says: a pause so the batch fills, a poll
 * before sleeping; what it did goes into s for the pacing to learn from. */
static int receive_paced(struct queue *q, unsigned int max, struct ipr_pacing_sample *s)
{
	uint64_t start;
	int n = -EAGAIN;

	s->paused_us = ipr_pacing_pause(&q->pacing);
	pause_for(s->paused_us);
	s->polled_us = ipr_pacing_poll(&q->pacing);
	start = ipr_now_us();
	if (s->polled_us)
		n = busy_poll(q, max, start + s->polled_us);
	if (n == -EAGAIN) {
		ipr_pin_check(&q->pin);
		n = receive(q, max, 0);
	}
	s->wait_us = (unsigned int)(ipr_now_us() - start);
	s->count = n > 0 ? (unsigned int)n : 0;
	s->max = max;
	return n;
}

static int receive_messages(struct queue *q, const struct ipr_rx *rx, struct ipr_pacing_sample *s)
{
	for (unsigned int i = 0; i < rx->max; i++) {
		q->rx_iov[i].iov_base = rx->buf + i * rx->slot;
		q->rx_iov[i].iov_len = rx->slot;
		q->rx_msgs[i].msg_hdr.msg_flags = 0;
	}
	if (rx->flags & IPR_RECV_NONBLOCK)
		return receive(q, rx->max, MSG_DONTWAIT);
	return receive_paced(q, rx->max, s);
}

/* Turn received datagrams into packets, dropping replies and filtered packets; the
 * batch's shape goes into s, the CPU of its first packet into *cpu. */
static unsigned int collect_packets(struct ipr_handle *h, struct queue *q, int n,
				    struct ipr_packet *pkts, struct ipr_pacing_sample *s, int *cpu)
{
	unsigned int count = 0;
	uint64_t held_since = now_ms();
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	for (int i = 0; i < n; i++) {
		const struct msghdr *m = &q->rx_msgs[i].msg_hdr;
		struct ipr_packet *p = &pkts[count];
		int slot = parse_packet(h, q, m->msg_iov->iov_base, q->rx_msgs[i].msg_len,
					!!(m->msg_flags & MSG_TRUNC), &now, p);

		if (slot < 0)
			continue;
		if (*cpu < 0)
			*cpu = slot; /* slot c holds what CPU c enqueued */
		if (filtered_out(h, q, p, slot))
			continue;
		s->bulk |= !!(p->flags & IPR_PKT_GSO);
		s->last_in = p->layer == IPR_LAYER_IN;
		hold(q, p, (unsigned int)slot, held_since);
		count++;
	}
	return count;
}

/* After a blocking receive: move the thread towards the CPU its packets come from. */
static void follow(struct queue *q, const struct ipr_pacing_sample *s, int cpu)
{
	struct ipr_follow_sample f = { cpu, s->count, s->bulk, s->wait_us > s->polled_us + SLEPT_US };
	int to;

	if (q->nslots == 1)
		return; /* one queue says nothing of the CPU */
	to = ipr_follow_note(&q->follow, &f);
	if (to != IPR_FOLLOW_KEEP)
		ipr_pin_move(&q->pin, to == IPR_FOLLOW_RELEASE ? -1 : to);
}

/* One receive: what waits, waiting for it unless told not to or shut down. */
static int receive_once(struct ipr_handle *h, struct queue *q, const struct ipr_rx *rx)
{
	struct ipr_pacing_sample sample = { 0 };
	struct ipr_rx now = *rx;
	unsigned int count;
	int n, err, cpu = -1;

	if (ipr_is_shut(h))
		now.flags |= IPR_RECV_NONBLOCK; /* what is left, then -ESHUTDOWN */
	err = expire(h, q, now_ms());
	if (!err)
		err = ipr_verdicts_flush(&q->verdicts);
	if (!err)
		err = wait_with_deadline(h, q, now.flags);
	if (err)
		return err;
	n = receive_messages(q, &now, &sample);
	if (n == -EAGAIN && ipr_is_shut(h))
		return ipr_shut_empty();
	if (n < 0)
		return ipr_recv_failed(n);
	count = collect_packets(h, q, n, rx->pkts, &sample, &cpu);
	if (!(now.flags & IPR_RECV_NONBLOCK)) {
		ipr_pacing_note(&q->pacing, &sample);
		follow(q, &sample, cpu);
	}
	return (int)count;
}

static int nfqueue_recv(struct ipr_handle *h, const struct ipr_rx *rx)
{
	int n;

	do
		n = receive_once(h, h->priv, rx);
	while (!n);
	return n;
}

/* An acked request that changes nothing: its answer wakes a blocked receive. */
static int nfqueue_wake(struct ipr_handle *h)
{
	char buf[IPR_REQUEST_SIZE] = { 0 };
	struct queue *q = h->priv;
	struct nlmsghdr *nlh = ipr_nfnl_put_config(buf, NFNL_SUBSYS_QUEUE, q->num, 0);

	nlh->nlmsg_flags |= NLM_F_ACK;
	return send(q->fd, nlh, nlh->nlmsg_len, 0) < 0 ? -errno : 0;
}

/* ---- parameters ---- */

/* Room to note cap held packets. */
static int grow_held(struct queue *q, uint32_t cap)
{
	struct held *more;

	if (cap <= q->held_cap)
		return 0;
	more = realloc(q->held, cap * sizeof(*more));
	if (!more)
		return ipr_fail(-ENOMEM, "out of memory");
	memset(more + q->held_cap, 0, (cap - q->held_cap) * sizeof(*more));
	/* The free list ended at the old capacity: it now goes on through the new entries. */
	for (uint32_t i = q->held_cap; i < cap; i++)
		more[i].next_free = i + 1;
	q->held = more;
	q->held_cap = cap;
	return 0;
}

/* The kernel's length of each queue, and room to note as many held packets. */
static int set_maxlen(struct queue *q, uint32_t maxlen)
{
	int err = grow_held(q, maxlen * q->nslots);

	for (unsigned int i = 0; i < q->nslots && !err; i++) {
		char buf[IPR_REQUEST_SIZE] = { 0 };
		uint16_t num = slot_queue(q, i);
		struct nlmsghdr *nlh = ipr_nfnl_put_config(buf, NFNL_SUBSYS_QUEUE, num, 0);

		mnl_attr_put_u32(nlh, NFQA_CFG_QUEUE_MAXLEN, htonl(maxlen));
		err = ipr_nfnl_talk(q->fd, nlh);
		if (err)
			return ipr_fail(err, "setting the length of queue %u: %s", num,
					strerror(-err));
	}
	return err;
}

static int nfqueue_set_param(struct ipr_handle *h, enum ipr_param param, uint64_t value)
{
	struct queue *q = h->priv;

	switch (param) {
	case IPR_PARAM_QUEUE_MAXLEN:
		return set_maxlen(q, (uint32_t)value);
	case IPR_PARAM_DEADLINE_MS:
		q->deadline_ms = (unsigned int)value;
		return 0;
	case IPR_PARAM_RCVBUF:
		return ipr_nfnl_set_rcvbuf(q->fd, (int)value);
	}
	return ipr_param_known(param);
}

/* ---- verdicts ---- */

static int nfqueue_verdict(struct ipr_handle *h, struct ipr_packet *pkt,
			   const struct ipr_pending *v)
{
	struct queue *q = h->priv;
	struct ipr_pending mine = *v;
	int slot = release(q, pkt);

	if (slot < 0)
		return slot;
	pkt->flags |= IPR_PKT_DECIDED;
	ipr_verdict_count(&h->stats, v);
	mine.slot = (uint8_t)slot;
	return ipr_verdicts_add(&q->verdicts, &mine);
}

static int nfqueue_flush(struct ipr_handle *h)
{
	return ipr_verdicts_flush(&((struct queue *)h->priv)->verdicts);
}

/* ---- counters ---- */

struct kernel_counters {
	uint64_t queue_dropped, user_dropped, waiting, last_id;
};

/* The kernel's counters summed over the queues of q's socket. */
static int kernel_counters(const struct queue *q, struct kernel_counters *c)
{
	unsigned long long v[8];

	*c = (struct kernel_counters){ 0 };
	for (unsigned int i = 0; i < q->nslots; i++) {
		uint16_t num = slot_queue(q, i);
		int err = ipr_nfnl_proc_line("nfnetlink_queue", num, v, 8);

		if (err)
			return err == -ENOENT ? ipr_fail(err, "queue %u not found in /proc", num) : err;
		c->queue_dropped += v[5];
		c->user_dropped += v[6];
		c->waiting += v[2];
		c->last_id += v[7];
	}
	return 0;
}

/* Ids the kernel skipped in q's queues. */
static uint64_t id_gaps(const struct queue *q)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < q->nslots; i++)
		n += q->ids[i].id_gaps;
	return n;
}

/* Sum of the kernel's last packet ids over the owner's queues. */
static int last_ids(const struct ipr_handle *owner, uint64_t *sum)
{
	struct kernel_counters c = { 0 };
	int err = 0;

	*sum = 0;
	for (unsigned int i = 0; i < owner->nmembers && !err; i++) {
		err = kernel_counters(owner->members[i]->priv, &c);
		*sum += c.last_id;
	}
	return err;
}

/*
 * Packets that passed unredirected: those the rule counter saw that got no id
 * in any queue (queue full), charged to the owner, plus each queue's id gaps
 * (socket full). Summed over a handle's queues, that is the exact total.
 */
static int count_failopen(const struct ipr_handle *h, const struct queue *q,
			  uint64_t *failopen)
{
	uint64_t matched = 0, ids = 0;
	int err;

	*failopen = 0;
	if (h->flags & IPR_OPEN_FAIL_CLOSED)
		return 0; /* id gaps are socket drops then, counted as such */
	*failopen = id_gaps(q);
	if (h->owner != h)
		return 0;
	/* The rule counter first: a packet arriving between the reads is not miscounted. */
	err = ipr_rules_matched(h->rules, &matched);
	if (!err)
		err = last_ids(h, &ids);
	if (!err && matched > ids)
		*failopen += matched - ids;
	return err;
}

static int nfqueue_stats(struct ipr_handle *h, struct ipr_stats *s)
{
	struct kernel_counters c;
	int err = kernel_counters(h->priv, &c);

	if (err)
		return err;
	s->queue_dropped = c.queue_dropped;
	s->user_dropped = c.user_dropped;
	s->waiting = c.waiting;
	return count_failopen(h, h->priv, &s->failopen);
}

/* ---- close ---- */

/* Read whatever is still queued to us, noting the newest id; no packet is kept. */
static void drain(struct queue *q)
{
	char buf[DRAIN_BUFFER];
	ssize_t n;

	while ((n = recv(q->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		const struct nlattr *a;
		int slot;

		if (!mnl_nlmsg_ok(nlh, (int)n) || nlh->nlmsg_type != PACKET_MSG)
			continue;
		slot = slot_of(q, nlh);
		if (slot < 0)
			continue;
		mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg))
			if (mnl_attr_get_type(a) == NFQA_PACKET_HDR)
				note_id(q, slot, ntohl(((const struct nfqnl_msg_packet_hdr *)
							mnl_attr_get_payload(a))->packet_id));
	}
}

/* Accept every packet still held (received or not), unbind, close. */
static int nfqueue_close(struct ipr_handle *h)
{
	struct queue *q = h->priv;
	int err = 0;

	if (!q)
		return 0;
	if (q->fd >= 0) {
		err = ipr_verdicts_flush(&q->verdicts);
		drain(q);
		for (unsigned int i = 0; i < q->nslots && !err; i++)
			if (q->ids[i].have_id)
				err = ipr_verdicts_accept_upto(&q->verdicts, i, q->ids[i].last_id);
		unbind(q, q->nslots);
	}
	ipr_pin_move(&q->pin, -1);
	free_queue(q);
	h->priv = NULL;
	h->fd = -1;
	return err;
}

static int nfqueue_serves(const struct ipr_options *o)
{
	return !(o->flags & IPR_OPEN_MONITOR);
}

const struct ipr_engine ipr_engine_nfqueue = {
	.name = "nfqueue",
	.holds = 1,
	.serves = nfqueue_serves,
	.open = nfqueue_open,
	.recv = nfqueue_recv,
	.verdict = nfqueue_verdict,
	.flush = nfqueue_flush,
	.stats = nfqueue_stats,
	.close = nfqueue_close,
	.wake = nfqueue_wake,
	.set_param = nfqueue_set_param,
};
