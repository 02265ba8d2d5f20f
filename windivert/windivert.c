/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * windivert.c - WinDivert handles over libipredir: open, close, shutdown and
 * parameters. A NETWORK or NETWORK_FORWARD handle is one libipredir handle:
 * the filter's kernel part (a pcap superset, the direction as the layer, the
 * interface) chooses the packets, user space runs the exact filter on them.
 * A packet is held in the kernel from its receive until its send (see io.c);
 * one never sent is dropped when WINDIVERT_PARAM_QUEUE_TIME runs out. A
 * FLOW or SOCKET handle reads libipredir's socket and flow events instead
 * (events.c), a REFLECT handle the handles' tables (reflect.c).
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wd.h"

#define KNOWN_FLAGS                                                                    \
	(WINDIVERT_FLAG_SNIFF | WINDIVERT_FLAG_DROP | WINDIVERT_FLAG_RECV_ONLY |       \
	 WINDIVERT_FLAG_SEND_ONLY | WINDIVERT_FLAG_NO_INSTALL | WINDIVERT_FLAG_FRAGMENTS)
#define HANDLES_MAX 1024 /* open handles of one process */

/* The open handles: a HANDLE is valid while it is listed here. */
static struct wd_handle *handles[HANDLES_MAX];
static pthread_mutex_t handles_lock = PTHREAD_MUTEX_INITIALIZER;

static int list_handle(struct wd_handle *w)
{
	int ok = 0;

	pthread_mutex_lock(&handles_lock);
	for (size_t i = 0; i < HANDLES_MAX && !ok; i++)
		if (!handles[i])
			handles[i] = w, ok = 1;
	pthread_mutex_unlock(&handles_lock);
	return ok;
}

/* Take w off the list; 0 if it was not there (closed already). */
static int unlist_handle(struct wd_handle *w)
{
	int found = 0;

	pthread_mutex_lock(&handles_lock);
	for (size_t i = 0; i < HANDLES_MAX && !found; i++)
		if (handles[i] == w)
			handles[i] = NULL, found = 1;
	pthread_mutex_unlock(&handles_lock);
	return found;
}

struct wd_handle *wd_handle_of(HANDLE h)
{
	struct wd_handle *w = NULL;

	pthread_mutex_lock(&handles_lock);
	for (size_t i = 0; i < HANDLES_MAX && !w && h && h != INVALID_HANDLE_VALUE; i++)
		if (handles[i] == h)
			w = handles[i];
	pthread_mutex_unlock(&handles_lock);
	if (!w)
		wd_fail(ERROR_INVALID_HANDLE);
	return w;
}

/* ---- checking the arguments ---- */

static int layer_known(WINDIVERT_LAYER layer)
{
	return layer >= WINDIVERT_LAYER_NETWORK && layer <= WINDIVERT_LAYER_REFLECT;
}

static int flags_valid(UINT64 flags)
{
	if (flags & ~(UINT64)KNOWN_FLAGS)
		return 0;
	if ((flags & WINDIVERT_FLAG_SNIFF) && (flags & WINDIVERT_FLAG_DROP))
		return 0;
	return !((flags & WINDIVERT_FLAG_RECV_ONLY) && (flags & WINDIVERT_FLAG_SEND_ONLY));
}

static int args_valid(WINDIVERT_LAYER layer, INT16 priority, UINT64 flags)
{
	return layer_known(layer) && flags_valid(flags) && priority >= WINDIVERT_PRIORITY_LOWEST &&
	       priority <= WINDIVERT_PRIORITY_HIGHEST;
}

/* ---- the libipredir handle ---- */

static const char *layer_name(WINDIVERT_LAYER layer)
{
	static const char *const names[] = { "NETWORK", "NETWORK_FORWARD", "FLOW", "SOCKET",
					     "REFLECT" };

	return names[layer];
}

/* The layers of libipredir the filter can match at. */
static unsigned int ipr_layers(const struct wd_handle *w, const struct wd_kernel *k)
{
	if (w->layer == WINDIVERT_LAYER_NETWORK_FORWARD)
		return IPR_LAYER_FORWARD;
	return (k->inbound ? IPR_LAYER_IN : 0) | (k->outbound ? IPR_LAYER_OUT : 0);
}

static unsigned int ipr_flags(const struct wd_handle *w, unsigned int layers)
{
	if ((w->flags & WINDIVERT_FLAG_SEND_ONLY) || !layers)
		return IPR_OPEN_SEND_ONLY | IPR_OPEN_INJECT_BELOW;
	/* Loopback packets are taken once, outbound; lower priorities see what we inject. */
	const unsigned int all = IPR_OPEN_NO_LOOPBACK_IN | IPR_OPEN_INJECT_BELOW;

	if (w->flags & WINDIVERT_FLAG_SNIFF)
		return all | IPR_OPEN_MONITOR;
	/* A full queue drops, as WinDivert's does; so does a packet never sent. */
	return all | IPR_OPEN_FAIL_CLOSED | IPR_OPEN_EXPIRE_DROP;
}

/* Queues for the handle: one per CPU for a handle that hands packets to callers. */
static unsigned int queues_for(const struct wd_handle *w, unsigned int flags)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if ((flags & (IPR_OPEN_MONITOR | IPR_OPEN_SEND_ONLY)) || (w->flags & WINDIVERT_FLAG_DROP))
		return 1;
	return cpus < 1 ? 1 : cpus > WD_LANES_MAX ? WD_LANES_MAX : (unsigned int)cpus;
}

void wd_describe(const struct wd_handle *w, const char *filter, char *buf, size_t size)
{
	snprintf(buf, size, "windivert %s priority=%d flags=0x%llx: %s", layer_name(w->layer),
		 w->priority, (unsigned long long)w->flags, filter);
}

/* Open the libipredir handle for the kernel part k; 0 or a Windows error code. */
static DWORD open_ipr(struct wd_handle *w, const struct wd_kernel *k, const char *text)
{
	struct ipr_options o = IPR_OPTIONS_INIT;
	char ifname[IF_NAMESIZE], describe[WD_DESCRIBE_MAX];
	int err;

	o.layers = ipr_layers(w, k);
	o.flags = ipr_flags(w, o.layers);
	w->ipr_sends_only = !!(o.flags & IPR_OPEN_SEND_ONLY);
	o.queues = queues_for(w, o.flags);
	if (wd_filter_needs_process(w->filter))
		o.flags |= IPR_OPEN_PROCESS;
	if (!o.layers)
		o.layers = IPR_LAYER_OUT;
	o.filter = k->pcap;
	o.priority = w->priority;
	o.queue_maxlen = (unsigned int)w->params[WINDIVERT_PARAM_QUEUE_LENGTH] + WD_HELD_MAX;
	o.deadline_ms = (unsigned int)w->params[WINDIVERT_PARAM_QUEUE_TIME];
	if (k->ifidx && !if_indextoname(k->ifidx, ifname))
		return ERROR_INVALID_PARAMETER; /* no such interface: nothing could match */
	o.interface = k->ifidx ? ifname : NULL;
	wd_describe(w, text, describe, sizeof(describe));
	o.describe = describe;
	err = ipr_open(&o, &w->ipr);
	return err ? wd_error_of(err) : 0;
}

/* ---- open and close ---- */

static void free_handle(struct wd_handle *w)
{
	if (!w)
		return;
	wd_pollfd_close(w);
	ipr_close(w->ipr);
	wd_filter_free(w->filter);
	wd_reflect_close(w);
	wd_events_free(w->events);
	wd_lanes_free(w);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

static struct wd_handle *new_handle(WINDIVERT_LAYER layer, INT16 priority, UINT64 flags)
{
	struct wd_handle *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	pthread_mutex_init(&w->lock, NULL);
	w->pollfd = w->wake = -1;
	w->layer = layer;
	w->priority = priority;
	w->flags = flags;
	w->params[WINDIVERT_PARAM_QUEUE_LENGTH] = WINDIVERT_PARAM_QUEUE_LENGTH_DEFAULT;
	w->params[WINDIVERT_PARAM_QUEUE_TIME] = WINDIVERT_PARAM_QUEUE_TIME_DEFAULT;
	w->params[WINDIVERT_PARAM_QUEUE_SIZE] = WINDIVERT_PARAM_QUEUE_SIZE_DEFAULT;
	w->params[WINDIVERT_PARAM_VERSION_MAJOR] = WD_VERSION_MAJOR;
	w->params[WINDIVERT_PARAM_VERSION_MINOR] = WD_VERSION_MINOR;
	return w;
}

/* Compile the filter, open what takes its packets; 0 or a Windows error code. */
static DWORD start(struct wd_handle *w, const char *filter)
{
	struct wd_kernel k = { 0 };
	DWORD code;
	int err = wd_filter_compile(filter, w->layer, &w->filter, NULL, NULL);

	if (err)
		return err == -ENOMEM ? ERROR_NOT_ENOUGH_MEMORY : ERROR_INVALID_PARAMETER;
	if (w->layer == WINDIVERT_LAYER_REFLECT)
		return wd_reflect_open(w);
	if (w->layer == WINDIVERT_LAYER_FLOW || w->layer == WINDIVERT_LAYER_SOCKET)
		return wd_events_open(w, filter);
	if (wd_filter_kernel(w->filter, &k))
		return ERROR_NOT_ENOUGH_MEMORY;
	w->exact = k.exact;
	/* Inbound fragments come reassembled to the input hook; taking them before
	 * reassembly is not done here yet: refused rather than done otherwise. */
	if ((w->flags & WINDIVERT_FLAG_FRAGMENTS) && w->layer == WINDIVERT_LAYER_NETWORK &&
	    k.inbound)
		code = ERROR_NOT_SUPPORTED;
	else
		code = open_ipr(w, &k, filter);
	wd_kernel_free(&k);
	if (!code)
		code = wd_lanes_open(w);
	if (!code && (w->flags & WINDIVERT_FLAG_DROP))
		code = wd_start_dropper(w);
	return code;
}

WD_EXPORT HANDLE WinDivertOpen(const char *filter, WINDIVERT_LAYER layer, INT16 priority,
			       UINT64 flags)
{
	struct wd_handle *w;
	DWORD code;

	if (!filter || !args_valid(layer, priority, flags))
		return wd_fail(ERROR_INVALID_PARAMETER), INVALID_HANDLE_VALUE;
	w = new_handle(layer, priority, flags);
	code = w ? start(w, filter) : ERROR_NOT_ENOUGH_MEMORY;
	if (!code && !list_handle(w))
		code = ERROR_NOT_ENOUGH_MEMORY;
	if (code) {
		free_handle(w);
		return wd_fail(code), INVALID_HANDLE_VALUE;
	}
	wd_ok();
	return w;
}

WD_EXPORT BOOL WinDivertClose(HANDLE handle)
{
	struct wd_handle *w = wd_handle_of(handle);

	if (!w || !unlist_handle(w))
		return wd_fail(ERROR_INVALID_HANDLE);
	wd_stop_dropper(w);
	free_handle(w);
	return wd_ok();
}

WD_EXPORT BOOL WinDivertShutdown(HANDLE handle, WINDIVERT_SHUTDOWN how)
{
	struct wd_handle *w = wd_handle_of(handle);
	int err = 0;

	if (!w)
		return FALSE;
	if (how < WINDIVERT_SHUTDOWN_RECV || how > WINDIVERT_SHUTDOWN_BOTH)
		return wd_fail(ERROR_INVALID_PARAMETER);
	if (how & WINDIVERT_SHUTDOWN_SEND)
		__atomic_store_n(&w->shut_send, 1, __ATOMIC_RELEASE);
	if ((how & WINDIVERT_SHUTDOWN_RECV) && w->reflect)
		wd_reflect_shutdown(w);
	else if ((how & WINDIVERT_SHUTDOWN_RECV) && w->events)
		wd_events_shutdown(w);
	else if (how & WINDIVERT_SHUTDOWN_RECV)
		err = ipr_shutdown(w->ipr);
	if (how & WINDIVERT_SHUTDOWN_RECV)
		wd_wake_pollers(w);
	return err ? wd_fail(wd_error_of(err)) : wd_ok();
}

/* ---- parameters ---- */

static const struct {
	UINT64 min, max;
} param_range[] = {
	[WINDIVERT_PARAM_QUEUE_LENGTH] = { WINDIVERT_PARAM_QUEUE_LENGTH_MIN,
					   WINDIVERT_PARAM_QUEUE_LENGTH_MAX },
	[WINDIVERT_PARAM_QUEUE_TIME] = { WINDIVERT_PARAM_QUEUE_TIME_MIN,
					 WINDIVERT_PARAM_QUEUE_TIME_MAX },
	[WINDIVERT_PARAM_QUEUE_SIZE] = { WINDIVERT_PARAM_QUEUE_SIZE_MIN,
					 WINDIVERT_PARAM_QUEUE_SIZE_MAX },
};

/* The libipredir parameter behind a WinDivert one, and its value there. */
static int ipr_param_of(WINDIVERT_PARAM param, UINT64 value, enum ipr_param *p, uint64_t *v)
{
	switch (param) {
	case WINDIVERT_PARAM_QUEUE_LENGTH:
		*p = IPR_PARAM_QUEUE_MAXLEN, *v = value + WD_HELD_MAX;
		return 1;
	case WINDIVERT_PARAM_QUEUE_TIME:
		*p = IPR_PARAM_DEADLINE_MS, *v = value;
		return 1;
	case WINDIVERT_PARAM_QUEUE_SIZE:
		*p = IPR_PARAM_RCVBUF, *v = value < 65536 ? 65536 : value;
		return 1;
	default:
		return 0;
	}
}

/* Apply a checked value where the handle has something to apply it to. */
static int apply_param(struct wd_handle *w, WINDIVERT_PARAM param, UINT64 value)
{
	enum ipr_param p;
	uint64_t v;
	int err;

	if (!w->ipr || !ipr_param_of(param, value, &p, &v))
		return 0; /* a REFLECT, FLOW or SOCKET handle: the value is kept */
	wd_lanes_lock(w);
	err = ipr_set_param(w->ipr, p, v);
	wd_lanes_unlock(w);
	/* Copies and send-only handles hold no queue: the value is kept, nothing else. */
	return err == -EINVAL && ((w->flags & WINDIVERT_FLAG_SNIFF) || w->ipr_sends_only) ? 0 : err;
}

WD_EXPORT BOOL WinDivertSetParam(HANDLE handle, WINDIVERT_PARAM param, UINT64 value)
{
	struct wd_handle *w = wd_handle_of(handle);
	int err;

	if (!w)
		return FALSE;
	if (param > WINDIVERT_PARAM_QUEUE_SIZE || value < param_range[param].min ||
	    value > param_range[param].max)
		return wd_fail(ERROR_INVALID_PARAMETER);
	err = apply_param(w, param, value);
	if (err)
		return wd_fail(wd_error_of(err));
	w->params[param] = value;
	return wd_ok();
}

WD_EXPORT BOOL WinDivertGetParam(HANDLE handle, WINDIVERT_PARAM param, UINT64 *pValue)
{
	struct wd_handle *w = wd_handle_of(handle);

	if (!w)
		return FALSE;
	if (param > WINDIVERT_PARAM_MAX || !pValue)
		return wd_fail(ERROR_INVALID_PARAMETER);
	*pValue = w->params[param];
	return wd_ok();
}
