/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rewrite.c - `ipredir rewrite`: rewrite matching packets with correct
 * checksums: TTL / hop limit (--ttl), DSCP (--dscp), and source or destination
 * address and port translation (--snat, --dnat) like a user-space NAT. Each
 * translated flow is remembered (original 5-tuple -> translated one), so the
 * replies of the flow get the reverse translation and a TCP connection through
 * a translated address works end to end. Checksums are updated incrementally
 * (RFC 1624); packets whose transport checksum the kernel left partial are
 * checksummed in full before they go back.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cli.h"

#define FLOWS_MAX 4096
#define FLOW_IDLE_SECONDS 300.0
#define FILTER_MAX 4096

/* --snat / --dnat: an address and, for TCP and UDP, a port (0 = keep it). */
struct endpoint {
	int set;
	struct ipr_addr addr;
	uint16_t port;
};

struct rewrite_config {
	int ttl;  /* -1: keep */
	int dscp; /* -1: keep */
	struct endpoint snat, dnat;
};

/* One direction of a flow; ports in host order, 0 for protocols without ports. */
struct tuple {
	uint8_t version, proto;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
};

struct nat_flow {
	int used;
	double last;
	struct tuple orig; /* as the first packet arrived */
	struct tuple xlat; /* as it left translated */
};

struct rewrite_counts {
	unsigned long long received, rewritten, translated, untranslated, unchanged, flows;
};

static struct rewrite_config config = { .ttl = -1, .dscp = -1 };
static struct rewrite_counts counts;
static struct nat_flow flows[FLOWS_MAX];

enum { OPT_TTL = 1000, OPT_DSCP, OPT_SNAT, OPT_DNAT };

static const struct option rewrite_options[] = {
	{ "ttl", required_argument, NULL, OPT_TTL },
	{ "dscp", required_argument, NULL, OPT_DSCP },
	{ "snat", required_argument, NULL, OPT_SNAT },
	{ "dnat", required_argument, NULL, OPT_DNAT },
	{ 0 },
};

static void parse_option(int opt, const char *arg, void *ctx);

static const struct cli_spec rewrite_spec = {
	.name = "rewrite",
	.synopsis = "[options] (at least one of --ttl, --dscp, --snat, --dnat)",
	.help = "      --ttl N            set the TTL / hop limit to N (1..255)\n"
		"      --dscp N           set the DSCP to N (0..63), ECN bits kept\n"
		"      --snat ADDR[:PORT] translate the source to ADDR (and PORT)\n"
		"      --dnat ADDR[:PORT] translate the destination to ADDR (and PORT)\n"
		"                         IPv6 with a port: [ADDR]:PORT. Ports apply to TCP\n"
		"                         and UDP; --snat and --dnat take one address family\n"
		"                         and translate only packets of that family.\n"
		"  NAT: packets matching the filter are translated and their flow remembered;\n"
		"  its replies get the reverse translation. So that replies reach the program,\n"
		"  a given filter is extended to FILTER or (src host DNAT-ADDR [and src port\n"
		"  DNAT-PORT]) or (dst host SNAT-ADDR [and dst port SNAT-PORT]); packets of that\n"
		"  extension that belong to no known flow pass unchanged. --ttl and --dscp apply\n"
		"  to the packets of the filter, not to translated replies. Fragments and\n"
		"  truncated packets pass unchanged. Example, on the client:\n"
		"    ipredir rewrite --dnat 10.0.0.2:8080 -f 'tcp dst port 80 and dst host 10.0.0.9'\n"
		"  connects clients of 10.0.0.9:80 to 10.0.0.2:8080.\n",
	.longopts = rewrite_options,
	.shortopts = "",
	.redirect = 1,
	.parse = parse_option,
	.ctx = &config,
};

/* ---------------------------------------------------------------- options */

/* "10.0.0.1", "10.0.0.1:80", "fd00::1", "[fd00::1]:80" into *e. */
static void parse_endpoint(const char *what, const char *arg, struct endpoint *e)
{
	const char *host = arg, *port = NULL, *end = NULL, *colon = strchr(arg, ':');
	char text[IPR_ADDR_STRLEN];
	size_t len;

	if (arg[0] == '[') {
		host = arg + 1;
		end = strchr(host, ']');
		if (end && end[1] == ':')
			port = end + 2;
		else if (!end || end[1])
			cli_usage_error(&rewrite_spec, "%s \"%s\": expected [ADDR]:PORT", what, arg);
	} else if (colon && !strchr(colon + 1, ':')) {
		end = colon;
		port = colon + 1;
	}
	len = end ? (size_t)(end - host) : strlen(host);
	if (len >= sizeof(text))
		cli_usage_error(&rewrite_spec, "%s \"%s\": bad address", what, arg);
	memcpy(text, host, len);
	text[len] = '\0';
	if (ipr_addr_parse(text, &e->addr) < 0)
		cli_usage_error(&rewrite_spec, "%s \"%s\": bad address", what, arg);
	e->port = port ? (uint16_t)cli_uint(&rewrite_spec, what, port, 1, 65535) : 0;
	e->set = 1;
}

static void parse_option(int opt, const char *arg, void *ctx)
{
	struct rewrite_config *c = ctx;

	switch (opt) {
	case OPT_TTL: c->ttl = (int)cli_uint(&rewrite_spec, "ttl", arg, 1, 255); break;
	case OPT_DSCP: c->dscp = (int)cli_uint(&rewrite_spec, "dscp", arg, 0, 63); break;
	case OPT_SNAT: parse_endpoint("snat", arg, &c->snat); break;
	case OPT_DNAT: parse_endpoint("dnat", arg, &c->dnat); break;
	default: cli_usage_error(&rewrite_spec, "unexpected option");
	}
}

static int nat_enabled(void)
{
	return config.snat.set || config.dnat.set;
}

static int nat_version(void)
{
	const struct endpoint *e = config.dnat.set ? &config.dnat : &config.snat;

	return e->addr.family == AF_INET6 ? 6 : 4;
}

static void check_config(void)
{
	if (config.ttl < 0 && config.dscp < 0 && !nat_enabled())
		cli_usage_error(&rewrite_spec, "nothing to rewrite: give --ttl, --dscp, --snat or --dnat");
	if (config.snat.set && config.dnat.set && config.snat.addr.family != config.dnat.addr.family)
		cli_usage_error(&rewrite_spec, "--snat and --dnat must be of one address family");
}

/* "src host A and src port P" (dir "src") for an endpoint. */
static void reverse_match(char *buf, size_t size, const char *dir, const struct endpoint *e)
{
	char addr[IPR_ADDR_STRLEN];
	int n;

	ipr_addr_format(&e->addr, addr, sizeof(addr));
	n = snprintf(buf, size, "(%s host %s", dir, addr);
	if (e->port && n > 0 && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n, " and %s port %u", dir, e->port);
	if (n > 0 && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n, ")");
}

/* The user's filter or the replies of translated flows; NULL stays "every packet". */
static const char *extend_filter(const char *filter, char *buf, size_t size)
{
	char dnat[128] = "", snat[128] = "";

	if (!filter || !*filter || !nat_enabled())
		return filter;
	if (config.dnat.set)
		reverse_match(dnat, sizeof(dnat), "src", &config.dnat);
	if (config.snat.set)
		reverse_match(snat, sizeof(snat), "dst", &config.snat);
	if ((size_t)snprintf(buf, size, "(%s)%s%s%s%s", filter, *dnat ? " or " : "", dnat,
			     *snat ? " or " : "", snat) >= size)
		cli_usage_error(&rewrite_spec, "filter too long");
	return buf;
}

/* ---------------------------------------------------------------- checksums */

static size_t addr_offset(const struct ipr_parsed *p, int source)
{
	if (p->version == 4)
		return source ? 12 : 16;
	return source ? 8 : 24;
}

/* Offset of the transport checksum that covers the addresses, 0 if none does. */
static size_t pseudo_csum_offset(const uint8_t *buf, const struct ipr_parsed *p)
{
	size_t l4 = p->l4 ? (size_t)(p->l4 - p->l3) : 0;

	if (!p->l4 || p->fragment)
		return 0;
	if (p->proto == IPPROTO_TCP)
		return l4 + 16;
	if (p->proto == IPPROTO_UDP) /* over IPv4, 0 means "no checksum" */
		return p->version == 4 && !buf[l4 + 6] && !buf[l4 + 7] ? 0 : l4 + 6;
	if (p->proto == IPPROTO_ICMPV6)
		return l4 + 2;
	return 0;
}

/* Adjust the checksum at off for n bytes (even) changing from old to new. */
static void csum_adjust(uint8_t *buf, size_t off, const uint8_t *old, const uint8_t *new,
			size_t n, int udp)
{
	uint16_t sum, o, w;

	memcpy(&sum, buf + off, 2);
	for (size_t i = 0; i < n; i += 2) {
		memcpy(&o, old + i, 2);
		memcpy(&w, new + i, 2);
		ipr_csum_replace2(&sum, o, w);
	}
	if (udp && !sum)
		sum = 0xffff;
	memcpy(buf + off, &sum, 2);
}

/* Replace n bytes at off (an address or a port), fixing the checksums covering them. */
static void set_field(uint8_t *buf, const struct ipr_parsed *p, size_t off, const uint8_t *new,
		      size_t n, int in_ip_header)
{
	size_t l4sum = pseudo_csum_offset(buf, p);
	uint8_t old[16];

	if (!memcmp(buf + off, new, n))
		return;
	memcpy(old, buf + off, n);
	memcpy(buf + off, new, n);
	if (in_ip_header && p->version == 4)
		csum_adjust(buf, 10, old, new, n, 0);
	if (l4sum)
		csum_adjust(buf, l4sum, old, new, n, p->proto == IPPROTO_UDP);
}

static void set_port(uint8_t *buf, const struct ipr_parsed *p, int source, uint16_t port)
{
	uint16_t be = htons(port);

	set_field(buf, p, (size_t)(p->l4 - p->l3) + (source ? 0 : 2), (const uint8_t *)&be, 2, 0);
}

static void set_dscp(uint8_t *buf, const struct ipr_parsed *p, unsigned int dscp)
{
	unsigned int tc;
	uint8_t word[2];

	if (p->version == 4) {
		word[0] = buf[0];
		word[1] = (uint8_t)(dscp << 2 | (buf[1] & 3));
		set_field(buf, p, 0, word, 2, 1); /* no transport checksum covers it */
		return;
	}
	/* Traffic class: the low nibble of byte 0 and the high nibble of byte 1. */
	tc = (dscp << 2) | ((buf[1] >> 4) & 3);

	buf[0] = (uint8_t)((buf[0] & 0xf0) | (tc >> 4));
	buf[1] = (uint8_t)(((tc & 0x0f) << 4) | (buf[1] & 0x0f));
}

/* ---------------------------------------------------------------- flows */

static int has_ports(const struct ipr_parsed *p)
{
	return p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP;
}

/* The tuple of a packet; returns 0 if it cannot be translated. */
static int tuple_of(const struct ipr_parsed *p, struct tuple *t)
{
	size_t alen = p->version == 4 ? 4 : 16;

	if (p->fragment || (has_ports(p) && !p->l4))
		return 0;
	memset(t, 0, sizeof(*t));
	t->version = p->version;
	t->proto = p->proto;
	memcpy(t->src, p->l3 + addr_offset(p, 1), alen);
	memcpy(t->dst, p->l3 + addr_offset(p, 0), alen);
	if (has_ports(p)) {
		t->sport = p->sport;
		t->dport = p->dport;
	}
	return 1;
}

static void tuple_swap(const struct tuple *t, struct tuple *out)
{
	*out = *t;
	memcpy(out->src, t->dst, sizeof(out->src));
	memcpy(out->dst, t->src, sizeof(out->dst));
	out->sport = t->dport;
	out->dport = t->sport;
}

static int flow_live(const struct nat_flow *f, double now)
{
	return f->used && now - f->last < FLOW_IDLE_SECONDS;
}

/* The live flow whose original (xlat = 0) or translated (xlat = 1) tuple is t. */
static struct nat_flow *flow_find(const struct tuple *t, int xlat, double now)
{
	for (size_t i = 0; i < FLOWS_MAX; i++) {
		struct nat_flow *f = &flows[i];

		if (flow_live(f, now) && !memcmp(xlat ? &f->xlat : &f->orig, t, sizeof(*t)))
			return f;
	}
	return NULL;
}

/* A free slot: an unused or idle one, else the least recently used. */
static struct nat_flow *flow_slot(double now)
{
	struct nat_flow *oldest = &flows[0];

	for (size_t i = 0; i < FLOWS_MAX; i++) {
		if (!flow_live(&flows[i], now))
			return &flows[i];
		if (flows[i].last < oldest->last)
			oldest = &flows[i];
	}
	return oldest;
}

static void translate_endpoint(const struct endpoint *e, uint8_t *addr, uint16_t *port,
			       int ports)
{
	if (!e->set)
		return;
	memcpy(addr, e->addr.bytes, e->addr.family == AF_INET ? 4 : 16);
	if (ports && e->port)
		*port = e->port;
}

static struct nat_flow *flow_new(const struct tuple *t, double now)
{
	struct nat_flow *f = flow_slot(now);
	int ports = t->proto == IPPROTO_TCP || t->proto == IPPROTO_UDP;

	*f = (struct nat_flow){ .used = 1, .last = now, .orig = *t, .xlat = *t };
	translate_endpoint(&config.snat, f->xlat.src, &f->xlat.sport, ports);
	translate_endpoint(&config.dnat, f->xlat.dst, &f->xlat.dport, ports);
	counts.flows++;
	return f;
}

/* A packet of the filter's reverse extension (a reply path) that no flow knows. */
static int is_reply_path(const struct tuple *t)
{
	size_t alen = t->version == 4 ? 4 : 16;
	const struct endpoint *d = &config.dnat, *s = &config.snat;

	if (d->set && !memcmp(t->src, d->addr.bytes, alen) && (!d->port || t->sport == d->port))
		return 1;
	return s->set && !memcmp(t->dst, s->addr.bytes, alen) && (!s->port || t->dport == s->port);
}

/* Rewrite the packet's addresses and ports to tuple want. */
static void apply_tuple(uint8_t *buf, const struct ipr_parsed *p, const struct tuple *want)
{
	size_t alen = p->version == 4 ? 4 : 16;

	set_field(buf, p, addr_offset(p, 1), want->src, alen, 1);
	set_field(buf, p, addr_offset(p, 0), want->dst, alen, 1);
	if (!has_ports(p))
		return;
	set_port(buf, p, 1, want->sport);
	set_port(buf, p, 0, want->dport);
}

enum nat_result { NAT_NONE, NAT_ORIGINAL, NAT_REPLY, NAT_STRAY_REPLY };

static enum nat_result nat(uint8_t *buf, const struct ipr_parsed *p)
{
	struct tuple t, key, want;
	struct nat_flow *f;
	double now = cli_now();

	if (!nat_enabled() || p->version != nat_version() || !tuple_of(p, &t))
		return NAT_NONE;
	tuple_swap(&t, &key);
	f = flow_find(&key, 1, now);
	if (f) {
		f->last = now;
		tuple_swap(&f->orig, &want);
		apply_tuple(buf, p, &want);
		return NAT_REPLY;
	}
	if (is_reply_path(&t))
		return NAT_STRAY_REPLY;
	f = flow_find(&t, 0, now);
	if (!f)
		f = flow_new(&t, now);
	f->last = now;
	apply_tuple(buf, p, &f->xlat);
	return NAT_ORIGINAL;
}

/* ---------------------------------------------------------------- packets */

static int rewrite_one(struct ipr_handle *h, struct ipr_packet *pkt)
{
	struct ipr_parsed p;
	enum nat_result r;

	counts.received++;
	if ((pkt->flags & IPR_PKT_TRUNCATED) || ipr_parse(pkt->data, pkt->caplen, &p) < 0 ||
	    p.truncated) {
		counts.unchanged++;
		return ipr_accept(h, pkt);
	}
	r = nat(pkt->data, &p);
	if (r == NAT_STRAY_REPLY || (r == NAT_NONE && config.ttl < 0 && config.dscp < 0)) {
		counts.unchanged++;
		return ipr_accept(h, pkt);
	}
	counts.translated += r == NAT_ORIGINAL;
	counts.untranslated += r == NAT_REPLY;
	if (r != NAT_REPLY && config.ttl >= 0)
		ipr_set_ttl(pkt->data, pkt->caplen, (uint8_t)config.ttl);
	if (r != NAT_REPLY && config.dscp >= 0)
		set_dscp(pkt->data, &p, (unsigned int)config.dscp);
	if ((pkt->flags & IPR_PKT_CSUM_NOT_READY) && ipr_checksum_fill(pkt->data, pkt->caplen) < 0) {
		counts.unchanged++; /* the kernel's copy goes on as it was */
		return ipr_accept(h, pkt);
	}
	counts.rewritten++;
	return ipr_accept_modified(h, pkt, pkt->data, pkt->caplen);
}

/* cli_batch_fn: rewrite each packet of a batch. */
static int rewrite_batch(struct ipr_handle *h, struct ipr_packet *pkts, int n, void *arg)
{
	int err = 0;

	for (int i = 0; i < n && !err; i++)
		err = rewrite_one(h, &pkts[i]);
	return err;
}

static void print_summary_json(double seconds)
{
	struct json_obj o;

	json_begin(&o, stdout);
	json_str(&o, "tool", "rewrite");
	json_uint(&o, "packets", counts.received);
	json_real(&o, "seconds", seconds, 3);
	json_uint(&o, "rewritten", counts.rewritten);
	json_uint(&o, "translated", counts.translated);
	json_uint(&o, "translated_back", counts.untranslated);
	json_uint(&o, "unchanged", counts.unchanged);
	json_uint(&o, "flows", counts.flows);
	json_end(&o);
}

static void print_summary(double seconds, int json)
{
	if (json) {
		print_summary_json(seconds);
		return;
	}
	printf("rewrite: %llu packets in %.1f s: rewritten %llu (translated %llu, replies "
	       "translated back %llu), unchanged %llu; flows %llu\n",
	       counts.received, seconds, counts.rewritten, counts.translated, counts.untranslated,
	       counts.unchanged, counts.flows);
	fflush(stdout);
}

int cmd_rewrite(int argc, char **argv)
{
	static char filter[FILTER_MAX];
	struct cli_common c;
	struct ipr_handle *h;
	double start;
	int status;

	if (cli_parse(&rewrite_spec, argc, argv, &c) != argc)
		cli_usage_error(&rewrite_spec, "unexpected argument \"%s\"", argv[optind]);
	check_config();
	c.opts.filter = extend_filter(c.opts.filter, filter, sizeof(filter));
	cli_signals(0);
	h = cli_open(&rewrite_spec, &c);
	cli_ready(&rewrite_spec, &c, h, 0);
	fprintf(stderr, "rewrite: filter %s; Ctrl-C stops\n",
		c.opts.filter && *c.opts.filter ? c.opts.filter : "(every packet)");
	start = cli_now();
	status = cli_serve(&rewrite_spec, h, rewrite_batch, NULL);
	print_summary(cli_now() - start, c.json);
	status = cli_close(&rewrite_spec, h, status);
	return status;
}
