/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rules_expr.c - nf_tables expressions of the rules; each loads into or compares register 1. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <linux/netfilter/xt_bpf.h>
#include <libnftnl/expr.h>

#include "rules.h"

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

static const struct ipr_key_attrs ipr_keys[] = {
	[IPR_KEY_META] = { "meta", NFTNL_EXPR_META_KEY, NFTNL_EXPR_META_DREG, NFTNL_EXPR_META_SREG },
	[IPR_KEY_CT] = { "ct", NFTNL_EXPR_CT_KEY, NFTNL_EXPR_CT_DREG, NFTNL_EXPR_CT_SREG },
};

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

/* The first len bytes of register 1 op data (byte by byte); the rule stops otherwise. */
static int add_cmp_op(struct nftnl_rule *rl, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = rule_expr(rl, "cmp");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	return 0;
}

static int add_cmp(struct nftnl_rule *rl, const void *data, uint32_t len)
{
	return add_cmp_op(rl, NFT_CMP_EQ, data, len);
}

/* Register 1 (32 bits) to network order, so that cmp orders it as a number. */
static int add_hton32(struct nftnl_rule *rl)
{
	struct nftnl_expr *e = rule_expr(rl, "byteorder");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_LEN, sizeof(uint32_t));
	nftnl_expr_set_u32(e, NFTNL_EXPR_BYTEORDER_SIZE, sizeof(uint32_t));
	return 0;
}

int ipr_expr_verdict(struct nftnl_rule *rl, int verdict)
{
	struct nftnl_expr *e = rule_expr(rl, "immediate");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	return 0;
}

int ipr_expr_masked_eq(struct nftnl_rule *rl, enum ipr_key_expr expr, uint32_t key,
		       uint32_t mask, uint32_t value)
{
	int err = add_load(rl, &ipr_keys[expr], key);

	if (!err)
		err = add_bitwise(rl, mask, 0);
	return err ? err : add_cmp(rl, &value, sizeof(value));
}

int ipr_expr_masked_le(struct nftnl_rule *rl, enum ipr_key_expr expr, uint32_t key,
		       uint32_t mask, uint32_t value)
{
	uint32_t be = htonl(value);
	int err = add_load(rl, &ipr_keys[expr], key);

	if (!err)
		err = add_bitwise(rl, mask, 0);
	if (!err)
		err = add_hton32(rl);
	return err ? err : add_cmp_op(rl, NFT_CMP_LTE, &be, sizeof(be));
}

int ipr_expr_masked_set(struct nftnl_rule *rl, enum ipr_key_expr expr, uint32_t key,
			uint32_t mask, uint32_t value)
{
	int err = add_load(rl, &ipr_keys[expr], key);

	if (!err)
		err = add_bitwise(rl, ~mask, value);
	return err ? err : add_store(rl, &ipr_keys[expr], key);
}

/*
 * meta key == name. len IFNAMSIZ: the whole NUL-padded name, an exact match;
 * len strlen(name): its bytes only, a prefix match like nft's "name*".
 */
static int add_ifname_cmp(struct nftnl_rule *rl, uint32_t key, const char *name, uint32_t len)
{
	char padded[IFNAMSIZ] = { 0 };
	int err = add_load(rl, &ipr_keys[IPR_KEY_META], key);

	memcpy(padded, name, strlen(name));
	return err ? err : add_cmp(rl, padded, len);
}

int ipr_expr_ifname(struct nftnl_rule *rl, uint32_t key, const char *name)
{
	return add_ifname_cmp(rl, key, name, IFNAMSIZ);
}

int ipr_expr_iifname_prefix(struct nftnl_rule *rl, const char *prefix)
{
	return add_ifname_cmp(rl, NFT_META_IIFNAME, prefix, (uint32_t)strlen(prefix));
}

int ipr_expr_cgroup(struct nftnl_rule *rl, uint64_t id, unsigned int level)
{
	struct nftnl_expr *e = rule_expr(rl, "socket");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_KEY, NFT_SOCKET_CGROUPV2);
	nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_SOCKET_LEVEL, level);
	return add_cmp(rl, &id, sizeof(id));
}

int ipr_expr_symhash(struct nftnl_rule *rl, uint32_t n, uint32_t offset)
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

int ipr_expr_vmap(struct nftnl_rule *rl, const char *name)
{
	struct nftnl_expr *e = rule_expr(rl, "lookup");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, name);
	return 0;
}

int ipr_expr_cpu_second(struct nftnl_rule *rl)
{
	struct nftnl_expr *e = rule_expr(rl, "meta");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_CPU);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG32_01);
	return 0;
}

int ipr_expr_counter(struct nftnl_rule *rl)
{
	return rule_expr(rl, "counter") ? 0 : -ENOMEM;
}

int ipr_expr_log(struct nftnl_rule *rl, uint16_t group, uint32_t snaplen, uint16_t threshold)
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

int ipr_expr_bpf(struct nftnl_rule *rl, const struct sock_filter *prog, unsigned int len)
{
	struct xt_bpf_info_v1 info;

	memset(&info, 0, sizeof(info));
	info.mode = XT_BPF_MODE_BYTECODE;
	info.bpf_program_num_elem = len;
	memcpy(info.bpf_program, prog, len * sizeof(*prog));
	return add_xt(rl, &ipr_xt_match, "bpf", 1, &info, sizeof(info));
}

int ipr_expr_queue_native(struct nftnl_rule *rl, uint16_t num, int from_reg)
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

int ipr_expr_queue_compat(struct nftnl_rule *rl, uint16_t num)
{
	struct xt_NFQ_info_v3 info;

	memset(&info, 0, sizeof(info));
	info.queuenum = num;
	info.queues_total = 1;
	info.flags = NFQ_FLAG_BYPASS;
	return add_xt(rl, &ipr_xt_target, "NFQUEUE", 3, &info, sizeof(info));
}

