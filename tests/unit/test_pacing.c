/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_pacing.c - when a queue's receive polls and pauses (src/pacing.c), fed with
 * the arrival patterns of the benchmark's workloads: a ping-pong trickle, a flood
 * of small datagrams, bulk TCP (GSO packets), sparse traffic, request/response
 * bursts; and the fixed pacing of --busy-poll/--coalesce as before.
 */
#include "check.h"
#include "internal.h"

#define MAX 64

/* One blocking receive: ask the pacing, then tell it what came. */
static void receive(struct ipr_pacing *p, unsigned int count, unsigned int gap_us, int bulk,
		    unsigned int *polled, unsigned int *paused)
{
	struct ipr_pacing_sample s = { .count = count, .max = MAX, .bulk = bulk };

	s.paused_us = ipr_pacing_pause(p);
	s.polled_us = ipr_pacing_poll(p);
	s.wait_us = gap_us;
	ipr_pacing_note(p, &s);
	*polled = s.polled_us;
	*paused = s.paused_us;
}

/* Receives of count packets each gap_us apart; how many of them polled and paused. */
static void run(struct ipr_pacing *p, unsigned int n, unsigned int count, unsigned int gap_us,
		int bulk, unsigned int *polls, unsigned int *pauses)
{
	unsigned int polled, paused;

	*polls = *pauses = 0;
	for (unsigned int i = 0; i < n; i++) {
		receive(p, count, gap_us, bulk, &polled, &paused);
		*polls += !!polled;
		*pauses += !!paused;
	}
}

static struct ipr_pacing adaptive(void)
{
	struct ipr_pacing p;

	ipr_pacing_init(&p, 0, 0, 1);
	return p;
}

/* Request and answer 15 us apart: after a few receives every one polls, ~30 us. */
static void trickle_polls(void)
{
	struct ipr_pacing p = adaptive();
	unsigned int polls, pauses;

	run(&p, 10, 1, 15, 0, &polls, &pauses);
	run(&p, 100, 1, 15, 0, &polls, &pauses);
	CHECK(polls == 100);
	CHECK(pauses == 0);
	CHECK(ipr_pacing_poll(&p) >= 15 && ipr_pacing_poll(&p) <= 50);
}

/* A packet every millisecond: never worth spinning for. */
static void sparse_never_polls(void)
{
	struct ipr_pacing p = adaptive();
	unsigned int polls, pauses;

	run(&p, 100, 1, 1000, 0, &polls, &pauses);
	CHECK(polls == 0 && pauses == 0);
}

/* Bulk transfer (GSO packets) neither polls nor pauses, however short the gaps. */
static void bulk_neither(void)
{
	struct ipr_pacing p = adaptive();
	unsigned int polls, pauses;

	run(&p, 100, 1, 3, 1, &polls, &pauses);
	CHECK(polls == 0);
	run(&p, 100, 10, 3, 1, &polls, &pauses);
	CHECK(polls == 0 && pauses == 0);
}

/* A flood of small datagrams: partial batches make it pause; the pauses fill
 * batches, so it keeps pausing. */
static void flood_pauses(void)
{
	struct ipr_pacing p = adaptive();
	unsigned int polled, paused, pauses = 0;

	receive(&p, 5, 2, 0, &polled, &paused);
	for (int i = 0; i < 100; i++) {
		receive(&p, 40, 1, 0, &polled, &paused);
		pauses += !!paused;
	}
	CHECK(pauses == 100);
}

/* Request/response bursts of a few packets: a pause brings no more, so pauses back
 * off exponentially: few in a thousand receives, yet never none for good. */
static void closed_loop_backs_off(void)
{
	struct ipr_pacing p = adaptive();
	unsigned int polls, pauses;

	run(&p, 1000, 4, 20, 0, &polls, &pauses);
	CHECK(pauses >= 5 && pauses <= 12);
	run(&p, 4000, 4, 20, 0, &polls, &pauses);
	CHECK(pauses >= 2 && pauses <= 5);
}

/* A poll that finds nothing backs off; one that finds a packet polls again. */
static void fruitless_polls_back_off(void)
{
	struct ipr_pacing p = adaptive();
	struct ipr_pacing_sample s = { .count = 1, .max = MAX };
	unsigned int polls, pauses;

	run(&p, 20, 1, 10, 0, &polls, &pauses);
	polls = 0;
	for (int i = 0; i < 200; i++) {
		s.polled_us = ipr_pacing_poll(&p);
		polls += !!s.polled_us;
		s.wait_us = s.polled_us ? s.polled_us + 5 : 12; /* slept past the poll */
		ipr_pacing_note(&p, &s);
	}
	CHECK(polls >= 4 && polls <= 10);
	s.wait_us = 10; /* the pattern comes back */
	for (int i = 0; i < 300; i++) {
		s.polled_us = ipr_pacing_poll(&p);
		ipr_pacing_note(&p, &s);
	}
	CHECK(ipr_pacing_poll(&p) > 0);
}

/* Ping: the answer leaves 5 us after the request arrived, the next request comes
 * 2 ms later: poll after each request, never after an answer. */
static void ping_polls_for_answers(void)
{
	struct ipr_pacing p = adaptive();
	struct ipr_pacing_sample s = { .count = 1, .max = MAX };
	unsigned int after_in = 0, after_out = 0;

	for (int i = 0; i < 200; i++) {
		int answer = i % 2; /* this receive brings the answer */
		unsigned int polled = ipr_pacing_poll(&p);

		s.polled_us = polled;
		s.wait_us = answer ? 5 : 2000;
		s.last_in = !answer;
		if (i >= 20) {
			after_in += answer && polled;
			after_out += !answer && polled;
		}
		ipr_pacing_note(&p, &s);
	}
	CHECK(after_in == 90);
	CHECK(after_out == 0);
}

/* A TCP transfer: GSO batches with batches of one or two acks between them, 5 us
 * apart. The acks alone look like a trickle; within a transfer they never poll
 * or pause. */
static void acks_of_bulk_neither(void)
{
	struct ipr_pacing p = adaptive();
	unsigned int polls = 0, pauses = 0, polled, paused;

	for (int i = 0; i < 1000; i++) {
		receive(&p, 3, 5, 1, &polled, &paused);
		polls += !!polled;
		pauses += !!paused;
		for (int j = 0; j < 4; j++) {
			receive(&p, 1 + j % 2, 5, 0, &polled, &paused);
			polls += !!polled;
			pauses += !!paused;
		}
	}
	CHECK(polls == 0 && pauses == 0);
}

/* Fixed pacing: --busy-poll while packets come within it, --coalesce after every
 * partial batch; 0 is off. */
static void fixed(void)
{
	struct ipr_pacing p;
	unsigned int polls, pauses;

	ipr_pacing_init(&p, 50, 0, 0);
	run(&p, 10, 1, 20, 0, &polls, &pauses);
	CHECK(polls == 9 && pauses == 0);
	run(&p, 10, 1, 80, 0, &polls, &pauses);
	CHECK(polls == 1);
	ipr_pacing_init(&p, 0, 100, 0);
	run(&p, 10, 4, 20, 1, &polls, &pauses);
	CHECK(polls == 0 && pauses == 9);
	ipr_pacing_init(&p, 0, 0, 0);
	run(&p, 10, 4, 5, 0, &polls, &pauses);
	CHECK(polls == 0 && pauses == 0);
}

CHECK_MAIN("pacing", CHECK_CASE(trickle_polls), CHECK_CASE(sparse_never_polls),
	   CHECK_CASE(bulk_neither), CHECK_CASE(acks_of_bulk_neither), CHECK_CASE(flood_pauses), CHECK_CASE(closed_loop_backs_off),
	   CHECK_CASE(fruitless_polls_back_off), CHECK_CASE(ping_polls_for_answers),
	   CHECK_CASE(fixed))
