/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * io.c - receiving and sending through WinDivert handles.
 *
 * A receive takes a batch from libipredir into the handle's buffer (the
 * stash) and hands packets out from it, copied into the caller's buffer. A
 * handed-out packet stays held in the kernel, and its address carries a token
 * naming it: sending the same bytes with that address accepts the held packet
 * (it goes on where it was taken, with its kernel metadata), sending other
 * bytes replaces it, and anything else is injected anew through ipr_send().
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wd.h"

#define TOKEN_AT 56           /* where in the address union a held packet's token is */
#define LOOPBACK_IFINDEX 1    /* the loopback device, in every network namespace */
#define WAIT_SLICE_MS 100     /* a waiting receive looks again this often (deadline) */

/* Names the held packet an address came with; index 0 = none. */
struct token {
	uint32_t index; /* into the held ring, plus 1 */
	uint32_t cookie;
};

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

/* Wait until the handle's socket has something, or a slice of time passed. */
static void wait_readable(struct wd_handle *w)
{
	struct pollfd pfd = { .fd = ipr_fd(w->ipr), .events = POLLIN };

	pthread_mutex_unlock(&w->lock);
	poll(&pfd, 1, WAIT_SLICE_MS);
	pthread_mutex_lock(&w->lock);
}

/* One batch from libipredir (lock held); waits unless told not to. */
static int receive_batch(struct wd_handle *w, int wait)
{
	int n;

	for (;;) {
		n = ipr_recv_batch(w->ipr, w->rxbuf, w->rxlen, w->rx, WD_STASH_MAX,
				   IPR_RECV_NONBLOCK);
		if (n == -EINTR || ((n == -EAGAIN || n == -ENOTCONN) && wait))
			wait_readable(w);
		else
			return n;
	}
}

/* Keep the packets of a batch that match the filter; the others go on at once. */
static void keep_matching(struct wd_handle *w, unsigned int n)
{
	INT64 now = now_ticks();

	w->next = w->count = 0;
	w->epoch++;
	for (unsigned int i = 0; i < n; i++) {
		struct ipr_packet *p = &w->rx[i];
		WINDIVERT_ADDRESS *a = &w->rxaddr[w->count];

		address_of(w, p, now, a);
		if (w->exact || wd_filter_match(w->filter, p->data, p->caplen, a)) {
			w->rx[w->count++] = *p;
			continue;
		}
		ipr_accept(w->ipr, p); /* not ours: it goes on untouched */
	}
}

/* Make sure a packet waits in the stash (lock held); 0 or a Windows error code. */
static DWORD fill_stash(struct wd_handle *w)
{
	while (w->next == w->count) {
		int n = receive_batch(w, 1);

		if (n == -ESHUTDOWN)
			return ERROR_NO_DATA;
		if (n < 0)
			return wd_error_of(n);
		keep_matching(w, (unsigned int)n);
	}
	return 0;
}

/* ---- handing packets out ---- */

/* Remember the packet for its send and give its address the token. */
static void hold(struct wd_handle *w, const struct ipr_packet *p, WINDIVERT_ADDRESS *a)
{
	uint32_t i = w->next_held++ % WD_HELD_MAX;
	struct wd_held *e = &w->held[i];

	if (!++w->cookies)
		w->cookies = 1;
	*e = (struct wd_held){ .pkt = *p, .bytes = p->data, .epoch = w->epoch,
			       .len = p->caplen, .cookie = w->cookies, .outbound = a->Outbound };
	put_token(a, (struct token){ i + 1, w->cookies });
}

static void hand_out(struct wd_handle *w, struct wd_rx *c)
{
	while (c->got < c->max && w->next < w->count) {
		const struct ipr_packet *p = &w->rx[w->next];
		WINDIVERT_ADDRESS a = w->rxaddr[w->next];
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
			hold(w, p, &a);
		if (c->addrs)
			c->addrs[c->got] = a;
		c->used += len;
		c->got++;
		w->next++;
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

	if (w->reflect) {
		code = wd_reflect_receive(w, c);
	} else {
		pthread_mutex_lock(&w->lock);
		code = fill_stash(w);
		if (!code)
			hand_out(w, c);
		pthread_mutex_unlock(&w->lock);
	}
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
			     .max = pAddrLen ? *pAddrLen / sizeof(*pAddr) : 1 };
	BOOL ok;

	if (!w)
		return FALSE;
	if (flags || (pAddrLen && !pAddr) || !c.max)
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

/* ---- sending ---- */

/* The held packet an address names, if it is still waiting for its send. */
static struct wd_held *held_of(struct wd_handle *w, const WINDIVERT_ADDRESS *a)
{
	struct token t = get_token(a);
	struct wd_held *e;

	if (!t.index || t.index > WD_HELD_MAX)
		return NULL;
	e = &w->held[t.index - 1];
	return e->cookie && e->cookie == t.cookie ? e : NULL;
}

/* The same bytes as received, still at hand to compare. */
static int unchanged(const struct wd_handle *w, const struct wd_held *e, const void *pkt,
		     UINT len)
{
	return len == e->len && e->epoch == w->epoch && !memcmp(pkt, e->bytes, len);
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
static DWORD prepare(struct wd_handle *w, const void *pkt, UINT len, const WINDIVERT_ADDRESS *a,
		     const void **out)
{
	UINT64 fill = unvouched(pkt, len, a);

	*out = pkt;
	if (!a->Impostor && !fill)
		return 0;
	if (len > WINDIVERT_MTU_MAX)
		return ERROR_INVALID_PARAMETER;
	memcpy(w->txbuf, pkt, len);
	*out = w->txbuf;
	if (a->Impostor && !WinDivertHelperDecrementTTL(w->txbuf, len))
		return ERROR_HOST_UNREACHABLE; /* the last defence against a loop */
	if (fill)
		WinDivertHelperCalcChecksums(w->txbuf, len, NULL, ALL_CHECKSUMS & ~fill);
	return 0;
}

/* A new packet: out through the stack, or in as received on Network.IfIdx. A loopback
 * packet goes out: on Linux its way out and back in is one path. */
static int inject(struct wd_handle *w, const void *bytes, UINT len, const WINDIVERT_ADDRESS *a)
{
	if (a->Outbound || a->Network.IfIdx == LOOPBACK_IFINDEX)
		return ipr_send(w->ipr, bytes, len, IPR_LAYER_OUT);
	return ipr_send_in(w->ipr, bytes, len, a->Network.IfIdx);
}

/* Send one packet (lock held); 0 or a Windows error code. */
static DWORD send_one(struct wd_handle *w, const void *pkt, UINT len, const WINDIVERT_ADDRESS *a)
{
	struct wd_held *e = held_of(w, a);
	int same_way = e && e->outbound == a->Outbound && !a->Impostor;
	const void *bytes;
	DWORD code;
	int err = -ESTALE;

	if (e)
		e->cookie = 0; /* answered now, whatever happens */
	if (same_way && unchanged(w, e, pkt, len))
		err = ipr_accept(w->ipr, &e->pkt);
	if (err != -ESTALE)
		return err ? wd_error_of(err) : 0;
	code = prepare(w, pkt, len, a, &bytes);
	if (code)
		return code;
	if (same_way)
		err = ipr_accept_modified(w->ipr, &e->pkt, bytes, len);
	else if (e)
		ipr_drop(w->ipr, &e->pkt);
	if (!err && bytes == w->txbuf)
		err = ipr_flush(w->ipr); /* the copy is reused by the next packet */
	else if (!err && same_way)
		w->must_flush = 1; /* the caller's bytes: gone when the call returns */
	if (err == -ESTALE) /* the deadline took it meanwhile: send it anew */
		err = inject(w, bytes, len, a);
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
static int flush_if_due(struct wd_handle *w)
{
	if (!w->must_flush && w->next < w->count)
		return 0;
	w->must_flush = 0;
	return ipr_flush(w->ipr);
}

/* Send n packets packed in pkt with their addresses; the sent bytes in *sent. */
static DWORD send_batch(struct wd_handle *w, const uint8_t *pkt, UINT len,
			const WINDIVERT_ADDRESS *addrs, UINT n, UINT *sent)
{
	DWORD code = 0;
	int err;

	pthread_mutex_lock(&w->lock);
	for (UINT i = 0; i < n && *sent < len && !code; i++) {
		UINT plen = packet_length(pkt + *sent, len - *sent);

		code = plen ? send_one(w, pkt + *sent, plen, &addrs[i]) : ERROR_INVALID_PARAMETER;
		if (!code)
			*sent += plen;
	}
	err = flush_if_due(w);
	pthread_mutex_unlock(&w->lock);
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

/* Drop what matches, let the rest go on (lock held). */
static void judge_batch(struct wd_handle *w, unsigned int n)
{
	INT64 now = now_ticks();

	for (unsigned int i = 0; i < n; i++) {
		WINDIVERT_ADDRESS a;

		address_of(w, &w->rx[i], now, &a);
		if (w->exact || wd_filter_match(w->filter, w->rx[i].data, w->rx[i].caplen, &a))
			ipr_drop(w->ipr, &w->rx[i]);
		else
			ipr_accept(w->ipr, &w->rx[i]);
	}
	ipr_flush(w->ipr);
}

static void *dropper(void *arg)
{
	struct wd_handle *w = arg;
	int n = 0;

	pthread_mutex_lock(&w->lock);
	while (n >= 0) {
		n = receive_batch(w, 1);
		if (n > 0)
			judge_batch(w, (unsigned int)n);
	}
	pthread_mutex_unlock(&w->lock);
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
