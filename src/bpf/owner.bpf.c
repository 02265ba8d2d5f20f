/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * owner.bpf.c - which process owns each socket of the host.
 *
 * Attached at the root of the cgroup v2 hierarchy, these programs run in the
 * calling process whenever a socket is created, bound, connected or used to
 * send or receive a datagram, and record its socket cookie -> that process
 * (so a socket passed to or inherited by another process names the one that
 * used it last). When a socket is released its owner is also kept by address,
 * for packets still waiting after the socket is gone. They never refuse a call.
 *
 * Loaded for events (want_events), they also report socket calls (bind, connect,
 * listen, accept, close) and flows (a TCP connection established or closed, a
 * UDP socket's first datagram with a remote end) of one network namespace
 * through a ring buffer.
 */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "owner.h"

char LICENSE[] SEC("license") = "GPL";

#define WANT_FLOWS 1u   /* IPR_EVENTS_FLOW */
#define WANT_SOCKETS 2u /* IPR_EVENTS_SOCKET */
#define AF_INET 2
#define TCP_CLOSE 7
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86dd

const volatile __u32 want_events = 0; /* WANT_* bits; 0: records only */
const volatile __u64 want_netns = 0;  /* the network namespace events are of */
__u64 lost_events = 0;                /* not reported: the ring buffer was full */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, IPR_EVENT_RING);
} events SEC(".maps");

/* The rule of ipr_events_block(): rule_tests of them (0: block nothing). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, IPR_BPF_CALL_TESTS);
	__type(key, __u32);
	__type(value, struct ipr_bpf_call_test);
} rule SEC(".maps");
__u32 rule_tests = 0;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, IPR_UDP_FLOWS);
	__type(key, struct ipr_udp_flow);
	__type(value, __u8);
} udp_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, IPR_OWNER_SOCKETS);
	__type(key, __u64);
	__type(value, struct ipr_owner);
} owners SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, IPR_OWNER_RELEASED);
	__type(key, struct ipr_owner_key);
	__type(value, struct ipr_owner);
} released SEC(".maps");

/* Established TCP connections by their ends: a packet's process without sock_diag. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, IPR_OWNER_SOCKETS);
	__type(key, struct ipr_owner_key);
	__type(value, struct ipr_owner);
} conns SEC(".maps");

/* Bound sockets by local end (remote zero): whose listener a connection is. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, IPR_OWNER_BOUND);
	__type(key, struct ipr_owner_key);
	__type(value, struct ipr_owner);
} bound SEC(".maps");

static __always_inline void record(__u64 cookie, struct ipr_owner *o)
{
	struct ipr_owner *old = bpf_map_lookup_elem(&owners, &cookie);

	o->cookie = cookie;
	o->flags = old ? old->flags : 0;
	if (old && !o->netns)
		o->netns = old->netns;
	o->tgid = bpf_get_current_pid_tgid() >> 32;
	o->cgroup = bpf_get_current_cgroup_id();
	bpf_get_current_comm(o->comm, sizeof(o->comm));
	bpf_map_update_elem(&owners, &cookie, o, BPF_ANY);
}

/* Each family reads only its own fields: the verifier allows no others. */
static __always_inline void record4(__u64 cookie, struct bpf_sock *sk)
{
	struct ipr_owner o = { .local_port = sk->src_port, .local = { sk->src_ip4 } };

	record(cookie, &o);
}

static __always_inline void record6(__u64 cookie, struct bpf_sock *sk)
{
	struct ipr_owner o = { .local_port = sk->src_port };

	for (int i = 0; i < 4; i++)
		o.local[i] = sk->src_ip6[i];
	record(cookie, &o);
}

/* ---- events ---- */

static __always_inline struct ipr_bpf_event *event_new(__u32 kind, __u64 cookie, __u32 proto)
{
	struct ipr_bpf_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		__sync_fetch_and_add(&lost_events, 1);
		return NULL;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts = bpf_ktime_get_ns();
	e->kind = kind;
	e->cookie = cookie;
	e->protocol = (__u8)proto;
	return e;
}

/* The process making the call. */
static __always_inline void by_caller(struct ipr_bpf_event *e)
{
	e->tgid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

/* The process of the socket's record (for what the kernel does on its own). */
static __always_inline void by_record(struct ipr_bpf_event *e, const struct ipr_owner *o)
{
	if (!o)
		return;
	e->tgid = o->tgid;
	__builtin_memcpy(e->comm, o->comm, sizeof(e->comm));
}

static __always_inline void copy16(__u32 *to, const __u32 *from)
{
	for (int i = 0; i < 4; i++)
		to[i] = from[i];
}

/* From a context's field: each word at its own constant offset (no pointer into ctx). */
#define COPY_CTX16(to, field)          \
	do {                           \
		(to)[0] = (field)[0];  \
		(to)[1] = (field)[1];  \
		(to)[2] = (field)[2];  \
		(to)[3] = (field)[3];  \
	} while (0)

static __always_inline int wanted(__u32 what, __u64 netns)
{
	return (want_events & what) && netns == want_netns;
}

/* ---- the hooks ---- */

SEC("cgroup/sock_create")
int owner_create(struct bpf_sock *sk)
{
	struct ipr_owner o = { .netns = bpf_get_netns_cookie(sk) };

	record(bpf_get_socket_cookie(sk), &o);
	return 1;
}

/* A socket just bound: its record, also by its local end; a BIND event. */
static __always_inline void bound_now(struct bpf_sock *sk, __u64 cookie, int v6)
{
	struct ipr_owner *o = bpf_map_lookup_elem(&owners, &cookie);
	struct ipr_owner_key k = { .local_port = sk->src_port, .protocol = sk->protocol };
	struct ipr_bpf_event *e;

	if (!o)
		return;
	copy16(k.local, o->local);
	bpf_map_update_elem(&bound, &k, o, BPF_ANY);
	if (!wanted(WANT_SOCKETS, bpf_get_netns_cookie(sk)))
		return;
	e = event_new(IPR_EVENT_SOCKET_BIND, cookie, sk->protocol);
	if (!e)
		return;
	by_caller(e);
	e->v6 = v6;
	copy16(e->local, o->local);
	e->local_port = sk->src_port;
	bpf_ringbuf_submit(e, 0);
}

SEC("cgroup/post_bind4")
int owner_bind4(struct bpf_sock *sk)
{
	__u64 cookie = bpf_get_socket_cookie(sk);

	record4(cookie, sk);
	bound_now(sk, cookie, 0);
	return 1;
}

SEC("cgroup/post_bind6")
int owner_bind6(struct bpf_sock *sk)
{
	__u64 cookie = bpf_get_socket_cookie(sk);

	record6(cookie, sk);
	bound_now(sk, cookie, 1);
	return 1;
}

/* A connection's addresses, IPv4 in word 0. Every field is read, whatever the family:
 * a load chosen by the family would be one from a computed pointer into ctx, which
 * the verifier refuses. */
struct tcp_ends {
	__u32 local[4], remote[4];
	int v6;
};

static __always_inline void ends_of(struct bpf_sock_ops *ctx, struct tcp_ends *t)
{
	__u32 l4 = ctx->local_ip4, r4 = ctx->remote_ip4;

	asm volatile("" : "+r"(l4), "+r"(r4)); /* loaded here, not where used */
	COPY_CTX16(t->local, ctx->local_ip6);
	COPY_CTX16(t->remote, ctx->remote_ip6);
	t->v6 = ctx->family != AF_INET;
	if (t->v6 && !(t->remote[0] == 0 && t->remote[1] == 0 &&
		       t->remote[2] == bpf_htonl(0xffff)))
		return;
	if (t->v6) { /* an IPv6 socket's IPv4 connection: as its packets carry it */
		l4 = t->local[3];
		r4 = t->remote[3];
		t->v6 = 0;
	}
	__builtin_memset(t, 0, sizeof(t->local) + sizeof(t->remote));
	t->local[0] = l4;
	t->remote[0] = r4;
}

/* An established connection's record, also by its addresses and ports. */
static __always_inline void connected(struct bpf_sock_ops *ctx, const struct ipr_owner *o)
{
	struct ipr_owner_key k = { .local_port = ctx->local_port, .protocol = 6 };
	struct tcp_ends t;

	ends_of(ctx, &t);
	copy16(k.local, t.local);
	copy16(k.remote, t.remote);
	k.remote_port = (__u16)bpf_ntohl(ctx->remote_port);
	bpf_map_update_elem(&conns, &k, o, BPF_ANY);
}

/* The record of the socket bound to a connection's local end, that address or any. */
static __always_inline struct ipr_owner *listener_of(struct bpf_sock_ops *ctx)
{
	struct ipr_owner_key k = { .local_port = ctx->local_port, .protocol = 6 };
	struct ipr_owner *o;
	struct tcp_ends t;

	ends_of(ctx, &t);
	copy16(k.local, t.local);
	o = bpf_map_lookup_elem(&bound, &k);
	if (o)
		return o;
	__builtin_memset(k.local, 0, sizeof(k.local));
	return bpf_map_lookup_elem(&bound, &k);
}

/* A connection's record learns its local end, bound by the kernel at connect. */
static __always_inline void bound_by_kernel(struct bpf_sock_ops *ctx, struct ipr_owner *o)
{
	struct tcp_ends t;

	ends_of(ctx, &t);
	o->local_port = ctx->local_port;
	copy16(o->local, t.local);
}

/* A TCP event of the connection ctx, by its record or by the caller. */
static __always_inline void tcp_event(struct bpf_sock_ops *ctx, __u32 kind, __u64 cookie,
				      const struct ipr_owner *o, __u64 parent, int outbound)
{
	struct ipr_bpf_event *e = event_new(kind, cookie, 6);
	struct tcp_ends t;

	if (!e)
		return;
	ends_of(ctx, &t);
	if (kind == IPR_EVENT_SOCKET_LISTEN)
		by_caller(e);
	else
		by_record(e, o);
	e->parent = parent;
	e->outbound = (__u8)outbound;
	e->v6 = t.v6;
	e->local_port = (__u16)ctx->local_port;
	e->remote_port = (__u16)bpf_ntohl(ctx->remote_port); /* the port is in the top half */
	copy16(e->local, t.local);
	copy16(e->remote, t.remote);
	bpf_ringbuf_submit(e, 0);
}

/* An accepted connection passes no hook in its process: it takes its listener's
 * record. Events: listen, accept, and TCP flows established and closed. */
SEC("sockops")
int owner_sockops(struct bpf_sock_ops *ctx)
{
	__u64 cookie = bpf_get_socket_cookie(ctx), parent = 0;
	int flows = wanted(WANT_FLOWS, bpf_get_netns_cookie(ctx));
	int sockets = wanted(WANT_SOCKETS, bpf_get_netns_cookie(ctx));
	struct ipr_owner *o = NULL;

	switch (ctx->op) {
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		o = listener_of(ctx);
		if (o) {
			struct ipr_owner child = *o;

			parent = o->cookie;
			child.cookie = cookie;
			child.flags = 0;
			bpf_map_update_elem(&owners, &cookie, &child, BPF_ANY);
		}
		if (sockets)
			tcp_event(ctx, IPR_EVENT_SOCKET_ACCEPT, cookie, o, parent, 0);
		/* fall through */
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
		o = bpf_map_lookup_elem(&owners, &cookie);
		if (o) {
			bound_by_kernel(ctx, o);
			connected(ctx, o);
		}
		if (!flows)
			return 1;
		bpf_sock_ops_cb_flags_set(ctx, ctx->bpf_sock_ops_cb_flags |
					       BPF_SOCK_OPS_STATE_CB_FLAG);
		tcp_event(ctx, IPR_EVENT_FLOW_ESTABLISHED, cookie, o, parent,
			  ctx->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB);
		return 1;
	case BPF_SOCK_OPS_STATE_CB:
		if (flows && ctx->args[1] == TCP_CLOSE)
			tcp_event(ctx, IPR_EVENT_FLOW_DELETED, cookie,
				  bpf_map_lookup_elem(&owners, &cookie), 0,
				  0 /* user space knows */);
		return 1;
	case BPF_SOCK_OPS_TCP_LISTEN_CB:
		if (sockets)
			tcp_event(ctx, IPR_EVENT_SOCKET_LISTEN, cookie, NULL, 0, 0);
		return 1;
	}
	return 1;
}

/* ---- bind and connect: reported, and refused by the rule ---- */

/* A bind or connect call: addresses as 128-bit numbers, word 0 least significant. */
struct call {
	__u32 event, pid, protocol, v6, local_port, remote_port, loopback;
	__u32 local[4], remote[4];
};

static __always_inline void number4(__u32 *w, __u32 ip4)
{
	w[0] = bpf_ntohl(ip4);
	w[1] = 0xffff;
	w[2] = w[3] = 0;
}

static __always_inline void number6(__u32 *w, const __u32 *ip6)
{
	for (int i = 0; i < 4; i++)
		w[3 - i] = bpf_ntohl(ip6[i]);
}

static __always_inline int cmp_words(const __u32 *a, const __u32 *b, int words)
{
	for (int i = 3; i >= 0; i--) {
		if (i >= words)
			continue;
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	}
	return 0;
}

static __always_inline int holds(const struct call *c, const struct ipr_bpf_call_test *t)
{
	__u32 v[4] = {};
	int words = 1, r;

	switch (t->field) {
	case IPR_BPF_EVENT: v[0] = c->event; break;
	case IPR_BPF_PID: v[0] = c->pid; break;
	case IPR_BPF_PROTOCOL: v[0] = c->protocol; break;
	case IPR_BPF_IPV6: v[0] = c->v6; break;
	case IPR_BPF_LOCAL_ADDR: copy16(v, c->local); words = 4; break;
	case IPR_BPF_LOCAL_PORT: v[0] = c->local_port; break;
	case IPR_BPF_REMOTE_ADDR: copy16(v, c->remote); words = 4; break;
	case IPR_BPF_REMOTE_PORT: v[0] = c->remote_port; break;
	case IPR_BPF_LOOPBACK: v[0] = c->loopback; break;
	}
	r = cmp_words(v, t->value, words);
	switch (t->cmp) {
	case 0: return r == 0;
	case 1: return r != 0;
	case 2: return r < 0;
	case 3: return r <= 0;
	case 4: return r > 0;
	default: return r >= 0;
	}
}

/* Whether the rule refuses the call. */
static __always_inline int refused(const struct call *c)
{
	__u32 i = 0;

	if (!rule_tests)
		return 0;
	for (int step = 0; step < IPR_BPF_CALL_TESTS; step++) {
		struct ipr_bpf_call_test *t;

		if (i == IPR_BPF_CALL_MATCH)
			return 1;
		if (i >= rule_tests)
			return 0;
		t = bpf_map_lookup_elem(&rule, &i);
		if (!t)
			return 0;
		i = holds(c, t) ? t->yes : t->no;
	}
	return i == IPR_BPF_CALL_MATCH;
}

static __always_inline int is_loopback(const struct call *c)
{
	if (!c->v6)
		return (c->remote[0] >> 24) == 127;
	return !c->remote[3] && !c->remote[2] && !c->remote[1] && c->remote[0] == 1;
}

/* The call of ctx: its socket's addresses (as far as bound) and the one asked for.
 * event and v6 are constants of each program: each reads only its family's fields. */
static __always_inline void call_of(struct bpf_sock_addr *ctx, __u32 event, int v6,
				    struct call *c)
{
	int bind = event == IPR_EVENT_SOCKET_BIND;

	__builtin_memset(c, 0, sizeof(*c));
	c->event = event;
	c->pid = bpf_get_current_pid_tgid() >> 32;
	c->protocol = ctx->protocol;
	if (v6) {
		__u32 asked[4], own[4];

		COPY_CTX16(asked, ctx->user_ip6);
		COPY_CTX16(own, ctx->sk->src_ip6);
		number6(c->local, bind ? asked : own);
		if (!bind)
			number6(c->remote, asked);
		c->v6 = !(asked[0] == 0 && asked[1] == 0 && asked[2] == bpf_htonl(0xffff));
	} else {
		__u32 asked = ctx->user_ip4, own = ctx->sk->src_ip4;

		number4(c->local, bind ? asked : own);
		if (!bind)
			number4(c->remote, asked);
	}
	c->local_port = bind ? bpf_ntohs((__u16)ctx->user_port) : ctx->sk->src_port;
	c->remote_port = bind ? 0 : bpf_ntohs((__u16)ctx->user_port);
	c->loopback = !bind && is_loopback(c);
}

/* The event of a call that was refused, or of any connect (bind: post_bind reports). */
static __always_inline void call_event(struct bpf_sock_addr *ctx, const struct call *c,
				       __u32 event, int v6, int blocked)
{
	struct ipr_bpf_event *e = event_new(event, bpf_get_socket_cookie(ctx), c->protocol);
	int bind = event == IPR_EVENT_SOCKET_BIND;

	if (!e)
		return;
	by_caller(e);
	e->v6 = v6;
	e->outbound = !bind;
	e->blocked = blocked;
	e->local_port = c->local_port;
	e->remote_port = c->remote_port;
	if (v6 && bind) {
		COPY_CTX16(e->local, ctx->user_ip6);
	} else if (v6) {
		COPY_CTX16(e->local, ctx->sk->src_ip6);
		COPY_CTX16(e->remote, ctx->user_ip6);
	} else if (bind) {
		e->local[0] = ctx->user_ip4;
	} else {
		e->local[0] = ctx->sk->src_ip4;
		e->remote[0] = ctx->user_ip4;
	}
	bpf_ringbuf_submit(e, 0);
}

/* A bind or connect: 1 to let it be, 0 to refuse it (EPERM). */
static __always_inline int calling(struct bpf_sock_addr *ctx, __u32 event, int v6)
{
	__u64 netns = bpf_get_netns_cookie(ctx);
	struct call c;
	int no;

	if (event == IPR_EVENT_SOCKET_CONNECT) {
		struct ipr_owner o = {};

		record(bpf_get_socket_cookie(ctx), &o);
	}
	if (!want_events || netns != want_netns)
		return 1;
	call_of(ctx, event, v6, &c);
	no = refused(&c);
	if ((want_events & WANT_SOCKETS) && (no || event == IPR_EVENT_SOCKET_CONNECT))
		call_event(ctx, &c, event, v6, no);
	return !no;
}

SEC("cgroup/connect4")
int owner_connect4(struct bpf_sock_addr *ctx)
{
	return calling(ctx, IPR_EVENT_SOCKET_CONNECT, 0);
}

SEC("cgroup/connect6")
int owner_connect6(struct bpf_sock_addr *ctx)
{
	return calling(ctx, IPR_EVENT_SOCKET_CONNECT, 1);
}

SEC("cgroup/bind4")
int owner_prebind4(struct bpf_sock_addr *ctx)
{
	return calling(ctx, IPR_EVENT_SOCKET_BIND, 0);
}

SEC("cgroup/bind6")
int owner_prebind6(struct bpf_sock_addr *ctx)
{
	return calling(ctx, IPR_EVENT_SOCKET_BIND, 1);
}

/* sendmsg and recvmsg of unconnected UDP: the socket is bound. */
#define DATAGRAM_HOOK(name, section, fill)                      \
	SEC(section)                                            \
	int name(struct bpf_sock_addr *ctx)                     \
	{                                                       \
		fill(bpf_get_socket_cookie(ctx), ctx->sk);      \
		return 1;                                       \
	}

DATAGRAM_HOOK(owner_sendmsg4, "cgroup/sendmsg4", record4)
DATAGRAM_HOOK(owner_sendmsg6, "cgroup/sendmsg6", record6)
DATAGRAM_HOOK(owner_recvmsg4, "cgroup/recvmsg4", record4)
DATAGRAM_HOOK(owner_recvmsg6, "cgroup/recvmsg6", record6)

/* The local end as last seen bound, the remote end the socket is connected to. */
static __always_inline void key_of(struct bpf_sock *sk, const struct ipr_owner *o,
				   struct ipr_owner_key *k)
{
	k->protocol = sk->protocol;
	k->local_port = o->local_port;
	k->remote_port = bpf_ntohs(sk->dst_port);
	copy16(k->local, o->local);
	if (sk->family == AF_INET)
		k->remote[0] = sk->dst_ip4;
	else
		copy16(k->remote, sk->dst_ip6);
}

/* The close event, named after the process that used the socket last (a forked
 * copy's holder may drop the last reference after it); a UDP socket's reported
 * flows end with it (user space says so). */
static __always_inline void released_event(struct bpf_sock *sk, __u64 cookie,
					   const struct ipr_owner *o,
					   const struct ipr_owner_key *k)
{
	__u64 netns = bpf_get_netns_cookie(sk);
	int udp = (want_events & WANT_FLOWS) && (o->flags & IPR_OWNER_UDP_FLOWS);
	struct ipr_bpf_event *e;

	if (!wanted(WANT_SOCKETS, netns) && !(udp && netns == want_netns))
		return;
	e = event_new(wanted(WANT_SOCKETS, netns) ? IPR_EVENT_SOCKET_CLOSE
						    : IPR_EVENT_RELEASED_UDP,
		      cookie, k->protocol);
	if (!e)
		return;
	by_record(e, o); /* whoever drops the last reference, the socket's process */
	e->v6 = sk->family != AF_INET;
	e->parent = udp; /* user space: this socket's UDP flows end */
	copy16(e->local, k->local);
	copy16(e->remote, k->remote);
	e->local_port = k->local_port;
	e->remote_port = k->remote_port;
	bpf_ringbuf_submit(e, 0);
}

SEC("cgroup/sock_release")
int owner_release(struct bpf_sock *sk)
{
	__u64 cookie = bpf_get_socket_cookie(sk);
	struct ipr_owner *o = bpf_map_lookup_elem(&owners, &cookie);
	struct ipr_owner_key k = {};

	if (!o)
		return 1;
	key_of(sk, o, &k);
	if (k.local_port || k.remote_port)
		bpf_map_update_elem(&released, &k, o, BPF_ANY);
	if (want_events)
		released_event(sk, cookie, o, &k);
	return 1;
}

/* ---- UDP flows: a socket's first datagram to or from each remote end ---- */

struct udp_seen {
	__u32 local[4], remote[4];
	__u16 local_port, remote_port;
	int v6;
};

/* The addresses and ports of a UDP datagram of skb; 0, or -1 if it is none. */
static __always_inline int udp_of(struct __sk_buff *skb, struct udp_seen *u, int egress)
{
	__u32 a[8];
	__u16 ports[2];
	__u8 proto;
	int l4;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		__u8 vhl;

		if (bpf_skb_load_bytes(skb, 0, &vhl, 1) || bpf_skb_load_bytes(skb, 9, &proto, 1) ||
		    bpf_skb_load_bytes(skb, 12, a, 8))
			return -1;
		l4 = (vhl & 0xf) * 4;
		u->v6 = 0;
		a[4] = a[1];
		a[1] = 0;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		if (bpf_skb_load_bytes(skb, 6, &proto, 1) || bpf_skb_load_bytes(skb, 8, a, 32))
			return -1;
		l4 = 40;
		u->v6 = 1;
	} else {
		return -1;
	}
	if (proto != 17 || bpf_skb_load_bytes(skb, l4, ports, 4))
		return -1;
	copy16(u->local, egress ? a : a + 4);
	copy16(u->remote, egress ? a + 4 : a);
	u->local_port = bpf_ntohs(ports[egress ? 0 : 1]);
	u->remote_port = bpf_ntohs(ports[egress ? 1 : 0]);
	return 0;
}

static __always_inline void udp_flow(struct __sk_buff *skb, int egress)
{
	struct ipr_udp_flow f = { .cookie = bpf_get_socket_cookie(skb) };
	struct ipr_owner *o = bpf_map_lookup_elem(&owners, &f.cookie);
	struct ipr_bpf_event *e;
	struct udp_seen u;
	__u8 one = 1;

	if (!o || o->netns != want_netns || udp_of(skb, &u, egress))
		return;
	copy16(f.remote, u.remote);
	f.remote_port = u.remote_port;
	if (bpf_map_lookup_elem(&udp_flows, &f))
		return;
	bpf_map_update_elem(&udp_flows, &f, &one, BPF_ANY);
	o->flags |= IPR_OWNER_UDP_FLOWS;
	e = event_new(IPR_EVENT_FLOW_ESTABLISHED, f.cookie, 17);
	if (!e)
		return;
	by_record(e, o);
	e->v6 = u.v6;
	e->outbound = egress;
	copy16(e->local, u.local);
	copy16(e->remote, u.remote);
	e->local_port = u.local_port;
	e->remote_port = u.remote_port;
	bpf_ringbuf_submit(e, 0);
}

SEC("cgroup_skb/egress")
int owner_udp_out(struct __sk_buff *skb)
{
	if (want_events & WANT_FLOWS)
		udp_flow(skb, 1);
	return 1;
}

SEC("cgroup_skb/ingress")
int owner_udp_in(struct __sk_buff *skb)
{
	if (want_events & WANT_FLOWS)
		udp_flow(skb, 0);
	return 1;
}
