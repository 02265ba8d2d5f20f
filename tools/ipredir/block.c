/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * block.c - `ipredir block`: a firewall. Every matching packet is dropped.
 * With --reject the sender is also told: a TCP segment is answered with a TCP
 * reset (RFC 793), any other packet with an ICMP / ICMPv6 destination
 * unreachable quoting it (port unreachable for UDP, administratively
 * prohibited otherwise). The answer is injected toward the sender: out to the
 * network for packets that arrived or are forwarded, in to the local stack for
 * packets this host sends.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define REPLY_TTL 64
#define IPV4_HDR 20
#define IPV6_HDR 40
#define TCP_HDR 20
#define ICMP_HDR 8
#define ICMP4_MAX 576  /* RFC 1812 4.3.2.3: an ICMPv4 error fits 576 bytes */
#define ICMP6_MAX 1280 /* RFC 4443 2.4 (c): an ICMPv6 error fits the minimum MTU */
#define REPLY_MAX ICMP6_MAX

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

struct block_state {
	int reject;
	unsigned long long dropped, resets, unreachables, reply_errors;
};

static struct block_state block_state;

static const struct option block_options[] = {
	{ "reject", no_argument, NULL, 'r' },
	{ 0 },
};

static void parse_option(int opt, const char *arg, void *ctx);

static const struct cli_spec block_spec = {
	.name = "block",
	.synopsis = "[options]",
	.help = "  -r, --reject           answer instead of dropping silently: a TCP reset for\n"
		"                         TCP, ICMP/ICMPv6 unreachable (port unreachable for\n"
		"                         UDP, administratively prohibited otherwise)\n",
	.longopts = block_options,
	.shortopts = "r",
	.redirect = 1,
	.parse = parse_option,
	.ctx = &block_state,
};

static void parse_option(int opt, const char *arg, void *ctx)
{
	struct block_state *s = ctx;

	if (opt != 'r')
		cli_usage_error(&block_spec, "unexpected option");
	s->reject = 1;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

static void put16(uint8_t *p, uint16_t host)
{
	uint16_t v = htons(host);

	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t host)
{
	uint32_t v = htonl(host);

	memcpy(p, &v, 4);
}

/*
 * Write an IP header answering p (its addresses swapped) for payload_len bytes
 * of protocol proto; returns the header length. Checksums come later.
 */
static size_t put_reply_ip(uint8_t *out, const struct ipr_parsed *p, uint8_t proto,
			   size_t payload_len)
{
	if (p->version == 4) {
		memset(out, 0, IPV4_HDR);
		out[0] = 0x45;
		put16(out + 2, (uint16_t)(IPV4_HDR + payload_len));
		put16(out + 6, 0x4000); /* don't fragment */
		out[8] = REPLY_TTL;
		out[9] = proto;
		memcpy(out + 12, p->l3 + 16, 4);
		memcpy(out + 16, p->l3 + 12, 4);
		return IPV4_HDR;
	}
	memset(out, 0, IPV6_HDR);
	out[0] = 0x60;
	put16(out + 4, (uint16_t)payload_len);
	out[6] = proto;
	out[7] = REPLY_TTL;
	memcpy(out + 8, p->l3 + 24, 16);
	memcpy(out + 24, p->l3 + 8, 16);
	return IPV6_HDR;
}

/* TCP data bytes of the segment, SYN and FIN counted as one each (RFC 793 3.3). */
static uint32_t tcp_seg_len(const struct ipr_packet *pkt, const struct ipr_parsed *p)
{
	uint32_t headers = (uint32_t)p->l3_hdr_len + p->l4_hdr_len;
	uint32_t len = p->ip_len ? p->ip_len : pkt->len;
	uint8_t flags = p->l4[13];

	return (len > headers ? len - headers : 0) + !!(flags & TCP_SYN) + !!(flags & TCP_FIN);
}

/* A reset for the segment (RFC 793 3.4, "Reset Generation"); 0 if none is due. */
static size_t build_reset(const struct ipr_packet *pkt, const struct ipr_parsed *p, uint8_t *out)
{
	const uint8_t *th = p->l4;
	size_t hl;
	uint8_t *t;

	if (th[13] & TCP_RST)
		return 0;
	hl = put_reply_ip(out, p, IPPROTO_TCP, TCP_HDR);
	t = out + hl;
	memset(t, 0, TCP_HDR);
	memcpy(t, th + 2, 2); /* ports swapped */
	memcpy(t + 2, th, 2);
	t[12] = (TCP_HDR / 4) << 4;
	if (th[13] & TCP_ACK) {
		put32(t + 4, get32(th + 8)); /* <SEQ=SEG.ACK><CTL=RST> */
		t[13] = TCP_RST;
	} else {
		put32(t + 8, get32(th + 4) + tcp_seg_len(pkt, p)); /* <SEQ=0><ACK=SEG.SEQ+SEG.LEN> */
		t[13] = TCP_RST | TCP_ACK;
	}
	return hl + TCP_HDR;
}

/* ICMP errors, fragments after the first and the like must not be answered (RFC 1122 3.2.2). */
static int is_icmp_error(const struct ipr_parsed *p)
{
	if (!p->l4)
		return 0;
	if (p->version == 4 && p->proto == IPPROTO_ICMP)
		return p->l4[0] != 0 && p->l4[0] != 8 && (p->l4[0] < 13 || p->l4[0] > 18);
	return p->version == 6 && p->proto == IPPROTO_ICMPV6 && p->l4[0] < 128;
}

static int is_group_address(const struct ipr_parsed *p, int source)
{
	const uint8_t *a = p->l3 + (p->version == 4 ? (source ? 12 : 16) : (source ? 8 : 24));
	static const uint8_t zero[16];

	if (p->version == 6)
		return a[0] == 0xff || !memcmp(a, zero, 16);
	return a[0] >= 224 || !memcmp(a, zero, 4);
}

static int may_answer(const struct ipr_parsed *p)
{
	return !is_icmp_error(p) && !(p->fragment && !p->l4) && !is_group_address(p, 1) &&
	       !is_group_address(p, 0);
}

/* An unreachable quoting as much of the packet as fits (RFC 792, RFC 4443 3.1). */
static size_t build_unreachable(const struct ipr_parsed *p, uint8_t *out)
{
	int v4 = p->version == 4, udp = p->proto == IPPROTO_UDP;
	size_t room = (v4 ? ICMP4_MAX - IPV4_HDR : ICMP6_MAX - IPV6_HDR) - ICMP_HDR;
	size_t quote = p->l3_len < room ? p->l3_len : room;
	size_t hl = put_reply_ip(out, p, v4 ? IPPROTO_ICMP : IPPROTO_ICMPV6, ICMP_HDR + quote);
	uint8_t *icmp = out + hl;

	memset(icmp, 0, ICMP_HDR);
	icmp[0] = v4 ? 3 : 1;
	if (v4)
		icmp[1] = udp ? 3 : 13; /* port unreachable : communication administratively prohibited */
	else
		icmp[1] = udp ? 4 : 1;  /* port unreachable : administratively prohibited */
	memcpy(icmp + ICMP_HDR, p->l3, quote);
	return hl + ICMP_HDR + quote;
}

/* The answer to a packet sent by this host goes in; any other answer goes out. */
static unsigned int reply_direction(const struct ipr_packet *pkt)
{
	return pkt->layer == IPR_LAYER_OUT ? IPR_LAYER_IN : IPR_LAYER_OUT;
}

static void reject(struct ipr_handle *h, const struct ipr_packet *pkt, int verbose)
{
	uint8_t out[REPLY_MAX];
	struct ipr_parsed p;
	size_t len;
	int tcp, err;

	if (ipr_parse(pkt->data, pkt->caplen, &p) < 0 || !may_answer(&p))
		return;
	tcp = p.proto == IPPROTO_TCP && p.l4;
	len = tcp ? build_reset(pkt, &p, out) : build_unreachable(&p, out);
	if (!len)
		return;
	err = ipr_checksum_fill(out, len);
	if (!err)
		err = ipr_send(h, out, len, reply_direction(pkt));
	if (err) {
		if (verbose || !block_state.reply_errors)
			fprintf(stderr, "ipredir block: cannot send a reply: %s\n", ipr_last_error());
		block_state.reply_errors++;
		return;
	}
	if (tcp)
		block_state.resets++;
	else
		block_state.unreachables++;
}

/* cli_batch_fn: drop (or reject) a batch; arg points to the verbosity. */
static int block_batch(struct ipr_handle *h, struct ipr_packet *pkts, int n, void *arg)
{
	int verbose = *(const int *)arg;

	for (int i = 0; i < n; i++) {
		if (block_state.reject)
			reject(h, &pkts[i], verbose);
		block_state.dropped++;
	}
	return ipr_set_verdicts(h, pkts, (unsigned int)n, IPR_DROP);
}

static void print_summary_json(double seconds)
{
	const struct block_state *s = &block_state;
	struct json_obj o;

	json_begin(&o, stdout);
	json_str(&o, "tool", "block");
	json_uint(&o, "dropped", s->dropped);
	json_real(&o, "seconds", seconds, 3);
	if (s->reject) {
		json_uint(&o, "rejected", s->resets + s->unreachables);
		json_uint(&o, "tcp_resets", s->resets);
		json_uint(&o, "unreachables", s->unreachables);
		json_uint(&o, "reply_errors", s->reply_errors);
	}
	json_end(&o);
}

static void print_summary(double seconds, int json)
{
	const struct block_state *s = &block_state;

	if (json) {
		print_summary_json(seconds);
		return;
	}
	printf("block: %llu packets dropped in %.1f s", s->dropped, seconds);
	if (s->reject)
		printf(": rejected %llu (TCP resets %llu, unreachables %llu), reply errors %llu",
		       s->resets + s->unreachables, s->resets, s->unreachables, s->reply_errors);
	printf("\n");
	fflush(stdout);
}

int cmd_block(int argc, char **argv)
{
	struct cli_common c;
	struct ipr_handle *h;
	double start;
	int status;

	if (cli_parse(&block_spec, argc, argv, &c) != argc)
		cli_usage_error(&block_spec, "unexpected argument \"%s\"", argv[optind]);
	cli_signals(0);
	h = cli_open(&block_spec, &c);
	cli_ready(&block_spec, &c, h,
			    block_state.reject ? IPR_LAYER_OUT | IPR_LAYER_IN : 0);
	fprintf(stderr, "block: %s matching packets; Ctrl-C stops\n",
		block_state.reject ? "rejecting" : "dropping");
	start = cli_now();
	status = cli_serve(&block_spec, h, block_batch, &c.verbose);
	print_summary(cli_now() - start, c.json);
	status = cli_close(&block_spec, h, status);
	return status;
}
