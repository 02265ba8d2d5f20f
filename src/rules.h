/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rules.h - what the parts of the owned nf_tables table share: rules.c (the
 * table's layout, install, counters, removal) builds on rules_batch.c (batches
 * sent and answered, refusals explained) and rules_expr.c (expressions).
 */
#ifndef IPREDIR_RULES_H
#define IPREDIR_RULES_H

#include <linux/netfilter/nf_tables.h>
#include <libmnl/libmnl.h>
#include <libnftnl/rule.h>

#include "internal.h"

#define IPR_NL_RECV 16384 /* receive buffer: acks and rule dumps */

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

/* ---- rules_batch.c: the socket and its batches ---- */

/* Open the netlink socket that will own the table; 0 or -errno with a reason. */
int ipr_rules_socket(struct ipr_rules *r);

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

/* What one message of a batch does, to name the step the kernel refused. */
struct ipr_step {
	const char *what;      /* "add the queue rule to chain", "create the table" */
	char chain[16];        /* the chain it adds or adds to; "" = none */
	enum ipr_step_kind kind;
	unsigned int needs;    /* enum ipr_need */
};

/* A step record; chain NULL for messages that name none. */
struct ipr_step ipr_step_of(const char *what, const char *chain, enum ipr_step_kind kind,
			    unsigned int needs);

/* The first message of a batch the kernel refused. */
struct ipr_refusal {
	int err;              /* -errno; 0 = everything accepted */
	struct ipr_step step; /* what NULL = the batch as a whole */
};

struct ipr_batch;

/* A batch whose BATCH_BEGIN has sequence number seq; NULL when out of memory. */
struct ipr_batch *ipr_batch_new(uint32_t seq);

void ipr_batch_free(struct ipr_batch *bt);

/* The libnftnl object a message carries. */
enum ipr_obj_kind {
	IPR_OBJ_TABLE, /* struct nftnl_table */
	IPR_OBJ_CHAIN, /* struct nftnl_chain */
	IPR_OBJ_RULE,  /* struct nftnl_rule */
	IPR_OBJ_SET,   /* struct nftnl_set */
	IPR_OBJ_ELEMS, /* struct nftnl_set, its elements */
};

/* One message of a batch: nf_tables message type and flags, and its step. */
struct ipr_msg {
	uint16_t type;         /* NFT_MSG_NEWTABLE, ... */
	uint16_t flags;        /* NLM_F_CREATE, ... */
	enum ipr_obj_kind obj;
	struct ipr_step step;
};

/*
 * Append message m carrying obj to bt, unless err (from filling obj) is set or
 * obj is NULL (-ENOMEM). obj is freed in every case. Returns 0 or -errno,
 * -EMSGSIZE when the batch is full.
 */
int ipr_batch_put(struct ipr_batch *bt, const struct ipr_msg *m, void *obj, int err);

/*
 * Close bt with BATCH_END, send it and collect the answers. Returns 0 when the
 * kernel answered (ref->err tells whether it refused) or -errno for a local or
 * socket failure.
 */
int ipr_batch_send(struct ipr_rules *r, struct ipr_batch *bt, struct ipr_refusal *ref);

/* The kernel lacks an expression the refused rule needs (a module not built). */
int ipr_refusal_missing(const struct ipr_refusal *ref);

/* ipr_fail() with a reason for the refusal of table's batch. */
int ipr_refusal_fail(const char *table, const struct ipr_refusal *ref);

/* ---- rules_expr.c: expressions appended to a rule; each returns 0 or -ENOMEM ---- */

/* Keys loaded or stored through register 1. */
enum ipr_key_expr {
	IPR_KEY_META, /* NFT_META_* */
	IPR_KEY_CT,   /* NFT_CT_* */
};

/* KEY & mask == value, e.g. meta mark & 0x10000000 == 0x10000000; the rule stops otherwise. */
int ipr_expr_masked_eq(struct nftnl_rule *rl, enum ipr_key_expr expr, uint32_t key,
		       uint32_t mask, uint32_t value);

/* KEY & mask <= value, as numbers. */
int ipr_expr_masked_le(struct nftnl_rule *rl, enum ipr_key_expr expr, uint32_t key,
		       uint32_t mask, uint32_t value);

/* KEY set (KEY & ~mask) | value; value lies within mask. */
int ipr_expr_masked_set(struct nftnl_rule *rl, enum ipr_key_expr expr, uint32_t key,
			uint32_t mask, uint32_t value);

/* An immediate verdict: NF_ACCEPT, NF_DROP. */
int ipr_expr_verdict(struct nftnl_rule *rl, int verdict);

/* meta key (NFT_META_IIFNAME, _OIFNAME) == name exactly. */
int ipr_expr_ifname(struct nftnl_rule *rl, uint32_t key, const char *name);

/* iifname "prefix*". */
int ipr_expr_iifname_prefix(struct nftnl_rule *rl, const char *prefix);

/* socket cgroupv2 level L == id: the packet's local socket lies in that cgroup. */
int ipr_expr_cgroup(struct nftnl_rule *rl, uint64_t id, unsigned int level);

/* Register 1 = symhash mod n + offset: one value for both directions of a flow. */
int ipr_expr_symhash(struct nftnl_rule *rl, uint32_t n, uint32_t offset);

/* The verdict stored in map name under the key in register 1. */
int ipr_expr_vmap(struct nftnl_rule *rl, const char *name);

/* Register 1's second 32 bits = the CPU running the hook (key of a concatenated vmap). */
int ipr_expr_cpu_second(struct nftnl_rule *rl);

int ipr_expr_counter(struct nftnl_rule *rl);

/* Copy to NFLOG group; snaplen 0 = the group's own copy range. */
int ipr_expr_log(struct nftnl_rule *rl, uint16_t group, uint32_t snaplen, uint16_t threshold);

/* xt bpf match (rev 1, bytecode) running prog. */
int ipr_expr_bpf(struct nftnl_rule *rl, const struct sock_filter *prog, unsigned int len);

/* Native queue to num, or (from_reg) to the queue number in register 1; bypass. */
int ipr_expr_queue_native(struct nftnl_rule *rl, uint16_t num, int from_reg);

/* xt NFQUEUE target (rev 3) to num; bypass. */
int ipr_expr_queue_compat(struct nftnl_rule *rl, uint16_t num);

#endif /* IPREDIR_RULES_H */
