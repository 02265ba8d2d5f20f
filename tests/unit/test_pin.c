/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * test_pin.c - a queue thread pinned to a CPU (src/pin.c): after a few sleeps
 * without waiting for its CPU it runs as SCHED_IDLE; beside a busy task it never
 * does; once another task kept it waiting it goes back to SCHED_OTHER (still
 * pinned) and needs twice the quiet sleeps to try again; let go, it has its mask
 * and policy back. A thread of another policy, or one that could not return from
 * SCHED_IDLE, keeps its policy.
 */
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "internal.h"

#define HOG_MS 60      /* a hog shares the pinned CPU this long */
#define QUIET_SLEEPS 4 /* as pin.c: quiet sleeps before SCHED_IDLE, at first */
#define SLEEPS_MAX 100 /* a sleep the machine delays starts the count again */
#define CONTENDED_NS 1000000 /* as pin.c: a wait this long ends SCHED_IDLE */
#define TRIES 10       /* idle stretches a busy machine may spoil */
#define STRETCH 2      /* quiet sleeps an idle stretch lasts: short, to fit between bursts */

static cpu_set_t mask_now(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	sched_getaffinity(0, sizeof(set), &set);
	return set;
}

static int first_cpu(const cpu_set_t *set)
{
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, set))
			return c;
	return -1;
}

static int only_on(int cpu)
{
	cpu_set_t set = mask_now();

	return CPU_COUNT(&set) == 1 && CPU_ISSET(cpu, &set);
}

/* A fresh pin of the calling thread to the first CPU it may use; that CPU. */
static int pin_first(struct ipr_pin *p)
{
	cpu_set_t mask = mask_now();
	int cpu = first_cpu(&mask);

	ipr_pin_init(p);
	ipr_pin_move(p, cpu);
	return cpu;
}

static void run_for_ms(unsigned int ms)
{
	uint64_t end = ipr_now_us() + ms * 1000ull;

	while (ipr_now_us() < end)
		;
}

/* sleeps quiet sleeps of the pinned thread; its policy after them. */
static int sleep_quietly(struct ipr_pin *p, unsigned int sleeps)
{
	for (unsigned int i = 0; i < sleeps; i++) {
		ipr_pin_check(p);
		usleep(2000);
	}
	return sched_getscheduler(0);
}

/* Sleeps until the pinned thread is SCHED_IDLE: whether it got there within SLEEPS_MAX. */
static int sleeps_until_idle(struct ipr_pin *p)
{
	for (unsigned int i = 0; i < SLEEPS_MAX; i++)
		if (sleep_quietly(p, 1) == SCHED_IDLE)
			return 1;
	return 0;
}

/* Whether the SCHED_IDLE pinned thread stays so through quiet sleeps: 1 if it
 * did, 0 if it left unprovoked, -1 if another task kept it waiting (it rightly left). */
static int stays_idle(struct ipr_pin *p, unsigned int sleeps)
{
	uint64_t before = p->waited; /* the wait pin.c read at its last check */

	if (sleep_quietly(p, sleeps) == SCHED_IDLE)
		return 1;
	return p->waited - before >= CONTENDED_NS ? -1 : 0;
}

/* A fresh pin of the calling thread, let go at the end: on one CPU, SCHED_IDLE
 * after quiet sleeps and so while nobody keeps it waiting; let go, the mask and
 * policy of before. As stays_idle(); -1 too if it never got idle. */
static int idle_stretch(void)
{
	cpu_set_t before = mask_now();
	struct ipr_pin p;
	int cpu = pin_first(&p), stayed = -1;

	CHECK(only_on(cpu));
	CHECK(sched_getscheduler(0) == SCHED_OTHER);
	CHECK(sleep_quietly(&p, QUIET_SLEEPS) == SCHED_OTHER); /* the first one only reads */
	if (sleeps_until_idle(&p))
		stayed = stays_idle(&p, STRETCH);
	ipr_pin_move(&p, -1);
	CHECK(sched_getscheduler(0) == SCHED_OTHER);
	cpu_set_t after = mask_now();
	CHECK(CPU_EQUAL(&before, &after));
	return stayed;
}

/* A busy machine may spoil a stretch (and a spoilt pin asks for more quiet sleeps
 * each time): a fresh pin tries again, TRIES times. */
static void idle_while_pinned(void)
{
	int stayed = -1;

	for (int try = 0; try < TRIES && stayed < 0; try++)
		stayed = idle_stretch();
	CHECK(stayed == 1);
}

static void *hog(void *arg)
{
	run_for_ms(HOG_MS);
	return arg;
}

/* A SCHED_OTHER thread on cpu that runs for HOG_MS. */
static int start_hog(pthread_t *t, int cpu)
{
	struct sched_param none = { 0 };
	pthread_attr_t attr;
	cpu_set_t one;
	int err;

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	pthread_attr_init(&attr);
	pthread_attr_setaffinity_np(&attr, sizeof(one), &one);
	pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&attr, SCHED_OTHER);
	pthread_attr_setschedparam(&attr, &none);
	err = pthread_create(t, &attr, hog, NULL);
	pthread_attr_destroy(&attr);
	return err;
}

/* Beside a busy task the pinned thread waits its turns: it never turns SCHED_IDLE. */
static void busy_cpu_never_idle(void)
{
	struct ipr_pin p;
	int cpu = pin_first(&p);
	pthread_t t;

	CHECK(start_hog(&t, cpu) == 0);
	for (int i = 0; i < 2 * QUIET_SLEEPS; i++) {
		run_for_ms(HOG_MS / (4 * QUIET_SLEEPS)); /* runnable beside the hog: sharing */
		ipr_pin_check(&p);
		CHECK(sched_getscheduler(0) == SCHED_OTHER);
	}
	pthread_join(t, NULL);
	ipr_pin_move(&p, -1);
}

/* Kept waiting by a hog while SCHED_IDLE, the thread is SCHED_OTHER again, still
 * pinned, and tries again after twice the quiet sleeps. */
static void contended_leaves_idle(void)
{
	struct ipr_pin p;
	int cpu = pin_first(&p);
	pthread_t t;

	CHECK(sleeps_until_idle(&p));
	CHECK(start_hog(&t, cpu) == 0);
	run_for_ms(HOG_MS / 2); /* runnable beside the hog: mostly waiting */
	ipr_pin_check(&p);
	CHECK(sched_getscheduler(0) == SCHED_OTHER);
	CHECK(only_on(cpu));
	pthread_join(t, NULL);
	CHECK(sleep_quietly(&p, 2 * QUIET_SLEEPS - 1) == SCHED_OTHER);
	CHECK(sleeps_until_idle(&p));
	ipr_pin_move(&p, -1);
	CHECK(sched_getscheduler(0) == SCHED_OTHER);
}

/* A thread the program runs as SCHED_BATCH stays so. */
static void other_policy_kept(void)
{
	struct sched_param none = { 0 };
	struct ipr_pin p;

	CHECK(sched_setscheduler(0, SCHED_BATCH, &none) == 0);
	pin_first(&p);
	CHECK(sleep_quietly(&p, 2 * QUIET_SLEEPS) == SCHED_BATCH);
	ipr_pin_move(&p, -1);
	CHECK(sched_getscheduler(0) == SCHED_BATCH);
	sched_setscheduler(0, SCHED_OTHER, &none);
}

/* Without CAP_SYS_NICE and with RLIMIT_NICE 0 there is no way back: no SCHED_IDLE. */
static int pinned_without_nice(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	struct rlimit none = { 0, 0 };
	struct ipr_pin p;
	int cpu;

	if (syscall(SYS_capget, &hdr, data) != 0)
		return 2;
	data[CAP_SYS_NICE / 32].effective &= ~(1u << (CAP_SYS_NICE % 32));
	if (syscall(SYS_capset, &hdr, data) != 0 || setrlimit(RLIMIT_NICE, &none) != 0)
		return 2;
	cpu = pin_first(&p);
	return sleep_quietly(&p, 2 * QUIET_SLEEPS) == SCHED_OTHER && only_on(cpu) ? 0 : 1;
}

static void no_way_back_no_idle(void)
{
	pid_t pid = fork();
	int status = -1;

	if (pid == 0)
		_exit(pinned_without_nice());
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

CHECK_MAIN("pin", CHECK_CASE(idle_while_pinned), CHECK_CASE(busy_cpu_never_idle),
	   CHECK_CASE(contended_leaves_idle), CHECK_CASE(other_policy_kept),
	   CHECK_CASE(no_way_back_no_idle))
