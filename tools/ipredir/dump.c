/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dump.c - `ipredir dump`: print one line per matching packet (time,
 * direction, interface, addresses and ports, protocol, length, flags), or
 * write the packets to a pcap file of link type LINUX_SLL2, which records the
 * direction and the interface of each. Every packet is accepted unchanged;
 * with --monitor the kernel sends copies and holds nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_packet.h>
#include <pcap/pcap.h>

#include "cli.h"

#define DUMP_BATCH 64
#define SLL2_HDR_LEN 20

struct dump_config {
	const char *file;           /* -w: pcap file; NULL = print lines */
	unsigned long long count;   /* -c: stop after this many packets; 0 = never */
	unsigned int snaplen;       /* --snap: bytes per packet; 0 = whole packet */
	int monitor;                /* --monitor: copies only */
};

/* What goes before each packet's bytes in the file: pcap's record header (host byte
 * order, as libpcap writes it) and the SLL2 header. */
struct record_head {
	uint32_t ts_sec, ts_usec, caplen, len;
	uint8_t sll2[SLL2_HDR_LEN];
};

/* The pcap output of -w: libpcap writes the file header; the records of a batch go
 * out in one writev, the packet bytes straight from the receive buffer. */
struct dump_out {
	pcap_t *pcap;
	pcap_dumper_t *dumper;
	int fd;
	struct record_head heads[DUMP_BATCH];
	struct iovec iov[2 * DUMP_BATCH];
};

static struct dump_config dump_config;

static const struct option dump_options[] = {
	{ "write", required_argument, NULL, 'w' },
	{ "count", required_argument, NULL, 'c' },
	{ "monitor", no_argument, NULL, 'M' },
	{ "snap", required_argument, NULL, 's' },
	{ 0 },
};

static void parse_option(int opt, const char *arg, void *ctx);

static const struct cli_spec dump_spec = {
	.name = "dump",
	.synopsis = "[options] [-w FILE] [-c COUNT] [--monitor]",
	.help = "  -w, --write FILE       write a pcap file (LINUX_SLL2) instead of printing\n"
		"  -c, --count N          stop after N packets\n"
		"      --monitor          observe copies; hold no packet\n"
		"      --snap N           keep only the first N bytes of each packet\n",
	.longopts = dump_options,
	.shortopts = "w:c:",
	.redirect = 1,
	.parse = parse_option,
	.ctx = &dump_config,
};

static void parse_option(int opt, const char *arg, void *ctx)
{
	struct dump_config *d = ctx;
	const struct cli_spec *spec = &dump_spec;

	switch (opt) {
	case 'w': d->file = arg; break;
	case 'c': d->count = cli_uint(spec, "count", arg, 1, 0xffffffffu); break;
	case 'M': d->monitor = 1; break;
	case 's': d->snaplen = cli_uint(spec, "snap", arg, 40, IPR_SNAPLEN_MAX); break;
	default: cli_usage_error(spec, "unexpected option");
	}
}

/* ---- text lines ---- */

static const char *direction_name(const struct ipr_packet *pkt)
{
	switch (pkt->layer) {
	case IPR_LAYER_IN: return "in";
	case IPR_LAYER_OUT: return "out";
	default: return "fwd";
	}
}

static void ifname_of(uint32_t index, char *buf)
{
	if (!index || !if_indextoname(index, buf))
		snprintf(buf, IF_NAMESIZE, "%s", index ? "?" : "-");
}

/* "eth0", or "eth0>eth1" for a forwarded packet. */
static void format_interfaces(const struct ipr_packet *pkt, char *buf, size_t size)
{
	char in[IF_NAMESIZE], out[IF_NAMESIZE];

	ifname_of(pkt->ifindex_in, in);
	ifname_of(pkt->ifindex_out, out);
	if (pkt->layer == IPR_LAYER_IN)
		snprintf(buf, size, "%s", in);
	else if (pkt->layer == IPR_LAYER_OUT)
		snprintf(buf, size, "%s", out);
	else
		snprintf(buf, size, "%s>%s", in, out);
}

static void format_time(const struct ipr_packet *pkt, char *buf, size_t size)
{
	time_t sec = (time_t)pkt->ts_sec;
	struct tm tm;

	localtime_r(&sec, &tm);
	snprintf(buf, size, "%02d:%02d:%02d.%06u", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 pkt->ts_nsec / 1000);
}

static int has_ports(const struct ipr_parsed *p)
{
	return p->l4 && (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP);
}

/* "10.0.0.1.80" (with a port) or "10.0.0.1". */
static void format_endpoint(const struct ipr_addr *a, int port, char *buf, size_t size)
{
	char text[IPR_ADDR_STRLEN];

	if (ipr_addr_format(a, text, sizeof(text)) < 0)
		snprintf(text, sizeof(text), "?");
	if (port >= 0)
		snprintf(buf, size, "%s.%d", text, port);
	else
		snprintf(buf, size, "%s", text);
}

static void format_protocol(const struct ipr_parsed *p, char *buf, size_t size)
{
	switch (p->proto) {
	case IPPROTO_TCP: snprintf(buf, size, "tcp"); break;
	case IPPROTO_UDP: snprintf(buf, size, "udp"); break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (p->l4)
			snprintf(buf, size, "%s type %u code %u",
				 p->proto == IPPROTO_ICMP ? "icmp" : "icmp6", p->sport >> 8,
				 p->sport & 0xff);
		else
			snprintf(buf, size, "%s", p->proto == IPPROTO_ICMP ? "icmp" : "icmp6");
		break;
	default: snprintf(buf, size, "proto %u", p->proto);
	}
}

/* "src > dst proto" of one packet, or why it cannot be parsed. */
static void format_addresses(const struct ipr_packet *pkt, char *buf, size_t size)
{
	char src[IPR_ADDR_STRLEN + 8], dst[IPR_ADDR_STRLEN + 8], proto[40];
	struct ipr_addr s, d;
	struct ipr_parsed p;

	if (ipr_parse(pkt->data, pkt->caplen, &p) < 0 || ipr_packet_addrs(&p, &s, &d) < 0) {
		snprintf(buf, size, "malformed IPv%d packet", pkt->flags & IPR_PKT_IPV6 ? 6 : 4);
		return;
	}
	format_endpoint(&s, has_ports(&p) ? p.sport : -1, src, sizeof(src));
	format_endpoint(&d, has_ports(&p) ? p.dport : -1, dst, sizeof(dst));
	format_protocol(&p, proto, sizeof(proto));
	snprintf(buf, size, "%s > %s %s", src, dst, proto);
}

static void print_packet(const struct ipr_packet *pkt)
{
	char when[32], ifs[2 * IF_NAMESIZE + 2], what[2 * IPR_ADDR_STRLEN + 80];

	format_time(pkt, when, sizeof(when));
	format_interfaces(pkt, ifs, sizeof(ifs));
	format_addresses(pkt, what, sizeof(what));
	printf("%s %-3s %s %s len %u%s%s\n", when, direction_name(pkt), ifs, what, pkt->len,
	       pkt->flags & IPR_PKT_GSO ? " [GSO]" : "",
	       pkt->flags & IPR_PKT_TRUNCATED ? " [truncated]" : "");
}

/* ---- pcap file ---- */

static int out_open(struct dump_out *o, const char *file, unsigned int snaplen)
{
	o->pcap = pcap_open_dead(DLT_LINUX_SLL2, (int)(snaplen + SLL2_HDR_LEN));
	if (!o->pcap) {
		fprintf(stderr, "ipredir dump: cannot set up libpcap\n");
		return -1;
	}
	o->dumper = pcap_dump_open(o->pcap, file);
	if (!o->dumper) {
		fprintf(stderr, "ipredir dump: %s\n", pcap_geterr(o->pcap));
		return -1;
	}
	if (pcap_dump_flush(o->dumper) < 0) { /* the file header; records bypass stdio */
		fprintf(stderr, "ipredir dump: cannot write %s\n", file);
		return -1;
	}
	o->fd = fileno(pcap_dump_file(o->dumper));
	return 0;
}

static int out_close(struct dump_out *o)
{
	int err = 0;

	if (o->dumper) {
		err = pcap_dump_flush(o->dumper);
		pcap_dump_close(o->dumper);
	}
	if (o->pcap)
		pcap_close(o->pcap);
	return err;
}

/* The 20-byte SLL2 header: the interface and direction tcpdump shows. */
static void sll2_header(const struct ipr_packet *pkt, uint8_t *h)
{
	uint16_t proto = htons(pkt->flags & IPR_PKT_IPV6 ? 0x86dd : 0x0800);
	uint32_t index = htonl(pkt->layer == IPR_LAYER_OUT ? pkt->ifindex_out : pkt->ifindex_in);
	uint16_t hatype = htons(ARPHRD_NONE);

	memset(h, 0, SLL2_HDR_LEN);
	memcpy(h, &proto, 2);
	memcpy(h + 4, &index, 4);
	memcpy(h + 8, &hatype, 2);
	h[10] = pkt->layer == IPR_LAYER_IN  ? PACKET_HOST :
		pkt->layer == IPR_LAYER_OUT ? PACKET_OUTGOING : PACKET_OTHERHOST;
	h[11] = 0; /* no link-layer address */
}

static void record_head(const struct ipr_packet *pkt, struct record_head *r)
{
	r->ts_sec = (uint32_t)pkt->ts_sec;
	r->ts_usec = pkt->ts_nsec / 1000;
	r->caplen = SLL2_HDR_LEN + pkt->caplen;
	r->len = SLL2_HDR_LEN + pkt->len;
	sll2_header(pkt, r->sll2);
}

/* writev all of iov, going on after short writes and signals; 0 or -errno. */
static int write_all(int fd, struct iovec *iov, int cnt)
{
	while (cnt > 0) {
		ssize_t n = writev(fd, iov, cnt > IOV_MAX ? IOV_MAX : cnt);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n ? -errno : -EIO;
		for (; cnt > 0 && (size_t)n >= iov->iov_len; iov++, cnt--)
			n -= (ssize_t)iov->iov_len;
		if (cnt > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* Append n packets to the file without copying their bytes; 0 or -errno. */
static int write_packets(struct dump_out *o, const struct ipr_packet *pkts, int n)
{
	for (int i = 0; i < n; i++) {
		record_head(&pkts[i], &o->heads[i]);
		o->iov[2 * i] = (struct iovec){ &o->heads[i], sizeof(o->heads[i]) };
		o->iov[2 * i + 1] = (struct iovec){ (void *)pkts[i].data, pkts[i].caplen };
	}
	return write_all(o->fd, o->iov, 2 * n);
}

/* ---- the loop ---- */

struct dump_loop {
	struct ipr_handle *h;
	struct dump_out out;
	void *buf;
	size_t buflen;
	struct ipr_packet pkts[DUMP_BATCH];
	unsigned long long written; /* packets printed or written */
};

static int count_reached(const struct dump_loop *l)
{
	return dump_config.count && l->written >= dump_config.count;
}

/* Print or write the packets of a batch up to --count; 0 or -errno of a failed write. */
static int handle_batch(struct dump_loop *l, int n)
{
	int err = 0;

	if (dump_config.count && (unsigned long long)n > dump_config.count - l->written)
		n = (int)(dump_config.count - l->written);
	if (l->out.dumper) {
		err = write_packets(&l->out, l->pkts, n);
	} else {
		for (int i = 0; i < n; i++)
			print_packet(&l->pkts[i]);
		fflush(stdout);
	}
	if (!err)
		l->written += (unsigned long long)n;
	return err;
}

static int run_loop(struct dump_loop *l)
{
	while (!cli_stop && !count_reached(l)) {
		int n = ipr_recv_batch(l->h, l->buf, l->buflen, l->pkts, DUMP_BATCH, 0), err;

		if (n == -EINTR || n == -EAGAIN)
			continue;
		if (n < 0) {
			fprintf(stderr, "ipredir dump: %s\n", ipr_last_error());
			return 1;
		}
		err = handle_batch(l, n);
		if (err < 0) {
			fprintf(stderr, "ipredir dump: cannot write %s: %s\n", dump_config.file,
				strerror(-err));
			return 1;
		}
		/* Every packet goes on, also those past --count; a monitor holds none. */
		if (!dump_config.monitor &&
		    ipr_set_verdicts(l->h, l->pkts, (unsigned int)n, IPR_ACCEPT) < 0) {
			fprintf(stderr, "ipredir dump: %s\n", ipr_last_error());
			return 1;
		}
	}
	return 0;
}

/* The pcap file of -w, if any, before the redirector takes a packet. */
static int setup_output(struct dump_loop *l)
{
	unsigned int snaplen = dump_config.snaplen ? dump_config.snaplen : IPR_SNAPLEN_MAX;

	if (!dump_config.file)
		return 0;
	return out_open(&l->out, dump_config.file, snaplen);
}

static int setup_buffer(struct dump_loop *l)
{
	l->buflen = ipr_slot_size(l->h) * DUMP_BATCH;
	l->buf = malloc(l->buflen);
	if (!l->buf) {
		fprintf(stderr, "ipredir dump: out of memory\n");
		return -1;
	}
	return 0;
}

static void print_summary(const struct dump_loop *l, double seconds)
{
	struct ipr_stats s = { 0 };

	ipr_get_stats(l->h, &s, sizeof(s));
	fprintf(stderr, "dump: %llu packets %s%s in %.1f s (%llu received)\n", l->written,
		dump_config.file ? "written to " : "printed", dump_config.file ? dump_config.file : "",
		seconds, (unsigned long long)s.received);
}

int cmd_dump(int argc, char **argv)
{
	struct dump_loop *l = calloc(1, sizeof(*l));
	struct cli_common c;
	double start;
	int status = 1;

	if (cli_parse(&dump_spec, argc, argv, &c) != argc)
		cli_usage_error(&dump_spec, "unexpected argument \"%s\"", argv[optind]);
	if (!l) {
		fprintf(stderr, "ipredir dump: out of memory\n");
		return 1;
	}
	c.opts.snaplen = dump_config.snaplen;
	if (dump_config.monitor)
		c.opts.flags |= IPR_OPEN_MONITOR;
	if (!dump_config.file && c.progress == CLI_PROGRESS_AUTO)
		c.progress = CLI_PROGRESS_OFF; /* the packet lines own the terminal */
	cli_signals(0);
	if (setup_output(l) < 0)
		goto out;
	l->h = cli_open(&dump_spec, &c);
	cli_ready(&dump_spec, &c, l->h, 0);
	start = cli_now();
	if (setup_buffer(l) == 0)
		status = run_loop(l);
	cli_report_stop();
	print_summary(l, cli_now() - start);
	if (ipr_close(l->h) < 0 && !status) {
		fprintf(stderr, "ipredir dump: %s\n", ipr_last_error());
		status = 1;
	}
out:
	if (out_close(&l->out) < 0) {
		fprintf(stderr, "ipredir dump: cannot write %s\n", dump_config.file);
		status = 1;
	}
	free(l->buf);
	free(l);
	return status;
}
