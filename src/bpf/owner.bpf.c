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
 */
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "owner.h"

char LICENSE[] SEC("license") = "GPL";

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

/* Bound sockets by local end (remote zero): whose listener a connection is. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, IPR_OWNER_BOUND);
	__type(key, struct ipr_owner_key);
	__type(value, struct ipr_owner);
} bound SEC(".maps");

static __always_inline void record(__u64 cookie, struct ipr_owner *o)
{
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

SEC("cgroup/sock_create")
int owner_create(struct bpf_sock *sk)
{
	struct ipr_owner o = {};

	record(bpf_get_socket_cookie(sk), &o);
	return 1;
}

/* A socket just bound: its record, also by its local end. */
static __always_inline void bound_now(struct bpf_sock *sk, __u64 cookie)
{
	struct ipr_owner *o = bpf_map_lookup_elem(&owners, &cookie);
	struct ipr_owner_key k = { .local_port = sk->src_port, .protocol = sk->protocol };

	if (!o)
		return;
	for (int i = 0; i < 4; i++)
		k.local[i] = o->local[i];
	bpf_map_update_elem(&bound, &k, o, BPF_ANY);
}

SEC("cgroup/post_bind4")
int owner_bind4(struct bpf_sock *sk)
{
	__u64 cookie = bpf_get_socket_cookie(sk);

	record4(cookie, sk);
	bound_now(sk, cookie);
	return 1;
}

SEC("cgroup/post_bind6")
int owner_bind6(struct bpf_sock *sk)
{
	__u64 cookie = bpf_get_socket_cookie(sk);

	record6(cookie, sk);
	bound_now(sk, cookie);
	return 1;
}

/* An accepted TCP connection passes no hook in its process: it takes the record of
 * the socket bound to its local end (its listener), with that address or any. */
SEC("sockops")
int owner_accept(struct bpf_sock_ops *ctx)
{
	struct ipr_owner_key k = { .local_port = ctx->local_port, .protocol = 6 };
	struct ipr_owner *o;
	__u64 cookie;

	if (ctx->op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		return 1;
	if (ctx->family == 2 /* AF_INET */) {
		k.local[0] = ctx->local_ip4;
	} else {
		for (int i = 0; i < 4; i++)
			k.local[i] = ctx->local_ip6[i];
	}
	o = bpf_map_lookup_elem(&bound, &k);
	if (!o) {
		__builtin_memset(k.local, 0, sizeof(k.local));
		o = bpf_map_lookup_elem(&bound, &k);
	}
	cookie = bpf_get_socket_cookie(ctx);
	if (o)
		bpf_map_update_elem(&owners, &cookie, o, BPF_ANY);
	return 1;
}

/* connect: the socket may not be bound yet (its record keeps no local end). */
#define CONNECT_HOOK(name, section)                             \
	SEC(section)                                            \
	int name(struct bpf_sock_addr *ctx)                     \
	{                                                       \
		struct ipr_owner o = {};                        \
		record(bpf_get_socket_cookie(ctx), &o);         \
		return 1;                                       \
	}

/* sendmsg and recvmsg of unconnected UDP: the socket is bound. */
#define DATAGRAM_HOOK(name, section, fill)                      \
	SEC(section)                                            \
	int name(struct bpf_sock_addr *ctx)                     \
	{                                                       \
		fill(bpf_get_socket_cookie(ctx), ctx->sk);      \
		return 1;                                       \
	}

CONNECT_HOOK(owner_connect4, "cgroup/connect4")
CONNECT_HOOK(owner_connect6, "cgroup/connect6")
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
	for (int i = 0; i < 4; i++)
		k->local[i] = o->local[i];
	if (sk->family == 2 /* AF_INET */) {
		k->remote[0] = sk->dst_ip4;
		return;
	}
	for (int i = 0; i < 4; i++)
		k->remote[i] = sk->dst_ip6[i];
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
	return 1;
}
