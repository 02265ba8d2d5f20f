/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * wd.h - private declarations shared by the libwindivert sources.
 *
 * libwindivert is WinDivert's API over libipredir's public API (ipredir.h):
 *   windivert.c   handles: open, receive, send, shutdown, close, parameters
 *   filter*.c     the filter language: compile, evaluate, format, object form,
 *                 and the part of a filter the kernel can run
 *   helper.c      the WinDivertHelper* packet, address and byte-order helpers
 *   error.c       GetLastError() and the Windows error codes
 */
#ifndef WINDIVERT_WD_H
#define WINDIVERT_WD_H

#include <stddef.h>
#include <stdint.h>

#include "ipredir.h"
#include "windivert.h"

#define WD_EXPORT __attribute__((visibility("default")))
#define WD_VERSION_MAJOR 2
#define WD_VERSION_MINOR 2

/* ---- error.c ---- */

/* Set the thread's last error to code, errno to match; returns FALSE. */
BOOL wd_fail(DWORD code);

/* The last error set to ERROR_SUCCESS; returns TRUE. */
BOOL wd_ok(void);

/* The Windows error code for a libipredir -errno. */
DWORD wd_error_of(int err);

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
 * 1 if the packet (len bytes; NULL for an event) with its address matches f, 0
 * if not. f's layer decides what is read (addr->Layer is not). -EINVAL if the
 * packet does not fit the layer (NETWORK*: an IPv4 or IPv6 packet, IPv6 as
 * addr->IPv6 says; FLOW, SOCKET: no packet); -EOPNOTSUPP for random8/16/32
 * while WinDivertHelperHashPacket() is missing.
 */
int wd_filter_match(const struct wd_filter *f, const void *pkt, UINT len,
		    const WINDIVERT_ADDRESS *addr);

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

/* Fill *k for f: 0, -EINVAL (f is not a NETWORK or NETWORK_FORWARD filter) or -ENOMEM. */
int wd_filter_kernel(const struct wd_filter *f, struct wd_kernel *k);

/* Free what wd_filter_kernel() allocated. */
void wd_kernel_free(struct wd_kernel *k);

#endif /* WINDIVERT_WD_H */
