/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * follow.c - which CPU a queue's thread runs on: the one that enqueues the
 * packets it sleeps for. Waking a thread asleep on another CPU costs an
 * inter-processor interrupt and, on a virtual machine, the wake-up of an idle
 * vCPU: ping through passthru -q 1 added 73 us with the thread on the other
 * CPU, 14 us with it on ping's. So while a queue's thread is woken by packets
 * from one CPU, a few times in a row, it is pinned there; a batch of several
 * packets or a GSO packet (bulk traffic, where the thread seldom sleeps and the
 * scheduler should spread the load) lets it go. A pin that does not last makes
 * the next one wait for a longer run.
 * Pure bookkeeping: no I/O here (tests/unit/test_follow.c).
 */
#include "internal.h"

#define STREAK_MIN 2   /* wake-ups in a row from one CPU before the thread moves */
#define STREAK_MAX 256 /* the longest run asked for after pins that did not last */
#define SETTLED 32     /* wake-ups in a row a pin must serve to count as a good move */

void ipr_follow_init(struct ipr_follow *f)
{
	*f = (struct ipr_follow){ .cpu = -1, .candidate = -1, .need = STREAK_MIN };
}

/* A pin that served fewer than SETTLED wake-ups was not worth its move. */
static void judge_pin(struct ipr_follow *f)
{
	if (f->cpu >= 0 && f->served < SETTLED && f->need < STREAK_MAX)
		f->need *= 2;
}

static int release(struct ipr_follow *f)
{
	f->streak = 0;
	if (f->cpu < 0)
		return IPR_FOLLOW_KEEP;
	judge_pin(f);
	f->cpu = -1;
	return IPR_FOLLOW_RELEASE;
}

/* A wake-up by a packet from cpu. */
static int woken_from(struct ipr_follow *f, int cpu)
{
	if (cpu == f->cpu) {
		if (++f->served == SETTLED)
			f->need = STREAK_MIN;
		f->streak = 0;
		return IPR_FOLLOW_KEEP;
	}
	f->served = 0; /* a pin settles on wake-ups in a row only */
	f->streak = cpu == f->candidate ? f->streak + 1 : 1;
	f->candidate = cpu;
	if (f->streak < f->need)
		return IPR_FOLLOW_KEEP;
	judge_pin(f);
	f->cpu = cpu;
	f->served = 0;
	f->streak = 0;
	return cpu;
}

int ipr_follow_note(struct ipr_follow *f, const struct ipr_follow_sample *s)
{
	if (s->bulk || s->count > IPR_TRICKLE_MAX)
		return release(f);
	if (!s->woken || s->cpu < 0 || !s->count)
		return IPR_FOLLOW_KEEP;
	return woken_from(f, s->cpu);
}
