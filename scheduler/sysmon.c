/* sysmon.c: the system monitor, a thread without a P (Go's sysmon).
 *
 * It wakes every 20 µs, backing off to 10 ms while it takes no P from a
 * syscall (preempting does not count, as in Go), and looks at every P:
 *   - a P running the same G for 10 ms or more: ask that G to yield (its M's
 *     preempt flag, read by the interpreter at taken jumps and calls);
 *   - a P whose M has been in one FFI call for 20 µs or more, with work
 *     waiting for it: take the P (CAS P_SYSCALL -> P_IDLE) and hand it to
 *     another M, so other goroutines keep running (Go's retake).
 * Sysmon does not run in deterministic mode: there nothing may depend on
 * the clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "scheduler/runtime.h"

#define SYSMON_PREEMPT_NS (10 * 1000 * 1000)
#define SYSMON_SYSCALL_NS (20 * 1000)

/* What sysmon saw of one P last time (Go's sysmontick). */
typedef struct pwatch {
	uint64_t schedtick, syscalltick;
	int64_t schedwhen, syscallwhen;
} pwatch;

static void sleep_us(int64_t us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

/* Look at every P once; true if it took a P from a syscall.  Asking a G
 * to yield does not count, as in Go's retake (whose n counts handoffs
 * only): a CPU-bound program preempted every 10 ms would otherwise keep
 * sysmon waking every 20 µs, thousands of times a second, each time
 * taking a core from a running M. */
static bool retake(pwatch *w, int64_t now)
{
	bool acted = false;
	if (atomic_load(&sched.stw)) /* the world is stopped: hands off */
		return false;
	for (int i = 0; i < sched.nprocs; i++) {
		sched_p *pp = &sched.allp[i];
		uint32_t s = atomic_load(&pp->status);
		if (s != P_RUNNING && s != P_SYSCALL)
			continue;
		/* The same G on the P for 10 ms, whether it computes or makes
		 * one C call after another (a call that returns to its own P
		 * does not move schedtick): ask it to yield, and, as Go's
		 * sysretake, take the P from its syscall even if the calls
		 * are short.  Otherwise a G in a loop of 50 µs calls keeps its
		 * P for ever, with other goroutines runnable. */
		bool sysretake = false;
		uint64_t t = atomic_load(&pp->schedtick);
		if (t != w[i].schedtick) {
			w[i].schedtick = t;
			w[i].schedwhen = now;
		} else if (now - w[i].schedwhen >= SYSMON_PREEMPT_NS) {
			sched_m *m = __atomic_load_n(&pp->m, __ATOMIC_ACQUIRE);
			if (m)
				atomic_store(&m->preempt, true);
			w[i].schedwhen = now; /* ask again in 10 ms if ignored */
			sysretake = true;
		}
		if (s != P_SYSCALL)
			continue;
		uint64_t st = atomic_load(&pp->syscalltick);
		if (!sysretake && st != w[i].syscalltick) {
			w[i].syscalltick = st;
			w[i].syscallwhen = now;
			continue;
		}
		/* Leave it if nobody needs it: no work queued, and Ms are
		 * already idle or spinning to pick up new work. */
		if (sched_runqempty(pp) && atomic_load(&sched.runqsize) == 0 &&
		    atomic_load(&sched.nmspinning) + atomic_load(&sched.npidle) > 0 &&
		    now - w[i].syscallwhen < SYSMON_PREEMPT_NS)
			continue;
		if (!sysretake && now - w[i].syscallwhen < SYSMON_SYSCALL_NS)
			continue;
		if (sched_sysmon_retake(pp)) {
			w[i].syscalltick = atomic_load(&pp->syscalltick);
			acted = true;
		}
	}
	return acted;
}

/* The run queue length of pp, runnext included. */
static uint32_t runqlen(sched_p *pp)
{
	uint32_t n = atomic_load(&pp->runqtail) - atomic_load(&pp->runqhead);
	return n + (atomic_load(&pp->runnext) != NULL);
}

/* The goroutine id of g, -1 for none. */
static long long goid(sched_g *g)
{
	return g ? (long long)g->goid : -1;
}

void sched_schedtrace(FILE *out, int64_t ms, bool detail)
{
	fprintf(out,
		"SCHED %lldms: gomaxprocs=%d idleprocs=%d threads=%d spinningthreads=%d "
		"idlethreads=%d insyscall=%d runqueue=%lld [",
		(long long)ms, sched.nprocs, atomic_load(&sched.npidle), sched.mcount,
		atomic_load(&sched.nmspinning), sched.nmidle, atomic_load(&sched.nmsyscall),
		(long long)atomic_load(&sched.runqsize));
	for (int i = 0; i < sched.nprocs; i++)
		fprintf(out, "%s%u", i ? " " : "", runqlen(&sched.allp[i]));
	fputs("]\n", out);
	if (!detail)
		return;
	static const char *const pstatus[] = { "idle", "running", "syscall" };
	for (int i = 0; i < sched.nprocs; i++) {
		sched_p *pp = &sched.allp[i];
		sched_m *m = __atomic_load_n(&pp->m, __ATOMIC_ACQUIRE);
		fprintf(out, "  P%d: status=%s schedtick=%llu syscalltick=%llu m=%lld runqsize=%u timers=%u\n",
			i, pstatus[atomic_load(&pp->status) % 3],
			(unsigned long long)atomic_load(&pp->schedtick),
			(unsigned long long)atomic_load(&pp->syscalltick), m ? (long long)m->id : -1,
			runqlen(pp), pp->ntimers);
	}
	for (sched_m *m = sched.allm; m; m = m->alllink) {
		sched_p *pp = m->p;
		fprintf(out, "  M%lld: p=%d curg=%lld spinning=%s insyscall=%s on g0=%s\n",
			(long long)m->id, pp ? pp->id : -1, goid(m->curg), m->spinning ? "true" : "false",
			m->oldp ? "true" : "false",
			m->on_g0 ? "true" : "false");
	}
}

static void *sysmon(void *arg)
{
	(void)arg;
	int64_t start = sched_nanotime(), lasttrace = start;
	pwatch *w = calloc((size_t)sched.nprocs, sizeof *w);
	if (!w) {
		atomic_store(&sched.sysmon_done, true);
		return NULL;
	}
	int64_t delay = 20;
	int idle = 0;
	while (!atomic_load(&sched.exiting)) {
		sleep_us(delay);
		int64_t now = sched_nanotime();
		if (retake(w, now))
			idle = 0;
		else
			idle++;
		if (sched.cfg.schedtrace_ms && now - lasttrace >= sched.cfg.schedtrace_ms * 1000000) {
			lasttrace = now;
			sched_schedtrace(stderr, (now - start) / 1000000, false);
		}
		/* 20 µs while busy; after 50 quiet rounds, double up to 10 ms */
		delay = idle < 50 ? 20 : (delay * 2 > 10000 ? 10000 : delay * 2);
		if (sched.cfg.schedtrace_ms && delay > 1000)
			delay = 1000; /* wake often enough to print on time */
	}
	free(w);
	atomic_store(&sched.sysmon_done, true);
	return NULL;
}

void sched_sysmon_start(void)
{
	pthread_attr_t a;
	pthread_t t; /* detached: nobody joins it */
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_create(&t, &a, sysmon, NULL);
	pthread_attr_destroy(&a);
}
