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
	__u32 tgid;   /* in the initial pid namespace */
	__u32 local_port; /* the socket's local end when last seen bound (0: not seen) */
	__u32 local[4];
	__u64 cgroup; /* cgroup v2 id of the process */
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

#endif
