/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * flows.c - `ipredir flows`: one line per TCP or UDP flow of this network
 * namespace established or deleted (time, direction, protocol, local and
 * remote address and port, process, endpoint ids), or one JSON object each
 * (-j): WinDivert's flowtrack sample. Observe-only.
 */
#include "cli.h"

static struct events_config flows_config;

static const struct option flows_options[] = {
	EVENTS_LONGOPTS,
	{ 0 },
};

static void parse_option(int opt, const char *arg, void *ctx);

static const struct cli_spec flows_spec = {
	.name = "flows",
	.synopsis = "[--pid PID] [--comm NAME] [--exe PATH] [-c COUNT] [-j]",
	.help = EVENTS_HELP,
	.longopts = flows_options,
	.shortopts = EVENTS_SHORTOPTS,
	.parse = parse_option,
	.ctx = &flows_config,
};

static void parse_option(int opt, const char *arg, void *ctx)
{
	if (!events_option(&flows_spec, opt, arg, ctx))
		cli_usage_error(&flows_spec, "unexpected option");
}

int cmd_flows(int argc, char **argv)
{
	struct cli_common c;

	if (cli_parse(&flows_spec, argc, argv, &c) != argc)
		cli_usage_error(&flows_spec, "unexpected argument \"%s\"", argv[optind]);
	flows_config.verbose = c.verbose;
	events_check_config(&flows_spec, &flows_config);
	return events_run(&flows_spec, IPR_EVENTS_FLOW, &flows_config, NULL, 0);
}
