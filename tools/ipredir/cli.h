/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cli.h - what the ipredir subcommands share. */
#ifndef IPREDIR_CLI_H
#define IPREDIR_CLI_H

#include <getopt.h>
#include <signal.h>
#include <stdio.h>

#include "ipredir.h"

/* One subcommand of the dispatch table. */
struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
};

/* Options every redirecting subcommand takes, already checked. */
struct cli_common {
	struct ipr_options opts;
	int verbose;
};

/* How one subcommand extends the common options. */
struct cli_spec {
	const char *name;              /* subcommand name, for messages */
	const char *synopsis;          /* "[options]" part of the usage line */
	const char *help;              /* its own options, one per line, already indented */
	const struct option *longopts; /* its own long options, { 0 } terminated, or NULL */
	const char *shortopts;         /* its own short options, or "" */
	int redirect;                  /* 1: takes the common redirect options */
	void (*parse)(int opt, const char *arg, void *ctx); /* its own options */
	void *ctx;
};

extern volatile sig_atomic_t cli_stop;  /* SIGINT or SIGTERM arrived */
extern volatile sig_atomic_t cli_tick;  /* the one-second timer fired */

/* Parse argv for spec; exits 2 with one line on a bad argument, 0 after --help. */
int cli_parse(const struct cli_spec *spec, int argc, char **argv, struct cli_common *c);

/* Print "ipredir NAME: MESSAGE" and "Try ..." to stderr and exit 2. */
void cli_usage_error(const struct cli_spec *spec, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));

/* Parse an unsigned number in [min, max] for option what, or cli_usage_error(). */
unsigned int cli_uint(const struct cli_spec *spec, const char *what, const char *arg,
		      unsigned int min, unsigned int max);

/* Open the redirector described by c; on failure print why and exit 2 or 1. */
struct ipr_handle *cli_open(const struct cli_spec *spec, const struct cli_common *c);

/* Catch SIGINT/SIGTERM (cli_stop) and, with tick, SIGALRM every second (cli_tick). */
void cli_signals(int tick);

/* Seconds since an arbitrary start, monotonic. */
double cli_now(void);

/* Print a JSON string literal for s. */
void cli_json_string(FILE *f, const char *s);

int cmd_passthru(int argc, char **argv);
int cmd_list(int argc, char **argv);

#endif /* IPREDIR_CLI_H */
