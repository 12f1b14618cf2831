/* chaos.c: random delays at the scheduler's decision points, to make rare interleavings common.
 *
 * GREENVM_SCHED_CHAOS=SEED turns it on (off by default).  At each point
 * marked with sched_chaos() (runqput, wakep, stealing, park and ready,
 * entersyscall and exitsyscall, sysmon's retake, stopping the world; the
 * list is enum sched_chaos_point) the thread draws a number from its own
 * generator and, about half the time, yields the CPU, spins a little or
 * sleeps a few microseconds.  A race that needs one thread to stall
 * between two steps then happens in seconds instead of weeks.
 *
 * Reproducible from the seed: each M's generator starts from the seed and
 * the M's id, so the same run makes the same draws at the same points.
 * What the other threads do meanwhile still depends on the OS, so a seed
 * makes a failure likely again, not certain.
 *
 * Off, a point costs one load of sched_chaos_on and a branch that is never
 * taken.  Each action is a system call or a short loop, all fine on g0.
 */
#include <stdlib.h>
#include <time.h>

#include "scheduler/runtime.h"

bool sched_chaos_on;
static uint64_t chaos_seed;
/* this thread's generator; 0 until its first draw */
static __thread uint64_t chaos_state;

void sched_chaos_init(void)
{
	const char *s = getenv("GREENVM_SCHED_CHAOS");
	if (!s || !*s)
		return;
	chaos_seed = strtoull(s, NULL, 0);
	sched_chaos_on = true;
}

uint64_t sched_chaos_seed(void)
{
	return chaos_seed;
}

/* xorshift64*, seeded from the seed and the M's id (-1: not an M) */
static uint64_t draw(void)
{
	uint64_t x = chaos_state;
	if (x == 0) {
		int64_t id = sched_mself ? sched_mself->id : -1;
		x = (chaos_seed + 1) * 0x9e3779b97f4a7c15ull ^ (uint64_t)(id + 2) * 0xbf58476d1ce4e5b9ull;
		if (x == 0)
			x = 1;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	chaos_state = x;
	return x * 2685821657736338717ull;
}

void sched_chaos_slow(enum sched_chaos_point point)
{
	uint64_t r = draw() ^ (uint64_t)point;
	switch (r % 8) {
	case 0:
	case 1:
		sched_yield();
		break;
	case 2: /* a short spin: up to ~2000 pauses */
		for (uint64_t i = (r >> 8) % 2000; i > 0; i--)
			sched_cpu_relax();
		break;
	case 3: { /* a short sleep: up to 50 µs */
		struct timespec ts = { 0, (long)((r >> 8) % 50000) };
		nanosleep(&ts, NULL);
		break;
	}
	default: /* the other half of the time: nothing */
		break;
	}
}
