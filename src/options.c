/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* options.c - struct ipr_options copied, completed and checked, in this one place. */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DEFAULT_QUEUE_MAXLEN 8192
#define QUEUE_MAXLEN_MAX (1u << 20)
#define SNAPLEN_MIN 40 /* an IPv6 header */
#define DEADLINE_MAX_MS (24u * 3600 * 1000)
#define WAIT_MAX_US 1000000u /* busy polling and coalescing: at most 1 s */
#define KNOWN_FLAGS                                                                            \
	(IPR_OPEN_FAIL_CLOSED | IPR_OPEN_NO_GSO | IPR_OPEN_QUEUE_COMPAT | IPR_OPEN_QUEUE_NATIVE | \
	 IPR_OPEN_USER_FILTER | IPR_OPEN_MONITOR | IPR_OPEN_BYPASS | IPR_OPEN_EXPIRE_DROP |      \
	 IPR_OPEN_NO_LOOPBACK_IN | IPR_OPEN_SEND_ONLY | IPR_OPEN_INJECT_BELOW | IPR_OPEN_PROCESS |  \
	 IPR_OPEN_FIXED_PACING | IPR_OPEN_FOLLOW_CPU)
#define RCVBUF_MIN 65536
#define RCVBUF_MAX (1u << 30)

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
	if (o->busy_poll_us || o->coalesce_us)
		o->flags |= IPR_OPEN_FIXED_PACING; /* an explicit pace is kept as given */
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

static int check_interface(const char *what, const char *name)
{
	if (name && (!*name || strlen(name) >= IFNAMSIZ))
		return ipr_fail(-EINVAL, "%s \"%s\": names have 1 to %d characters", what, name,
				IFNAMSIZ - 1);
	return 0;
}

static int check_interfaces(const struct ipr_options *o)
{
	int err = check_interface("input interface", o->in_interface);

	if (!err)
		err = check_interface("output interface", o->out_interface);
	return err ? err : check_interface("interface", o->interface);
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
	if (o->cgroup && (o->layers & IPR_LAYER_FORWARD))
		return ipr_fail(-EINVAL, "forwarded packets have no local socket: a cgroup "
					 "applies to the in and out layers only");
	return 0;
}

static int check_marks(const struct ipr_options *o)
{
	if ((o->bypass_mark & ~o->bypass_mask) || (o->inject_mark & ~o->inject_mask))
		return ipr_fail(-EINVAL, "a mark has bits outside its mask");
	if (o->bypass_mask & o->inject_mask)
		return ipr_fail(-EINVAL, "bypass mask 0x%x and inject mask 0x%x overlap",
				o->bypass_mask, o->inject_mask);
	if (o->inject_mask & IPR_INJECT_LEVEL_MASK)
		return ipr_fail(-EINVAL, "inject mask 0x%x overlaps the inject level bits 0x%x",
				o->inject_mask, IPR_INJECT_LEVEL_MASK);
	return 0;
}

static int check_queues(const struct ipr_options *o)
{
	if (o->queues > IPR_QUEUES_MAX)
		return ipr_fail(-EINVAL, "%u queues: at most %d", o->queues, IPR_QUEUES_MAX);
	if ((uint64_t)o->queue + o->queues - 1 > 65535)
		return ipr_fail(-EINVAL, "queues %u to %llu: queue numbers go up to 65535",
				o->queue, (unsigned long long)o->queue + o->queues - 1);
	return ipr_param_check(IPR_PARAM_QUEUE_MAXLEN, o->queue_maxlen);
}

static int check_wait(const char *what, unsigned int us)
{
	return us > WAIT_MAX_US ? ipr_fail(-EINVAL, "%s %u us: at most %u", what, us, WAIT_MAX_US)
				: 0;
}

static int check_ranges(const struct ipr_options *o)
{
	if (o->priority > IPR_PRIORITY_MAX || o->priority < -IPR_PRIORITY_MAX)
		return ipr_fail(-EINVAL, "priority %d: allowed range is %d to %d", o->priority,
				-IPR_PRIORITY_MAX, IPR_PRIORITY_MAX);
	if (o->snaplen < SNAPLEN_MIN || o->snaplen > IPR_SNAPLEN_MAX)
		return ipr_fail(-EINVAL, "snap length %u: allowed range is %d to %d", o->snaplen,
				SNAPLEN_MIN, IPR_SNAPLEN_MAX);
	if (ipr_param_check(IPR_PARAM_DEADLINE_MS, o->deadline_ms))
		return -EINVAL;
	if (check_wait("busy poll", o->busy_poll_us))
		return -EINVAL;
	return check_wait("coalescing", o->coalesce_us);
}

static int check_flags(unsigned int flags)
{
	if (flags & ~KNOWN_FLAGS)
		return ipr_fail(-EINVAL, "unknown open flags 0x%x", flags & ~KNOWN_FLAGS);
	if ((flags & IPR_OPEN_QUEUE_COMPAT) && (flags & IPR_OPEN_QUEUE_NATIVE))
		return ipr_fail(-EINVAL, "the queue cannot be both native and compat");
	if ((flags & IPR_OPEN_SEND_ONLY) && (flags & IPR_OPEN_MONITOR))
		return ipr_fail(-EINVAL, "a send-only handle takes no packets to monitor");
	return 0;
}

int ipr_options_load(const struct ipr_options *in, struct ipr_options *out)
{
	int err = copy_options(in, out);

	if (err)
		return err;
	fill_defaults(out);
	err = check_flags(out->flags);
	if (!err)
		err = check_ranges(out);
	if (!err)
		err = check_interfaces(out);
	if (!err)
		err = check_layers(out);
	if (!err)
		err = check_marks(out);
	return err ? err : check_queues(out);
}

int ipr_engine_allowed(const char *name)
{
	const char *want = getenv("IPREDIR_MONITOR_ENGINE");

	return !want || !*want || strcmp(want, name) == 0;
}

int ipr_param_known(enum ipr_param param)
{
	if ((unsigned int)param > IPR_PARAM_RCVBUF)
		return ipr_fail(-EINVAL, "unknown parameter %d", (int)param);
	return 0;
}

int ipr_param_check(enum ipr_param param, uint64_t value)
{
	switch (param) {
	case IPR_PARAM_QUEUE_MAXLEN:
		if (value < 1 || value > QUEUE_MAXLEN_MAX)
			return ipr_fail(-EINVAL, "queue length %llu: allowed 1 to %u",
					(unsigned long long)value, QUEUE_MAXLEN_MAX);
		return 0;
	case IPR_PARAM_DEADLINE_MS:
		if (value > DEADLINE_MAX_MS)
			return ipr_fail(-EINVAL, "verdict deadline %llu ms: at most %u",
					(unsigned long long)value, DEADLINE_MAX_MS);
		return 0;
	case IPR_PARAM_RCVBUF:
		if (value < RCVBUF_MIN || value > RCVBUF_MAX)
			return ipr_fail(-EINVAL, "receive buffer of %llu bytes: allowed %u to %u",
					(unsigned long long)value, RCVBUF_MIN, RCVBUF_MAX);
		return 0;
	}
	return ipr_param_known(param);
}

int ipr_options_fit(const struct ipr_options *o, const struct ipr_engine *e)
{
	if (e->holds)
		return 0;
	if (o->queues > 1)
		return ipr_fail(-EINVAL, "a monitor handle has no queues to spread over");
	if (o->busy_poll_us || o->coalesce_us)
		return ipr_fail(-EINVAL, "busy polling and coalescing pace a queue: a monitor "
					 "handle has none (the kernel batches its copies)");
	return 0;
}
