/* SPDX-License-Identifier: GPL-2.0-or-later */
/* main.c - ipredir: dispatch to one subcommand. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct cli_command commands[] = {
	{ "passthru", cmd_passthru, "receive matching packets and re-send them unchanged" },
	{ "run", cmd_run, "run a command and pass only its packets through passthru" },
	{ "dump", cmd_dump, "print matching packets or write them to a pcap file" },
	{ "block", cmd_block, "drop (or reject) matching packets: a firewall" },
	{ "rewrite", cmd_rewrite, "rewrite TTL, DSCP, addresses and ports with correct checksums" },
	{ "echo", cmd_echo, "answer pings for addresses no interface owns (a virtual host)" },
	{ "wanem", cmd_wanem, "emulate a WAN link: delay, jitter, loss, rate, reordering" },
	{ "flows", cmd_flows, "print each TCP and UDP flow established and deleted, and its process" },
	{ "sockets", cmd_sockets, "print binds, connects, listens, accepts, closes; refuse some (EPERM)" },
	{ "filter", cmd_filter, "explain a filter: what the kernel runs, what user space runs" },
	{ "status", cmd_status, "show the ipredir redirectors of this network namespace" },
	{ "list", cmd_list, "list interfaces with index, state, MTU and addresses" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: ipredir COMMAND [options]\n"
		   "       ipredir COMMAND --help | --help | --version\n\n"
		   "Redirect IP packets through a user-space program.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("ipredir %s\n", ipr_version());
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "ipredir: unknown command \"%s\"; try 'ipredir --help'\n", argv[1]);
	return 2;
}
