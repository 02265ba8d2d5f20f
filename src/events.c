/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * events.c - socket and flow events (ipr_events_*): the socket programs
 * (sockbpf.c) loaded to report them through a BPF ring buffer, read here. The
 * programs cannot tell a closed TCP flow's direction nor list a closing UDP
 * socket's flows: the flows reported established are kept here to say both.
 */
#include <netinet/in.h> /* before the linux/ headers */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "internal.h"
#include "sockbpf.h"
#include "owner.skel.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/* A flow reported established and not yet deleted. */
struct open_flow {
	struct ipr_event ev;
};


struct ipr_events {
	struct ipr_sockbpf bpf;
	struct ipr_rules *table;  /* what others see of the handle */
	struct ring_buffer *ring;
	unsigned int which;
	struct ipr_event *queue; /* events converted, not yet handed out */
	size_t queued, taken, queue_cap;
	struct open_flow *flows;
	size_t nflows, flows_cap;
	int error;               /* out of memory while reading the ring */
};

/* ---- addresses ---- */

static const uint8_t V4_MAPPED[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static void addr_of(const __u32 *words, int v6, struct ipr_addr *a)
{
	const uint8_t *b = (const uint8_t *)words;

	memset(a, 0, sizeof(*a));
	if (v6 && memcmp(b, V4_MAPPED, sizeof(V4_MAPPED))) {
		a->family = AF_INET6;
		memcpy(a->bytes, b, 16);
		return;
	}
	a->family = AF_INET;
	memcpy(a->bytes, v6 ? b + 12 : b, 4);
}

static int is_loopback(const struct ipr_addr *a)
{
	static const uint8_t one6[16] = { [15] = 1 };

	if (a->family == AF_INET)
		return a->bytes[0] == 127;
	return !memcmp(a->bytes, one6, 16);
}

static void event_of(const struct ipr_bpf_event *b, struct ipr_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->ts_ns = (int64_t)b->ts;
	ev->endpoint = b->cookie;
	ev->parent_endpoint = b->kind == IPR_EVENT_RELEASED_UDP || b->kind == IPR_EVENT_SOCKET_CLOSE
				      ? 0 : b->parent;
	ev->kind = b->kind;
	ev->pid = b->tgid;
	memcpy(ev->comm, b->comm, sizeof(ev->comm));
	ev->comm[sizeof(ev->comm) - 1] = 0;
	addr_of(b->local, b->v6, &ev->local);
	addr_of(b->remote, b->v6, &ev->remote);
	ev->local_port = b->local_port;
	ev->remote_port = b->remote_port;
	ev->protocol = b->protocol;
	ev->outbound = b->outbound;
	ev->blocked = b->blocked;
	ev->loopback = is_loopback(&ev->remote) ||
		       (ev->remote.family == ev->local.family &&
			!memcmp(ev->remote.bytes, ev->local.bytes, 16) && ev->remote_port);
}

/* ---- the queue of converted events ---- */

static int grow(void **array, size_t *cap, size_t need, size_t size)
{
	void *bigger;
	size_t n = *cap ? *cap : 64;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	bigger = realloc(*array, n * size);
	if (!bigger)
		return -ENOMEM;
	*array = bigger;
	*cap = n;
	return 0;
}

static int push(struct ipr_events *e, const struct ipr_event *ev)
{
	int err;

	if (e->taken == e->queued)
		e->taken = e->queued = 0;
	err = grow((void **)&e->queue, &e->queue_cap, e->queued + 1, sizeof(*ev));
	if (!err)
		e->queue[e->queued++] = *ev;
	return err;
}

/* ---- the flows reported established ---- */

static int flow_add(struct ipr_events *e, const struct ipr_event *ev)
{
	int err = grow((void **)&e->flows, &e->flows_cap, e->nflows + 1, sizeof(*e->flows));

	if (!err)
		e->flows[e->nflows++].ev = *ev;
	return err;
}

static void flow_remove(struct ipr_events *e, size_t i)
{
	e->flows[i] = e->flows[--e->nflows];
}

/* The UDP flow's entry in the programs' map, which reported it once. */
static void forget_udp_flow(struct ipr_events *e, uint64_t cookie, const struct ipr_event *est)
{
	struct ipr_udp_flow key = { .cookie = cookie, .remote_port = est->remote_port };

	/* as the datagram carried it: IPv4 in word 0 (an IPv6 socket's too) */
	memcpy(key.remote, est->remote.bytes, est->remote.family == AF_INET6 ? 16 : 4);
	bpf_map__delete_elem(e->bpf.skel->maps.udp_flows, &key, sizeof(key), 0);
}

/* A TCP flow closed: deleted, in the direction it was established. */
static int tcp_deleted(struct ipr_events *e, struct ipr_event *ev)
{
	for (size_t i = 0; i < e->nflows; i++)
		if (e->flows[i].ev.endpoint == ev->endpoint) {
			ev->outbound = e->flows[i].ev.outbound;
			ev->parent_endpoint = e->flows[i].ev.parent_endpoint;
			flow_remove(e, i);
			break;
		}
	return push(e, ev);
}

/* A UDP socket closed: each of its flows deleted. */
static int udp_deleted(struct ipr_events *e, const struct ipr_bpf_event *b)
{
	int err = 0;

	for (size_t i = 0; i < e->nflows && !err;) {
		struct ipr_event ev = e->flows[i].ev;

		if (ev.endpoint != b->cookie || ev.protocol != IPPROTO_UDP) {
			i++;
			continue;
		}
		forget_udp_flow(e, b->cookie, &ev);
		flow_remove(e, i);
		ev.kind = IPR_EVENT_FLOW_DELETED;
		ev.ts_ns = (int64_t)b->ts;
		err = push(e, &ev);
	}
	return err;
}

/* ---- reading the ring ---- */

static int take(struct ipr_events *e, const struct ipr_bpf_event *b)
{
	struct ipr_event ev;
	int err = 0;

	event_of(b, &ev);
	if (ev.kind == IPR_EVENT_FLOW_ESTABLISHED)
		err = flow_add(e, &ev);
	if (ev.kind == IPR_EVENT_FLOW_DELETED)
		return tcp_deleted(e, &ev);
	if (!err && (ev.kind == IPR_EVENT_SOCKET_CLOSE || ev.kind == IPR_EVENT_RELEASED_UDP) &&
	    b->parent)
		err = udp_deleted(e, b);
	if (!err && ev.kind != IPR_EVENT_RELEASED_UDP)
		err = push(e, &ev);
	return err;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct ipr_events *e = ctx;

	if (size < sizeof(struct ipr_bpf_event))
		return 0;
	if (take(e, data))
		e->error = -ENOMEM;
	return 0;
}

/* ---- the public calls ---- */

static int netns_cookie(uint64_t *cookie)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;
	socklen_t len = sizeof(*cookie);

	if (fd < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, cookie, &len) < 0)
		err = -errno;
	close(fd);
	return err;
}

static int start(struct ipr_events *e, unsigned int which)
{
	char why[320];
	uint64_t netns;
	int err = netns_cookie(&netns);

	if (err)
		return ipr_fail(-EOPNOTSUPP, "events: the kernel does not name network "
				"namespaces (SO_NETNS_COOKIE): %s", strerror(-err));
	err = ipr_sockbpf_open(&e->bpf, which, netns, why, sizeof(why));
	if (err)
		return ipr_fail(-EOPNOTSUPP, "events: %s", why);
	e->ring = ring_buffer__new(bpf_map__fd(e->bpf.skel->maps.events), on_record, e, NULL);
	if (!e->ring)
		return ipr_fail(-errno, "events: ring buffer: %s", strerror(errno));
	return 0;
}

/* The handle's own table, chainless, for ipr_list_redirectors() and the watchers. */
static int announce(struct ipr_events *e, const struct ipr_events_options *o)
{
	char table[32], comment[IPR_COMMENT_MAX], describe[IPR_DESCRIBE_MAX];
	struct ipr_rules_spec spec = { .table = table, .comment = comment,
				       .priority = o->priority };

	ipr_table_name(table, sizeof(table));
	if (ipr_events_comment(comment, sizeof(comment), o->which, o->priority, o->describe) &&
	    o->describe) {
		ipr_cut_text(describe, sizeof(describe), o->describe);
		spec.describe = describe; /* too long for the comment: whole after it */
	}
	return ipr_rules_install(&spec, &e->table);
}

IPR_EXPORT int ipr_events_open_opts(const struct ipr_events_options *opts,
				    struct ipr_events **out)
{
	struct ipr_events_options o = { 0 };
	struct ipr_events *e;
	int err;

	if (!opts || opts->size < offsetof(struct ipr_events_options, which) + sizeof(o.which))
		return ipr_fail(-EINVAL, "events: options not initialised: start from "
				"IPR_EVENTS_OPTIONS_INIT");
	memcpy(&o, opts, opts->size < sizeof(o) ? opts->size : sizeof(o));
	if (!out || !o.which || (o.which & ~(IPR_EVENTS_FLOW | IPR_EVENTS_SOCKET)))
		return ipr_fail(-EINVAL, "events: which is IPR_EVENTS_FLOW, IPR_EVENTS_SOCKET "
				"or both");
	e = calloc(1, sizeof(*e));
	if (!e)
		return ipr_fail(-ENOMEM, "out of memory");
	e->which = o.which;
	err = start(e, o.which);
	if (!err)
		err = announce(e, &o);
	if (err) {
		ipr_events_close(e);
		return err;
	}
	*out = e;
	return 0;
}

IPR_EXPORT int ipr_events_open(unsigned int which, struct ipr_events **out)
{
	struct ipr_events_options o = IPR_EVENTS_OPTIONS_INIT;

	o.which = which;
	return ipr_events_open_opts(&o, out);
}

IPR_EXPORT int ipr_events_fd(const struct ipr_events *e)
{
	return ring_buffer__epoll_fd(e->ring);
}

/* Hand out what is queued; then read the ring once (waiting if asked). */
static unsigned int hand_out(struct ipr_events *e, struct ipr_event *ev, unsigned int max)
{
	unsigned int n = 0;

	while (n < max && e->taken < e->queued)
		ev[n++] = e->queue[e->taken++];
	return n;
}

IPR_EXPORT int ipr_events_recv(struct ipr_events *e, struct ipr_event *ev, unsigned int max,
			       unsigned int flags)
{
	unsigned int n;

	if (!e || !ev || !max)
		return ipr_fail(-EINVAL, "events: nowhere to put them");
	for (;;) {
		int err;

		n = hand_out(e, ev, max);
		if (n)
			return (int)n;
		if (e->error)
			return ipr_fail(e->error, "events: out of memory");
		err = flags & IPR_RECV_NONBLOCK ? ring_buffer__consume(e->ring)
						: ring_buffer__poll(e->ring, -1);
		if (err == -EINTR)
			return -EINTR;
		if (err < 0)
			return ipr_fail(err, "events: %s", strerror(-err));
		if (err == 0 && (flags & IPR_RECV_NONBLOCK) && e->taken == e->queued)
			return -EAGAIN;
	}
}

IPR_EXPORT uint64_t ipr_events_lost(const struct ipr_events *e)
{
	return e && e->bpf.skel ? __atomic_load_n(&e->bpf.skel->bss->lost_events,
						  __ATOMIC_RELAXED)
				: 0;
}

_Static_assert(sizeof(struct ipr_call_test) == sizeof(struct ipr_bpf_call_test) &&
		       IPR_CALL_TESTS == IPR_BPF_CALL_TESTS && IPR_CALL_MATCH == IPR_BPF_CALL_MATCH &&
		       (int)IPR_CALL_LOOPBACK == (int)IPR_BPF_LOOPBACK,
	       "struct ipr_call_test is what the programs read");

static int check_rule(const struct ipr_call_test *t, unsigned int n)
{
	if (n > IPR_CALL_TESTS)
		return ipr_fail(-EINVAL, "events: a rule of %u tests: at most %d", n,
				IPR_CALL_TESTS);
	for (unsigned int i = 0; i < n; i++) {
		int jumps_back = (t[i].yes <= i || (t[i].yes >= n && t[i].yes < IPR_CALL_MATCH)) ||
				 (t[i].no <= i || (t[i].no >= n && t[i].no < IPR_CALL_MATCH));

		if (t[i].field > IPR_CALL_LOOPBACK || t[i].cmp > IPR_CMP_GE || jumps_back)
			return ipr_fail(-EINVAL, "events: test %u of the rule: %s", i,
					jumps_back ? "a target not after it" : "no such field or "
					"comparison");
	}
	return 0;
}

IPR_EXPORT int ipr_events_block(struct ipr_events *e, const struct ipr_call_test *tests,
				unsigned int n)
{
	int err = e ? check_rule(tests, n) : ipr_fail(-EINVAL, "events: no handle");

	if (err)
		return err;
	__atomic_store_n(&e->bpf.skel->bss->rule_tests, 0, __ATOMIC_RELEASE);
	for (__u32 i = 0; i < n && !err; i++)
		err = bpf_map__update_elem(e->bpf.skel->maps.rule, &i, sizeof(i), &tests[i],
					   sizeof(tests[i]), BPF_ANY);
	if (err)
		return ipr_fail(err, "events: the rule: %s", strerror(-err));
	__atomic_store_n(&e->bpf.skel->bss->rule_tests, n, __ATOMIC_RELEASE);
	return 0;
}

IPR_EXPORT void ipr_events_close(struct ipr_events *e)
{
	if (!e)
		return;
	ipr_rules_remove(e->table);
	ring_buffer__free(e->ring);
	ipr_sockbpf_close(&e->bpf);
	free(e->queue);
	free(e->flows);
	free(e);
}
