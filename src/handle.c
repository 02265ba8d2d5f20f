/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * handle.c - open and close: options, filter, engine, rules, in that order, and
 * undone in reverse. The data path is engine.c and the engine chosen here.
 */
#include <errno.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

/* The engines in order of preference: a handle gets the first that serves its options
 * (and opens: an observer gives way to the next observer that serves them). */
static const struct ipr_engine *const engines[] = {
	&ipr_engine_sendonly,
	&ipr_engine_bpfmon,
	&ipr_engine_nflog,
	&ipr_engine_nfqueue,
};

static const struct ipr_engine *choose_engine(const struct ipr_options *o)
{
	size_t i = 0;

	while (i + 1 < sizeof(engines) / sizeof(engines[0]) && !engines[i]->serves(o))
		i++;
	return engines[i]; /* the last serves every handle */
}

/* A new handle: the owner when owner is NULL, else a member sharing its state. */
static struct ipr_handle *new_handle(const struct ipr_options *o, struct ipr_handle *owner)
{
	struct ipr_handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->owner = owner ? owner : h;
	h->engine = choose_engine(o);
	h->fd = -1;
	h->flags = o->flags;
	h->snaplen = o->snaplen;
	h->bypass_mark = o->bypass_mark;
	h->bypass_mask = o->bypass_mask;
	h->inject.raw4 = h->inject.raw6 = h->inject.tun = -1;
	for (unsigned int i = 0; i < IPR_INGRESS_MAX; i++)
		h->ingress[i] = (struct ipr_ingress){ .fd = -1, .tun = -1 };
	h->inject.mark = o->inject_mark;
	if (o->flags & IPR_OPEN_INJECT_BELOW)
		h->inject.mark |= ipr_inject_level(o->priority);
	h->inject_mark = o->inject_mark;
	h->inject_mask = o->inject_mask;
	if (owner)
		h->filter = owner->filter;
	return h;
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

/* Close every member's engine and injection; returns the first error. */
static int close_members(struct ipr_handle *h)
{
	int err = 0;

	for (unsigned int i = 0; i < h->nmembers; i++) {
		int e = h->engine->close(h->members[i]);

		ipr_inject_close(&h->members[i]->inject);
		ipr_ingress_close(h->members[i]);
		if (e && !err)
			err = e;
	}
	return err;
}

static void free_handle(struct ipr_handle *h)
{
	ipr_process_close(h);
	for (unsigned int i = 1; i < h->nmembers; i++)
		free(h->members[i]);
	free(h->members);
	ipr_filter_free(&h->filter);
	free(h);
}

/* Inject mark, tun devices, and (for an engine that holds packets) offloaded flows. */
static void spec_marks(struct ipr_rules_spec *spec, const struct ipr_handle *h,
		       const struct ipr_options *o)
{
	spec->inject_mark = o->inject_mark;
	spec->inject_mask = o->inject_mask;
	spec->skip_iifname_prefix = IPR_TUN_PREFIX;
	spec->skip_loopback_in = !!(o->flags & IPR_OPEN_NO_LOOPBACK_IN);
	if (!(o->flags & IPR_OPEN_BYPASS) || !h->engine->holds)
		return; /* the ct mark rules would turn on connection tracking */
	spec->bypass_mark = o->bypass_mark;
	spec->bypass_mask = o->bypass_mask;
}

static int install_rules(struct ipr_handle *h, const struct ipr_options *o,
			 const struct ipr_rules_action *act)
{
	struct ipr_rules_spec spec = {
		.table = h->info.table,
		.comment = h->comment,
		.layers = act->kind == IPR_ACTION_TABLE ? 0 : o->layers, /* no chains */
		.interface = o->interface,
		.in_interface = o->in_interface,
		.out_interface = o->out_interface,
		.priority = o->priority,
		.action = *act,
		.bpf = h->filter.kernel,
		.bpf_len = h->filter.kernel_len,
	};
	const char *describe;
	int err = 0;

	if (act->kind == IPR_ACTION_NONE)
		return 0; /* nothing to take: no table */
	spec_marks(&spec, h, o);
	if (o->cgroup)
		err = ipr_cgroup_resolve(o->cgroup, &spec.cgroup_id, &spec.cgroup_level);
	if (err)
		return err;
	ipr_table_name(h->info.table, sizeof(h->info.table));
	describe = o->describe;
	if (ipr_comment_format(h->comment, sizeof(h->comment), o, act,
			       describe ? describe : o->filter) && !describe)
		describe = o->filter; /* too long for the comment: whole after it */
	if (describe)
		ipr_cut_text(h->describe, sizeof(h->describe), describe);
	spec.describe = describe ? h->describe : NULL;
	return ipr_rules_install(&spec, &h->rules);
}

/* The socket's receive buffer as set (the kernel reports twice what it keeps for data). */
static uint64_t rcvbuf_of(int fd)
{
	int size = 0;
	socklen_t len = sizeof(size);

	if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, &len) < 0)
		return 0;
	return (uint64_t)size / 2;
}

static void fill_info(struct ipr_handle *h, const struct ipr_options *o,
		      const struct ipr_rules_action *act)
{
	h->params[IPR_PARAM_QUEUE_MAXLEN] = o->queue_maxlen;
	h->params[IPR_PARAM_DEADLINE_MS] = o->deadline_ms;
	h->params[IPR_PARAM_RCVBUF] = rcvbuf_of(h->fd);
	h->info.snaplen = h->snaplen;
	h->info.queue_kind = h->rules && ipr_rules_queue_kind(h->rules) == IPR_QUEUE_COMPAT ?
				     "compat" : "native";
	h->info.filter_kind = ipr_filter_kind(&h->filter);
	h->info.filter_insns = h->filter.prog_len;
	h->info.kernel_insns = h->filter.kernel_len;
	for (unsigned int i = 0; i < h->nmembers; i++) {
		h->members[i]->info = h->info;
		h->members[i]->info.queue = act->first + i;
	}
}

/* The next engine after e that serves o as e does (an observer for an observer), or NULL. */
static const struct ipr_engine *next_engine(const struct ipr_engine *e,
					    const struct ipr_options *o)
{
	const size_t n = sizeof(engines) / sizeof(engines[0]);
	size_t i = 0;

	while (i < n && engines[i] != e)
		i++;
	while (++i < n)
		if (engines[i]->holds == e->holds && engines[i]->serves(o))
			return engines[i];
	return NULL;
}

/* Open the chosen engine, or where it cannot open (the kernel refuses BPF), the next one
 * that serves the handle: one warning says why. */
static int open_engine(struct ipr_handle *h, const struct ipr_options *o,
		       struct ipr_rules_action *act)
{
	const struct ipr_engine *e = h->engine, *next;
	int err = e->open(h, o, act);

	if (!err || !(next = next_engine(e, o)))
		return err;
	ipr_log(IPR_LOG_WARN, "the %s engine cannot serve this handle: %s; using %s instead",
		e->name, ipr_last_error(), next->name);
	for (unsigned int i = 0; i < h->nmembers; i++)
		h->members[i]->engine = next;
	return next->open(h, o, act);
}

/* Options checked once, for the engine that will serve them. */
static int load_options(const struct ipr_options *in, struct ipr_options *o)
{
	int err = ipr_options_load(in, o);

	return err ? err : ipr_options_fit(o, choose_engine(o));
}

IPR_EXPORT int ipr_open(const struct ipr_options *opts, struct ipr_handle **out)
{
	struct ipr_rules_action act;
	struct ipr_options o;
	struct ipr_handle *h;
	int err;

	if (!out)
		return ipr_fail(-EINVAL, "no place for the handle: pass &handle");
	err = load_options(opts, &o);
	if (err)
		return err;
	h = new_handle(&o, NULL);
	if (!h)
		return ipr_fail(-ENOMEM, "out of memory");
	err = ipr_filter_compile(o.filter, !!(o.flags & IPR_OPEN_USER_FILTER), &h->filter);
	if (!err)
		err = alloc_members(h, &o);
	if (!err)
		err = ipr_process_open(h, &o);
	if (!err)
		err = open_engine(h, &o, &act);
	if (err)
		goto fail;
	err = install_rules(h, &o, &act);
	if (err)
		goto fail_engine;
	fill_info(h, &o, &act);
	*out = h;
	return 0;
fail_engine:
	close_members(h);
fail:
	free_handle(h);
	return err;
}

IPR_EXPORT int ipr_close(struct ipr_handle *h)
{
	int err;

	if (!h)
		return 0;
	if (h->owner != h)
		return ipr_fail(-EINVAL, "close the handle ipr_open returned, not a queue's");
	/* No new packets, then answer every held one, and only then unhook. */
	if (h->rules)
		ipr_rules_detach(h->rules);
	err = close_members(h);
	ipr_rules_remove(h->rules);
	free_handle(h);
	return err;
}

IPR_EXPORT int ipr_shutdown(struct ipr_handle *h)
{
	int err = 0;

	if (h->owner != h)
		return ipr_fail(-EINVAL, "shut down the handle ipr_open returned, not a queue's");
	if (h->rules)
		err = ipr_rules_detach(h->rules);
	__atomic_store_n(&h->shut, 1, __ATOMIC_RELEASE);
	for (unsigned int i = 0; i < h->nmembers; i++)
		if (h->engine->wake)
			h->engine->wake(h->members[i]);
	return err;
}

IPR_EXPORT int ipr_set_param(struct ipr_handle *h, enum ipr_param param, uint64_t value)
{
	int err = ipr_param_check(param, value);

	h = h->owner;
	if (!err && !h->engine->set_param)
		err = ipr_fail(-EINVAL, "a %s handle has no parameters to change", h->engine->name);
	for (unsigned int i = 0; i < h->nmembers && !err; i++)
		err = h->engine->set_param(h->members[i], param, value);
	if (!err)
		h->params[param] = value;
	return err;
}

IPR_EXPORT int ipr_get_param(struct ipr_handle *h, enum ipr_param param, uint64_t *value)
{
	int err = ipr_param_known(param);

	if (!err)
		*value = h->owner->params[param];
	return err;
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
