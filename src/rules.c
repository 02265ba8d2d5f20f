/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rules.c - the handle's own nf_tables table.
 *
 * One table (family inet, NFT_TABLE_F_OWNER) with a base chain per layer; each
 * chain sends the packets that pass its interface and BPF conditions to the
 * NFQUEUE, through the native queue expression or the xt NFQUEUE target.
 * Everything is created in one nfnetlink batch, so the kernel installs all of
 * it or nothing. The netlink socket that created the table owns it: when the
 * socket closes (also on SIGKILL) the kernel deletes the table.
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <linux/netfilter/xt_bpf.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "internal.h"

#define IPR_BATCH_LIMIT 16384 /* bytes of one batch; its buffer holds twice that */
#define IPR_BATCH_MSGS 16     /* messages of one batch, BEGIN and END not counted */
#define IPR_NL_RECV 16384     /* receive buffer: acks and rule dumps */
#define IPR_NFT_TYPE(msg) ((NFNL_SUBSYS_NFTABLES << 8) | (msg))

struct ipr_rules {
	struct mnl_socket *nl;  /* owns the table: closing it deletes the table */
	uint32_t portid;
	uint32_t seq;
	uint64_t handle;        /* table handle echoed by the kernel, 0 = unknown */
	enum ipr_queue_kind kind;
	char table[NFT_TABLE_MAXNAMELEN];
	char rx[IPR_NL_RECV];
};

enum ipr_step_kind {
	IPR_STEP_TABLE,
	IPR_STEP_CHAIN,
	IPR_STEP_RULE,
};

/* What one message of a batch does, to name the step the kernel refused. */
struct ipr_step {
	const char *what;
	enum ipr_step_kind kind;
};

struct ipr_batch {
	struct mnl_nlmsg_batch *b;
	uint32_t seq0; /* sequence number of BATCH_BEGIN */
	uint32_t seq;  /* next sequence number */
	struct ipr_step step[IPR_BATCH_MSGS];
	char buf[2 * IPR_BATCH_LIMIT];
};

/* The first message of a batch the kernel refused. */
struct ipr_refusal {
	int err;              /* -errno; 0 = everything accepted */
	struct ipr_step step; /* what NULL = the batch as a whole */
};

struct ipr_hook {
	unsigned int layer;
	unsigned int hooknum;
	const char *chain;
	const char *chain_step;
	const char *rule_step;
};

static const struct ipr_hook ipr_hooks[] = {
	{ IPR_LAYER_IN, NF_INET_LOCAL_IN, "in",
	  "create chain in", "add the queue rule to chain in" },
	{ IPR_LAYER_OUT, NF_INET_LOCAL_OUT, "out",
	  "create chain out", "add the queue rule to chain out" },
	{ IPR_LAYER_FORWARD, NF_INET_FORWARD, "forward",
	  "create chain forward", "add the queue rule to chain forward" },
};

#define IPR_LAYERS_ALL (IPR_LAYER_IN | IPR_LAYER_OUT | IPR_LAYER_FORWARD)

/* One interface condition of a rule: meta key (iifname/oifname) == name. */
struct ipr_ifcond {
	uint32_t key;
	const char *name;
};

struct ipr_conds {
	struct ipr_ifcond c[3];
	unsigned int n;
};

/* Attributes of an nft_compat expression: an xt match or an xt target. */
struct ipr_xt_attrs {
	const char *expr;
	uint16_t name;
	uint16_t rev;
	uint16_t info;
};

static const struct ipr_xt_attrs ipr_xt_match = {
	"match", NFTNL_EXPR_MT_NAME, NFTNL_EXPR_MT_REV, NFTNL_EXPR_MT_INFO
};

static const struct ipr_xt_attrs ipr_xt_target = {
	"target", NFTNL_EXPR_TG_NAME, NFTNL_EXPR_TG_REV, NFTNL_EXPR_TG_INFO
};

/* ---- batches ---- */

static struct ipr_batch *batch_new(uint32_t seq)
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

static void batch_free(struct ipr_batch *bt)
{
	if (!bt)
		return;
	mnl_nlmsg_batch_stop(bt->b);
	free(bt);
}

/* Start the next message (always with NLM_F_ACK); NULL when bt is full. */
static struct nlmsghdr *batch_msg(struct ipr_batch *bt, uint16_t type, uint16_t flags,
				  const char *what, enum ipr_step_kind kind)
{
	uint32_t i = bt->seq - bt->seq0 - 1;

	if (i >= IPR_BATCH_MSGS)
		return NULL;
	bt->step[i].what = what;
	bt->step[i].kind = kind;
	return nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(bt->b), type, NFPROTO_INET,
				     flags | NLM_F_ACK, bt->seq++);
}

/* Close the message started by batch_msg(). */
static int batch_next(struct ipr_batch *bt)
{
	return mnl_nlmsg_batch_next(bt->b) ? 0 : -EMSGSIZE;
}

/* Messages of bt that carry NLM_F_ACK. */
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

/*
 * Close bt with BATCH_END, send it and collect the answers. Returns 0 when the
 * kernel answered (ref->err tells whether it refused) or -errno for a local or
 * socket failure.
 */
static int batch_send(struct ipr_rules *r, struct ipr_batch *bt, struct ipr_refusal *ref)
{
	nftnl_batch_end(mnl_nlmsg_batch_current(bt->b), bt->seq);
	if (!mnl_nlmsg_batch_next(bt->b))
		return -EMSGSIZE;
	r->seq = bt->seq + 1;
	if (mnl_socket_sendto(r->nl, mnl_nlmsg_batch_head(bt->b),
			      mnl_nlmsg_batch_size(bt->b)) < 0)
		return -errno;
	return batch_acks(r, bt, ref);
}

/* ---- expressions ---- */

/* Append a new expression to rl, which owns it; NULL when out of memory. */
static struct nftnl_expr *rule_expr(struct nftnl_rule *rl, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (e)
		nftnl_rule_add_expr(rl, e);
	return e;
}

/* meta key == name, compared as a NUL-padded IFNAMSIZ string like nft does. */
static int add_ifname(struct nftnl_rule *rl, const struct ipr_ifcond *c)
{
	char padded[IFNAMSIZ] = { 0 };
	struct nftnl_expr *meta, *cmp;

	memcpy(padded, c->name, strlen(c->name));
	meta = rule_expr(rl, "meta");
	if (!meta)
		return -ENOMEM;
	nftnl_expr_set_u32(meta, NFTNL_EXPR_META_KEY, c->key);
	nftnl_expr_set_u32(meta, NFTNL_EXPR_META_DREG, NFT_REG_1);
	cmp = rule_expr(rl, "cmp");
	if (!cmp)
		return -ENOMEM;
	nftnl_expr_set_u32(cmp, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(cmp, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(cmp, NFTNL_EXPR_CMP_DATA, padded, sizeof(padded));
	return 0;
}

/* Append an xt match or target through nft_compat; info is copied. */
static int add_xt(struct nftnl_rule *rl, const struct ipr_xt_attrs *a, const char *name,
		  uint32_t rev, const void *info, size_t size)
{
	/* libnftnl sends XT_ALIGN(size) bytes and frees the buffer with the expression. */
	void *copy = calloc(1, XT_ALIGN(size));
	struct nftnl_expr *e;

	if (!copy)
		return -ENOMEM;
	e = rule_expr(rl, a->expr);
	if (!e) {
		free(copy);
		return -ENOMEM;
	}
	memcpy(copy, info, size);
	nftnl_expr_set_str(e, a->name, name);
	nftnl_expr_set_u32(e, a->rev, rev);
	nftnl_expr_set(e, a->info, copy, XT_ALIGN(size));
	return 0;
}

static int add_bpf(struct nftnl_rule *rl, const struct sock_filter *prog, unsigned int len)
{
	struct xt_bpf_info_v1 info;

	memset(&info, 0, sizeof(info));
	info.mode = XT_BPF_MODE_BYTECODE;
	info.bpf_program_num_elem = len;
	memcpy(info.bpf_program, prog, len * sizeof(*prog));
	return add_xt(rl, &ipr_xt_match, "bpf", 1, &info, sizeof(info));
}

static int add_counter(struct nftnl_rule *rl)
{
	return rule_expr(rl, "counter") ? 0 : -ENOMEM;
}

static int add_queue_native(struct nftnl_rule *rl, uint16_t num)
{
	struct nftnl_expr *e = rule_expr(rl, "queue");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_NUM, num);
	nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_TOTAL, 1);
	nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_FLAGS, NFT_QUEUE_FLAG_BYPASS);
	return 0;
}

static int add_queue_compat(struct nftnl_rule *rl, uint16_t num)
{
	struct xt_NFQ_info_v3 info;

	memset(&info, 0, sizeof(info));
	info.queuenum = num;
	info.queues_total = 1;
	info.flags = NFQ_FLAG_BYPASS;
	return add_xt(rl, &ipr_xt_target, "NFQUEUE", 3, &info, sizeof(info));
}

/* ---- table, chains, rules ---- */

static int table_comment(struct nftnl_table *t, const char *comment)
{
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	int err = -ENOMEM;

	if (!ud)
		return -ENOMEM;
	if (!nftnl_udata_put_strz(ud, NFTNL_UDATA_TABLE_COMMENT, comment))
		goto out;
	if (nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, nftnl_udata_buf_data(ud),
				 nftnl_udata_buf_len(ud)) < 0)
		goto out;
	err = 0;
out:
	nftnl_udata_buf_free(ud);
	return err;
}

static int put_table(struct ipr_batch *bt, const struct ipr_rules_spec *spec)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	int err = -ENOMEM;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, NFT_TABLE_F_OWNER);
	if (nftnl_table_set_str(t, NFTNL_TABLE_NAME, spec->table) < 0)
		goto out;
	if (spec->comment && (err = table_comment(t, spec->comment)) < 0)
		goto out;
	err = -EMSGSIZE;
	/* NLM_F_ECHO: the kernel tells us the new table's handle. */
	nlh = batch_msg(bt, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO,
			"create the table", IPR_STEP_TABLE);
	if (!nlh)
		goto out;
	nftnl_table_nlmsg_build_payload(nlh, t);
	err = batch_next(bt);
out:
	nftnl_table_free(t);
	return err;
}

static int put_chain(struct ipr_batch *bt, const struct ipr_rules_spec *spec,
		     const struct ipr_hook *hk)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;
	int err = -ENOMEM;

	if (!c)
		return -ENOMEM;
	if (nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, spec->table) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, hk->chain) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter") < 0)
		goto out;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hk->hooknum);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, -spec->priority);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	err = -EMSGSIZE;
	nlh = batch_msg(bt, NFT_MSG_NEWCHAIN, NLM_F_CREATE, hk->chain_step, IPR_STEP_CHAIN);
	if (!nlh)
		goto out;
	nftnl_chain_nlmsg_build_payload(nlh, c);
	err = batch_next(bt);
out:
	nftnl_chain_free(c);
	return err;
}

/* [interface conditions] [bpf] counter queue */
static int build_rule(struct nftnl_rule *rl, const struct ipr_rules_spec *spec,
		      const struct ipr_conds *cs, enum ipr_queue_kind kind)
{
	unsigned int i;
	int err = 0;

	for (i = 0; i < cs->n && !err; i++)
		err = add_ifname(rl, &cs->c[i]);
	if (!err && spec->bpf)
		err = add_bpf(rl, spec->bpf, spec->bpf_len);
	if (!err)
		err = add_counter(rl);
	if (!err)
		err = kind == IPR_QUEUE_NATIVE ? add_queue_native(rl, spec->queue) :
						 add_queue_compat(rl, spec->queue);
	return err;
}

static int put_rule(struct ipr_batch *bt, const struct ipr_rules_spec *spec,
		    const struct ipr_hook *hk, const struct ipr_conds *cs,
		    enum ipr_queue_kind kind)
{
	struct nftnl_rule *rl = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	int err = -ENOMEM;

	if (!rl)
		return -ENOMEM;
	nftnl_rule_set_u32(rl, NFTNL_RULE_FAMILY, NFPROTO_INET);
	if (nftnl_rule_set_str(rl, NFTNL_RULE_TABLE, spec->table) < 0 ||
	    nftnl_rule_set_str(rl, NFTNL_RULE_CHAIN, hk->chain) < 0)
		goto out;
	err = build_rule(rl, spec, cs, kind);
	if (err)
		goto out;
	err = -EMSGSIZE;
	nlh = batch_msg(bt, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, hk->rule_step,
			IPR_STEP_RULE);
	if (!nlh)
		goto out;
	nftnl_rule_nlmsg_build_payload(nlh, rl);
	err = batch_next(bt);
out:
	nftnl_rule_free(rl);
	return err;
}

static void conds_add(struct ipr_conds *cs, uint32_t key, const char *name)
{
	if (name)
		cs->c[cs->n++] = (struct ipr_ifcond){ key, name };
}

/* The queue rules of one chain: two in forward when spec->interface is set. */
static int put_chain_rules(struct ipr_batch *bt, const struct ipr_rules_spec *spec,
			   const struct ipr_hook *hk, enum ipr_queue_kind kind)
{
	int has_in = hk->layer != IPR_LAYER_OUT, has_out = hk->layer != IPR_LAYER_IN;
	struct ipr_conds base = { .n = 0 }, cs;
	int err = 0;

	if (has_in)
		conds_add(&base, NFT_META_IIFNAME, spec->in_interface);
	if (has_out)
		conds_add(&base, NFT_META_OIFNAME, spec->out_interface);
	if (!spec->interface)
		return put_rule(bt, spec, hk, &base, kind);
	if (has_in) {
		cs = base;
		conds_add(&cs, NFT_META_IIFNAME, spec->interface);
		err = put_rule(bt, spec, hk, &cs, kind);
	}
	if (has_out && !err) {
		cs = base;
		conds_add(&cs, NFT_META_OIFNAME, spec->interface);
		err = put_rule(bt, spec, hk, &cs, kind);
	}
	return err;
}

/* Build and send the whole table in one batch; see batch_send() for returns. */
static int install_batch(struct ipr_rules *r, const struct ipr_rules_spec *spec,
			 enum ipr_queue_kind kind, struct ipr_refusal *ref)
{
	struct ipr_batch *bt = batch_new(r->seq);
	unsigned int i;
	int err;

	if (!bt)
		return -ENOMEM;
	err = put_table(bt, spec);
	for (i = 0; i < sizeof(ipr_hooks) / sizeof(ipr_hooks[0]) && !err; i++) {
		if (!(spec->layers & ipr_hooks[i].layer))
			continue;
		err = put_chain(bt, spec, &ipr_hooks[i]);
		if (!err)
			err = put_chain_rules(bt, spec, &ipr_hooks[i], kind);
	}
	if (!err)
		err = batch_send(r, bt, ref);
	batch_free(bt);
	return err;
}

/* ---- install ---- */

static int check_ifname(const char *what, const char *name)
{
	if (!name)
		return 0;
	if (!name[0] || strlen(name) >= IFNAMSIZ)
		return ipr_fail(-EINVAL, "%s '%s' is not a valid interface name (1-%d characters)",
				what, name, IFNAMSIZ - 1);
	return 0;
}

static int check_spec(const struct ipr_rules_spec *spec)
{
	int err;

	if (!spec->table || !spec->table[0] || strlen(spec->table) >= NFT_TABLE_MAXNAMELEN)
		return ipr_fail(-EINVAL, "table name must have 1-%d characters",
				NFT_TABLE_MAXNAMELEN - 1);
	if (spec->comment && strlen(spec->comment) >= NFTNL_UDATA_COMMENT_MAXLEN)
		return ipr_fail(-EINVAL, "table comment longer than %d characters",
				NFTNL_UDATA_COMMENT_MAXLEN - 1);
	if (!spec->layers || (spec->layers & ~IPR_LAYERS_ALL))
		return ipr_fail(-EINVAL, "layer mask 0x%x: use IPR_LAYER_IN, _OUT and _FORWARD",
				spec->layers);
	if (spec->priority < -IPR_PRIORITY_MAX || spec->priority > IPR_PRIORITY_MAX)
		return ipr_fail(-EINVAL, "priority %d outside -%d..%d", spec->priority,
				IPR_PRIORITY_MAX, IPR_PRIORITY_MAX);
	if (spec->queue > UINT16_MAX)
		return ipr_fail(-EINVAL, "queue number %u outside 0..%u", spec->queue,
				UINT16_MAX);
	if (spec->bpf && (!spec->bpf_len || spec->bpf_len > XT_BPF_MAX_NUM_INSTR))
		return ipr_fail(-EINVAL, "kernel filter of %u instructions: "
				"the bpf match takes 1-%d", spec->bpf_len, XT_BPF_MAX_NUM_INSTR);
	if (spec->queue_kind != IPR_QUEUE_AUTO && spec->queue_kind != IPR_QUEUE_NATIVE &&
	    spec->queue_kind != IPR_QUEUE_COMPAT)
		return ipr_fail(-EINVAL, "unknown queue kind %d", (int)spec->queue_kind);
	err = check_ifname("interface", spec->interface);
	if (!err)
		err = check_ifname("input interface", spec->in_interface);
	if (!err)
		err = check_ifname("output interface", spec->out_interface);
	return err;
}

/* The kernel lacks an expression the rule needs (a module not built). */
static int refusal_is_missing_expr(const struct ipr_refusal *ref)
{
	return ref->step.what && ref->step.kind == IPR_STEP_RULE &&
	       (ref->err == -ENOENT || ref->err == -EOPNOTSUPP);
}

static int refusal_fail(const struct ipr_rules_spec *spec, enum ipr_queue_kind kind,
			const struct ipr_refusal *ref)
{
	int err = ref->err;

	if (!ref->step.what && err == -EPERM)
		return ipr_fail(err, "permission denied: nf_tables needs CAP_NET_ADMIN");
	if (!ref->step.what)
		return ipr_fail(err, "nf_tables refused the batch: %s", strerror(-err));
	if (refusal_is_missing_expr(ref) && kind == IPR_QUEUE_NATIVE)
		return ipr_fail(err, "native nft queue expression not available in this kernel "
				"(CONFIG_NFT_QUEUE)");
	if (refusal_is_missing_expr(ref))
		return ipr_fail(err, "xt NFQUEUE target (rev 3)%s not available through "
				"nft_compat in this kernel",
				spec->bpf ? " or bpf match (rev 1)" : "");
	if (ref->step.kind == IPR_STEP_TABLE) {
		/* Before 5.12 unknown table flags gave EINVAL, since then EOPNOTSUPP. */
		if (err == -EOPNOTSUPP || err == -EINVAL)
			return ipr_fail(err,
					"kernel too old: nf_tables owner flag needs Linux 5.12");
		if (err == -EEXIST)
			return ipr_fail(err, "table inet %s already exists: pick another name",
					spec->table);
		if (err == -EPERM)
			return ipr_fail(err, "table inet %s exists and belongs to another process",
					spec->table);
	}
	return ipr_fail(err, "nf_tables refused to %s: %s", ref->step.what, strerror(-err));
}

static int install(struct ipr_rules *r, const struct ipr_rules_spec *spec)
{
	enum ipr_queue_kind kind = spec->queue_kind == IPR_QUEUE_COMPAT ? IPR_QUEUE_COMPAT :
									  IPR_QUEUE_NATIVE;
	struct ipr_refusal ref = { 0 };
	int err;

	err = install_batch(r, spec, kind, &ref);
	if (!err && spec->queue_kind == IPR_QUEUE_AUTO && refusal_is_missing_expr(&ref)) {
		ipr_log(IPR_LOG_DEBUG, "no native nft queue expression (%s), "
			"using the xt NFQUEUE target", strerror(-ref.err));
		kind = IPR_QUEUE_COMPAT;
		memset(&ref, 0, sizeof(ref));
		err = install_batch(r, spec, kind, &ref);
	}
	if (err)
		return ipr_fail(err, "cannot send the nf_tables batch for table inet %s: %s",
				spec->table, strerror(-err));
	if (ref.err)
		return refusal_fail(spec, kind, &ref);
	r->kind = kind;
	return 0;
}

static int rules_open(struct ipr_rules *r)
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

int ipr_rules_install(const struct ipr_rules_spec *spec, struct ipr_rules **out)
{
	struct ipr_rules *r = NULL;
	int err;

	*out = NULL;
	err = check_spec(spec);
	if (err)
		goto out;
	r = calloc(1, sizeof(*r));
	if (!r) {
		err = ipr_fail(-ENOMEM, "out of memory for the rules of table inet %s",
			       spec->table);
		goto out;
	}
	strcpy(r->table, spec->table);
	err = rules_open(r);
	if (!err)
		err = install(r, spec);
	if (err)
		goto out;
	ipr_log(IPR_LOG_DEBUG, "table inet %s installed: layers 0x%x, chain priority %d, "
		"queue %u, %s queue%s", r->table, spec->layers, -spec->priority, spec->queue,
		r->kind == IPR_QUEUE_NATIVE ? "native" : "compat",
		spec->bpf ? ", bpf match" : "");
	*out = r;
	r = NULL;
out:
	if (r) {
		if (r->nl)
			mnl_socket_close(r->nl);
		free(r);
	}
	return err;
}

enum ipr_queue_kind ipr_rules_queue_kind(const struct ipr_rules *r)
{
	return r->kind;
}

/* ---- counters ---- */

struct ipr_count {
	uint64_t packets;
	unsigned int rules;
};

static int count_rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ipr_count *cnt = data;
	struct nftnl_rule *rl = nftnl_rule_alloc();
	struct nftnl_expr_iter *it = NULL;
	struct nftnl_expr *e;
	int ret = MNL_CB_ERROR;

	if (!rl)
		return MNL_CB_ERROR;
	if (nftnl_rule_nlmsg_parse(nlh, rl) < 0)
		goto out;
	it = nftnl_expr_iter_create(rl);
	if (!it)
		goto out;
	while ((e = nftnl_expr_iter_next(it)) != NULL) {
		if (strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter") == 0)
			cnt->packets += nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
	}
	cnt->rules++;
	ret = MNL_CB_OK;
out:
	if (it)
		nftnl_expr_iter_destroy(it);
	nftnl_rule_free(rl);
	return ret;
}

/* Ask for the rules of our table only. */
static int send_rule_dump(struct ipr_rules *r, uint32_t seq)
{
	struct nftnl_rule *rl = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	int err = -ENOMEM;

	if (!rl)
		return -ENOMEM;
	if (nftnl_rule_set_str(rl, NFTNL_RULE_TABLE, r->table) < 0)
		goto out;
	nlh = nftnl_nlmsg_build_hdr(r->rx, NFT_MSG_GETRULE, NFPROTO_INET, NLM_F_DUMP, seq);
	nftnl_rule_nlmsg_build_payload(nlh, rl);
	err = mnl_socket_sendto(r->nl, nlh, nlh->nlmsg_len) < 0 ? -errno : 0;
out:
	nftnl_rule_free(rl);
	return err;
}

int ipr_rules_matched(struct ipr_rules *r, uint64_t *packets)
{
	struct ipr_count cnt = { 0, 0 };
	uint32_t seq = r->seq++;
	int ret = MNL_CB_OK;
	int len, err;

	err = send_rule_dump(r, seq);
	if (err)
		goto out;
	do {
		len = mnl_socket_recvfrom(r->nl, r->rx, sizeof(r->rx));
		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0) {
			err = -errno;
			goto out;
		}
		ret = mnl_cb_run(r->rx, len, seq, r->portid, count_rule_cb, &cnt);
	} while (ret > MNL_CB_STOP);
	err = ret < 0 ? -errno : 0;
	if (!err && !cnt.rules)
		err = -ENOENT;
out:
	if (err == -ENOENT)
		return ipr_fail(err, "table inet %s is gone: someone deleted it", r->table);
	if (err)
		return ipr_fail(err, "cannot read the counters of table inet %s: %s", r->table,
				strerror(-err));
	*packets = cnt.packets;
	return 0;
}

/* ---- removal ---- */

static int put_table_delete(struct ipr_batch *bt, const struct ipr_rules *r)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	int err = -ENOMEM;

	if (!t)
		return -ENOMEM;
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	/* By handle when known: a same-named table made later is not ours. */
	if (r->handle)
		nftnl_table_set_u64(t, NFTNL_TABLE_HANDLE, r->handle);
	else if (nftnl_table_set_str(t, NFTNL_TABLE_NAME, r->table) < 0)
		goto out;
	err = -EMSGSIZE;
	nlh = batch_msg(bt, NFT_MSG_DELTABLE, 0, "delete the table", IPR_STEP_TABLE);
	if (!nlh)
		goto out;
	nftnl_table_nlmsg_build_payload(nlh, t);
	err = batch_next(bt);
out:
	nftnl_table_free(t);
	return err;
}

static void delete_table(struct ipr_rules *r)
{
	struct ipr_batch *bt = batch_new(r->seq);
	struct ipr_refusal ref = { 0 };
	int err = -ENOMEM;

	if (bt)
		err = put_table_delete(bt, r);
	if (!err)
		err = batch_send(r, bt, &ref);
	if (!err)
		err = ref.err;
	batch_free(bt);
	if (err == -ENOENT)
		ipr_log(IPR_LOG_DEBUG, "table inet %s was already gone", r->table);
	else if (err)
		ipr_log(IPR_LOG_WARN, "cannot delete table inet %s (%s): closing its socket "
			"removes it", r->table, strerror(-err));
	else
		ipr_log(IPR_LOG_DEBUG, "table inet %s deleted", r->table);
}

void ipr_rules_remove(struct ipr_rules *r)
{
	if (!r)
		return;
	delete_table(r);
	mnl_socket_close(r->nl);
	free(r);
}
