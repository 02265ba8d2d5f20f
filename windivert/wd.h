/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * wd.h - private declarations shared by the libwindivert sources.
 *
 * libwindivert is WinDivert's API over libipredir's public API (ipredir.h):
 *   windivert.c   handles: open, close, shutdown, parameters, the handle registry
 *   io.c          receive and send: held packets, stash, checksums, injection
 *   reflect.c     the REFLECT layer: WinDivert handles opened and closed
 *   events.c      the FLOW and SOCKET layers: flow and socket events, blocking
 *   filter*.c     the filter language: compile, evaluate, format, object form,
 *                 and the part of a filter the kernel can run
 *   helper*.c     the WinDivertHelper* packet, address and byte-order helpers
 *   error.c       GetLastError() and the Windows error codes
 */
#ifndef WINDIVERT_WD_H
#define WINDIVERT_WD_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "ipredir.h"
#include "windivert.h"

#define WD_EXPORT __attribute__((visibility("default")))
#define WD_VERSION_MAJOR 2
#define WD_VERSION_MINOR 2

/* ---- windivert.c and io.c: handles ---- */

#define WD_STASH_MAX 64    /* packets one internal receive takes */
#define WD_HELD_MAX 16384  /* received packets remembered for their send (a ring) */
#define WD_LANES_MAX 8     /* queues of one handle, at most */

/* A received packet, remembered so that its send goes on through the held packet. */
struct wd_held {
	struct ipr_packet pkt;  /* for the verdict (its data pointer is stale) */
	const uint8_t *bytes;   /* its bytes in the receive buffer, while epoch matches */
	uint32_t epoch;
	uint32_t len;
	uint32_t cookie;        /* matches the token in its address; 0 = answered */
	uint8_t outbound;
};

/*
 * One queue of a handle, with what receiving and sending through it needs. A
 * handle taking packets has one lane per CPU (at most WD_LANES_MAX), so that
 * threads receiving on one handle work in parallel, as WinDivert's do; a
 * receive serves whichever lane is free and has packets.
 */
struct wd_lane {
	pthread_mutex_t lock;         /* one caller at a time in its queue handle */
	struct ipr_handle *ipr;       /* ipr_queue_handle() of the handle's */
	int must_flush;               /* verdicts carry the caller's bytes: flush now */
	uint8_t *rxbuf;               /* the packets of the last internal receive */
	size_t rxlen;
	struct ipr_packet rx[WD_STASH_MAX];
	WINDIVERT_ADDRESS rxaddr[WD_STASH_MAX];
	unsigned int next, count;     /* rx[next..count) wait to be handed out */
	uint32_t epoch;               /* counts internal receives */
	struct wd_held *held;         /* WD_HELD_MAX, used in turn */
	uint32_t next_held, cookies;
	uint8_t *txbuf;               /* a copy to fix checksums or the TTL in */
};

struct wd_handle {
	pthread_mutex_t lock;         /* REFLECT's state; parameters against the lanes */
	struct ipr_handle *ipr;
	int ipr_sends_only;           /* ipr holds no queue: SEND_ONLY, or a filter matching nothing */
	struct wd_lane *lanes;
	unsigned int nlanes;
	struct wd_filter *filter;
	int exact;                    /* the kernel runs the whole filter */
	WINDIVERT_LAYER layer;
	INT16 priority;
	UINT64 flags;
	int shut_send;
	UINT64 params[WINDIVERT_PARAM_MAX + 1];
	struct wd_reflect *reflect;   /* WINDIVERT_LAYER_REFLECT: instead of ipr */
	struct wd_events *events;     /* WINDIVERT_LAYER_FLOW, _SOCKET: instead of ipr */
	pthread_t dropper;            /* WINDIVERT_FLAG_DROP: drops what matches */
	int has_dropper;
	int pollfd;                   /* WinDivertGetFd(): an epoll set, made on request; -1 */
	int wake;                     /* in that set: written when receiving is shut down; -1 */
};

/* What one receive call wants and gets. */
struct wd_rx {
	uint8_t *buf;
	UINT buflen;
	UINT used;
	WINDIVERT_ADDRESS *addrs; /* NULL: the caller wants none */
	UINT max;                 /* addresses, hence packets, at most */
	UINT got;
	int cut;                  /* the first packet did not fit and was cut */
	int nonblock;             /* WINDIVERT_RECV_FLAG_NO_BLOCK: ERROR_IO_PENDING, not a wait */
};

/* The open handle behind h, or NULL with ERROR_INVALID_HANDLE. */
struct wd_handle *wd_handle_of(HANDLE h);

/* The lanes of w->ipr's queues, or none for a handle without; 0 or a Windows
 * error code. wd_lanes_free() undoes it, also after a failure. */
DWORD wd_lanes_open(struct wd_handle *w);
void wd_lanes_free(struct wd_handle *w);

/* Hold every lane still (parameters change under it), and let go. */
void wd_lanes_lock(struct wd_handle *w);
void wd_lanes_unlock(struct wd_handle *w);

/* WinDivertShutdown() of receiving: the descriptor of WinDivertGetFd(), if made,
 * polls readable from now on, so that a waiting event loop sees the end. */
void wd_wake_pollers(struct wd_handle *w);

/* Close that descriptor and what it watches (w is being freed). */
void wd_pollfd_close(struct wd_handle *w);

/* WINDIVERT_FLAG_DROP: a thread takes the matching packets and drops them;
 * 0 or a Windows error code. */
DWORD wd_start_dropper(struct wd_handle *w);

/* Stop that thread, if any (the handle is shut down for it). */
void wd_stop_dropper(struct wd_handle *w);

/* ---- reflect.c: WINDIVERT_LAYER_REFLECT ---- */

/* Start a REFLECT handle: the handles open now are its first events; 0 or an error code. */
DWORD wd_reflect_open(struct wd_handle *w);

/* Receive events (lock taken here): 0, ERROR_NO_DATA once shut down, or an error code. */
DWORD wd_reflect_receive(struct wd_handle *w, struct wd_rx *c);

/* No more events: receives return what waits, then ERROR_NO_DATA. */
void wd_reflect_shutdown(struct wd_handle *w);

/* The descriptor that polls readable when the watch has news. */
int wd_reflect_fd(const struct wd_handle *w);

/* Stop watching and free the REFLECT part of w (none is ignored). */
void wd_reflect_close(struct wd_handle *w);

/* ---- events.c: WINDIVERT_LAYER_FLOW and WINDIVERT_LAYER_SOCKET ---- */

/* Start a FLOW or SOCKET handle (a SOCKET one without SNIFF blocks what its filter
 * matches): 0 or a Windows error code; wd_events_free() undoes it, also then. */
DWORD wd_events_open(struct wd_handle *w, const char *filter);

/* What libipredir shows of the handle as its filter (REFLECT reads it back):
 * "windivert LAYER priority=P flags=0xF: FILTER". */
#define WD_DESCRIBE_MAX 128
void wd_describe(const struct wd_handle *w, const char *filter, char *buf, size_t size);

/* Receive events, waiting for the first: 0, ERROR_NO_DATA once shut down and none
 * wait, or an error code. */
DWORD wd_events_receive(struct wd_handle *w, struct wd_rx *c);

/* No more events: receives return what waits, then ERROR_NO_DATA. */
void wd_events_shutdown(struct wd_handle *w);

/* The descriptor that polls readable when events wait in the kernel. */
int wd_events_fd(const struct wd_handle *w);

void wd_events_free(struct wd_events *x);

/* ---- error.c ---- */

/* Set the thread's last error to code, errno to match; returns FALSE. */
BOOL wd_fail(DWORD code);

/* The last error set to ERROR_SUCCESS; returns TRUE. */
BOOL wd_ok(void);

/* The Windows error code for a libipredir -errno. */
DWORD wd_error_of(int err);

/* ---- helper*.c: packets and addresses as WinDivert reads them ---- */

/*
 * The first packet of a buffer as WinDivert parses it: views into the buffer,
 * NULL where a header is absent. Transport headers are only looked for in
 * an unfragmented packet or a first fragment; ICMP only over IPv4 and ICMPv6
 * only over IPv6.
 */
struct wd_packet {
	const uint8_t *ip;     /* IPv4 header */
	const uint8_t *ipv6;   /* IPv6 header */
	const uint8_t *icmp;   /* ICMP header (8 bytes: type, code, checksum, body) */
	const uint8_t *icmpv6; /* ICMPv6 header (8 bytes, as ICMP) */
	const uint8_t *tcp;    /* TCP header: 20 bytes at least, options may be cut */
	const uint8_t *udp;    /* UDP header */
	const uint8_t *data;   /* the bytes after the last header parsed; NULL if none */
	UINT data_len;
	UINT header_len;       /* bytes from the IP header to data */
	UINT total_len;        /* the packet's length as its IP header gives it */
	UINT16 frag_off;       /* fragment offset in 8-byte units; not 0: no transport header */
	UINT8 protocol;        /* the last next-header value reached */
	UINT8 fragment;        /* a fragment (IPv6: any fragment header) */
	UINT8 mf;              /* more fragments follow */
	UINT8 truncated;       /* the buffer ends before total_len */
	UINT8 extended;        /* bytes follow total_len: the next packet of a batch */
};

/*
 * Parse the first packet of the len bytes at pkt. Returns 0, or -EINVAL (and
 * *out zeroed) if no whole IPv4 or IPv6 header is there. A truncated packet
 * parses: check out->truncated where the whole packet is needed.
 */
int wd_parse(const void *pkt, UINT len, struct wd_packet *out);

/* WinDivertHelperHashPacket() of a parsed packet. */
UINT64 wd_hash_packet(const struct wd_packet *p, UINT64 seed);

/* "a.b.c.d" into a host-order address. Returns 0 or -EINVAL. */
int wd_parse_ipv4(const char *text, UINT32 *addr);

/*
 * An IPv6 address (or "a.b.c.d", taken as ::a.b.c.d) into addr[4], host
 * order: addr[0] holds the last 32 bits. Returns 0 or -EINVAL.
 */
int wd_parse_ipv6(const char *text, UINT32 *addr);

/* A host-order IPv4 address as text into buf: its length, or -ENOSPC (buf holds
 * what fits, NUL-terminated if size > 0). */
int wd_format_ipv4(UINT32 addr, char *buf, size_t size);

/* A host-order IPv6 address as WinDivert writes it (::ffff:a.b.c.d as a.b.c.d),
 * returning as wd_format_ipv4(). */
int wd_format_ipv6(const UINT32 *addr, char *buf, size_t size);

/* ---- filter*.c: the filter language ---- */

struct wd_filter;

/*
 * Compile a filter for layer: text in the filter language, or the object form
 * wd_filter_object() writes (an object naming a field the layer lacks is
 * refused). Returns 0, -ENOMEM, or -EINVAL with WinDivert's reason (a static
 * string) in *err and the position in the text in *pos (either may be NULL).
 */
int wd_filter_compile(const char *filter, WINDIVERT_LAYER layer, struct wd_filter **out,
		      const char **err, UINT *pos);

/* Free f (NULL is ignored). */
void wd_filter_free(struct wd_filter *f);

/* The layer f was compiled for. */
WINDIVERT_LAYER wd_filter_layer(const struct wd_filter *f);

/*
 * 1 if the packet (len bytes; NULL for an event) with its address matches f, else
 * 0, also when the packet does not fit the layer (NETWORK*: an IPv4 or IPv6
 * packet, IPv6 as addr->IPv6 says). f's layer decides what is read, not addr->Layer.
 */
int wd_filter_match(const struct wd_filter *f, const void *pkt, UINT len,
		    const WINDIVERT_ADDRESS *addr);

/* Whether f tests processId: packets then need their process looked up. */
int wd_filter_needs_process(const struct wd_filter *f);

/* The object form of f, NUL-terminated, into buf: its length (without the NUL),
 * or -ENOSPC with as much as fits, NUL-terminated when size > 0. */
int wd_filter_object(const struct wd_filter *f, char *buf, size_t size);

/* The canonical text of f into buf: its length, -ENOSPC (truncated as above)
 * or -ENOMEM. */
int wd_filter_format(const struct wd_filter *f, char *buf, size_t size);

/*
 * What the kernel can run of a network-layer filter: the kernel takes a packet
 * when its direction can match (its hook), its interface is ifidx (if not 0)
 * and pcap matches; user space then runs the filter itself, unless exact. The
 * facts assumed: the event is PACKET, SubIfIdx is 0 (no sub-interfaces here).
 */
struct wd_kernel {
	char *pcap;        /* pcap expression (DLT_RAW) matching a superset of f's packets,
			      malloc'ed; NULL = every packet. It names packets no filter
			      matches ("len == 0") so that libpcap always compiles it */
	int exact;         /* pcap, outbound/inbound and ifidx together are f exactly */
	int outbound;      /* f can match outbound packets */
	int inbound;       /* f can match inbound packets (both 0: f matches nothing) */
	UINT32 ifidx;      /* f matches packets of this interface only; 0 = any */
};

/* Fill *k for f: 0 or -ENOMEM. At the event layers nothing is left to the kernel:
 * every packet, both directions, not exact. */
int wd_filter_kernel(const struct wd_filter *f, struct wd_kernel *k);

/* Free what wd_filter_kernel() allocated. */
void wd_kernel_free(struct wd_kernel *k);

/*
 * The rule of a SOCKET-layer filter for ipr_events_block(): tests into out (max
 * of them) that match a bind or connect call exactly when f matches its event.
 * Returns their number (0: f matches no such call), -E2BIG when more than max
 * are needed, or -EINVAL when f can test at such a call what the kernel cannot
 * see there (endpointId, timestamp).
 */
int wd_filter_rule(const struct wd_filter *f, struct ipr_call_test *out, unsigned int max);

#endif /* WINDIVERT_WD_H */
