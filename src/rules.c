/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rules.c - the handle's own nf_tables table.
 *
 * One table (family inet, NFT_TABLE_F_OWNER) with a base chain per layer; each
 * chain sends the packets that pass its interface, cgroup and BPF conditions to
 * the NFQUEUE (native queue expression or xt NFQUEUE target), or copies them to
 * an NFLOG group for a monitor. Ahead of the queue rule, rules accept what must
 * not be taken: packets with the inject mark, packets from the handles' tun
 * devices, and flows whose conntrack mark says they were offloaded. A second
 * base chain per layer, right after the first, moves the offload bits a verdict
 * put in the packet mark into the conntrack mark (the queue verdict cannot set
 * the conntrack mark without CONFIG_NETFILTER_NETLINK_GLUE_CT). Several queues:
 * a symmetric hash picks the queue, through the native queue expression's
 * register or, for the xt target, a verdict map that jumps to one chain per
 * queue. Everything is created in one nfnetlink batch, so the kernel installs
 * all of it or nothing. The netlink socket that created the table owns it: when
 * the socket closes (also on SIGKILL) the kernel deletes the table.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
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
#include <linux/netfilter_ipv4.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "internal.h"

#define IPR_BATCH_LIMIT (64 * 1024) /* bytes of one batch; its buffer holds twice that */
/* Messages of one batch, BEGIN and END not counted: the table, the spread map and
 * its elements, a chain and a rule per queue, at most 8 per layer. */
#define IPR_BATCH_MSGS (3 + 2 * IPR_QUEUES_MAX + 3 * 8)
#define IPR_NL_RECV 16384     /* receive buffer: acks and rule dumps */
#define IPR_NFT_TYPE(msg) ((NFNL_SUBSYS_NFTABLES << 8) | (msg))
#define IPR_SPREAD_MAP "spread"   /* verdict map: queue number -> chain queue<N> */
#define IPR_TYPE_MARK 19          /* nft's datatype of the map key (TYPE_MARK), for display */
#define IPR_BYTEORDER_HOST 1      /* nft's BYTEORDER_HOST_ENDIAN, for display */
#define IPR_SOCKET_LEVEL_MAX 255  /* deepest cgroup level nft_socket accepts */

struct ipr_rules {
	struct mnl_socket *nl;  /* owns the table: closing it deletes the table */
	uint32_t portid;
	uint32_t seq;
	uint64_t handle;        /* table handle echoed by the kernel, 0 = unknown */
	enum ipr_queue_kind kind;
	unsigned int layers;    /* the layer chains that hold queue rules */
	char table[NFT_TABLE_MAXNAMELEN];
	char rx[IPR_NL_RECV];
};

enum ipr_step_kind {
	IPR_STEP_TABLE,
	IPR_STEP_CHAIN,
	IPR_STEP_RULE,
	IPR_STEP_SET,
};

/* Kernel pieces beyond the nf_tables core that a message relies on (bit mask). */
enum ipr_need {
	IPR_NEED_QUEUE = 1u << 0,      /* native queue expression */
	IPR_NEED_XT_NFQUEUE = 1u << 1, /* xt NFQUEUE target rev 3 */
	IPR_NEED_XT_BPF = 1u << 2,     /* xt bpf match rev 1 */
	IPR_NEED_CT = 1u << 3,
	IPR_NEED_SOCKET = 1u << 4,
	IPR_NEED_HASH = 1u << 5,
	IPR_NEED_LOG = 1u << 6,
};

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

/* What one message of a batch does, to name the step the kernel refused. */
struct ipr_step {
	const char *what;      /* "add the queue rule to chain", "create the table" */
	char chain[16];        /* the chain it adds or adds to; "" = none */
	enum ipr_step_kind kind;
	unsigned int needs;    /* enum ipr_need */
};

struct ipr_batch {
	struct mnl_nlmsg_batch *b;
	struct nlmsghdr *last; /* newest message: the only one that asks for an ack */
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
	const char *post;     /* the chain after it: offload bits to the conntrack mark */
};

static const struct ipr_hook ipr_hooks[] = {
	{ IPR_LAYER_IN, NF_INET_LOCAL_IN, "in", "in_post" },
	{ IPR_LAYER_OUT, NF_INET_LOCAL_OUT, "out", "out_post" },
	{ IPR_LAYER_FORWARD, NF_INET_FORWARD, "forward", "forward_post" },
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

/* What a queue rule needs besides the spec: its interface conditions, the queue kind. */
struct ipr_queue_rule {
	const struct ipr_rules_spec *spec;
	const struct ipr_conds *cs;
	enum ipr_queue_kind kind;
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

/* Attributes of a key expression that loads into or stores from a register. */
struct ipr_key_attrs {
	const char *expr;
	uint16_t key;
	uint16_t dreg;
	uint16_t sreg;
};

static const struct ipr_key_attrs ipr_meta = {
	"meta", NFTNL_EXPR_META_KEY, NFTNL_EXPR_META_DREG, NFTNL_EXPR_META_SREG
};

static const struct ipr_key_attrs ipr_ct = {
	"ct", NFTNL_EXPR_CT_KEY, NFTNL_EXPR_CT_DREG, NFTNL_EXPR_CT_SREG
};

/* Adds the expressions of one rule; arg belongs to the builder. */
typedef int (*ipr_build_fn)(struct nftnl_rule *rl, const void *arg);

/* Queues the spec spreads over: 0 and 1 both mean one. */
static unsigned int spec_queues(const struct ipr_rules_spec *spec)
{
	return spec->queues > 1 ? spec->queues : 1;
}

/* The rules spread flows over several queues (a monitor has none). */
static int spec_spreads(const struct ipr_rules_spec *spec)
{
	return !spec->monitor && spec_queues(spec) > 1;
}

/* Offloaded flows skip the queue rules (a monitor holds nothing to offload). */
static int spec_bypasses(const struct ipr_rules_spec *spec)
{
	return !spec->monitor && spec->bypass_mask;
}

/* A step record; chain NULL for messages that name none. */
static struct ipr_step step_of(const char *what, const char *chain, enum ipr_step_kind kind,
			       unsigned int needs)
{
	struct ipr_step s = { .what = what, .kind = kind, .needs = needs };

	if (chain)
		snprintf(s.chain, sizeof(s.chain), "%s", chain);
	return s;
}

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

/*
 * Close bt with BATCH_END, send it and collect the answers. Returns 0 when the
 * kernel answered (ref->err tells whether it refused) or -errno for a local or
 * socket failure.
 */
static int batch_send(struct ipr_rules *r, struct ipr_batch *bt, struct ipr_refusal *ref)
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

/* ---- expressions: each loads into or compares register 1 ---- */

/* Append a new expression to rl, which owns it; NULL when out of memory. */
static struct nftnl_expr *rule_expr(struct nftnl_rule *rl, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (e)
		nftnl_rule_add_expr(rl, e);
	return e;
}

/* Register 1 = KEY (reg_attr a->dreg) or KEY = register 1 (reg_attr a->sreg). */
static int add_key(struct nftnl_rule *rl, const struct ipr_key_attrs *a, uint32_t key,
		   uint16_t reg_attr)
{
	struct nftnl_expr *e = rule_expr(rl, a->expr);

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, a->key, key);
	nftnl_expr_set_u32(e, reg_attr, NFT_REG_1);
	return 0;
}

static int add_load(struct nftnl_rule *rl, const struct ipr_key_attrs *a, uint32_t key)
{
	return add_key(rl, a, key, a->dreg);
}

static int add_store(struct nftnl_rule *rl, const struct ipr_key_attrs *a, uint32_t key)
{
	return add_key(rl, a, key, a->sreg);
}

/* Register 1 = (register 1 & mask) ^ xor, 32 bits. */
static int add_bitwise(struct nftnl_rule *rl, uint32_t mask, uint32_t xor)
{
	struct nftnl_expr *e = rule_expr(rl, "bitwise");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, sizeof(uint32_t));
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, sizeof(mask));
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &xor, sizeof(xor));
	return 0;
}

/* The first len bytes of register 1 == data; the rule stops here otherwise. */
static int add_cmp(struct nftnl_rule *rl, const void *data, uint32_t len)
{
	struct nftnl_expr *e = rule_expr(rl, "cmp");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, NFT_CMP_EQ);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	return 0;
}

/* An immediate verdict: NF_ACCEPT, NF_DROP. */
static int add_verdict(struct nftnl_rule *rl, int verdict)
{
	struct nftnl_expr *e = rule_expr(rl, "immediate");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	return 0;
}

/* KEY & mask == value, e.g. meta mark & 0x10000000 == 0x10000000. */
static int add_masked_eq(struct nftnl_rule *rl, const struct ipr_key_attrs *a, uint32_t key,
			 uint32_t mask, uint32_t value)
{
	int err = add_load(rl, a, key);

	if (!err)
		err = add_bitwise(rl, mask, 0);
	return err ? err : add_cmp(rl, &value, sizeof(value));
}

/* KEY set (KEY & ~mask) | value; value lies within mask. */
static int add_masked_set(struct nftnl_rule *rl, const struct ipr_key_attrs *a, uint32_t key,
			  uint32_t mask, uint32_t value)
{
	int err = add_load(rl, a, key);

	if (!err)
		err = add_bitwise(rl, ~mask, value);
	return err ? err : add_store(rl, a, key);
}

/*
 * meta key == name. len IFNAMSIZ: the whole NUL-padded name, an exact match;
 * len strlen(name): its bytes only, a prefix match like nft's "name*".
 */
static int add_ifname_cmp(struct nftnl_rule *rl, uint32_t key, const char *name, uint32_t len)
{
	char padded[IFNAMSIZ] = { 0 };
	int err = add_load(rl, &ipr_meta, key);

	memcpy(padded, name, strlen(name));
	return err ? err : add_cmp(rl, padded, len);
}

static int add_ifname(struct nftnl_rule *rl, const struct ipr_ifcond *c)
{
	return add_ifname_cmp(rl, c->key, c->name, IFNAMSIZ);
}

static int add_iifname_prefix(struct nftnl_rule *rl, const char *prefix)
{
	return add_ifname_cmp(rl, NFT_META_IIFNAME, prefix, (uint32_t)strlen(prefix));
}

/* socket cgroupv2 level L == id: the packet's local socket lies in that cgroup. */
static int add_cgroup(struct nftnl_rule *rl, uint64_t id, unsigned int level)
{
	struct nftnl_expr *e = rule_expr(rl, "socket");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_KEY, NFT_SOCKET_CGROUPV2);
	nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_LEVEL, level);
	return add_cmp(rl, &id, sizeof(id));
}

/* Register 1 = symhash mod n + offset: one value for both directions of a flow. */
static int add_symhash(struct nftnl_rule *rl, uint32_t n, uint32_t offset)
{
	struct nftnl_expr *e = rule_expr(rl, "hash");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_TYPE, NFT_HASH_SYM);
	nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_MODULUS, n);
	nftnl_expr_set_u32(e, NFTNL_EXPR_HASH_OFFSET, offset);
	return 0;
}

/* The verdict stored in map name under the key in register 1. */
static int add_vmap(struct nftnl_rule *rl, const char *name)
{
	struct nftnl_expr *e = rule_expr(rl, "lookup");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, name);
	return 0;
}

static int add_counter(struct nftnl_rule *rl)
{
	return rule_expr(rl, "counter") ? 0 : -ENOMEM;
}

/* Copy to NFLOG group; snaplen 0 = the group's own copy range. */
static int add_log(struct nftnl_rule *rl, uint16_t group, uint32_t snaplen, uint16_t threshold)
{
	struct nftnl_expr *e = rule_expr(rl, "log");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_GROUP, group);
	/* The kernel copies at most snaplen bytes once the attribute is there, even 0. */
	if (snaplen)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOG_SNAPLEN, snaplen);
	if (threshold)
		nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_QTHRESHOLD, threshold);
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

/* Native queue to num, or (from_reg) to the queue number in register 1. */
static int add_queue_native(struct nftnl_rule *rl, uint16_t num, int from_reg)
{
	struct nftnl_expr *e = rule_expr(rl, "queue");

	if (!e)
		return -ENOMEM;
	if (from_reg) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_QUEUE_SREG_QNUM, NFT_REG_1);
	} else {
		nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_NUM, num);
		nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_TOTAL, 1);
	}
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

/* ---- the rules ---- */

/* meta mark & inject_mask == inject_mark accept */
static int build_inject_skip(struct nftnl_rule *rl, const void *arg)
{
	const struct ipr_rules_spec *spec = arg;
	int err = add_masked_eq(rl, &ipr_meta, NFT_META_MARK, spec->inject_mask,
				spec->inject_mark);

	return err ? err : add_verdict(rl, NF_ACCEPT);
}

/* iifname "prefix*" accept */
static int build_prefix_skip(struct nftnl_rule *rl, const void *arg)
{
	const struct ipr_rules_spec *spec = arg;
	int err = add_iifname_prefix(rl, spec->skip_iifname_prefix);

	return err ? err : add_verdict(rl, NF_ACCEPT);
}

/* ct mark & bypass_mask == bypass_mark accept */
static int build_bypass_skip(struct nftnl_rule *rl, const void *arg)
{
	const struct ipr_rules_spec *spec = arg;
	int err = add_masked_eq(rl, &ipr_ct, NFT_CT_MARK, spec->bypass_mask, spec->bypass_mark);

	return err ? err : add_verdict(rl, NF_ACCEPT);
}

/*
 * meta mark & bypass_mask == bypass_mark
 *     ct mark set ct mark & ~bypass_mask | bypass_mark
 *     meta mark set meta mark & ~bypass_mask
 */
static int build_bypass_post(struct nftnl_rule *rl, const void *arg)
{
	const struct ipr_rules_spec *spec = arg;
	int err = add_masked_eq(rl, &ipr_meta, NFT_META_MARK, spec->bypass_mask,
				spec->bypass_mark);

	if (!err)
		err = add_masked_set(rl, &ipr_ct, NFT_CT_MARK, spec->bypass_mask,
				     spec->bypass_mark);
	return err ? err : add_masked_set(rl, &ipr_meta, NFT_META_MARK, spec->bypass_mask, 0);
}

/* What follows the queue rule's counter: log, queue, or hash and queue/vmap. */
static int add_queue_action(struct nftnl_rule *rl, const struct ipr_rules_spec *spec,
			    enum ipr_queue_kind kind)
{
	int err;

	if (spec->monitor)
		return add_log(rl, spec->log_group, spec->log_snaplen, spec->log_threshold);
	if (!spec_spreads(spec))
		return kind == IPR_QUEUE_NATIVE ? add_queue_native(rl, (uint16_t)spec->queue, 0) :
						  add_queue_compat(rl, (uint16_t)spec->queue);
	err = add_symhash(rl, spec_queues(spec), spec->queue);
	if (err)
		return err;
	return kind == IPR_QUEUE_NATIVE ? add_queue_native(rl, 0, 1) :
					  add_vmap(rl, IPR_SPREAD_MAP);
}

/* [interface conditions] [cgroup] [bpf] counter action */
static int build_queue_rule(struct nftnl_rule *rl, const void *arg)
{
	const struct ipr_queue_rule *q = arg;
	const struct ipr_rules_spec *spec = q->spec;
	unsigned int i;
	int err = 0;

	for (i = 0; i < q->cs->n && !err; i++)
		err = add_ifname(rl, &q->cs->c[i]);
	if (!err && spec->cgroup_id)
		err = add_cgroup(rl, spec->cgroup_id, spec->cgroup_level);
	if (!err && spec->bpf)
		err = add_bpf(rl, spec->bpf, spec->bpf_len);
	if (!err)
		err = add_counter(rl);
	return err ? err : add_queue_action(rl, spec, q->kind);
}

/* The one rule of chain queue<N>: NFQUEUE num N (xt target). */
static int build_queue_target(struct nftnl_rule *rl, const void *arg)
{
	return add_queue_compat(rl, *(const uint16_t *)arg);
}

/* Kernel pieces the queue rule uses. */
static unsigned int queue_rule_needs(const struct ipr_rules_spec *spec, enum ipr_queue_kind kind)
{
	unsigned int needs = 0;

	if (spec->bpf)
		needs |= IPR_NEED_XT_BPF;
	if (spec->cgroup_id)
		needs |= IPR_NEED_SOCKET;
	if (spec->monitor)
		return needs | IPR_NEED_LOG;
	if (spec_spreads(spec))
		needs |= IPR_NEED_HASH;
	if (kind == IPR_QUEUE_NATIVE)
		return needs | IPR_NEED_QUEUE;
	return spec_spreads(spec) ? needs : needs | IPR_NEED_XT_NFQUEUE;
}

/* ---- table, chains, maps, rules ---- */

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
	const struct ipr_step step = step_of("create the table", NULL, IPR_STEP_TABLE, 0);
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
	nlh = batch_msg(bt, NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO, &step);
	if (!nlh)
		goto out;
	nftnl_table_nlmsg_build_payload(nlh, t);
	err = batch_next(bt);
out:
	nftnl_table_free(t);
	return err;
}

/* Chain name; a base chain on hk's hook at priority prio, or a regular one (hk NULL). */
static int put_chain(struct ipr_batch *bt, const char *table, const char *name,
		     const struct ipr_hook *hk, int prio)
{
	const struct ipr_step step = step_of("create chain", name, IPR_STEP_CHAIN, 0);
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;
	int err = -ENOMEM;

	if (!c)
		return -ENOMEM;
	if (nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name) < 0)
		goto out;
	if (hk) {
		if (nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter") < 0)
			goto out;
		nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hk->hooknum);
		nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
		nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	}
	err = -EMSGSIZE;
	nlh = batch_msg(bt, NFT_MSG_NEWCHAIN, NLM_F_CREATE, &step);
	if (!nlh)
		goto out;
	nftnl_chain_nlmsg_build_payload(nlh, c);
	err = batch_next(bt);
out:
	nftnl_chain_free(c);
	return err;
}

/* Append the rule that build(rl, arg) makes to chain step->chain. */
static int put_rule(struct ipr_batch *bt, const char *table, const struct ipr_step *step,
		    ipr_build_fn build, const void *arg)
{
	struct nftnl_rule *rl = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	int err = -ENOMEM;

	if (!rl)
		return -ENOMEM;
	nftnl_rule_set_u32(rl, NFTNL_RULE_FAMILY, NFPROTO_INET);
	if (nftnl_rule_set_str(rl, NFTNL_RULE_TABLE, table) < 0 ||
	    nftnl_rule_set_str(rl, NFTNL_RULE_CHAIN, step->chain) < 0)
		goto out;
	err = build(rl, arg);
	if (err)
		goto out;
	err = -EMSGSIZE;
	nlh = batch_msg(bt, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, step);
	if (!nlh)
		goto out;
	nftnl_rule_nlmsg_build_payload(nlh, rl);
	err = batch_next(bt);
out:
	nftnl_rule_free(rl);
	return err;
}

/* ---- several queues: map IPR_SPREAD_MAP, queue number -> goto chain queue<N> ---- */

static void queue_chain_name(char *buf, size_t size, unsigned int num)
{
	snprintf(buf, size, "queue%u", num);
}

/* Chain queue<num> holding the one rule: NFQUEUE num <num>. */
static int put_queue_chain(struct ipr_batch *bt, const struct ipr_rules_spec *spec,
			   unsigned int num)
{
	struct ipr_step step;
	uint16_t qnum = (uint16_t)num;
	char name[16];
	int err;

	queue_chain_name(name, sizeof(name), num);
	err = put_chain(bt, spec->table, name, NULL, 0);
	if (err)
		return err;
	step = step_of("add the queue rule to chain", name, IPR_STEP_RULE, IPR_NEED_XT_NFQUEUE);
	return put_rule(bt, spec->table, &step, build_queue_target, &qnum);
}

static struct nftnl_set *spread_set(const struct ipr_rules_spec *spec)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		return NULL;
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	if (nftnl_set_set_str(s, NFTNL_SET_TABLE, spec->table) < 0 ||
	    nftnl_set_set_str(s, NFTNL_SET_NAME, IPR_SPREAD_MAP) < 0) {
		nftnl_set_free(s);
		return NULL;
	}
	return s;
}

/* Tell nft the map's keys are host-order numbers, so it lists them as such. */
static int spread_key_order(struct nftnl_set *s)
{
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	int err = -ENOMEM;

	if (!ud)
		return -ENOMEM;
	if (nftnl_udata_put_u32(ud, NFTNL_UDATA_SET_KEYBYTEORDER, IPR_BYTEORDER_HOST) &&
	    nftnl_set_set_data(s, NFTNL_SET_USERDATA, nftnl_udata_buf_data(ud),
			       nftnl_udata_buf_len(ud)) == 0)
		err = 0;
	nftnl_udata_buf_free(ud);
	return err;
}

static int put_spread_map(struct ipr_batch *bt, const struct ipr_rules_spec *spec)
{
	const struct ipr_step step = step_of("create map " IPR_SPREAD_MAP, NULL, IPR_STEP_SET, 0);
	struct nftnl_set *s = spread_set(spec);
	struct nlmsghdr *nlh;
	int err;

	if (!s)
		return -ENOMEM;
	err = spread_key_order(s);
	if (err)
		goto out;
	err = -EMSGSIZE;
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_MAP | NFT_SET_CONSTANT);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, IPR_TYPE_MARK);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, sizeof(uint32_t));
	nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
	nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, spec_queues(spec));
	nftnl_set_set_u32(s, NFTNL_SET_ID, 1); /* the kernel wants one; we refer by name */
	nlh = batch_msg(bt, NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL, &step);
	if (!nlh)
		goto out;
	nftnl_set_nlmsg_build_payload(nlh, s);
	err = batch_next(bt);
out:
	nftnl_set_free(s);
	return err;
}

/* Element num : goto queue<num>; s owns it. */
static int add_spread_elem(struct nftnl_set *s, unsigned int num)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	uint32_t key = num;
	char name[16];

	if (!e)
		return -ENOMEM;
	queue_chain_name(name, sizeof(name), num);
	nftnl_set_elem_add(s, e);
	if (nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, &key, sizeof(key)) < 0 ||
	    nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, name) < 0)
		return -ENOMEM;
	nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, (uint32_t)NFT_GOTO);
	return 0;
}

static int put_spread_elems(struct ipr_batch *bt, const struct ipr_rules_spec *spec)
{
	const struct ipr_step step = step_of("fill map " IPR_SPREAD_MAP, NULL, IPR_STEP_SET, 0);
	struct nftnl_set *s = spread_set(spec);
	struct nlmsghdr *nlh;
	unsigned int i;
	int err = 0;

	if (!s)
		return -ENOMEM;
	for (i = 0; i < spec_queues(spec) && !err; i++)
		err = add_spread_elem(s, spec->queue + i);
	if (err)
		goto out;
	err = -EMSGSIZE;
	nlh = batch_msg(bt, NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL, &step);
	if (!nlh)
		goto out;
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	err = batch_next(bt);
out:
	nftnl_set_free(s);
	return err;
}

/* The xt target takes no queue number from a register: one chain per queue instead. */
static int put_spread(struct ipr_batch *bt, const struct ipr_rules_spec *spec)
{
	unsigned int i;
	int err = 0;

	for (i = 0; i < spec_queues(spec) && !err; i++)
		err = put_queue_chain(bt, spec, spec->queue + i);
	if (!err)
		err = put_spread_map(bt, spec);
	return err ? err : put_spread_elems(bt, spec);
}

/* ---- the chains of one layer ---- */

static void conds_add(struct ipr_conds *cs, uint32_t key, const char *name)
{
	if (name)
		cs->c[cs->n++] = (struct ipr_ifcond){ key, name };
}

static int put_queue_rule(struct ipr_batch *bt, const struct ipr_rules_spec *spec,
			  const struct ipr_hook *hk, const struct ipr_conds *cs,
			  enum ipr_queue_kind kind)
{
	const struct ipr_queue_rule q = { spec, cs, kind };
	const struct ipr_step step = step_of(spec->monitor ? "add the log rule to chain" :
							     "add the queue rule to chain",
					     hk->chain, IPR_STEP_RULE, queue_rule_needs(spec, kind));

	return put_rule(bt, spec->table, &step, build_queue_rule, &q);
}

/* The queue rules of one chain: two in forward when spec->interface is set. */
static int put_queue_rules(struct ipr_batch *bt, const struct ipr_rules_spec *spec,
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
		return put_queue_rule(bt, spec, hk, &base, kind);
	if (has_in) {
		cs = base;
		conds_add(&cs, NFT_META_IIFNAME, spec->interface);
		err = put_queue_rule(bt, spec, hk, &cs, kind);
	}
	if (has_out && !err) {
		cs = base;
		conds_add(&cs, NFT_META_OIFNAME, spec->interface);
		err = put_queue_rule(bt, spec, hk, &cs, kind);
	}
	return err;
}

/* The accept rules ahead of the queue rules: what no ipredir handle takes. */
static int put_skip_rules(struct ipr_batch *bt, const struct ipr_rules_spec *spec,
			  const struct ipr_hook *hk)
{
	struct ipr_step step;
	int err = 0;

	if (spec->inject_mask) {
		step = step_of("add the inject mark rule to chain", hk->chain, IPR_STEP_RULE, 0);
		err = put_rule(bt, spec->table, &step, build_inject_skip, spec);
	}
	if (!err && spec->skip_iifname_prefix && hk->layer != IPR_LAYER_OUT) {
		step = step_of("add the interface prefix rule to chain", hk->chain,
			       IPR_STEP_RULE, 0);
		err = put_rule(bt, spec->table, &step, build_prefix_skip, spec);
	}
	if (!err && spec_bypasses(spec)) {
		step = step_of("add the bypass rule to chain", hk->chain, IPR_STEP_RULE,
			       IPR_NEED_CT);
		err = put_rule(bt, spec->table, &step, build_bypass_skip, spec);
	}
	return err;
}

/* Chain <layer>_post, right after the layer's chain: offload bits to the ct mark. */
static int put_post_chain(struct ipr_batch *bt, const struct ipr_rules_spec *spec,
			  const struct ipr_hook *hk)
{
	struct ipr_step step;
	int err;

	err = put_chain(bt, spec->table, hk->post, hk, -spec->priority + 1);
	if (err)
		return err;
	step = step_of("add the offload rule to chain", hk->post, IPR_STEP_RULE, IPR_NEED_CT);
	return put_rule(bt, spec->table, &step, build_bypass_post, spec);
}

static int put_layer(struct ipr_batch *bt, const struct ipr_rules_spec *spec,
		     const struct ipr_hook *hk, enum ipr_queue_kind kind)
{
	int err = put_chain(bt, spec->table, hk->chain, hk, -spec->priority);

	if (!err)
		err = put_skip_rules(bt, spec, hk);
	if (!err)
		err = put_queue_rules(bt, spec, hk, kind);
	if (!err && spec_bypasses(spec))
		err = put_post_chain(bt, spec, hk);
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
	if (!err && spec_spreads(spec) && kind == IPR_QUEUE_COMPAT)
		err = put_spread(bt, spec);
	for (i = 0; i < sizeof(ipr_hooks) / sizeof(ipr_hooks[0]) && !err; i++) {
		if (spec->layers & ipr_hooks[i].layer)
			err = put_layer(bt, spec, &ipr_hooks[i], kind);
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

/* mark/mask of feature what: off (mask 0), or a non-zero mark within its mask. */
static int check_mark(const char *what, uint32_t mark, uint32_t mask)
{
	if (mask && (!mark || (mark & ~mask)))
		return ipr_fail(-EINVAL, "%s mark 0x%x with mask 0x%x: the mark must be non-zero "
				"and lie within the mask", what, mark, mask);
	return 0;
}

/* Queues, cgroup, inject and bypass marks, skipped interface prefix. */
static int check_features(const struct ipr_rules_spec *spec)
{
	int err;

	if (spec->queues > IPR_QUEUES_MAX)
		return ipr_fail(-EINVAL, "%u queues: at most %d", spec->queues, IPR_QUEUES_MAX);
	if (spec->queue + spec_queues(spec) - 1 > UINT16_MAX)
		return ipr_fail(-EINVAL, "queues %u to %u: queue numbers go up to %u", spec->queue,
				spec->queue + spec_queues(spec) - 1, UINT16_MAX);
	if (spec->cgroup_id && (spec->layers & IPR_LAYER_FORWARD))
		return ipr_fail(-EINVAL, "forwarded packets have no local socket: a cgroup "
				"applies to the in and out layers only");
	if (spec->cgroup_id && spec->cgroup_level > IPR_SOCKET_LEVEL_MAX)
		return ipr_fail(-EINVAL, "cgroup level %u: the kernel matches levels 0-%d",
				spec->cgroup_level, IPR_SOCKET_LEVEL_MAX);
	err = check_mark("inject", spec->inject_mark, spec->inject_mask);
	if (!err)
		err = check_mark("bypass", spec->bypass_mark, spec->bypass_mask);
	if (!err && spec->skip_iifname_prefix && !spec->skip_iifname_prefix[0])
		err = ipr_fail(-EINVAL, "an empty interface prefix would skip every packet");
	if (!err)
		err = check_ifname("interface prefix", spec->skip_iifname_prefix);
	return err;
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
	return err ? err : check_features(spec);
}

/* The kernel lacks an expression the rule needs (a module not built). */
static int refusal_is_missing_expr(const struct ipr_refusal *ref)
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

static int refusal_fail(const struct ipr_rules_spec *spec, const struct ipr_refusal *ref)
{
	const char *sep = ref->step.chain[0] ? " " : "";
	int err = ref->err;
	char needs[512];

	if (!ref->step.what && err == -EPERM)
		return ipr_fail(err, "permission denied: nf_tables needs CAP_NET_ADMIN");
	if (!ref->step.what)
		return ipr_fail(err, "nf_tables refused the batch: %s", strerror(-err));
	if (refusal_is_missing_expr(ref) && (ref->step.needs & IPR_NEEDS_ALL)) {
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
					spec->table);
		if (err == -EPERM)
			return ipr_fail(err, "table inet %s exists and belongs to another process",
					spec->table);
	}
	return ipr_fail(err, "nf_tables refused to %s%s%s: %s", ref->step.what, sep,
			ref->step.chain, strerror(-err));
}

static int install(struct ipr_rules *r, const struct ipr_rules_spec *spec)
{
	enum ipr_queue_kind kind = spec->queue_kind == IPR_QUEUE_COMPAT ? IPR_QUEUE_COMPAT :
									  IPR_QUEUE_NATIVE;
	struct ipr_refusal ref = { 0 };
	int err;

	err = install_batch(r, spec, kind, &ref);
	if (!err && spec->queue_kind == IPR_QUEUE_AUTO && refusal_is_missing_expr(&ref) &&
	    (ref.step.needs & IPR_NEED_QUEUE)) {
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
		return refusal_fail(spec, &ref);
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

static void log_installed(const struct ipr_rules *r, const struct ipr_rules_spec *spec)
{
	if (spec->monitor)
		ipr_log(IPR_LOG_DEBUG, "table inet %s installed: layers 0x%x, chain priority %d, "
			"NFLOG group %u%s%s", r->table, spec->layers, -spec->priority,
			spec->log_group, spec->bpf ? ", bpf match" : "",
			spec->cgroup_id ? ", cgroup match" : "");
	else
		ipr_log(IPR_LOG_DEBUG, "table inet %s installed: layers 0x%x, chain priority %d, "
			"queues %u-%u, %s queue%s%s%s", r->table, spec->layers, -spec->priority,
			spec->queue, spec->queue + spec_queues(spec) - 1,
			r->kind == IPR_QUEUE_NATIVE ? "native" : "compat",
			spec->bpf ? ", bpf match" : "", spec->cgroup_id ? ", cgroup match" : "",
			spec_bypasses(spec) ? ", flow bypass" : "");
	/* Locally sent packets have no conntrack entry before NF_IP_PRI_CONNTRACK. */
	if (spec_bypasses(spec) && (spec->layers & IPR_LAYER_OUT) &&
	    -spec->priority <= NF_IP_PRI_CONNTRACK)
		ipr_log(IPR_LOG_WARN, "table inet %s: chain out at priority %d does not run "
			"after conntrack (%d): flow bypass cannot skip it", r->table,
			-spec->priority, NF_IP_PRI_CONNTRACK);
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
	r->layers = spec->layers;
	err = rules_open(r);
	if (!err)
		err = install(r, spec);
	if (err)
		goto out;
	log_installed(r, spec);
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
	const struct ipr_step step = step_of("delete the table", NULL, IPR_STEP_TABLE, 0);
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
	nlh = batch_msg(bt, NFT_MSG_DELTABLE, 0, &step);
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

/* Flush one chain: a rule deletion leaves the hook registered. */
static int put_chain_flush(struct ipr_batch *bt, const char *table, const char *chain)
{
	const struct ipr_step step = step_of("empty chain", chain, IPR_STEP_RULE, 0);
	struct nftnl_rule *rl = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	int err = -ENOMEM;

	if (!rl)
		return -ENOMEM;
	nftnl_rule_set_u32(rl, NFTNL_RULE_FAMILY, NFPROTO_INET);
	if (nftnl_rule_set_str(rl, NFTNL_RULE_TABLE, table) < 0 ||
	    nftnl_rule_set_str(rl, NFTNL_RULE_CHAIN, chain) < 0)
		goto out;
	err = -EMSGSIZE;
	nlh = batch_msg(bt, NFT_MSG_DELRULE, 0, &step);
	if (!nlh)
		goto out;
	nftnl_rule_nlmsg_build_payload(nlh, rl);
	err = batch_next(bt);
out:
	nftnl_rule_free(rl);
	return err;
}

int ipr_rules_detach(struct ipr_rules *r)
{
	struct ipr_batch *bt = batch_new(r->seq);
	struct ipr_refusal ref = { 0 };
	int err = bt ? 0 : -ENOMEM;

	for (size_t i = 0; i < sizeof(ipr_hooks) / sizeof(ipr_hooks[0]) && !err; i++)
		if (r->layers & ipr_hooks[i].layer)
			err = put_chain_flush(bt, r->table, ipr_hooks[i].chain);
	if (!err)
		err = batch_send(r, bt, &ref);
	if (!err)
		err = ref.err;
	batch_free(bt);
	if (err)
		ipr_log(IPR_LOG_WARN, "cannot empty table inet %s: %s", r->table, strerror(-err));
	return err;
}

void ipr_rules_remove(struct ipr_rules *r)
{
	if (!r)
		return;
	delete_table(r);
	mnl_socket_close(r->nl);
	free(r);
}
