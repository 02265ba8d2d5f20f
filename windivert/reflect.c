/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * reflect.c - the WINDIVERT_LAYER_REFLECT layer: WinDivert handles of any
 * process of the network namespace opened and closed.
 *
 * Every NETWORK or NETWORK_FORWARD handle installs an nf_tables table whose
 * user data describes it ("windivert LAYER priority=P flags=0xF: filter", see
 * windivert.c; libipredir keeps 123 characters of it). A REFLECT handle
 * watches the redirectors of the namespace (ipr_watch_open()): those open
 * when it opens are reported opened, then each opened or closed as libipredir
 * sees it. A receive waits POLL_MS at a time, to notice a shutdown. The data
 * of an event is the handle's filter in object form (its text when it was
 * cut).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wd.h"

#define POLL_MS 100
#define EVENTS_MAX 512 /* events waiting to be received */
#define TAG "windivert "

/* One WinDivert handle of some process, as its table describes it. */
struct seen {
	WINDIVERT_DATA_REFLECT data;
	char filter[128];
};

struct event {
	struct seen handle;
	WINDIVERT_EVENT what;
	INT64 when;
};

struct wd_reflect {
	struct ipr_watch *watch;
	struct event events[EVENTS_MAX];
	unsigned int head, count;
	int shut;
};

/* A CLOCK_MONOTONIC time in the 100 ns ticks of WinDivert's timestamps. */
static INT64 ticks_of(uint64_t ns)
{
	return (INT64)(ns / 100);
}

/* ---- what the tables say ---- */

static int layer_of(const char *name, WINDIVERT_LAYER *layer)
{
	static const char *const names[] = { "NETWORK", "NETWORK_FORWARD", "FLOW", "SOCKET",
					     "REFLECT" };

	for (int i = 0; i < 5; i++)
		if (!strcmp(name, names[i]))
			return *layer = (WINDIVERT_LAYER)i, 1;
	return 0;
}

/* A table of a WinDivert handle into *s; 0 if it is some other redirector's. */
static int parse_handle(const struct ipr_redirector *r, struct seen *s)
{
	char layer[20];
	unsigned long long flags;
	int priority, used = 0;

	if (strncmp(r->filter, TAG, strlen(TAG)) ||
	    sscanf(r->filter + strlen(TAG), "%19s priority=%d flags=0x%llx: %n", layer, &priority,
		   &flags, &used) != 3 || !used || !layer_of(layer, &s->data.Layer))
		return 0;
	snprintf(s->filter, sizeof(s->filter), "%s", r->filter + strlen(TAG) + used);
	s->data.ProcessId = (UINT32)r->pid;
	s->data.Priority = (INT16)priority;
	s->data.Flags = flags;
	return 1;
}

/* A redirector's change as an event of the REFLECT layer, if it is a WinDivert handle's. */
static void add_event(struct wd_reflect *x, const struct ipr_watch_event *e)
{
	struct event *ev;
	struct seen s = { 0 };

	if (!parse_handle(&e->redirector, &s))
		return;
	if (x->count == EVENTS_MAX)
		return; /* not received in time: lost, as WinDivert's queue loses them */
	s.data.Timestamp = ticks_of(e->opened_ns);
	ev = &x->events[(x->head + x->count++) % EVENTS_MAX];
	*ev = (struct event){ .handle = s, .when = ticks_of(e->time_ns) };
	ev->what = e->change == IPR_WATCH_CLOSED ? WINDIVERT_EVENT_REFLECT_CLOSE :
						   WINDIVERT_EVENT_REFLECT_OPEN;
}

/* Take the changes libipredir has seen, waiting up to timeout_ms for the first. */
static int look(struct wd_reflect *x, int timeout_ms)
{
	struct ipr_watch_event e;
	int ret;

	while ((ret = ipr_watch_next(x->watch, &e, sizeof(e), timeout_ms)) == 1) {
		add_event(x, &e);
		timeout_ms = 0;
	}
	return ret == -EINTR ? 0 : ret;
}

/* ---- receiving events ---- */

/* The data of an event: the handle's filter as an object, or as text if cut. */
static size_t event_data(const struct event *e, char *out, size_t size)
{
	struct wd_filter *f = NULL;
	int n = -1;

	if (wd_filter_compile(e->handle.filter, e->handle.data.Layer, &f, NULL, NULL) == 0)
		n = wd_filter_object(f, out, size);
	wd_filter_free(f);
	if (n < 0)
		n = snprintf(out, size, "%s", e->handle.filter);
	return (size_t)n + 1; /* with its NUL, as an object string */
}

static void event_address(const struct event *e, WINDIVERT_ADDRESS *a)
{
	memset(a, 0, sizeof(*a));
	a->Timestamp = e->when;
	a->Layer = WINDIVERT_LAYER_REFLECT;
	a->Event = e->what;
	a->Sniffed = 1;
	a->Reflect = e->handle.data;
}

/* Hand out the waiting events the filter takes, packed as WinDivertRecvEx() wants. */
static void hand_out(struct wd_handle *w, struct wd_rx *c)
{
	struct wd_reflect *x = w->reflect;
	static __thread char data[4096];

	while (x->count && c->got < c->max) {
		const struct event *e = &x->events[x->head];
		WINDIVERT_ADDRESS a;
		size_t len = event_data(e, data, sizeof(data));

		event_address(e, &a);
		if (wd_filter_match(w->filter, NULL, 0, &a)) {
			if (c->used + len > c->buflen && c->got)
				break;
			if (c->used + len > c->buflen)
				len = c->buflen - c->used, c->cut = 1;
			memcpy(c->buf + c->used, data, len);
			if (c->addrs)
				c->addrs[c->got] = a;
			c->used += (UINT)len;
			c->got++;
		}
		x->head = (x->head + 1) % EVENTS_MAX;
		x->count--;
	}
}

DWORD wd_reflect_receive(struct wd_handle *w, struct wd_rx *c)
{
	struct wd_reflect *x = w->reflect;
	int err = 0;

	int shut = 0, looked = 0;

	pthread_mutex_lock(&w->lock); /* held while waiting: the watch is one thread's */
	for (;;) {
		hand_out(w, c);
		shut = __atomic_load_n(&x->shut, __ATOMIC_ACQUIRE);
		if (c->got || shut || err || (c->nonblock && looked))
			break;
		err = look(x, c->nonblock ? 0 : POLL_MS);
		looked = 1;
	}
	pthread_mutex_unlock(&w->lock);
	if (err)
		return wd_error_of(err);
	return c->got ? 0 : shut ? ERROR_NO_DATA : ERROR_IO_PENDING;
}

int wd_reflect_fd(const struct wd_handle *w)
{
	return ipr_watch_fd(w->reflect->watch);
}

DWORD wd_reflect_open(struct wd_handle *w)
{
	if ((w->flags & (WINDIVERT_FLAG_SNIFF | WINDIVERT_FLAG_RECV_ONLY)) !=
	    (WINDIVERT_FLAG_SNIFF | WINDIVERT_FLAG_RECV_ONLY))
		return ERROR_INVALID_PARAMETER; /* what WinDivert requires of this layer */
	w->reflect = calloc(1, sizeof(*w->reflect));
	if (!w->reflect)
		return ERROR_NOT_ENOUGH_MEMORY;
	if (ipr_watch_open(&w->reflect->watch) < 0)
		return ERROR_ACCESS_DENIED;
	return look(w->reflect, 0) ? ERROR_ACCESS_DENIED : 0; /* handles before it: opened */
}

void wd_reflect_close(struct wd_handle *w)
{
	if (w->reflect)
		ipr_watch_close(w->reflect->watch);
	free(w->reflect);
}

void wd_reflect_shutdown(struct wd_handle *w)
{
	__atomic_store_n(&w->reflect->shut, 1, __ATOMIC_RELEASE);
}
