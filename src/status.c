/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * status.c - what ipredir redirectors this network namespace holds.
 *
 * Every handle installs an nf_tables table (family inet) named "ipredir_..."
 * whose comment says who owns it and what it takes; the comment's format is
 * written and read here alone. ipr_list_redirectors() dumps the tables over
 * netlink and parses those comments; ipr_queue_counters() reads the kernel's
 * per-queue counters from /proc/net/netfilter/nfnetlink_queue.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <libmnl/libmnl.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>

#include "internal.h"

#define TABLE_PREFIX "ipredir_"
#define COMMENT_FORMAT "pid=%d layers=%s %s=%u queues=%u priority=%d flags=0x%x filter=%s"
/* A comment of an older libipredir stops after queues: priority and flags stay 0. */
#define COMMENT_SCAN "pid=%d layers=%31s %7[a-z]=%u queues=%u priority=%d flags=0x%x"

/* ---- the comment ---- */

static void format_layers(unsigned int layers, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s", layers & IPR_LAYER_IN ? ",in" : "",
		 layers & IPR_LAYER_OUT ? ",out" : "", layers & IPR_LAYER_FORWARD ? ",forward" : "");
	memmove(buf, buf + 1, strlen(buf)); /* drop the leading comma */
}

/* n = what snprintf() wanted to write into buf: a text too long ends "...", visibly.
 * Returns 1 if it was cut. */
static int mark_cut(char *buf, size_t size, int n)
{
	if (n < (int)size || size < 4)
		return 0;
	memcpy(buf + size - 4, "...", 4);
	return 1;
}

/* What the comment calls the number of the handle's kind: a BPF monitor has none. */
static const char *kind_name(enum ipr_action_kind kind)
{
	return kind == IPR_ACTION_LOG ? "group" : kind == IPR_ACTION_TABLE ? "ring" : "queue";
}

int ipr_comment_format(char *buf, size_t size, const struct ipr_options *o,
		       const struct ipr_rules_action *act, const char *filter)
{
	char names[32];

	format_layers(o->layers, names, sizeof(names));
	return mark_cut(buf, size,
			snprintf(buf, size, COMMENT_FORMAT, (int)getpid(), names,
				 kind_name(act->kind), act->first,
				 act->count * ipr_action_cpus(act), /* every queue bound */
				 o->priority, o->flags, filter ? filter : ""));
}

int ipr_events_comment(char *buf, size_t size, unsigned int which, int priority,
		       const char *filter)
{
	char names[32];

	snprintf(names, sizeof(names), "%s%s%s", which & IPR_EVENTS_FLOW ? "flow" : "",
		 which == (IPR_EVENTS_FLOW | IPR_EVENTS_SOCKET) ? "," : "",
		 which & IPR_EVENTS_SOCKET ? "socket" : "");
	return mark_cut(buf, size, snprintf(buf, size, COMMENT_FORMAT, (int)getpid(), names,
					    "events", 0u, 0u, priority, 0u,
					    filter ? filter : ""));
}

void ipr_table_name(char *buf, size_t size)
{
	static atomic_uint seq;

	snprintf(buf, size, "ipredir_%d_%u", (int)getpid(), atomic_fetch_add(&seq, 1));
}

void ipr_cut_text(char *buf, size_t size, const char *text)
{
	mark_cut(buf, size, snprintf(buf, size, "%s", text));
}

/* ---- the tables ---- */

static int comment_attr_cb(const struct nftnl_udata *attr, void *data)
{
	const struct nftnl_udata **tb = data;
	uint8_t type = nftnl_udata_type(attr);

	if ((type == NFTNL_UDATA_TABLE_COMMENT || type == IPR_UDATA_DESCRIBE) &&
	    nftnl_udata_len(attr) > 0)
		tb[type] = attr;
	return 0;
}

/* The NUL-terminated text of one user data attribute into buf; "" without it. */
static void udata_text(const struct nftnl_udata *attr, char *buf, size_t size)
{
	uint32_t len = attr ? nftnl_udata_len(attr) : 0;

	if (len >= size)
		len = (uint32_t)size - 1;
	if (len)
		memcpy(buf, nftnl_udata_get(attr), len);
	buf[len] = '\0';
}

/* The comment of t and the describe text after it into comment and describe. */
static void table_comment(const struct nftnl_table *t, char *comment, size_t size,
			  char *describe, size_t dsize)
{
	const struct nftnl_udata *tb[IPR_UDATA_DESCRIBE + 1] = { 0 };
	const void *data = NULL;
	uint32_t len = 0;

	if (nftnl_table_is_set(t, NFTNL_TABLE_USERDATA))
		data = nftnl_table_get_data(t, NFTNL_TABLE_USERDATA, &len);
	if (data && nftnl_udata_parse(data, len, comment_attr_cb, tb) < 0)
		memset(tb, 0, sizeof(tb));
	udata_text(tb[NFTNL_UDATA_TABLE_COMMENT], comment, size);
	udata_text(tb[IPR_UDATA_DESCRIBE], describe, dsize);
}

/* What ipr_comment_format() wrote -> e. */
static void parse_comment(const char *comment, struct ipr_watch_event *e)
{
	struct ipr_redirector *r = &e->redirector;
	const char *filter = strstr(comment, " filter=");
	char kind[8] = "";

	if (sscanf(comment, COMMENT_SCAN, &r->pid, r->layers, kind, &r->queue, &r->queues,
		   &e->priority, &e->flags) >= 3)
		r->monitor = strcmp(kind, "group") == 0  ? IPR_MONITOR_NFLOG
			     : strcmp(kind, "ring") == 0 ? IPR_MONITOR_BPF : 0;
	if (!r->queues && strcmp(kind, "events")) /* an events handle holds no queue */
		r->queues = 1;
	if (filter)
		snprintf(r->filter, sizeof(r->filter), "%s", filter + strlen(" filter="));
}

static int table_event(const struct nftnl_table *t, struct ipr_watch_event *e)
{
	const char *name = nftnl_table_get_str(t, NFTNL_TABLE_NAME);
	char comment[NFT_USERDATA_MAXLEN], describe[IPR_DESCRIBE_MAX];
	struct ipr_redirector *r = &e->redirector;

	if (!name || strncmp(name, TABLE_PREFIX, strlen(TABLE_PREFIX)) != 0 ||
	    nftnl_table_get_u32(t, NFTNL_TABLE_FAMILY) != NFPROTO_INET)
		return 0;
	memset(e, 0, sizeof(*e));
	snprintf(r->table, sizeof(r->table), "%s", name);
	r->owned = nftnl_table_is_set(t, NFTNL_TABLE_FLAGS) &&
		   (nftnl_table_get_u32(t, NFTNL_TABLE_FLAGS) & NFT_TABLE_F_OWNER);
	table_comment(t, comment, sizeof(comment), describe, sizeof(describe));
	parse_comment(comment, e);
	if (describe[0]) /* whole, where the comment had to cut it */
		snprintf(r->filter, sizeof(r->filter), "%s", describe);
	return 1;
}

int ipr_table_event(const struct nlmsghdr *nlh, struct ipr_watch_event *e)
{
	struct nftnl_table *t = nftnl_table_alloc();
	int ret = -ENOMEM;

	if (t)
		ret = nftnl_table_nlmsg_parse(nlh, t) < 0 ? 0 : table_event(t, e);
	nftnl_table_free(t);
	return ret;
}

/* Where the table dump goes. */
struct dump_ctx {
	ipr_table_fn fn;
	void *arg;
};

static int table_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *ctx = data;
	struct ipr_watch_event e;
	int ret = ipr_table_event(nlh, &e);

	if (ret > 0)
		ctx->fn(&e, ctx->arg);
	return ret < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

/* Send the dump request and run every answer through table_cb. */
static int dump_tables(struct mnl_socket *nl, struct dump_ctx *ctx)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	uint32_t seq = (uint32_t)time(NULL);
	uint32_t portid = mnl_socket_get_portid(nl);
	struct nlmsghdr *nlh;
	int ret = MNL_CB_OK, len; /* an interrupted first receive goes round again */

	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETTABLE, NFPROTO_INET, NLM_F_DUMP, seq);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		len = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0)
			return -errno;
		ret = mnl_cb_run(buf, (size_t)len, seq, portid, table_cb, ctx);
	} while (ret > MNL_CB_STOP);
	return ret < 0 ? -errno : 0;
}

int ipr_tables_dump(ipr_table_fn fn, void *arg)
{
	struct dump_ctx ctx = { fn, arg };
	struct mnl_socket *nl;
	int err;

	nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!nl)
		return ipr_fail(-errno, "cannot open a netfilter netlink socket: %s",
				strerror(errno));
	err = mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 ? -errno : 0;
	if (!err)
		err = dump_tables(nl, &ctx);
	mnl_socket_close(nl);
	if (err == -EPERM)
		return ipr_fail(err, "permission denied: listing nf_tables needs CAP_NET_ADMIN");
	if (err)
		return ipr_fail(err, "cannot list the nf_tables tables: %s", strerror(-err));
	return 0;
}

/* Where ipr_list_redirectors() puts what the dump finds. */
struct list_ctx {
	struct ipr_redirector *out;
	unsigned int max;
	unsigned int found;
};

static void list_one(const struct ipr_watch_event *e, void *arg)
{
	struct list_ctx *ctx = arg;

	if (ctx->found++ < ctx->max)
		ctx->out[ctx->found - 1] = e->redirector;
}

IPR_EXPORT int ipr_list_redirectors(struct ipr_redirector *out, unsigned int max)
{
	struct list_ctx ctx = { out, out ? max : 0, 0 };
	int err = ipr_tables_dump(list_one, &ctx);

	return err ? err : (int)ctx.found;
}

IPR_EXPORT int ipr_queue_counters(unsigned int queue, struct ipr_queue_counters *c)
{
	unsigned long long v[8];
	int err = ipr_nfnl_proc_line("nfnetlink_queue", queue, v, 8);

	if (err == -ENOENT)
		return ipr_fail(err, "queue %u is not bound in this network namespace", queue);
	if (err)
		return err;
	*c = (struct ipr_queue_counters){
		.portid = (unsigned int)v[1],
		.waiting = (unsigned int)v[2],
		.copy_mode = (unsigned int)v[3],
		.copy_range = (unsigned int)v[4],
		.queue_dropped = v[5],
		.user_dropped = v[6],
		.last_id = (uint32_t)v[7],
	};
	return 0;
}
