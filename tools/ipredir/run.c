/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * run.c - `ipredir run [options] -- COMMAND [ARGS...]`: start COMMAND in a
 * cgroup of its own and pass only its packets (and its children's) through the
 * passthru engine; exits with COMMAND's status. `--cgroup PATH` redirects an
 * existing cgroup v2 (a systemd service, say) until interrupted instead.
 *
 * However run ends (SIGKILL included), COMMAND gets SIGTERM if it still runs,
 * and a guardian process (guard.c) moves whatever is left in the cgroup back to
 * run's own cgroup and removes the cgroup.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "guard.h"

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

/* The command's cgroup and run's own, below the root of the cgroup v2 hierarchy. */
struct run_cgroup {
	int root;          /* the hierarchy's root directory (ipr_cgroup2_open) */
	char path[64];     /* "/ipredir-run-PID" */
	char home[PATH_MAX];
	int made;
};

/* The cgroup v2 this process is in, as /proc/self/cgroup says ("0::PATH"). */
static int own_cgroup(char *buf, size_t size)
{
	char line[PATH_MAX];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (err && fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = 0;
			err = (size_t)snprintf(buf, size, "%s", line + 3) < size ? 0 : -ENAMETOOLONG;
		}
	fclose(f);
	return err;
}

/* Open the hierarchy, name the command's cgroup ipredir-run-PID, and find run's own. */
static int cgroup_paths(struct run_cgroup *cg)
{
	int err;

	cg->root = ipr_cgroup2_open();
	if (cg->root < 0) {
		fprintf(stderr, "ipredir run: %s\n", ipr_last_error());
		return -1;
	}
	err = own_cgroup(cg->home, sizeof(cg->home));
	if (err) {
		fprintf(stderr, "ipredir run: finding this process's cgroup: %s\n", strerror(-err));
		return -1;
	}
	snprintf(cg->path, sizeof(cg->path), "/ipredir-run-%d", (int)getpid());
	return 0;
}

/* A file or directory below the hierarchy's root: "/a/b" -> "a/b", "/" -> ".". */
static const char *below_root(const char *path)
{
	while (*path == '/')
		path++;
	return *path ? path : ".";
}

/* guard.c's setup, run in the guardian: make the cgroup. */
static int make_cgroup(void *arg)
{
	struct run_cgroup *cg = arg;

	if (mkdirat(cg->root, below_root(cg->path), 0755) < 0) {
		fprintf(stderr, "ipredir run: creating cgroup %s: %s\n", cg->path, strerror(errno));
		return -errno;
	}
	cg->made = 1;
	return 0;
}

/* Open cgroup.procs of cgroup dir (below root) with flags; -1 on failure. */
static int open_procs(int root, const char *dir, int flags)
{
	char path[PATH_MAX + 16];

	if ((size_t)snprintf(path, sizeof(path), "%s/cgroup.procs", below_root(dir)) >=
	    sizeof(path))
		return -1;
	return openat(root, path, flags | O_CLOEXEC);
}

/* Move every process of cgroup from into cgroup to; returns how many were seen. */
static int move_processes(int root, const char *from, const char *to)
{
	int in_fd = open_procs(root, from, O_RDONLY), out = open_procs(root, to, O_WRONLY);
	FILE *in = in_fd >= 0 ? fdopen(in_fd, "r") : NULL;
	int pid, seen = 0;

	while (in && out >= 0 && fscanf(in, "%d", &pid) == 1) {
		dprintf(out, "%d", pid); /* one write per pid; one that exited fails alone */
		seen++;
	}
	if (in)
		fclose(in);
	else if (in_fd >= 0)
		close(in_fd);
	if (out >= 0)
		close(out);
	return seen;
}

/* guard.c's undo: empty the cgroup into run's own one, then remove it. */
static void remove_cgroup(void *arg)
{
	struct run_cgroup *cg = arg;

	if (!cg->made)
		return;
	for (int tries = 0; tries < 100 && move_processes(cg->root, cg->path, cg->home); tries++)
		usleep(10000); /* a process may fork while it moves */
	if (unlinkat(cg->root, below_root(cg->path), AT_REMOVEDIR) < 0)
		fprintf(stderr, "ipredir run: could not remove cgroup %s: %s\n", cg->path,
			strerror(errno));
}

/* In the child: end with run (SIGTERM), join the cgroup, then become COMMAND. */
static void exec_in_cgroup(const struct run_cgroup *cg, pid_t run, char **argv)
{
	int fd;

	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != run)
		_exit(126);
	fd = open_procs(cg->root, cg->path, O_WRONLY);
	if (fd < 0 || write(fd, "0", 1) != 1) {
		fprintf(stderr, "ipredir run: joining %s: %s\n", cg->path, strerror(errno));
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

/* Redirect the command's cgroup (guarded) while it runs; returns its exit status. */
static int run_guarded(struct cli_common *c, struct run_cgroup *cg, char **argv)
{
	struct sigaction sa = { .sa_handler = on_child };
	struct guard guard;
	struct ipr_handle *h;
	pid_t self = getpid();
	int status = guard_start(&guard, make_cgroup, remove_cgroup, cg);

	if (status < 0) {
		fprintf(stderr, "ipredir run: starting the guardian: %s\n", strerror(-status));
		return 1;
	}
	if (guard_setup(&guard) < 0) {
		guard_end(&guard);
		return 1;
	}
	c->opts.cgroup = cg->path;
	sigaction(SIGCHLD, &sa, NULL);
	h = cli_open(&run_spec, c);
	child = fork();
	if (child == 0)
		exec_in_cgroup(cg, self, argv);
	if (child > 0)
		cli_ready(&run_spec, c, h, 0);
	status = child < 0 ? 1 : passthru_run(h, child_exited);
	if (child > 0 && !child_exited()) { /* interrupted: the command goes too */
		kill(child, SIGTERM);
		waitpid(child, &child_status, 0);
	}
	ipr_close(h);
	guard_end(&guard);
	return status ? status : exit_status(child_status);
}

static int run_command(struct cli_common *c, char **argv)
{
	static struct run_cgroup cg = { .root = -1 };
	int status = cgroup_paths(&cg) < 0 ? 1 : run_guarded(c, &cg, argv);

	if (cg.root >= 0)
		close(cg.root);
	return status;
}

static int run_cgroup(struct cli_common *c)
{
	struct ipr_handle *h;
	int status;

	c->opts.cgroup = cgroup_option;
	h = cli_open(&run_spec, c);
	cli_ready(&run_spec, c, h, 0);
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
	if (c.user)
		cli_usage_error(&run_spec, "--user goes with --cgroup only (COMMAND runs as the caller)");
	return run_command(&c, argv + first);
}
