/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* verdict.c - verdicts of one queue: collected in call order, sent together in one sendmsg. */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define HDR_ROOM 64 /* netlink header, verdict and mark attributes of one verdict */

int ipr_verdicts_init(struct ipr_verdicts *vb, int fd, uint16_t num, uint16_t stride)
{
	vb->fd = fd;
	vb->num = num;
	vb->stride = stride;
	vb->sorted = 1;
	vb->pending = calloc(IPR_PENDING_MAX, sizeof(*vb->pending));
	vb->tx_iov = calloc(3 * IPR_PENDING_MAX + 1, sizeof(*vb->tx_iov));
	vb->tx_hdrs = calloc(IPR_PENDING_MAX, HDR_ROOM);
	if (!vb->pending || !vb->tx_iov || !vb->tx_hdrs)
		return ipr_fail(-ENOMEM, "out of memory");
	return 0;
}

void ipr_verdicts_free(struct ipr_verdicts *vb)
{
	free(vb->pending);
	free(vb->tx_iov);
	free(vb->tx_hdrs);
	vb->pending = NULL;
	vb->tx_iov = NULL;
	vb->tx_hdrs = NULL;
}

uint16_t ipr_verdicts_queue(const struct ipr_verdicts *vb, unsigned int slot)
{
	return (uint16_t)(vb->num + vb->stride * slot);
}

/* A flush under construction: headers in vb->tx_hdrs, vectors in vb->tx_iov. */
struct tx {
	struct ipr_verdicts *vb;
	size_t used;          /* bytes of vb->tx_hdrs written */
	size_t open;          /* start of the header bytes not yet in a vector */
	unsigned int niov;
};

/* Close the current run of header bytes into a vector. */
static void tx_close_run(struct tx *t)
{
	if (t->used == t->open)
		return;
	t->vb->tx_iov[t->niov].iov_base = t->vb->tx_hdrs + t->open;
	t->vb->tx_iov[t->niov].iov_len = t->used - t->open;
	t->niov++;
	t->open = t->used;
}

/* Append one verdict message; with new bytes, they go in a vector of their own. */
static void tx_put(struct tx *t, uint8_t type, const struct ipr_pending *v)
{
	struct nlmsghdr *nlh = ipr_nfnl_put_header(t->vb->tx_hdrs + t->used, NFNL_SUBSYS_QUEUE,
						   type, ipr_verdicts_queue(t->vb, v->slot), 0);
	struct nfqnl_msg_verdict_hdr vh = { .verdict = htonl(v->verdict), .id = htonl(v->id) };
	struct nlattr *a;

	mnl_attr_put(nlh, NFQA_VERDICT_HDR, sizeof(vh), &vh);
	if (v->set_mark)
		mnl_attr_put_u32(nlh, NFQA_MARK, htonl(v->mark));
	t->used += nlh->nlmsg_len;
	if (!v->data)
		return;
	a = (struct nlattr *)(t->vb->tx_hdrs + t->used);
	a->nla_type = NFQA_PAYLOAD;
	a->nla_len = (uint16_t)(MNL_ATTR_HDRLEN + v->len);
	t->used += MNL_ATTR_HDRLEN;
	nlh->nlmsg_len += MNL_ALIGN(MNL_ATTR_HDRLEN + v->len);
	tx_close_run(t);
	t->vb->tx_iov[t->niov].iov_base = (void *)v->data;
	t->vb->tx_iov[t->niov].iov_len = v->len;
	t->niov++;
	memset(t->vb->tx_hdrs + t->used, 0, MNL_ALIGN(v->len) - v->len); /* padding */
	t->used += MNL_ALIGN(v->len) - v->len;
	tx_close_run(t);
	t->used = t->open = MNL_ALIGN(t->used); /* the next header starts aligned */
}

static int plain_accept(const struct ipr_pending *p)
{
	return p->verdict == NF_ACCEPT && !p->data && !p->set_mark;
}

/* Length of the run of plain accepts of one queue starting at pending[i]. */
static unsigned int accept_run(const struct ipr_verdicts *vb, unsigned int i)
{
	unsigned int j = i;

	while (j < vb->npending && plain_accept(&vb->pending[j]) &&
	       vb->pending[j].slot == vb->pending[i].slot)
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
	struct ipr_verdicts *vb = t->vb;
	int coalesce = !vb->undecided && vb->sorted;
	unsigned int i = 0;

	while (i < vb->npending) {
		unsigned int run = coalesce ? accept_run(vb, i) : 0;

		if (run >= 2) {
			tx_put(t, NFQNL_MSG_VERDICT_BATCH, &vb->pending[i + run - 1]);
			i += run;
			continue;
		}
		tx_put(t, NFQNL_MSG_VERDICT, &vb->pending[i]);
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

int ipr_verdicts_flush(struct ipr_verdicts *vb)
{
	struct tx t = { .vb = vb };
	int err;

	if (!vb->npending)
		return 0;
	build(&t);
	err = send_all(vb->fd, vb->tx_iov, t.niov);
	vb->npending = 0;
	vb->bytes = 0;
	vb->sorted = 1;
	vb->slots_seen = 0;
	if (err)
		return ipr_fail(err, "sending verdicts to queue %u: %s", vb->num, strerror(-err));
	return 0;
}

int ipr_verdicts_add(struct ipr_verdicts *vb, const struct ipr_pending *v)
{
	unsigned int bit = 1u << v->slot;

	if ((vb->slots_seen & bit) && (int32_t)(v->id - vb->last_id[v->slot]) <= 0)
		vb->sorted = 0;
	vb->slots_seen |= bit;
	vb->last_id[v->slot] = v->id;
	vb->pending[vb->npending++] = *v;
	vb->bytes += v->len;
	if (vb->npending == IPR_PENDING_MAX || vb->bytes >= IPR_PENDING_BYTES)
		return ipr_verdicts_flush(vb);
	return 0;
}

int ipr_verdicts_accept_upto(struct ipr_verdicts *vb, unsigned int slot, uint32_t id)
{
	char buf[IPR_REQUEST_SIZE] = { 0 };
	struct nlmsghdr *nlh;
	struct nfqnl_msg_verdict_hdr vh = { .verdict = htonl(NF_ACCEPT), .id = htonl(id) };
	uint16_t num = ipr_verdicts_queue(vb, slot);

	nlh = ipr_nfnl_put_header(buf, NFNL_SUBSYS_QUEUE, NFQNL_MSG_VERDICT_BATCH, num, 0);
	mnl_attr_put(nlh, NFQA_VERDICT_HDR, sizeof(vh), &vh);
	if (send(vb->fd, nlh, nlh->nlmsg_len, 0) < 0)
		return ipr_fail(-errno, "accepting the packets still held in queue %u: %s",
				num, strerror(errno));
	return 0;
}

void ipr_verdict_count(struct ipr_stats *s, const struct ipr_pending *v)
{
	if (v->verdict == NF_DROP)
		s->dropped++;
	else if (v->data)
		s->modified++;
	else
		s->accepted++;
}
