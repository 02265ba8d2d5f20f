/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * engine.c - the data-path calls of ipredir.h: receive, verdicts, flush and
 * counters, checked once here and passed to the handle's engine (struct
 * ipr_engine in internal.h), which handle.c chose at open.
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <string.h>

#include "internal.h"

#define SLOT_OVERHEAD 512                           /* netlink and attribute headers */
#define MIN_PACKET 20                               /* an IPv4 header */
#define MAX_PAYLOAD (0xffff - (int)MNL_ATTR_HDRLEN) /* an attribute length is 16 bits */

IPR_EXPORT int ipr_fd(const struct ipr_handle *h)
{
	return h->fd;
}

IPR_EXPORT size_t ipr_slot_size(const struct ipr_handle *h)
{
	return (h->snaplen + SLOT_OVERHEAD + 63) & ~(size_t)63;
}

/* ---- receive ---- */

IPR_EXPORT int ipr_recv_batch(struct ipr_handle *h, void *buf, size_t buflen,
			      struct ipr_packet *pkts, unsigned int max, unsigned int flags)
{
	struct ipr_rx rx = { buf, buflen, ipr_slot_size(h), pkts, max, flags };

	if (buflen / rx.slot < rx.max)
		rx.max = (unsigned int)(buflen / rx.slot);
	if (rx.max > IPR_BATCH_MAX)
		rx.max = IPR_BATCH_MAX;
	if (!rx.max)
		return ipr_fail(-EINVAL, "receive buffer of %zu bytes holds no packet: need %zu",
				buflen, rx.slot);
	return h->engine->recv(h, &rx);
}

IPR_EXPORT int ipr_recv(struct ipr_handle *h, void *buf, size_t buflen, struct ipr_packet *pkt,
			unsigned int flags)
{
	return ipr_recv_batch(h, buf, buflen, pkt, 1, flags);
}

/* ---- verdicts ---- */

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

static int check_verdict(const struct ipr_handle *h, const struct ipr_packet *pkt,
			 enum ipr_verdict verdict, const void *data, size_t len)
{
	if (pkt->flags & IPR_PKT_DECIDED)
		return ipr_fail(-EALREADY, "packet %u already has a verdict", pkt->id);
	if (pkt->queue != h->info.queue)
		return ipr_fail(-EINVAL, "packet %u came from queue %u, not this handle's %u",
				pkt->id, pkt->queue, h->info.queue);
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

	if (!h->engine->verdict) /* an observer's copies: nothing waits for an answer */
		return 0;
	err = check_verdict(h, pkt, verdict, data, len);
	return err ? err : h->engine->verdict(h, pkt, &v);
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
	return h->engine->flush ? h->engine->flush(h) : 0;
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

/* ---- counters ---- */

IPR_EXPORT int ipr_get_stats(struct ipr_handle *h, struct ipr_stats *st, size_t size)
{
	struct ipr_stats s = h->stats;
	int err = h->engine->stats(h, &s);

	memcpy(st, &s, size < sizeof(s) ? size : sizeof(s));
	return err;
}
