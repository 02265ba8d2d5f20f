/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * iprtap.c - a test tool: open one redirector, print a line per packet, answer
 * each with a fixed action. The network-namespace tests read its output.
 *
 *   iprtap [-f EXPR] [-l in,out,forward] [-p PRIO] [-i IFNAME] [--user-filter]
 *          [--kind auto|native|compat] [--deadline MS] [-c COUNT] [--monitor]
 *          [-a accept|drop|ttl=N|xor-last|hold|mark=N|bypass]
 *
 * Prints "ready table=T queue=Q queue_kind=K filter_kind=F" once installed, then
 * "pkt layer=L v=V proto=P ttl=T len=N src=A dst=B [sport=S dport=D] [uid=U]" per packet
 * and "stats received=..." at exit. Exit 2: bad arguments, 1: runtime failure.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipredir.h"

enum action { ACT_ACCEPT, ACT_DROP, ACT_TTL, ACT_XOR_LAST, ACT_HOLD, ACT_MARK, ACT_BYPASS };

struct tap {
	struct ipr_options opts;
	enum action action;
	unsigned int ttl;
	uint32_t mark;
	unsigned long count;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static void die_usage(const char *what, const char *arg)
{
	fprintf(stderr, "iprtap: bad %s \"%s\"\n", what, arg);
	exit(2);
}

static unsigned int parse_layers(char *list)
{
	unsigned int layers = 0;

	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		if (!strcmp(tok, "in"))
			layers |= IPR_LAYER_IN;
		else if (!strcmp(tok, "out"))
			layers |= IPR_LAYER_OUT;
		else if (!strcmp(tok, "forward"))
			layers |= IPR_LAYER_FORWARD;
		else
			die_usage("layer", tok);
	}
	return layers;
}

static void parse_action(struct tap *t, const char *arg)
{
	if (!strcmp(arg, "accept"))
		t->action = ACT_ACCEPT;
	else if (!strcmp(arg, "drop"))
		t->action = ACT_DROP;
	else if (!strcmp(arg, "xor-last"))
		t->action = ACT_XOR_LAST;
	else if (!strcmp(arg, "hold"))
		t->action = ACT_HOLD;
	else if (!strcmp(arg, "bypass"))
		t->action = ACT_BYPASS, t->opts.flags |= IPR_OPEN_BYPASS;
	else if (sscanf(arg, "mark=%i", (int *)&t->mark) == 1)
		t->action = ACT_MARK;
	else if (sscanf(arg, "ttl=%u", &t->ttl) == 1 && t->ttl <= 255)
		t->action = ACT_TTL;
	else
		die_usage("action", arg);
}

static void parse_kind(struct tap *t, const char *arg)
{
	if (!strcmp(arg, "native"))
		t->opts.flags |= IPR_OPEN_QUEUE_NATIVE;
	else if (!strcmp(arg, "compat"))
		t->opts.flags |= IPR_OPEN_QUEUE_COMPAT;
	else if (strcmp(arg, "auto"))
		die_usage("kind", arg);
}

static void parse_args(int argc, char **argv, struct tap *t)
{
	static const struct option longopts[] = {
		{ "user-filter", no_argument, NULL, 'U' },
		{ "kind", required_argument, NULL, 'K' },
		{ "deadline", required_argument, NULL, 'D' },
		{ "monitor", no_argument, NULL, 'M' },
		{ 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "f:l:p:i:a:c:", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f': t->opts.filter = optarg; break;
		case 'l': t->opts.layers = parse_layers(optarg); break;
		case 'p': t->opts.priority = atoi(optarg); break;
		case 'i': t->opts.interface = optarg; break;
		case 'a': parse_action(t, optarg); break;
		case 'c': t->count = strtoul(optarg, NULL, 0); break;
		case 'U': t->opts.flags |= IPR_OPEN_USER_FILTER; break;
		case 'K': parse_kind(t, optarg); break;
		case 'D': t->opts.deadline_ms = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'M': t->opts.flags |= IPR_OPEN_MONITOR; break;
		default: exit(2);
		}
	}
}

static const char *layer_name(uint8_t layer)
{
	return layer == IPR_LAYER_IN ? "in" : layer == IPR_LAYER_OUT ? "out" : "forward";
}

static void print_packet(const struct ipr_packet *pkt)
{
	char src[IPR_ADDR_STRLEN] = "?", dst[IPR_ADDR_STRLEN] = "?";
	struct ipr_addr a, b;
	struct ipr_parsed p;

	if (ipr_parse(pkt->data, pkt->caplen, &p) < 0) {
		printf("pkt layer=%s malformed len=%u\n", layer_name(pkt->layer), pkt->len);
		return;
	}
	if (ipr_packet_addrs(&p, &a, &b) == 0) {
		ipr_addr_format(&a, src, sizeof(src));
		ipr_addr_format(&b, dst, sizeof(dst));
	}
	printf("pkt layer=%s v=%u proto=%u ttl=%u len=%u src=%s dst=%s", layer_name(pkt->layer),
	       p.version, p.proto, p.ttl, pkt->len, src, dst);
	if (p.l4)
		printf(" sport=%u dport=%u", p.sport, p.dport);
	if (pkt->flags & IPR_PKT_HAS_UID)
		printf(" uid=%u", pkt->uid);
	printf("\n");
}

static int modify(struct ipr_handle *h, struct ipr_packet *pkt, const struct tap *t)
{
	struct ipr_parsed p;

	if (ipr_parse(pkt->data, pkt->caplen, &p) < 0)
		return ipr_accept(h, pkt);
	if (t->action == ACT_TTL)
		ipr_set_ttl(pkt->data, pkt->caplen, (uint8_t)t->ttl);
	else if (p.payload_len && (p.proto == 6 || p.proto == 17))
		pkt->data[p.payload - p.l3 + p.payload_len - 1] ^= 0x20;
	if (ipr_checksum_fill(pkt->data, pkt->caplen) < 0 && t->action == ACT_XOR_LAST)
		return ipr_accept(h, pkt);
	return ipr_accept_modified(h, pkt, pkt->data, pkt->caplen);
}

static int answer(struct ipr_handle *h, struct ipr_packet *pkt, const struct tap *t)
{
	switch (t->action) {
	case ACT_DROP:
		return ipr_drop(h, pkt);
	case ACT_TTL:
	case ACT_XOR_LAST:
		return modify(h, pkt, t);
	case ACT_HOLD: /* never answer: the verdict deadline must */
		return 0;
	case ACT_MARK:
		ipr_set_mark(pkt, t->mark, 0xffffffffu);
		return ipr_accept(h, pkt);
	case ACT_BYPASS:
		return ipr_accept_bypass(h, pkt);
	default:
		return ipr_accept(h, pkt);
	}
}

static void print_ready(struct ipr_handle *h)
{
	struct ipr_info info;

	ipr_get_info(h, &info);
	printf("ready table=%s queue=%u queue_kind=%s filter_kind=%s\n", info.table, info.queue,
	       info.queue_kind, info.filter_kind);
}

static void print_stats(struct ipr_handle *h)
{
	struct ipr_stats s = { 0 };

	ipr_get_stats(h, &s, sizeof(s));
	printf("stats received=%llu accepted=%llu modified=%llu dropped=%llu filtered=%llu "
	       "failopen=%llu expired=%llu bypassed=%llu\n",
	       (unsigned long long)s.received, (unsigned long long)s.accepted,
	       (unsigned long long)s.modified, (unsigned long long)s.dropped,
	       (unsigned long long)s.filtered, (unsigned long long)s.failopen,
	       (unsigned long long)s.expired, (unsigned long long)s.bypassed);
}

static int run(struct ipr_handle *h, const struct tap *t)
{
	size_t buflen = ipr_slot_size(h);
	void *buf = malloc(buflen);
	unsigned long seen = 0;
	struct ipr_packet pkt;
	int status = 0;

	while (buf && !stop && (!t->count || seen < t->count)) {
		int n = ipr_recv(h, buf, buflen, &pkt, 0);
		if (n == -EINTR)
			continue;
		if (n < 0 || answer(h, &pkt, t) < 0) {
			fprintf(stderr, "iprtap: %s\n", ipr_last_error());
			status = 1;
			break;
		}
		print_packet(&pkt);
		seen++;
	}
	ipr_flush(h);
	free(buf);
	return buf ? status : 1;
}

int main(int argc, char **argv)
{
	struct tap t = { .opts = IPR_OPTIONS_INIT };
	struct sigaction sa = { .sa_handler = on_signal };
	struct ipr_handle *h;
	int err, status;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv, &t);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	err = ipr_open(&t.opts, &h);
	if (err) {
		fprintf(stderr, "iprtap: %s\n", ipr_last_error());
		return err == -EINVAL ? 2 : 1;
	}
	print_ready(h);
	status = run(h, &t);
	print_stats(h);
	ipr_close(h);
	return status;
}
