/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* monitor.h - what monitor.bpf.c copies and is configured with, shared with user space. */
#ifndef IPR_MONITOR_H
#define IPR_MONITOR_H

#include <linux/types.h>

#define IPR_MON_INSNS 64          /* classic BPF instructions the program runs (xt_bpf's limit) */
#define IPR_MON_RING (64u << 20)  /* ring buffer bytes: copies a slow reader can fall behind */
#define IPR_MON_WAKE_MIN (64u << 10) /* unread bytes that wake the reader (64 copies' worth, */
#define IPR_MON_WAKE_MAX (2u << 20)  /* within these); less waits for the timer */
#define IPR_MON_FLUSH_NS 10000000 /* a quiet link still delivers within 10 ms */
#define IPR_MON_IFNAMSIZ 16

/* One instruction of a classic BPF program (struct sock_filter). */
struct ipr_mon_insn {
	__u16 code;
	__u8 jt;
	__u8 jf;
	__u32 k;
};

enum ipr_mon_flags {
	IPR_MON_UID = 1u << 0, /* uid and gid are of the packet's local socket */
	IPR_MON_GSO = 1u << 1, /* a GSO super-packet */
};

/* One copy in the ring buffer: this header, then caplen bytes from the IP header on. */
struct ipr_mon_record {
	__u64 ns;          /* CLOCK_MONOTONIC at the hook */
	__u32 len;         /* bytes of the whole packet */
	__u32 caplen;      /* bytes copied */
	__u32 mark;
	__u32 ifindex_in;  /* 0: none */
	__u32 ifindex_out; /* 0: none */
	__u32 uid;         /* see IPR_MON_UID */
	__u32 gid;
	__u8 hook;         /* NF_INET_LOCAL_IN, ... */
	__u8 pf;           /* NFPROTO_IPV4 or NFPROTO_IPV6 */
	__u16 flags;       /* enum ipr_mon_flags */
};

/* The interface conditions of the nf_tables rules, as names (a device may come later). */
struct ipr_mon_ifnames {
	char in[IPR_MON_IFNAMSIZ];    /* input interface must be; "" = any */
	char out[IPR_MON_IFNAMSIZ];   /* output interface must be; "" = any */
	char either[IPR_MON_IFNAMSIZ]; /* arriving on or leaving through; "" = any */
	char skip_prefix[IPR_MON_IFNAMSIZ]; /* packets arriving on such devices are skipped */
};

#endif /* IPR_MONITOR_H */
