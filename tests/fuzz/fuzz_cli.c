/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fuzz_cli.c - libFuzzer harness of the CLI's option parsing core,
 * cli_parse_args() of tools/ipredir/common.c.
 *
 * Input: arguments separated by newlines (or NUL bytes). The spec is a
 * redirecting subcommand with options of its own, like passthru's. Oracles:
 * the parser returns (it must never exit or print); an error is one line; on
 * success the first operand is inside argv and every number is in its range.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define ARGS_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned int own_options_seen;

static void parse_own(int opt, const char *arg, void *ctx)
{
	(void)ctx;
	assert(opt == 'b' || opt == 'c' || opt == 256 + 100);
	assert(opt == 256 + 100 || arg);
	own_options_seen++;
}

static const struct option own_options[] = {
	{ "batch", required_argument, NULL, 'b' },
	{ "count", required_argument, NULL, 'c' },
	{ "quiet", no_argument, NULL, 256 + 100 },
	{ 0 },
};

static const struct cli_spec spec = {
	.name = "fuzz",
	.synopsis = "[options]",
	.longopts = own_options,
	.shortopts = "b:c:",
	.redirect = 1,
	.parse = parse_own,
};

/* Split the input into argv[1..] at newlines and NULs; argv[0] is the subcommand. */
static int split(char *text, size_t size, char **argv)
{
	int argc = 1;
	char *p = text;

	argv[0] = (char *)"fuzz";
	while (argc < ARGS_MAX - 1 && p <= text + size) {
		size_t n = strcspn(p, "\n");

		p[n] = '\0';
		argv[argc++] = p;
		p += n + 1;
	}
	argv[argc] = NULL;
	return argc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *argv[ARGS_MAX];
	struct cli_common c;
	const char *err;
	int argc, first;

	assert(text);
	memcpy(text, data, size);
	text[size] = '\0';
	argc = split(text, size, argv);
	err = cli_parse_args(&spec, argc, argv, &c, &first);
	if (err) {
		assert(*err && strlen(err) < 256 && !strchr(err, '\n'));
	} else {
		assert(first >= 1 && first <= argc);
		assert(c.opts.size == sizeof(c.opts));
		assert(c.opts.priority >= -IPR_PRIORITY_MAX && c.opts.priority <= IPR_PRIORITY_MAX);
		assert(c.opts.queue <= 65535 && c.opts.deadline_ms <= 86400000);
		assert(!c.user || *c.user);
	}
	free(text);
	return 0;
}
