/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* internal.h - private declarations shared by the libipredir sources. */
#ifndef IPREDIR_INTERNAL_H
#define IPREDIR_INTERNAL_H

#include <linux/filter.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "ipredir.h"

#define IPR_EXPORT __attribute__((visibility("default")))
#define IPR_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* ---- errors and logging (handle.c) ---- */

/* Record the reason of a failure for ipr_last_error(), log it, return err (< 0). */
int ipr_fail(int err, const char *fmt, ...) IPR_PRINTF(2, 3);

/* Send one message to the log callback, if its level is enabled. */
void ipr_log(enum ipr_log_level level, const char *fmt, ...) IPR_PRINTF(2, 3);

/* ---- filter.c: pcap expression -> classic BPF ---- */

#define IPR_XT_BPF_MAX 64 /* instructions the xt_bpf match accepts (XT_BPF_MAX_NUM_INSTR) */

struct ipr_filter {
	struct sock_filter *prog;   /* full program for raw IP (DLT_RAW); NULL = match all */
	unsigned int prog_len;
	struct sock_filter *kernel; /* program the kernel runs; NULL = no kernel match */
	unsigned int kernel_len;
	int user;                   /* 1 if user space must run prog on each packet */
};

/*
 * Compile a pcap expression (NULL or "" = every IP packet) for raw IP packets.
 * When the program fits IPR_XT_BPF_MAX it becomes the kernel program; when it
 * does not, the kernel gets a coarse program that matches a superset and
 * f->user is set. force_user: no kernel program, user space runs prog.
 * Returns 0 or -EINVAL with the libpcap message and the expression.
 */
int ipr_filter_compile(const char *expr, int force_user, struct ipr_filter *f);

/* Run the full program over one packet: 1 = match, 0 = no match. */
int ipr_filter_match(const struct ipr_filter *f, const uint8_t *pkt, uint32_t caplen,
		     uint32_t len);

/* Free the programs in f (f itself is the caller's). */
void ipr_filter_free(struct ipr_filter *f);

/* ---- rules.c: the handle's own nf_tables table ---- */

enum ipr_queue_kind {
	IPR_QUEUE_AUTO = 0,   /* native where the kernel has it, compat otherwise */
	IPR_QUEUE_NATIVE = 1, /* nft queue expression */
	IPR_QUEUE_COMPAT = 2, /* xt NFQUEUE target v3 through nft_compat */
};

struct ipr_rules_spec {
	const char *table;         /* table name (family inet) */
	const char *comment;       /* stored as table user data, shown by status tools */
	unsigned int layers;       /* enum ipr_layer mask, non-zero */
	const char *interface;     /* arriving on or leaving through; NULL = any */
	const char *in_interface;  /* input interface must be; NULL = any */
	const char *out_interface; /* output interface must be; NULL = any */
	int priority;              /* chain priority is -priority */
	unsigned int queue;        /* first NFQUEUE number */
	unsigned int queues;       /* queues queue..queue+queues-1, flows spread by symhash; 0 = 1 */
	const struct sock_filter *bpf; /* xt_bpf program; NULL = no match */
	unsigned int bpf_len;
	enum ipr_queue_kind queue_kind;
	uint32_t inject_mark;      /* packets with (mark & inject_mask) == inject_mark skip us */
	uint32_t inject_mask;      /* 0 = no such rule */
	const char *skip_iifname_prefix; /* packets arriving on such devices skip us; NULL = none */
	uint32_t bypass_mark;      /* flows with (ct mark & bypass_mask) == bypass_mark skip us; */
	uint32_t bypass_mask;      /* a verdict sets these bits in the packet mark to offload its flow; 0 = off */
	uint64_t cgroup_id;        /* only sockets in this cgroup v2 (inode number); 0 = any */
	unsigned int cgroup_level; /* its depth below the cgroup v2 root */
	int monitor;               /* 1: log to NFLOG log_group instead of queueing */
	uint16_t log_group;
	uint32_t log_snaplen;
	uint16_t log_threshold;    /* packets the kernel batches per NFLOG message */
};

struct ipr_rules;

/*
 * Create the table (NFT_TABLE_F_OWNER), one base chain per layer and the queue
 * rules, atomically in one batch. Returns 0 or -errno with a reason.
 */
int ipr_rules_install(const struct ipr_rules_spec *spec, struct ipr_rules **out);

/* The queue kind that was installed (never IPR_QUEUE_AUTO). */
enum ipr_queue_kind ipr_rules_queue_kind(const struct ipr_rules *r);

/* Packets the queue rules sent toward the queue (sum of their counters). */
int ipr_rules_matched(struct ipr_rules *r, uint64_t *packets);

/*
 * Delete the queue rules but keep the chains: no new packets come, and packets
 * held in any queue of the namespace survive (unregistering a hook, as a table
 * deletion does, makes the kernel drop every queued packet of the namespace).
 */
int ipr_rules_detach(struct ipr_rules *r);

/* Delete the table and free r (NULL is ignored). */
void ipr_rules_remove(struct ipr_rules *r);

/* ---- nfnl.c: shared by the NFQUEUE and NFLOG engines ---- */

/* Start an nfnetlink request of subsystem subsys for resource res_id (queue or group). */
struct nlmsghdr *ipr_nfnl_put_header(void *buf, uint8_t subsys, uint8_t type, uint16_t res_id,
				     uint32_t seq);

/* One configuration request of the queue or log subsystem; zero the buffer:
 * mnl_attr_put() leaves attribute padding as it is, and the kernel gets it. */
#define IPR_REQUEST_SIZE 256

/* Send the request with NLM_F_ACK on fd and wait for its ack; 0 or the kernel's -errno. */
int ipr_nfnl_talk(int fd, struct nlmsghdr *nlh);

/* The enum ipr_layer of a netfilter hook number. */
uint8_t ipr_hook_layer(uint8_t hook);

/* Move a kernel sequence (packet id, NFLOG seq) on to value; returns the values it skipped. */
uint32_t ipr_seq_advance(uint32_t *last, int *have, uint32_t value);

/* ---- queue.c / verdict.c: the NFQUEUE engine ---- */

#define IPR_BATCH_MAX 1024     /* packets one ipr_recv_batch() call can return */
#define IPR_PENDING_MAX 1024   /* verdicts queued before an automatic flush */
#define IPR_PENDING_BYTES (1u << 20) /* new packet bytes queued before a flush */

/* One verdict waiting for ipr_flush(). */
struct ipr_pending {
	uint32_t id;
	uint32_t len;      /* bytes at data; 0 = unchanged */
	const void *data;  /* new packet bytes, or NULL */
	uint32_t mark;     /* new packet mark if set_mark */
	uint8_t set_mark;
	uint8_t verdict;   /* NF_ACCEPT or NF_DROP */
};

/* A packet handed to the program and not yet answered. */
struct ipr_held {
	uint32_t id;
	uint32_t next_free;  /* free-list link while unused */
	uint64_t since_ms;   /* when it was handed out; 0 = unused */
};

struct ipr_queue {
	int fd;                       /* NETLINK_NETFILTER socket bound to the queue */
	uint16_t num;                 /* queue number */
	uint32_t seq;                 /* netlink sequence of config requests */
	struct ipr_pending *pending;  /* verdicts not yet sent, in call order */
	unsigned int npending;
	size_t pending_bytes;
	int pending_sorted;           /* pending ids strictly increase */
	unsigned int undecided;       /* packets handed out without a verdict yet */
	struct ipr_held *held;        /* those packets, indexed by ipr_packet.priv */
	unsigned int held_cap;        /* the kernel's queue length: it never holds more */
	uint32_t free_held;           /* first unused entry; held_cap = none */
	unsigned int deadline_ms;     /* accept packets undecided this long */
	unsigned int busy_poll_us;    /* poll this long before a receive sleeps */
	unsigned int coalesce_us;     /* pause after a partial batch of several packets */
	int last_partial;             /* the last receive returned 2..max-1 packets */
	int poll_pays;                /* the last packet came within busy_poll_us */
	uint64_t next_scan_ms;        /* when to look for expired packets again */
	uint64_t expired;             /* packets accepted by the deadline */
	uint32_t last_id;             /* newest packet id received */
	int have_id;                  /* last_id is valid */
	uint64_t id_gaps;             /* ids the kernel skipped (socket full) */
	struct mmsghdr *rx_msgs;      /* recvmmsg vectors, IPR_BATCH_MAX each */
	struct iovec *rx_iov;
	struct iovec *tx_iov;         /* sendmsg vectors for a flush */
	uint8_t *tx_hdrs;             /* netlink headers of a flush */
};

/* ---- cgroup.c ---- */

/*
 * Resolve a cgroup v2 directory, given as a path below the cgroup2 mount
 * ("/system.slice/x.service") or as a filesystem path under it, to its id
 * (inode number) and depth. Returns 0, -ENOENT with a reason.
 */
int ipr_cgroup_resolve(const char *path, uint64_t *id, unsigned int *level);

/* ---- inject.c: packets that were never received ---- */

#define IPR_TUN_PREFIX "iprin" /* tun devices of ipredir handles: iprin<pid>.<n> */

struct ipr_inject {
	int raw4, raw6;            /* raw sockets (header included), marked; -1 until used */
	int tun;                   /* tun device for inbound packets; -1 until used */
	char tun_name[16];
	uint32_t mark;             /* packet mark of injected packets */
};

/*
 * Accept only what may be sent: one whole, well-formed IPv4 or IPv6 packet
 * (version, header length, total or payload length == len, headers ipr_parse()
 * accepts). Returns 0, -EMSGSIZE above 65535 bytes, -EINVAL otherwise, with the
 * reason in ipr_last_error().
 */
int ipr_inject_check(const void *pkt, size_t len);

/* Refuse malformed packets; send pkt out (IPR_LAYER_OUT) or in (IPR_LAYER_IN);
 * (NULL, 0) only opens that direction's socket or tun device. */
int ipr_inject_send(struct ipr_inject *in, const void *pkt, size_t len, unsigned int direction);

/* Close the sockets and remove the tun device. */
void ipr_inject_close(struct ipr_inject *in);

/* ---- monitor.c: NFLOG copies for IPR_OPEN_MONITOR handles ---- */

#define IPR_MONITOR_BATCH 64             /* copies the kernel gathers per NFLOG datagram */
#define IPR_MONITOR_DGRAM_MAX (128u << 10) /* largest NFLOG datagram (kernel skb limit) */
#define IPR_MONITOR_RX_DGRAMS 4          /* datagrams one receive call takes at most */

struct ipr_monitor {
	int fd;                    /* NETLINK_NETFILTER socket bound to the NFLOG group */
	uint16_t group;
	uint32_t seq;              /* netlink sequence of config requests */
	uint32_t snaplen;          /* bytes copied per packet */
	uint32_t last_seq;         /* NFULA_SEQ of the newest copy */
	int have_seq;
	uint64_t lost;             /* copies the kernel could not deliver (sequence gaps) */
	uint8_t *stash;            /* messages received but not yet handed out (max reached) */
	size_t stash_off;          /* the first of them */
	size_t stash_len;          /* their bytes; 0 = none */
	struct mmsghdr rx_msgs[IPR_MONITOR_RX_DGRAMS]; /* recvmmsg vectors */
	struct iovec rx_iov[IPR_MONITOR_RX_DGRAMS];
};

/* Bind a free NFLOG group and configure copies of snaplen bytes. */
int ipr_monitor_open(struct ipr_monitor *m, unsigned int snaplen);

/* ipr_recv_batch() for a monitor handle. */
int ipr_monitor_recv(struct ipr_handle *h, void *buf, size_t buflen, struct ipr_packet *pkts,
		     unsigned int max, unsigned int flags);

/* Unbind and close. */
void ipr_monitor_close(struct ipr_monitor *m);

struct ipr_handle {
	struct ipr_queue queue;
	struct ipr_monitor monitor;
	struct ipr_inject inject;
	struct ipr_filter filter;       /* shared by the members; the owner frees it */
	struct ipr_rules *rules;        /* the owner's */
	struct ipr_handle *owner;       /* the handle ipr_open returned */
	struct ipr_handle **members;    /* owner only: one handle per queue, [0] = owner */
	unsigned int nmembers;
	uint32_t bypass_mark, bypass_mask;
	struct ipr_info info;
	struct ipr_stats stats;
	unsigned int flags;         /* enum ipr_open_flags */
	unsigned int snaplen;
	char comment[128];          /* table comment: nft keeps at most 127 characters */
};

/* Open the netlink socket, bind queue num and configure it; -EBUSY if it is taken. */
int ipr_queue_open(struct ipr_queue *q, unsigned int num, unsigned int snaplen,
		   unsigned int maxlen, unsigned int open_flags, unsigned int deadline_ms);

/* Accept every packet still held (received or not), unbind, close. */
int ipr_queue_close(struct ipr_queue *q);

/* Queue one verdict (already validated). Flushes when the list is full. */
int ipr_queue_verdict(struct ipr_queue *q, const struct ipr_pending *v);

/* Take a handed-out packet off the held list; -EINVAL/-ETIMEDOUT if it is not on it. */
int ipr_queue_release(struct ipr_queue *q, const struct ipr_packet *pkt);

/* Send every queued verdict in one sendmsg. */
int ipr_queue_flush(struct ipr_queue *q);

/* Kernel counters of the queue from /proc/net/netfilter/nfnetlink_queue. */
int ipr_queue_kernel_stats(const struct ipr_queue *q, uint64_t *queue_dropped,
			   uint64_t *user_dropped, uint64_t *waiting, uint64_t *last_id);

#endif /* IPREDIR_INTERNAL_H */
