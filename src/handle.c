/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* handle.c - open/close, options, errors, logging, info and counters. */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define DEFAULT_QUEUE_MAXLEN 8192
#define QUEUE_MAXLEN_MAX (1u << 20)
#define SNAPLEN_MIN 40 /* an IPv6 header */
#define DEADLINE_MAX_MS (24u * 3600 * 1000)
#define WAIT_MAX_US 1000000u /* busy polling and coalescing: at most 1 s */
#define AUTO_QUEUE_FIRST 49152    /* auto-picked queue numbers: far from hand-written rules */
#define AUTO_QUEUE_SPAN 16384

static __thread char last_error[512] = "no error";
static ipr_log_fn log_fn;
static void *log_arg;
static enum ipr_log_level log_max = IPR_LOG_INFO;

IPR_EXPORT const char *ipr_version(void)
{
	return IPR_VERSION_STRING;
}

IPR_EXPORT const char *ipr_last_error(void)
{
	return last_error;
}

IPR_EXPORT void ipr_set_log(ipr_log_fn fn, void *arg, enum ipr_log_level max_level)
{
	log_fn = fn;
	log_arg = arg;
	log_max = max_level;
}

IPR_PRINTF(2, 0)
static void log_message(enum ipr_log_level level, const char *fmt, va_list ap)
{
	char msg[512];

	if (!log_fn || level > log_max)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_fn(level, msg, log_arg);
}

void ipr_log(enum ipr_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_message(level, fmt, ap);
	va_end(ap);
}

int ipr_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	ipr_log(IPR_LOG_DEBUG, "%s", last_error);
	return err;
}

/* Copy the caller's options, which may come from an older or newer header. */
static int copy_options(const struct ipr_options *in, struct ipr_options *out)
{
	const unsigned char *extra;

	if (!in || in->size < offsetof(struct ipr_options, filter))
		return ipr_fail(-EINVAL, "options not initialised: start from IPR_OPTIONS_INIT");
	extra = (const unsigned char *)in + sizeof(*out);
	memset(out, 0, sizeof(*out));
	memcpy(out, in, in->size < sizeof(*out) ? in->size : sizeof(*out));
	for (size_t i = sizeof(*out); i < in->size; i++)
		if (extra[i - sizeof(*out)])
			return ipr_fail(-E2BIG, "options use fields this library (%s) does not know",
					IPR_VERSION_STRING);
	return 0;
}

static int check_interface(const char *what, const char *name)
{
	if (name && (!*name || strlen(name) >= IFNAMSIZ))
		return ipr_fail(-EINVAL, "%s \"%s\": names have 1 to %d characters", what, name,
				IFNAMSIZ - 1);
	return 0;
}

static int check_layers(const struct ipr_options *o)
{
	const unsigned int all = IPR_LAYER_IN | IPR_LAYER_OUT | IPR_LAYER_FORWARD;

	if (o->layers & ~all)
		return ipr_fail(-EINVAL, "unknown layer bits 0x%x", o->layers & ~all);
	if (o->in_interface && !(o->layers & (IPR_LAYER_IN | IPR_LAYER_FORWARD)))
		return ipr_fail(-EINVAL, "an input interface needs the in or forward layer");
	if (o->out_interface && !(o->layers & (IPR_LAYER_OUT | IPR_LAYER_FORWARD)))
		return ipr_fail(-EINVAL, "an output interface needs the out or forward layer");
	return 0;
}

static void fill_defaults(struct ipr_options *o)
{
	if (!o->layers)
		o->layers = IPR_LAYER_IN | IPR_LAYER_OUT;
	if (!o->snaplen)
		o->snaplen = IPR_SNAPLEN_MAX;
	if (!o->queue_maxlen)
		o->queue_maxlen = DEFAULT_QUEUE_MAXLEN;
	if (!o->queues)
		o->queues = 1;
	if (!o->bypass_mark)
		o->bypass_mark = IPR_DEFAULT_BYPASS_MARK;
	if (!o->bypass_mask)
		o->bypass_mask = o->bypass_mark;
	if (!o->inject_mark)
		o->inject_mark = IPR_DEFAULT_INJECT_MARK;
	if (!o->inject_mask)
		o->inject_mask = o->inject_mark;
	if (!o->deadline_ms)
		o->deadline_ms = IPR_DEFAULT_DEADLINE_MS;
}

static int check_marks(const struct ipr_options *o)
{
	if ((o->bypass_mark & ~o->bypass_mask) || (o->inject_mark & ~o->inject_mask))
		return ipr_fail(-EINVAL, "a mark has bits outside its mask");
	if (o->bypass_mask & o->inject_mask)
		return ipr_fail(-EINVAL, "bypass mask 0x%x and inject mask 0x%x overlap",
				o->bypass_mask, o->inject_mask);
	return 0;
}

static int check_queues(const struct ipr_options *o)
{
	if (o->queues > IPR_QUEUES_MAX)
		return ipr_fail(-EINVAL, "%u queues: at most %d", o->queues, IPR_QUEUES_MAX);
	if ((uint64_t)o->queue + o->queues - 1 > 65535)
		return ipr_fail(-EINVAL, "queues %u to %llu: queue numbers go up to 65535",
				o->queue, (unsigned long long)o->queue + o->queues - 1);
	if ((o->flags & IPR_OPEN_MONITOR) && o->queues > 1)
		return ipr_fail(-EINVAL, "a monitor handle has no queues to spread over");
	if (o->cgroup && (o->layers & IPR_LAYER_FORWARD))
		return ipr_fail(-EINVAL, "forwarded packets have no local socket: a cgroup "
					 "applies to the in and out layers only");
	return 0;
}

static int check_wait(const char *what, unsigned int us)
{
	return us > WAIT_MAX_US ? ipr_fail(-EINVAL, "%s %u us: at most %u", what, us, WAIT_MAX_US)
				: 0;
}

static int check_waits(const struct ipr_options *o)
{
	int err = check_wait("busy poll", o->busy_poll_us);

	if (!err)
		err = check_wait("coalescing", o->coalesce_us);
	if (!err && (o->flags & IPR_OPEN_MONITOR) && (o->busy_poll_us || o->coalesce_us))
		err = ipr_fail(-EINVAL, "busy polling and coalescing pace a queue: a monitor "
					"handle has none (the kernel batches its copies)");
	return err;
}

/* Fill defaults and refuse absurd values, each with a reason. */
static int check_options(struct ipr_options *o)
{
	const unsigned int flags = IPR_OPEN_FAIL_CLOSED | IPR_OPEN_NO_GSO | IPR_OPEN_QUEUE_COMPAT |
				   IPR_OPEN_QUEUE_NATIVE | IPR_OPEN_USER_FILTER | IPR_OPEN_MONITOR |
				   IPR_OPEN_BYPASS;
	int err;

	fill_defaults(o);
	if (o->flags & ~flags)
		return ipr_fail(-EINVAL, "unknown open flags 0x%x", o->flags & ~flags);
	if ((o->flags & IPR_OPEN_QUEUE_COMPAT) && (o->flags & IPR_OPEN_QUEUE_NATIVE))
		return ipr_fail(-EINVAL, "the queue cannot be both native and compat");
	if (o->priority > IPR_PRIORITY_MAX || o->priority < -IPR_PRIORITY_MAX)
		return ipr_fail(-EINVAL, "priority %d: allowed range is %d to %d", o->priority,
				-IPR_PRIORITY_MAX, IPR_PRIORITY_MAX);
	if (o->snaplen < SNAPLEN_MIN || o->snaplen > IPR_SNAPLEN_MAX)
		return ipr_fail(-EINVAL, "snap length %u: allowed range is %d to %d", o->snaplen,
				SNAPLEN_MIN, IPR_SNAPLEN_MAX);
	if (o->queue_maxlen > QUEUE_MAXLEN_MAX)
		return ipr_fail(-EINVAL, "queue length %u: at most %u", o->queue_maxlen,
				QUEUE_MAXLEN_MAX);
	if (o->deadline_ms > DEADLINE_MAX_MS)
		return ipr_fail(-EINVAL, "verdict deadline %u ms: at most %u", o->deadline_ms,
				DEADLINE_MAX_MS);
	err = check_waits(o);
	if (err)
		return err;
	err = check_interface("input interface", o->in_interface);
	if (!err)
		err = check_interface("output interface", o->out_interface);
	if (!err)
		err = check_interface("interface", o->interface);
	if (!err)
		err = check_layers(o);
	if (!err)
		err = check_marks(o);
	return err ? err : check_queues(o);
}

static void format_layers(unsigned int layers, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s", layers & IPR_LAYER_IN ? ",in" : "",
		 layers & IPR_LAYER_OUT ? ",out" : "", layers & IPR_LAYER_FORWARD ? ",forward" : "");
	memmove(buf, buf + 1, strlen(buf)); /* drop the leading comma */
}

/* The table's comment: who owns it and what it redirects, for status tools. */
static void describe(struct ipr_handle *h, const struct ipr_options *o, unsigned int first)
{
	const size_t size = sizeof(h->comment);
	char layers[32];
	int n;

	format_layers(o->layers, layers, sizeof(layers));
	n = snprintf(h->comment, size, "pid=%d layers=%s %s=%u queues=%u filter=%s",
		     (int)getpid(), layers, (o->flags & IPR_OPEN_MONITOR) ? "group" : "queue",
		     first, o->queues, o->filter ? o->filter : "");
	if (n >= (int)size)
		memcpy(h->comment + size - 4, "...", 4); /* a long filter is cut, visibly */
}

static enum ipr_queue_kind wanted_queue_kind(unsigned int flags)
{
	if (flags & IPR_OPEN_QUEUE_NATIVE)
		return IPR_QUEUE_NATIVE;
	return flags & IPR_OPEN_QUEUE_COMPAT ? IPR_QUEUE_COMPAT : IPR_QUEUE_AUTO;
}

static void spec_marks(struct ipr_rules_spec *spec, const struct ipr_options *o)
{
	spec->inject_mark = o->inject_mark;
	spec->inject_mask = o->inject_mask;
	spec->skip_iifname_prefix = IPR_TUN_PREFIX;
	if (!(o->flags & IPR_OPEN_BYPASS) || (o->flags & IPR_OPEN_MONITOR))
		return; /* the ct mark rules would turn on connection tracking */
	spec->bypass_mark = o->bypass_mark;
	spec->bypass_mask = o->bypass_mask;
}

static int install_rules(struct ipr_handle *h, const struct ipr_options *o)
{
	static atomic_uint table_seq;
	int monitor = !!(o->flags & IPR_OPEN_MONITOR);
	unsigned int first = monitor ? h->monitor.group : h->queue.num;
	struct ipr_rules_spec spec = {
		.table = h->info.table,
		.comment = h->comment,
		.layers = o->layers,
		.interface = o->interface,
		.in_interface = o->in_interface,
		.out_interface = o->out_interface,
		.priority = o->priority,
		.queue = first,
		.queues = o->queues,
		.bpf = h->filter.kernel,
		.bpf_len = h->filter.kernel_len,
		.queue_kind = wanted_queue_kind(o->flags),
		.monitor = monitor,
		.log_group = (uint16_t)first,
		.log_snaplen = o->snaplen,
		.log_threshold = IPR_MONITOR_BATCH,
	};
	int err = 0;

	spec_marks(&spec, o);
	if (o->cgroup)
		err = ipr_cgroup_resolve(o->cgroup, &spec.cgroup_id, &spec.cgroup_level);
	if (err)
		return err;
	snprintf(h->info.table, sizeof(h->info.table), "ipredir_%d_%u", (int)getpid(),
		 atomic_fetch_add(&table_seq, 1));
	describe(h, o, first);
	return ipr_rules_install(&spec, &h->rules);
}

static const char *filter_kind(const struct ipr_filter *f)
{
	if (!f->prog)
		return f->user ? "user" : "none";
	return f->user ? "user" : "kernel";
}

static void fill_info(struct ipr_handle *h)
{
	h->info.snaplen = h->snaplen;
	h->info.queue_kind =
		ipr_rules_queue_kind(h->rules) == IPR_QUEUE_NATIVE ? "native" : "compat";
	h->info.filter_kind = filter_kind(&h->filter);
	h->info.filter_insns = h->filter.prog_len;
	h->info.kernel_insns = h->filter.kernel_len;
	for (unsigned int i = 0; i < h->nmembers; i++) {
		h->members[i]->info = h->info;
		h->members[i]->info.queue = h->members[i]->queue.num;
	}
	if (h->flags & IPR_OPEN_MONITOR)
		h->info.queue = h->monitor.group;
}

/* A new handle: the owner when owner is NULL, else a member sharing its state. */
static struct ipr_handle *new_handle(const struct ipr_options *o, struct ipr_handle *owner)
{
	struct ipr_handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->owner = owner ? owner : h;
	h->flags = o->flags;
	h->snaplen = o->snaplen;
	h->bypass_mark = o->bypass_mark;
	h->bypass_mask = o->bypass_mask;
	h->queue.fd = -1;
	h->monitor.fd = -1;
	h->inject.raw4 = h->inject.raw6 = h->inject.tun = -1;
	h->inject.mark = o->inject_mark;
	if (owner)
		h->filter = owner->filter;
	return h;
}

static void close_queues(struct ipr_handle *h)
{
	for (unsigned int i = 0; i < h->nmembers; i++)
		ipr_queue_close(&h->members[i]->queue);
}

/*
 * The kernel refuses to bind a queue that another socket holds with -EPERM,
 * as it refuses a caller without CAP_NET_ADMIN: a queue listed in /proc is
 * taken (-EBUSY), whoever holds it, even this process's other handles.
 */
static int busy_or_denied(int err, unsigned int num)
{
	struct ipr_queue_counters c;
	char reason[sizeof(last_error)];

	if (err != -EPERM)
		return err;
	snprintf(reason, sizeof(reason), "%s", last_error);
	if (ipr_queue_counters(num, &c) == 0)
		return ipr_fail(-EBUSY, "queue %u is held by another program", num);
	return ipr_fail(err, "%s", reason);
}

/* Bind queues first..first+n-1 for the n members, all or none. */
static int open_queue_range(struct ipr_handle *h, const struct ipr_options *o,
			    unsigned int first)
{
	int err = 0;

	for (unsigned int i = 0; i < h->nmembers && !err; i++) {
		struct ipr_queue *q = &h->members[i]->queue;

		err = busy_or_denied(ipr_queue_open(q, first + i, o->snaplen, o->queue_maxlen,
						    o->flags, o->deadline_ms),
				     first + i);
		q->busy_poll_us = o->busy_poll_us;
		q->coalesce_us = o->coalesce_us;
	}
	if (err)
		close_queues(h); /* a queue that never opened closes as a no-op */
	return err;
}

/* The queue range the options name, or the first free one of the automatic range. */
static int open_queues(struct ipr_handle *h, const struct ipr_options *o)
{
	unsigned int start = (unsigned int)getpid() % AUTO_QUEUE_SPAN;
	int err = -EBUSY;

	if (o->queue)
		return open_queue_range(h, o, o->queue);
	for (unsigned int i = 0; i < AUTO_QUEUE_SPAN && err == -EBUSY; i += o->queues)
		err = open_queue_range(h, o, AUTO_QUEUE_FIRST + (start + i) % AUTO_QUEUE_SPAN);
	return err;
}

static int alloc_members(struct ipr_handle *h, const struct ipr_options *o)
{
	h->members = calloc(o->queues, sizeof(*h->members));
	if (!h->members)
		return ipr_fail(-ENOMEM, "out of memory");
	h->nmembers = o->queues;
	h->members[0] = h;
	for (unsigned int i = 1; i < o->queues; i++) {
		h->members[i] = new_handle(o, h);
		if (!h->members[i])
			return ipr_fail(-ENOMEM, "out of memory");
	}
	return 0;
}

static int open_engine(struct ipr_handle *h, const struct ipr_options *o)
{
	if (o->flags & IPR_OPEN_MONITOR)
		return ipr_monitor_open(&h->monitor, o->snaplen);
	return open_queues(h, o);
}

static void free_handle(struct ipr_handle *h)
{
	for (unsigned int i = 1; i < h->nmembers; i++)
		free(h->members[i]);
	free(h->members);
	ipr_filter_free(&h->filter);
	free(h);
}

IPR_EXPORT int ipr_open(const struct ipr_options *opts, struct ipr_handle **out)
{
	struct ipr_options o;
	struct ipr_handle *h;
	int err;

	if (!out)
		return ipr_fail(-EINVAL, "no place for the handle: pass &handle");
	err = copy_options(opts, &o);
	if (!err)
		err = check_options(&o);
	if (err)
		return err;
	h = new_handle(&o, NULL);
	if (!h)
		return ipr_fail(-ENOMEM, "out of memory");
	err = ipr_filter_compile(o.filter, !!(o.flags & IPR_OPEN_USER_FILTER), &h->filter);
	if (!err)
		err = alloc_members(h, &o);
	if (!err)
		err = open_engine(h, &o);
	if (err)
		goto fail;
	err = install_rules(h, &o);
	if (err)
		goto fail_engine;
	fill_info(h);
	*out = h;
	return 0;
fail_engine:
	close_queues(h);
	ipr_monitor_close(&h->monitor);
fail:
	free_handle(h);
	return err;
}

IPR_EXPORT int ipr_close(struct ipr_handle *h)
{
	int err = 0;

	if (!h)
		return 0;
	if (h->owner != h)
		return ipr_fail(-EINVAL, "close the handle ipr_open returned, not a queue's");
	/* No new packets, then answer every held one, and only then unhook. */
	ipr_rules_detach(h->rules);
	for (unsigned int i = 0; i < h->nmembers; i++) {
		int e = ipr_queue_close(&h->members[i]->queue);
		ipr_inject_close(&h->members[i]->inject);
		if (e && !err)
			err = e;
	}
	ipr_rules_remove(h->rules);
	ipr_monitor_close(&h->monitor);
	free_handle(h);
	return err;
}

IPR_EXPORT int ipr_fd(const struct ipr_handle *h)
{
	return (h->flags & IPR_OPEN_MONITOR) ? h->monitor.fd : h->queue.fd;
}

IPR_EXPORT int ipr_get_info(const struct ipr_handle *h, struct ipr_info *info)
{
	*info = h->info;
	return 0;
}

IPR_EXPORT struct ipr_handle *ipr_queue_handle(struct ipr_handle *h, unsigned int i)
{
	h = h->owner;
	return i < h->nmembers ? h->members[i] : NULL;
}

IPR_EXPORT unsigned int ipr_queue_count(const struct ipr_handle *h)
{
	return h->owner->nmembers ? h->owner->nmembers : 1;
}

IPR_EXPORT int ipr_send(struct ipr_handle *h, const void *pkt, size_t len,
			unsigned int direction)
{
	if (direction != IPR_LAYER_IN && direction != IPR_LAYER_OUT)
		return ipr_fail(-EINVAL, "inject direction must be IPR_LAYER_IN or IPR_LAYER_OUT");
	return ipr_inject_send(&h->inject, pkt, len, direction);
}

/* Sum of the kernel's last packet ids over the owner's queues. */
static int last_ids(const struct ipr_handle *owner, uint64_t *sum)
{
	uint64_t qdrop, udrop, waiting, id;
	int err = 0;

	*sum = 0;
	for (unsigned int i = 0; i < owner->nmembers && !err; i++) {
		err = ipr_queue_kernel_stats(&owner->members[i]->queue, &qdrop, &udrop, &waiting,
					     &id);
		*sum += id;
	}
	return err;
}

/*
 * Packets that passed unredirected: those the rule counter saw that got no id
 * in any queue (queue full), charged to the owner, plus each queue's id gaps
 * (socket full). Summed over a handle's queues, that is the exact total.
 */
static int count_failopen(const struct ipr_handle *h, uint64_t *failopen)
{
	uint64_t matched = 0, ids = 0;
	int err;

	*failopen = 0;
	if (h->flags & IPR_OPEN_FAIL_CLOSED)
		return 0; /* id gaps are socket drops then, counted as such */
	*failopen = h->queue.id_gaps;
	if (h->owner != h)
		return 0;
	/* The rule counter first: a packet arriving between the reads is not miscounted. */
	err = ipr_rules_matched(h->rules, &matched);
	if (!err)
		err = last_ids(h, &ids);
	if (!err && matched > ids)
		*failopen += matched - ids;
	return err;
}

static int queue_stats(struct ipr_handle *h, struct ipr_stats *s)
{
	uint64_t last_id;
	int err;

	err = ipr_queue_kernel_stats(&h->queue, &s->queue_dropped, &s->user_dropped, &s->waiting,
				     &last_id);
	return err ? err : count_failopen(h, &s->failopen);
}

IPR_EXPORT int ipr_get_stats(struct ipr_handle *h, struct ipr_stats *st, size_t size)
{
	struct ipr_stats s = h->stats;
	int err = 0;

	if (h->flags & IPR_OPEN_MONITOR)
		s.failopen = h->monitor.lost;
	else
		err = queue_stats(h, &s);
	memcpy(st, &s, size < sizeof(s) ? size : sizeof(s));
	return err;
}
