/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * filter_eval.c - a compiled filter run over a packet and its WINDIVERT_ADDRESS.
 *
 * The packet's headers are found as WinDivert finds them (wd_parse() of
 * helper.c): IPv4 (fragments after the first have no transport header) or IPv6
 * after its extension headers; then TCP, UDP, ICMP (in IPv4 only) or ICMPv6 (in
 * IPv6 only) when they fit. A test on a field the packet lacks fails, whatever
 * its comparison.
 */
#include <errno.h>
#include <string.h>

#include "filter.h"

struct ctx {
	const WINDIVERT_ADDRESS *addr;
	WINDIVERT_LAYER layer;
	const struct wd_packet *p;  /* NULL at the event layers */
	const uint8_t *data;        /* the packet, len bytes */
	uint32_t len;
	uint64_t random;            /* the packet's hash, once asked for; 0 before */
};

enum { MISSING, FOUND, ELSEWHERE }; /* what a value_*() function found */

static uint32_t be(const uint8_t *b, unsigned int size)
{
	uint32_t v = 0;

	for (unsigned int i = 0; i < size; i++)
		v = v << 8 | b[i];
	return v;
}

/* ---- the value of a field ---- */

static void set32(struct wd_value *v, uint32_t x)
{
	memset(v, 0, sizeof(*v));
	v->w[0] = x;
}

/* A 16-byte address in network order as a value. */
static void set_addr(struct wd_value *v, const uint8_t *a)
{
	memset(v, 0, sizeof(*v));
	for (int i = 0; i < 4; i++)
		v->w[3 - i] = be(a + 4 * i, 4);
}

/* An IPv4 address in network order as ::ffff:a.b.c.d. */
static void set_addr4(struct wd_value *v, const uint8_t *a)
{
	set32(v, be(a, 4));
	v->w[1] = 0xFFFF;
}

static void set64(struct wd_value *v, uint64_t x)
{
	set32(v, (uint32_t)x);
	v->w[1] = (uint32_t)(x >> 32);
}

static const uint8_t *header(const struct wd_packet *p, unsigned int hdr)
{
	const uint8_t *const h[] = { NULL, p->ip, p->ipv6, p->icmp, p->icmpv6, p->tcp, p->udp };

	return h[hdr];
}

/* A field read from a header's bytes. */
static void value_spot(const struct wd_spot *s, const uint8_t *h, struct wd_value *v)
{
	if (s->size == 16)
		set_addr(v, h + s->off);
	else if (s->hdr == WD_HDR_IP && s->off >= 12)
		set_addr4(v, h + s->off);
	else
		set32(v, (be(h + s->off, s->size) >> s->shift) & s->mask);
}

/* packet[i] and the payload words: FOUND, or MISSING if the word is out of the packet. */
static int value_word(const struct ctx *c, const struct wd_test *t, struct wd_value *v)
{
	const struct wd_packet *p = c->p;
	unsigned int size = wd_field(t->field)->array;
	int64_t lo = 0, hi = c->len, at = (int32_t)t->arg[1];

	if (t->field >= WD_F_TCP_PAYLOAD) {
		lo = p->header_len;
		hi = (int64_t)p->header_len + p->data_len;
	}
	at += at < 0 ? hi : lo;
	if (at < lo || at > hi - size)
		return MISSING;
	set32(v, be(c->data + at, size));
	return FOUND;
}

/* random8/16/32: bits of the packet's hash seeded with the timestamp. */
static void value_random(struct ctx *c, unsigned int field, struct wd_value *v)
{
	if (!c->random)
		c->random = wd_hash_packet(c->p, (UINT64)c->addr->Timestamp) |
			    0xFF00000000000000ull; /* never 0 */
	if (field == WD_F_RANDOM8)
		set32(v, (uint32_t)(c->random >> 48) & 0xFF);
	else if (field == WD_F_RANDOM16)
		set32(v, (uint32_t)(c->random >> 32) & 0xFFFF);
	else
		set32(v, (uint32_t)c->random);
}

/* localAddr, remoteAddr, localPort, remotePort at the network layer. */
static void value_conn_packet(const struct ctx *c, unsigned int field, struct wd_value *v)
{
	const struct wd_packet *p = c->p;
	int local = field == WD_F_LOCALADDR || field == WD_F_LOCALPORT;
	int src = local == (c->addr->Outbound != 0); /* the source side is asked for */
	const uint8_t *icmp = p->icmp ? p->icmp : p->icmpv6;

	set32(v, 0);
	if (field == WD_F_LOCALADDR || field == WD_F_REMOTEADDR) {
		if (p->ip)
			set_addr4(v, p->ip + (src ? 12 : 16));
		else
			set_addr(v, p->ipv6 + (src ? 8 : 24));
	} else if (p->tcp || p->udp) {
		set32(v, be((p->tcp ? p->tcp : p->udp) + (src ? 0 : 2), 2));
	} else if (icmp && src) {
		set32(v, icmp[0]); /* the type stands for the sender's port */
	}
}

/* The 5-tuple, process and endpoints of a FLOW or SOCKET event. */
struct conn {
	const UINT32 *local, *remote;
	UINT16 local_port, remote_port;
	UINT8 protocol;
	UINT32 pid;
	UINT64 endpoint, parent;
};

#define CONN_OF(d) \
	{ (d).LocalAddr, (d).RemoteAddr, (d).LocalPort, (d).RemotePort, (d).Protocol, \
	  (d).ProcessId, (d).EndpointId, (d).ParentEndpointId }

static void event_conn(const struct ctx *c, struct conn *k)
{
	const struct conn flow = CONN_OF(c->addr->Flow), sock = CONN_OF(c->addr->Socket);

	*k = c->layer == WINDIVERT_LAYER_FLOW ? flow : sock;
}

/* The fields of an event's 5-tuple: FOUND, or ELSEWHERE. */
static int value_conn_event(const struct ctx *c, unsigned int field, struct wd_value *v)
{
	int v4 = !c->addr->IPv6;
	struct conn k;

	event_conn(c, &k);
	switch (field) {
	case WD_F_LOCALADDR:
	case WD_F_REMOTEADDR:
		memset(v, 0, sizeof(*v));
		memcpy(v->w, field == WD_F_LOCALADDR ? k.local : k.remote, sizeof(v->w));
		return FOUND;
	case WD_F_LOCALPORT: set32(v, k.local_port); return FOUND;
	case WD_F_REMOTEPORT: set32(v, k.remote_port); return FOUND;
	case WD_F_PROTOCOL: set32(v, k.protocol); return FOUND;
	case WD_F_ENDPOINTID: set64(v, k.endpoint); return FOUND;
	case WD_F_PARENTENDPOINTID: set64(v, k.parent); return FOUND;
	case WD_F_IP: set32(v, v4); return FOUND;
	case WD_F_IPV6: set32(v, !v4); return FOUND;
	case WD_F_ICMP: set32(v, v4 && k.protocol == 1); return FOUND;
	case WD_F_ICMPV6: set32(v, !v4 && k.protocol == 58); return FOUND;
	case WD_F_TCP: set32(v, k.protocol == 6); return FOUND;
	case WD_F_UDP: set32(v, k.protocol == 17); return FOUND;
	}
	return ELSEWHERE;
}

/* The fields of the packet beyond its header bytes: FOUND, MISSING (an index
 * outside the packet) or ELSEWHERE (not such a field). */
static int value_packet(struct ctx *c, const struct wd_test *t, struct wd_value *v)
{
	const struct wd_packet *p = c->p;

	switch (t->field) {
	case WD_F_LENGTH: set32(v, c->len); return FOUND;
	case WD_F_FRAGMENT: set32(v, p->fragment); return FOUND;
	case WD_F_PROTOCOL: set32(v, p->protocol); return FOUND;
	case WD_F_IP: set32(v, p->ip != NULL); return FOUND;
	case WD_F_IPV6: set32(v, p->ipv6 != NULL); return FOUND;
	case WD_F_ICMP: set32(v, p->icmp != NULL); return FOUND;
	case WD_F_ICMPV6: set32(v, p->icmpv6 != NULL); return FOUND;
	case WD_F_TCP: set32(v, p->tcp != NULL); return FOUND;
	case WD_F_UDP: set32(v, p->udp != NULL); return FOUND;
	case WD_F_TCP_PAYLOADLENGTH:
	case WD_F_UDP_PAYLOADLENGTH: set32(v, p->data_len); return FOUND;
	case WD_F_RANDOM8:
	case WD_F_RANDOM16:
	case WD_F_RANDOM32: value_random(c, t->field, v); return FOUND;
	case WD_F_LOCALADDR:
	case WD_F_REMOTEADDR:
	case WD_F_LOCALPORT:
	case WD_F_REMOTEPORT: value_conn_packet(c, t->field, v); return FOUND;
	}
	if (wd_field(t->field)->array)
		return value_word(c, t, v);
	return ELSEWHERE;
}

/* The fields of the address alone. */
static void value_address(const struct ctx *c, unsigned int field, struct wd_value *v)
{
	const WINDIVERT_ADDRESS *a = c->addr;
	int64_t ts = a->Timestamp;
	struct conn k;

	switch (field) {
	case WD_F_EVENT: set32(v, a->Event); return;
	case WD_F_INBOUND: set32(v, !a->Outbound); return;
	case WD_F_OUTBOUND: set32(v, a->Outbound); return;
	case WD_F_LOOPBACK: set32(v, a->Loopback); return;
	case WD_F_IMPOSTOR: set32(v, a->Impostor); return;
	case WD_F_IFIDX: set32(v, a->Network.IfIdx); return;
	case WD_F_SUBIFIDX: set32(v, a->Network.SubIfIdx); return;
	case WD_F_LAYER: set32(v, (uint32_t)a->Reflect.Layer); return;
	case WD_F_TIMESTAMP:
		set64(v, ts < 0 ? 0 - (uint64_t)ts : (uint64_t)ts);
		v->neg = ts < 0;
		return;
	case WD_F_PRIORITY:
		set32(v, (uint32_t)(a->Reflect.Priority < 0 ? -a->Reflect.Priority
							     : a->Reflect.Priority));
		v->neg = a->Reflect.Priority < 0;
		return;
	case WD_F_PROCESSID:
		event_conn(c, &k);
		set32(v, c->layer == WINDIVERT_LAYER_REFLECT ? a->Reflect.ProcessId : k.pid);
		return;
	}
	set32(v, 0); /* zero */
}

/* The value of t's field: FOUND, or MISSING if the packet lacks it. */
static int field_value(struct ctx *c, const struct wd_test *t, struct wd_value *v)
{
	const struct wd_spot *s = wd_field_spot(t->field);
	const uint8_t *h;
	int r;

	if (s->hdr) {
		h = header(c->p, s->hdr);
		if (!h)
			return MISSING;
		if (s->size) {
			value_spot(s, h, v);
			return FOUND;
		}
	}
	if (c->p)
		r = value_packet(c, t, v);
	else
		r = value_conn_event(c, t->field, v);
	if (r != ELSEWHERE)
		return r;
	value_address(c, t->field, v);
	return FOUND;
}

/* The packet a layer needs: NETWORK* an IP packet the address agrees with, FLOW and
 * SOCKET none; 0 or -EINVAL. */
static int check_packet(struct ctx *c, struct wd_packet *p, const void *pkt, UINT len)
{
	switch (c->layer) {
	case WINDIVERT_LAYER_NETWORK:
	case WINDIVERT_LAYER_NETWORK_FORWARD:
		if (wd_parse(pkt, len, p) < 0 || !c->addr->IPv6 != !p->ipv6)
			return -EINVAL;
		c->p = p;
		c->data = pkt;
		c->len = len;
		return 0;
	case WINDIVERT_LAYER_FLOW:
	case WINDIVERT_LAYER_SOCKET:
		return pkt ? -EINVAL : 0;
	case WINDIVERT_LAYER_REFLECT:
		return 0;
	default:
		return -EINVAL;
	}
}

int wd_filter_run(const struct wd_filter *f, const void *pkt, UINT len,
		  const WINDIVERT_ADDRESS *addr)
{
	struct ctx c = { .addr = addr, .layer = f->layer };
	struct wd_packet p;
	struct wd_value v, want;
	unsigned int i = 0;
	int r;

	if (check_packet(&c, &p, pkt, len) < 0)
		return -EINVAL;
	for (unsigned int steps = 0; steps < f->len && i < f->len; steps++) {
		const struct wd_test *t = &f->test[i];

		if (!wd_field_valid(t->field, c.layer))
			return -EINVAL;
		r = field_value(&c, t, &v);
		if (r < 0)
			return r;
		wd_test_value(t, &want);
		i = r && wd_op_holds(t->op, wd_value_cmp(&v, &want, wd_field(t->field)->big)) ?
			    t->succ : t->fail;
		if (i == WD_LABEL_ACCEPT || i == WD_LABEL_REJECT)
			return i == WD_LABEL_ACCEPT;
	}
	return -EINVAL;
}

int wd_filter_match(const struct wd_filter *f, const void *pkt, UINT len,
		    const WINDIVERT_ADDRESS *addr)
{
	return wd_filter_run(f, pkt, len, addr) > 0;
}

int wd_filter_needs_process(const struct wd_filter *f)
{
	for (unsigned int i = 0; i < f->len; i++)
		if (f->test[i].field == WD_F_PROCESSID)
			return 1;
	return 0;
}
