/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* owner.h - the records owner.bpf.c keeps, shared with user space. */
#ifndef IPR_OWNER_H
#define IPR_OWNER_H

#include <linux/types.h>

#define IPR_OWNER_SOCKETS 65536  /* sockets remembered (least recently used go first) */
#define IPR_OWNER_RELEASED 16384 /* released sockets remembered by address */
#define IPR_OWNER_BOUND 16384    /* bound sockets remembered by local end */
#define IPR_OWNER_COMM 16        /* TASK_COMM_LEN */

struct ipr_owner {
	__u64 cookie; /* the socket's (in the bound map: the bound socket's) */
	__u32 tgid;   /* in the initial pid namespace */
	__u32 flags;  /* IPR_OWNER_* */
	__u32 local_port; /* the socket's local end when last seen bound (0: not seen) */
	__u32 local[4];
	__u64 cgroup; /* cgroup v2 id of the process */
	__u64 netns;  /* the socket's network namespace (0: created before the programs) */
	char comm[IPR_OWNER_COMM];
};

/* A released socket: IPv4 addresses in word 0, the rest zero; ports in host order. The
 * local end is the one last seen bound (none for a socket only connected), the remote
 * end the one connected to (none for an unconnected socket). */
struct ipr_owner_key {
	__u32 local[4];
	__u32 remote[4];
	__u16 local_port;
	__u16 remote_port;
	__u32 protocol;
};

#define IPR_OWNER_UDP_FLOWS 1u /* flows of this UDP socket were reported */

/* Socket and flow events: enum ipr_event_kind of ipredir.h, and one of ours. */
#ifndef IPREDIR_H
#define IPR_EVENT_FLOW_ESTABLISHED 1
#define IPR_EVENT_FLOW_DELETED 2
#define IPR_EVENT_SOCKET_BIND 3
#define IPR_EVENT_SOCKET_CONNECT 4
#define IPR_EVENT_SOCKET_LISTEN 5
#define IPR_EVENT_SOCKET_ACCEPT 6
#define IPR_EVENT_SOCKET_CLOSE 7
#endif
#define IPR_EVENT_RELEASED_UDP 100 /* a UDP socket with reported flows is gone */
#define IPR_EVENT_RING (1u << 20)  /* bytes of the ring buffer of events */
#define IPR_UDP_FLOWS 16384        /* UDP flows remembered */

/* What the programs report when events are asked for (see ipr_events_open()). */
struct ipr_bpf_event {
	__u64 ts;      /* CLOCK_MONOTONIC, ns */
	__u64 cookie;  /* the socket */
	__u64 parent;  /* an accepted connection's listener */
	__u32 kind;
	__u32 tgid;
	__u32 local[4], remote[4]; /* IPv4 in word 0 */
	__u16 local_port, remote_port;
	__u8 v6, protocol, outbound, blocked;
	char comm[IPR_OWNER_COMM];
};

/* A test of a bind or connect: struct ipr_call_test of ipredir.h, field for field. */
struct ipr_bpf_call_test {
	__u8 field, cmp;
	__u16 yes, no;
	__u32 value[4];
};

#define IPR_BPF_CALL_TESTS 64
#define IPR_BPF_CALL_MATCH 0xfffe
#define IPR_BPF_CALL_NO_MATCH 0xffff
enum { IPR_BPF_ZERO, IPR_BPF_EVENT, IPR_BPF_PID, IPR_BPF_PROTOCOL, IPR_BPF_IPV6,
       IPR_BPF_LOCAL_ADDR, IPR_BPF_LOCAL_PORT, IPR_BPF_REMOTE_ADDR, IPR_BPF_REMOTE_PORT,
       IPR_BPF_LOOPBACK };

/* A UDP flow: a socket and the remote end it exchanged datagrams with. */
struct ipr_udp_flow {
	__u64 cookie;
	__u32 remote[4];
	__u32 remote_port;
};

#endif
