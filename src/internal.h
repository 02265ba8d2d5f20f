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
	unsigned int queue;        /* NFQUEUE number */
	const struct sock_filter *bpf; /* xt_bpf program; NULL = no match */
	unsigned int bpf_len;
	enum ipr_queue_kind queue_kind;
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

/* Delete the table and free r (NULL is ignored). */
void ipr_rules_remove(struct ipr_rules *r);

/* ---- queue.c / verdict.c: the NFQUEUE engine ---- */

#define IPR_BATCH_MAX 1024     /* packets one ipr_recv_batch() call can return */
#define IPR_PENDING_MAX 1024   /* verdicts queued before an automatic flush */
#define IPR_PENDING_BYTES (1u << 20) /* new packet bytes queued before a flush */

/* One verdict waiting for ipr_flush(). */
struct ipr_pending {
	uint32_t id;
	uint32_t len;      /* bytes at data; 0 = unchanged */
	const void *data;  /* new packet bytes, or NULL */
	uint8_t verdict;   /* NF_ACCEPT or NF_DROP */
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
	uint32_t last_id;             /* newest packet id received */
	int have_id;                  /* last_id is valid */
	uint64_t id_gaps;             /* ids the kernel skipped (socket full) */
	struct mmsghdr *rx_msgs;      /* recvmmsg vectors, IPR_BATCH_MAX each */
	struct iovec *rx_iov;
	struct iovec *tx_iov;         /* sendmsg vectors for a flush */
	uint8_t *tx_hdrs;             /* netlink headers of a flush */
};

struct ipr_handle {
	struct ipr_queue queue;
	struct ipr_filter filter;
	struct ipr_rules *rules;
	struct ipr_info info;
	struct ipr_stats stats;
	unsigned int flags;         /* enum ipr_open_flags */
	unsigned int snaplen;
	char comment[128];          /* table comment: nft keeps at most 127 characters */
};

/* Open the netlink socket, bind a queue (opts->queue or a free one) and configure it. */
int ipr_queue_open(struct ipr_queue *q, unsigned int queue, unsigned int snaplen,
		   unsigned int maxlen, unsigned int open_flags);

/* Accept every packet still held (received or not), unbind, close. */
int ipr_queue_close(struct ipr_queue *q);

/* Queue one verdict (already validated). Flushes when the list is full. */
int ipr_queue_verdict(struct ipr_queue *q, uint32_t id, int verdict, const void *data,
		      uint32_t len);

/* Send every queued verdict in one sendmsg. */
int ipr_queue_flush(struct ipr_queue *q);

/* Kernel counters of the queue from /proc/net/netfilter/nfnetlink_queue. */
int ipr_queue_kernel_stats(const struct ipr_queue *q, uint64_t *queue_dropped,
			   uint64_t *user_dropped, uint64_t *waiting, uint64_t *last_id);

#endif /* IPREDIR_INTERNAL_H */
