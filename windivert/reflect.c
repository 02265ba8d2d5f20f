/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * reflect.c - the WINDIVERT_LAYER_REFLECT layer: WinDivert handles of any
 * process of the network namespace opened and closed.
 *
 * Every NETWORK or NETWORK_FORWARD handle installs an nf_tables table whose
 * user data describes it ("windivert LAYER priority=P flags=0xF: filter", see
 * windivert.c; libipredir keeps 123 characters of it). A REFLECT handle lists those tables (ipr_list_redirectors())
 * when it opens, reporting each as opened, and again every POLL_MS while a
 * receive waits: a new table is a handle opened, a table gone one closed. The
 * data of an event is the handle's filter in object form (its text when it
 * was cut).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wd.h"

#define POLL_MS 100
#define SEEN_MAX 256   /* WinDivert handles of the namespace followed at once */
#define EVENTS_MAX 512 /* events waiting to be received */
#define TAG "windivert "

/* One WinDivert handle of some process, as its table describes it. */
struct seen {
	char table[32];
	WINDIVERT_DATA_REFLECT data;
	char filter[128];
};

struct event {
	struct seen handle;
	WINDIVERT_EVENT what;
	INT64 when;
};

struct wd_reflect {
	struct seen seen[SEEN_MAX];
	unsigned int nseen;
	struct event events[EVENTS_MAX];
	unsigned int head, count;
	int shut;
};

static INT64 now_ticks(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (INT64)ts.tv_sec * 10000000 + ts.tv_nsec / 100;
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
	snprintf(s->table, sizeof(s->table), "%s", r->table);
	snprintf(s->filter, sizeof(s->filter), "%s", r->filter + strlen(TAG) + used);
	s->data.ProcessId = (UINT32)r->pid;
	s->data.Priority = (INT16)priority;
	s->data.Flags = flags;
	return 1;
}

/* Where table is in the n handles of a; -1 if not there. */
static int find(const struct seen *a, unsigned int n, const char *table)
{
	for (unsigned int i = 0; i < n; i++)
		if (!strcmp(a[i].table, table))
			return (int)i;
	return -1;
}

static void add_event(struct wd_reflect *x, const struct seen *s, WINDIVERT_EVENT what)
{
	struct event *e;

	if (x->count == EVENTS_MAX)
		return; /* not received in time: lost, as WinDivert's queue loses them */
	e = &x->events[(x->head + x->count++) % EVENTS_MAX];
	*e = (struct event){ .handle = *s, .what = what, .when = now_ticks() };
}

/* The handles listed now (up to SEEN_MAX); -errno if the list could not be read. */
static int list_handles(struct seen *now, unsigned int *n)
{
	static __thread struct ipr_redirector r[SEEN_MAX];
	int found = ipr_list_redirectors(r, SEEN_MAX);

	*n = 0;
	for (int i = 0; i < found && i < SEEN_MAX; i++)
		*n += (unsigned int)parse_handle(&r[i], &now[*n]);
	return found < 0 ? found : 0;
}

/* Compare the list with what was seen: new handles opened, missing ones closed. */
static int look(struct wd_reflect *x)
{
	static __thread struct seen now[SEEN_MAX];
	unsigned int n;
	int err = list_handles(now, &n);

	for (unsigned int i = 0; i < x->nseen && !err; i++)
		if (find(now, n, x->seen[i].table) < 0)
			add_event(x, &x->seen[i], WINDIVERT_EVENT_REFLECT_CLOSE);
	for (unsigned int i = 0; i < n && !err; i++) {
		int j = find(x->seen, x->nseen, now[i].table);

		now[i].data.Timestamp = j < 0 ? now_ticks() : x->seen[j].data.Timestamp;
		if (j < 0)
			add_event(x, &now[i], WINDIVERT_EVENT_REFLECT_OPEN);
	}
	if (!err) {
		memcpy(x->seen, now, n * sizeof(*now));
		x->nseen = n;
	}
	return err;
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

	pthread_mutex_lock(&w->lock);
	while (!c->got && !err) {
		hand_out(w, c);
		if (c->got || __atomic_load_n(&x->shut, __ATOMIC_ACQUIRE))
			break;
		pthread_mutex_unlock(&w->lock);
		poll(NULL, 0, POLL_MS);
		pthread_mutex_lock(&w->lock);
		err = look(x);
	}
	pthread_mutex_unlock(&w->lock);
	if (err)
		return wd_error_of(err);
	return c->got ? 0 : ERROR_NO_DATA;
}

DWORD wd_reflect_open(struct wd_handle *w)
{
	if ((w->flags & (WINDIVERT_FLAG_SNIFF | WINDIVERT_FLAG_RECV_ONLY)) !=
	    (WINDIVERT_FLAG_SNIFF | WINDIVERT_FLAG_RECV_ONLY))
		return ERROR_INVALID_PARAMETER; /* what WinDivert requires of this layer */
	w->reflect = calloc(1, sizeof(*w->reflect));
	if (!w->reflect)
		return ERROR_NOT_ENOUGH_MEMORY;
	return look(w->reflect) ? ERROR_ACCESS_DENIED : 0; /* handles before it: opened */
}

void wd_reflect_shutdown(struct wd_handle *w)
{
	__atomic_store_n(&w->reflect->shut, 1, __ATOMIC_RELEASE);
}
