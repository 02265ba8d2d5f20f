/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pacing.c - when a queue's receive polls before it sleeps, and when it pauses so
 * a batch can fill: fixed (busy_poll_us, coalesce_us) or adapted to the arrival
 * pattern, as a NIC's adaptive interrupt moderation and NAPI's busy polling do.
 *
 * Adaptive polling: a trickle of small packets that arrive soon after the last
 * receive (request and answer) is caught by polling for about twice the usual
 * wait, since waking a sleeping thread costs more here than the wait itself. The
 * usual wait is kept apart for after an arriving and after a leaving packet: an
 * answer follows a request at once, the next request may be long in coming.
 * Bulk traffic (GSO packets, and the next BULK_QUIET receives: the acks between
 * them come in small batches too) and sparse traffic never poll; on a machine of
 * few CPUs a spinning thread takes the CPU the transfer needs.
 * Adaptive coalescing: after a partial batch of small packets, a pause is tried;
 * it goes on while pauses fill batches (an open-loop flood) and backs off
 * exponentially while they do not (request/response, where waiting only delays).
 * Each fruitless poll or pause doubles the receives before the next try.
 * Pure bookkeeping: no clock and no I/O here (tests/unit/test_pacing.c).
 */
#include "internal.h"

#define POLL_MIN_US 10      /* shortest adaptive poll worth a try */
#define POLL_MAX_US 50      /* longest: beyond it sleeping is cheaper */
#define PAUSE_US 100        /* an adaptive pause after a partial batch */
#define BACKOFF_MAX 1024    /* receives between tries at most */
#define PAUSE_FILL_SHARE 4  /* a pause paid when it brought max / this packets */
#define BULK_QUIET 64       /* receives after a GSO packet that neither poll nor pause */
#define GAP_CAP_US (4 * POLL_MAX_US) /* a long wait says "sparse"; its length adds nothing */

void ipr_pacing_init(struct ipr_pacing *p, unsigned int poll_us, unsigned int pause_us,
		     int adaptive)
{
	*p = (struct ipr_pacing){ .poll_us = poll_us, .pause_us = pause_us,
				  .adaptive = adaptive, .gap_us = { POLL_MAX_US + 1, POLL_MAX_US + 1 },
				  .poll_backoff = 1, .pause_backoff = 1 };
}

static unsigned int clamp(unsigned int v, unsigned int lo, unsigned int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* A try is due when its skip count has run out; counts one receive otherwise. */
static int try_due(unsigned int *skip)
{
	if (!*skip)
		return 1;
	--*skip;
	return 0;
}

/* After a try: a success tries again next time, a failure waits twice as long. */
static void try_done(unsigned int *skip, unsigned int *backoff, int paid)
{
	if (paid) {
		*backoff = 1;
		return;
	}
	*skip = *backoff;
	if (*backoff < BACKOFF_MAX)
		*backoff *= 2;
}

unsigned int ipr_pacing_poll(struct ipr_pacing *p)
{
	unsigned int gap = p->gap_us[p->last_in];

	if (!p->adaptive)
		return p->poll_pays ? p->poll_us : 0;
	if (p->bulk_quiet || p->last_count > IPR_TRICKLE_MAX || gap > POLL_MAX_US ||
	    !try_due(&p->poll_skip))
		return 0;
	return clamp(2 * gap, POLL_MIN_US, POLL_MAX_US);
}

unsigned int ipr_pacing_pause(struct ipr_pacing *p)
{
	if (!p->last_partial)
		return 0;
	if (!p->adaptive)
		return p->pause_us;
	if (p->bulk_quiet || !try_due(&p->pause_skip))
		return 0;
	return PAUSE_US;
}

void ipr_pacing_note(struct ipr_pacing *p, const struct ipr_pacing_sample *s)
{
	p->poll_pays = s->count > 0 && s->wait_us <= p->poll_us;
	if (s->polled_us)
		try_done(&p->poll_skip, &p->poll_backoff, s->count > 0 && s->wait_us <= s->polled_us);
	if (s->paused_us)
		try_done(&p->pause_skip, &p->pause_backoff,
			 s->count * PAUSE_FILL_SHARE >= s->max);
	if (s->count && !s->paused_us) {
		unsigned int *gap = &p->gap_us[p->last_in];

		*gap = (3 * *gap + clamp(s->wait_us, 0, GAP_CAP_US)) / 4;
		p->last_in = s->last_in;
	}
	p->last_count = s->count;
	if (s->bulk)
		p->bulk_quiet = BULK_QUIET;
	else if (p->bulk_quiet)
		p->bulk_quiet--;
	p->last_partial = s->count > 1 && s->count < s->max;
}
