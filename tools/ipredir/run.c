/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * run.c - `ipredir run [options] -- COMMAND [ARGS...]`: start COMMAND in a
 * cgroup of its own and pass only its packets (and its children's) through the
 * passthru engine; exits with COMMAND's status. `--cgroup PATH` redirects an
 * existing cgroup v2 (a systemd service, say) until interrupted instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

static const char *cgroup_option;
static pid_t child;
static int child_status;

static void parse_option(int opt, const char *arg, void *ctx);

static const struct option run_options[] = {
	{ "cgroup", required_argument, NULL, 'G' },
	{ 0 },
};

static struct option all_options[32];

static const struct cli_spec run_spec = {
	.name = "run",
	.synopsis = "[options] -- COMMAND [ARGS...]\n       ipredir run [options] --cgroup PATH",
	.help = "      --cgroup PATH      redirect this existing cgroup v2 instead of a command\n"
		"  and the passthru options: -b, --snap, --rewrite, -q, --bypass-after, -c, --quiet\n",
	.longopts = all_options,
	.shortopts = "b:c:q:",
	.redirect = 1,
	.parse = parse_option,
};

static void parse_option(int opt, const char *arg, void *ctx)
{
	if (opt == 'G')
		cgroup_option = arg;
	else
		passthru_spec.parse(opt, arg, passthru_spec.ctx);
}

/* run's options: its own plus passthru's. */
static void merge_options(void)
{
	size_t n = 0;

	for (const struct option *o = run_options; o->name; o++)
		all_options[n++] = *o;
	for (const struct option *o = passthru_spec.longopts; o->name && n < 31; o++)
		all_options[n++] = *o;
}

static int make_cgroup(char *path, size_t size)
{
	char mount[PATH_MAX];

	if (ipr_cgroup2_mount(mount, sizeof(mount)) < 0) {
		fprintf(stderr, "ipredir run: %s\n", ipr_last_error());
		return -1;
	}
	if ((size_t)snprintf(path, size, "%s/ipredir-run-%d", mount, (int)getpid()) >= size ||
	    mkdir(path, 0755) < 0) {
		fprintf(stderr, "ipredir run: creating cgroup %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* In the child: join the cgroup, then become COMMAND. */
static void exec_in_cgroup(const char *cgroup, char **argv)
{
	char procs[PATH_MAX];
	int fd;

	if ((size_t)snprintf(procs, sizeof(procs), "%s/cgroup.procs", cgroup) >= sizeof(procs))
		_exit(126);
	fd = open(procs, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1) {
		fprintf(stderr, "ipredir run: joining %s: %s\n", cgroup, strerror(errno));
		_exit(126);
	}
	close(fd);
	execvp(argv[0], argv);
	fprintf(stderr, "ipredir run: %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static int child_exited(void)
{
	return child > 0 && waitpid(child, &child_status, WNOHANG) == child;
}

static void on_child(int sig)
{
}

static int exit_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
}

/* Redirect the command's cgroup while it runs; returns its exit status. */
static int run_command(struct cli_common *c, char **argv)
{
	struct sigaction sa = { .sa_handler = on_child };
	char cgroup[PATH_MAX];
	struct ipr_handle *h;
	int status;

	if (make_cgroup(cgroup, sizeof(cgroup)) < 0)
		return 1;
	c->opts.cgroup = cgroup;
	sigaction(SIGCHLD, &sa, NULL);
	h = cli_open(&run_spec, c);
	child = fork();
	if (child == 0)
		exec_in_cgroup(cgroup, argv);
	status = child < 0 ? 1 : passthru_run(h, child_exited);
	if (child > 0 && !child_exited()) { /* interrupted: the command goes too */
		kill(child, SIGTERM);
		waitpid(child, &child_status, 0);
	}
	ipr_close(h);
	if (rmdir(cgroup) < 0)
		fprintf(stderr, "ipredir run: cgroup %s stays (%s): processes of the command "
				"still run in it\n", cgroup, strerror(errno));
	return status ? status : exit_status(child_status);
}

static int run_cgroup(struct cli_common *c)
{
	struct ipr_handle *h;
	int status;

	c->opts.cgroup = cgroup_option;
	h = cli_open(&run_spec, c);
	status = passthru_run(h, NULL);
	ipr_close(h);
	return status;
}

int cmd_run(int argc, char **argv)
{
	struct cli_common c;
	int first;

	merge_options();
	first = cli_parse(&run_spec, argc, argv, &c);
	passthru_apply(&c);
	cli_signals(1);
	if (cgroup_option && first == argc)
		return run_cgroup(&c);
	if (cgroup_option || first == argc)
		cli_usage_error(&run_spec, "give either -- COMMAND or --cgroup PATH");
	return run_command(&c, argv + first);
}
