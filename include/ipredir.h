/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * ipredir.h - the one public header of libipredir.
 *
 * libipredir puts a user-space program into the Linux network stack: every IP
 * packet that matches a pcap-syntax filter is held by the kernel until the
 * program accepts it (unchanged or modified) or drops it.
 *
 * Conventions: integer calls return 0 (or a count) on success and -errno on
 * failure; after a failure ipr_last_error() explains what went wrong, for every
 * call, the packet helpers included. Two returns of a receive are no failure
 * and leave ipr_last_error() as it was: -EAGAIN (nothing waiting) and -EINTR
 * (a signal). The library never prints: install a log callback with
 * ipr_set_log().
 */
#ifndef IPREDIR_H
#define IPREDIR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IPR_VERSION_MAJOR 0
#define IPR_VERSION_MINOR 3
#define IPR_VERSION_PATCH 0
#define IPR_VERSION_STRING "0.3.0"

/* The library's version string, e.g. "0.2.0". */
const char *ipr_version(void);

/* Why the last failed call of this thread failed; never NULL. */
const char *ipr_last_error(void);

/* ------------------------------------------------------------------------ */
/* Logging                                                                  */

enum ipr_log_level {
	IPR_LOG_ERROR = 0,
	IPR_LOG_WARN = 1,
	IPR_LOG_INFO = 2,
	IPR_LOG_DEBUG = 3,
};

/* Receives one message without a trailing newline. */
typedef void (*ipr_log_fn)(enum ipr_log_level level, const char *msg, void *arg);

/* Route library messages up to max_level to fn (NULL silences the library). */
void ipr_set_log(ipr_log_fn fn, void *arg, enum ipr_log_level max_level);

/* ------------------------------------------------------------------------ */
/* Opening a redirector                                                      */

/* Where in the stack packets are taken (bit mask). */
enum ipr_layer {
	IPR_LAYER_IN = 1u << 0,      /* delivered to this host (hook input) */
	IPR_LAYER_OUT = 1u << 1,     /* sent by this host (hook output) */
	IPR_LAYER_FORWARD = 1u << 2, /* routed through this host (hook forward) */
};

enum ipr_open_flags {
	IPR_OPEN_FAIL_CLOSED = 1u << 0,  /* queue overflow drops instead of passing */
	IPR_OPEN_NO_GSO = 1u << 1,       /* kernel segments GSO packets before queueing */
	IPR_OPEN_QUEUE_COMPAT = 1u << 2, /* force the xt NFQUEUE target (nft_compat) */
	IPR_OPEN_QUEUE_NATIVE = 1u << 3, /* force the native nft queue expression */
	IPR_OPEN_USER_FILTER = 1u << 4,  /* evaluate the filter in user space only */
	IPR_OPEN_MONITOR = 1u << 5,      /* observe only: copies (BPF or NFLOG), nothing is held */
	IPR_OPEN_BYPASS = 1u << 6,       /* allow ipr_accept_bypass(); turns on conntrack */
	IPR_OPEN_EXPIRE_DROP = 1u << 7,  /* the verdict deadline drops packets, not accepts */
	IPR_OPEN_NO_LOOPBACK_IN = 1u << 8, /* skip packets arriving on the loopback device:
	                                      a packet to this host itself is taken once,
	                                      on its way out */
	IPR_OPEN_SEND_ONLY = 1u << 9,    /* take nothing (no table, no queue): ipr_send() only */
	IPR_OPEN_INJECT_BELOW = 1u << 10, /* what ipr_send() injects outbound is taken by handles
	                                     of lower priority (IPR_PKT_INJECTED), as a packet
	                                     this handle let go on would be; else by none */
	IPR_OPEN_PROCESS = 1u << 11,     /* name the process of each packet of a local socket
	                                    (pid, IPR_PKT_HAS_PROCESS, ipr_packet_process()) */
	IPR_OPEN_FIXED_PACING = 1u << 12, /* pace receives by busy_poll_us and coalesce_us as
	                                     given, 0 = off (implied when either is set); else
	                                     the library adapts both to the arrival pattern */
	IPR_OPEN_FOLLOW_CPU = 1u << 13,   /* a queue per CPU for each thread, which the library
	                                     pins to the CPU its sparse packets come from, as
	                                     SCHED_IDLE meanwhile (an automatic queue range
	                                     only; see ipr_open()) */
};

#define IPR_DEFAULT_BYPASS_MARK 0x20000000u /* conntrack mark bit of offloaded flows */
#define IPR_DEFAULT_INJECT_MARK 0x10000000u /* packet mark bit of injected packets */
#define IPR_INJECT_LEVEL_MASK 0x0000ffffu   /* mark bits saying who injected (INJECT_BELOW) */
#define IPR_DEFAULT_DEADLINE_MS 5000        /* verdict deadline */
#define IPR_QUEUES_MAX 64

#define IPR_PRIORITY_MAX 30000 /* |priority| allowed in ipr_options (WinDivert's range) */
#define IPR_SNAPLEN_MAX 65535  /* largest copy per packet (a GSO packet) */

/* Options of ipr_open(); start from IPR_OPTIONS_INIT so new fields stay zero. */
struct ipr_options {
	size_t size;               /* sizeof(struct ipr_options) */
	const char *filter;        /* pcap expression; NULL or "" = every IP packet */
	unsigned int layers;       /* enum ipr_layer mask; 0 = IN | OUT */
	const char *in_interface;  /* only packets that arrived on it; NULL = any */
	const char *out_interface; /* only packets that leave on it; NULL = any */
	const char *interface;     /* only packets arriving on or leaving through it */
	int priority;              /* higher sees packets first; 0 = default */
	unsigned int queue;        /* NFQUEUE number; 0 = pick a free one */
	unsigned int snaplen;      /* bytes copied per packet; 0 = whole packet */
	unsigned int queue_maxlen; /* packets the kernel may hold; 0 = 8192 */
	unsigned int flags;        /* enum ipr_open_flags */
	unsigned int queues;       /* spread flows over this many queues; 0 = 1 */
	uint32_t bypass_mark;      /* conntrack mark of offloaded flows; 0 = default */
	uint32_t bypass_mask;      /* its bits; 0 = bypass_mark */
	uint32_t inject_mark;      /* packet mark of injected packets; 0 = default */
	uint32_t inject_mask;      /* its bits; 0 = inject_mark */
	const char *cgroup;        /* only packets of sockets in this cgroup v2 path */
	unsigned int deadline_ms;  /* accept packets left undecided this long; 0 = default */
	unsigned int busy_poll_us; /* while packets come within this long of each other, poll
	                              this long before a receive sleeps: lower latency for a
	                              CPU kept busy; 0 = adaptive (IPR_OPEN_FIXED_PACING: off) */
	unsigned int coalesce_us;  /* after a partial batch of several packets, wait this long
	                              before the next receive so batches fill; 0 = adaptive
	                              (IPR_OPEN_FIXED_PACING: never) */
	const char *describe;      /* what ipr_list_redirectors() shows as the filter (e.g. a
	                              filter of another language); NULL = the filter */
	uint32_t pid;              /* only packets of this process's sockets; 0 = any */
	const char *comm;          /* only packets of processes of this command name */
	const char *exe;           /* only packets of processes running this executable */
};

#define IPR_OPTIONS_INIT { .size = sizeof(struct ipr_options) }

struct ipr_handle;

/*
 * Install the redirector described by opts and return it in *out.
 * Needs CAP_NET_ADMIN. On failure nothing stays installed; returns -EINVAL for
 * bad options or a bad filter, -EPERM without privilege, other -errno from the
 * kernel.
 */
int ipr_open(const struct ipr_options *opts, struct ipr_handle **out);

/*
 * Remove everything h installed, accept every packet still held, free h.
 * Returns 0, or -errno if a final verdict could not be delivered (h is freed
 * either way). The kernel also removes the rules if the process dies.
 */
int ipr_close(struct ipr_handle *h);

/* File descriptor that polls readable when packets wait; do not read it. */
int ipr_fd(const struct ipr_handle *h);

/* How the handle was installed, for display. */
struct ipr_info {
	char table[32];          /* nf_tables table name (family inet) */
	unsigned int queue;      /* NFQUEUE number */
	unsigned int snaplen;    /* bytes copied per packet */
	const char *queue_kind;  /* "native" or "compat" */
	const char *filter_kind; /* "none", "kernel", or "user" (coarse kernel part + user space) */
	unsigned int filter_insns;  /* BPF instructions of the full filter */
	unsigned int kernel_insns;  /* BPF instructions run by the kernel */
};

/* Fill *info; returns 0. */
int ipr_get_info(const struct ipr_handle *h, struct ipr_info *info);

/* ------------------------------------------------------------------------ */
/* Filters compiled as ipr_open() compiles them, to show and to test         */

/* One classic BPF instruction (struct sock_filter's layout). */
struct ipr_bpf_insn {
	uint16_t code;
	uint8_t jt;
	uint8_t jf;
	uint32_t k;
};

/* A pcap expression compiled for raw IP packets, and what the kernel runs of it. */
struct ipr_filter_program {
	const char *kind;                  /* "none", "kernel" or "user", as ipr_info says */
	const struct ipr_bpf_insn *insns;  /* the whole filter; NULL = every IP packet */
	unsigned int len;
	const struct ipr_bpf_insn *kernel; /* what the xt_bpf match runs; NULL = it queues
					      every IP packet */
	unsigned int kernel_len;
	unsigned int kernel_max;           /* instructions xt_bpf takes */
};

/*
 * Compile expr (NULL or "" = every IP packet) as ipr_open() would with flags
 * (IPR_OPEN_USER_FILTER counts) into *out. Returns 0, or -EINVAL with the
 * reason and where in expr it lies in ipr_last_error(), or -ENOMEM.
 */
int ipr_filter_program_new(const char *expr, unsigned int flags,
			   struct ipr_filter_program **out);

/* Whether the redirector takes the raw IP packet pkt (caplen bytes of len): 1 or 0. */
int ipr_filter_program_match(const struct ipr_filter_program *p, const void *pkt,
			     uint32_t caplen, uint32_t len);

/* Free p (NULL is ignored). */
void ipr_filter_program_free(struct ipr_filter_program *p);

/* ------------------------------------------------------------------------ */
/* Receiving packets                                                        */

enum ipr_packet_flags {
	IPR_PKT_IPV6 = 1u << 0,             /* IPv6 (else IPv4) */
	IPR_PKT_GSO = 1u << 1,              /* a GSO super-packet (up to 64 KiB) */
	IPR_PKT_CSUM_NOT_READY = 1u << 2,   /* L4 checksum not filled in yet: treat as valid */
	IPR_PKT_CSUM_NOT_VERIFIED = 1u << 3,/* L4 checksum not verified by the kernel */
	IPR_PKT_TRUNCATED = 1u << 4,        /* caplen < len: cannot be modified */
	IPR_PKT_HAS_UID = 1u << 5,          /* uid is valid */
	IPR_PKT_HAS_GID = 1u << 6,          /* gid is valid */
	IPR_PKT_KERNEL_TIME = 1u << 7,      /* timestamp comes from the kernel */
	IPR_PKT_DECIDED = 1u << 8,          /* a verdict was given (set by the library) */
	IPR_PKT_SET_MARK = 1u << 9,         /* the verdict sets new_mark (ipr_set_mark) */
	IPR_PKT_INJECTED = 1u << 10,        /* injected by a handle of higher priority */
	IPR_PKT_HAS_PROCESS = 1u << 11,     /* pid is valid (IPR_OPEN_PROCESS) */
};

/* One received packet; data points into the caller's receive buffer (see IPR_RECV_BORROW). */
struct ipr_packet {
	uint8_t *data;         /* the packet from its IP header on */
	uint32_t caplen;       /* bytes at data */
	uint32_t len;          /* length of the whole packet */
	uint32_t id;           /* kernel packet id (for verdicts) */
	uint32_t flags;        /* enum ipr_packet_flags */
	uint16_t queue;        /* NFQUEUE it came from */
	uint8_t layer;         /* enum ipr_layer */
	uint8_t hook;          /* netfilter hook (NF_INET_LOCAL_IN, ...) */
	uint32_t ifindex_in;   /* input interface, 0 if none */
	uint32_t ifindex_out;  /* output interface, 0 if none */
	uint32_t mark;         /* packet mark */
	uint32_t uid;          /* owner of the local socket, see IPR_PKT_HAS_UID */
	uint32_t gid;          /* group of the local socket, see IPR_PKT_HAS_GID */
	int64_t ts_sec;        /* receive time (CLOCK_REALTIME) */
	uint32_t ts_nsec;
	uint32_t new_mark;     /* mark the verdict gives, see IPR_PKT_SET_MARK */
	uint32_t priv;         /* the library's; leave it alone */
	uint32_t pid;          /* process of the local socket, see IPR_PKT_HAS_PROCESS */
	uint32_t reserved[2];  /* room to grow; zero */
};

/* Bytes of receive buffer one packet needs: allocate n * ipr_slot_size(h). */
size_t ipr_slot_size(const struct ipr_handle *h);

enum ipr_recv_flags {
	IPR_RECV_NONBLOCK = 1u << 0, /* return -EAGAIN instead of waiting */
	IPR_RECV_BORROW = 1u << 1,   /* a monitor's packets may point into the kernel's
					ring buffer (read-only), not buf, until the next
					receive on the handle: one copy less */
};

/*
 * Receive up to max packets into buf (buflen bytes, split into slots of
 * ipr_slot_size()). Waits for the first packet unless IPR_RECV_NONBLOCK;
 * pending verdicts are flushed before waiting. Returns the number of packets
 * (>= 1), -EAGAIN, -EINTR when a signal arrived (neither sets ipr_last_error()),
 * -ESHUTDOWN after ipr_shutdown() once nothing is left, -EINVAL if buf holds no
 * slot, other -errno.
 */
int ipr_recv_batch(struct ipr_handle *h, void *buf, size_t buflen,
		   struct ipr_packet *pkts, unsigned int max, unsigned int flags);

/*
 * Packets left without a verdict for opts.deadline_ms are accepted by the
 * library (stats.expired, a warning through the log callback) during a later
 * receive call; a blocking receive wakes up in time to do so.
 */

/* ipr_recv_batch() for one packet; returns 1 or -errno. */
int ipr_recv(struct ipr_handle *h, void *buf, size_t buflen,
	     struct ipr_packet *pkt, unsigned int flags);

/* ------------------------------------------------------------------------ */
/* Verdicts: queued in the handle, sent together by ipr_flush() or the next */
/* ipr_recv*(); every received packet needs exactly one.                    */

enum ipr_verdict {
	IPR_ACCEPT = 1, /* let the packet go on (modified if data is given) */
	IPR_DROP = 0,   /* discard the packet */
};

/*
 * Queue a verdict for pkt. With data (len bytes, a whole IP packet) the kernel
 * re-injects those bytes instead; they need correct checksums and must stay
 * valid until the next flush. Returns 0; -EALREADY if pkt already has one;
 * -ESTALE if the verdict deadline already accepted it; -EINVAL for a truncated
 * packet with data, a bad length, or a packet of another handle.
 */
int ipr_set_verdict(struct ipr_handle *h, struct ipr_packet *pkt,
		    enum ipr_verdict verdict, const void *data, size_t len);

/* ipr_set_verdict(h, pkt, IPR_ACCEPT, NULL, 0). */
int ipr_accept(struct ipr_handle *h, struct ipr_packet *pkt);

/* ipr_set_verdict(h, pkt, IPR_ACCEPT, data, len). */
int ipr_accept_modified(struct ipr_handle *h, struct ipr_packet *pkt,
			const void *data, size_t len);

/* ipr_set_verdict(h, pkt, IPR_DROP, NULL, 0). */
int ipr_drop(struct ipr_handle *h, struct ipr_packet *pkt);

/* The same verdict (no new bytes) for n packets; returns 0 or the first error. */
int ipr_set_verdicts(struct ipr_handle *h, struct ipr_packet *pkts, unsigned int n,
		     enum ipr_verdict verdict);

/* Send queued verdicts to the kernel now (one sendmsg). Returns 0 or -errno. */
int ipr_flush(struct ipr_handle *h);

/*
 * Stop taking packets: the rules are detached, so no new packet comes; a
 * receive (also one blocked in another thread, which wakes up) returns the
 * packets already waiting, then -ESHUTDOWN. Verdicts and ipr_send() go on
 * working. Call it on the handle ipr_open returned; it covers every queue.
 * Returns 0 or -errno.
 */
int ipr_shutdown(struct ipr_handle *h);

/* What ipr_set_param() and ipr_get_param() change and read while a handle is open. */
enum ipr_param {
	IPR_PARAM_QUEUE_MAXLEN = 0, /* packets the kernel may hold (opts.queue_maxlen) */
	IPR_PARAM_DEADLINE_MS = 1,  /* the verdict deadline (opts.deadline_ms) */
	IPR_PARAM_RCVBUF = 2,       /* bytes of copies waiting in the socket, at most */
};

/*
 * Change a parameter of every queue of h, within the range ipr_open() allows.
 * Returns 0, -EINVAL for an unknown parameter or a value out of range (or any
 * parameter of a monitor handle but IPR_PARAM_RCVBUF), other -errno.
 */
int ipr_set_param(struct ipr_handle *h, enum ipr_param param, uint64_t value);

/* The current value of a parameter into *value. Returns 0 or -EINVAL. */
int ipr_get_param(struct ipr_handle *h, enum ipr_param param, uint64_t *value);

/* With pkt's verdict, set the bits of mask in its packet mark to value. Returns 0. */
int ipr_set_mark(struct ipr_packet *pkt, uint32_t value, uint32_t mask);

/*
 * Accept pkt and offload the rest of its flow (both directions): later packets
 * of the connection bypass this handle in the kernel (conntrack mark bits
 * bypass_mark/bypass_mask of the options). Needs a handle opened with
 * IPR_OPEN_BYPASS, which turns on connection tracking in the namespace.
 * Returns as ipr_set_verdict(); -EINVAL without IPR_OPEN_BYPASS.
 */
int ipr_accept_bypass(struct ipr_handle *h, struct ipr_packet *pkt);

/*
 * Handles opened with opts.queues = N > 1 serve N queues; flows are spread by a
 * symmetric hash, so both directions of a connection meet in one queue. Handle
 * i (0..N-1) serves queue i and is used by one thread; handle 0 is h. Closing
 * h closes them all. Returns NULL if i is out of range.
 */
struct ipr_handle *ipr_queue_handle(struct ipr_handle *h, unsigned int i);

/* Number of queues of h (1 unless opened with opts.queues > 1). */
unsigned int ipr_queue_count(const struct ipr_handle *h);

/*
 * Write where cgroup v2 is mounted in this mount namespace into buf
 * ("/sys/fs/cgroup", or "/sys/fs/cgroup/unified" on hybrid systems).
 * Returns 0 or -ENOENT (none visible, e.g. under `ip netns exec`).
 */
int ipr_cgroup2_mount(char *buf, size_t size);

/*
 * Open the root directory of the cgroup v2 hierarchy: where it is mounted or,
 * when no mount is visible (`ip netns exec` mounts a /sys without it), a
 * private mount that no path and no other process sees and that goes with its
 * last descriptor. Returns a close-on-exec directory descriptor, or -errno
 * (-EPERM when mounting needs CAP_SYS_ADMIN).
 */
int ipr_cgroup2_open(void);

/* ------------------------------------------------------------------------ */
/* Which process a packet belongs to (IPR_OPEN_PROCESS)                     */
/* ------------------------------------------------------------------------ */

#define IPR_COMM_MAX 16 /* a command name with its terminating zero */

enum ipr_process_flags {
	IPR_PROCESS_EXITED = 1u << 0,    /* the process has exited since (its socket lives on,
	                                    or the packet outlived it) */
	IPR_PROCESS_LISTENER = 1u << 1,  /* named by the listening socket: a TCP connection
	                                    not accepted yet, or accepted by its server */
	IPR_PROCESS_FROM_PROC = 1u << 2, /* found by the socket's inode in /proc (a socket
	                                    older than the handle, or no BPF here) */
};

/* The process of a packet's local socket. */
struct ipr_process {
	uint32_t pid;              /* process ID in the initial pid namespace; 0 = none */
	uint32_t flags;            /* enum ipr_process_flags */
	uint64_t cgroup_id;        /* its cgroup v2 id when it used the socket; 0 if unknown */
	char comm[IPR_COMM_MAX];   /* its command name */
};

/*
 * The process of packet p, received from h (opened with IPR_OPEN_PROCESS):
 * the one that created, bound, connected, or last sent or received a datagram
 * on the packet's local socket (so a socket passed to or inherited by another
 * process names the one using it); for a TCP connection not yet accepted, and
 * one accepted, the process of its listening socket. Looked up once per flow
 * and remembered. Fills the first size bytes of *proc (pass sizeof *proc).
 * Returns 0, -ENOENT when the packet belongs to no local socket (forwarded, not
 * TCP or UDP, or none found; *proc is then zero), -EINVAL for a handle without
 * IPR_OPEN_PROCESS.
 */
int ipr_packet_process(struct ipr_handle *h, const struct ipr_packet *p,
		       struct ipr_process *proc, size_t size);

/* Why process lookups are limited on this system (one line), or NULL when they are
 * not: without BPF (cgroup v2, BPF programs) processes are found by /proc, slower
 * and only while the socket is open. */
const char *ipr_process_limits(const struct ipr_handle *h);

/* The executable (/proc/PID/exe) and cgroup v2 path of a process into buf; 0,
 * -ESRCH/-ENOENT when it has exited, -ENAMETOOLONG when buf is too small. */
int ipr_process_exe(uint32_t pid, char *buf, size_t size);
int ipr_process_cgroup(uint32_t pid, char *buf, size_t size);

/* ------------------------------------------------------------------------ */
/* Injecting packets that were never received                               */

enum ipr_send_flags {
	IPR_SEND_NONBLOCK = 1u << 8, /* or'ed into ipr_send()'s direction: -EAGAIN, not waiting */
};

/*
 * Inject one whole IP packet (IPv4 or IPv6, checksums already correct).
 * IPR_LAYER_OUT: it leaves through the stack as if this host sent it, routed
 * by its destination. IPR_LAYER_IN: it arrives at the local stack as if
 * received from the network, on the handle's tun device "iprin<pid>.<n>".
 * Injected packets carry the inject mark, and no ipredir table takes packets
 * with that mark or from those tun devices, so injections are never captured
 * again and cannot loop between redirectors. Returns 0; -EINVAL for a
 * malformed packet (too short, bad version, header length or total length),
 * -EMSGSIZE if larger than the route or device allows, other -errno.
 * Outbound, a send waits while the raw socket's send buffer is full (packets
 * injected faster than a device sends them); with IPR_SEND_NONBLOCK in
 * direction it returns -EAGAIN instead, leaving ipr_last_error() as it was.
 * With pkt NULL and len 0 nothing is sent: the direction's raw sockets (OUT,
 * needs CAP_NET_RAW) or tun device (IN, needs CAP_NET_ADMIN) are opened now,
 * so a program can go on injecting after dropping its privileges.
 */
int ipr_send(struct ipr_handle *h, const void *pkt, size_t len, unsigned int direction);

/*
 * Inject one whole IP packet inbound as if it arrived on interface ifindex
 * (0: on the handle's tun device, as ipr_send(h, pkt, len, IPR_LAYER_IN)).
 * The kernel treats it as received there: routing, reverse-path filtering,
 * sockets and netfilter see that interface as its input; ipredir tables treat
 * it as an injection (IPR_OPEN_INJECT_BELOW). Per interface the handle keeps a
 * tun device "iprto<pid>.<n>" whose egress redirects to the interface's ingress
 * (tc clsact, u32 and mirred; needs CAP_NET_ADMIN and CAP_NET_RAW at first use).
 * Returns 0, -EINVAL for a malformed packet, -ENODEV for no such interface,
 * -EOPNOTSUPP where the kernel lacks those pieces, other -errno.
 */
int ipr_send_in(struct ipr_handle *h, const void *pkt, size_t len, unsigned int ifindex);

/* ------------------------------------------------------------------------ */
/* Counters                                                                 */

struct ipr_stats {
	uint64_t received;      /* packets handed to the program */
	uint64_t accepted;      /* accept verdicts without new bytes */
	uint64_t modified;      /* accept verdicts with new bytes */
	uint64_t dropped;       /* drop verdicts */
	uint64_t filtered;      /* accepted by the library: user-space filter said no */
	uint64_t bytes;         /* original bytes of the received packets */
	uint64_t failopen;      /* passed unredirected because the queue or socket was full; */
				/* for a handle of several queues, sum the counts of all */
	uint64_t queue_dropped; /* kernel: dropped, queue full (fail-closed) */
	uint64_t user_dropped;  /* kernel: dropped, socket buffer full (fail-closed) */
	uint64_t waiting;       /* kernel: packets held right now */
	uint64_t verdict_errors;/* verdicts the kernel refused (unknown id, ...) */
	uint64_t expired;       /* accepted by the library: no verdict within the deadline */
	uint64_t bypassed;      /* ipr_accept_bypass() verdicts (a flow may take several */
				/* while the first one reaches the kernel) */
};

/* Fill the first size bytes of *st (pass sizeof *st). Returns 0 or -errno. */
int ipr_get_stats(struct ipr_handle *h, struct ipr_stats *st, size_t size);

/* ------------------------------------------------------------------------ */
/* Packet helpers: pure functions over packet bytes, no I/O.                */

/*
 * Views into one IP packet, bounded by both the buffer and the IP length:
 * bytes past the IP length (link padding) are not part of any view.
 */
struct ipr_parsed {
	const uint8_t *l3;      /* IP header */
	const uint8_t *l4;      /* TCP/UDP/ICMP/ICMPv6 header; NULL for another protocol, a
				   later fragment, or a header cut short (see ipr_parse) */
	const uint8_t *payload; /* transport payload, NULL if l4 is NULL or no byte follows it */
	uint32_t l3_len;        /* IP total length as far as captured: min(caplen, ip_len),
				   caplen if ip_len is 0 */
	uint32_t ip_len;        /* IP total length from the header (0 if unknown, e.g. jumbo) */
	uint16_t l3_hdr_len;    /* IPv4 header, or IPv6 header plus extension headers */
	uint16_t l4_hdr_len;    /* TCP/UDP/ICMP header bytes, 0 if l4 is NULL */
	uint32_t l4_len;        /* bytes from l4 to the end of the captured packet */
	uint32_t payload_len;   /* bytes from payload to the end of the captured packet */
	uint8_t version;        /* 4 or 6 */
	uint8_t proto;          /* transport protocol after extension headers */
	uint8_t ttl;            /* TTL or hop limit */
	uint8_t fragment;       /* 1 if part of a fragmented packet (MF set or offset != 0) */
	uint8_t truncated;      /* 1 if the buffer ends before the IP length */
	uint16_t sport, dport;  /* host order; ICMP: type and code in sport, id in dport
				   for echo request/reply (else 0); 0 if l4 is NULL */
};

/*
 * Parse an IPv4 or IPv6 packet of caplen captured bytes. Returns 0, or
 * -EINVAL for a malformed header (bad version, header length, total length,
 * extension-header chain) and -EMSGSIZE when caplen is too short for the
 * headers. Never reads beyond caplen; on error *out is zeroed.
 *
 * IPv4 total length and IPv6 payload length 0 mean "unknown" (jumbo or big
 * GSO packets): the capture is taken as the whole packet and ip_len is 0.
 * IPv6 extension headers hop-by-hop (first only), routing, fragment,
 * destination options and AH are walked; a chain cut by the capture gives
 * -EMSGSIZE, one that overruns the payload length -EINVAL.
 * A capture that ends inside the transport header (header-only captures) is
 * no error: the IP header is complete, so it returns 0 with truncated = 1 and
 * l4 = NULL. So does a first fragment too short for its transport header. A
 * transport header that overruns the IP length of an unfragmented packet, or
 * a TCP data offset below 5, is -EINVAL.
 */
int ipr_parse(const void *pkt, size_t caplen, struct ipr_parsed *out);

/*
 * Internet checksum (RFC 1071) of len bytes plus sum, folded, not
 * complemented. Byte-order neutral: the result is in memory (network) order,
 * so store it or compare it with a field read by memcpy, not by ntohs().
 * sum continues an earlier result (0 to start); earlier blocks must have had
 * even length. Any alignment.
 */
uint16_t ipr_csum_partial(const void *data, size_t len, uint32_t sum);

/*
 * Recompute the IPv4 header checksum and the TCP/UDP/ICMP/ICMPv6 checksum of a
 * whole (not truncated) packet in place. Returns 0, -EINVAL if malformed,
 * -EMSGSIZE if len is shorter than the IP length.
 * A fragment only gets its IPv4 header checksum (the transport checksum spans
 * the reassembled datagram); other transport protocols are left alone. A UDP
 * checksum that computes to 0 is written as 0xffff. With an IPv6 routing
 * header (types 0, 2, 4) that has segments left, the pseudo-header uses the
 * final destination (RFC 8200 8.1).
 */
int ipr_checksum_fill(void *pkt, size_t len);

/*
 * Verify the IPv4 header and transport checksums. Returns 0 if all are
 * correct, -EBADMSG if one is wrong, -EINVAL/-EMSGSIZE as ipr_checksum_fill().
 * It checks what ipr_checksum_fill() writes; a UDP checksum of 0 over IPv4
 * means "not used" and is valid (over IPv6 it is wrong).
 */
int ipr_checksum_verify(const void *pkt, size_t len);

/*
 * Incrementally update checksum *sum for a 16-bit field changing old -> new
 * (RFC 1624). All three in memory (network) order, as read by memcpy.
 */
void ipr_csum_replace2(uint16_t *sum, uint16_t old_be, uint16_t new_be);

/* ipr_csum_replace2() for a 32-bit field, e.g. an IPv4 address. */
void ipr_csum_replace4(uint16_t *sum, uint32_t old_be, uint32_t new_be);

/*
 * Decrement the TTL (IPv4, header checksum updated incrementally) or hop limit
 * (IPv6). Returns the new value, -ETIMEDOUT if it was already 0 or 1 (packet
 * unchanged), -EINVAL if malformed (bad version, IHL < 5, or len shorter than
 * the IP header).
 */
int ipr_decrement_ttl(void *pkt, size_t len);

/*
 * Set the TTL or hop limit to ttl (IPv4 header checksum updated).
 * Returns 0 or -EINVAL if malformed, as ipr_decrement_ttl().
 */
int ipr_set_ttl(void *pkt, size_t len, uint8_t ttl);

/* An IPv4 or IPv6 address. */
struct ipr_addr {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t bytes[16];
};

/* Parse "10.1.2.3" or "fd00::1" into *addr. Returns 0 or -EINVAL. */
int ipr_addr_parse(const char *text, struct ipr_addr *addr);

/*
 * Format addr into buf (at least IPR_ADDR_STRLEN bytes).
 * Returns the length written, -EINVAL for an unknown family, or -ENOSPC if
 * size is too small for this address.
 */
int ipr_addr_format(const struct ipr_addr *addr, char *buf, size_t size);

#define IPR_ADDR_STRLEN 46

/*
 * Source and destination address fields of a parsed packet; src or dst may be
 * NULL. Returns 0 or -EINVAL.
 */
int ipr_packet_addrs(const struct ipr_parsed *p, struct ipr_addr *src, struct ipr_addr *dst);

/* ------------------------------------------------------------------------ */
/* Status: the redirectors of this network namespace                        */

/* What ipr_redirector.monitor says of a monitor handle: where its copies come from. */
enum ipr_monitor_engine {
	IPR_MONITOR_NFLOG = 1, /* NFLOG: queue is its group */
	IPR_MONITOR_BPF = 2,   /* a netfilter BPF program's ring buffer: no group */
};

/* One redirector, as its nf_tables table describes it. */
struct ipr_redirector {
	char table[32];       /* nf_tables table name (family inet), "ipredir_..." */
	int pid;              /* process that installed it; 0 if unknown */
	char layers[32];      /* "in,out", "forward", ...; "" if unknown */
	unsigned int queue;   /* first NFQUEUE number, or the NFLOG group of a monitor (else 0) */
	unsigned int queues;  /* queues queue..queue+queues-1 (a monitor: 1) */
	int monitor;          /* an IPR_OPEN_MONITOR handle (copies, nothing held): enum
				 ipr_monitor_engine; 0: not one */
	int owned;            /* 1: the kernel removes the table when its owner dies */
	char filter[128];     /* pcap expression, "" = every IP packet; a long one ends "..." */
};

/*
 * Fill out with up to max redirectors of this network namespace (every inet
 * table named "ipredir_*"). Returns how many exist, which may exceed max, or
 * -errno (-EPERM without CAP_NET_ADMIN).
 */
int ipr_list_redirectors(struct ipr_redirector *out, unsigned int max);

/* ------------------------------------------------------------------------ */
/* Watching: redirectors opened and closed, as they happen                  */

/* What happened to a redirector. */
enum ipr_watch_change {
	IPR_WATCH_EXISTING = 1, /* open when the watch began */
	IPR_WATCH_OPENED = 2,   /* opened */
	IPR_WATCH_CLOSED = 3,   /* closed: ipr_close(), or its process exited or was killed */
};

/* One change, with the redirector as its table described it when it was first seen. */
struct ipr_watch_event {
	int change;                /* enum ipr_watch_change */
	int priority;              /* its opts.priority (0 for a table of libipredir < 0.3) */
	unsigned int flags;        /* its enum ipr_open_flags (0 for libipredir < 0.3) */
	char comm[IPR_COMM_MAX];   /* its process's command name when first seen; "" if gone */
	uint64_t time_ns;          /* CLOCK_MONOTONIC when the change was seen */
	uint64_t opened_ns;        /* CLOCK_MONOTONIC when the redirector was first seen */
	struct ipr_redirector redirector;
};

struct ipr_watch;

/*
 * Watch the redirectors of this network namespace (every inet table named
 * "ipredir_*", whatever program opened it): subscribe to nf_tables
 * notifications, then list the redirectors open now, which ipr_watch_next()
 * reports first as IPR_WATCH_EXISTING. Nothing is polled: an open or an
 * ipr_close() arrives as a notification; a redirector whose process dies
 * (SIGKILL included) is found closed through a pidfd of that process. Needs
 * CAP_NET_ADMIN. Returns 0 or -errno (-EPERM without privilege).
 */
int ipr_watch_open(struct ipr_watch **out);

/*
 * A descriptor that polls readable when ipr_watch_next() may have an event:
 * call ipr_watch_next(w, ev, size, 0) until it returns 0, then poll.
 */
int ipr_watch_fd(const struct ipr_watch *w);

/*
 * The next change into the first size bytes of *ev (pass sizeof *ev), waiting
 * up to timeout_ms (-1: until one comes). Returns 1 with an event, 0 when none
 * came in time, -EINTR when a signal interrupted the wait, other -errno. When
 * the kernel dropped notifications (-ENOBUFS inside), the list is read again:
 * what appeared meanwhile is reported IPR_WATCH_OPENED, what went IPR_WATCH_CLOSED.
 */
int ipr_watch_next(struct ipr_watch *w, struct ipr_watch_event *ev, size_t size,
		   int timeout_ms);

/* Stop watching and free w (NULL is ignored). */
void ipr_watch_close(struct ipr_watch *w);

/* The kernel's counters of one NFQUEUE (/proc/net/netfilter/nfnetlink_queue). */
struct ipr_queue_counters {
	unsigned int portid;     /* netlink port of the program bound to it */
	unsigned int waiting;    /* packets held right now */
	unsigned int copy_mode;  /* 0 none, 1 metadata, 2 packet */
	unsigned int copy_range; /* bytes copied per packet */
	uint64_t queue_dropped;  /* dropped because the queue was full (fail-closed) */
	uint64_t user_dropped;   /* dropped because the program's socket buffer was full */
	uint32_t last_id;        /* id of the newest packet queued */
};

/* Fill *c for queue. Returns 0, -ENOENT if no program binds it, other -errno. */
int ipr_queue_counters(unsigned int queue, struct ipr_queue_counters *c);

/* ------------------------------------------------------------------------ */
/* Socket and flow events                                                   */
/* ------------------------------------------------------------------------ */

enum ipr_events_flags {
	IPR_EVENTS_FLOW = 1u << 0,   /* flows established and deleted */
	IPR_EVENTS_SOCKET = 1u << 1, /* bind, connect, listen, accept, close */
};

enum ipr_event_kind {
	IPR_EVENT_FLOW_ESTABLISHED = 1, /* a TCP connection established; a UDP socket's first
	                                   datagram to or from a remote end */
	IPR_EVENT_FLOW_DELETED = 2,     /* the TCP connection closed; the UDP socket closed */
	IPR_EVENT_SOCKET_BIND = 3,
	IPR_EVENT_SOCKET_CONNECT = 4,   /* remote: where to; local: as bound so far */
	IPR_EVENT_SOCKET_LISTEN = 5,
	IPR_EVENT_SOCKET_ACCEPT = 6,    /* a TCP connection for a listener (parent_endpoint) */
	IPR_EVENT_SOCKET_CLOSE = 7,
};

/* One event of a local TCP or UDP socket of the handle's network namespace. */
struct ipr_event {
	int64_t ts_ns;              /* when (CLOCK_MONOTONIC) */
	uint64_t endpoint;          /* the socket (its cookie, as sock_diag shows it) */
	uint64_t parent_endpoint;   /* ACCEPT and a server's flow: the listener; else 0 */
	uint32_t kind;              /* enum ipr_event_kind */
	uint32_t pid;               /* the process (initial pid namespace); 0 if unknown */
	char comm[IPR_COMM_MAX];
	struct ipr_addr local, remote; /* an IPv4-mapped IPv6 address is given as IPv4 */
	uint16_t local_port, remote_port;
	uint8_t protocol;           /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t outbound;           /* a flow this host opened; CONNECT */
	uint8_t loopback;           /* both ends on this host */
	uint8_t blocked;            /* BIND, CONNECT: refused (ipr_events_block()) */
	uint8_t reserved[4];
};

struct ipr_events;

/*
 * Start reporting the events of `which` (IPR_EVENTS_* bits) of the sockets of
 * the caller's network namespace, through BPF programs attached at the root of
 * the cgroup v2 hierarchy until ipr_events_close() or exit. Sockets opened
 * before keep no earlier history: a flow already established is reported when
 * it ends. Returns 0, -EOPNOTSUPP with the reason in ipr_last_error() where the
 * kernel lacks what it needs, or -errno.
 */
int ipr_events_open(unsigned int which, struct ipr_events **out);

/* ipr_events_open() with what others see of the handle: start from
 * IPR_EVENTS_OPTIONS_INIT. Each events handle owns an nf_tables table without
 * chains, as a redirector does, so ipr_list_redirectors() and the watchers
 * (ipredir status, WinDivert's REFLECT) list it: layers "flow", "socket" or
 * both, no queue (queues 0), the priority and description given here. */
struct ipr_events_options {
	size_t size;              /* sizeof(struct ipr_events_options) */
	unsigned int which;       /* IPR_EVENTS_* bits */
	int priority;             /* shown, nothing else: events are not ordered */
	const char *describe;     /* shown as the filter (up to 123 characters); NULL = "" */
};

#define IPR_EVENTS_OPTIONS_INIT { .size = sizeof(struct ipr_events_options) }

int ipr_events_open_opts(const struct ipr_events_options *opts, struct ipr_events **out);

/* A descriptor that polls readable when events wait. */
int ipr_events_fd(const struct ipr_events *e);

/*
 * Up to max events into ev, waiting for the first unless flags has
 * IPR_RECV_NONBLOCK. Returns the number (>= 1), -EAGAIN, -EINTR, or -errno.
 * Events lost because the caller fell behind are counted by ipr_events_lost().
 */
int ipr_events_recv(struct ipr_events *e, struct ipr_event *ev, unsigned int max,
		    unsigned int flags);
uint64_t ipr_events_lost(const struct ipr_events *e);
void ipr_events_close(struct ipr_events *e);

/* What a test of a bind or connect call looks at (ipr_events_block()). */
enum ipr_call_field {
	IPR_CALL_ZERO,        /* always 0 */
	IPR_CALL_EVENT,       /* IPR_EVENT_SOCKET_BIND or IPR_EVENT_SOCKET_CONNECT */
	IPR_CALL_PID,         /* the calling process (initial pid namespace) */
	IPR_CALL_PROTOCOL,    /* IPPROTO_TCP, IPPROTO_UDP, ... */
	IPR_CALL_IPV6,        /* 1 for an IPv6 address (not an IPv4-mapped one), else 0 */
	IPR_CALL_LOCAL_ADDR,  /* as bound so far (BIND: being bound) */
	IPR_CALL_LOCAL_PORT,
	IPR_CALL_REMOTE_ADDR, /* CONNECT: where to; BIND: none (zero) */
	IPR_CALL_REMOTE_PORT,
	IPR_CALL_LOOPBACK,    /* 1 if the remote address is a loopback one */
};

enum ipr_cmp { IPR_CMP_EQ, IPR_CMP_NE, IPR_CMP_LT, IPR_CMP_LE, IPR_CMP_GT, IPR_CMP_GE };

#define IPR_CALL_TESTS 64         /* tests of a rule at most */
#define IPR_CALL_MATCH 0xfffeu    /* yes/no target: the call matches (is refused) */
#define IPR_CALL_NO_MATCH 0xffffu /* yes/no target: it does not */

/*
 * One test of a rule: "field cmp value", then the test numbered yes if it
 * holds, no if not (a later test, or IPR_CALL_MATCH / IPR_CALL_NO_MATCH).
 * value is a 128-bit number, value[0] its least significant word; an address
 * is IPv4-mapped (value[1] = 0xffff, value[0] the IPv4 address) or IPv6, in
 * host byte order words (value[3] holding its first four bytes).
 */
struct ipr_call_test {
	uint8_t field;  /* enum ipr_call_field */
	uint8_t cmp;    /* enum ipr_cmp */
	uint16_t yes, no;
	uint32_t value[4];
};

/*
 * From now on, refuse every bind and connect call of e's network namespace for
 * which tests (n of them, run from tests[0]) reach IPR_CALL_MATCH: the call
 * fails with EPERM in the process that made it, and its event, if e reports
 * sockets, says blocked. Replaces the previous rule; n = 0 blocks nothing.
 * The rule runs in the kernel and goes with e (ipr_events_close() or exit).
 * Returns 0 or -EINVAL (too many tests, a target not later than its test).
 */
int ipr_events_block(struct ipr_events *e, const struct ipr_call_test *tests, unsigned int n);

#ifdef __cplusplus
}
#endif

#endif /* IPREDIR_H */
