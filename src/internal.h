/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * internal.h - private declarations shared by the libipredir sources.
 *
 * A file calls only files of the layers below its own (scripts/check-layers.sh
 * checks it over the objects); engines are reached through struct ipr_engine:
 *
 *   handle.c                          open and close: the orchestration
 *   engine.c                          the data-path calls, passed to the engine
 *   nfqueue.c nflog.c bpfmon.c        the engines
 *   watch.c                           redirectors opened and closed, as they happen
 *   verdict.c options.c status.c inject.c rules.c
 *   nfnl.c filter.c packet.c cgroup.c rules_batch.c rules_expr.c
 *   error.c                           last error and log callback
 */
#ifndef IPREDIR_INTERNAL_H
#define IPREDIR_INTERNAL_H

#include <errno.h>
#include <linux/filter.h>
#include <sched.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "ipredir.h"

#define IPR_EXPORT __attribute__((visibility("default")))
#define IPR_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* ---- error.c: the last error and the log callback ---- */

#define IPR_ERROR_MAX 512 /* bytes of one reason or log message */

/* Record the reason of a failure for ipr_last_error(), log it, return err (< 0). */
int ipr_fail(int err, const char *fmt, ...) IPR_PRINTF(2, 3);

/* Send one message to the log callback, if its level is enabled. */
void ipr_log(enum ipr_log_level level, const char *fmt, ...) IPR_PRINTF(2, 3);

/* ---- options.c: ipr_options copied, completed and checked, once ---- */

struct ipr_engine;
struct nlattr;
struct nlmsghdr;

/*
 * Copy the caller's options (from an older or newer header) into *out, fill in
 * the defaults and refuse absurd values, each with a reason: 0 or -EINVAL,
 * -E2BIG for fields this library does not know.
 */
int ipr_options_load(const struct ipr_options *in, struct ipr_options *out);

/* Refuse options the engine cannot serve (an observer holds no queue): 0 or -EINVAL. */
int ipr_options_fit(const struct ipr_options *o, const struct ipr_engine *e);

/* Whether the monitor engine called name ("bpf", "nflog") may serve a monitor handle:
 * yes unless the environment's IPREDIR_MONITOR_ENGINE names another. */
int ipr_engine_allowed(const char *name);

/* Refuse a value out of the range ipr_open() allows for param: 0 or -EINVAL. */
int ipr_param_check(enum ipr_param param, uint64_t value);

/* Refuse a parameter that does not exist: 0 or -EINVAL. */
int ipr_param_known(enum ipr_param param);

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

/* "none", "kernel" or "user": who runs f (ipr_info.filter_kind). */
const char *ipr_filter_kind(const struct ipr_filter *f);

/* ---- rules.c: the handle's own nf_tables table ---- */

enum ipr_queue_kind {
	IPR_QUEUE_AUTO = 0,   /* native where the kernel has it, compat otherwise */
	IPR_QUEUE_NATIVE = 1, /* nft queue expression */
	IPR_QUEUE_COMPAT = 2, /* xt NFQUEUE target v3 through nft_compat */
};

enum ipr_action_kind {
	IPR_ACTION_QUEUE, /* hold: NFQUEUE */
	IPR_ACTION_LOG,   /* copy: NFLOG */
	IPR_ACTION_NONE,  /* take nothing: no table at all */
	IPR_ACTION_TABLE, /* the table alone, naming the handle: the engine takes packets itself */
};

/* What the rules do with a packet that matches: an engine's open() says. */
struct ipr_rules_action {
	enum ipr_action_kind kind;
	unsigned int first;        /* the (first) queue number, or the NFLOG group; else 0 */
	unsigned int count;        /* queues first..first+count-1, flows spread by symhash */
	unsigned int cpus;         /* > 1: queue first + hash + count * cpu of the enqueuing
	                              CPU, so a flow's thread can follow its CPU; else 1 */
	enum ipr_queue_kind queue_kind;
	uint32_t snaplen;          /* log: bytes copied per packet */
	uint16_t threshold;        /* log: packets the kernel batches per message */
};

/* Queues per hash value of an action: 0 and 1 both mean one. */
static inline unsigned int ipr_action_cpus(const struct ipr_rules_action *a)
{
	return a->cpus > 1 ? a->cpus : 1;
}

struct ipr_rules_spec {
	const char *table;         /* table name (family inet) */
	const char *comment;       /* stored as table user data, shown by status tools */
	const char *describe;      /* opts.describe, cut to IPR_DESCRIBE_MAX; NULL = none */
	unsigned int layers;       /* enum ipr_layer mask; 0: the table alone (events) */
	const char *interface;     /* arriving on or leaving through; NULL = any */
	const char *in_interface;  /* input interface must be; NULL = any */
	const char *out_interface; /* output interface must be; NULL = any */
	int priority;              /* chain priority is -priority; its inject level too */
	struct ipr_rules_action action;
	const struct sock_filter *bpf; /* xt_bpf program; NULL = no match */
	unsigned int bpf_len;
	uint32_t inject_mark;      /* packets with (mark & inject_mask) == inject_mark skip us */
	uint32_t inject_mask;      /* 0 = no such rule */
	const char *skip_iifname_prefix; /* packets arriving on such devices skip us; NULL = none */
	int skip_loopback_in;      /* packets arriving on the loopback device skip us */
	uint32_t bypass_mark;      /* flows with (ct mark & bypass_mask) == bypass_mark skip us; */
	uint32_t bypass_mask;      /* a verdict sets these bits in the packet mark to offload its flow; 0 = off */
	uint64_t cgroup_id;        /* only sockets in this cgroup v2 (inode number); 0 = any */
	unsigned int cgroup_level; /* its depth below the cgroup v2 root */
};

struct ipr_rules;

/*
 * Create the table (NFT_TABLE_F_OWNER), one base chain per layer and the queue
 * rules, atomically in one batch. The spec comes from checked options: only
 * the kernel refuses it. Returns 0 or -errno with a reason.
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

/* ---- status.c: the table comment, written at open and read by ipr_list_redirectors ---- */

#define IPR_COMMENT_MAX 128 /* nft keeps at most 127 characters */
#define IPR_UDATA_DESCRIBE 1 /* table user data after the comment: opts.describe whole */
#define IPR_DESCRIBE_MAX 124 /* with its NUL: what the comment leaves of 256 bytes */

/* text into buf, cut visibly with "..." to fit. */
void ipr_cut_text(char *buf, size_t size, const char *text);

/* A new table name, "ipredir_PID_N", unique in this process. */
void ipr_table_name(char *buf, size_t size);

/* The comment of an events handle: layers "flow", "socket" or both, "events=0
 * queues=0", no queue; 1 if it was cut, else 0. */
int ipr_events_comment(char *buf, size_t size, unsigned int which, int priority,
		       const char *filter);

/* "pid=P layers=L queue|group=N queues=Q priority=P flags=0xF filter=F" of the handle
 * o opens, cut visibly with "..." to fit: 1 if it was cut, else 0. */
int ipr_comment_format(char *buf, size_t size, const struct ipr_options *o,
		       const struct ipr_rules_action *act, const char *filter);

/* The redirector an nf_tables table message (new, deleted or dumped) describes into
 * *e, change and process left 0: 1, 0 if it is no ipredir table, or -ENOMEM. */
int ipr_table_event(const struct nlmsghdr *nlh, struct ipr_watch_event *e);

typedef void (*ipr_table_fn)(const struct ipr_watch_event *e, void *arg);

/* Call fn for every redirector of the network namespace: 0 or -errno with a reason. */
int ipr_tables_dump(ipr_table_fn fn, void *arg);

/* ---- pacing.c: when a queue's receive polls and when it pauses ---- */

struct ipr_pacing {
	unsigned int poll_us;      /* fixed: busy-poll budget (0 = never) */
	unsigned int pause_us;     /* fixed: pause after a partial batch (0 = never) */
	int adaptive;              /* 1: choose both from the arrival pattern */
	int poll_pays;             /* fixed: the last packet came within poll_us */
	unsigned int gap_us[2];    /* adaptive: usual wait for the next packet after a
	                              leaving [0] and after an arriving [1] one */
	int last_in;               /* the last packet received was arriving (IPR_LAYER_IN) */
	unsigned int poll_skip;    /* receives before polling is tried again */
	unsigned int poll_backoff; /* the skip after the next fruitless poll */
	unsigned int pause_skip;   /* the same for pauses */
	unsigned int pause_backoff;
	unsigned int last_count;   /* packets of the last receive */
	unsigned int bulk_quiet;   /* receives left without polling or pausing after a GSO
	                              packet (bulk transfer) */
	int last_partial;          /* it held 2..max-1 packets */
};

/* What one blocking receive saw. */
struct ipr_pacing_sample {
	unsigned int count;     /* packets received */
	unsigned int max;       /* packets asked for */
	unsigned int wait_us;   /* from the start of the wait to their arrival */
	unsigned int polled_us; /* the poll budget it had; 0 = slept at once */
	unsigned int paused_us; /* the pause before it; 0 = none */
	int bulk;               /* a GSO packet among them */
	int last_in;            /* the last of them was arriving (IPR_LAYER_IN) */
};

/* Fixed pacing (poll_us, pause_us; 0 = off) or adaptive (the two are ignored). */
void ipr_pacing_init(struct ipr_pacing *p, unsigned int poll_us, unsigned int pause_us,
		     int adaptive);
/* How long the next receive polls before it sleeps; 0 = sleep at once. */
unsigned int ipr_pacing_poll(struct ipr_pacing *p);
/* How long to pause before the next receive so its batch fills; 0 = none. */
unsigned int ipr_pacing_pause(struct ipr_pacing *p);
/* Learn from a receive (after ipr_pacing_poll and ipr_pacing_pause asked for it). */
void ipr_pacing_note(struct ipr_pacing *p, const struct ipr_pacing_sample *s);

#define IPR_TRICKLE_MAX 2 /* packets of a receive that still count as a trickle */

/* ---- follow.c: which CPU a queue's thread runs on ---- */

struct ipr_follow {
	int cpu;             /* the thread is pinned to this CPU; -1 = not pinned */
	int candidate;       /* CPU of the latest wake-ups */
	unsigned int streak; /* wake-ups in a row from candidate */
	unsigned int need;   /* the streak that moves the thread */
	unsigned int served; /* wake-ups in a row from cpu since the thread moved there */
};

/* What one receive tells about where its packets come from. */
struct ipr_follow_sample {
	int cpu;            /* CPU that enqueued its first packet; -1 = unknown */
	unsigned int count; /* packets received */
	int bulk;           /* a GSO packet among them */
	int woken;          /* the receive slept for them (longer than a poll) */
};

enum { IPR_FOLLOW_KEEP = -1, IPR_FOLLOW_RELEASE = -2 };

void ipr_follow_init(struct ipr_follow *f);
/* After a receive: IPR_FOLLOW_KEEP, IPR_FOLLOW_RELEASE (unpin), or the CPU to pin to. */
int ipr_follow_note(struct ipr_follow *f, const struct ipr_follow_sample *s);

/* ---- pin.c: a queue thread's CPU mask and policy while it follows ---- */

struct ipr_pin {
	pid_t tid;         /* the thread pinned (0 = none) */
	int idle;          /* it runs as SCHED_IDLE meanwhile */
	int statfd;        /* while pinned: its /proc schedstat; -1 = it stays SCHED_OTHER */
	uint64_t waited;   /* ns it had waited runnable before its last sleep */
	unsigned int quiet;      /* sleeps in a row it hardly waited before */
	unsigned int quiet_need; /* quiet sleeps that make it SCHED_IDLE */
	cpu_set_t allowed; /* its CPU mask before */
};

void ipr_pin_init(struct ipr_pin *p);
/* Pin the calling thread to cpu; -1: let the pinned thread go. */
void ipr_pin_move(struct ipr_pin *p, int cpu);
/* Before the pinned thread sleeps: SCHED_IDLE on a CPU nobody else wants, else not. */
void ipr_pin_check(struct ipr_pin *p);

static inline uint64_t ipr_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* ---- nfnl.c: what the netlink engines share ---- */

/*
 * A NETLINK_NETFILTER socket bound to an automatic port, with receive (and,
 * if not 0, send) buffers of these sizes, forced where allowed, overflow
 * errors off and error acks capped. Returns the fd or -errno with a reason.
 */
int ipr_nfnl_socket(int rcvbuf, int sndbuf);

/* Set the receive buffer of fd (forced where allowed); 0 or -errno with a reason. */
int ipr_nfnl_set_rcvbuf(int fd, int size);

/* Start an nfnetlink request of subsystem subsys for resource res_id (queue or group). */
struct nlmsghdr *ipr_nfnl_put_header(void *buf, uint8_t subsys, uint8_t type, uint16_t res_id,
				     uint32_t seq);

/* A configuration message of the queue or log subsystem (NFNL_SUBSYS_QUEUE, _ULOG). */
struct nlmsghdr *ipr_nfnl_put_config(void *buf, uint8_t subsys, uint16_t res_id, uint32_t seq);

/* A configuration message carrying one command (bind, unbind). */
struct nlmsghdr *ipr_nfnl_put_command(void *buf, uint8_t subsys, uint16_t res_id, uint32_t seq,
				      uint8_t command);

/* One configuration request of the queue or log subsystem; zero the buffer:
 * mnl_attr_put() leaves attribute padding as it is, and the kernel gets it. */
#define IPR_REQUEST_SIZE 256

/* Send the request with NLM_F_ACK on fd and wait for its ack; 0 or the kernel's -errno. */
int ipr_nfnl_talk(int fd, struct nlmsghdr *nlh);

/* Try one queue or group number: 0, -EBUSY if it is taken, other -errno. */
typedef int (*ipr_try_fn)(void *arg, unsigned int num);

/*
 * Offer the automatic range of numbers (49152-65535, starting at a place set by
 * the pid) step at a time until try_number() says other than -EBUSY; returns
 * what it said, or -EBUSY naming what (e.g. "NFLOG group") when all are taken.
 */
int ipr_nfnl_find_free(const char *what, unsigned int step, ipr_try_fn try_number, void *arg);

/* What an attribute of a packet message carries, for those both subsystems send. */
enum ipr_meta {
	IPR_META_NONE,
	IPR_META_PAYLOAD,
	IPR_META_MARK,
	IPR_META_IFINDEX_IN,
	IPR_META_IFINDEX_OUT,
	IPR_META_UID,
	IPR_META_GID,
	IPR_META_TIMESTAMP,
};

/* Copy the value of attribute a into p as meta says; a short attribute is ignored. */
void ipr_nfnl_take_meta(const struct nlattr *a, enum ipr_meta meta, struct ipr_packet *p);

/* The hook and link protocol of a packet header attribute. */
void ipr_nfnl_take_hook(uint8_t hook, uint16_t hw_protocol_be, struct ipr_packet *p);

/* Complete a parsed packet: receive time (if the kernel gave none), layer, queue number. */
void ipr_nfnl_finish_packet(struct ipr_packet *p, const struct timespec *now, uint16_t num);

/* Move a kernel sequence (packet id, NFLOG seq) on to value; returns the values it skipped. */
uint32_t ipr_seq_advance(uint32_t *last, int *have, uint32_t value);

/* A failed receive: -EAGAIN and -EINTR as they are, others with a reason. */
int ipr_recv_failed(int err);

/*
 * The first n numbers of the line for num in /proc/net/netfilter/<file>
 * (nfnetlink_queue, nfnetlink_log). Returns 0, -ENOENT if no line is for num,
 * or -errno with a reason if the file cannot be read.
 */
int ipr_nfnl_proc_line(const char *file, unsigned int num, unsigned long long *v,
		       unsigned int n);

/* ---- verdict.c: the verdicts of one queue, sent together ---- */

#define IPR_BATCH_MAX 1024     /* packets one ipr_recv_batch() call can return */
#define IPR_PENDING_MAX 1024   /* verdicts queued before an automatic flush */
#define IPR_PENDING_BYTES (1u << 20) /* new packet bytes queued before a flush */

/* One verdict waiting for a flush. */
struct ipr_pending {
	uint32_t id;
	uint32_t len;      /* bytes at data; 0 = unchanged */
	const void *data;  /* new packet bytes, or NULL */
	uint32_t mark;     /* new packet mark if set_mark */
	uint8_t set_mark;
	uint8_t verdict;   /* NF_ACCEPT or NF_DROP */
	uint8_t slot;      /* the packet's queue: num + stride * slot (struct ipr_verdicts) */
};

#define IPR_CPU_SLOTS_MAX 8 /* queues per socket at most: one per CPU slot */

struct ipr_verdicts {
	int fd;                       /* the socket of the queues */
	uint16_t num;                 /* the first queue's number (slot 0) */
	uint16_t stride;              /* from one slot's queue number to the next */
	unsigned int undecided;       /* packets handed out without a verdict yet */
	struct ipr_pending *pending;  /* verdicts not yet sent, in call order */
	unsigned int npending;
	size_t bytes;                 /* new packet bytes among them */
	int sorted;                   /* pending ids strictly increase within each queue */
	uint32_t last_id[IPR_CPU_SLOTS_MAX]; /* each queue's newest pending id */
	unsigned int slots_seen;      /* bit per slot with a pending verdict */
	struct iovec *tx_iov;         /* sendmsg vectors of a flush */
	uint8_t *tx_hdrs;             /* netlink headers of a flush */
};

/* Allocate the lists for queues num + stride * slot on socket fd; 0 or -ENOMEM. */
int ipr_verdicts_init(struct ipr_verdicts *vb, int fd, uint16_t num, uint16_t stride);

/* The number of the queue of slot. */
uint16_t ipr_verdicts_queue(const struct ipr_verdicts *vb, unsigned int slot);

/* Free the lists (unsent verdicts are lost). */
void ipr_verdicts_free(struct ipr_verdicts *vb);

/* Queue one verdict (already checked); flushes when the list is full. */
int ipr_verdicts_add(struct ipr_verdicts *vb, const struct ipr_pending *v);

/* Send every queued verdict in one sendmsg; 0 or -errno with a reason. */
int ipr_verdicts_flush(struct ipr_verdicts *vb);

/* One batch verdict: accept every packet of slot's queue up to id. */
int ipr_verdicts_accept_upto(struct ipr_verdicts *vb, unsigned int slot, uint32_t id);

/* Count v in the verdict counters of s. */
void ipr_verdict_count(struct ipr_stats *s, const struct ipr_pending *v);

/* ---- the engines (nfqueue.c, nflog.c): one file each behind this interface ---- */

/* One receive call: the caller's buffer cut into slots, and its packet array. */
struct ipr_rx {
	uint8_t *buf;
	size_t buflen;
	size_t slot;               /* ipr_slot_size() */
	struct ipr_packet *pkts;
	unsigned int max;          /* 1..IPR_BATCH_MAX, and slots in buf */
	unsigned int flags;        /* enum ipr_recv_flags */
};

struct ipr_engine {
	const char *name;
	int holds;  /* 1: packets wait for verdicts (queues, pacing, bypass, deadline) */
	/* 1 if the engine serves a handle with these (checked) options. */
	int (*serves)(const struct ipr_options *o);
	/* Bind kernel resources for every member of owner h, set each member's priv
	 * and fd, and say what the rules must do; 0 or -errno with a reason. */
	int (*open)(struct ipr_handle *h, const struct ipr_options *o,
		    struct ipr_rules_action *act);
	/* Receive up to rx->max packets: >= 1, or -errno (see ipr_recv_batch()). */
	int (*recv)(struct ipr_handle *h, const struct ipr_rx *rx);
	/* Queue the checked verdict v for pkt; NULL for an observer (nothing waits). */
	int (*verdict)(struct ipr_handle *h, struct ipr_packet *pkt, const struct ipr_pending *v);
	/* Send queued verdicts; NULL for an observer. */
	int (*flush)(struct ipr_handle *h);
	/* Add the engine's kernel counters to s. */
	int (*stats)(struct ipr_handle *h, struct ipr_stats *s);
	/* Release one member (held packets accepted first); harmless if never opened. */
	int (*close)(struct ipr_handle *h);
	/* Wake a receive of member h blocked in another thread (shutdown); NULL: none blocks. */
	int (*wake)(struct ipr_handle *h);
	/* Apply a checked parameter to member h; NULL: the engine has none to change. */
	int (*set_param)(struct ipr_handle *h, enum ipr_param param, uint64_t value);
};

extern const struct ipr_engine ipr_engine_nfqueue; /* holds packets: NFQUEUE */
extern const struct ipr_engine ipr_engine_nflog;   /* monitor: NFLOG copies */
extern const struct ipr_engine ipr_engine_bpfmon;  /* monitor: BPF ring buffer copies */
extern const struct ipr_engine ipr_engine_sendonly; /* takes nothing, injects */

struct ipr_handle;

/* The handle is shut down (ipr_shutdown): receive what waits, then -ESHUTDOWN. */
static inline int ipr_is_shut(const struct ipr_handle *h);

/* -ESHUTDOWN with its reason, for a receive that found nothing left. */
static inline int ipr_shut_empty(void)
{
	return ipr_fail(-ESHUTDOWN, "the handle was shut down and no packet is left");
}

/* ---- cgroup.c ---- */

/*
 * Resolve a cgroup v2 directory, given as a path below the hierarchy's root
 * ("/system.slice/x.service") or as a filesystem path under it, to its id
 * (inode number) and depth. Returns 0, -ENOENT or -EINVAL with a reason.
 */
int ipr_cgroup_resolve(const char *path, uint64_t *id, unsigned int *level);

/* ---- inject.c: packets that were never received ---- */

/* The inject level of a priority: packets injected at level L skip handles of level >= L;
 * level 0 (injected without IPR_OPEN_INJECT_BELOW) skips all. */
static inline uint32_t ipr_inject_level(int priority)
{
	return (uint32_t)(priority + IPR_PRIORITY_MAX + 1);
}

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
 * (NULL, 0) only opens that direction's socket or tun device. ipr_send() of a handle. */
int ipr_inject_send(struct ipr_inject *in, const void *pkt, size_t len, unsigned int direction);

/* A non-persistent tun device named prefix<pid>.<n> (name: IFNAMSIZ bytes), still down:
 * its fd (closing it removes the device) or -errno with a reason. */
int ipr_tun_new(const char *prefix, char *name);

/* Give dev the IPv4 address addr4 (host order; 0 = none) and the MTU mtu (0 = as it is),
 * and bring it up; 0 or -errno with a reason. */
int ipr_link_up(const char *dev, uint32_t addr4, int mtu);

/* Set /proc/sys/net/PROTO/conf/DEV/KEY unless it has the value; 0 or -errno with a reason. */
int ipr_sysctl_set(const char *proto, const char *dev, const char *key, const char *value);

/* Close the sockets and remove the tun device. */
void ipr_inject_close(struct ipr_inject *in);

/* ---- ingress.c: packets injected as arriving on an interface ---- */

#define IPR_INGRESS_MAX 4 /* interfaces one handle injects on at once */

/* The redirecting tun device of one target interface. */
struct ipr_ingress {
	unsigned int ifindex;      /* the target; 0 = unused */
	int dev;                   /* the tun's own index */
	int tun;                   /* its fd: closing it removes the device */
	int fd;                    /* packet socket sending into it; -1 = unused */
	char name[16];
	uint64_t used;             /* when last used, for the least recent to give way */
};

/* Close every redirecting tun of member h. */
void ipr_ingress_close(struct ipr_handle *h);

/* ---- the handle ---- */

struct ipr_handle {
	const struct ipr_engine *engine;
	void *priv;                     /* the engine's state of this handle */
	int fd;                         /* what ipr_fd() returns */
	struct ipr_inject inject;
	struct ipr_ingress ingress[IPR_INGRESS_MAX];
	uint64_t ingress_uses;
	struct ipr_filter filter;       /* shared by the members; the owner frees it */
	struct ipr_rules *rules;        /* the owner's */
	struct ipr_handle *owner;       /* the handle ipr_open returned */
	struct ipr_handle **members;    /* owner only: one handle per queue, [0] = owner */
	unsigned int nmembers;
	uint32_t bypass_mark, bypass_mask;
	uint32_t inject_mark, inject_mask; /* what injected packets carry (level aside) */
	struct ipr_info info;
	struct ipr_stats stats;
	unsigned int flags;             /* enum ipr_open_flags */
	unsigned int snaplen;
	uint64_t params[IPR_PARAM_RCVBUF + 1]; /* owner: what ipr_get_param() says */
	int shut;                       /* owner: ipr_shutdown() was called (atomic) */
	char comment[IPR_COMMENT_MAX];
	char describe[IPR_DESCRIBE_MAX];
	struct ipr_procs *procs;        /* each queue's process lookups (process.c), or NULL */
};

/* process.c: the process of each packet (IPR_OPEN_PROCESS, opts.pid/comm/exe). */
int ipr_process_open(struct ipr_handle *h, const struct ipr_options *o);
void ipr_process_close(struct ipr_handle *h);
/* Set p->pid if known; 1 if p passes the process filter, 0 if not. */
int ipr_process_mark(struct ipr_handle *h, struct ipr_packet *p);
/* A received packet: 1 and counted received if it passes the user-space part of the
 * filter and the process filter (flagged injected by its mark), else 0, counted filtered. */
int ipr_packet_wanted(struct ipr_handle *h, struct ipr_packet *p);
/* The command name of process pid (/proc/PID/comm) into comm[IPR_COMM_MAX]: 0 or -1. */
int ipr_read_comm(uint32_t pid, char *comm);

static inline int ipr_is_shut(const struct ipr_handle *h)
{
	return __atomic_load_n(&h->owner->shut, __ATOMIC_ACQUIRE);
}

#endif /* IPREDIR_INTERNAL_H */
