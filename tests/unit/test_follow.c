/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_follow.c - which CPU a queue's thread is pinned to (src/follow.c), fed with
 * the receives of the benchmark's workloads: ping from one CPU, ping moving to
 * the other CPU, bulk TCP, a flood of small datagrams, and wake-ups alternating
 * between CPUs (many short connections), which must not move the thread to and
 * fro at every turn.
 */
#include "check.h"
#include "internal.h"

/* A receive that slept for count packets, the first enqueued on cpu. */
static int woken(struct ipr_follow *f, int cpu, unsigned int count)
{
	struct ipr_follow_sample s = { .cpu = cpu, .count = count, .woken = 1 };

	return ipr_follow_note(f, &s);
}

/* A receive of count packets that found them waiting (or caught them polling). */
static int caught(struct ipr_follow *f, int cpu, unsigned int count, int bulk)
{
	struct ipr_follow_sample s = { .cpu = cpu, .count = count, .bulk = bulk };

	return ipr_follow_note(f, &s);
}

static struct ipr_follow fresh(void)
{
	struct ipr_follow f;

	ipr_follow_init(&f);
	return f;
}

/* Pings from CPU 1: the second wake-up moves the thread there, and it stays. */
static void sparse_moves_once(void)
{
	struct ipr_follow f = fresh();
	unsigned int moves = 0;

	CHECK(woken(&f, 1, 1) == IPR_FOLLOW_KEEP);
	CHECK(woken(&f, 1, 1) == 1);
	for (int i = 0; i < 100; i++) {
		moves += woken(&f, 1, 1) != IPR_FOLLOW_KEEP;
		moves += caught(&f, 1, 1, 0) != IPR_FOLLOW_KEEP; /* the echo reply */
	}
	CHECK(moves == 0);
	CHECK(f.cpu == 1);
}

/* The pinging process moves to CPU 0 after a long while: the thread follows. */
static void follows_a_move(void)
{
	struct ipr_follow f = fresh();
	int to = IPR_FOLLOW_KEEP;

	for (int i = 0; i < 100; i++)
		woken(&f, 1, 1);
	for (int i = 0; i < 2; i++)
		to = woken(&f, 0, 1);
	CHECK(to == 0);
	CHECK(f.cpu == 0);
}

/* Bulk (GSO) and floods (full batches) let the thread go, and never pin it. */
static void bulk_and_floods_release(void)
{
	struct ipr_follow f = fresh();
	unsigned int pins = 0;

	woken(&f, 0, 1);
	woken(&f, 0, 1);
	CHECK(f.cpu == 0);
	CHECK(caught(&f, 0, 1, 1) == IPR_FOLLOW_RELEASE);
	CHECK(f.cpu == -1);
	for (int i = 0; i < 1000; i++) {
		pins += caught(&f, i % 2, 64, 0) >= 0;
		pins += woken(&f, 0, 3) >= 0; /* a flood's batch after a sleep */
	}
	CHECK(pins == 0);
	CHECK(caught(&f, 0, 64, 0) == IPR_FOLLOW_KEEP); /* not pinned: nothing to release */
}

/* Wake-ups alternating between CPUs never make a run: the thread stays put. */
static void alternating_stays(void)
{
	struct ipr_follow f = fresh();
	unsigned int moves = 0;

	for (int i = 0; i < 1000; i++)
		moves += woken(&f, i % 2, 1) != IPR_FOLLOW_KEEP;
	CHECK(moves == 0);
}

/* Short runs from each CPU in turn: pins that do not last ask for longer runs,
 * so moves become rare; a pin that serves long enough makes moves cheap again. */
static void short_runs_back_off(void)
{
	struct ipr_follow f = fresh();
	unsigned int moves = 0, late = 0;

	for (int i = 0; i < 4000; i++) {
		int to = woken(&f, (i / 4) % 2, 1);

		moves += to != IPR_FOLLOW_KEEP;
		late += i >= 2000 && to != IPR_FOLLOW_KEEP;
	}
	CHECK(moves < 20);
	CHECK(late == 0);
	for (int i = 0; i < 2000; i++)
		woken(&f, 1, 1);
	CHECK(f.cpu == 1);
	CHECK(f.need == 2);
}

CHECK_MAIN("follow", CHECK_CASE(sparse_moves_once), CHECK_CASE(follows_a_move),
	   CHECK_CASE(bulk_and_floods_release), CHECK_CASE(alternating_stays),
	   CHECK_CASE(short_runs_back_off))
