/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * rules_probe - install one rule set of libipredir's rules.c, hold it, count, remove.
 *
 * Usage: rules_probe [--table NAME] [--layers in,out,forward] [--priority N]
 *                    [--queue N] [--bpf "pcap expr"] [--iface IF] [--in-iface IF]
 *                    [--out-iface IF] [--kind auto|native|compat] [--comment TEXT]
 *                    [--queues N] [--bypass MARK[/MASK]] [--inject MARK[/MASK]]
 *                    [--skip-prefix P] [--cgroup-id ID] [--cgroup-level L]
 *                    [--monitor GROUP] [--bind] [--verbose]
 *
 * Prints "installed kind=native" or "installed kind=compat" (or "error: <reason>"
 * and exits 1), then "matched=N" (the queue rules' counters) for every line read
 * from stdin, waits until stdin closes or SIGTERM/SIGINT arrives, prints
 * "matched=N" once more, removes the table and exits 0. --bind also binds the
 * queues (without reading them: the kernel holds what they get, and
 * /proc/net/netfilter/nfnetlink_queue counts it per queue) and prints "bound".
 * Usage errors exit 2. Needs CAP_NET_ADMIN; run it inside a test namespace.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <pcap/pcap.h>

#include "internal.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = sig;
}

static void log_stderr(enum ipr_log_level level, const char *msg, void *arg)
{
	(void)level;
	(void)arg;
	fprintf(stderr, "rules_probe: %s\n", msg);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: rules_probe [--table NAME] [--layers in,out,forward] [--priority N]\n"
		"                   [--queue N] [--bpf EXPR] [--iface IF] [--in-iface IF]\n"
		"                   [--out-iface IF] [--kind auto|native|compat]\n"
		"                   [--comment TEXT] [--queues N] [--bypass MARK[/MASK]]\n"
		"                   [--inject MARK[/MASK]] [--skip-prefix P] [--cgroup-id ID]\n"
		"                   [--cgroup-level L] [--monitor GROUP] [--bind] [--verbose]\n");
	exit(2);
}

static unsigned int parse_layers(const char *text)
{
	char *copy = strdup(text), *save = NULL, *tok;
	unsigned int layers = 0;

	if (!copy)
		usage();
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "in") == 0)
			layers |= IPR_LAYER_IN;
		else if (strcmp(tok, "out") == 0)
			layers |= IPR_LAYER_OUT;
		else if (strcmp(tok, "forward") == 0)
			layers |= IPR_LAYER_FORWARD;
		else
			usage();
	}
	free(copy);
	return layers;
}

static enum ipr_queue_kind parse_kind(const char *text)
{
	if (strcmp(text, "auto") == 0)
		return IPR_QUEUE_AUTO;
	if (strcmp(text, "native") == 0)
		return IPR_QUEUE_NATIVE;
	if (strcmp(text, "compat") == 0)
		return IPR_QUEUE_COMPAT;
	usage();
	return IPR_QUEUE_AUTO;
}

static long parse_long(const char *text)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(text, &end, 0);
	if (errno || end == text || *end)
		usage();
	return v;
}

static uint64_t parse_u64(const char *text)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(text, &end, 0);
	if (errno || end == text || *end || text[0] == '-')
		usage();
	return v;
}

/* "MARK/MASK" or "MARK" (mask = mark), each a 32-bit number. */
static void parse_mark(const char *text, uint32_t *mark, uint32_t *mask)
{
	char *copy = strdup(text), *slash;
	uint64_t v, m;

	if (!copy)
		usage();
	slash = strchr(copy, '/');
	if (slash)
		*slash++ = 0;
	v = parse_u64(copy);
	m = slash ? parse_u64(slash) : v;
	if (v > UINT32_MAX || m > UINT32_MAX)
		usage();
	*mark = (uint32_t)v;
	*mask = (uint32_t)m;
	free(copy);
}

/* Compile expr for raw IP packets into *prog (malloc'ed); returns 0 or -1. */
static int compile_bpf(const char *expr, struct sock_filter **prog, unsigned int *len)
{
	pcap_t *p = pcap_open_dead(DLT_RAW, 65535);
	struct bpf_program bp;
	int ret = -1;

	if (!p) {
		printf("error: pcap_open_dead failed\n");
		return -1;
	}
	if (pcap_compile(p, &bp, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
		printf("error: bad filter '%s': %s\n", expr, pcap_geterr(p));
		goto out;
	}
	*prog = calloc(bp.bf_len, sizeof(**prog));
	if (*prog) {
		memcpy(*prog, bp.bf_insns, bp.bf_len * sizeof(**prog));
		*len = bp.bf_len;
		ret = 0;
	}
	pcap_freecode(&bp);
out:
	pcap_close(p);
	return ret;
}

/* Print the queue rules' counters; 0 or -1 after printing the error. */
static int print_matched(struct ipr_rules *r)
{
	uint64_t matched;

	if (ipr_rules_matched(r, &matched) < 0) {
		printf("error: %s\n", ipr_last_error());
		return -1;
	}
	printf("matched=%" PRIu64 "\n", matched);
	return 0;
}

/*
 * Block until stdin reaches EOF or SIGTERM/SIGINT arrives; print the counters
 * for each line read. Returns 0 or -1 after a counter error.
 */
static int wait_for_end(struct ipr_rules *r)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, orig;
	char buf[256];
	ssize_t i, n;
	int ret = 0;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &orig);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!stop) {
		if (ppoll(&pfd, 1, NULL, &orig) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (i = 0; i < n && !ret; i++)
			if (buf[i] == '\n')
				ret = print_matched(r);
	}
	sigprocmask(SIG_SETMASK, &orig, NULL);
	return ret;
}

static void close_queues(int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		close(fds[i]); /* the kernel unbinds the queue */
	free(fds);
}

/* Bind queue num on a socket of its own, copying 128 bytes per packet; the fd or -1. */
static int bind_queue(unsigned int num)
{
	char buf[IPR_REQUEST_SIZE] = { 0 };
	struct nfqnl_msg_config_params params = { htonl(128), NFQNL_COPY_PACKET };
	struct nlmsghdr *nlh;
	int fd = ipr_nfnl_socket(1 << 20, 0);

	if (fd < 0)
		return -1;
	if (ipr_nfnl_talk(fd, ipr_nfnl_put_command(buf, NFNL_SUBSYS_QUEUE, (uint16_t)num, 1,
						   NFQNL_CFG_CMD_BIND)) < 0) {
		close(fd);
		return -1;
	}
	memset(buf, 0, sizeof(buf));
	nlh = ipr_nfnl_put_config(buf, NFNL_SUBSYS_QUEUE, (uint16_t)num, 2);
	mnl_attr_put(nlh, NFQA_CFG_PARAMS, sizeof(params), &params);
	if (ipr_nfnl_talk(fd, nlh) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Bind the spec's queues so the kernel holds their packets; NULL after an error. */
static int *bind_queues(const struct ipr_rules_spec *spec, unsigned int *n)
{
	int *fds;

	*n = spec->action.count > 1 ? spec->action.count : 1;
	fds = calloc(*n, sizeof(*fds));
	if (!fds) {
		printf("error: out of memory\n");
		return NULL;
	}
	for (unsigned int i = 0; i < *n; i++) {
		fds[i] = bind_queue(spec->action.first + i);
		if (fds[i] < 0) {
			printf("error: cannot bind queue %u\n", spec->action.first + i);
			close_queues(fds, i);
			return NULL;
		}
	}
	printf("bound\n");
	return fds;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "table", required_argument, NULL, 't' },
		{ "layers", required_argument, NULL, 'l' },
		{ "priority", required_argument, NULL, 'p' },
		{ "queue", required_argument, NULL, 'q' },
		{ "bpf", required_argument, NULL, 'b' },
		{ "iface", required_argument, NULL, 'i' },
		{ "in-iface", required_argument, NULL, 'I' },
		{ "out-iface", required_argument, NULL, 'O' },
		{ "kind", required_argument, NULL, 'k' },
		{ "comment", required_argument, NULL, 'c' },
		{ "queues", required_argument, NULL, 'Q' },
		{ "bypass", required_argument, NULL, 'B' },
		{ "inject", required_argument, NULL, 'J' },
		{ "skip-prefix", required_argument, NULL, 'P' },
		{ "cgroup-id", required_argument, NULL, 'G' },
		{ "cgroup-level", required_argument, NULL, 'L' },
		{ "monitor", required_argument, NULL, 'M' },
		{ "bind", no_argument, NULL, 'N' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct ipr_rules_spec spec = {
		.table = "ipr_probe",
		.layers = IPR_LAYER_IN | IPR_LAYER_OUT,
	};
	struct sock_filter *prog = NULL;
	const char *bpf = NULL;
	struct ipr_rules *r = NULL;
	int *qs = NULL;
	unsigned int nqs = 0;
	int opt, bind = 0, ret = 1;

	while ((opt = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (opt) {
		case 't': spec.table = optarg; break;
		case 'l': spec.layers = parse_layers(optarg); break;
		case 'p': spec.priority = (int)parse_long(optarg); break;
		case 'q': spec.action.first = (unsigned int)parse_long(optarg); break;
		case 'b': bpf = optarg; break;
		case 'i': spec.interface = optarg; break;
		case 'I': spec.in_interface = optarg; break;
		case 'O': spec.out_interface = optarg; break;
		case 'k': spec.action.queue_kind = parse_kind(optarg); break;
		case 'c': spec.comment = optarg; break;
		case 'Q': spec.action.count = (unsigned int)parse_long(optarg); break;
		case 'B': parse_mark(optarg, &spec.bypass_mark, &spec.bypass_mask); break;
		case 'J': parse_mark(optarg, &spec.inject_mark, &spec.inject_mask); break;
		case 'P': spec.skip_iifname_prefix = optarg; break;
		case 'G': spec.cgroup_id = parse_u64(optarg); break;
		case 'L': spec.cgroup_level = (unsigned int)parse_long(optarg); break;
		case 'M':
			spec.action.kind = IPR_ACTION_LOG;
			spec.action.first = (uint16_t)parse_long(optarg);
			break;
		case 'N': bind = 1; break;
		case 'v': ipr_set_log(log_stderr, NULL, IPR_LOG_DEBUG); break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (bpf && compile_bpf(bpf, &prog, &spec.bpf_len) < 0)
		goto out;
	spec.bpf = prog;
	if (ipr_rules_install(&spec, &r) < 0) {
		printf("error: %s\n", ipr_last_error());
		goto out;
	}
	printf("installed kind=%s\n",
	       ipr_rules_queue_kind(r) == IPR_QUEUE_NATIVE ? "native" : "compat");
	if (bind && !(qs = bind_queues(&spec, &nqs)))
		goto out;
	if (wait_for_end(r) < 0 || print_matched(r) < 0)
		goto out;
	ret = 0;
out:
	ipr_rules_remove(r);
	if (qs)
		close_queues(qs, nqs);
	free(prog);
	return ret;
}
