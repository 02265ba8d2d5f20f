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
	const unsigned char *extra = (const unsigned char *)in + sizeof(*out);

	if (!in || in->size < offsetof(struct ipr_options, filter))
		return ipr_fail(-EINVAL, "options not initialised: start from IPR_OPTIONS_INIT");
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

/* Fill defaults and refuse absurd values, each with a reason. */
static int check_options(struct ipr_options *o)
{
	const unsigned int flags = IPR_OPEN_FAIL_CLOSED | IPR_OPEN_NO_GSO | IPR_OPEN_QUEUE_COMPAT |
				   IPR_OPEN_QUEUE_NATIVE | IPR_OPEN_USER_FILTER;
	int err;

	if (!o->layers)
		o->layers = IPR_LAYER_IN | IPR_LAYER_OUT;
	if (!o->snaplen)
		o->snaplen = IPR_SNAPLEN_MAX;
	if (!o->queue_maxlen)
		o->queue_maxlen = DEFAULT_QUEUE_MAXLEN;
	if (o->flags & ~flags)
		return ipr_fail(-EINVAL, "unknown open flags 0x%x", o->flags & ~flags);
	if ((o->flags & IPR_OPEN_QUEUE_COMPAT) && (o->flags & IPR_OPEN_QUEUE_NATIVE))
		return ipr_fail(-EINVAL, "the queue cannot be both native and compat");
	if (o->priority > IPR_PRIORITY_MAX || o->priority < -IPR_PRIORITY_MAX)
		return ipr_fail(-EINVAL, "priority %d: allowed range is %d to %d", o->priority,
				-IPR_PRIORITY_MAX, IPR_PRIORITY_MAX);
	if (o->queue > 65535)
		return ipr_fail(-EINVAL, "queue %u: queue numbers go up to 65535", o->queue);
	if (o->snaplen < SNAPLEN_MIN || o->snaplen > IPR_SNAPLEN_MAX)
		return ipr_fail(-EINVAL, "snap length %u: allowed range is %d to %d", o->snaplen,
				SNAPLEN_MIN, IPR_SNAPLEN_MAX);
	if (o->queue_maxlen > QUEUE_MAXLEN_MAX)
		return ipr_fail(-EINVAL, "queue length %u: at most %u", o->queue_maxlen,
				QUEUE_MAXLEN_MAX);
	err = check_interface("input interface", o->in_interface);
	if (!err)
		err = check_interface("output interface", o->out_interface);
	if (!err)
		err = check_interface("interface", o->interface);
	return err ? err : check_layers(o);
}

static void format_layers(unsigned int layers, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s", layers & IPR_LAYER_IN ? ",in" : "",
		 layers & IPR_LAYER_OUT ? ",out" : "", layers & IPR_LAYER_FORWARD ? ",forward" : "");
	memmove(buf, buf + 1, strlen(buf)); /* drop the leading comma */
}

/* The table's comment: who owns it and what it redirects, for status tools. */
static void describe(struct ipr_handle *h, const struct ipr_options *o)
{
	const size_t size = sizeof(h->comment);
	char layers[32];
	int n;

	format_layers(o->layers, layers, sizeof(layers));
	n = snprintf(h->comment, size, "pid=%d layers=%s queue=%u filter=%s", (int)getpid(),
		     layers, h->queue.num, o->filter ? o->filter : "");
	if (n >= (int)size)
		memcpy(h->comment + size - 4, "...", 4); /* a long filter is cut, visibly */
}

static enum ipr_queue_kind wanted_queue_kind(unsigned int flags)
{
	if (flags & IPR_OPEN_QUEUE_NATIVE)
		return IPR_QUEUE_NATIVE;
	return flags & IPR_OPEN_QUEUE_COMPAT ? IPR_QUEUE_COMPAT : IPR_QUEUE_AUTO;
}

static int install_rules(struct ipr_handle *h, const struct ipr_options *o)
{
	static atomic_uint table_seq;
	struct ipr_rules_spec spec = {
		.table = h->info.table,
		.comment = h->comment,
		.layers = o->layers,
		.interface = o->interface,
		.in_interface = o->in_interface,
		.out_interface = o->out_interface,
		.priority = o->priority,
		.queue = h->queue.num,
		.bpf = h->filter.kernel,
		.bpf_len = h->filter.kernel_len,
		.queue_kind = wanted_queue_kind(o->flags),
	};

	snprintf(h->info.table, sizeof(h->info.table), "ipredir_%d_%u", (int)getpid(),
		 atomic_fetch_add(&table_seq, 1));
	describe(h, o);
	return ipr_rules_install(&spec, &h->rules);
}

static const char *filter_kind(const struct ipr_filter *f)
{
	if (!f->prog)
		return "none";
	return f->user ? "user" : "kernel";
}

static void fill_info(struct ipr_handle *h)
{
	h->info.queue = h->queue.num;
	h->info.snaplen = h->snaplen;
	h->info.queue_kind =
		ipr_rules_queue_kind(h->rules) == IPR_QUEUE_NATIVE ? "native" : "compat";
	h->info.filter_kind = filter_kind(&h->filter);
	h->info.filter_insns = h->filter.prog_len;
	h->info.kernel_insns = h->filter.kernel_len;
}

static void free_handle(struct ipr_handle *h)
{
	ipr_filter_free(&h->filter);
	free(h);
}

IPR_EXPORT int ipr_open(const struct ipr_options *opts, struct ipr_handle **out)
{
	struct ipr_options o;
	struct ipr_handle *h;
	int err;

	err = copy_options(opts, &o);
	if (!err)
		err = check_options(&o);
	if (err)
		return err;
	h = calloc(1, sizeof(*h));
	if (!h)
		return ipr_fail(-ENOMEM, "out of memory");
	h->flags = o.flags;
	h->snaplen = o.snaplen;
	h->queue.fd = -1;
	err = ipr_filter_compile(o.filter, !!(o.flags & IPR_OPEN_USER_FILTER), &h->filter);
	if (err)
		goto fail;
	err = ipr_queue_open(&h->queue, o.queue, o.snaplen, o.queue_maxlen, o.flags);
	if (err)
		goto fail;
	err = install_rules(h, &o);
	if (err)
		goto fail_queue;
	fill_info(h);
	*out = h;
	return 0;
fail_queue:
	ipr_queue_close(&h->queue);
fail:
	free_handle(h);
	return err;
}

IPR_EXPORT int ipr_close(struct ipr_handle *h)
{
	int err;

	if (!h)
		return 0;
	ipr_rules_remove(h->rules); /* first: no new packets while we drain */
	err = ipr_queue_close(&h->queue);
	free_handle(h);
	return err;
}

IPR_EXPORT int ipr_fd(const struct ipr_handle *h)
{
	return h->queue.fd;
}

IPR_EXPORT int ipr_get_info(const struct ipr_handle *h, struct ipr_info *info)
{
	*info = h->info;
	return 0;
}

/* Packets that passed unredirected: queue full (matched but given no id) plus id gaps. */
static uint64_t failopen_count(const struct ipr_handle *h, uint64_t matched, uint64_t last_id)
{
	if (h->flags & IPR_OPEN_FAIL_CLOSED)
		return 0;
	return (matched > last_id ? matched - last_id : 0) + h->queue.id_gaps;
}

IPR_EXPORT int ipr_get_stats(struct ipr_handle *h, struct ipr_stats *st, size_t size)
{
	struct ipr_stats s = h->stats;
	uint64_t matched = 0, last_id = 0;
	int err;

	/* The rule counter first: a packet arriving between the reads is not miscounted. */
	err = ipr_rules_matched(h->rules, &matched);
	if (!err)
		err = ipr_queue_kernel_stats(&h->queue, &s.queue_dropped, &s.user_dropped,
					     &s.waiting, &last_id);
	if (!err)
		s.failopen = failopen_count(h, matched, last_id);
	memcpy(st, &s, size < sizeof(s) ? size : sizeof(s));
	return err;
}
