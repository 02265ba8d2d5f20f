/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * filter.c - `ipredir filter EXPR`: compile a filter as a redirector would and
 * say who runs what: the BPF the xt_bpf match of the rule runs in the kernel,
 * and what user space runs on the packets it queues. --dump prints the
 * programs; -r FILE runs the filter over the IP packets of a capture file and
 * prints those it takes. With --windivert EXPR is a WinDivert filter: its
 * kernel part (a pcap expression) is explained in turn. WinDivert filters are
 * compiled by libwindivert's own compiler (windivert/filter.h, linked in).
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "cli.h"
#include "../../windivert/filter.h"

#define EXPR_MAX 65536

enum { OPT_DUMP = 512, OPT_WINDIVERT };

struct filter_config {
	int dump;            /* --dump: print the programs */
	int windivert;       /* --windivert: EXPR is a WinDivert filter */
	const char *file;    /* -r: run the filter over this capture file */
};

static struct filter_config filter_config;

static const struct option filter_options[] = {
	{ "dump", no_argument, NULL, OPT_DUMP },
	{ "read", required_argument, NULL, 'r' },
	{ "windivert", no_argument, NULL, OPT_WINDIVERT },
	{ 0 },
};

static void parse_option(int opt, const char *arg, void *ctx);

static const struct cli_spec filter_spec = {
	.name = "filter",
	.synopsis = "[--dump] [-r FILE] [--windivert] EXPR...",
	.help = "      --dump             print the BPF programs (the whole filter, the kernel's)\n"
		"  -r, --read FILE        print the IP packets of a pcap or pcapng FILE it takes\n"
		"                         (number, time, length) instead of explaining\n"
		"      --windivert        EXPR is a WinDivert filter (network layer)\n",
	.longopts = filter_options,
	.shortopts = "r:",
	.parse = parse_option,
	.ctx = &filter_config,
};

static void parse_option(int opt, const char *arg, void *ctx)
{
	struct filter_config *f = ctx;

	switch (opt) {
	case OPT_DUMP: f->dump = 1; break;
	case 'r': f->file = arg; break;
	case OPT_WINDIVERT: f->windivert = 1; break;
	default: cli_usage_error(&filter_spec, "unexpected option");
	}
}

/* The operands joined by spaces, as tcpdump takes its expression. */
static char *join_words(int argc, char **argv)
{
	char *expr = calloc(1, EXPR_MAX);
	size_t len = 0;

	if (!expr)
		return NULL;
	for (int i = 0; i < argc; i++) {
		int n = snprintf(expr + len, EXPR_MAX - len, "%s%s", i ? " " : "", argv[i]);

		if (n < 0 || (size_t)n >= EXPR_MAX - len)
			cli_usage_error(&filter_spec, "the expression is too long");
		len += (size_t)n;
	}
	return expr;
}

/* ---- explaining a pcap filter ---- */

static void print_program(const char *title, const struct ipr_bpf_insn *insns, unsigned int n)
{
	printf("%s:\n", title);
	for (unsigned int i = 0; i < n; i++)
		printf("  %s\n", bpf_image((const struct bpf_insn *)&insns[i], (int)i));
}

static void explain_kernel(const struct ipr_filter_program *p)
{
	if (!p->kernel)
		printf("kernel      no BPF: every IP packet is queued%s\n",
		       p->insns ? " (the filter cannot be cut for xt_bpf)" : "");
	else if (p->kernel_len == p->len && !strcmp(p->kind, "kernel"))
		printf("kernel      the whole filter, in the xt_bpf match of the rule\n");
	else
		printf("kernel      the first part of the filter, cut to %u instructions: it queues "
		       "a superset\n            of the matching packets\n", p->kernel_len);
}

static void explain_program(const struct ipr_filter_program *p)
{
	if (p->insns)
		printf("BPF         %u instructions; xt_bpf takes %u: %s\n", p->len, p->kernel_max,
		       p->len <= p->kernel_max ? "it fits" : "too many");
	explain_kernel(p);
	if (!strcmp(p->kind, "user"))
		printf("user space  the whole filter on every queued packet; the packets it "
		       "rejects are\n            accepted at once (counted as filtered)\n");
	else
		printf("user space  nothing: the kernel runs the whole filter\n");
	if (filter_config.dump && p->insns)
		print_program("whole filter", p->insns, p->len);
	if (filter_config.dump && p->kernel && !strcmp(p->kind, "user"))
		print_program("kernel (xt_bpf)", p->kernel, p->kernel_len);
}

/* ---- running it over a capture file ---- */

#define NO_TYPE UINT32_MAX

/* The link types -r reads: header length, and where their EtherType is. */
static const struct {
	int dlt;
	uint32_t header;
	uint32_t type_at;
} link_types[] = {
	{ DLT_RAW, 0, NO_TYPE },        { DLT_IPV4, 0, NO_TYPE },  { DLT_IPV6, 0, NO_TYPE },
	{ DLT_NULL, 4, NO_TYPE },       { DLT_LOOP, 4, NO_TYPE },  { DLT_EN10MB, 14, 12 },
	{ DLT_LINUX_SLL, 16, 14 },      { DLT_LINUX_SLL2, 20, 0 },
};

/* Where the IP header starts in a frame of link type dlt; -1 if it holds no IP packet. */
static int ip_offset(int dlt, const uint8_t *frame, uint32_t caplen)
{
	uint16_t type;

	for (size_t i = 0; i < sizeof(link_types) / sizeof(link_types[0]); i++) {
		if (link_types[i].dlt != dlt || caplen < link_types[i].header)
			continue;
		if (link_types[i].type_at == NO_TYPE)
			return (int)link_types[i].header;
		memcpy(&type, frame + link_types[i].type_at, 2);
		return ntohs(type) == 0x0800 || ntohs(type) == 0x86dd ? (int)link_types[i].header
								     : -1;
	}
	return -1;
}

/* Print the IP packets of file that p takes: number, time and length; 0, or 1 on error. */
static int read_capture(const struct ipr_filter_program *p, const char *file)
{
	unsigned long long number = 0, matched = 0;
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *frame;
	pcap_t *pcap = pcap_open_offline(file, err);
	int dlt, off, ret;

	if (!pcap) {
		fprintf(stderr, "ipredir filter: %s\n", err);
		return 1;
	}
	dlt = pcap_datalink(pcap);
	while ((ret = pcap_next_ex(pcap, &h, &frame)) == 1) {
		number++;
		off = ip_offset(dlt, frame, h->caplen);
		if (off < 0 || !ipr_filter_program_match(p, frame + off, h->caplen - (uint32_t)off,
							  h->len - (uint32_t)off))
			continue;
		matched++;
		printf("%llu %lld.%06ld len %u\n", number, (long long)h->ts.tv_sec,
		       (long)h->ts.tv_usec, h->len - (uint32_t)off);
	}
	if (ret == -1)
		fprintf(stderr, "ipredir filter: %s: %s\n", file, pcap_geterr(pcap));
	else
		fprintf(stderr, "filter: %llu of %llu packets match\n", matched, number);
	pcap_close(pcap);
	return ret == -1;
}

/* ---- the two languages ---- */

static int explain_pcap(const char *expr, const char *label)
{
	struct ipr_filter_program *p;
	int err, status = 0;

	err = ipr_filter_program_new(expr, 0, &p);
	if (err < 0) {
		fprintf(stderr, "ipredir filter: %s\n", ipr_last_error());
		return 2;
	}
	if (filter_config.file) {
		status = read_capture(p, filter_config.file);
	} else {
		printf("%-11s %s\n", label, *expr ? expr : "(every IP packet)");
		explain_program(p);
	}
	ipr_filter_program_free(p);
	return status;
}

static void print_windivert_kernel(const struct wd_kernel *k)
{
	char ifidx[32] = "any interface";

	if (k->ifidx)
		snprintf(ifidx, sizeof(ifidx), "interface %u", k->ifidx);
	printf("directions  %s%s%s; %s\n", k->outbound ? "outbound" : "",
	       k->outbound && k->inbound ? " and " : "", k->inbound ? "inbound" : "",
	       !k->outbound && !k->inbound ? "none: it matches nothing" : ifidx);
}

static int explain_windivert(const char *expr)
{
	struct wd_filter *f = calloc(1, sizeof(*f));
	struct wd_kernel k = { 0 };
	char text[4096];
	unsigned int pos = 0;
	enum wd_filter_error e;
	int status = -1;

	if (!f)
		goto out;
	e = wd_filter_build(expr, WINDIVERT_LAYER_NETWORK, 0, f, &pos);
	if (e != WD_ERR_NONE) {
		fprintf(stderr, "ipredir filter: bad WinDivert filter \"%s\": %s at position %u\n",
			expr, wd_filter_error_str(e), pos);
		status = 2;
		goto out;
	}
	if (wd_filter_format(f, text, sizeof(text)) < 0 || wd_filter_kernel(f, &k) < 0)
		goto out;
	printf("windivert   %s\n", text);
	print_windivert_kernel(&k);
	status = explain_pcap(k.pcap ? k.pcap : "", "kernel pcap");
	printf("windivert   %s\n", k.exact ? "nothing more: the pcap part is the filter exactly" :
		"then the WinDivert filter itself on every packet the pcap part takes");
out:
	if (status < 0) {
		fprintf(stderr, "ipredir filter: out of memory\n");
		status = 1;
	}
	wd_kernel_free(&k);
	free(f);
	return status;
}

int cmd_filter(int argc, char **argv)
{
	struct cli_common c;
	int first = cli_parse(&filter_spec, argc, argv, &c), status;
	char *expr;

	if (filter_config.windivert && filter_config.file)
		cli_usage_error(&filter_spec, "-r takes a pcap expression, not --windivert");
	expr = join_words(argc - first, argv + first);
	if (!expr) {
		fprintf(stderr, "ipredir filter: out of memory\n");
		return 1;
	}
	if (filter_config.windivert)
		status = explain_windivert(expr);
	else
		status = explain_pcap(expr, "filter");
	free(expr);
	return status;
}
