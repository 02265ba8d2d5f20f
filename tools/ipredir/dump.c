/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dump.c - `ipredir dump`: print one line per matching packet (time,
 * direction, interface, addresses and ports, protocol, length, flags), or one
 * JSON object per packet (-j), or write the packets to a capture file (-w):
 * pcap of link type LINUX_SLL2, or pcapng with the interfaces' names
 * (capture.h). Every packet is accepted unchanged; with --monitor the kernel
 * sends copies and holds nothing.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture.h"
#include "cli.h"

#define DUMP_BATCH CAPTURE_BATCH
#define COMMENT_LEN 96

enum { OPT_FORMAT = 512, OPT_NO_PROCESS };

struct dump_config {
	const char *file;           /* -w: capture file ("-": stdout); NULL = print */
	int format;                 /* --format: enum capture_format; -1 = by the name */
	unsigned long long count;   /* -c: stop after this many packets; 0 = never */
	unsigned int snaplen;       /* --snap: bytes per packet; 0 = whole packet */
	int monitor;                /* --monitor: copies only */
	int json;                   /* -j: packets as JSON objects */
	int no_process;             /* --no-process: do not look processes up */
};

static struct dump_config dump_config = { .format = -1 };

static const struct option dump_options[] = {
	{ "write", required_argument, NULL, 'w' },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "count", required_argument, NULL, 'c' },
	{ "monitor", no_argument, NULL, 'M' },
	{ "snap", required_argument, NULL, 's' },
	{ "no-process", no_argument, NULL, OPT_NO_PROCESS },
	{ 0 },
};

static void parse_option(int opt, const char *arg, void *ctx);

static const struct cli_spec dump_spec = {
	.name = "dump",
	.synopsis = "[options] [-w FILE [--format pcap|pcapng]] [-c COUNT] [--monitor] [-j]",
	.help = "  -w, --write FILE       write a capture file instead of printing (- = stdout):\n"
		"                         pcapng if FILE ends in .pcapng, else pcap (LINUX_SLL2)\n"
		"      --format FORMAT    pcap or pcapng, whatever FILE's name\n"
		"  -c, --count N          stop after N packets\n"
		"      --monitor          observe copies; hold no packet\n"
		"      --snap N           keep only the first N bytes of each packet\n"
		"      --no-process       do not name the process of each packet\n",
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
	case OPT_FORMAT:
		if (strcmp(arg, "pcap") && strcmp(arg, "pcapng"))
			cli_usage_error(spec, "--format %s: expected pcap or pcapng", arg);
		d->format = strcmp(arg, "pcap") ? CAPTURE_PCAPNG : CAPTURE_PCAP;
		break;
	case 'c': d->count = cli_uint(spec, "count", arg, 1, 0xffffffffu); break;
	case 'M': d->monitor = 1; break;
	case 's': d->snaplen = cli_uint(spec, "snap", arg, 40, IPR_SNAPLEN_MAX); break;
	case OPT_NO_PROCESS: d->no_process = 1; break;
	default: cli_usage_error(spec, "unexpected option");
	}
}

/* ---- what a packet shows ---- */

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

/* The interface a packet is shown on: where it leaves for out, else where it came in. */
static uint32_t shown_ifindex(const struct ipr_packet *pkt)
{
	return pkt->layer == IPR_LAYER_OUT ? pkt->ifindex_out : pkt->ifindex_in;
}

static int has_ports(const struct ipr_parsed *p)
{
	return p->l4 && (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP);
}

static int is_icmp(const struct ipr_parsed *p)
{
	return p->proto == IPPROTO_ICMP || p->proto == IPPROTO_ICMPV6;
}

/* "tcp", "udp", "icmp", "icmp6", or NULL for another protocol. */
static const char *protocol_name(const struct ipr_parsed *p)
{
	switch (p->proto) {
	case IPPROTO_TCP: return "tcp";
	case IPPROTO_UDP: return "udp";
	case IPPROTO_ICMP: return "icmp";
	case IPPROTO_ICMPV6: return "icmp6";
	default: return NULL;
	}
}

/* The packet flags a person wants to see, by their names. */
static const struct {
	uint32_t flag;
	const char *name;
} shown_flags[] = {
	{ IPR_PKT_GSO, "GSO" },
	{ IPR_PKT_TRUNCATED, "truncated" },
	{ IPR_PKT_INJECTED, "injected" },
};

#define SHOWN_FLAGS (int)(sizeof(shown_flags) / sizeof(shown_flags[0]))

/* The names of pkt's shown flags into names[SHOWN_FLAGS]; returns how many. */
static int flag_names(const struct ipr_packet *pkt, const char **names)
{
	int n = 0;

	for (int i = 0; i < SHOWN_FLAGS; i++)
		if (pkt->flags & shown_flags[i].flag)
			names[n++] = shown_flags[i].name;
	return n;
}

/* The packet's addresses; 0, or -1 when it cannot be parsed. */
static int packet_addrs(const struct ipr_packet *pkt, struct ipr_parsed *p,
			char *src, char *dst)
{
	struct ipr_addr s, d;

	if (ipr_parse(pkt->data, pkt->caplen, p) < 0 || ipr_packet_addrs(p, &s, &d) < 0 ||
	    ipr_addr_format(&s, src, IPR_ADDR_STRLEN) < 0 ||
	    ipr_addr_format(&d, dst, IPR_ADDR_STRLEN) < 0)
		return -1;
	return 0;
}

/* The comment a capture file gives the packet: its process and its socket's owner,
 * as far as known. */
static const char *packet_comment(const struct ipr_packet *pkt, const struct ipr_process *proc,
				  char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = 0;
	if (proc)
		n += (size_t)snprintf(buf, size, "process %s pid %u", proc->comm, proc->pid);
	if (pkt->flags & IPR_PKT_HAS_UID && n < size)
		n += (size_t)snprintf(buf + n, size - n, "%suid %u", n ? "; " : "", pkt->uid);
	if (pkt->flags & IPR_PKT_HAS_GID && n < size)
		snprintf(buf + n, size - n, " gid %u", pkt->gid);
	return buf[0] ? buf : NULL;
}

/* ---- text lines ---- */

/* "eth0", or "eth0>eth1" for a forwarded packet. */
static void format_interfaces(const struct ipr_packet *pkt, char *buf, size_t size)
{
	char in[IF_NAMESIZE], out[IF_NAMESIZE];

	ifname_of(shown_ifindex(pkt), in);
	ifname_of(pkt->ifindex_out, out);
	if (pkt->layer == IPR_LAYER_FORWARD)
		snprintf(buf, size, "%s>%s", in, out);
	else
		snprintf(buf, size, "%s", in);
}

static void format_time(const struct ipr_packet *pkt, char *buf, size_t size)
{
	time_t sec = (time_t)pkt->ts_sec;
	struct tm tm;

	localtime_r(&sec, &tm);
	snprintf(buf, size, "%02d:%02d:%02d.%06u", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 pkt->ts_nsec / 1000);
}

/* "10.0.0.1.80" (with a port) or "10.0.0.1". */
static void format_endpoint(const char *addr, int port, char *buf, size_t size)
{
	if (port >= 0)
		snprintf(buf, size, "%s.%d", addr, port);
	else
		snprintf(buf, size, "%s", addr);
}

static void format_protocol(const struct ipr_parsed *p, char *buf, size_t size)
{
	const char *name = protocol_name(p);

	if (!name)
		snprintf(buf, size, "proto %u", p->proto);
	else if (is_icmp(p) && p->l4)
		snprintf(buf, size, "%s type %u code %u", name, p->sport >> 8, p->sport & 0xff);
	else
		snprintf(buf, size, "%s", name);
}

/* "src > dst proto" of one packet, or why it cannot be parsed. */
static void format_addresses(const struct ipr_packet *pkt, char *buf, size_t size)
{
	char src[IPR_ADDR_STRLEN], dst[IPR_ADDR_STRLEN];
	char from[IPR_ADDR_STRLEN + 8], to[IPR_ADDR_STRLEN + 8], proto[40];
	struct ipr_parsed p;

	if (packet_addrs(pkt, &p, src, dst) < 0) {
		snprintf(buf, size, "malformed IPv%d packet", pkt->flags & IPR_PKT_IPV6 ? 6 : 4);
		return;
	}
	format_endpoint(src, has_ports(&p) ? p.sport : -1, from, sizeof(from));
	format_endpoint(dst, has_ports(&p) ? p.dport : -1, to, sizeof(to));
	format_protocol(&p, proto, sizeof(proto));
	snprintf(buf, size, "%s > %s %s", from, to, proto);
}

static void print_packet(const struct ipr_packet *pkt, const struct ipr_process *proc)
{
	char when[32], ifs[2 * IF_NAMESIZE + 2], what[2 * IPR_ADDR_STRLEN + 80];
	const char *flags[SHOWN_FLAGS];
	int nflags = flag_names(pkt, flags);

	format_time(pkt, when, sizeof(when));
	format_interfaces(pkt, ifs, sizeof(ifs));
	format_addresses(pkt, what, sizeof(what));
	printf("%s %-3s %s %s len %u", when, direction_name(pkt), ifs, what, pkt->len);
	if (proc)
		printf(" %s[%u]", proc->comm, proc->pid);
	for (int i = 0; i < nflags; i++)
		printf(" [%s]", flags[i]);
	printf("\n");
}

/* ---- JSON lines ---- */

static void json_interface(struct json_obj *o, const char *prefix, uint32_t index)
{
	char key[32], name[IF_NAMESIZE];

	ifname_of(index, name);
	snprintf(key, sizeof(key), "%sinterface", prefix);
	json_str(o, key, name);
	snprintf(key, sizeof(key), "%sifindex", prefix);
	json_uint(o, key, index);
}

/* Version, addresses, protocol, ports or ICMP type and code. */
static void json_headers(struct json_obj *o, const struct ipr_packet *pkt)
{
	char src[IPR_ADDR_STRLEN], dst[IPR_ADDR_STRLEN];
	struct ipr_parsed p;

	json_uint(o, "ip", pkt->flags & IPR_PKT_IPV6 ? 6 : 4);
	if (packet_addrs(pkt, &p, src, dst) < 0) {
		json_bool(o, "malformed", 1);
		return;
	}
	json_str(o, "src", src);
	json_str(o, "dst", dst);
	json_str(o, "protocol", protocol_name(&p));
	json_uint(o, "proto", p.proto);
	if (has_ports(&p)) {
		json_uint(o, "sport", p.sport);
		json_uint(o, "dport", p.dport);
	} else if (is_icmp(&p) && p.l4) {
		json_uint(o, "icmp_type", p.sport >> 8);
		json_uint(o, "icmp_code", p.sport & 0xff);
	}
}

static void print_packet_json(const struct ipr_packet *pkt, const struct ipr_process *proc)
{
	const char *flags[SHOWN_FLAGS];
	int nflags = flag_names(pkt, flags);
	struct json_obj o;

	json_begin(&o, stdout);
	json_real(&o, "time", (double)pkt->ts_sec + pkt->ts_nsec / 1e9, 6);
	json_str(&o, "layer", direction_name(pkt));
	json_interface(&o, "", shown_ifindex(pkt));
	if (pkt->layer == IPR_LAYER_FORWARD)
		json_interface(&o, "out_", pkt->ifindex_out);
	json_headers(&o, pkt);
	json_uint(&o, "len", pkt->len);
	json_uint(&o, "caplen", pkt->caplen);
	json_strings(&o, "flags", flags, nflags);
	if (pkt->flags & IPR_PKT_HAS_UID)
		json_uint(&o, "uid", pkt->uid);
	if (pkt->flags & IPR_PKT_HAS_GID)
		json_uint(&o, "gid", pkt->gid);
	if (proc) {
		json_uint(&o, "pid", proc->pid);
		json_str(&o, "comm", proc->comm);
	}
	json_end(&o);
}

/* ---- the loop ---- */

struct dump_loop {
	struct ipr_handle *h;
	struct capture *out;
	void *buf;
	size_t buflen;
	struct ipr_packet pkts[DUMP_BATCH];
	unsigned long long written; /* packets printed or written */
};

static int count_reached(const struct dump_loop *l)
{
	return dump_config.count && l->written >= dump_config.count;
}

/* The process of packet i when known: into *proc, or NULL. */
static const struct ipr_process *process_of(struct dump_loop *l, int i, struct ipr_process *proc)
{
	const struct ipr_packet *pkt = &l->pkts[i];

	if (!(pkt->flags & IPR_PKT_HAS_PROCESS) || ipr_packet_process(l->h, pkt, proc, sizeof(*proc)))
		return NULL;
	return proc;
}

static int write_batch(struct dump_loop *l, int n)
{
	char text[DUMP_BATCH][COMMENT_LEN];
	const char *comments[DUMP_BATCH];
	struct ipr_process proc;

	for (int i = 0; i < n; i++)
		comments[i] = packet_comment(&l->pkts[i], process_of(l, i, &proc), text[i],
					     sizeof(text[i]));
	return capture_write(l->out, l->pkts, n, comments);
}

static void print_batch(struct dump_loop *l, int n)
{
	struct ipr_process proc;

	for (int i = 0; i < n; i++) {
		if (dump_config.json)
			print_packet_json(&l->pkts[i], process_of(l, i, &proc));
		else
			print_packet(&l->pkts[i], process_of(l, i, &proc));
	}
	fflush(stdout);
}

/* Print or write the packets of a batch up to --count; 0 or -errno of a failed write. */
static int handle_batch(struct dump_loop *l, int n)
{
	int err = 0;

	if (dump_config.count && (unsigned long long)n > dump_config.count - l->written)
		n = (int)(dump_config.count - l->written);
	if (l->out)
		err = write_batch(l, n);
	else
		print_batch(l, n);
	if (!err)
		l->written += (unsigned long long)n;
	return err;
}

/* A monitor's copies the kernel made before the stop are written too: they are in
 * the ring, waiting for the wake-up of a batch. */
static void drain_monitor(struct dump_loop *l)
{
	int n;

	while (dump_config.monitor && !count_reached(l) &&
	       (n = ipr_recv_batch(l->h, l->buf, l->buflen, l->pkts, DUMP_BATCH,
				   IPR_RECV_BORROW | IPR_RECV_NONBLOCK)) > 0)
		if (handle_batch(l, n) < 0)
			return;
}

static int run_loop(struct dump_loop *l)
{
	while (!cli_stop && !count_reached(l)) {
		/* Each batch is printed or written before the next receive: a monitor may lend it. */
		int n = ipr_recv_batch(l->h, l->buf, l->buflen, l->pkts, DUMP_BATCH, IPR_RECV_BORROW),
		    err;

		if (n == -EINTR || n == -EAGAIN)
			continue;
		if (n < 0) {
			fprintf(stderr, "ipredir dump: %s\n", ipr_last_error());
			return 1;
		}
		err = handle_batch(l, n);
		if (err == -EPIPE) /* the reader of -w - is gone: the end */
			cli_stop = 1;
		else if (err < 0) {
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
	drain_monitor(l);
	return 0;
}

/* The capture file of -w, if any, before the redirector takes a packet. */
static int setup_output(struct dump_loop *l, const struct cli_common *c)
{
	const char *file = dump_config.file;
	struct capture_about about = {
		.filter = c->opts.filter,
		.snaplen = dump_config.snaplen ? dump_config.snaplen : IPR_SNAPLEN_MAX,
	};
	int format = dump_config.format;

	if (!file)
		return 0;
	if (format < 0)
		format = capture_format_of(file);
	signal(SIGPIPE, SIG_IGN); /* a reader gone is EPIPE, and the summary still comes */
	l->out = capture_open(file, (enum capture_format)format, &about);
	if (!l->out) {
		fprintf(stderr, "ipredir dump: cannot write %s: %s\n", file, strerror(errno));
		return -1;
	}
	return 0;
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

static void print_summary(const struct dump_loop *l, const struct ipr_stats *s, double seconds,
			  int json)
{
	struct json_obj o;

	if (!json) {
		fprintf(stderr, "dump: %llu packets %s%s in %.1f s (%llu received", l->written,
			dump_config.file ? "written to " : "printed",
			dump_config.file ? dump_config.file : "", seconds,
			(unsigned long long)s->received);
		/* A monitor's fail-open count is the copies the kernel could not deliver. */
		if (dump_config.monitor)
			fprintf(stderr, ", %llu copies lost", (unsigned long long)s->failopen);
		fputs(")\n", stderr);
		return;
	}
	json_begin(&o, stderr);
	json_str(&o, "tool", "dump");
	json_uint(&o, dump_config.file ? "written" : "printed", l->written);
	if (dump_config.file)
		json_str(&o, "file", dump_config.file);
	json_real(&o, "seconds", seconds, 3);
	json_stats(&o, s);
	json_end(&o);
}

int cmd_dump(int argc, char **argv)
{
	struct dump_loop *l = calloc(1, sizeof(*l));
	struct ipr_stats stats = { 0 };
	struct cli_common c;
	double start;
	int status = 1, err;

	if (cli_parse(&dump_spec, argc, argv, &c) != argc)
		cli_usage_error(&dump_spec, "unexpected argument \"%s\"", argv[optind]);
	if (!l) {
		fprintf(stderr, "ipredir dump: out of memory\n");
		return 1;
	}
	c.opts.snaplen = dump_config.snaplen;
	dump_config.json = c.json;
	if (dump_config.monitor)
		c.opts.flags |= IPR_OPEN_MONITOR;
	if (!dump_config.no_process)
		c.opts.flags |= IPR_OPEN_PROCESS;
	if (!dump_config.file && c.progress == CLI_PROGRESS_AUTO)
		c.progress = CLI_PROGRESS_OFF; /* the packet lines own the terminal */
	cli_signals(0);
	if (setup_output(l, &c) < 0)
		goto out;
	l->h = cli_open(&dump_spec, &c);
	cli_ready(&dump_spec, &c, l->h, 0);
	start = cli_now();
	if (setup_buffer(l) == 0)
		status = run_loop(l);
	cli_report_stop();
	ipr_get_stats(l->h, &stats, sizeof(stats));
	print_summary(l, &stats, cli_now() - start, c.json);
	status = cli_close(&dump_spec, l->h, status);
out:
	err = capture_close(l->out, &stats);
	if (err < 0 && err != -EPIPE) {
		fprintf(stderr, "ipredir dump: cannot write %s: %s\n", dump_config.file,
			strerror(-err));
		status = 1;
	}
	free(l->buf);
	free(l);
	return status;
}
