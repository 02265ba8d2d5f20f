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
 * Batches are sent by rules_batch.c, expressions made by rules_expr.c.
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

#include "rules.h"

#define IPR_SPREAD_MAP "spread"   /* verdict map: queue number -> chain queue<N> */
#define IPR_TYPE_MARK 19          /* nft's datatype of the map key (TYPE_MARK), for display */
#define IPR_TYPE_BITS 6           /* nft joins the types of a concatenated key by this shift */
#define IPR_BYTEORDER_HOST 1      /* nft's BYTEORDER_HOST_ENDIAN, for display */

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

/* Adds the expressions of one rule; arg belongs to the builder. */
typedef int (*ipr_build_fn)(struct nftnl_rule *rl, const void *arg);

/* Queues the spec spreads over: 0 and 1 both mean one. */
static unsigned int spec_queues(const struct ipr_rules_spec *spec)
{
	return spec->action.count > 1 ? spec->action.count : 1;
}

static int spec_logs(const struct ipr_rules_spec *spec)
{
	return spec->action.kind == IPR_ACTION_LOG;
}

/* CPU slots per queue: the enqueuing CPU picks among them (1 = none). */
static unsigned int spec_cpus(const struct ipr_rules_spec *spec)
{
	return ipr_action_cpus(&spec->action);
}

/* The rules spread flows over several queues (a monitor has none). */
static int spec_spreads(const struct ipr_rules_spec *spec)
{
	return !spec_logs(spec) && spec_queues(spec) * spec_cpus(spec) > 1;
}

/* The queue is chosen by map IPR_SPREAD_MAP: the xt target takes no number from a
 * register, and the native one no sum of hash and CPU. */
static int spec_maps(const struct ipr_rules_spec *spec, enum ipr_queue_kind kind)
{
	return spec_spreads(spec) && (kind == IPR_QUEUE_COMPAT || spec_cpus(spec) > 1);
}

/* Offloaded flows skip the queue rules (a monitor holds nothing to offload). */
static int spec_bypasses(const struct ipr_rules_spec *spec)
{
	return !spec_logs(spec) && spec->bypass_mask;
}

/* ---- the rules ---- */

/*
 * meta mark & inject_mask == inject_mark  meta mark & level mask <= our level  accept:
 * what a handle of our priority or higher injected (level 0: any handle) skips us.
 */
static int build_inject_skip(struct nftnl_rule *rl, const void *arg)
{
	const struct ipr_rules_spec *spec = arg;
	int err = ipr_expr_masked_eq(rl, IPR_KEY_META, NFT_META_MARK, spec->inject_mask,
				     spec->inject_mark);

	if (!err)
		err = ipr_expr_masked_le(rl, IPR_KEY_META, NFT_META_MARK, IPR_INJECT_LEVEL_MASK,
					 ipr_inject_level(spec->priority));
	return err ? err : ipr_expr_verdict(rl, NF_ACCEPT);
}

/* iifname "prefix*" accept */
static int build_prefix_skip(struct nftnl_rule *rl, const void *arg)
{
	const struct ipr_rules_spec *spec = arg;
	int err = ipr_expr_iifname_prefix(rl, spec->skip_iifname_prefix);

	return err ? err : ipr_expr_verdict(rl, NF_ACCEPT);
}

/* iifname "lo" accept: a packet to this host itself was taken on its way out */
static int build_loopback_skip(struct nftnl_rule *rl, const void *arg)
{
	int err = ipr_expr_ifname(rl, NFT_META_IIFNAME, "lo");

	return err ? err : ipr_expr_verdict(rl, NF_ACCEPT);
}

/* ct mark & bypass_mask == bypass_mark accept */
static int build_bypass_skip(struct nftnl_rule *rl, const void *arg)
{
	const struct ipr_rules_spec *spec = arg;
	int err = ipr_expr_masked_eq(rl, IPR_KEY_CT, NFT_CT_MARK, spec->bypass_mask, spec->bypass_mark);

	return err ? err : ipr_expr_verdict(rl, NF_ACCEPT);
}

/*
 * meta mark & bypass_mask == bypass_mark
 *     ct mark set ct mark & ~bypass_mask | bypass_mark
 *     meta mark set meta mark & ~bypass_mask
 */
static int build_bypass_post(struct nftnl_rule *rl, const void *arg)
{
	const struct ipr_rules_spec *spec = arg;
	int err = ipr_expr_masked_eq(rl, IPR_KEY_META, NFT_META_MARK, spec->bypass_mask,
				spec->bypass_mark);

	if (!err)
		err = ipr_expr_masked_set(rl, IPR_KEY_CT, NFT_CT_MARK, spec->bypass_mask,
				     spec->bypass_mark);
	return err ? err : ipr_expr_masked_set(rl, IPR_KEY_META, NFT_META_MARK, spec->bypass_mask, 0);
}

/* What follows the queue rule's counter: log, queue, or hash and queue/vmap. */
static int add_queue_action(struct nftnl_rule *rl, const struct ipr_rules_spec *spec,
			    enum ipr_queue_kind kind)
{
	const struct ipr_rules_action *act = &spec->action;
	uint16_t first = (uint16_t)act->first;
	int err;

	if (spec_logs(spec))
		return ipr_expr_log(rl, first, act->snaplen, act->threshold);
	if (!spec_spreads(spec))
		return kind == IPR_QUEUE_NATIVE ? ipr_expr_queue_native(rl, first, 0) :
						  ipr_expr_queue_compat(rl, first);
	err = ipr_expr_symhash(rl, spec_queues(spec), first);
	if (!err && spec_cpus(spec) > 1)
		err = ipr_expr_cpu_second(rl);
	if (err)
		return err;
	return spec_maps(spec, kind) ? ipr_expr_vmap(rl, IPR_SPREAD_MAP) :
				       ipr_expr_queue_native(rl, 0, 1);
}

/* [interface conditions] [cgroup] [bpf] counter action */
static int build_queue_rule(struct nftnl_rule *rl, const void *arg)
{
	const struct ipr_queue_rule *q = arg;
	const struct ipr_rules_spec *spec = q->spec;
	unsigned int i;
	int err = 0;

	for (i = 0; i < q->cs->n && !err; i++)
		err = ipr_expr_ifname(rl, q->cs->c[i].key, q->cs->c[i].name);
	if (!err && spec->cgroup_id)
		err = ipr_expr_cgroup(rl, spec->cgroup_id, spec->cgroup_level);
	if (!err && spec->bpf)
		err = ipr_expr_bpf(rl, spec->bpf, spec->bpf_len);
	if (!err)
		err = ipr_expr_counter(rl);
	return err ? err : add_queue_action(rl, spec, q->kind);
}

/* The one rule of a queue chain: the queue, native or compat. */
struct ipr_queue_target {
	uint16_t num;
	enum ipr_queue_kind kind;
};

static int build_queue_target(struct nftnl_rule *rl, const void *arg)
{
	const struct ipr_queue_target *t = arg;

	return t->kind == IPR_QUEUE_NATIVE ? ipr_expr_queue_native(rl, t->num, 0) :
					     ipr_expr_queue_compat(rl, t->num);
}

/* Kernel pieces the queue rule uses. */
static unsigned int queue_rule_needs(const struct ipr_rules_spec *spec, enum ipr_queue_kind kind)
{
	unsigned int needs = 0;

	if (spec->bpf)
		needs |= IPR_NEED_XT_BPF;
	if (spec->cgroup_id)
		needs |= IPR_NEED_SOCKET;
	if (spec_logs(spec))
		return needs | IPR_NEED_LOG;
	if (spec_spreads(spec))
		needs |= IPR_NEED_HASH;
	if (spec_maps(spec, kind))
		return needs; /* the queue chains need the queue */
	return needs | (kind == IPR_QUEUE_NATIVE ? IPR_NEED_QUEUE : IPR_NEED_XT_NFQUEUE);
}

/* ---- table, chains, maps, rules ---- */

/* The comment (nft shows it), and the describe text whole after it (status reads it). */
static int table_comment(struct nftnl_table *t, const char *comment, const char *describe)
{
	struct nftnl_udata_buf *ud = nftnl_udata_buf_alloc(NFT_USERDATA_MAXLEN);
	int err = -ENOMEM;

	if (!ud)
		return -ENOMEM;
	if (!nftnl_udata_put_strz(ud, NFTNL_UDATA_TABLE_COMMENT, comment))
		goto out;
	if (describe && !nftnl_udata_put_strz(ud, IPR_UDATA_DESCRIBE, describe))
		goto out;
	if (nftnl_table_set_data(t, NFTNL_TABLE_USERDATA, nftnl_udata_buf_data(ud),
				 nftnl_udata_buf_len(ud)) < 0)
		goto out;
	err = 0;
out:
	nftnl_udata_buf_free(ud);
	return err;
}

static int table_attrs(struct nftnl_table *t, const struct ipr_rules_spec *spec)
{
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, NFT_TABLE_F_OWNER);
	if (nftnl_table_set_str(t, NFTNL_TABLE_NAME, spec->table) < 0)
		return -ENOMEM;
	return spec->comment ? table_comment(t, spec->comment, spec->describe) : 0;
}

static int put_table(struct ipr_batch *bt, const struct ipr_rules_spec *spec)
{
	/* NLM_F_ECHO: the kernel tells us the new table's handle. */
	const struct ipr_msg m = { NFT_MSG_NEWTABLE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO,
				   IPR_OBJ_TABLE,
				   ipr_step_of("create the table", NULL, IPR_STEP_TABLE, 0) };
	struct nftnl_table *t = nftnl_table_alloc();

	return ipr_batch_put(bt, &m, t, t ? table_attrs(t, spec) : 0);
}

static int chain_attrs(struct nftnl_chain *c, const char *table, const char *name,
		       const struct ipr_hook *hk, int prio)
{
	if (nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, table) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, name) < 0)
		return -ENOMEM;
	if (!hk)
		return 0;
	if (nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, "filter") < 0)
		return -ENOMEM;
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, hk->hooknum);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	return 0;
}

/* Chain name; a base chain on hk's hook at priority prio, or a regular one (hk NULL). */
static int put_chain(struct ipr_batch *bt, const char *table, const char *name,
		     const struct ipr_hook *hk, int prio)
{
	const struct ipr_msg m = { NFT_MSG_NEWCHAIN, NLM_F_CREATE, IPR_OBJ_CHAIN,
				   ipr_step_of("create chain", name, IPR_STEP_CHAIN, 0) };
	struct nftnl_chain *c = nftnl_chain_alloc();

	return ipr_batch_put(bt, &m, c, c ? chain_attrs(c, table, name, hk, prio) : 0);
}

/* A rule of chain in table, still empty; NULL when out of memory. */
static struct nftnl_rule *new_rule(const char *table, const char *chain)
{
	struct nftnl_rule *rl = nftnl_rule_alloc();

	if (!rl)
		return NULL;
	nftnl_rule_set_u32(rl, NFTNL_RULE_FAMILY, NFPROTO_INET);
	if (nftnl_rule_set_str(rl, NFTNL_RULE_TABLE, table) < 0 ||
	    nftnl_rule_set_str(rl, NFTNL_RULE_CHAIN, chain) < 0) {
		nftnl_rule_free(rl);
		return NULL;
	}
	return rl;
}

/* Append the rule that build(rl, arg) makes to chain step->chain. */
static int put_rule(struct ipr_batch *bt, const char *table, const struct ipr_step *step,
		    ipr_build_fn build, const void *arg)
{
	const struct ipr_msg m = { NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND, IPR_OBJ_RULE,
				   *step };
	struct nftnl_rule *rl = new_rule(table, step->chain);

	return ipr_batch_put(bt, &m, rl, rl ? build(rl, arg) : 0);
}

/* ---- several queues: map IPR_SPREAD_MAP, hash [. cpu] -> goto chain queue<N> ---- */

static void queue_chain_name(char *buf, size_t size, unsigned int num)
{
	snprintf(buf, size, "queue%u", num);
}

/* Chain queue<num> holding the one rule: queue num <num>. */
static int put_queue_chain(struct ipr_batch *bt, const struct ipr_rules_spec *spec,
			   unsigned int num, enum ipr_queue_kind kind)
{
	struct ipr_queue_target t = { (uint16_t)num, kind };
	struct ipr_step step;
	char name[16];
	int err;

	queue_chain_name(name, sizeof(name), num);
	err = put_chain(bt, spec->table, name, NULL, 0);
	if (err)
		return err;
	step = ipr_step_of("add the queue rule to chain", name, IPR_STEP_RULE,
			   kind == IPR_QUEUE_NATIVE ? IPR_NEED_QUEUE : IPR_NEED_XT_NFQUEUE);
	return put_rule(bt, spec->table, &step, build_queue_target, &t);
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

/* Keys: the hash, or the hash and the CPU (nft's concatenated type). */
static int spread_map_attrs(struct nftnl_set *s, const struct ipr_rules_spec *spec)
{
	int cpus = spec_cpus(spec) > 1;

	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, NFT_SET_MAP | NFT_SET_CONSTANT);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE,
			  cpus ? IPR_TYPE_MARK << IPR_TYPE_BITS | IPR_TYPE_MARK : IPR_TYPE_MARK);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, (uint32_t)sizeof(uint32_t) * (1 + cpus));
	nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
	nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, spec_queues(spec) * spec_cpus(spec));
	nftnl_set_set_u32(s, NFTNL_SET_ID, 1); /* the kernel wants one; we refer by name */
	return spread_key_order(s);
}

static int put_spread_map(struct ipr_batch *bt, const struct ipr_rules_spec *spec)
{
	const struct ipr_msg m = { NFT_MSG_NEWSET, NLM_F_CREATE | NLM_F_EXCL, IPR_OBJ_SET,
				   ipr_step_of("create map " IPR_SPREAD_MAP, NULL, IPR_STEP_SET, 0) };
	struct nftnl_set *s = spread_set(spec);

	return ipr_batch_put(bt, &m, s, s ? spread_map_attrs(s, spec) : 0);
}

/* Element hash [. cpu] : goto queue<hash + queues * cpu>; s owns it. */
static int add_spread_elem(struct nftnl_set *s, const struct ipr_rules_spec *spec,
			   unsigned int hash, unsigned int cpu)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();
	uint32_t key[2] = { hash, cpu };
	char name[16];

	if (!e)
		return -ENOMEM;
	queue_chain_name(name, sizeof(name), hash + spec_queues(spec) * cpu);
	nftnl_set_elem_add(s, e);
	if (nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key,
			       sizeof(key[0]) * (spec_cpus(spec) > 1 ? 2 : 1)) < 0 ||
	    nftnl_set_elem_set_str(e, NFTNL_SET_ELEM_CHAIN, name) < 0)
		return -ENOMEM;
	nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_VERDICT, (uint32_t)NFT_GOTO);
	return 0;
}

static int spread_elems(struct nftnl_set *s, const struct ipr_rules_spec *spec)
{
	int err = 0;

	for (unsigned int c = 0; c < spec_cpus(spec) && !err; c++)
		for (unsigned int i = 0; i < spec_queues(spec) && !err; i++)
			err = add_spread_elem(s, spec, spec->action.first + i, c);
	return err;
}

static int put_spread_elems(struct ipr_batch *bt, const struct ipr_rules_spec *spec)
{
	const struct ipr_msg m = { NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL, IPR_OBJ_ELEMS,
				   ipr_step_of("fill map " IPR_SPREAD_MAP, NULL, IPR_STEP_SET, 0) };
	struct nftnl_set *s = spread_set(spec);

	return ipr_batch_put(bt, &m, s, s ? spread_elems(s, spec) : 0);
}

/* One chain per queue, and the map that picks the chain. */
static int put_spread(struct ipr_batch *bt, const struct ipr_rules_spec *spec,
		      enum ipr_queue_kind kind)
{
	unsigned int i;
	int err = 0;

	for (i = 0; i < spec_queues(spec) * spec_cpus(spec) && !err; i++)
		err = put_queue_chain(bt, spec, spec->action.first + i, kind);
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
	const struct ipr_step step = ipr_step_of(spec_logs(spec) ? "add the log rule to chain" :
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
		step = ipr_step_of("add the inject mark rule to chain", hk->chain, IPR_STEP_RULE, 0);
		err = put_rule(bt, spec->table, &step, build_inject_skip, spec);
	}
	if (!err && spec->skip_iifname_prefix && hk->layer != IPR_LAYER_OUT) {
		step = ipr_step_of("add the interface prefix rule to chain", hk->chain,
			       IPR_STEP_RULE, 0);
		err = put_rule(bt, spec->table, &step, build_prefix_skip, spec);
	}
	if (!err && spec->skip_loopback_in && hk->layer == IPR_LAYER_IN) {
		step = ipr_step_of("add the loopback rule to chain", hk->chain, IPR_STEP_RULE, 0);
		err = put_rule(bt, spec->table, &step, build_loopback_skip, NULL);
	}
	if (!err && spec_bypasses(spec)) {
		step = ipr_step_of("add the bypass rule to chain", hk->chain, IPR_STEP_RULE,
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
	step = ipr_step_of("add the offload rule to chain", hk->post, IPR_STEP_RULE, IPR_NEED_CT);
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

/* Adds the messages of one batch; arg belongs to the filler. */
typedef int (*ipr_fill_fn)(struct ipr_batch *bt, const void *arg);

/* Build a batch with fill(bt, arg), send it and read the answers into *ref. */
static int run_batch(struct ipr_rules *r, ipr_fill_fn fill, const void *arg,
		     struct ipr_refusal *ref)
{
	struct ipr_batch *bt = ipr_batch_new(r->seq);
	int err = bt ? fill(bt, arg) : -ENOMEM;

	memset(ref, 0, sizeof(*ref));
	if (!err)
		err = ipr_batch_send(r, bt, ref);
	ipr_batch_free(bt);
	return err;
}

/* The whole table with one queue kind. */
struct ipr_layout {
	const struct ipr_rules_spec *spec;
	enum ipr_queue_kind kind;
};

static int fill_table(struct ipr_batch *bt, const void *arg)
{
	const struct ipr_layout *l = arg;
	int err = put_table(bt, l->spec);

	if (!err && spec_maps(l->spec, l->kind))
		err = put_spread(bt, l->spec, l->kind);
	for (size_t i = 0; i < sizeof(ipr_hooks) / sizeof(ipr_hooks[0]) && !err; i++)
		if (l->spec->layers & ipr_hooks[i].layer)
			err = put_layer(bt, l->spec, &ipr_hooks[i], l->kind);
	return err;
}

/* The native queue where the kernel has it (auto), else the xt target. */
static int install(struct ipr_rules *r, const struct ipr_rules_spec *spec)
{
	enum ipr_queue_kind want = spec->action.queue_kind;
	struct ipr_layout l = { spec, want == IPR_QUEUE_COMPAT ? IPR_QUEUE_COMPAT :
								IPR_QUEUE_NATIVE };
	struct ipr_refusal ref;
	int err = run_batch(r, fill_table, &l, &ref);

	if (!err && want == IPR_QUEUE_AUTO && ipr_refusal_missing(&ref) &&
	    (ref.step.needs & IPR_NEED_QUEUE)) {
		ipr_log(IPR_LOG_DEBUG, "no native nft queue expression (%s), "
			"using the xt NFQUEUE target", strerror(-ref.err));
		l.kind = IPR_QUEUE_COMPAT;
		err = run_batch(r, fill_table, &l, &ref);
	}
	if (err)
		return ipr_fail(err, "cannot send the nf_tables batch for table inet %s: %s",
				spec->table, strerror(-err));
	if (ref.err)
		return ipr_refusal_fail(spec->table, &ref);
	r->kind = l.kind;
	return 0;
}

static void log_installed(const struct ipr_rules *r, const struct ipr_rules_spec *spec)
{
	if (!spec->layers)
		ipr_log(IPR_LOG_DEBUG, "table inet %s installed alone: it names the handle",
			r->table);
	else if (spec_logs(spec))
		ipr_log(IPR_LOG_DEBUG, "table inet %s installed: layers 0x%x, chain priority %d, "
			"NFLOG group %u%s%s", r->table, spec->layers, -spec->priority,
			spec->action.first, spec->bpf ? ", bpf match" : "",
			spec->cgroup_id ? ", cgroup match" : "");
	else
		ipr_log(IPR_LOG_DEBUG, "table inet %s installed: layers 0x%x, chain priority %d, "
			"queues %u-%u, %s queue%s%s%s", r->table, spec->layers, -spec->priority,
			spec->action.first,
			spec->action.first + spec_queues(spec) * spec_cpus(spec) - 1,
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
	r = calloc(1, sizeof(*r));
	if (!r) {
		err = ipr_fail(-ENOMEM, "out of memory for the rules of table inet %s",
			       spec->table);
		goto out;
	}
	strcpy(r->table, spec->table);
	r->layers = spec->layers;
	err = ipr_rules_socket(r);
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

/* The table of r: by handle when known, as a same-named table made later is not ours. */
static int table_ref(struct nftnl_table *t, const struct ipr_rules *r)
{
	nftnl_table_set_u32(t, NFTNL_TABLE_FAMILY, NFPROTO_INET);
	if (r->handle)
		nftnl_table_set_u64(t, NFTNL_TABLE_HANDLE, r->handle);
	else if (nftnl_table_set_str(t, NFTNL_TABLE_NAME, r->table) < 0)
		return -ENOMEM;
	return 0;
}

static int fill_delete(struct ipr_batch *bt, const void *arg)
{
	const struct ipr_msg m = { NFT_MSG_DELTABLE, 0, IPR_OBJ_TABLE,
				   ipr_step_of("delete the table", NULL, IPR_STEP_TABLE, 0) };
	struct nftnl_table *t = nftnl_table_alloc();

	return ipr_batch_put(bt, &m, t, t ? table_ref(t, arg) : 0);
}

/* Send the batch fill(bt, r) builds; 0 or -errno, the kernel's refusal included. */
static int run_removal(struct ipr_rules *r, ipr_fill_fn fill)
{
	struct ipr_refusal ref;
	int err = run_batch(r, fill, r, &ref);

	return err ? err : ref.err;
}

static void delete_table(struct ipr_rules *r)
{
	int err = run_removal(r, fill_delete);

	if (err == -ENOENT)
		ipr_log(IPR_LOG_DEBUG, "table inet %s was already gone", r->table);
	else if (err)
		ipr_log(IPR_LOG_WARN, "cannot delete table inet %s (%s): closing its socket "
			"removes it", r->table, strerror(-err));
	else
		ipr_log(IPR_LOG_DEBUG, "table inet %s deleted", r->table);
}

/* Flush the layer chains: a rule deletion leaves the hooks registered. */
static int fill_detach(struct ipr_batch *bt, const void *arg)
{
	const struct ipr_rules *r = arg;
	int err = 0;

	for (size_t i = 0; i < sizeof(ipr_hooks) / sizeof(ipr_hooks[0]) && !err; i++) {
		const char *chain = ipr_hooks[i].chain;
		const struct ipr_msg m = { NFT_MSG_DELRULE, 0, IPR_OBJ_RULE,
					   ipr_step_of("empty chain", chain, IPR_STEP_RULE, 0) };

		if (r->layers & ipr_hooks[i].layer)
			err = ipr_batch_put(bt, &m, new_rule(r->table, chain), 0);
	}
	return err;
}

int ipr_rules_detach(struct ipr_rules *r)
{
	int err;

	if (!r->layers)
		return 0; /* the table alone: no rules to delete */
	err = run_removal(r, fill_detach);

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
