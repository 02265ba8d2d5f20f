/* SPDX-License-Identifier: GPL-2.0-or-later */
/* cli.h - what the ipredir subcommands share. */
#ifndef IPREDIR_CLI_H
#define IPREDIR_CLI_H

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <sys/types.h>

#include "ipredir.h"

/* One subcommand of the dispatch table. */
struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
};

/* What cli_parse_args() found besides options: go on, or show help or the version. */
enum cli_action {
	CLI_RUN = 0,
	CLI_HELP,
	CLI_VERSION,
};

/* Whether the progress line is printed. */
enum cli_progress {
	CLI_PROGRESS_AUTO = 0, /* when stderr is a terminal */
	CLI_PROGRESS_ON,       /* --progress: also into pipes and logs, a line each second */
	CLI_PROGRESS_OFF,      /* --quiet, or output that owns the terminal */
};

/* Options every redirecting subcommand takes, already checked. */
struct cli_common {
	struct ipr_options opts;
	int verbose;
	int json;          /* -j: summaries (and dump's packets) as JSON */
	enum cli_action action;
	const char *user;  /* --user NAME, or NULL */
	uid_t uid;         /* NAME's uid and gid (cli_parse looks them up) */
	gid_t gid;
	enum cli_progress progress;
	const char *metrics_file; /* --metrics-file PATH, or NULL */
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

/*
 * Parse argv for spec into *c without printing or exiting: returns NULL and the
 * index of the first operand in *first, or the reason of the first bad common
 * argument (one line, valid until the next call). Stops at -h or --version
 * (c->action). spec->parse handles the subcommand's own options and may exit.
 */
const char *cli_parse_args(const struct cli_spec *spec, int argc, char **argv,
			   struct cli_common *c, int *first);

/* cli_parse_args() that exits 2 with one line on a bad argument or unknown --user,
 * 0 after --help or --version; returns the index of the first operand. */
int cli_parse(const struct cli_spec *spec, int argc, char **argv, struct cli_common *c);

/* Print "ipredir NAME: MESSAGE" and "Try ..." to stderr and exit 2. */
void cli_usage_error(const struct cli_spec *spec, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));

/* Parse an unsigned number in [min, max] for option what, or cli_usage_error(). */
unsigned int cli_uint(const struct cli_spec *spec, const char *what, const char *arg,
		      unsigned int min, unsigned int max);

/* Send the library's messages to stderr: warnings, and with -v -v everything. */
void cli_set_log(int verbose);

/* Open the redirector described by c; on failure print why and exit 2 or 1. */
struct ipr_handle *cli_open(const struct cli_spec *spec, const struct cli_common *c);

/*
 * Call once everything the subcommand needs is open. With --user: open the
 * injection paths in inject (IPR_LAYER_OUT, IPR_LAYER_IN) of every queue of h,
 * switch to the user keeping only CAP_NET_ADMIN (verdicts need it), and verify
 * the switch; exits 1 with one line on failure. Then start the watchdog.
 */
void cli_ready(const struct cli_spec *spec, const struct cli_common *c, struct ipr_handle *h,
	       unsigned int inject);

/* watchdog.c: fork a process that passes h's traffic while this one is stopped. */
int cli_watchdog_start(struct ipr_handle *h);

#define CLI_BATCH 64 /* packets per receive call of the simple subcommands */

/* Handles one received batch; returns 0 or -errno, with ipr_last_error() saying why. */
typedef int (*cli_batch_fn)(struct ipr_handle *h, struct ipr_packet *pkts, int n, void *arg);

/* Receive batches until cli_stop and hand each to fn; 0, or 1 after printing the error. */
int cli_serve(const struct cli_spec *spec, struct ipr_handle *h, cli_batch_fn fn, void *arg);

/* Close h (NULL is ignored); a failed close turns status 0 into 1, printed. */
int cli_close(const struct cli_spec *spec, struct ipr_handle *h, int status);

/* Catch SIGINT/SIGTERM (cli_stop) and, with tick, SIGALRM every second (cli_tick). */
void cli_signals(int tick);

/* Seconds since an arbitrary start, monotonic. */
double cli_now(void);

/* json.c: print a JSON string literal for s, escaped. */
void cli_json_string(FILE *f, const char *s);

/*
 * progress.c: from cli_ready() on, a thread reports: the progress line, the
 * --metrics-file, the stats socket. cli_report_stop() ends it (erasing the
 * line, writing the file a last time) and must come before h is closed.
 */
void cli_report_start(const struct cli_spec *spec, const struct cli_common *c,
		      struct ipr_handle *h);
void cli_report_stop(void);

/* The counters of every queue of h, summed. */
void cli_stats(struct ipr_handle *h, struct ipr_stats *total);

/* metrics.c: one redirector's counters per queue, for Prometheus. */
struct metrics_queue {
	unsigned int queue;     /* NFQUEUE number (a monitor: its NFLOG group) */
	int in_process;         /* 0: only the kernel's counters are known */
	struct ipr_stats stats;
};

struct metrics_redirector {
	char table[32];
	char tool[32];          /* the subcommand, or the owner's command name */
	const char *filter;
	unsigned int queues;
	struct metrics_queue queue[IPR_QUEUES_MAX];
};

/* Every queue's counters of h into r (table, tool, filter untouched); 0 or -errno. */
int metrics_collect(struct ipr_handle *h, struct metrics_redirector *r);

/* The counters of r's queues, summed. */
void metrics_sum(const struct metrics_redirector *r, struct ipr_stats *total);

/* n redirectors in the text exposition format: HELP, TYPE, then every sample, per metric. */
void metrics_print(FILE *f, const struct metrics_redirector *rs, unsigned int n);

/* Write r to path atomically (a temporary file in its directory, renamed); 0 or -errno. */
int metrics_write_file(const char *path, const struct metrics_redirector *r);

/* The stats socket of table: listen (a nonblocking fd or -errno), answer one asker with
 * r, or ask the owner pid of table into r (0, or -ENOENT when it does not answer). */
int metrics_listen(const char *table);
void metrics_answer(int listen_fd, const struct metrics_redirector *r);
int metrics_ask(const char *table, int pid, struct metrics_redirector *r);
/* One JSON object on one line, written member by member. */
struct json_obj {
	FILE *f;
	int members;
};

void json_begin(struct json_obj *o, FILE *f);
void json_str(struct json_obj *o, const char *key, const char *value); /* NULL: null */
void json_uint(struct json_obj *o, const char *key, unsigned long long value);
void json_int(struct json_obj *o, const char *key, long long value);
void json_real(struct json_obj *o, const char *key, double value, int decimals);
void json_bool(struct json_obj *o, const char *key, int value);
void json_strings(struct json_obj *o, const char *key, const char *const *values, int n);
/* Every counter of s, named as the summaries name them. */
void json_stats(struct json_obj *o, const struct ipr_stats *s);
/* Close the object, end the line and flush. */
void json_end(struct json_obj *o);

int cmd_passthru(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_block(int argc, char **argv);
int cmd_rewrite(int argc, char **argv);
int cmd_echo(int argc, char **argv);
int cmd_wanem(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_filter(int argc, char **argv);
int cmd_flows(int argc, char **argv);
int cmd_sockets(int argc, char **argv);

/* events.c: what flows and sockets share. */
enum { EVENTS_OPT_PID = 768, EVENTS_OPT_COMM, EVENTS_OPT_EXE };

/* Their options, first in each one's long options. */
#define EVENTS_LONGOPTS                                                                    \
	{ "pid", required_argument, NULL, EVENTS_OPT_PID },                               \
	{ "comm", required_argument, NULL, EVENTS_OPT_COMM },                             \
	{ "exe", required_argument, NULL, EVENTS_OPT_EXE },                               \
	{ "count", required_argument, NULL, 'c' }, { "json", no_argument, NULL, 'j' }
#define EVENTS_SHORTOPTS "c:j"
#define EVENTS_HELP                                                                        \
	"      --pid PID          only events of process PID\n"                              \
	"      --comm NAME        only events of processes named NAME (as ps -o comm)\n"     \
	"      --exe PATH         only events of processes running the executable PATH\n"    \
	"  -c, --count N          stop after N events\n"                                     \
	"  -j, --json             one JSON object per event, and the summary as one\n"

struct events_config {
	uint32_t pid;          /* --pid, 0 = any */
	const char *comm;      /* --comm, NULL = any */
	const char *exe;       /* --exe as given, NULL = any */
	char exe_path[4096];   /* --exe with its symbolic links resolved */
	unsigned long long count; /* -c: stop after this many events printed; 0 = never */
	int json;
	int verbose;
};

/* One of EVENTS_LONGOPTS into cfg: 1, or 0 if opt is none of them. */
int events_option(const struct cli_spec *spec, int opt, const char *arg,
		  struct events_config *cfg);

/* Refuse a bad --comm or --exe (cli_usage_error); resolve --exe. */
void events_check_config(const struct cli_spec *spec, struct events_config *cfg);

/*
 * Report the events of which (IPR_EVENTS_*) that cfg selects until SIGINT,
 * SIGTERM or --count, refusing the calls of rule (tests of them, 0: none)
 * meanwhile; then the summary. Returns the exit status.
 */
int events_run(const struct cli_spec *spec, unsigned int which, const struct events_config *cfg,
	       const struct ipr_call_test *rule, unsigned int tests);

/* status_watch.c: `status --watch`, text or (json) JSON lines; the exit status. */
int status_watch(int json);

/* passthru.c: the receive-and-resend engine that run.c reuses. */
struct passthru_config {
	unsigned int batch;
	unsigned int snaplen;
	unsigned int queues;
	unsigned int bypass_after;  /* offload a flow after this many packets; 0 = never */
	unsigned long long count;   /* stop after this many packets; 0 = never */
	int rewrite;
	int quiet;
	int json;                   /* -j: the summary as JSON */
};

extern struct passthru_config passthru_config;
extern const struct cli_spec passthru_spec;

/* Copy the passthru options that shape the redirector into c->opts. */
void passthru_apply(struct cli_common *c);

/* Serve every queue of h with a thread until a signal, --count, or done() says so. */
int passthru_run(struct ipr_handle *h, int (*done)(void));

/* flow.c: packets seen per flow, both directions counted as one. */
struct flow_table;
struct flow_table *flow_table_new(void);
void flow_table_free(struct flow_table *t);

/* Count pkt in its flow; returns the flow's packets so far, this one included. */
unsigned int flow_count(struct flow_table *t, const struct ipr_packet *pkt);

#endif /* IPREDIR_CLI_H */
