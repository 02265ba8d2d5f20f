/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* verdict.c - verdicts: collected per handle, sent together in one sendmsg. */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <string.h>

#include "internal.h"

#define MIN_PACKET 20                              /* an IPv4 header */
#define MAX_PAYLOAD (0xffff - (int)MNL_ATTR_HDRLEN) /* an attribute length is 16 bits */

/* A flush under construction: headers in q->tx_hdrs, vectors in q->tx_iov. */
struct tx {
	struct ipr_queue *q;
	size_t used;          /* bytes of q->tx_hdrs written */
	size_t open;          /* start of the header bytes not yet in a vector */
	unsigned int niov;
};

/* Close the current run of header bytes into a vector. */
static void tx_close_run(struct tx *t)
{
	if (t->used == t->open)
		return;
	t->q->tx_iov[t->niov].iov_base = t->q->tx_hdrs + t->open;
	t->q->tx_iov[t->niov].iov_len = t->used - t->open;
	t->niov++;
	t->open = t->used;
}

/* Append one verdict message; with new bytes, they go in a vector of their own. */
static void tx_put(struct tx *t, uint8_t type, const struct ipr_pending *v)
{
	struct nlmsghdr *nlh = ipr_nfnl_put_header(t->q->tx_hdrs + t->used, NFNL_SUBSYS_QUEUE,
						   (uint8_t)type, t->q->num, 0);
	struct nfqnl_msg_verdict_hdr vh = { .verdict = htonl(v->verdict), .id = htonl(v->id) };
	struct nlattr *a;

	mnl_attr_put(nlh, NFQA_VERDICT_HDR, sizeof(vh), &vh);
	if (v->set_mark)
		mnl_attr_put_u32(nlh, NFQA_MARK, htonl(v->mark));
	t->used += nlh->nlmsg_len;
	if (!v->data)
		return;
	a = (struct nlattr *)(t->q->tx_hdrs + t->used);
	a->nla_type = NFQA_PAYLOAD;
	a->nla_len = (uint16_t)(MNL_ATTR_HDRLEN + v->len);
	t->used += MNL_ATTR_HDRLEN;
	nlh->nlmsg_len += MNL_ALIGN(MNL_ATTR_HDRLEN + v->len);
	tx_close_run(t);
	t->q->tx_iov[t->niov].iov_base = (void *)v->data;
	t->q->tx_iov[t->niov].iov_len = v->len;
	t->niov++;
	memset(t->q->tx_hdrs + t->used, 0, MNL_ALIGN(v->len) - v->len); /* padding */
	t->used += MNL_ALIGN(v->len) - v->len;
	tx_close_run(t);
	t->used = t->open = MNL_ALIGN(t->used); /* the next header starts aligned */
}

static int plain_accept(const struct ipr_pending *p)
{
	return p->verdict == NF_ACCEPT && !p->data && !p->set_mark;
}

/* Length of the run of plain accepts starting at pending[i]. */
static unsigned int accept_run(const struct ipr_queue *q, unsigned int i)
{
	unsigned int j = i;

	while (j < q->npending && plain_accept(&q->pending[j]))
		j++;
	return j - i;
}

/*
 * A batch verdict accepts every held packet up to an id. That is safe only when
 * no packet is still undecided and the ids come in queue order: then every
 * packet below the run was answered by an earlier message of the same flush.
 */
static void build(struct tx *t)
{
	struct ipr_queue *q = t->q;
	int coalesce = !q->undecided && q->pending_sorted;
	unsigned int i = 0;

	while (i < q->npending) {
		const struct ipr_pending *p = &q->pending[i];
		unsigned int run = coalesce ? accept_run(q, i) : 0;

		if (run >= 2) {
			tx_put(t, NFQNL_MSG_VERDICT_BATCH, &q->pending[i + run - 1]);
			i += run;
			continue;
		}
		tx_put(t, NFQNL_MSG_VERDICT, p);
		i++;
	}
	tx_close_run(t);
}

static int send_all(int fd, struct iovec *iov, unsigned int niov)
{
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = niov };
	ssize_t n;

	do
		n = sendmsg(fd, &msg, 0);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

int ipr_queue_flush(struct ipr_queue *q)
{
	struct tx t = { .q = q };
	int err;

	if (!q->npending)
		return 0;
	build(&t);
	err = send_all(q->fd, q->tx_iov, t.niov);
	q->npending = 0;
	q->pending_bytes = 0;
	q->pending_sorted = 1;
	if (err)
		return ipr_fail(err, "sending verdicts to queue %u: %s", q->num, strerror(-err));
	return 0;
}

int ipr_queue_verdict(struct ipr_queue *q, const struct ipr_pending *v)
{
	if (q->npending && (int32_t)(v->id - q->pending[q->npending - 1].id) <= 0)
		q->pending_sorted = 0;
	q->pending[q->npending++] = *v;
	q->pending_bytes += v->len;
	if (q->npending == IPR_PENDING_MAX || q->pending_bytes >= IPR_PENDING_BYTES)
		return ipr_queue_flush(q);
	return 0;
}

static int check_new_bytes(const struct ipr_packet *pkt, enum ipr_verdict verdict, size_t len)
{
	if (verdict != IPR_ACCEPT)
		return ipr_fail(-EINVAL, "new packet bytes go only with an accept verdict");
	if (pkt->flags & IPR_PKT_TRUNCATED)
		return ipr_fail(-EINVAL,
				"packet %u was copied truncated (%u of %u bytes) and cannot be "
				"replaced: open with a snap length that covers it",
				pkt->id, pkt->caplen, pkt->len);
	if (len < MIN_PACKET || len > MAX_PAYLOAD)
		return ipr_fail(-EINVAL, "new packet of %zu bytes: allowed %d to %d", len,
				MIN_PACKET, MAX_PAYLOAD);
	return 0;
}

static void count_verdict(struct ipr_stats *s, enum ipr_verdict verdict, const void *data)
{
	if (verdict == IPR_DROP)
		s->dropped++;
	else if (data)
		s->modified++;
	else
		s->accepted++;
}

static int check_verdict(const struct ipr_handle *h, const struct ipr_packet *pkt,
			 enum ipr_verdict verdict, const void *data, size_t len)
{
	if (pkt->flags & IPR_PKT_DECIDED)
		return ipr_fail(-EALREADY, "packet %u already has a verdict", pkt->id);
	if (pkt->queue != h->queue.num)
		return ipr_fail(-EINVAL, "packet %u came from queue %u, not this handle's %u",
				pkt->id, pkt->queue, h->queue.num);
	if (verdict != IPR_ACCEPT && verdict != IPR_DROP)
		return ipr_fail(-EINVAL, "unknown verdict %d", (int)verdict);
	return data ? check_new_bytes(pkt, verdict, len) : 0;
}

IPR_EXPORT int ipr_set_verdict(struct ipr_handle *h, struct ipr_packet *pkt,
			       enum ipr_verdict verdict, const void *data, size_t len)
{
	struct ipr_pending v = {
		.id = pkt->id,
		.verdict = verdict == IPR_ACCEPT ? NF_ACCEPT : NF_DROP,
		.data = data,
		.len = data ? (uint32_t)len : 0,
		.mark = pkt->new_mark,
		.set_mark = !!(pkt->flags & IPR_PKT_SET_MARK),
	};
	int err;

	if (h->flags & IPR_OPEN_MONITOR) /* copies: nothing waits for an answer */
		return 0;
	err = check_verdict(h, pkt, verdict, data, len);
	if (!err)
		err = ipr_queue_release(&h->queue, pkt);
	if (err)
		return err;
	pkt->flags |= IPR_PKT_DECIDED;
	count_verdict(&h->stats, verdict, data);
	return ipr_queue_verdict(&h->queue, &v);
}

IPR_EXPORT int ipr_accept(struct ipr_handle *h, struct ipr_packet *pkt)
{
	return ipr_set_verdict(h, pkt, IPR_ACCEPT, NULL, 0);
}

IPR_EXPORT int ipr_accept_modified(struct ipr_handle *h, struct ipr_packet *pkt,
				   const void *data, size_t len)
{
	if (!data)
		return ipr_fail(-EINVAL, "accept_modified needs the new packet bytes");
	return ipr_set_verdict(h, pkt, IPR_ACCEPT, data, len);
}

IPR_EXPORT int ipr_drop(struct ipr_handle *h, struct ipr_packet *pkt)
{
	return ipr_set_verdict(h, pkt, IPR_DROP, NULL, 0);
}

IPR_EXPORT int ipr_set_verdicts(struct ipr_handle *h, struct ipr_packet *pkts, unsigned int n,
				enum ipr_verdict verdict)
{
	int first = 0;

	for (unsigned int i = 0; i < n; i++) {
		int err = ipr_set_verdict(h, &pkts[i], verdict, NULL, 0);
		if (err && !first)
			first = err;
	}
	return first;
}

IPR_EXPORT int ipr_flush(struct ipr_handle *h)
{
	return ipr_queue_flush(&h->queue);
}

IPR_EXPORT int ipr_set_mark(struct ipr_packet *pkt, uint32_t value, uint32_t mask)
{
	uint32_t base = (pkt->flags & IPR_PKT_SET_MARK) ? pkt->new_mark : pkt->mark;

	pkt->new_mark = (base & ~mask) | (value & mask);
	pkt->flags |= IPR_PKT_SET_MARK;
	return 0;
}

/* The table's post chain moves these packet-mark bits into the flow's conntrack mark. */
IPR_EXPORT int ipr_accept_bypass(struct ipr_handle *h, struct ipr_packet *pkt)
{
	int err;

	if (!(h->flags & IPR_OPEN_BYPASS))
		return ipr_fail(-EINVAL, "flow bypass needs a handle opened with IPR_OPEN_BYPASS");
	ipr_set_mark(pkt, h->bypass_mark, h->bypass_mask);
	err = ipr_accept(h, pkt);
	if (!err)
		h->stats.bypassed++;
	return err;
}
