/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * pin.c - a queue's thread pinned to the CPU its packets come from (follow.c
 * says which): the thread's CPU mask and scheduling policy.
 *
 * A pinned thread that has run a while without waiting for its CPU turns
 * SCHED_IDLE. The program it wakes (the one an accepted packet is for) would
 * otherwise be placed on another, idle CPU, as the pinned thread still runs on
 * its own: its next packet then comes from there, the thread moves after it, and
 * thread and program chase each other, every wake-up crossing CPUs. A CPU that
 * runs only SCHED_IDLE tasks counts as free, so the program stays, and runs at
 * once. As SCHED_IDLE gives way to any other task, it is only for a CPU nobody
 * else wants: before each sleep the thread reads how long it waited runnable
 * (its schedstat run_delay). QUIET_SLEEPS sleeps in a row with hardly a wait make
 * it SCHED_IDLE; a long wait while SCHED_IDLE makes it SCHED_OTHER again, and it
 * asks for twice as many quiet sleeps before the next try.
 * The policy changes only from SCHED_OTHER and only where the thread may return
 * to it (RLIMIT_NICE, or CAP_SYS_NICE in the initial user namespace).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#define QUIET_NS 100000     /* waited less for the CPU since the last sleep: quiet */
#define CONTENDED_NS 1000000 /* waited this long while SCHED_IDLE: another task wants the CPU */
#define QUIET_SLEEPS 4       /* quiet sleeps in a row before SCHED_IDLE, at first */
#define QUIET_SLEEPS_MAX 1024
#define UNREAD UINT64_MAX    /* no wait read since the pin */

void ipr_pin_init(struct ipr_pin *p)
{
	*p = (struct ipr_pin){ .statfd = -1, .quiet_need = QUIET_SLEEPS };
}

static int has_cap_sys_nice(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	return !syscall(SYS_capget, &hdr, data) &&
	       (data[CAP_SYS_NICE / 32].effective >> (CAP_SYS_NICE % 32) & 1);
}

/* The initial user namespace maps every uid to itself; capabilities count there. */
static int read_initial_userns(void)
{
	FILE *f = fopen("/proc/self/uid_map", "re");
	unsigned long inside, outside, count;
	int initial;

	if (!f)
		return 0;
	initial = fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3 && !inside &&
		  !outside && count == 4294967295ul;
	fclose(f);
	return initial;
}

static int in_initial_userns(void)
{
	static int initial = -1; /* a process seldom changes its user namespace */

	if (initial < 0)
		initial = read_initial_userns();
	return initial;
}

/* Whether the calling thread may go from SCHED_IDLE back to SCHED_OTHER; asked at
 * each pin, as a program may give up its privileges meanwhile. */
static int may_leave_idle(void)
{
	struct rlimit rl;
	int nice;

	errno = 0;
	nice = getpriority(PRIO_PROCESS, 0);
	if (!errno && !getrlimit(RLIMIT_NICE, &rl) && rl.rlim_cur >= (rlim_t)(20 - nice))
		return 1;
	return has_cap_sys_nice() && in_initial_userns();
}

/* 0 or -1 (errno), as sched_setscheduler(). */
static int set_policy(pid_t tid, int policy)
{
	struct sched_param none = { 0 };

	return sched_setscheduler(tid, policy, &none);
}

/* Nanoseconds the thread of statfd has waited runnable; 0 if unknown. */
static uint64_t run_delay(int statfd)
{
	char buf[96];
	unsigned long long ran, waited;
	ssize_t n = pread(statfd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return 0;
	buf[n] = 0;
	return sscanf(buf, "%llu %llu", &ran, &waited) == 2 ? waited : 0;
}

static void leave_idle(struct ipr_pin *p)
{
	if (!p->idle)
		return;
	set_policy(p->tid, SCHED_OTHER);
	p->idle = 0;
}

/* Let the pinned thread go: its own policy and CPU mask back. */
static void release(struct ipr_pin *p)
{
	leave_idle(p);
	if (p->tid)
		sched_setaffinity(p->tid, sizeof(p->allowed), &p->allowed);
	if (p->statfd >= 0)
		close(p->statfd);
	p->tid = 0;
	p->statfd = -1;
}

/* Watch the newly pinned thread's waits, where it could turn SCHED_IDLE. */
static void watch(struct ipr_pin *p)
{
	if (sched_getscheduler(0) != SCHED_OTHER || !may_leave_idle())
		return;
	p->statfd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	p->waited = UNREAD; /* the first sleep reads it: moving here may have cost a wait */
	p->quiet = 0;
}

void ipr_pin_move(struct ipr_pin *p, int cpu)
{
	pid_t self = gettid();
	cpu_set_t one;

	if (cpu < 0 || (p->tid && p->tid != self))
		release(p); /* another thread receives now: it starts from its own mask */
	if (cpu < 0 || (!p->tid && sched_getaffinity(0, sizeof(p->allowed), &p->allowed)))
		return;
	if (!CPU_ISSET(cpu, &p->allowed))
		return; /* the program keeps this thread off that CPU */
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one))
		return;
	if (!p->tid)
		watch(p);
	p->tid = self;
}

/* What the wait since the last sleep says: turn SCHED_IDLE, or back. */
static void judge_wait(struct ipr_pin *p, uint64_t ns)
{
	if (p->idle) {
		if (ns < CONTENDED_NS)
			return;
		leave_idle(p);
		p->quiet = 0;
		if (p->quiet_need < QUIET_SLEEPS_MAX)
			p->quiet_need *= 2;
	} else if (ns >= QUIET_NS) {
		p->quiet = 0;
	} else if (++p->quiet >= p->quiet_need) {
		p->idle = !set_policy(0, SCHED_IDLE);
	}
}

void ipr_pin_check(struct ipr_pin *p)
{
	uint64_t waited;

	if (p->statfd < 0 || p->tid != gettid())
		return;
	waited = run_delay(p->statfd);
	if (p->waited != UNREAD)
		judge_wait(p, waited - p->waited);
	p->waited = waited;
}
