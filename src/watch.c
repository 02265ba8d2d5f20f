/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * watch.c - the redirectors of this network namespace opened and closed, as
 * it happens (ipr_watch_open, ipr_watch_next).
 *
 * A netlink socket in the nf_tables multicast group hears every table created
 * and deleted; status.c reads what a table's user data says of its
 * redirector. The kernel releases the table of a process that dies without a
 * notification, so each redirector's process is watched too, by a pidfd:
 * when it exits the tables are listed again and those gone are closed. Both
 * kinds of descriptor sit in one epoll set (ipr_watch_fd). What a redirector
 * was is kept from when it was first seen, for its close.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <libmnl/libmnl.h>

#include "internal.h"

#define RECV_SIZE 65536     /* one notification: a rule of a large filter fits */
#define RCVBUF (1 << 20)    /* notifications a burst of opens may queue */
#define WAIT_EVENTS 16

#define NETLINK_ID 0     /* epoll's word for the socket; a process's is its known.id */

/* A redirector open now, as first seen. */
struct known {
	struct ipr_watch_event e;
	int pidfd;   /* its process; -1 if there is none to watch */
	uint64_t id; /* its word in the epoll set (fd numbers are reused) */
};

/* A growing array of elements of one size. */
struct vec {
	void *at;
	unsigned int n, cap;
};

struct ipr_watch {
	int epfd;
	struct mnl_socket *nl;
	struct vec known;   /* struct known */
	struct vec pending; /* struct ipr_watch_event, handed out from head */
	unsigned int head;
	uint64_t last_id;
	int relist;         /* a process was gone when first seen: list the tables again */
	char *buf;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Room for one more element of v at the end: its address, or NULL. */
static void *vec_add(struct vec *v, size_t size)
{
	unsigned int cap = v->cap ? v->cap * 2 : 16;
	void *at = v->at;

	if (v->n == v->cap && !(at = realloc(v->at, cap * size)))
		return NULL;
	if (v->n == v->cap)
		v->at = at, v->cap = cap;
	return (char *)v->at + (size_t)v->n++ * size;
}

static struct known *known_at(struct ipr_watch *w, unsigned int i)
{
	return &((struct known *)w->known.at)[i];
}

static int find(struct ipr_watch *w, const char *table)
{
	for (unsigned int i = 0; i < w->known.n; i++)
		if (!strcmp(known_at(w, i)->e.redirector.table, table))
			return (int)i;
	return -1;
}

/* ---- events ---- */

static int report(struct ipr_watch *w, const struct ipr_watch_event *e, int change)
{
	struct ipr_watch_event *out = vec_add(&w->pending, sizeof(*out));

	if (!out)
		return ipr_fail(-ENOMEM, "out of memory for a redirector event");
	*out = *e;
	out->change = change;
	out->time_ns = now_ns();
	return 0;
}

/* Watch the process of k by a pidfd; a process already gone has the tables listed again. */
static void watch_process(struct ipr_watch *w, struct known *k)
{
	struct epoll_event ev = { .events = EPOLLIN };
	pid_t pid = k->e.redirector.pid;

	k->pidfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
	if (k->pidfd < 0 && errno == ESRCH)
		w->relist = 1;
	k->id = ++w->last_id;
	ev.data.u64 = k->id;
	if (k->pidfd >= 0 && epoll_ctl(w->epfd, EPOLL_CTL_ADD, k->pidfd, &ev) < 0) {
		close(k->pidfd);
		k->pidfd = -1;
	}
}

/* A redirector seen for the first time: kept, with its process, and reported. */
static int learn(struct ipr_watch *w, const struct ipr_watch_event *e, int change)
{
	struct known *k = vec_add(&w->known, sizeof(*k));

	if (!k)
		return ipr_fail(-ENOMEM, "out of memory for a redirector");
	k->e = *e;
	if (ipr_read_comm((uint32_t)e->redirector.pid, k->e.comm) < 0)
		k->e.comm[0] = '\0';
	k->e.opened_ns = now_ns();
	watch_process(w, k);
	return report(w, &k->e, change);
}

/* Known redirector i closed: reported as it was first seen, then forgotten. */
static int forget(struct ipr_watch *w, unsigned int i)
{
	struct known *k = known_at(w, i);
	int err = report(w, &k->e, IPR_WATCH_CLOSED);

	if (k->pidfd >= 0)
		close(k->pidfd); /* leaves the epoll set with it */
	*k = *known_at(w, --w->known.n);
	return err;
}

/* ---- listing the tables ---- */

static void collect(const struct ipr_watch_event *e, void *arg)
{
	struct ipr_watch_event *slot = vec_add(arg, sizeof(*slot));

	if (slot)
		*slot = *e;
}

static int listed(const struct vec *now, const char *table)
{
	const struct ipr_watch_event *e = now->at;

	for (unsigned int i = 0; i < now->n; i++)
		if (!strcmp(e[i].redirector.table, table))
			return 1;
	return 0;
}

/* List the tables: those gone are closed, those new reported as change. */
static int relist(struct ipr_watch *w, int change)
{
	struct vec now = { 0 };
	const struct ipr_watch_event *e;
	int err = ipr_tables_dump(collect, &now);

	w->relist = 0;
	for (unsigned int i = w->known.n; i-- > 0 && !err;)
		if (!listed(&now, known_at(w, i)->e.redirector.table))
			err = forget(w, i);
	e = now.at;
	for (unsigned int i = 0; i < now.n && !err; i++)
		if (find(w, e[i].redirector.table) < 0)
			err = learn(w, &e[i], change);
	free(now.at);
	return err;
}

/* ---- notifications ---- */

static int take_message(struct ipr_watch *w, const struct nlmsghdr *nlh)
{
	uint16_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);
	struct ipr_watch_event e;
	int i, ret;

	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
	    (type != NFT_MSG_NEWTABLE && type != NFT_MSG_DELTABLE))
		return 0;
	ret = ipr_table_event(nlh, &e);
	if (ret <= 0)
		return ret;
	i = find(w, e.redirector.table);
	if (type == NFT_MSG_NEWTABLE)
		return i < 0 ? learn(w, &e, IPR_WATCH_OPENED) : 0;
	return i >= 0 ? forget(w, (unsigned int)i) : report(w, &e, IPR_WATCH_CLOSED);
}

/* Every notification waiting; lost ones (ENOBUFS) made good by listing the tables. */
static int read_notifications(struct ipr_watch *w)
{
	const struct nlmsghdr *nlh;
	int len, err = 0;

	while (!err) {
		len = (int)mnl_socket_recvfrom(w->nl, w->buf, RECV_SIZE);
		if (len < 0 && errno == ENOBUFS)
			err = relist(w, IPR_WATCH_OPENED);
		else if (len < 0 && errno != ENOSPC) /* ENOSPC: a message too long, no table */
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		for (nlh = (const void *)w->buf; len > 0 && mnl_nlmsg_ok(nlh, len) && !err;
		     nlh = mnl_nlmsg_next(nlh, &len))
			err = take_message(w, nlh);
	}
	return err;
}

/* The process of the redirector with this id exited: its table went with it (or, if
 * its socket was shared, did not); already forgotten, nothing to do. */
static int process_exited(struct ipr_watch *w, uint64_t id)
{
	for (unsigned int i = 0; i < w->known.n; i++) {
		struct known *k = known_at(w, i);

		if (k->id != id || k->pidfd < 0)
			continue;
		close(k->pidfd);
		k->pidfd = -1;
		return relist(w, IPR_WATCH_OPENED);
	}
	return 0;
}

/* Wait up to timeout_ms for notifications or exits and take them: 0 or -errno. */
static int wait_events(struct ipr_watch *w, int timeout_ms)
{
	struct epoll_event ev[WAIT_EVENTS];
	int n = epoll_wait(w->epfd, ev, WAIT_EVENTS, timeout_ms), err = 0;

	if (n < 0)
		return -errno;
	for (int i = 0; i < n && !err; i++)
		err = ev[i].data.u64 == NETLINK_ID ? read_notifications(w) :
						     process_exited(w, ev[i].data.u64);
	return err;
}

/* ---- the API ---- */

static int subscribe(struct ipr_watch *w)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int group = NFNLGRP_NFTABLES, fd;

	w->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!w->nl || mnl_socket_bind(w->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return ipr_fail(-errno, "cannot open a netfilter netlink socket: %s",
				strerror(errno));
	fd = mnl_socket_get_fd(w->nl);
	if (mnl_socket_setsockopt(w->nl, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
		return ipr_fail(-errno, "cannot hear nf_tables notifications%s: %s",
				errno == EPERM ? " (needs CAP_NET_ADMIN)" : "", strerror(errno));
	ev.data.u64 = NETLINK_ID;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return ipr_fail(-errno, "cannot poll the netlink socket: %s", strerror(errno));
	return ipr_nfnl_set_rcvbuf(fd, RCVBUF);
}

IPR_EXPORT int ipr_watch_open(struct ipr_watch **out)
{
	struct ipr_watch *w = calloc(1, sizeof(*w));
	int err;

	*out = NULL;
	if (!w || !(w->buf = malloc(RECV_SIZE))) {
		free(w);
		return ipr_fail(-ENOMEM, "out of memory for a watch");
	}
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	err = w->epfd < 0 ? ipr_fail(-errno, "cannot create an epoll set: %s", strerror(errno))
			  : subscribe(w); /* first, so that nothing falls between */
	if (!err)
		err = relist(w, IPR_WATCH_EXISTING);
	if (err) {
		ipr_watch_close(w);
		return err;
	}
	*out = w;
	return 0;
}

IPR_EXPORT int ipr_watch_fd(const struct ipr_watch *w)
{
	return w->epfd;
}

/* The first waiting event into ev (size bytes of it): 1, or 0 if none waits. */
static int hand_out(struct ipr_watch *w, struct ipr_watch_event *ev, size_t size)
{
	const struct ipr_watch_event *e = w->pending.at;

	if (w->head == w->pending.n)
		return 0;
	memcpy(ev, &e[w->head++], size < sizeof(*e) ? size : sizeof(*e));
	if (w->head == w->pending.n)
		w->head = w->pending.n = 0;
	return 1;
}

/* Milliseconds left until deadline (ns), or -1 to wait without one. */
static int ms_left(uint64_t deadline, int timeout_ms)
{
	uint64_t now = now_ns();

	if (timeout_ms < 0)
		return -1;
	return now >= deadline ? 0 : (int)((deadline - now + 999999) / 1000000);
}

IPR_EXPORT int ipr_watch_next(struct ipr_watch *w, struct ipr_watch_event *ev, size_t size,
			      int timeout_ms)
{
	uint64_t deadline = now_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000u;
	int left = timeout_ms, err = 0;

	for (int waited = 0;; waited = 1) {
		if (hand_out(w, ev, size))
			return 1;
		if (err || (waited && !left))
			return err;
		err = w->relist ? relist(w, IPR_WATCH_OPENED) : 0;
		left = ms_left(deadline, timeout_ms);
		if (!err)
			err = wait_events(w, left);
	}
}

IPR_EXPORT void ipr_watch_close(struct ipr_watch *w)
{
	if (!w)
		return;
	for (unsigned int i = 0; i < w->known.n; i++)
		if (known_at(w, i)->pidfd >= 0)
			close(known_at(w, i)->pidfd);
	if (w->nl)
		mnl_socket_close(w->nl);
	if (w->epfd >= 0)
		close(w->epfd);
	free(w->known.at);
	free(w->pending.at);
	free(w->buf);
	free(w);
}
