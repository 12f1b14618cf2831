/* proc.c: Gs, Ms and Ps: run queues, schedule, park and ready, syscalls, exit.
 *
 * The scheduler's design, after Go's proc.go
 * -----------------------------------------
 * G is a goroutine: its VM stack and saved registers (owned by vm/) and the
 * scheduling state here.  M is an OS thread.  P is a processor: the right to
 * run bytecode, with a local queue of runnable Gs.  There are exactly
 * cfg.procs Ps (GOMAXPROCS); an M must hold a P to run a G.
 *
 * Every M runs the VM's loop (hooks.mloop) on its M stack.  The loop runs the
 * current G until it blocks, yields, ends or is preempted; it then saves the
 * G's registers and calls into this file, which switches to the M's g0
 * (mcall) and runs schedule() there.  schedule() picks the next G — runnext,
 * the local queue, now and then the global queue, else findrunnable(), which
 * runs timers, steals half of another P's queue, and finally parks the M —
 * and resumes the loop with gogo().  The loop then runs whatever
 * sched_curg() is.  So the M stack holds one C frame across every switch,
 * and a parked G holds none: only its G and its VM stack.
 *
 * Locks: sched.lock guards the global queue, the idle P and M lists, the G
 * free list and allgs.  A P's local queue is lock-free (Go's runq: the owner
 * writes the tail, anyone CASes the head).  Channel, mutex and timer locks
 * are taken before sched.lock, never after.
 *
 * Where greenvm differs from Go: an M's saved context (gobuf) belongs to the
 * M, not the G, because a G has no C stack of its own; there is no netpoller,
 * so idle Ms sleep on a condition variable until the next timer; Gs are never
 * locked to Ms.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sched.h>
#include <unistd.h>

#include "gc/gc.h"
#include "scheduler/runtime.h"

sched_state sched = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.exitcond = PTHREAD_COND_INITIALIZER,
	.stwcond = PTHREAD_COND_INITIALIZER,
};

__thread sched_m *sched_mself;

bool sched_trace_enabled;

const char *sched_waitreason_string(int reason)
{
	switch (reason) {
	case WAIT_CHAN_RECEIVE: return "chan receive";
	case WAIT_CHAN_SEND: return "chan send";
	case WAIT_CHAN_RECEIVE_NIL: return "chan receive (nil chan)";
	case WAIT_CHAN_SEND_NIL: return "chan send (nil chan)";
	case WAIT_SELECT: return "select";
	case WAIT_SELECT_NO_CASES: return "select (no cases)";
	case WAIT_SLEEP: return "sleep";
	case WAIT_MUTEX: return "sync.Mutex.Lock";
	case WAIT_WAITGROUP: return "sync.WaitGroup.Wait";
	default: return "waiting";
	}
}

/* A G's status changes only in its own M's hands (or under the lock that
 * hands it over); others just look.  A release store is enough, and is a
 * plain store on x86, where seq_cst would be a locked exchange. */
static inline void setgstatus(sched_g *g, uint32_t status)
{
	atomic_store_explicit(&g->status, status, memory_order_release);
}

/* The G an M runs: in the M, and in a thread-local copy that
 * sched_curg() reads without a call (the interpreter asks after every
 * park).  Only the M's own thread sets it. */
__thread sched_g *sched_tls_curg;

static inline void setcurg(sched_m *m, sched_g *g)
{
	m->curg = g;
	sched_tls_curg = g;
}

void sched_lock_slow(sched_lock *l)
{
	for (int spins = 0;; spins++) {
		while (atomic_load_explicit(&l->held, memory_order_relaxed)) {
			if (spins++ < 100)
				sched_cpu_relax();
			else
				sched_yield();
		}
		if (atomic_exchange_explicit(&l->held, 1, memory_order_acquire) == 0)
			return;
	}
}

static void lock(void)
{
	pthread_mutex_lock(&sched.lock);
}

static void unlock(void)
{
	pthread_mutex_unlock(&sched.lock);
}

uint64_t sched_fastrand(void)
{
	/* xorshift64*, per M */
	uint64_t x = sched_mself->rand;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	sched_mself->rand = x;
	return x * 2685821657736338717ull;
}

int64_t sched_nanotime(void)
{
	if (sched.cfg.deterministic)
		return atomic_load(&sched.vclock);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* Notes: how an M sleeps and is woken                                */
/* ------------------------------------------------------------------ */

/* Sleep until woken, or until sched_nanotime() reaches until (0: no limit). */
static void notesleep(sched_m *m, int64_t until)
{
	pthread_mutex_lock(&m->notelock);
	while (!m->notified) {
		if (until == 0 || sched.cfg.deterministic) {
			pthread_cond_wait(&m->notecond, &m->notelock);
			continue;
		}
		int64_t now = sched_nanotime();
		if (now >= until)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		int64_t t = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + (until - now);
		ts.tv_sec = t / 1000000000;
		ts.tv_nsec = t % 1000000000;
		pthread_cond_timedwait(&m->notecond, &m->notelock, &ts);
	}
	m->notified = false;
	pthread_mutex_unlock(&m->notelock);
}

static void notewakeup(sched_m *m)
{
	pthread_mutex_lock(&m->notelock);
	m->notified = true;
	pthread_cond_signal(&m->notecond);
	pthread_mutex_unlock(&m->notelock);
}

/* ------------------------------------------------------------------ */
/* Run queues                                                         */
/* ------------------------------------------------------------------ */

/* Put g on the global queue.  sched.lock held. */
static void globrunqput(sched_g *g)
{
	g->schedlink = NULL;
	if (sched.runqtail)
		sched.runqtail->schedlink = g;
	else
		sched.runqhead = g;
	sched.runqtail = g;
	atomic_fetch_add(&sched.runqsize, 1);
}

/* Take a G from the global queue, and move a fair share of the rest (at
 * most max in all) to pp's local queue.  sched.lock held.  The batch must
 * fit in the local queue without overflowing it (runqputslow would take
 * sched.lock again): callers whose queue may be full pass max 1. */
sched_g *sched_globrunqget(sched_p *pp, int64_t max)
{
	int64_t size = atomic_load(&sched.runqsize);
	if (size == 0)
		return NULL;
	int64_t n = size / sched.nprocs + 1;
	if (n > size)
		n = size;
	if (max > 0 && n > max)
		n = max;
	if (n > SCHED_RUNQ / 2)
		n = SCHED_RUNQ / 2;
	atomic_fetch_sub(&sched.runqsize, n);
	sched_g *g = sched.runqhead;
	sched.runqhead = g->schedlink;
	while (--n > 0) {
		sched_g *g1 = sched.runqhead;
		sched.runqhead = g1->schedlink;
		sched_runqput(pp, g1, false);
	}
	if (!sched.runqhead)
		sched.runqtail = NULL;
	return g;
}

/* The local queue is full: move half of it and g to the global queue. */
static bool runqputslow(sched_p *pp, sched_g *g, uint32_t h, uint32_t t)
{
	sched_g *batch[SCHED_RUNQ / 2 + 1];
	uint32_t n = (t - h) / 2;
	if (n != SCHED_RUNQ / 2)
		sched_throw("runqputslow: queue is not full");
	for (uint32_t i = 0; i < n; i++)
		batch[i] = atomic_load_explicit(&pp->runq[(h + i) % SCHED_RUNQ], memory_order_relaxed);
	if (!atomic_compare_exchange_strong_explicit(&pp->runqhead, &h, h + n, memory_order_acq_rel,
						     memory_order_relaxed))
		return false;
	batch[n] = g;
	lock();
	for (uint32_t i = 0; i <= n; i++)
		globrunqput(batch[i]);
	unlock();
	return true;
}

void sched_runqput(sched_p *pp, sched_g *g, bool next)
{
	if (next) {
		sched_g *old = atomic_exchange(&pp->runnext, g);
		if (!old)
			return;
		g = old; /* the G it displaced goes to the tail */
	}
	for (;;) {
		uint32_t h = atomic_load_explicit(&pp->runqhead, memory_order_acquire);
		uint32_t t = atomic_load_explicit(&pp->runqtail, memory_order_relaxed);
		if (t - h < SCHED_RUNQ) {
			atomic_store_explicit(&pp->runq[t % SCHED_RUNQ], g, memory_order_relaxed);
			atomic_store_explicit(&pp->runqtail, t + 1, memory_order_release);
			return;
		}
		if (runqputslow(pp, g, h, t))
			return;
	}
}

/* Take a G from pp's local queue; only pp's owner calls this. */
sched_g *sched_runqget(sched_p *pp)
{
	sched_g *next = atomic_load(&pp->runnext);
	if (next && atomic_compare_exchange_strong(&pp->runnext, &next, NULL))
		return next;
	for (;;) {
		uint32_t h = atomic_load_explicit(&pp->runqhead, memory_order_acquire);
		uint32_t t = atomic_load_explicit(&pp->runqtail, memory_order_relaxed);
		if (t == h)
			return NULL;
		sched_g *g = atomic_load_explicit(&pp->runq[h % SCHED_RUNQ], memory_order_relaxed);
		if (atomic_compare_exchange_strong_explicit(&pp->runqhead, &h, h + 1,
							    memory_order_release, memory_order_relaxed))
			return g;
	}
}

bool sched_runqempty(sched_p *pp)
{
	return atomic_load(&pp->runqhead) == atomic_load(&pp->runqtail) &&
	       atomic_load(&pp->runnext) == NULL;
}

/* Steal half of p2's queue into pp's; return one of the stolen Gs. */
sched_g *sched_runqsteal(sched_p *pp, sched_p *p2, bool stealnext)
{
	uint32_t t = atomic_load_explicit(&pp->runqtail, memory_order_relaxed);
	for (;;) {
		uint32_t h = atomic_load_explicit(&p2->runqhead, memory_order_acquire);
		uint32_t t2 = atomic_load_explicit(&p2->runqtail, memory_order_acquire);
		uint32_t n = t2 - h;
		n -= n / 2;
		if (n == 0) {
			if (!stealnext)
				return NULL;
			sched_g *next = atomic_load(&p2->runnext);
			if (next && atomic_compare_exchange_strong(&p2->runnext, &next, NULL))
				return next;
			return NULL;
		}
		if (n > SCHED_RUNQ / 2)
			continue; /* read an inconsistent h and t2 */
		for (uint32_t i = 0; i < n; i++) {
			sched_g *g = atomic_load_explicit(&p2->runq[(h + i) % SCHED_RUNQ],
							  memory_order_relaxed);
			atomic_store_explicit(&pp->runq[(t + i) % SCHED_RUNQ], g, memory_order_relaxed);
		}
		if (!atomic_compare_exchange_strong_explicit(&p2->runqhead, &h, h + n,
							     memory_order_acq_rel, memory_order_relaxed))
			continue;
		n--;
		sched_g *g = atomic_load_explicit(&pp->runq[(t + n) % SCHED_RUNQ], memory_order_relaxed);
		if (n)
			atomic_store_explicit(&pp->runqtail, t + n, memory_order_release);
		return g;
	}
}

/* ------------------------------------------------------------------ */
/* Idle Ps and Ms                                                     */
/* ------------------------------------------------------------------ */

/* sched.lock held for all four. */
static void pidleput(sched_p *pp)
{
	atomic_store(&pp->status, P_IDLE);
	pp->m = NULL;
	pp->link = sched.pidle;
	sched.pidle = pp;
	atomic_fetch_add(&sched.npidle, 1);
}

static sched_p *pidleget(void)
{
	/* The world is stopped, or the program is ending: nobody takes a P
	 * (startm, exitsyscall and a waking M all come through here). */
	if (atomic_load(&sched.stw) || atomic_load(&sched.exiting))
		return NULL;
	sched_p *pp = sched.pidle;
	if (pp) {
		sched.pidle = pp->link;
		atomic_fetch_sub(&sched.npidle, 1);
	}
	return pp;
}

static void mput(sched_m *m)
{
	m->schedlink = sched.midle;
	sched.midle = m;
	sched.nmidle++;
}

static sched_m *mget(void)
{
	sched_m *m = sched.midle;
	if (m) {
		sched.midle = m->schedlink;
		sched.nmidle--;
	}
	return m;
}

static void acquirep(sched_p *pp)
{
	sched_m *m = sched_mself;
	if (m->p || pp->m)
		sched_throw("acquirep: P or M already bound");
	m->p = pp;
	__atomic_store_n(&pp->m, m, __ATOMIC_RELEASE);
	atomic_store(&pp->status, P_RUNNING);
	if (sched_trace_enabled)
		trace_proc_start(&pp->trace, (uint64_t)m->id);
}

static sched_p *releasep(void)
{
	sched_m *m = sched_mself;
	sched_p *pp = m->p;
	if (!pp || pp->m != m)
		sched_throw("releasep: P not bound to this M");
	if (sched_trace_enabled)
		trace_proc_stop(&pp->trace);
	m->p = NULL;
	pp->m = NULL;
	return pp;
}

/* The tracer's stack hook: the VM frames of the G that embeds tg.  The
 * tracer calls it in the middle of writing an event, after reading the
 * clock, as Go's traceEventLocked calls gcallers. */
static int sched_trace_stack(trace_gstate *tg, uint64_t *pcs, int max)
{
	sched_g *g = (sched_g *)((char *)tg - offsetof(sched_g, trace));
	return sched.cfg.hooks.stack(g, pcs, max);
}

/* The tracing state of g, NULL for no G: the goroutine whose stack an
 * event carries. */
static trace_gstate *tracegs(sched_g *g)
{
	return g ? &g->trace : NULL;
}

/* The trace state of the current M's P, or NULL (the global buffer). */
static trace_pstate *tracep(void)
{
	return sched_mself && sched_mself->p ? &sched_mself->p->trace : NULL;
}

static void mstart(void *arg);

/* Create a new M that will take pp (and spin for work if spinning).
 *
 * newm is often called on g0 (wakep from schedule) or from sysmon, which is
 * not registered with the collector; but starting a thread allocates from
 * the GC heap (Boehm registers it) and takes 2 KiB of stack, more if that
 * allocation starts a collection.  So, like Go's newmHandoff to its template
 * thread, newm only prepares the M and asks the main thread, which waits in
 * sched_main with a large stack, to start it. */
static void newm(sched_p *pp, bool spinning)
{
	sched_m *m = calloc(1, sizeof *m);
	if (!m)
		sched_throw("out of memory creating an M");
	pthread_mutex_init(&m->notelock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->notecond, &ca);
	pthread_condattr_destroy(&ca);
	m->nextp = pp;
	m->spinning = spinning;
	lock();
	m->id = sched.mcount++;
	m->rand = 0x9e3779b97f4a7c15ull * (uint64_t)(m->id + 1);
	m->schedlink = sched.newms;
	sched.newms = m;
	pthread_cond_broadcast(&sched.exitcond);
	unlock();
}

/* The main thread's half of newm: start the Ms asked for.  sched.lock held. */
static void startnewms(void)
{
	while (sched.newms) {
		sched_m *m = sched.newms;
		sched.newms = m->schedlink;
		m->schedlink = NULL;
		m->alllink = sched.allm;
		sched.allm = m;
		unlock();
		m->stack = sched_mstack_start((int)m->id, sched.cfg.sysstack, 0, mstart, m);
		if (!m->stack) {
			fprintf(stderr, "fatal error: cannot start M %lld: %s\n", (long long)m->id,
				strerror(errno));
			exit(2);
		}
		lock();
	}
}

/* Give pp (or an idle P when NULL) to an idle or new M. */
static void startm(sched_p *pp, bool spinning)
{
	lock();
	if (!pp) {
		pp = pidleget();
		if (!pp) {
			unlock();
			if (spinning)
				atomic_fetch_sub(&sched.nmspinning, 1);
			return;
		}
	}
	sched_m *m = mget();
	if (m) { /* under the lock, so a stop-the-world sees the hand-over */
		m->spinning = spinning;
		m->nextp = pp;
	}
	unlock();
	if (!m) {
		newm(pp, spinning);
		return;
	}
	notewakeup(m);
}

/* Work appeared: wake an M to look for it if Ps are idle and nobody spins. */
static void wakep(void)
{
	if (atomic_load(&sched.npidle) == 0)
		return;
	int32_t zero = 0;
	if (atomic_load(&sched.nmspinning) != 0 ||
	    !atomic_compare_exchange_strong(&sched.nmspinning, &zero, 1))
		return;
	startm(NULL, true);
}

bool sched_retake(sched_p *pp)
{
	uint32_t want = P_SYSCALL;
	if (!atomic_compare_exchange_strong(&pp->status, &want, P_IDLE))
		return false;
	/* The P is ours now: say so in its trace (what Go's retake and
	 * stopTheWorld write), then bump syscalltick, which tells the M in
	 * the syscall that the events are written (it waits for that). */
	if (sched_trace_enabled) {
		trace_go_sysblock(&pp->trace);
		trace_proc_stop(&pp->trace);
	}
	atomic_fetch_add(&pp->syscalltick, 1);
	return true;
}

/* Hand off pp, whose M is leaving it (syscall, or sysmon took it). */
void sched_handoffp(sched_p *pp)
{
	/* Work on it, or timers to wait for: give it to an M. */
	if (!sched_runqempty(pp) || atomic_load(&sched.runqsize) ||
	    atomic_load(&pp->timer0when)) {
		startm(pp, false);
		return;
	}
	/* Nobody spinning or idle: this M spins for everyone. */
	int32_t zero = 0;
	if (atomic_load(&sched.nmspinning) + atomic_load(&sched.npidle) == 0 &&
	    atomic_compare_exchange_strong(&sched.nmspinning, &zero, 1)) {
		startm(pp, true);
		return;
	}
	lock();
	if (atomic_load(&sched.runqsize)) {
		unlock();
		startm(pp, false);
		return;
	}
	pidleput(pp);
	unlock();
}

/* Is every G asleep for good?  Called with sched.lock held by an M that is
 * about to sleep with no timer to wake it.  Go's checkdead. */
static void checkdead(void)
{
	int32_t run = sched.mcount - sched.nmidle;
	if (run > 0 || sched.exiting)
		return;
	if (sched_next_timer() != 0)
		return;
	atomic_store(&sched.deadlock, true);
}

/* Park this M until someone gives it a P; then take it.  On g0. */
SYSTEMSTACK static void stopm(void)
{
	sched_assert_on_g0();
	sched_m *m = sched_mself;
	for (;;) {
		lock();
		mput(m);
		int64_t until = sched_next_timer();
		if (until == 0)
			checkdead();
		if (atomic_load(&sched.deadlock)) {
			/* This M reports it: off the idle list, back to the loop. */
			sched.midle = m->schedlink;
			sched.nmidle--;
			unlock();
			return;
		}
		unlock();
		notesleep(m, until);
		if (atomic_load(&sched.exiting) && !m->nextp)
			for (;;)
				notesleep(m, 0); /* the program is ending: stay asleep */
		if (m->nextp) {
			acquirep(m->nextp);
			m->nextp = NULL;
			return;
		}
		/* Woken by the clock: a timer is due.  Find a P to run it on. */
		lock();
		if (m->nextp) { /* given a P just now, by someone else */
			unlock();
			notesleep(m, 0);
			acquirep(m->nextp);
			m->nextp = NULL;
			return;
		}
		/* Take ourselves off the idle list. */
		sched_m **pm = &sched.midle;
		while (*pm && *pm != m)
			pm = &(*pm)->schedlink;
		if (*pm) {
			*pm = m->schedlink;
			sched.nmidle--;
		}
		sched_p *pp = pidleget();
		unlock();
		if (pp) {
			acquirep(pp);
			return;
		}
	}
}

/* ------------------------------------------------------------------ */
/* schedule                                                           */
/* ------------------------------------------------------------------ */

/* Run g on this M: resume the VM loop.  On g0; does not return. */
SYSTEMSTACK __attribute__((noreturn)) static void execute(sched_g *g)
{
	sched_assert_on_g0();
	sched_m *m = sched_mself;
	setcurg(m, g);
	setgstatus(g, G_RUNNING);
	/* only this P's owner bumps schedtick: no locked add needed */
	atomic_store_explicit(&m->p->schedtick,
			      atomic_load_explicit(&m->p->schedtick, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&m->preempt, false, memory_order_relaxed);
	if (sched_trace_enabled) {
		if (g->sysexit_pending) {
			g->sysexit_pending = false;
			trace_go_sysexit(&m->p->trace, &g->trace, g->sysexit_ticks);
		}
		trace_go_start(&m->p->trace, &g->trace);
	}
	gogo();
}

/* The program is ending: put our P down without a trace event (the trace
 * ends with it as it is) and sleep for good.  On g0. */
SYSTEMSTACK __attribute__((noreturn)) static void stop_for_exit(void)
{
	sched_assert_on_g0();
	sched_m *m = sched_mself;
	lock();
	if (m->p) {
		sched_p *pp = m->p;
		m->p = NULL;
		pp->m = NULL;
		atomic_store(&pp->status, P_IDLE);
		atomic_fetch_add(&sched.npidle, 1);
	}
	pthread_cond_broadcast(&sched.exitcond);
	unlock();
	for (;;)
		notesleep(m, 0);
}

/* A stop-the-world is in progress: keep our P and wait, on g0, until it is
 * over.  If tracing started meanwhile, our P's trace begins with ProcStart
 * (the rest of Go's StartTrace: it was not running when the snapshot was
 * taken). */
SYSTEMSTACK static void stw_park(void)
{
	sched_assert_on_g0();
	sched_m *m = sched_mself;
	bool was_tracing = sched_trace_enabled;
	lock();
	m->p->stwparked = true;
	pthread_cond_broadcast(&sched.stwcond);
	while (atomic_load(&sched.stw))
		pthread_cond_wait(&sched.stwcond, &sched.lock);
	m->p->stwparked = false;
	unlock();
	if (!was_tracing && sched_trace_enabled)
		trace_proc_start(&m->p->trace, (uint64_t)m->id);
}

static void resetspinning(void)
{
	sched_m *m = sched_mself;
	m->spinning = false;
	if (atomic_fetch_sub(&sched.nmspinning, 1) == 1)
		wakep(); /* we were the last spinner: make sure someone looks */
}

/* Find a G to run, stealing and waiting as needed.  On g0.  Returns NULL
 * only when the program is exiting. */
SYSTEMSTACK static sched_g *findrunnable(void)
{
	sched_assert_on_g0();
	sched_m *m = sched_mself;
	sched_g *g;
top:;
	sched_p *pp = m->p;
	if (atomic_load(&sched.exiting))
		stop_for_exit();
	if (atomic_load(&sched.stw) && sched.stwowner != m)
		stw_park();
	int64_t now = sched_nanotime();

	/* Timers that are due, on any P: their Gs become ours to run. */
	for (int i = 0; i < sched.nprocs; i++) {
		sched_p *p2 = &sched.allp[(pp->id + i) % sched.nprocs];
		int64_t w = atomic_load(&p2->timer0when);
		if (w && w <= now)
			sched_check_timers(p2, now);
	}
	if ((g = sched_runqget(pp)))
		return g;
	if (atomic_load(&sched.runqsize)) {
		lock();
		g = sched_globrunqget(pp, 0);
		unlock();
		if (g)
			return g;
	}

	/* Steal, unless half the busy Ps already have a spinning M. */
	int32_t busy = sched.nprocs - atomic_load(&sched.npidle);
	if (sched.nprocs > 1 && (m->spinning || 2 * atomic_load(&sched.nmspinning) < busy)) {
		if (!m->spinning) {
			m->spinning = true;
			atomic_fetch_add(&sched.nmspinning, 1);
		}
		for (int tries = 0; tries < 4; tries++) {
			int start = (int)(sched_fastrand() % (uint64_t)sched.nprocs);
			for (int i = 0; i < sched.nprocs; i++) {
				sched_p *p2 = &sched.allp[(start + i) % sched.nprocs];
				if (p2 == pp)
					continue;
				if ((g = sched_runqsteal(pp, p2, tries == 3)))
					return g;
			}
		}
	}

	/* Deterministic mode: nothing to run, so the virtual clock jumps to the
	 * next timer instead of anyone sleeping. */
	if (sched.cfg.deterministic) {
		int64_t next = sched_next_timer();
		if (next) {
			if (next > atomic_load(&sched.vclock))
				atomic_store(&sched.vclock, next);
			goto top;
		}
	}

	/* Nothing: give up the P and sleep. */
	lock();
	if (atomic_load(&sched.runqsize)) {
		g = sched_globrunqget(pp, 0);
		unlock();
		return g;
	}
	releasep();
	pidleput(pp);
	unlock();

	if (m->spinning) {
		m->spinning = false;
		atomic_fetch_sub(&sched.nmspinning, 1);
		/* Work may have appeared after we looked: check again (Go's
		 * "delicate dance" with the spinning count). */
		for (int i = 0; i < sched.nprocs; i++) {
			if (sched_runqempty(&sched.allp[i]))
				continue;
			lock();
			pp = pidleget();
			unlock();
			if (pp) {
				acquirep(pp);
				m->spinning = true;
				atomic_fetch_add(&sched.nmspinning, 1);
				goto top;
			}
			break;
		}
	}
	stopm();
	if (atomic_load(&sched.deadlock))
		return NULL;
	goto top;
}

/* Pick the next G and run it.  On g0; does not return.  If the program is
 * over, resumes the VM loop with no G, so the loop can end. */
SYSTEMSTACK __attribute__((noreturn)) static void schedule(void)
{
	sched_assert_on_g0();
	sched_m *m = sched_mself;
	sched_g *g = NULL;
	setcurg(m, NULL);
	if (atomic_load(&sched.exiting))
		stop_for_exit();
	if (atomic_load(&sched.stw) && sched.stwowner != m)
		stw_park();
	sched_p *pp = m->p;
	/* Now and then look at the global queue first, so it is not starved. */
	if (atomic_load(&pp->schedtick) % 61 == 0 && atomic_load(&sched.runqsize)) {
		lock();
		g = sched_globrunqget(pp, 1);
		unlock();
	}
	if (!g)
		g = sched_runqget(pp);
	if (!g) {
		g = findrunnable();
		if (!g)
			gogo(); /* deadlock: the loop sees no G and ends the program */
	}
	if (m->spinning)
		resetspinning();
	execute(g);
}

/* ------------------------------------------------------------------ */
/* What mcall runs: the ways a G leaves its M                         */
/* ------------------------------------------------------------------ */

typedef struct park_args {
	void (*unlock)(void *);
	void *arg;
	/* the trace event: TRACE_EV_GO_BLOCK_RECV, ... */
	int ev;
} park_args;

/* Write the trace event of a G that blocks; its registers are saved. */
static void trace_block(sched_g *g, int ev)
{
	trace_pstate *pp = &sched_mself->p->trace;
	if (ev == TRACE_EV_GO_SCHED)
		trace_go_sched(pp, &g->trace);
	else if (ev == TRACE_EV_GO_PREEMPT)
		trace_go_preempt(pp, &g->trace);
	else
		trace_go_park(pp, &g->trace, (enum trace_event)ev);
}

SYSTEMSTACK static void park_m(void *arg)
{
	sched_assert_on_g0();
	park_args *a = arg;
	sched_g *g = sched_mself->curg;
	if (sched_trace_enabled)
		trace_block(g, a->ev);
	setgstatus(g, G_WAITING);
	setcurg(sched_mself, NULL);
	if (a->unlock)
		a->unlock(a->arg);
	schedule();
}

/* arg: TRACE_EV_GO_SCHED or TRACE_EV_GO_PREEMPT, as an intptr_t */
SYSTEMSTACK static void gosched_m(void *arg)
{
	sched_assert_on_g0();
	sched_g *g = sched_mself->curg;
	if (sched_trace_enabled)
		trace_block(g, (int)(intptr_t)arg);
	setgstatus(g, G_RUNNABLE);
	setcurg(sched_mself, NULL);
	lock();
	globrunqput(g);
	unlock();
	schedule();
}

SYSTEMSTACK static void goexit0(void *arg)
{
	(void)arg;
	sched_assert_on_g0();
	sched_g *g = sched_mself->curg;
	if (sched_trace_enabled)
		trace_go_end(&sched_mself->p->trace);
	setgstatus(g, G_DEAD);
	setcurg(sched_mself, NULL);
	lock();
	g->schedlink = sched.gfree;
	sched.gfree = g;
	unlock();
	schedule();
}

SYSTEMSTACK static void sleep_m(void *arg)
{
	(void)arg;
	sched_assert_on_g0();
	sched_g *g = sched_mself->curg;
	if (sched_trace_enabled)
		trace_block(g, TRACE_EV_GO_SLEEP);
	g->waitreason = WAIT_SLEEP;
	setgstatus(g, G_WAITING);
	setcurg(sched_mself, NULL);
	sched_timer_add(sched_mself->p, g);
	schedule();
}

SYSTEMSTACK static void schedule_m(void *arg)
{
	(void)arg;
	sched_assert_on_g0();
	sched_m *m = sched_mself;
	if (m->nextp) {
		acquirep(m->nextp);
		m->nextp = NULL;
	} else {
		stopm();
	}
	schedule();
}

void sched_resume(void)
{
	mcall("schedule", schedule_m, NULL);
}

void sched_park(void (*unlockf)(void *), void *arg, int reason, int ev)
{
	park_args a = { unlockf, arg, ev };
	sched_mself->curg->waitreason = (uint32_t)reason;
	mcall("park", park_m, &a);
}

void sched_ready(sched_g *g)
{
	if (atomic_load(&g->status) != G_WAITING)
		sched_throw("sched_ready: G is not waiting");
	g->waitreason = WAIT_NONE;
	if (sched_trace_enabled) {
		/* the waker's stack, if a G is waking it (not a timer) */
		trace_go_unblock(&sched_mself->p->trace, &g->trace, tracegs(sched_mself->curg));
	}
	setgstatus(g, G_RUNNABLE);
	sched_runqput(sched_mself->p, g, true);
	wakep();
}

void sched_gosched(void)
{
	mcall("gosched", gosched_m, (void *)(intptr_t)TRACE_EV_GO_SCHED);
}

void sched_preempt(void)
{
	mcall("preempt", gosched_m, (void *)(intptr_t)TRACE_EV_GO_PREEMPT);
}

void sched_goexit(void)
{
	mcall("goexit", goexit0, NULL);
}

void sched_sleep(int64_t ns)
{
	if (ns <= 0) {
		sched_gosched();
		return;
	}
	sched_mself->curg->when = sched_nanotime() + ns;
	mcall("sleep", sleep_m, NULL);
}

/* ------------------------------------------------------------------ */
/* Syscalls                                                           */
/* ------------------------------------------------------------------ */

void sched_entersyscall(void)
{
	sched_m *m = sched_mself;
	sched_p *pp = m->p;
	if (sched_trace_enabled)
		trace_go_syscall(&pp->trace, &m->curg->trace);
	setgstatus(m->curg, G_SYSCALL);
	m->syscalltick = atomic_fetch_add(&pp->syscalltick, 1) + 1;
	atomic_fetch_add(&sched.nmsyscall, 1);
	m->oldp = pp;
	m->p = NULL;
	pp->m = NULL;
	/* From here sysmon may take the P (CAS P_SYSCALL -> P_IDLE). */
	atomic_store(&pp->status, P_SYSCALL);
}

SYSTEMSTACK static void exitsyscall0(void *arg)
{
	(void)arg;
	sched_assert_on_g0();
	sched_m *m = sched_mself;
	sched_g *g = m->curg;
	setcurg(m, NULL);
	setgstatus(g, G_RUNNABLE);
	lock();
	if (atomic_load(&sched.exiting)) {
		unlock();
		stop_for_exit();
	}
	sched_p *pp = pidleget();
	if (!pp)
		globrunqput(g);
	unlock();
	if (pp) {
		acquirep(pp);
		execute(g);
	}
	stopm();
	schedule();
}

void sched_exitsyscall(void)
{
	sched_m *m = sched_mself;
	sched_p *pp = m->oldp;
	m->oldp = NULL;
	atomic_fetch_sub(&sched.nmsyscall, 1);
	/* Fast path: our P is still ours. */
	uint32_t want = P_SYSCALL;
	if (pp && atomic_compare_exchange_strong(&pp->status, &want, P_RUNNING)) {
		m->p = pp;
		pp->m = m;
		setgstatus(m->curg, G_RUNNING);
		return;
	}
	/* Sysmon took it.  When tracing, wait until it has written GoSysBlock
	 * (it bumps syscalltick after), so our GoSysExit comes later. */
	sched_g *g = m->curg;
	if (sched_trace_enabled) {
		while (pp && atomic_load(&pp->syscalltick) == m->syscalltick && !atomic_load(&sched.exiting))
			sched_yield();
		g->sysexit_pending = true;
		g->sysexit_ticks = trace_cputicks();
	}
	/* An idle P will do. */
	if (atomic_load(&sched.npidle)) {
		lock();
		sched_p *np = pidleget();
		unlock();
		if (np) {
			acquirep(np);
			setgstatus(g, G_RUNNING);
			if (sched_trace_enabled) {
				g->sysexit_pending = false;
				trace_go_sysexit(&np->trace, &g->trace, g->sysexit_ticks);
				trace_go_start(&np->trace, &g->trace);
			}
			return;
		}
	}
	/* None: queue the G and let this M sleep. */
	mcall("exitsyscall", exitsyscall0, NULL);
}

/* ------------------------------------------------------------------ */
/* Gs                                                                 */
/* ------------------------------------------------------------------ */

sched_g *sched_newg(uint64_t startpc)
{
	lock();
	sched_g *g = sched.gfree;
	if (g) {
		sched.gfree = g->schedlink;
	} else {
		unlock();
		/* Gs live on the GC heap but are never collected: they are roots
		 * for their VM stacks, and freed Gs are reused. */
		g = gc_alloc_uncollectable(sizeof *g);
		lock();
		if (sched.nallgs == sched.capallgs) {
			uint32_t nc = sched.capallgs ? sched.capallgs * 2 : 64;
			sched_g **na = realloc(sched.allgs, nc * sizeof *na);
			if (!na)
				sched_throw("out of memory growing allgs");
			sched.allgs = na;
			sched.capallgs = nc;
		}
		sched.allgs[sched.nallgs++] = g;
	}
	unlock();
	void *vm = g->vm;
	sched_sudog *sel = g->selsudogs;
	uint32_t nsel = g->nselsudogs;
	memset(g, 0, sizeof *g);
	g->vm = vm;
	g->selsudogs = sel;
	g->nselsudogs = nsel;
	g->goid = atomic_fetch_add(&sched.goidgen, 1) + 1;
	g->trace.id = (uint64_t)g->goid;
	g->startpc = startpc;
	setgstatus(g, G_IDLE);
	return g;
}

void sched_start(sched_g *newg)
{
	setgstatus(newg, G_RUNNABLE);
	sched_m *m = sched_mself;
	if (!m) { /* the main G, before any M runs */
		lock();
		globrunqput(newg);
		unlock();
		return;
	}
	if (sched_trace_enabled) {
		trace_go_create(&m->p->trace, &newg->trace, newg->startpc, tracegs(m->curg));
	}
	sched_runqput(m->p, newg, true);
	wakep();
}

int64_t sched_goid(void)
{
	return sched_mself->curg->goid;
}

void sched_stack_stats_enable(void)
{
	sched_stack_stats = true;
}

bool sched_on_system_stack(void)
{
	return sched_mstack_self && sched_mstack_self->on_g0;
}

int sched_nprocs(void)
{
	return sched.nprocs;
}

/* ------------------------------------------------------------------ */
/* Preemption                                                         */
/* ------------------------------------------------------------------ */

/* Back-edges and calls between looks at the preempt flag in normal mode. */
#define SCHED_CHECK_EVERY 1024

int64_t sched_slice(void)
{
	return sched.cfg.deterministic ? sched.cfg.slice : SCHED_CHECK_EVERY;
}

bool sched_check_preempt(int64_t *budget)
{
	*budget = sched_slice();
	if (sched.cfg.deterministic || atomic_load(&sched.exiting))
		return true;
	return atomic_exchange(&sched_mself->preempt, false);
}

/* ------------------------------------------------------------------ */
/* Start and end                                                      */
/* ------------------------------------------------------------------ */

/* The tracer's systemstack hook: on an M, the real switch to g0; on a
 * thread that is not an M (none writes events today) a direct call. */
static void trace_systemstack(const char *what, void (*fn)(void *), void *arg)
{
	if (sched_mstack_self)
		systemstack(what, fn, arg);
	else
		fn(arg);
}

/* What the tracer is given: the scheduler's switch and clock, the VM's
 * PC names and stacks, and where to write. */
static trace_hooks tracer_hooks(const char *path)
{
	trace_hooks h = {
		.systemstack = trace_systemstack,
		.on_system_stack = sched_on_system_stack,
		.describe_pc = sched.cfg.hooks.describe_pc,
		.stack = sched.cfg.hooks.stack ? sched_trace_stack : NULL,
		.nanotime = sched_nanotime,
		.clock = sched.cfg.trace_clock,
		.dump = sched.cfg.trace_dump,
		.path = path,
	};
	return h;
}

int sched_init(const sched_config *cfg)
{
	sched.cfg = *cfg;
	if (sched.cfg.procs <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		sched.cfg.procs = n > 0 ? (int)n : 1;
	}
	if (sched.cfg.deterministic && sched.cfg.slice <= 0)
		sched.cfg.slice = 10000;
	sched.nprocs = sched.cfg.procs;
	sched.allp = calloc((size_t)sched.nprocs, sizeof *sched.allp);
	if (!sched.allp)
		return -1;
	sched_stack_init();
	for (int i = sched.nprocs - 1; i >= 0; i--) {
		sched_p *pp = &sched.allp[i];
		pp->id = i;
		pp->trace.id = i;
		pthread_mutex_init(&pp->timerslock, NULL);
		pidleput(pp);
	}
	if (cfg->trace_path && *cfg->trace_path) {
		trace_hooks h = tracer_hooks(cfg->trace_path);
		if (trace_init(&h) != 0)
			return -1;
	}
	return 0;
}

static void start_tracing(void);

/* The body of every M, on its M stack. */
static void mstart(void *arg)
{
	sched_m *m = arg;
	sched_mself = m;
	if (m->id == 0 && sched.cfg.trace_path && *sched.cfg.trace_path)
		start_tracing();
	sched.cfg.hooks.mloop();
	/* The loop ends when the program deadlocked: report it and finish. */
	sched_exit(VM_EXIT_STATUS_DEADLOCK);
}

/* What StartTrace writes first: the goroutines that exist (only main at the
 * start of the program; all of them when bytecode starts tracing with the
 * world stopped) and the number of Ps. */
static void trace_snapshot(void *arg)
{
	(void)arg;
	for (uint32_t i = 0; i < sched.nallgs; i++) {
		sched_g *g = sched.allgs[i];
		uint32_t st = atomic_load(&g->status);
		if (st == G_RUNNABLE || st == G_RUNNING)
			trace_snapshot_goroutine(NULL, &g->trace, g->startpc, TRACE_G_RUNNABLE);
		else if (st == G_WAITING)
			trace_snapshot_goroutine(NULL, &g->trace, g->startpc, TRACE_G_WAITING);
		else if (st == G_SYSCALL) /* its P was taken: it exits through GoSysExit */
			trace_snapshot_goroutine(NULL, &g->trace, g->startpc, TRACE_G_SYSCALL);
	}
	trace_gomaxprocs(NULL, (uint64_t)sched.nprocs, NULL);
}

/* Start the trace asked for by the configuration.  Runs on M0 before it
 * schedules anything, so the tracer's system-stack work has a g0. */
static void start_tracing(void)
{
	if (trace_start(trace_snapshot, NULL) == 0) {
		sched_trace_enabled = true;
		return;
	}
	const char *path;
	int err = trace_error(&path);
	fprintf(stderr, "greenvm: trace: %s: %s (the program runs without a trace)\n",
		path ? path : sched.cfg.trace_path, strerror(err));
	sched.trace_failed = true;
}

int sched_main(void)
{
	lock();
	sched_p *pp = pidleget();
	unlock();
	newm(pp, false);
	if (!sched.cfg.deterministic)
		sched_sysmon_start();
	else
		atomic_store(&sched.sysmon_done, true);

	/* The main thread starts the Ms newm asks for, until the program ends. */
	lock();
	for (;;) {
		startnewms();
		if (sched.finished)
			break;
		pthread_cond_wait(&sched.exitcond, &sched.lock);
	}
	int status = sched.exit_status;
	unlock();
	if (sched.trace_failed && status == 0)
		status = 1;
	return status;
}

/* Wait until every P but ours is put down (each M stops at its next
 * scheduling point, seeing sched.exiting), Ps in syscalls are taken, and
 * sysmon is done: then nobody else writes trace events.  Go's
 * stopTheWorld, for good.  Gives up after about two seconds. */
static void stop_the_world(sched_p *ours)
{
	for (int tries = 0; tries < 2000; tries++) {
		int busy = 0;
		for (int i = 0; i < sched.nprocs; i++) {
			sched_p *pp = &sched.allp[i];
			if (pp == ours)
				continue;
			if (sched_retake(pp))
				continue; /* its M, back from the call, will stop */
			if (atomic_load(&pp->status) == P_RUNNING) {
				sched_m *m = __atomic_load_n(&pp->m, __ATOMIC_ACQUIRE);
				if (m)
					atomic_store(&m->preempt, true);
				busy++;
			}
		}
		if (!busy && atomic_load(&sched.sysmon_done))
			return;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	fputs("greenvm: some Ms did not stop; the trace may miss their last events\n", stderr);
}

static void stop_for_exit_m(void *arg)
{
	(void)arg;
	stop_for_exit();
}

/* End the trace, with the world stopped, as Go's StopTrace: the G that
 * stops it yields in it, so no goroutine is left running when the trace
 * ends (go tool trace's viewer needs each GoStart to end); then every P's
 * buffer is flushed (no other P is writing) and the stack table dumped.
 * 0, or -1 when writing failed (trace_error says why). */
static int trace_finish(sched_m *m)
{
	if (m->p && m->curg)
		trace_go_sched(&m->p->trace, &m->curg->trace);
	sched_trace_enabled = false;
	trace_pstate **pps = calloc((size_t)sched.nprocs, sizeof *pps);
	if (!pps)
		sched_throw("out of memory stopping the trace");
	for (int i = 0; i < sched.nprocs; i++)
		pps[i] = &sched.allp[i].trace;
	int rc = trace_stop(pps, sched.nprocs);
	free(pps);
	return rc;
}

void sched_exit(int status)
{
	sched_m *m = sched_mself;
	lock();
	bool first = !atomic_load(&sched.exiting);
	atomic_store(&sched.exiting, true);
	unlock();
	if (!first) /* another M is ending the program */
		systemstack("exit", stop_for_exit_m, NULL);

	stop_the_world(m->p);
	if (status == VM_EXIT_STATUS_DEADLOCK) {
		/* Every other M is asleep: nobody touches the Gs now. */
		status = 2;
		fflush(stdout);
		fputs("fatal error: all goroutines are asleep - deadlock!\n", stderr);
		for (uint32_t i = 0; i < sched.nallgs; i++) {
			sched_g *g = sched.allgs[i];
			if (atomic_load(&g->status) != G_WAITING)
				continue;
			fprintf(stderr, "\ngoroutine %lld [%s]:\n", (long long)g->goid,
				sched_waitreason_string((int)g->waitreason));
			if (sched.cfg.hooks.traceback)
				sched.cfg.hooks.traceback(g);
		}
	}
	fflush(stdout);
	if (sched_trace_enabled && trace_finish(m) != 0) {
		const char *path;
		int err = trace_error(&path);
		fprintf(stderr, "greenvm: trace: %s: %s\n", path ? path : "?", strerror(err));
		if (status == 0)
			status = 1;
	}
	lock();
	sched.exit_status = status;
	sched.finished = true;
	pthread_cond_broadcast(&sched.exitcond);
	unlock();
	for (;;)
		pause();
}

void sched_trace_gc(int ev, uint64_t arg)
{
	if (!sched_trace_enabled || atomic_load(&sched.exiting))
		return;
	trace_pstate *pp = tracep();
	switch (ev) {
	case TRACE_EV_GC_START:
		/* No stack, unlike Go's: a collection starts inside whatever
		 * instruction allocated, where the G's registers are not saved. */
		trace_gc_start(pp, NULL);
		break;
	case TRACE_EV_GC_DONE: trace_gc_done(pp); break;
	case TRACE_EV_GC_STW_START: trace_gc_stw_start(pp, 0); break;
	case TRACE_EV_GC_STW_DONE: trace_gc_stw_done(pp); break;
	case TRACE_EV_HEAP_ALLOC: trace_heap_alloc(pp, arg); break;
	default: break;
	}
}

void sched_trace_task_create(uint64_t task, uint64_t parent, const char *name)
{
	if (!sched_trace_enabled)
		return;
	sched_m *m = sched_mself;
	trace_user_task_create(&m->p->trace, task, parent, name, tracegs(m->curg));
}

void sched_trace_task_end(uint64_t task)
{
	if (!sched_trace_enabled)
		return;
	sched_m *m = sched_mself;
	trace_user_task_end(&m->p->trace, task, tracegs(m->curg));
}

void sched_trace_region(uint64_t task, int end, const char *name)
{
	if (!sched_trace_enabled)
		return;
	sched_m *m = sched_mself;
	trace_user_region(&m->p->trace, task, end, name, tracegs(m->curg));
}

void sched_trace_log(uint64_t task, const char *category, const char *message)
{
	if (!sched_trace_enabled)
		return;
	sched_m *m = sched_mself;
	trace_user_log(&m->p->trace, task, category, message, tracegs(m->curg));
}

/* Print a JSON string (op names are plain ASCII, but be safe). */
static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

/* An M's g0 high-water mark: the paint tells it, unless --stack-stats
 * repainted g0 for each operation; then it is the deepest operation. */
static size_t g0_high_water(sched_m *m)
{
	size_t hw = sched_g0_high_water(m->stack);
	for (int i = 0; i < SCHED_OPSTATS; i++)
		if (m->stack->opstats[i].deepest > hw)
			hw = m->stack->opstats[i].deepest;
	return hw;
}

void sched_stack_report(FILE *out, bool json, uint64_t vm_largest, uint64_t vm_growths)
{
	/* Merge the per-M operation tables by name. */
	struct sched_opstat ops[SCHED_OPSTATS * 4] = { 0 };
	int nops = 0;
	for (sched_m *m = sched.allm; m; m = m->alllink) {
		for (int i = 0; i < SCHED_OPSTATS && m->stack->opstats[i].op; i++) {
			struct sched_opstat *o = &m->stack->opstats[i];
			int j = 0;
			while (j < nops && strcmp(ops[j].op, o->op) != 0)
				j++;
			if (j == nops) {
				if (nops == (int)(sizeof ops / sizeof ops[0]))
					continue;
				ops[nops++] = (struct sched_opstat){ o->op, 0 };
			}
			if (o->deepest > ops[j].deepest)
				ops[j].deepest = o->deepest;
		}
	}
	if (json) {
		fputs("{\"ms\": [", out);
		for (sched_m *m = sched.allm; m; m = m->alllink)
			fprintf(out, "%s{\"m\": %lld, \"g0_bytes\": %zu, \"g0_high_water\": %zu, "
				"\"mstack_bytes\": %zu, \"mstack_deepest\": %zu}",
				m == sched.allm ? "" : ", ", (long long)m->id, m->stack->sysstack,
				g0_high_water(m), m->stack->mstack,
				sched_mstack_deepest(m->stack));
		fputs("], \"operations\": {", out);
		for (int j = 0; j < nops; j++) {
			fputs(j ? ", " : "", out);
			json_string(out, ops[j].op);
			fprintf(out, ": %zu", ops[j].deepest);
		}
		fprintf(out, "}, \"vm_stacks\": {\"largest_bytes\": %llu, \"growths\": %llu}}\n",
			(unsigned long long)vm_largest, (unsigned long long)vm_growths);
		return;
	}
	fputs("stack statistics:\n", out);
	for (sched_m *m = sched.allm; m; m = m->alllink)
		fprintf(out, "  M %lld: g0 %zu bytes, high-water %zu bytes; M stack %zu bytes, deepest use %zu bytes\n",
			(long long)m->id, m->stack->sysstack, g0_high_water(m),
			m->stack->mstack, sched_mstack_deepest(m->stack));
	fputs("  deepest g0 use by operation:\n", out);
	for (int j = 0; j < nops; j++)
		fprintf(out, "    %-20s %6zu bytes\n", ops[j].op, ops[j].deepest);
	fprintf(out, "  goroutine VM stacks: largest %llu bytes, %llu growths\n",
		(unsigned long long)vm_largest, (unsigned long long)vm_growths);
}

/* ------------------------------------------------------------------ */
/* Stopping the world for a while: starting and stopping the trace     */
/* ------------------------------------------------------------------ */

/* Stop every other P (Go's stopTheWorld, in greenvm's small form): running
 * Gs are asked to yield, and their Ms then wait in schedule() keeping their
 * P; Ps in a syscall are taken (the G's M, back from C, will find an idle P
 * or queue its G); idle Ps stay idle, because pidleget gives out none.  Then
 * no other M writes trace events or touches a G's scheduling state.  On the
 * M stack of a running G, which keeps its own P. */
static void stop_the_world_for(void)
{
	sched_m *m = sched_mself;
	lock();
	atomic_store(&sched.stw, true);
	sched.stwowner = m;
	for (;;) {
		int busy = 0;
		for (int i = 0; i < sched.nprocs; i++) {
			sched_p *pp = &sched.allp[i];
			if (pp == m->p || pp->stwparked || pp->stwtaken)
				continue;
			if (sched_retake(pp)) {
				pp->stwtaken = true;
				continue;
			}
			if (atomic_load(&pp->status) == P_IDLE && !pp->m)
				continue; /* on the idle list, or being handed over */
			sched_m *pm = __atomic_load_n(&pp->m, __ATOMIC_ACQUIRE);
			if (pm)
				atomic_store(&pm->preempt, true);
			busy++;
		}
		/* Ps handed to an M that has not taken them yet */
		for (sched_m *m2 = sched.allm; m2; m2 = m2->alllink)
			busy += m2 != m && m2->nextp != NULL;
		for (sched_m *m2 = sched.newms; m2; m2 = m2->schedlink)
			busy += m2->nextp != NULL;
		if (!busy)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&sched.stwcond, &sched.lock, &ts);
	}
	unlock();
}

static void start_the_world(void)
{
	bool handed = false;
	lock();
	atomic_store(&sched.stw, false);
	sched.stwowner = NULL;
	for (int i = 0; i < sched.nprocs; i++) {
		sched_p *pp = &sched.allp[i];
		if (pp->stwtaken) {
			pp->stwtaken = false;
			pidleput(pp);
			handed = true;
		}
	}
	pthread_cond_broadcast(&sched.stwcond);
	unlock();
	if (handed || atomic_load(&sched.runqsize))
		wakep();
}

int sched_trace_start(const char *path)
{
	sched_m *m = sched_mself;
	if (sched_trace_enabled || atomic_load(&sched.exiting) || atomic_load(&sched.stw))
		return -1;
	stop_the_world_for();
	trace_hooks h = tracer_hooks(path);
	int rc = trace_init(&h) == 0 && trace_start(trace_snapshot, NULL) == 0 ? 0 : -1;
	if (rc == 0) {
		/* Go's StartTrace ends with ProcStart and GoStart for the caller. */
		sched_trace_enabled = true;
		trace_proc_start(&m->p->trace, (uint64_t)m->id);
		trace_go_start(&m->p->trace, &m->curg->trace);
	}
	start_the_world();
	return rc;
}

int sched_trace_stop(void)
{
	sched_m *m = sched_mself;
	if (!sched_trace_enabled || atomic_load(&sched.exiting) || atomic_load(&sched.stw))
		return -1;
	stop_the_world_for();
	int rc = trace_finish(m);
	start_the_world();
	return rc;
}

const char *sched_trace_failed_why(void)
{
	const char *path;
	int err = trace_error(&path);
	return err ? strerror(err) : NULL;
}
