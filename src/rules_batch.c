/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rules_batch.c - nf_tables batches: messages appended one step at a time, sent
 * in one sendmsg, the kernel's answers read, and a refusal explained by the step
 * it stopped at and the kernel pieces that step needs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include "rules.h"

#define IPR_BATCH_LIMIT (64 * 1024) /* bytes of one batch; its buffer holds twice that */
/* Messages of one batch, BEGIN and END not counted: the table, the spread map and
 * its elements, a chain and a rule per queue, at most 8 per layer. */
#define IPR_BATCH_MSGS (3 + 2 * IPR_QUEUES_MAX + 3 * 8)
#define IPR_NFT_TYPE(msg) ((NFNL_SUBSYS_NFTABLES << 8) | (msg))

static const char *const ipr_need_names[] = {
	"native nft queue expression (CONFIG_NFT_QUEUE)",
	"xt NFQUEUE target (rev 3) through nft_compat",
	"xt bpf match (rev 1) through nft_compat",
	"nft ct expression (CONFIG_NFT_CT)",
	"nft socket expression (CONFIG_NFT_SOCKET)",
	"nft hash expression (CONFIG_NFT_HASH)",
	"nft log expression (CONFIG_NFT_LOG)",
};

#define IPR_NEEDS_ALL ((1u << (sizeof(ipr_need_names) / sizeof(ipr_need_names[0]))) - 1)

struct ipr_batch {
	struct mnl_nlmsg_batch *b;
	struct nlmsghdr *last; /* newest message: the only one that asks for an ack */
	uint32_t seq0; /* sequence number of BATCH_BEGIN */
	uint32_t seq;  /* next sequence number */
	struct ipr_step step[IPR_BATCH_MSGS];
	char buf[2 * IPR_BATCH_LIMIT];
};

struct ipr_step ipr_step_of(const char *what, const char *chain, enum ipr_step_kind kind,
			       unsigned int needs)
{
	struct ipr_step s = { .what = what, .kind = kind, .needs = needs };

	if (chain)
		snprintf(s.chain, sizeof(s.chain), "%s", chain);
	return s;
}

/* ---- batches ---- */

struct ipr_batch *ipr_batch_new(uint32_t seq)
{
	struct ipr_batch *bt = calloc(1, sizeof(*bt));

	if (!bt)
		return NULL;
	bt->b = mnl_nlmsg_batch_start(bt->buf, IPR_BATCH_LIMIT);
	if (!bt->b) {
		free(bt);
		return NULL;
	}
	bt->seq0 = seq;
	bt->seq = seq + 1;
	nftnl_batch_begin(mnl_nlmsg_batch_current(bt->b), bt->seq0);
	mnl_nlmsg_batch_next(bt->b);
	return bt;
}

void ipr_batch_free(struct ipr_batch *bt)
{
	if (!bt)
		return;
	mnl_nlmsg_batch_stop(bt->b);
	free(bt);
}

/*
 * Start the next message; NULL when bt is full. Only the last message asks for
 * an ack (batch_send): a refused message is answered anyway, and one ack per
 * message could overrun the socket's receive buffer in a batch of 150.
 */
static struct nlmsghdr *batch_msg(struct ipr_batch *bt, uint16_t type, uint16_t flags,
				  const struct ipr_step *step)
{
	uint32_t i = bt->seq - bt->seq0 - 1;

	if (i >= IPR_BATCH_MSGS)
		return NULL;
	bt->step[i] = *step;
	bt->last = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), type, NFPROTO_INET,
					 flags, bt->seq++);
	return bt->last;
}

/* Close the message started by batch_msg(). */
static int batch_next(struct ipr_batch *bt)
{
	return mnl_nlmsg_batch_next(bt->b) ? 0 : -EMSGSIZE;
}

static void put_payload(struct nlmsghdr *nlh, enum ipr_obj_kind kind, void *obj)
{
	switch (kind) {
	case IPR_OBJ_TABLE:
		nftnl_table_nlmsg_build_payload(nlh, obj);
		break;
	case IPR_OBJ_CHAIN:
		nftnl_chain_nlmsg_build_payload(nlh, obj);
		break;
	case IPR_OBJ_RULE:
		nftnl_rule_nlmsg_build_payload(nlh, obj);
		break;
	case IPR_OBJ_SET:
		nftnl_set_nlmsg_build_payload(nlh, obj);
		break;
	case IPR_OBJ_ELEMS:
		nftnl_set_elems_nlmsg_build_payload(nlh, obj);
		break;
	}
}

static void free_obj(enum ipr_obj_kind kind, void *obj)
{
	switch (kind) {
	case IPR_OBJ_TABLE:
		nftnl_table_free(obj);
		break;
	case IPR_OBJ_CHAIN:
		nftnl_chain_free(obj);
		break;
	case IPR_OBJ_RULE:
		nftnl_rule_free(obj);
		break;
	case IPR_OBJ_SET:
	case IPR_OBJ_ELEMS:
		nftnl_set_free(obj);
		break;
	}
}

int ipr_batch_put(struct ipr_batch *bt, const struct ipr_msg *m, void *obj, int err)
{
	struct nlmsghdr *nlh;

	if (!obj)
		return -ENOMEM;
	if (!err) {
		nlh = batch_msg(bt, m->type, m->flags, &m->step);
		if (nlh)
			put_payload(nlh, m->obj, obj);
		err = nlh ? batch_next(bt) : -EMSGSIZE;
	}
	free_obj(m->obj, obj);
	return err;
}

/* Messages of bt after BATCH_BEGIN. */
static uint32_t batch_count(const struct ipr_batch *bt)
{
	return bt->seq - bt->seq0 - 1;
}
static const struct ipr_step *batch_step(const struct ipr_batch *bt, uint32_t seq)
{
	uint32_t i = seq - bt->seq0 - 1;

	return i < batch_count(bt) ? &bt->step[i] : NULL;
}

/* Remember the table handle from the kernel's echo of our NEWTABLE. */
static void note_table_echo(struct ipr_rules *r, const struct nlmsghdr *nlh)
{
	struct nftnl_table *t = nftnl_table_alloc();

	if (!t)
		return;
	if (nftnl_table_nlmsg_parse(nlh, t) >= 0 &&
	    nftnl_table_is_set(t, NFTNL_TABLE_HANDLE) &&
	    strcmp(nftnl_table_get_str(t, NFTNL_TABLE_NAME), r->table) == 0)
		r->handle = nftnl_table_get_u64(t, NFTNL_TABLE_HANDLE);
	nftnl_table_free(t);
}

/*
 * Take one message of the kernel's answer to bt. Returns 1 once the batch is
 * answered completely, 0 for more to come, -EPROTO for a malformed ack.
 */
static int batch_answer(struct ipr_rules *r, const struct ipr_batch *bt,
			const struct nlmsghdr *nlh, struct ipr_refusal *ref)
{
	const struct ipr_step *step;
	const struct nlmsgerr *e;
	uint32_t i;

	if (nlh->nlmsg_type == IPR_NFT_TYPE(NFT_MSG_NEWTABLE)) {
		note_table_echo(r, nlh);
		return 0;
	}
	if (nlh->nlmsg_type != NLMSG_ERROR)
		return 0;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
		return -EPROTO;
	e = mnl_nlmsg_get_payload(nlh);
	i = e->msg.nlmsg_seq - bt->seq0;
	if (e->error < 0 && !ref->err) {
		ref->err = e->error;
		step = batch_step(bt, e->msg.nlmsg_seq);
		if (step)
			ref->step = *step;
	}
	/* An ack for BATCH_BEGIN means the kernel refused the batch as a whole. */
	return i == 0 || i >= batch_count(bt);
}

/* Read every ack of bt; the kernel answers a batch before sendmsg returns. */
static int batch_acks(struct ipr_rules *r, const struct ipr_batch *bt, struct ipr_refusal *ref)
{
	const struct nlmsghdr *nlh;
	int done = 0;
	int len;

	while (!done) {
		len = recv(mnl_socket_get_fd(r->nl), r->rx, sizeof(r->rx), MSG_DONTWAIT);
		if (len < 0)
			return errno == EAGAIN ? -EPROTO : -errno;
		for (nlh = (const struct nlmsghdr *)r->rx; !done && mnl_nlmsg_ok(nlh, len);
		     nlh = mnl_nlmsg_next(nlh, &len))
			done = batch_answer(r, bt, nlh, ref);
		if (done < 0)
			return done;
	}
	return 0;
}

int ipr_batch_send(struct ipr_rules *r, struct ipr_batch *bt, struct ipr_refusal *ref)
{
	if (bt->last)
		bt->last->nlmsg_flags |= NLM_F_ACK;
	nftnl_batch_end(mnl_nlmsg_batch_current(bt->b), bt->seq);
	if (!mnl_nlmsg_batch_next(bt->b))
		return -EMSGSIZE;
	r->seq = bt->seq + 1;
	if (mnl_socket_sendto(r->nl, mnl_nlmsg_batch_head(bt->b),
			      mnl_nlmsg_batch_size(bt->b)) < 0)
		return -errno;
	return batch_acks(r, bt, ref);
}

int ipr_refusal_missing(const struct ipr_refusal *ref)
{
	return ref->step.what && ref->step.kind == IPR_STEP_RULE &&
	       (ref->err == -ENOENT || ref->err == -EOPNOTSUPP);
}

/* "the A" or "one of: A, B" for the kernel pieces in needs. */
static void format_needs(char *buf, size_t size, unsigned int needs)
{
	size_t len = 0;
	unsigned int i;

	snprintf(buf, size, "%s", (needs & (needs - 1)) ? "one of: " : "the ");
	for (i = 0; i < sizeof(ipr_need_names) / sizeof(ipr_need_names[0]); i++) {
		if (!(needs & (1u << i)))
			continue;
		len = strlen(buf);
		snprintf(buf + len, size - len, "%s%s", len > 8 ? ", " : "", ipr_need_names[i]);
	}
}

int ipr_refusal_fail(const char *table, const struct ipr_refusal *ref)
{
	const char *sep = ref->step.chain[0] ? " " : "";
	int err = ref->err;
	char needs[512];

	if (!ref->step.what && err == -EPERM)
		return ipr_fail(err, "permission denied: nf_tables needs CAP_NET_ADMIN");
	if (!ref->step.what)
		return ipr_fail(err, "nf_tables refused the batch: %s", strerror(-err));
	if (ipr_refusal_missing(ref) && (ref->step.needs & IPR_NEEDS_ALL)) {
		format_needs(needs, sizeof(needs), ref->step.needs);
		return ipr_fail(err, "cannot %s%s%s: this kernel lacks %s", ref->step.what, sep,
				ref->step.chain, needs);
	}
	if (ref->step.kind == IPR_STEP_TABLE) {
		/* Before 5.12 unknown table flags gave EINVAL, since then EOPNOTSUPP. */
		if (err == -EOPNOTSUPP || err == -EINVAL)
			return ipr_fail(err,
					"kernel too old: nf_tables owner flag needs Linux 5.12");
		if (err == -EEXIST)
			return ipr_fail(err, "table inet %s already exists: pick another name",
					table);
		if (err == -EPERM)
			return ipr_fail(err, "table inet %s exists and belongs to another process",
					table);
	}
	return ipr_fail(err, "nf_tables refused to %s%s%s: %s", ref->step.what, sep,
			ref->step.chain, strerror(-err));
}

int ipr_rules_socket(struct ipr_rules *r)
{
	int one = 1;

	r->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!r->nl)
		return ipr_fail(-errno, "cannot open a netfilter netlink socket: %s",
				strerror(errno));
	if (mnl_socket_bind(r->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return ipr_fail(-errno, "cannot bind the netfilter netlink socket: %s",
				strerror(errno));
	/* Error acks carry only the header of the refused message, not all of it. */
	mnl_socket_setsockopt(r->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	r->portid = mnl_socket_get_portid(r->nl);
	r->seq = (uint32_t)time(NULL);
	return 0;
}

