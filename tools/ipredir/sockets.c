/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sockets.c - `ipredir sockets`: one line per bind, connect, listen, accept
 * and close of a TCP or UDP socket of this network namespace, or one JSON
 * object each (-j): WinDivert's socketdump sample. With --block-connect and
 * --block-bind it also refuses those calls (EPERM in the program that makes
 * them) while it runs: the rule (ipr_events_block) is a chain of items, any
 * of which refuses a call, limited to one process by --pid.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define BLOCK_ITEMS 16

enum { OPT_BLOCK_CONNECT = 512, OPT_BLOCK_BIND };

/* One --block-connect or --block-bind: the calls it refuses. */
struct block_item {
	uint32_t event;     /* IPR_EVENT_SOCKET_CONNECT or _BIND */
	int any_addr;       /* no address test */
	uint32_t lo[4], hi[4]; /* the remote addresses, as ipr_call_test values */
	uint16_t port;      /* 0 = any */
};

struct sockets_config {
	struct events_config events;
	struct block_item items[BLOCK_ITEMS];
	unsigned int nitems;
};

static struct sockets_config sockets_config;

static const struct option sockets_options[] = {
	EVENTS_LONGOPTS,
	{ "block-connect", required_argument, NULL, OPT_BLOCK_CONNECT },
	{ "block-bind", required_argument, NULL, OPT_BLOCK_BIND },
	{ 0 },
};

static void parse_option(int opt, const char *arg, void *ctx);

static const struct cli_spec sockets_spec = {
	.name = "sockets",
	.synopsis = "[--pid PID] [--comm NAME] [--exe PATH] [-c COUNT] [-j]\n"
		    "       [--block-connect ADDR[/PREFIX][:PORT]]... [--block-bind PORT]...",
	.help = EVENTS_HELP
	"      --block-connect ADDR[/PREFIX][:PORT]  refuse connects to ADDR (or its\n"
	"                         network, or * for any address; IPv6 in brackets when\n"
	"                         a port follows), to PORT only if given: EPERM\n"
	"      --block-bind PORT  refuse binds to local port PORT: EPERM\n"
	"                         (both repeatable; they refuse the calls of every\n"
	"                         process, or of --pid PID only, while this runs)\n",
	.longopts = sockets_options,
	.shortopts = EVENTS_SHORTOPTS,
	.parse = parse_option,
	.ctx = &sockets_config,
};

/* ---- parsing ADDR[/PREFIX][:PORT] ---- */

/* The 16 address bytes as ipr_call_test value words (value[3]: the first four bytes). */
static void words_of(const uint8_t *b, uint32_t *v)
{
	for (int i = 0; i < 4; i++) {
		uint32_t be;

		memcpy(&be, b + 4 * (3 - i), sizeof(be));
		v[i] = ntohl(be);
	}
}

/* addr (IPv4 as IPv4-mapped) and its first prefix bits as the range item->lo..hi. */
static void set_range(struct block_item *item, const struct ipr_addr *addr, unsigned int prefix)
{
	uint8_t b[16] = { 0 }, lo[16], hi[16];

	if (addr->family == AF_INET) {
		b[10] = b[11] = 0xff;
		memcpy(b + 12, addr->bytes, 4);
		prefix += 96;
	} else {
		memcpy(b, addr->bytes, 16);
	}
	for (unsigned int i = 0; i < 16; i++) {
		unsigned int bits = prefix > 8 * i ? prefix - 8 * i : 0;
		uint8_t mask = bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits));

		lo[i] = b[i] & mask;
		hi[i] = b[i] | (uint8_t)~mask;
	}
	words_of(lo, item->lo);
	words_of(hi, item->hi);
}

/* Split "ADDR[/PREFIX][:PORT]" (IPv6 with a port: "[ADDR]:PORT") into text and port. */
static const char *split_port(char *text, char **addr, char **port)
{
	char *colon;

	*port = NULL;
	*addr = text;
	if (text[0] == '[') {
		char *end = strchr(text, ']');

		if (!end || (end[1] && end[1] != ':'))
			return "a bracketed IPv6 address is followed by nothing or :PORT";
		*end = '\0';
		*addr = text + 1;
		*port = end[1] ? end + 2 : NULL;
		return NULL;
	}
	colon = strrchr(text, ':');
	if (colon && colon == strchr(text, ':')) { /* one colon: IPv4 or * with a port */
		*colon = '\0';
		*port = colon + 1;
	}
	return NULL;
}

/* The address part: "*", ADDR or ADDR/PREFIX. */
static const char *parse_addr(char *text, struct block_item *item)
{
	char *slash = strchr(text, '/'), *end;
	struct ipr_addr addr;
	unsigned long prefix;

	if (!strcmp(text, "*")) {
		item->any_addr = 1;
		return NULL;
	}
	if (slash)
		*slash = '\0';
	if (ipr_addr_parse(text, &addr))
		return "not an IPv4 or IPv6 address (or *)";
	prefix = addr.family == AF_INET ? 32 : 128;
	if (slash) {
		unsigned long max = prefix;

		errno = 0;
		prefix = strtoul(slash + 1, &end, 10);
		if (errno || end == slash + 1 || *end || prefix > max)
			return "a prefix length from 0 to 32 (IPv4) or 128 (IPv6) follows /";
	}
	set_range(item, &addr, (unsigned int)prefix);
	return NULL;
}

static void add_item(const struct block_item *item)
{
	struct sockets_config *s = &sockets_config;

	if (s->nitems == BLOCK_ITEMS)
		cli_usage_error(&sockets_spec, "at most %d --block-connect and --block-bind",
				BLOCK_ITEMS);
	s->items[s->nitems++] = *item;
}

static void parse_block_connect(const char *arg)
{
	struct block_item item = { .event = IPR_EVENT_SOCKET_CONNECT };
	char text[128], *addr, *port;
	const char *err;

	snprintf(text, sizeof(text), "%s", arg);
	err = split_port(text, &addr, &port);
	if (!err)
		err = parse_addr(addr, &item);
	if (err)
		cli_usage_error(&sockets_spec, "--block-connect %s: %s", arg, err);
	if (port)
		item.port = (uint16_t)cli_uint(&sockets_spec, "--block-connect port", port, 1, 65535);
	add_item(&item);
}

static void parse_option(int opt, const char *arg, void *ctx)
{
	struct sockets_config *s = ctx;

	if (events_option(&sockets_spec, opt, arg, &s->events))
		return;
	if (opt == OPT_BLOCK_CONNECT)
		parse_block_connect(arg);
	else if (opt == OPT_BLOCK_BIND)
		add_item(&(struct block_item){
			.event = IPR_EVENT_SOCKET_BIND, .any_addr = 1,
			.port = (uint16_t)cli_uint(&sockets_spec, "--block-bind", arg, 1, 65535) });
	else
		cli_usage_error(&sockets_spec, "unexpected option");
}

/* ---- the rule ---- */

struct rule {
	struct ipr_call_test tests[IPR_CALL_TESTS];
	unsigned int n;
};

/* Append "field cmp value": on to the next test if it holds, else to test no. */
static void add_test(struct rule *r, uint8_t field, uint8_t cmp, const uint32_t *value,
		     uint16_t no)
{
	struct ipr_call_test *t = &r->tests[r->n];

	*t = (struct ipr_call_test){ .field = field, .cmp = cmp, .no = no };
	t->yes = (uint16_t)(r->n + 1);
	memcpy(t->value, value, sizeof(t->value));
	r->n++;
}

static unsigned int item_tests(const struct block_item *item)
{
	return 1 + (item->any_addr ? 0 : 2) + (item->port ? 1 : 0);
}

/* The tests of one item: those failing go to test next; the last one holding matches. */
static void add_item_tests(struct rule *r, const struct block_item *item, uint16_t next)
{
	const uint8_t port_field = item->event == IPR_EVENT_SOCKET_CONNECT ? IPR_CALL_REMOTE_PORT
									   : IPR_CALL_LOCAL_PORT;

	add_test(r, IPR_CALL_EVENT, IPR_CMP_EQ, (uint32_t[4]){ item->event }, next);
	if (!item->any_addr) {
		add_test(r, IPR_CALL_REMOTE_ADDR, IPR_CMP_GE, item->lo, next);
		add_test(r, IPR_CALL_REMOTE_ADDR, IPR_CMP_LE, item->hi, next);
	}
	if (item->port)
		add_test(r, port_field, IPR_CMP_EQ, (uint32_t[4]){ item->port }, next);
	r->tests[r->n - 1].yes = IPR_CALL_MATCH;
}

/* Every item, any of which refuses a call; with pid, for that process only. */
static void build_rule(const struct sockets_config *s, struct rule *r)
{
	unsigned int need = s->events.pid ? 1 : 0;

	for (unsigned int i = 0; i < s->nitems; i++)
		need += item_tests(&s->items[i]);
	if (need > IPR_CALL_TESTS)
		cli_usage_error(&sockets_spec, "the blocks need %u tests, the kernel takes %d", need,
				IPR_CALL_TESTS);
	r->n = 0;
	if (s->nitems && s->events.pid)
		add_test(r, IPR_CALL_PID, IPR_CMP_EQ, (uint32_t[4]){ s->events.pid },
			 IPR_CALL_NO_MATCH);
	for (unsigned int i = 0; i < s->nitems; i++) {
		unsigned int next = r->n + item_tests(&s->items[i]);

		add_item_tests(r, &s->items[i],
			       (uint16_t)(i + 1 < s->nitems ? next : IPR_CALL_NO_MATCH));
	}
}

int cmd_sockets(int argc, char **argv)
{
	struct sockets_config *s = &sockets_config;
	struct cli_common c;
	struct rule rule;

	if (cli_parse(&sockets_spec, argc, argv, &c) != argc)
		cli_usage_error(&sockets_spec, "unexpected argument \"%s\"", argv[optind]);
	if (s->nitems && (s->events.comm || s->events.exe))
		cli_usage_error(&sockets_spec, "--block-connect and --block-bind refuse the calls "
				"of every process or of --pid PID: the kernel rule cannot test "
				"--comm or --exe");
	s->events.verbose = c.verbose;
	events_check_config(&sockets_spec, &s->events);
	build_rule(s, &rule);
	return events_run(&sockets_spec, IPR_EVENTS_SOCKET, &s->events, rule.tests, rule.n);
}
