/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * io.c - receiving and sending through WinDivert handles.
 *
 * A receive takes a batch from one of the handle's queues (a lane) into the
 * lane's buffer (the stash) and hands packets out from it, copied into the
 * caller's buffer; threads receiving at once serve different lanes. A
 * handed-out packet stays held in the kernel, and its address carries a token
 * naming it: sending the same bytes with that address accepts the held packet
 * (it goes on where it was taken, with its kernel metadata), sending other
 * bytes replaces it, and anything else is injected anew through ipr_send().
 */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "wd.h"

#define TOKEN_AT 56           /* where in the address union a held packet's token is */
#define LOOPBACK_IFINDEX 1    /* the loopback device, in every network namespace */
#define WAIT_SLICE_MS 100     /* a waiting receive looks again this often (deadline) */
#define LANE_STREAK 64        /* receives from one lane before a thread looks at the next first */

/* Names the held packet an address came with; slot 0 = none. */
struct token {
	uint16_t slot; /* into the lane's held ring, plus 1 */
	uint16_t lane;
	uint32_t cookie;
};

/*
 * The lane this thread tries first: the one it last took packets from, so that
 * threads settle on lanes of their own and a flow's packets stay in order; after
 * LANE_STREAK receives from one lane the next one, so that one thread serves all.
 */
static __thread unsigned int lane_hint, lane_streak;

static INT64 now_ticks(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (INT64)ts.tv_sec * 10000000 + ts.tv_nsec / 100;
}

/* ---- the address of a received packet ---- */

static int l4_checksum_valid(const struct wd_handle *w, const struct ipr_packet *p)
{
	if ((w->flags & WINDIVERT_FLAG_SNIFF) || (p->flags & IPR_PKT_CSUM_NOT_READY))
		return 0; /* copies say nothing of it; a checksum left to the device is unset */
	if (!(p->flags & IPR_PKT_CSUM_NOT_VERIFIED))
		return 1;
	return !(p->flags & IPR_PKT_TRUNCATED) && ipr_checksum_verify(p->data, p->caplen) == 0;
}

static void set_checksums(const struct wd_handle *w, const struct ipr_packet *p,
			  WINDIVERT_ADDRESS *a)
{
	struct ipr_parsed pp;

	if (ipr_parse(p->data, p->caplen, &pp) != 0)
		return;
	a->IPChecksum = pp.version == 4; /* the stack has checked or filled it at every hook */
	if (pp.l4 && pp.proto == 6)
		a->TCPChecksum = l4_checksum_valid(w, p);
	else if (pp.l4 && pp.proto == 17)
		a->UDPChecksum = l4_checksum_valid(w, p);
}

static void address_of(const struct wd_handle *w, const struct ipr_packet *p, INT64 now,
		       WINDIVERT_ADDRESS *a)
{
	int out = p->layer != IPR_LAYER_IN; /* forwarded packets leave: outbound */

	memset(a, 0, sizeof(*a));
	a->Timestamp = now;
	a->Layer = w->layer;
	a->Event = WINDIVERT_EVENT_NETWORK_PACKET;
	a->Sniffed = !!(w->flags & WINDIVERT_FLAG_SNIFF);
	a->Outbound = out;
	a->IPv6 = !!(p->flags & IPR_PKT_IPV6);
	a->Network.IfIdx = out ? p->ifindex_out : p->ifindex_in;
	a->Loopback = p->layer == IPR_LAYER_OUT && p->ifindex_out == LOOPBACK_IFINDEX;
	a->Impostor = !!(p->flags & IPR_PKT_INJECTED);
	if (p->flags & IPR_PKT_HAS_PROCESS) /* beside Network's fields, where FLOW has it */
		a->Flow.ProcessId = p->pid;
	set_checksums(w, p, a);
}

static void put_token(WINDIVERT_ADDRESS *a, struct token t)
{
	memcpy(a->Reserved3 + TOKEN_AT, &t, sizeof(t));
}

static struct token get_token(const WINDIVERT_ADDRESS *a)
{
	struct token t;

	memcpy(&t, a->Reserved3 + TOKEN_AT, sizeof(t));
	return t;
}

/* ---- taking packets from libipredir ---- */

/* Wait until a lane of the handle has something, or a slice of time passed. */
static void wait_readable(struct wd_handle *w)
{
	struct pollfd pfd[WD_LANES_MAX];

	for (unsigned int i = 0; i < w->nlanes; i++)
		pfd[i] = (struct pollfd){ .fd = ipr_fd(w->lanes[i].ipr), .events = POLLIN };
	poll(pfd, w->nlanes, WAIT_SLICE_MS);
}

/* One batch from the lane's queue (its lock held), without waiting. */
static int receive_batch(struct wd_lane *l)
{
	return ipr_recv_batch(l->ipr, l->rxbuf, l->rxlen, l->rx, WD_STASH_MAX, IPR_RECV_NONBLOCK);
}

/* Keep the packets of a batch that match the filter; the others go on at once. */
static void keep_matching(struct wd_handle *w, struct wd_lane *l, unsigned int n)
{
	INT64 now = now_ticks();

	l->next = l->count = 0;
	l->epoch++;
	for (unsigned int i = 0; i < n; i++) {
		struct ipr_packet *p = &l->rx[i];
		WINDIVERT_ADDRESS *a = &l->rxaddr[l->count];

		address_of(w, p, now, a);
		if (w->exact || wd_filter_match(w->filter, p->data, p->caplen, a)) {
			l->rx[l->count++] = *p;
			continue;
		}
		ipr_accept(l->ipr, p); /* not ours: it goes on untouched */
	}
}

/* Make sure packets wait in the lane's stash if its queue has any (lock held): 1 if
 * some wait, 0 if none, -ESHUTDOWN once shut down and empty, other -errno. */
static int fill_stash(struct wd_handle *w, struct wd_lane *l)
{
	while (l->next == l->count) {
		int n = receive_batch(l);

		if (n == -EAGAIN || n == -EINTR || n == -ENOTCONN)
			return 0;
		if (n < 0)
			return n;
		keep_matching(w, l, (unsigned int)n);
	}
	return 1;
}

/* ---- handing packets out ---- */

/* Remember the packet for its send and give its address the token. */
static void hold(struct wd_handle *w, struct wd_lane *l, const struct ipr_packet *p,
		 WINDIVERT_ADDRESS *a)
{
	uint32_t i = l->next_held++ % WD_HELD_MAX;
	struct wd_held *e = &l->held[i];

	if (!++l->cookies)
		l->cookies = 1;
	*e = (struct wd_held){ .pkt = *p, .bytes = p->data, .epoch = l->epoch,
			       .len = p->caplen, .cookie = l->cookies, .outbound = a->Outbound };
	put_token(a, (struct token){ (uint16_t)(i + 1), (uint16_t)(l - w->lanes), l->cookies });
}

static void hand_out(struct wd_handle *w, struct wd_lane *l, struct wd_rx *c)
{
	while (c->got < c->max && l->next < l->count) {
		const struct ipr_packet *p = &l->rx[l->next];
		WINDIVERT_ADDRESS a = l->rxaddr[l->next];
		UINT len = p->caplen;

		if (c->used + len > c->buflen) {
			if (c->got)
				break;        /* the next call takes it */
			len = c->buflen;      /* the first is cut: ERROR_INSUFFICIENT_BUFFER */
			c->cut = 1;
		}
		if (len)
			memcpy(c->buf + c->used, p->data, len);
		if (!(w->flags & WINDIVERT_FLAG_SNIFF))
			hold(w, l, p, &a);
		if (c->addrs)
			c->addrs[c->got] = a;
		c->used += len;
		c->got++;
		l->next++;
	}
}

static void stay_on(unsigned int lane)
{
	if (lane != lane_hint)
		lane_streak = 0;
	if (++lane_streak < LANE_STREAK) {
		lane_hint = lane;
	} else {
		lane_hint = lane + 1;
		lane_streak = 0;
	}
}

/* One pass over the lanes from this thread's, skipping those another caller has:
 * packets into c from the first that has some. -ESHUTDOWN if every lane is shut
 * down and empty; *busy says whether a lane was skipped. */
static int take_any(struct wd_handle *w, struct wd_rx *c, int *busy)
{
	unsigned int shut = 0;

	for (unsigned int k = 0; k < w->nlanes; k++) {
		unsigned int i = (lane_hint + k) % w->nlanes;
		struct wd_lane *l = &w->lanes[i];
		int ret;

		if (pthread_mutex_trylock(&l->lock)) {
			*busy = 1;
			continue;
		}
		ret = fill_stash(w, l);
		if (ret > 0)
			hand_out(w, l, c);
		pthread_mutex_unlock(&l->lock);
		shut += ret == -ESHUTDOWN;
		if (ret > 0 || (ret < 0 && ret != -ESHUTDOWN)) {
			stay_on(i);
			return ret < 0 ? ret : 0;
		}
	}
	return shut == w->nlanes ? -ESHUTDOWN : 0;
}

/* Packets into c, waiting for the first; 0 or a Windows error code. */
static DWORD take(struct wd_handle *w, struct wd_rx *c)
{
	for (;;) {
		int busy = 0, err = take_any(w, c, &busy);

		if (err == -ESHUTDOWN)
			return ERROR_NO_DATA;
		if (err || c->got)
			return err ? wd_error_of(err) : 0;
		if (c->nonblock)
			return ERROR_IO_PENDING;
		if (busy) /* another caller is at it: let it finish, then look again */
			sched_yield();
		else
			wait_readable(w);
	}
}

static void complete(LPOVERLAPPED ov, DWORD status, UINT bytes)
{
	if (!ov)
		return;
	ov->Internal = status;
	ov->InternalHigh = bytes;
}

static BOOL receive(struct wd_handle *w, struct wd_rx *c, UINT *pRecvLen, LPOVERLAPPED ov)
{
	DWORD code;

	if (w->reflect)
		code = wd_reflect_receive(w, c);
	else if (w->events)
		code = wd_events_receive(w, c);
	else
		code = take(w, c);
	if (!code && c->cut)
		code = ERROR_INSUFFICIENT_BUFFER;
	if (pRecvLen)
		*pRecvLen = c->used;
	complete(ov, code, c->used);
	return code ? wd_fail(code) : wd_ok();
}

/* A handle that may receive: not send-only, not a dropping one. */
static struct wd_handle *receiver(HANDLE handle)
{
	struct wd_handle *w = wd_handle_of(handle);

	if (w && (w->flags & (WINDIVERT_FLAG_SEND_ONLY | WINDIVERT_FLAG_DROP))) {
		wd_fail(ERROR_INVALID_PARAMETER);
		return NULL;
	}
	return w;
}

WD_EXPORT BOOL WinDivertRecv(HANDLE handle, VOID *pPacket, UINT packetLen, UINT *pRecvLen,
			     WINDIVERT_ADDRESS *pAddr)
{
	struct wd_handle *w = receiver(handle);
	struct wd_rx c = { .buf = pPacket, .buflen = pPacket ? packetLen : 0, .addrs = pAddr,
			     .max = 1 };

	return w ? receive(w, &c, pRecvLen, NULL) : FALSE;
}

WD_EXPORT BOOL WinDivertRecvEx(HANDLE handle, VOID *pPacket, UINT packetLen, UINT *pRecvLen,
			       UINT64 flags, WINDIVERT_ADDRESS *pAddr, UINT *pAddrLen,
			       LPOVERLAPPED lpOverlapped)
{
	struct wd_handle *w = receiver(handle);
	struct wd_rx c = { .buf = pPacket, .buflen = pPacket ? packetLen : 0, .addrs = pAddr,
			     .max = pAddrLen ? *pAddrLen / sizeof(*pAddr) : 1,
			     .nonblock = !!(flags & WINDIVERT_RECV_FLAG_NO_BLOCK) };
	BOOL ok;

	if (!w)
		return FALSE;
	if ((flags & ~(UINT64)WINDIVERT_RECV_FLAG_NO_BLOCK) || (pAddrLen && !pAddr) || !c.max)
		return wd_fail(ERROR_INVALID_PARAMETER);
	if (c.max > WINDIVERT_BATCH_MAX)
		c.max = WINDIVERT_BATCH_MAX;
	ok = receive(w, &c, pRecvLen, lpOverlapped);
	if (pAddrLen)
		*pAddrLen = c.got * (UINT)sizeof(*pAddr);
	return ok;
}

WD_EXPORT BOOL GetOverlappedResult(HANDLE handle, LPOVERLAPPED overlapped, DWORD *bytes,
				   BOOL wait)
{
	if (!overlapped)
		return wd_fail(ERROR_INVALID_PARAMETER);
	if (bytes)
		*bytes = (DWORD)overlapped->InternalHigh;
	return overlapped->Internal ? wd_fail((DWORD)overlapped->Internal) : wd_ok();
}

/* ---- a descriptor to poll (Linux) ---- */

static int watch_fd(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

/* The descriptors a receive waits on: the queues', the events', or the watch's. */
static int watch_sources(struct wd_handle *w, int epfd)
{
	int err = watch_fd(epfd, w->wake);

	if (w->reflect)
		return err ? err : watch_fd(epfd, wd_reflect_fd(w));
	if (w->events)
		return err ? err : watch_fd(epfd, wd_events_fd(w));
	for (unsigned int i = 0; i < w->nlanes && !err; i++)
		err = watch_fd(epfd, ipr_fd(w->lanes[i].ipr));
	return err;
}

/* Make the epoll set of WinDivertGetFd() (w->lock held): 0 or -errno. */
static int make_pollfd(struct wd_handle *w)
{
	int err;

	w->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	w->pollfd = epoll_create1(EPOLL_CLOEXEC);
	if (w->wake < 0 || w->pollfd < 0)
		err = -errno;
	else
		err = watch_sources(w, w->pollfd);
	if (err)
		wd_pollfd_close(w);
	return err;
}

WD_EXPORT int WinDivertGetFd(HANDLE handle)
{
	struct wd_handle *w = receiver(handle);
	int err = 0, fd;

	if (!w)
		return -1;
	pthread_mutex_lock(&w->lock);
	if (w->pollfd < 0)
		err = make_pollfd(w);
	fd = w->pollfd;
	pthread_mutex_unlock(&w->lock);
	if (err)
		return wd_fail(wd_error_of(err)), -1;
	wd_ok();
	return fd;
}

void wd_wake_pollers(struct wd_handle *w)
{
	uint64_t one = 1;

	pthread_mutex_lock(&w->lock);
	if (w->wake >= 0 && write(w->wake, &one, sizeof(one)) < 0) {
		/* the counter is set already: it polls readable anyway */
	}
	pthread_mutex_unlock(&w->lock);
}

void wd_pollfd_close(struct wd_handle *w)
{
	if (w->pollfd >= 0)
		close(w->pollfd);
	if (w->wake >= 0)
		close(w->wake);
	w->pollfd = w->wake = -1;
}

/* ---- sending ---- */

/* The lane a packet goes out through: the one its token names, else this thread's. */
static struct wd_lane *lane_for(struct wd_handle *w, const WINDIVERT_ADDRESS *a)
{
	struct token t = get_token(a);

	if (t.slot && t.lane < w->nlanes)
		return &w->lanes[t.lane];
	return &w->lanes[lane_hint % w->nlanes];
}

/* The held packet an address names, if it is still waiting for its send. */
static struct wd_held *held_of(struct wd_handle *w, struct wd_lane *l,
			       const WINDIVERT_ADDRESS *a)
{
	struct token t = get_token(a);
	struct wd_held *e;

	if (!t.slot || t.slot > WD_HELD_MAX || &w->lanes[t.lane] != l)
		return NULL;
	e = &l->held[t.slot - 1];
	return e->cookie && e->cookie == t.cookie ? e : NULL;
}

/* The same bytes as received, still at hand to compare. */
static int unchanged(const struct wd_lane *l, const struct wd_held *e, const void *pkt, UINT len)
{
	return len == e->len && e->epoch == l->epoch && !memcmp(pkt, e->bytes, len);
}

#define ALL_CHECKSUMS                                                                  \
	(WINDIVERT_HELPER_NO_IP_CHECKSUM | WINDIVERT_HELPER_NO_ICMP_CHECKSUM |            \
	 WINDIVERT_HELPER_NO_ICMPV6_CHECKSUM | WINDIVERT_HELPER_NO_TCP_CHECKSUM |         \
	 WINDIVERT_HELPER_NO_UDP_CHECKSUM)

/* The checksums of the packet its address does not vouch for (WINDIVERT_HELPER_NO_*
 * bits of the ones to fill in); ICMP's it always leaves to the sender. */
static UINT64 unvouched(const void *pkt, UINT len, const WINDIVERT_ADDRESS *a)
{
	struct ipr_parsed p;
	UINT64 fill = 0;

	if (ipr_parse(pkt, len, &p) != 0)
		return 0;
	if (p.version == 4 && !a->IPChecksum)
		fill |= WINDIVERT_HELPER_NO_IP_CHECKSUM;
	if (p.l4 && p.proto == 6 && !a->TCPChecksum)
		fill |= WINDIVERT_HELPER_NO_TCP_CHECKSUM;
	if (p.l4 && p.proto == 17 && !a->UDPChecksum)
		fill |= WINDIVERT_HELPER_NO_UDP_CHECKSUM;
	return fill;
}

/* The bytes to send: pkt, or a copy with the TTL and checksums the address asks for. */
static DWORD prepare(struct wd_lane *l, const void *pkt, UINT len, const WINDIVERT_ADDRESS *a,
		     const void **out)
{
	UINT64 fill = unvouched(pkt, len, a);

	*out = pkt;
	if (!a->Impostor && !fill)
		return 0;
	if (len > WINDIVERT_MTU_MAX)
		return ERROR_INVALID_PARAMETER;
	memcpy(l->txbuf, pkt, len);
	*out = l->txbuf;
	if (a->Impostor && !WinDivertHelperDecrementTTL(l->txbuf, len))
		return ERROR_HOST_UNREACHABLE; /* the last defence against a loop */
	if (fill)
		WinDivertHelperCalcChecksums(l->txbuf, len, NULL, ALL_CHECKSUMS & ~fill);
	return 0;
}

/* A new packet: out through the stack, or in as received on Network.IfIdx. A loopback
 * packet goes out: on Linux its way out and back in is one path. */
static int inject(struct wd_lane *l, const void *bytes, UINT len, const WINDIVERT_ADDRESS *a)
{
	if (a->Outbound || a->Network.IfIdx == LOOPBACK_IFINDEX)
		return ipr_send(l->ipr, bytes, len, IPR_LAYER_OUT);
	return ipr_send_in(l->ipr, bytes, len, a->Network.IfIdx);
}

/* Send one packet through lane l (its lock held); 0 or a Windows error code. */
static DWORD send_one(struct wd_handle *w, struct wd_lane *l, const void *pkt, UINT len,
		      const WINDIVERT_ADDRESS *a)
{
	struct wd_held *e = held_of(w, l, a);
	int same_way = e && e->outbound == a->Outbound && !a->Impostor;
	const void *bytes;
	DWORD code;
	int err = -ESTALE;

	if (e)
		e->cookie = 0; /* answered now, whatever happens */
	if (same_way && unchanged(l, e, pkt, len))
		err = ipr_accept(l->ipr, &e->pkt);
	if (err != -ESTALE)
		return err ? wd_error_of(err) : 0;
	code = prepare(l, pkt, len, a, &bytes);
	if (code)
		return code;
	if (same_way)
		err = ipr_accept_modified(l->ipr, &e->pkt, bytes, len);
	else if (e)
		ipr_drop(l->ipr, &e->pkt);
	if (!err && bytes == l->txbuf)
		err = ipr_flush(l->ipr); /* the copy is reused by the next packet */
	else if (!err && same_way)
		l->must_flush = 1; /* the caller's bytes: gone when the call returns */
	if (err == -ESTALE) /* the deadline took it meanwhile: send it anew */
		err = inject(l, bytes, len, a);
	return err ? wd_error_of(err) : 0;
}

/* The length of the first packet of a batch, from its IP header; 0 if malformed. */
static UINT packet_length(const uint8_t *p, UINT rest)
{
	UINT len = 0;

	if (rest >= 20 && p[0] >> 4 == 4)
		len = (UINT)(p[2] << 8 | p[3]);
	else if (rest >= 40 && p[0] >> 4 == 6)
		len = 40 + (UINT)(p[4] << 8 | p[5]);
	if (len == 0 || len == 40)
		len = rest; /* no length in the header (a jumbogram or GSO packet): all of it */
	return len <= rest ? len : 0;
}

/* A handle that may send. */
static struct wd_handle *sender(HANDLE handle)
{
	struct wd_handle *w = wd_handle_of(handle);

	if (w && (w->flags & WINDIVERT_FLAG_RECV_ONLY)) {
		wd_fail(ERROR_INVALID_PARAMETER);
		return NULL;
	}
	if (w && __atomic_load_n(&w->shut_send, __ATOMIC_ACQUIRE)) {
		wd_fail(ERROR_NO_DATA);
		return NULL;
	}
	return w;
}

/*
 * Verdicts go out together: at the latest when the stash runs empty, as every
 * receive from libipredir first sends what waits. While packets wait in the
 * stash the program is still receiving, so the next hand-out comes first;
 * with the stash empty, or new bytes of the caller's among them, now.
 */
static int flush_if_due(struct wd_lane *l)
{
	if (!l->must_flush && l->next < l->count)
		return 0;
	l->must_flush = 0;
	return ipr_flush(l->ipr);
}

/* Let go of lane l (NULL: none) after its verdicts went out if due; the first error kept. */
static void leave_lane(struct wd_lane *l, int *err)
{
	int e;

	if (!l)
		return;
	e = flush_if_due(l);
	if (!*err)
		*err = e;
	pthread_mutex_unlock(&l->lock);
}

/* Send n packets packed in pkt with their addresses, each through its lane; the
 * sent bytes in *sent. */
static DWORD send_batch(struct wd_handle *w, const uint8_t *pkt, UINT len,
			const WINDIVERT_ADDRESS *addrs, UINT n, UINT *sent)
{
	struct wd_lane *l = NULL;
	DWORD code = 0;
	int err = 0;

	for (UINT i = 0; i < n && *sent < len && !code; i++) {
		UINT plen = packet_length(pkt + *sent, len - *sent);
		struct wd_lane *want = lane_for(w, &addrs[i]);

		if (want != l) {
			leave_lane(l, &err);
			l = want;
			pthread_mutex_lock(&l->lock);
		}
		code = plen ? send_one(w, l, pkt + *sent, plen, &addrs[i]) : ERROR_INVALID_PARAMETER;
		if (!code)
			*sent += plen;
	}
	leave_lane(l, &err);
	return code ? code : err ? wd_error_of(err) : 0;
}

WD_EXPORT BOOL WinDivertSendEx(HANDLE handle, const VOID *pPacket, UINT packetLen,
			       UINT *pSendLen, UINT64 flags, const WINDIVERT_ADDRESS *pAddr,
			       UINT addrLen, LPOVERLAPPED lpOverlapped)
{
	struct wd_handle *w = sender(handle);
	UINT sent = 0;
	DWORD code;

	if (!w)
		return FALSE;
	if (flags || !pPacket || !pAddr || addrLen < sizeof(*pAddr) ||
	    (w->layer != WINDIVERT_LAYER_NETWORK && w->layer != WINDIVERT_LAYER_NETWORK_FORWARD))
		return wd_fail(ERROR_INVALID_PARAMETER);
	code = send_batch(w, pPacket, packetLen, pAddr, addrLen / (UINT)sizeof(*pAddr), &sent);
	if (pSendLen)
		*pSendLen = sent;
	complete(lpOverlapped, code, sent);
	return code ? wd_fail(code) : wd_ok();
}

WD_EXPORT BOOL WinDivertSend(HANDLE handle, const VOID *pPacket, UINT packetLen, UINT *pSendLen,
			     const WINDIVERT_ADDRESS *pAddr)
{
	return WinDivertSendEx(handle, pPacket, packetLen, pSendLen, 0, pAddr,
			       sizeof(WINDIVERT_ADDRESS), NULL);
}

/* ---- WINDIVERT_FLAG_DROP ---- */

/* Drop what matches, let the rest go on (the lane's lock held). */
static void judge_batch(struct wd_handle *w, struct wd_lane *l, unsigned int n)
{
	INT64 now = now_ticks();

	for (unsigned int i = 0; i < n; i++) {
		WINDIVERT_ADDRESS a;

		address_of(w, &l->rx[i], now, &a);
		if (w->exact || wd_filter_match(w->filter, l->rx[i].data, l->rx[i].caplen, &a))
			ipr_drop(l->ipr, &l->rx[i]);
		else
			ipr_accept(l->ipr, &l->rx[i]);
	}
	ipr_flush(l->ipr);
}

/* A dropping handle has one lane, and this thread is its only user. */
static void *dropper(void *arg)
{
	struct wd_handle *w = arg;
	struct wd_lane *l = &w->lanes[0];
	int n = 0;

	while (n != -ESHUTDOWN && (n >= 0 || n == -EAGAIN || n == -EINTR || n == -ENOTCONN)) {
		pthread_mutex_lock(&l->lock);
		n = receive_batch(l);
		if (n > 0)
			judge_batch(w, l, (unsigned int)n);
		pthread_mutex_unlock(&l->lock);
		if (n == -EAGAIN || n == -ENOTCONN)
			wait_readable(w);
	}
	return NULL;
}

DWORD wd_start_dropper(struct wd_handle *w)
{
	if (pthread_create(&w->dropper, NULL, dropper, w))
		return ERROR_NOT_ENOUGH_MEMORY;
	w->has_dropper = 1;
	return 0;
}

void wd_stop_dropper(struct wd_handle *w)
{
	if (!w->has_dropper)
		return;
	ipr_shutdown(w->ipr);
	pthread_join(w->dropper, NULL);
	w->has_dropper = 0;
}

/* ---- the lanes ---- */

static DWORD lane_open(struct wd_lane *l, struct ipr_handle *queue)
{
	pthread_mutex_init(&l->lock, NULL);
	l->ipr = queue;
	l->rxlen = WD_STASH_MAX * ipr_slot_size(queue);
	l->rxbuf = malloc(l->rxlen);
	l->held = calloc(WD_HELD_MAX, sizeof(*l->held));
	l->txbuf = malloc(WINDIVERT_MTU_MAX);
	return l->rxbuf && l->held && l->txbuf ? 0 : ERROR_NOT_ENOUGH_MEMORY;
}

DWORD wd_lanes_open(struct wd_handle *w)
{
	unsigned int n = ipr_queue_count(w->ipr);
	DWORD code = 0;

	w->lanes = calloc(n, sizeof(*w->lanes));
	if (!w->lanes)
		return ERROR_NOT_ENOUGH_MEMORY;
	for (; w->nlanes < n && !code; w->nlanes++)
		code = lane_open(&w->lanes[w->nlanes], ipr_queue_handle(w->ipr, w->nlanes));
	return code;
}

void wd_lanes_free(struct wd_handle *w)
{
	for (unsigned int i = 0; i < w->nlanes; i++) {
		free(w->lanes[i].rxbuf);
		free(w->lanes[i].held);
		free(w->lanes[i].txbuf);
		pthread_mutex_destroy(&w->lanes[i].lock);
	}
	free(w->lanes);
	w->lanes = NULL;
	w->nlanes = 0;
}

void wd_lanes_lock(struct wd_handle *w)
{
	for (unsigned int i = 0; i < w->nlanes; i++)
		pthread_mutex_lock(&w->lanes[i].lock);
}

void wd_lanes_unlock(struct wd_handle *w)
{
	for (unsigned int i = w->nlanes; i-- > 0;)
		pthread_mutex_unlock(&w->lanes[i].lock);
}
