/* SPDX-License-Identifier: GPL-2.0-or-later */
/* flow.c - a bounded table of packets seen per flow, for passthru --bypass-after. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cli.h"

#define FLOW_SLOTS (1u << 16) /* direct-mapped: a colliding flow restarts its count */

/* A flow, with its two ends in a fixed order so both directions give one key. */
struct flow_key {
	uint8_t lo[16], hi[16];
	uint16_t lo_port, hi_port;
	uint8_t proto;
	uint8_t pad[3];
};

struct flow_slot {
	struct flow_key key;
	unsigned int packets;
};

struct flow_table {
	struct flow_slot slots[FLOW_SLOTS];
};

struct flow_table *flow_table_new(void)
{
	return calloc(1, sizeof(struct flow_table));
}

void flow_table_free(struct flow_table *t)
{
	free(t);
}

static int make_key(const struct ipr_packet *pkt, struct flow_key *k)
{
	struct ipr_addr src, dst;
	struct ipr_parsed p;
	uint16_t sport, dport;
	int swap;

	if (ipr_parse(pkt->data, pkt->caplen, &p) < 0 || ipr_packet_addrs(&p, &src, &dst) < 0)
		return -1;
	memset(k, 0, sizeof(*k));
	sport = p.l4 ? p.sport : 0;
	dport = p.l4 ? p.dport : 0;
	if (p.proto == 1 || p.proto == 58)
		sport = 0; /* ICMP: type differs by direction, the id does not */
	swap = memcmp(src.bytes, dst.bytes, 16) > 0 ||
	       (!memcmp(src.bytes, dst.bytes, 16) && sport > dport);
	memcpy(k->lo, swap ? dst.bytes : src.bytes, 16);
	memcpy(k->hi, swap ? src.bytes : dst.bytes, 16);
	k->lo_port = swap ? dport : sport;
	k->hi_port = swap ? sport : dport;
	k->proto = p.proto;
	return 0;
}

static uint32_t hash_key(const struct flow_key *k)
{
	const uint8_t *b = (const uint8_t *)k;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

unsigned int flow_count(struct flow_table *t, const struct ipr_packet *pkt)
{
	struct flow_key k;
	struct flow_slot *s;

	if (make_key(pkt, &k) < 0)
		return 0;
	s = &t->slots[hash_key(&k) % FLOW_SLOTS];
	if (memcmp(&s->key, &k, sizeof(k))) {
		s->key = k;
		s->packets = 0;
	}
	return ++s->packets;
}
