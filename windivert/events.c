/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * events.c - the WINDIVERT_LAYER_FLOW and WINDIVERT_LAYER_SOCKET layers over
 * libipredir's socket and flow events (ipr_events_*) of the caller's network
 * namespace.
 *
 * A receive hands out the events the filter matches, with no data, their
 * address carrying the Flow or Socket data. A SOCKET handle without
 * WINDIVERT_FLAG_SNIFF also blocks: its filter becomes a rule the kernel runs
 * at every bind and connect (wd_filter_rule()), and a call it matches fails
 * with EPERM; the event of a blocked call comes to the handle, Sniffed 0.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wd.h"

#define STASH_MAX 64 /* events one internal receive takes */

struct wd_events {
	struct ipr_events *ipr;
	int wake;                          /* an eventfd: shutdown wakes waiting receives */
	int shut;
	struct ipr_event stash[STASH_MAX]; /* taken, not yet looked at */
	unsigned int next, count;
};

_Static_assert(sizeof(WINDIVERT_DATA_FLOW) == sizeof(WINDIVERT_DATA_SOCKET) &&
		       offsetof(WINDIVERT_DATA_FLOW, Protocol) ==
			       offsetof(WINDIVERT_DATA_SOCKET, Protocol),
	       "FLOW and SOCKET data are laid out alike");

/* ---- the address of an event ---- */

/* An address as WinDivert gives it: IPv6, or IPv4 as ::ffff:a.b.c.d, in host-order
 * words, the last 32 bits in w[0]. */
static void words_of(const struct ipr_addr *a, UINT32 *w)
{
	const uint8_t *b = a->bytes;

	memset(w, 0, 4 * sizeof(*w));
	if (a->family != AF_INET6) {
		w[0] = (UINT32)b[0] << 24 | (UINT32)b[1] << 16 | (UINT32)b[2] << 8 | b[3];
		w[1] = 0xFFFF;
		return;
	}
	for (int i = 0; i < 4; i++)
		w[3 - i] = (UINT32)b[4 * i] << 24 | (UINT32)b[4 * i + 1] << 16 |
			   (UINT32)b[4 * i + 2] << 8 | b[4 * i + 3];
}

/* IPv6 as the call saw it: the remote address once there is one, else the local. */
static int is_ipv6(const struct ipr_event *ev)
{
	const struct ipr_addr *a = ev->remote_port ? &ev->remote : &ev->local;

	return a->family == AF_INET6;
}

static void address_of(const struct wd_handle *w, const struct ipr_event *ev,
		       WINDIVERT_ADDRESS *a)
{
	WINDIVERT_DATA_FLOW d = { .EndpointId = ev->endpoint,
				  .ParentEndpointId = ev->parent_endpoint,
				  .ProcessId = ev->pid,
				  .LocalPort = ev->local_port,
				  .RemotePort = ev->remote_port,
				  .Protocol = ev->protocol };

	words_of(&ev->local, d.LocalAddr);
	words_of(&ev->remote, d.RemoteAddr);
	memset(a, 0, sizeof(*a));
	a->Timestamp = ev->ts_ns / 100; /* CLOCK_MONOTONIC in 100 ns, as every layer here */
	a->Layer = w->layer;
	a->Event = ev->kind;
	a->Sniffed = !ev->blocked;
	a->Outbound = ev->outbound;
	a->Loopback = ev->loopback;
	a->IPv6 = is_ipv6(ev);
	if (w->layer == WINDIVERT_LAYER_FLOW)
		a->Flow = d;
	else
		memcpy(&a->Socket, &d, sizeof(d));
}

/* ---- receiving ---- */

/* Hand out the stashed events the filter takes (a blocked one always: the rule
 * took it); addresses only, no data. */
static void hand_out(struct wd_handle *w, struct wd_rx *c)
{
	struct wd_events *x = w->events;

	while (x->next < x->count && c->got < c->max) {
		const struct ipr_event *ev = &x->stash[x->next++];
		WINDIVERT_ADDRESS a;

		address_of(w, ev, &a);
		if (!ev->blocked && !wd_filter_match(w->filter, NULL, 0, &a))
			continue;
		if (c->addrs)
			c->addrs[c->got] = a;
		c->got++;
	}
}

/* Fill the stash without waiting (lock held): 1 if events came, 0 if none wait,
 * or -errno. */
static int fill_stash(struct wd_events *x)
{
	int n = ipr_events_recv(x->ipr, x->stash, STASH_MAX, IPR_RECV_NONBLOCK);

	if (n == -EAGAIN || n == -EINTR)
		return 0;
	if (n < 0)
		return n;
	x->next = 0;
	x->count = (unsigned int)n;
	return 1;
}

static void wait_events(struct wd_events *x)
{
	struct pollfd pfd[2] = { { .fd = ipr_events_fd(x->ipr), .events = POLLIN },
				 { .fd = x->wake, .events = POLLIN } };

	poll(pfd, 2, -1);
}

DWORD wd_events_receive(struct wd_handle *w, struct wd_rx *c)
{
	struct wd_events *x = w->events;
	int ret = 1;

	pthread_mutex_lock(&w->lock);
	while (!c->got && ret >= 0) {
		hand_out(w, c);
		if (c->got)
			break;
		ret = fill_stash(x);
		if (ret)
			continue;
		if (__atomic_load_n(&x->shut, __ATOMIC_ACQUIRE))
			break; /* shut down, and nothing waits */
		if (c->nonblock) {
			ret = -EAGAIN;
			break;
		}
		pthread_mutex_unlock(&w->lock);
		wait_events(x);
		pthread_mutex_lock(&w->lock);
	}
	pthread_mutex_unlock(&w->lock);
	if (c->got)
		return 0;
	if (ret == -EAGAIN)
		return ERROR_IO_PENDING;
	return ret < 0 ? wd_error_of(ret) : ERROR_NO_DATA;
}

int wd_events_fd(const struct wd_handle *w)
{
	return ipr_events_fd(w->events->ipr);
}

/* ---- open, shutdown, close ---- */

/* What WinDivert requires of the layer's flags: FLOW observes only, SOCKET
 * receives only. */
static int flags_fit(const struct wd_handle *w)
{
	UINT64 need = WINDIVERT_FLAG_RECV_ONLY;

	if (w->layer == WINDIVERT_LAYER_FLOW)
		need |= WINDIVERT_FLAG_SNIFF;
	return (w->flags & need) == need;
}

/* A SOCKET handle that is no copy blocks what its filter matches. */
static DWORD start_blocking(struct wd_handle *w)
{
	struct ipr_call_test rule[IPR_CALL_TESTS];
	int n = wd_filter_rule(w->filter, rule, IPR_CALL_TESTS);

	if (n < 0)
		return ERROR_INVALID_PARAMETER; /* the kernel could not decide it exactly */
	n = n ? ipr_events_block(w->events->ipr, rule, (unsigned int)n) : 0;
	return n ? wd_error_of(n) : 0;
}

DWORD wd_events_open(struct wd_handle *w, const char *filter)
{
	struct ipr_events_options o = IPR_EVENTS_OPTIONS_INIT;
	char describe[WD_DESCRIBE_MAX];
	struct wd_events *x;
	int err;

	if (!flags_fit(w))
		return ERROR_INVALID_PARAMETER;
	x = calloc(1, sizeof(*x));
	if (!x)
		return ERROR_NOT_ENOUGH_MEMORY;
	w->events = x;
	x->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (x->wake < 0)
		return wd_error_of(-errno);
	o.which = w->layer == WINDIVERT_LAYER_FLOW ? IPR_EVENTS_FLOW : IPR_EVENTS_SOCKET;
	o.priority = w->priority;
	wd_describe(w, filter, describe, sizeof(describe));
	o.describe = describe;
	err = ipr_events_open_opts(&o, &x->ipr);
	if (err)
		return wd_error_of(err);
	if (w->layer == WINDIVERT_LAYER_SOCKET && !(w->flags & WINDIVERT_FLAG_SNIFF))
		return start_blocking(w);
	return 0;
}

void wd_events_shutdown(struct wd_handle *w)
{
	uint64_t one = 1;

	__atomic_store_n(&w->events->shut, 1, __ATOMIC_RELEASE);
	if (write(w->events->wake, &one, sizeof(one)) < 0) {
		/* the counter is set already: waiting receives wake anyway */
	}
}

void wd_events_free(struct wd_events *x)
{
	if (!x)
		return;
	ipr_events_close(x->ipr);
	if (x->wake >= 0)
		close(x->wake);
	free(x);
}
