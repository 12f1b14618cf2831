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

/* Set by each M's thread as it starts (os_linux.c).  Defined here, where
 * most of its uses are: GCC reads a thread-local variable of its own file
 * in one instruction, and one of another file through the GOT. */
__thread sched_m *sched_mself;

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

bool sched_trylock_sched(int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	return pthread_mutex_timedlock(&sched.lock, &ts) == 0;
}

void sched_unlock_sched(void)
{
	unlock();
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
	sched_chaos(CHAOS_RUNQPUT);
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

/* Take a G from pp's local queue; only pp's owner calls this.  A G taken
 * from runnext inherits the rest of the current time slice (*inherit), as
 * in Go: otherwise two goroutines that keep readying each other would start
 * a fresh slice at every switch, never be preempted, and starve the queue. */
sched_g *sched_runqget(sched_p *pp, bool *inherit)
{
	sched_g *next = atomic_load(&pp->runnext);
	*inherit = true;
	if (next && atomic_compare_exchange_strong(&pp->runnext, &next, NULL))
		return next;
	*inherit = false;
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
			if (!next)
				return NULL;
			/* As Go's runqgrab: if p2 is running, its G has most
			 * likely just readied next and is about to block, and
			 * p2 will run next in a moment.  Back off 3 µs first
			 * rather than take it: otherwise a spinning M splits
			 * every ping-pong pair across two Ps, and each send
			 * then wakes a G on another core. */
			if (atomic_load(&p2->status) == P_RUNNING)
				usleep(3);
			if (!atomic_compare_exchange_strong(&p2->runnext, &next, NULL))
				continue; /* p2 ran it, or replaced it: look again */
			return next;
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
	/* line-aligned: no other M shares its lines (runtime.h, "False sharing") */
	sched_m *m = aligned_alloc(SCHED_CACHE_LINE, sizeof *m);
	if (!m)
		sched_throw("out of memory creating an M");
	memset(m, 0, sizeof *m);
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
		if (sched_newosproc(m, sched.cfg.sysstack, 0, mstart, m) != 0) {
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
	sched_chaos(CHAOS_WAKEP);
	int32_t zero = 0;
	if (atomic_load(&sched.nmspinning) != 0 ||
	    !atomic_compare_exchange_strong(&sched.nmspinning, &zero, 1))
		return;
	startm(NULL, true);
}

bool sched_take_from_syscall(sched_p *pp)
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
 * about to sleep with no timer to wake it, and by sysmon after it took a
 * P.  Go's checkdead: no M runs, none is in a syscall, and sysmon is not
 * in the middle of handing a P over (sched.nmretaking: the P it took is
 * in nobody's hands until handoffp, and the M it took it from may come
 * back, queue its G and sleep meanwhile).  Then a runnable G is a bug in
 * the scheduler, not a deadlock: throw, as Go does, rather than report a
 * false one. */
static void checkdead(void)
{
	int32_t run = sched.mcount - sched.nmidle + atomic_load(&sched.nmretaking);
	if (run > 0 || sched.exiting)
		return;
	if (atomic_load(&sched.runqsize) != 0)
		sched_throw("checkdead: runnable g");
	for (int i = 0; i < sched.nprocs; i++)
		if (!sched_runqempty(&sched.allp[i]))
			sched_throw("checkdead: runnable g");
	if (sched_next_timer() != 0)
		return;
	atomic_store(&sched.deadlock, true);
}

/* sysmon: take pp from the M in a syscall that holds it and hand it to
 * another M.  While the P is in sysmon's hands it counts as a running M
 * for checkdead (Go's incidlelocked(-1) around retake's CAS), and checkdead
 * runs after, since the M that lost the P may have gone to sleep
 * meanwhile.  If that finds a deadlock an idle M is woken to report it. */
bool sched_sysmon_retake(sched_p *pp)
{
	atomic_fetch_add(&sched.nmretaking, 1);
	sched_chaos(CHAOS_RETAKE);
	bool taken = sched_take_from_syscall(pp);
	if (taken)
		sched_handoffp(pp);
	lock();
	atomic_fetch_sub(&sched.nmretaking, 1);
	sched_m *reporter = NULL;
	if (!atomic_load(&sched.deadlock)) {
		checkdead();
		if (atomic_load(&sched.deadlock))
			reporter = sched.midle;
	}
	unlock();
	if (reporter)
		notewakeup(reporter);
	return taken;
}

/* Park this M until someone gives it a P; then take it.  On g0.  If every
 * goroutine is asleep for good it does not return: the M reports the
 * deadlock (so no caller ever goes on without a P). */
SYSTEMSTACK static void stopm(void)
{
	sched_assert_on_g0();
	sched_m *m = sched_mself;
	for (;;) {
		sched_chaos(CHAOS_STOPM);
		lock();
		mput(m);
		int64_t until = sched_next_timer();
		if (until == 0)
			checkdead();
		if (atomic_load(&sched.deadlock)) {
			/* This M reports it: off the idle list, and back to the VM
			 * loop with no G, which ends the loop; mstart then calls
			 * sched_exit.  stopm runs under an mcall, so gogo resumes
			 * the loop where it left the M stack. */
			sched.midle = m->schedlink;
			sched.nmidle--;
			unlock();
			setcurg(m, NULL);
			gogo();
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

__thread int64_t sched_tls_slice;

/* --schedlog: one line per scheduling decision, on stderr:
 *
 *   sched 12 t=1500000 P0 M0: G3 from runnext (woken by G2)
 *
 * the decision's number, the scheduler's clock in ns since the start
 * (virtual in deterministic mode, so the log is the same on every run),
 * the P and M, the G, where it was found (enum sched_pick) and how it
 * became runnable (enum sched_readyhow).  Written with write(2) from a
 * small buffer: it runs on g0, where stdio must not be used. */
static _Atomic uint64_t schedlog_seq;

static void schedlog(sched_m *m, sched_g *g, int pick, int32_t from)
{
	static const char *const picks[] = {
		[PICK_RUNNEXT] = "from runnext", [PICK_LOCAL] = "from the local queue",
		[PICK_GLOBAL] = "from the global queue", [PICK_STOLEN] = "stolen from P",
		[PICK_SYSCALL] = "back from a syscall, on an idle P",
		[PICK_SYSCALL_OWN] = "back from a syscall, on its own P",
	};
	static const char *const hows[] = {
		[READY_CREATED] = "created by G", [READY_WOKEN] = "woken by G",
		[READY_TIMER] = "its sleep ended", [READY_YIELDED] = "it yielded",
		[READY_PREEMPTED] = "preempted", [READY_SYSCALL] = "its syscall ended",
	};
	char buf[160];
	size_t n = 0;
	sched_put(buf, sizeof buf - 1, &n, "sched ");
	sched_put_uint(buf, sizeof buf - 1, &n, atomic_fetch_add(&schedlog_seq, 1) + 1);
	sched_put(buf, sizeof buf - 1, &n, " t=");
	sched_put_uint(buf, sizeof buf - 1, &n, (uintmax_t)(sched_nanotime() - sched.start_ns));
	sched_put(buf, sizeof buf - 1, &n, " P");
	sched_put_uint(buf, sizeof buf - 1, &n, (uintmax_t)m->p->id);
	sched_put(buf, sizeof buf - 1, &n, " M");
	sched_put_uint(buf, sizeof buf - 1, &n, (uintmax_t)m->id);
	sched_put(buf, sizeof buf - 1, &n, ": G");
	sched_put_uint(buf, sizeof buf - 1, &n, (uintmax_t)g->goid);
	sched_put(buf, sizeof buf - 1, &n, " ");
	sched_put(buf, sizeof buf - 1, &n, picks[pick]);
	if (pick == PICK_STOLEN)
		sched_put_uint(buf, sizeof buf - 1, &n, (uintmax_t)from);
	if (pick != PICK_SYSCALL && pick != PICK_SYSCALL_OWN &&
	    (g->readyhow != READY_CREATED || g->readyby != 0)) {
		sched_put(buf, sizeof buf - 1, &n, " (");
		sched_put(buf, sizeof buf - 1, &n, hows[g->readyhow]);
		if (g->readyhow == READY_CREATED || g->readyhow == READY_WOKEN)
			sched_put_uint(buf, sizeof buf - 1, &n, (uintmax_t)g->readyby);
		sched_put(buf, sizeof buf - 1, &n, ")");
	}
	sched_put(buf, sizeof buf - 1, &n, "\n");
	buf[n] = '\0';
	sched_write_stderr(buf, NULL, NULL);
}

/* Run g on this M: resume the VM loop.  On g0; does not return.
 *
 * A G that inherits the time slice (Go's inheritTime: it came from runnext)
 * runs on in the slice of the G before it: schedtick stays, so sysmon sees
 * one long run and preempts it after 10 ms; the interpreter's budget goes
 * on counting down; and a preemption sysmon asked for is kept.  Otherwise
 * a new slice starts. */
SYSTEMSTACK __attribute__((noreturn)) static void execute(sched_g *g, bool inherit)
{
	sched_assert_on_g0();
	sched_m *m = sched_mself;
	if (sched.cfg.schedlog)
		schedlog(m, g, m->pick, m->pickfrom);
	setcurg(m, g);
	setgstatus(g, G_RUNNING);
	if (!inherit) {
		/* only this P's owner bumps schedtick: no locked add needed */
		atomic_store_explicit(&m->p->schedtick,
				      atomic_load_explicit(&m->p->schedtick, memory_order_relaxed) + 1,
				      memory_order_relaxed);
		atomic_store_explicit(&m->preempt, false, memory_order_relaxed);
		sched_tls_slice = sched_slice();
	}
	if (g->sysexit_pending) {
		g->sysexit_pending = false;
		if (sched_trace_enabled && g->sysblock_traced)
			trace_go_sysexit(&m->p->trace, &g->trace, g->sysexit_ticks);
	}
	if (sched_trace_enabled)
		trace_go_start(&m->p->trace, &g->trace);
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
	pthread_cond_broadcast(&sched.stwcond); /* stop_the_world waits for us */
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

/* Find a G to run, stealing and waiting as needed; *inherit as for
 * sched_runqget.  On g0.  Does not return when the program is exiting or
 * every goroutine is asleep for good. */
SYSTEMSTACK static sched_g *findrunnable(bool *inherit)
{
	sched_assert_on_g0();
	sched_m *m = sched_mself;
	sched_g *g;
top:;
	*inherit = false;
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
	if ((g = sched_runqget(pp, inherit))) {
		m->pick = *inherit ? PICK_RUNNEXT : PICK_LOCAL;
		return g;
	}
	m->pick = PICK_GLOBAL;
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
				sched_chaos(CHAOS_STEAL);
				if ((g = sched_runqsteal(pp, p2, tries == 3))) {
					m->pick = PICK_STOLEN;
					m->pickfrom = p2->id;
					return g;
				}
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
	goto top;
}

/* Pick the next G and run it.  On g0; does not return.  If the program is
 * over, resumes the VM loop with no G, so the loop can end. */
SYSTEMSTACK __attribute__((noreturn)) static void schedule(void)
{
	sched_assert_on_g0();
	sched_m *m = sched_mself;
	sched_g *g = NULL;
	bool inherit = false;
	setcurg(m, NULL);
	m->pick = PICK_GLOBAL;
	if (atomic_load(&sched.exiting))
		stop_for_exit();
	if (atomic_load(&sched.stw) && sched.stwowner != m)
		stw_park();
	sched_p *pp = m->p;
	/* This P's timers first, at every switch, as Go's findRunnable does:
	 * a pair of goroutines that keep readying each other never leave the
	 * local queue for findrunnable, and their sleepers must still wake. */
	int64_t when = atomic_load(&pp->timer0when);
	if (when) {
		int64_t now = sched_nanotime();
		if (when <= now)
			sched_check_timers(pp, now);
	}
	/* Now and then look at the global queue first, so it is not starved. */
	if (atomic_load(&pp->schedtick) % 61 == 0 && atomic_load(&sched.runqsize)) {
		lock();
		g = sched_globrunqget(pp, 1);
		unlock();
	}
	if (!g && (g = sched_runqget(pp, &inherit)))
		m->pick = inherit ? PICK_RUNNEXT : PICK_LOCAL;
	if (!g)
		g = findrunnable(&inherit);
	if (m->spinning)
		resetspinning();
	execute(g, inherit);
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
	sched_chaos(CHAOS_PARK);
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
	g->readyhow = (intptr_t)arg == TRACE_EV_GO_PREEMPT ? READY_PREEMPTED : READY_YIELDED;
	g->readyby = 0;
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
	/* on g0 with no G: a timer (sched_check_timers) */
	g->readyby = sched_mself->curg ? sched_mself->curg->goid : 0;
	g->readyhow = sched_mself->curg ? READY_WOKEN : READY_TIMER;
	if (sched_trace_enabled) {
		/* the waker's stack, if a G is waking it (not a timer) */
		trace_go_unblock(&sched_mself->p->trace, &g->trace, sched_tracegs(sched_mself->curg));
	}
	setgstatus(g, G_RUNNABLE);
	sched_chaos(CHAOS_READY);
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

/* The bookkeeping follows Go's entersyscall/exitsyscall.  syscalltick
 * counts the syscalls a P has seen end: the M remembers it when the call
 * starts, and whoever takes the P away from the call (sysmon's retake, a
 * stop of the world) or gets it back bumps it.  So an M coming back from
 * C can tell whether its P was taken and used by someone else meanwhile,
 * even if the P is in a syscall again when it looks. */
void sched_entersyscall(void)
{
	sched_m *m = sched_mself;
	sched_p *pp = m->p;
	if (sched_trace_enabled)
		trace_go_syscall(&pp->trace, &m->curg->trace);
	m->curg->sysblock_traced = true;
	setgstatus(m->curg, G_SYSCALL);
	m->syscalltick = atomic_load(&pp->syscalltick);
	atomic_fetch_add(&sched.nmsyscall, 1);
	m->oldp = pp;
	m->p = NULL;
	pp->m = NULL;
	/* From here sysmon may take the P (CAS P_SYSCALL -> P_IDLE). */
	atomic_store(&pp->status, P_SYSCALL);
	sched_chaos(CHAOS_ENTERSYSCALL);
}

/* When tracing, wait until whoever took oldp has written its GoSysBlock
 * (sched_take_from_syscall bumps syscalltick after the event), so that our GoSysExit
 * comes after it in every ordering.  Go's exitsyscall waits the same way. */
static void wait_sysblock_written(sched_m *m, sched_p *oldp)
{
	while (oldp && atomic_load(&oldp->syscalltick) == m->syscalltick &&
	       !atomic_load(&sched.exiting))
		sched_yield();
}

/* We got our own P back, but it may have been taken and given to another
 * M that is now in a syscall on it (syscalltick moved): then we took it
 * from that syscall, and the trace must say so, as Go's
 * exitsyscallfast_reacquired does: GoSysBlock for the other G, GoSysExit
 * for ours.  The bump tells the other M, when it comes back, that its P is
 * gone and its GoSysBlock written. */
static void exitsyscallfast_reacquired(sched_m *m)
{
	sched_p *pp = m->p;
	if (m->syscalltick == atomic_load(&pp->syscalltick))
		return;
	if (sched_trace_enabled) {
		trace_go_sysblock(&pp->trace);
		trace_go_sysexit(&pp->trace, &m->curg->trace, 0);
	}
	atomic_fetch_add(&pp->syscalltick, 1);
}

/* Get a P without going through the scheduler: our own, if it is still in
 * the syscall, else an idle one.  Go's exitsyscallfast. */
static bool exitsyscallfast(sched_m *m, sched_p *oldp)
{
	uint32_t want = P_SYSCALL;
	if (oldp && atomic_compare_exchange_strong(&oldp->status, &want, P_IDLE)) {
		/* Go's wirep: the P was never stopped in the trace */
		m->p = oldp;
		__atomic_store_n(&oldp->m, m, __ATOMIC_RELEASE);
		atomic_store(&oldp->status, P_RUNNING);
		exitsyscallfast_reacquired(m);
		return true;
	}
	if (atomic_load(&sched.npidle) == 0)
		return false;
	lock();
	sched_p *pp = pidleget();
	unlock();
	if (!pp)
		return false;
	acquirep(pp); /* ProcStart */
	if (sched_trace_enabled) {
		wait_sysblock_written(m, oldp);
		trace_go_sysexit(&pp->trace, &m->curg->trace, 0);
	}
	return true;
}

/* No P came back: queue the G and let this M sleep (Go's exitsyscall0).
 * On g0. */
SYSTEMSTACK static void exitsyscall0(void *arg)
{
	(void)arg;
	sched_assert_on_g0();
	sched_m *m = sched_mself;
	sched_g *g = m->curg;
	setcurg(m, NULL);
	setgstatus(g, G_RUNNABLE);
	g->readyhow = READY_SYSCALL;
	g->readyby = 0;
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
		m->pick = PICK_SYSCALL;
		execute(g, false);
	}
	stopm();
	schedule();
}

void sched_exitsyscall(void)
{
	sched_m *m = sched_mself;
	sched_p *oldp = m->oldp;
	sched_g *g = m->curg;
	m->oldp = NULL;
	atomic_fetch_sub(&sched.nmsyscall, 1);
	sched_chaos(CHAOS_EXITSYSCALL);
	if (exitsyscallfast(m, oldp)) {
		if (sched.cfg.schedlog)
			schedlog(m, g, m->p == oldp ? PICK_SYSCALL_OWN : PICK_SYSCALL, 0);
		/* On another P, or our own after someone else's syscall on it:
		 * the G starts again in the trace. */
		if (sched_trace_enabled &&
		    (m->p != oldp || m->syscalltick != atomic_load(&m->p->syscalltick)))
			trace_go_start(&m->p->trace, &g->trace);
		atomic_fetch_add(&m->p->syscalltick, 1);
		setgstatus(g, G_RUNNING);
		return;
	}
	/* No P: the G goes through the scheduler.  Its GoSysExit is written
	 * when it next runs (execute), with the time the call returned; if a
	 * trace starts meanwhile, with time 0 (unknown: the parser takes the
	 * event's own), as Go's exitsyscall does. */
	g->sysexit_pending = true;
	g->sysexit_ticks = 0;
	if (sched_trace_enabled) {
		wait_sysblock_written(m, oldp);
		g->sysexit_ticks = trace_cputicks();
	}
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
		 * for their VM stacks, and freed Gs are reused.  A G and the
		 * VM's registers after it own their cache lines (runtime.h,
		 * "False sharing"). */
		g = gc_alloc_uncollectable_lines(sizeof *g + sched.cfg.gvmsize);
		if (sched.cfg.gvmsize)
			g->vm = g + 1;
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
	newg->readyhow = READY_CREATED;
	newg->readyby = m && m->curg ? m->curg->goid : 0;
	if (!m) { /* the main G, before any M runs */
		lock();
		globrunqput(newg);
		unlock();
		return;
	}
	if (sched_trace_enabled) {
		trace_go_create(&m->p->trace, &newg->trace, newg->startpc, sched_tracegs(m->curg));
	}
	sched_runqput(m->p, newg, true);
	wakep();
}

bool sched_on_system_stack(void)
{
	return sched_mself && sched_mself->on_g0;
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

int sched_init(const sched_config *cfg)
{
	sched.cfg = *cfg;
	sched.start_ns = sched_nanotime();
	/* before the trace file exists: once it does, a signal finishes it */
	sched_signals_start();
	sched_chaos_init();
	if (sched.cfg.procs <= 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		sched.cfg.procs = n > 0 ? (int)n : 1;
	}
	if (sched.cfg.deterministic && sched.cfg.slice <= 0)
		sched.cfg.slice = 10000;
	/* A g0 must hold the runtime's deepest path plus a signal's frame,
	 * which depends on this CPU (runtime.h): refuse a smaller one, and
	 * grow the default on a CPU whose signal frame needs it. */
	size_t min = sched_sysstack_safe_min();
	if (sched.cfg.sysstack == 0) {
		sched.cfg.sysstack = SCHED_SYSSTACK_DEFAULT > min ? SCHED_SYSSTACK_DEFAULT : min;
	} else if (sched_sysstack_round(sched.cfg.sysstack) < min) {
		fprintf(stderr,
			"greenvm: --sysstack=%zu is too small: a g0 needs at least %zu bytes on this "
			"machine: %u for the runtime's deepest path and %zu for a signal "
			"(a %zu-byte kernel signal frame measured on this CPU and %u for the "
			"collector's handler)\n",
			sched.cfg.sysstack, min, SCHED_G0_STATIC_WORST, sched_signal_reserve(),
			sched_signal_frame(), SCHED_GC_SIGNAL_HANDLER);
		return SCHED_INIT_BAD_SYSSTACK;
	}
	sched.nprocs = sched.cfg.procs;
	/* line-aligned: each P owns its lines (runtime.h, "False sharing") */
	sched.allp = aligned_alloc(SCHED_CACHE_LINE, (size_t)sched.nprocs * sizeof *sched.allp);
	if (!sched.allp)
		return -1;
	memset(sched.allp, 0, (size_t)sched.nprocs * sizeof *sched.allp);
	sched_osinit();
	for (int i = sched.nprocs - 1; i >= 0; i--) {
		sched_p *pp = &sched.allp[i];
		pp->id = i;
		pp->trace.id = i;
		pthread_mutex_init(&pp->timerslock, NULL);
		pidleput(pp);
	}
	if (cfg->trace_path && *cfg->trace_path) {
		if (sched_trace_init(cfg->trace_path) != 0)
			return -1;
	}
	return 0;
}

/* The body of every M, on its M stack. */
static void mstart(void *arg)
{
	sched_m *m = arg; /* and sched_mself, set by its thread (os_linux.c) */
	if (m->id == 0 && sched.cfg.trace_path && *sched.cfg.trace_path)
		sched_trace_start_configured();
	sched.cfg.hooks.mloop();
	/* The loop ends when the program deadlocked: report it and finish. */
	sched_exit(VM_EXIT_STATUS_DEADLOCK);
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

/* ------------------------------------------------------------------ */
/* Stopping the world                                                 */
/* ------------------------------------------------------------------ */

static const char *const stw_reasons[] = {
	[STW_EXIT] = "the program ends",
	[STW_TRACE_START] = "start tracing",
	[STW_TRACE_STOP] = "stop tracing",
};

/* Stop every P but the caller's (Go's stopTheWorldWithSema): afterwards no
 * other M runs a G, touches a G's scheduling state or writes a trace
 * event.  Running Gs are asked to yield (the preempt flag) and their Ms
 * then wait in schedule(): for a while in stw_park, keeping their P, or,
 * when the program ends (STW_EXIT), for good in stop_for_exit, which puts
 * the P down.  Ps in a syscall are taken (their Ms, back from C, find no P
 * and queue their G); idle Ps stay idle, since pidleget gives out none.
 *
 * It waits on sched.stwcond, which every M that stops signals, and, as
 * Go's notetsleep(&sched.stopnote, 100 µs) loop does, asks again every
 * millisecond: a G that started just as the flag was set has not seen it.
 * The end of the program gives up after two seconds (an M stuck in a
 * runtime bug must not keep the trace and the output from being written),
 * and says so.  Called by a running G's M, or (STW_EXIT only) by a thread
 * that is not an M, the signal thread. */
void sched_stop_the_world(enum stw_reason reason)
{
	sched_m *m = sched_mself;
	sched_p *ours = m ? m->p : NULL;
	bool forgood = reason == STW_EXIT;
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 2;
	lock();
	if (!forgood) {
		atomic_store(&sched.stw, true);
		sched.stwowner = m;
	}
	for (;;) {
		int busy = 0;
		for (int i = 0; i < sched.nprocs; i++) {
			sched_p *pp = &sched.allp[i];
			if (pp == ours || pp->stwparked || pp->stwtaken)
				continue;
			sched_chaos(CHAOS_STOPWORLD);
			if (sched_take_from_syscall(pp)) {
				pp->stwtaken = true;
				continue;
			}
			if (atomic_load(&pp->status) == P_IDLE && !pp->m)
				continue; /* on the idle list, or put down for good */
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
		/* sysmon writes trace events too */
		if (forgood && !atomic_load(&sched.sysmon_done))
			busy++;
		if (!busy)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		if (forgood && (ts.tv_sec > deadline.tv_sec ||
				(ts.tv_sec == deadline.tv_sec && ts.tv_nsec >= deadline.tv_nsec))) {
			fprintf(stderr, "greenvm: stopping the world (%s): %d Ms did not stop; the "
				"trace may miss their last events\n", stw_reasons[reason], busy);
			break;
		}
		ts.tv_nsec += 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&sched.stwcond, &sched.lock, &ts);
	}
	unlock();
}

/* Let the world run again after stop_the_world (not STW_EXIT): the Ps taken
 * from syscalls go to the idle list, and an M is woken if there is work. */
void sched_start_the_world(void)
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

static void stop_for_exit_m(void *arg)
{
	(void)arg;
	stop_for_exit();
}

/* Flush what the program printed.  The signal thread only tries: an M
 * stopped in the middle of a C call might hold stdout's lock. */
static void flush_output(bool try)
{
	if (!try) {
		fflush(stdout);
		return;
	}
	for (int i = 0; i < 100; i++) {
		if (ftrylockfile(stdout) == 0) {
			fflush_unlocked(stdout);
			funlockfile(stdout);
			return;
		}
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
	fputs("greenvm: stdout is locked: its buffered output is lost\n", stderr);
}

void sched_exit(int status)
{
	if (!sched_end_program(sched_mself, status)) /* another is ending it */
		systemstack("exit", stop_for_exit_m, NULL);
	for (;;)
		pause();
}

bool sched_end_program(sched_m *m, int status)
{
	lock();
	bool first = !atomic_load(&sched.exiting);
	atomic_store(&sched.exiting, true);
	unlock();
	if (!first)
		return false;

	sched_stop_the_world(STW_EXIT);
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
	flush_output(m == NULL);
	if (sched_trace_enabled && sched_trace_finish(m) != 0) {
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
	return true;
}

