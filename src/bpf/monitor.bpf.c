/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * monitor.bpf.c - the BPF engine of monitor handles: a netfilter program,
 * linked at the hooks of the layers a handle asks for, that copies each packet
 * which passes the handle's conditions and classic BPF filter into a ring
 * buffer. It never changes a packet and always accepts it.
 *
 * The conditions are those of the nf_tables rules of the NFLOG engine
 * (rules.c): injected packets, tun devices and (asked) loopback arrivals are
 * skipped, interface names must match. The filter is the classic BPF program
 * xt_bpf would run, interpreted one instruction per bpf_loop() step.
 *
 * Wake-ups are batched: the reader is woken when the unread bytes reach
 * wake_bytes, or by a timer IPR_MON_FLUSH_NS after the first copy it was not
 * woken for.
 */
#include <linux/bpf.h>
#include <linux/filter.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "monitor.h"

char LICENSE[] SEC("license") = "GPL";

#define NF_ACCEPT 1
#define NF_INET_LOCAL_IN 1
#define NF_INET_LOCAL_OUT 3
#define TCP_TIME_WAIT 6
#define TCP_NEW_SYN_RECV 12
#define CLOCK_MONOTONIC 1
#define INJECT_LEVEL_MASK 0xffffu /* IPR_INJECT_LEVEL_MASK */

/* The kernel's types, only the fields read here; CO-RE finds their offsets at load. */
struct net_device {
	int ifindex;
	char name[IPR_MON_IFNAMSIZ];
} __attribute__((preserve_access_index));

struct cred {
	struct { __u32 val; } fsuid;
	struct { __u32 val; } fsgid;
} __attribute__((preserve_access_index));

struct file {
	const struct cred *f_cred;
} __attribute__((preserve_access_index));

struct socket {
	struct file *file;
} __attribute__((preserve_access_index));

struct sock_common {
	unsigned char skc_state;
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
	struct socket *sk_socket;
} __attribute__((preserve_access_index));

struct skb_shared_info {
	unsigned short gso_size;
} __attribute__((preserve_access_index));

struct sk_buff {
	unsigned int len;
	__u32 mark;
	struct sock *sk;
	unsigned char *head;
	unsigned int end;
} __attribute__((preserve_access_index));

struct nf_hook_state {
	__u8 hook;
	__u8 pf;
	struct net_device *in;
	struct net_device *out;
} __attribute__((preserve_access_index));

struct bpf_nf_ctx {
	const struct nf_hook_state *state;
	struct sk_buff *skb;
};

extern int bpf_dynptr_from_skb(struct sk_buff *skb, __u64 flags, struct bpf_dynptr *ptr) __ksym;
extern int bpf_dynptr_copy(struct bpf_dynptr *dst, __u32 dst_off, struct bpf_dynptr *src,
			   __u32 src_off, __u32 size) __ksym;

/* The handle's configuration, fixed at load. */
const volatile struct ipr_mon_insn filter[IPR_MON_INSNS] = {};
const volatile __u32 filter_len = 0;       /* 0: every packet */
const volatile __u32 snaplen = 65535;
const volatile __u32 wake_bytes = IPR_MON_WAKE_MIN;
const volatile __u32 inject_mark = 0;      /* skip (mark & inject_mask) == inject_mark */
const volatile __u32 inject_mask = 0;      /* 0: no skip */
const volatile __u32 inject_level = 0;     /* ... with mark level bits <= this */
const volatile __u32 skip_loopback_in = 0;
const volatile __u32 skip_prefix_len = 0;
const volatile struct ipr_mon_ifnames ifnames = {};

__u64 lost = 0; /* copies the ring buffer had no room for */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, IPR_MON_RING);
} ring SEC(".maps");

struct flush {
	struct bpf_timer timer;
	__u32 armed; /* the timer will wake the reader */
	__u32 ready; /* the timer was initialised */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flush);
} flushes SEC(".maps");

/* ---- conditions ---- */

/* The device's name equals want, or (prefix_len) starts with its first prefix_len bytes. */
static int name_is(const struct net_device *dev, const volatile char *want, __u32 prefix_len)
{
	char name[IPR_MON_IFNAMSIZ];

	if (!dev || bpf_probe_read_kernel(name, sizeof(name), dev->name))
		return 0;
	for (int i = 0; i < IPR_MON_IFNAMSIZ; i++) {
		if (prefix_len && i == (int)prefix_len)
			return 1;
		if (name[i] != want[i])
			return 0;
		if (!name[i])
			return 1;
	}
	return 1;
}

/* A packet an ipredir handle of our priority or higher injected. */
static int injected(__u32 mark)
{
	return inject_mask && (mark & inject_mask) == inject_mark &&
	       (mark & INJECT_LEVEL_MASK) <= inject_level;
}

/* The conditions of the nf_tables rules ahead of the NFLOG rule, and its interface ones. */
static int wanted(const struct nf_hook_state *st, __u32 mark)
{
	int has_in = st->hook != NF_INET_LOCAL_OUT, has_out = st->hook != NF_INET_LOCAL_IN;

	if (injected(mark))
		return 0;
	if (skip_prefix_len && has_in && name_is(st->in, ifnames.skip_prefix, skip_prefix_len))
		return 0;
	if (skip_loopback_in && st->hook == NF_INET_LOCAL_IN && name_is(st->in, "lo", 0))
		return 0;
	if (ifnames.in[0] && has_in && !name_is(st->in, ifnames.in, 0))
		return 0;
	if (ifnames.out[0] && has_out && !name_is(st->out, ifnames.out, 0))
		return 0;
	if (!ifnames.either[0])
		return 1;
	return (has_in && name_is(st->in, ifnames.either, 0)) ||
	       (has_out && name_is(st->out, ifnames.either, 0));
}

/* ---- the classic BPF filter ---- */

struct vm {
	struct bpf_dynptr *pkt;
	__u32 len;
	__u32 pc;
	__u32 a;
	__u32 x;
	__u32 mem[16];
	__u32 ret;  /* what the program returned: 0 = no match */
};

/* Read size bytes (1, 2 or 4) at off, big-endian; 0 if the packet has none there. */
static int load(struct vm *vm, __u32 off, __u32 size, __u32 *val)
{
	__u32 w;
	__u16 h;
	__u8 b;

	if (size == 4 && !bpf_dynptr_read(&w, 4, vm->pkt, off, 0)) {
		*val = bpf_ntohl(w);
		return 1;
	}
	if (size == 2 && !bpf_dynptr_read(&h, 2, vm->pkt, off, 0)) {
		*val = bpf_ntohs(h);
		return 1;
	}
	if (size == 1 && !bpf_dynptr_read(&b, 1, vm->pkt, off, 0)) {
		*val = b;
		return 1;
	}
	return 0;
}

static __u32 size_of(__u16 code)
{
	switch (BPF_SIZE(code)) {
	case BPF_W: return 4;
	case BPF_H: return 2;
	default: return 1;
	}
}

/* BPF_LD: 1 to go on, 0 when a read past the packet ends the program (no match). */
static int run_ld(struct vm *vm, __u16 code, __u32 k)
{
	switch (BPF_MODE(code)) {
	case BPF_IMM: vm->a = k; return 1;
	case BPF_MEM: vm->a = vm->mem[k & 15]; return 1;
	case BPF_LEN: vm->a = vm->len; return 1;
	case BPF_IND: return load(vm, vm->x + k, size_of(code), &vm->a);
	default: return load(vm, k, size_of(code), &vm->a);
	}
}

static int run_ldx(struct vm *vm, __u16 code, __u32 k)
{
	__u32 v;

	switch (BPF_MODE(code)) {
	case BPF_IMM: vm->x = k; return 1;
	case BPF_MEM: vm->x = vm->mem[k & 15]; return 1;
	case BPF_LEN: vm->x = vm->len; return 1;
	default: /* BPF_MSH: the IPv4 header length */
		if (!load(vm, k, 1, &v))
			return 0;
		vm->x = (v & 0xf) << 2;
		return 1;
	}
}

/* BPF_ALU: 0 for a division by zero, which ends the program. */
static int run_alu(struct vm *vm, __u16 code, __u32 k)
{
	__u32 v = BPF_SRC(code) == BPF_X ? vm->x : k;

	switch (BPF_OP(code)) {
	case BPF_ADD: vm->a += v; break;
	case BPF_SUB: vm->a -= v; break;
	case BPF_MUL: vm->a *= v; break;
	case BPF_DIV: if (!v) return 0; vm->a /= v; break;
	case BPF_MOD: if (!v) return 0; vm->a %= v; break;
	case BPF_OR: vm->a |= v; break;
	case BPF_AND: vm->a &= v; break;
	case BPF_XOR: vm->a ^= v; break;
	case BPF_LSH: vm->a = v < 32 ? vm->a << v : 0; break;
	case BPF_RSH: vm->a = v < 32 ? vm->a >> v : 0; break;
	case BPF_NEG: vm->a = -vm->a; break;
	}
	return 1;
}

static void run_jmp(struct vm *vm, __u16 code, __u32 k, __u8 jt, __u8 jf)
{
	__u32 v = BPF_SRC(code) == BPF_X ? vm->x : k;
	int yes;

	switch (BPF_OP(code)) {
	case BPF_JA: vm->pc += k; return;
	case BPF_JEQ: yes = vm->a == v; break;
	case BPF_JGT: yes = vm->a > v; break;
	case BPF_JGE: yes = vm->a >= v; break;
	default: yes = !!(vm->a & v); break; /* BPF_JSET */
	}
	vm->pc += yes ? jt : jf;
}

/* One instruction; 1 ends the loop (vm->ret holds the result). */
static long step(__u32 i, void *arg)
{
	struct vm *vm = arg;
	__u32 pc = vm->pc;
	__u16 code;
	__u32 k;

	if (pc >= filter_len || pc >= IPR_MON_INSNS)
		return 1; /* ran off the end: no match */
	code = filter[pc].code;
	k = filter[pc].k;
	vm->pc = pc + 1;
	switch (BPF_CLASS(code)) {
	case BPF_LD: return !run_ld(vm, code, k);
	case BPF_LDX: return !run_ldx(vm, code, k);
	case BPF_ST: vm->mem[k & 15] = vm->a; return 0;
	case BPF_STX: vm->mem[k & 15] = vm->x; return 0;
	case BPF_ALU: return !run_alu(vm, code, k);
	case BPF_JMP: run_jmp(vm, code, k, filter[pc].jt, filter[pc].jf); return 0;
	case BPF_RET: vm->ret = BPF_RVAL(code) == BPF_A ? vm->a : k; return 1;
	default: /* BPF_MISC */
		if (BPF_MISCOP(code) == BPF_TAX)
			vm->x = vm->a;
		else
			vm->a = vm->x;
		return 0;
	}
}

/* The filter over the packet: 1 = match. Jumps go forward only: one pass at most. */
static int matches(struct bpf_dynptr *pkt, __u32 len)
{
	struct vm vm = { .pkt = pkt, .len = len };

	if (!filter_len)
		return 1;
	bpf_loop(IPR_MON_INSNS + 1, step, &vm, 0);
	return vm.ret != 0;
}

/* ---- the copy ---- */

static int wake_reader(void *map, __u32 *key, struct flush *f)
{
	void *rec = bpf_ringbuf_reserve(&ring, 8, 0);

	f->armed = 0;
	if (rec)
		bpf_ringbuf_discard(rec, BPF_RB_FORCE_WAKEUP); /* the reader skips it */
	return 0;
}

/* Wake the reader when this copy of size bytes brings the unread ones to wake_bytes (it
 * then reads until none is left), else make sure the timer will. */
static __u64 wake_flags(__u32 size)
{
	__u64 unread = bpf_ringbuf_query(&ring, BPF_RB_AVAIL_DATA);
	__u32 key = 0;
	struct flush *f;

	if (unread >= wake_bytes && unread < (__u64)wake_bytes + size)
		return BPF_RB_FORCE_WAKEUP;
	f = bpf_map_lookup_elem(&flushes, &key);
	if (!f || f->armed)
		return BPF_RB_NO_WAKEUP;
	if (!f->ready) {
		bpf_timer_init(&f->timer, &flushes, CLOCK_MONOTONIC);
		bpf_timer_set_callback(&f->timer, wake_reader);
		f->ready = 1;
	}
	f->armed = 1;
	if (bpf_timer_start(&f->timer, IPR_MON_FLUSH_NS, 0))
		return BPF_RB_FORCE_WAKEUP;
	return BPF_RB_NO_WAKEUP;
}

static void fill_owner(const struct sk_buff *skb, struct ipr_mon_record *r)
{
	const struct sock *sk = skb->sk;
	const struct cred *cred;
	unsigned char state;

	if (!sk)
		return;
	state = BPF_CORE_READ(sk, __sk_common.skc_state);
	if (state == TCP_TIME_WAIT || state == TCP_NEW_SYN_RECV)
		return; /* not a full socket */
	cred = BPF_CORE_READ(sk, sk_socket, file, f_cred);
	if (!cred)
		return;
	r->uid = BPF_CORE_READ(cred, fsuid.val);
	r->gid = BPF_CORE_READ(cred, fsgid.val);
	r->flags |= IPR_MON_UID;
}

static void fill_record(const struct bpf_nf_ctx *ctx, struct ipr_mon_record *r)
{
	const struct nf_hook_state *st = ctx->state;
	const struct sk_buff *skb = ctx->skb;
	const struct skb_shared_info *sh;
	const struct net_device *dev;

	r->ns = bpf_ktime_get_ns();
	r->len = skb->len;
	r->caplen = r->len < snaplen ? r->len : snaplen;
	r->mark = skb->mark;
	r->hook = st->hook;
	r->pf = st->pf;
	dev = st->in;
	r->ifindex_in = dev ? BPF_CORE_READ(dev, ifindex) : 0;
	dev = st->out;
	r->ifindex_out = dev ? BPF_CORE_READ(dev, ifindex) : 0;
	sh = (const void *)(BPF_CORE_READ(skb, head) + BPF_CORE_READ(skb, end));
	if (BPF_CORE_READ(sh, gso_size))
		r->flags |= IPR_MON_GSO;
	fill_owner(skb, r);
}

/* Copy the record and caplen packet bytes; a full ring counts a lost copy. */
static void copy(struct bpf_dynptr *pkt, const struct ipr_mon_record *r)
{
	struct bpf_dynptr out;

	if (bpf_ringbuf_reserve_dynptr(&ring, sizeof(*r) + r->caplen, 0, &out)) {
		bpf_ringbuf_discard_dynptr(&out, 0);
		__sync_fetch_and_add(&lost, 1);
		return;
	}
	if (bpf_dynptr_write(&out, 0, (void *)r, sizeof(*r), 0) ||
	    bpf_dynptr_copy(&out, sizeof(*r), pkt, 0, r->caplen)) {
		bpf_ringbuf_discard_dynptr(&out, 0);
		__sync_fetch_and_add(&lost, 1);
		return;
	}
	bpf_ringbuf_submit_dynptr(&out, wake_flags(sizeof(*r) + r->caplen + 8));
}

SEC("netfilter")
int monitor(struct bpf_nf_ctx *ctx)
{
	struct ipr_mon_record r = {};
	struct bpf_dynptr pkt;
	struct sk_buff *skb = ctx->skb;

	if (!wanted(ctx->state, skb->mark))
		return NF_ACCEPT;
	if (bpf_dynptr_from_skb(skb, 0, &pkt))
		return NF_ACCEPT;
	if (!matches(&pkt, skb->len))
		return NF_ACCEPT;
	fill_record(ctx, &r);
	copy(&pkt, &r);
	return NF_ACCEPT;
}
