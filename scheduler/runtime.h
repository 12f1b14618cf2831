/* runtime.h: M, P and the global scheduler state, shared by the files of scheduler/. */
#ifndef GREENVM_SCHED_RUNTIME_H
#define GREENVM_SCHED_RUNTIME_H

#include <stdatomic.h>

#include "scheduler/sched.h"
#include "scheduler/stack.h"

/* A hint to the CPU that we are spinning (x86 pause, arm64 yield). */
static inline void sched_cpu_relax(void)
{
#if defined(__x86_64__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

/* sched_exit's status when the loop ended because of a deadlock. */
#define VM_EXIT_STATUS_DEADLOCK (-1)

/* Local run queue size (Go's runq is 256 too). */
#define SCHED_RUNQ 256

/* P statuses (Go's _Pidle, _Prunning, _Psyscall). */
enum { P_IDLE, P_RUNNING, P_SYSCALL };

/* Why the world is stopped (Go's stopTheWorld reason). */
enum stw_reason {
	STW_EXIT,        /* the program ends: the other Ms stop for good */
	STW_TRACE_START, /* bytecode starts tracing: the world runs on after */
	STW_TRACE_STOP,  /* bytecode stops tracing */
};

/*
 * False sharing.  Each P, M and G is written all the time by the one thread
 * that runs it (run queue tail, schedtick, current G, status, the P's trace
 * buffer position), so no two of them may share a cache line: if they did,
 * two cores writing their own P, say, would pass the line between them on
 * every write.  Go ends its p with a cpu.CacheLinePad and keeps the allp
 * array of pointers; greenvm aligns the types instead, which does both:
 *
 *   P   sched_p is aligned to SCHED_CACHE_LINE (so its size is a multiple
 *       of it) and allp, one array, is allocated line-aligned: each P's
 *       run queue head and tail, runnext, ticks and trace_pstate lie in
 *       lines of their own.  Head and tail stay together, as in Go: the
 *       owner writes both, and a thief's CAS on head is rare.
 *   M   sched_m is aligned the same way and each M allocated line-aligned
 *       (newm), so sysmon's write of m->preempt touches only that M.
 *   G   a G and its VM registers are allocated together with
 *       gc_alloc_uncollectable_lines (sched_newg), in lines of their own;
 *       its VM stack comes from gc_alloc_lines (vm/interp.c).
 *
 * The global scheduler state below (sched) is shared by every P by design,
 * as Go's sched is; it is written under sched.lock, or with atomics on
 * paths that look for work, never on the path that runs a goroutine.
 * docs/scheduler.md, "False sharing", has the measurements.
 */
#define SCHED_CACHE_LINE 64

struct sched_p {
	/* index in sched.allp, 0 .. nprocs-1; aligned so that every P starts
	 * a cache line and owns its lines (see "False sharing" above) */
	_Alignas(SCHED_CACHE_LINE) int32_t id;
	/* P_IDLE, P_RUNNING or P_SYSCALL; sysmon CASes P_SYSCALL -> P_IDLE */
	_Atomic uint32_t status;
	/* the M that holds it, NULL when idle or its M is in a syscall */
	sched_m *m;
	/* next P on the idle list (under sched.lock) */
	sched_p *link;
	/* bumped when a G starts a new time slice (not when it inherits
	 * one from runnext); sysmon watches it for long runs */
	_Atomic uint64_t schedtick;
	/* bumped when a syscall on it ends or it is taken from one; sysmon
	 * watches it for long syscalls, an M back from C for a lost P */
	_Atomic uint64_t syscalltick;

	/* The local run queue: a ring the owner puts to at tail and anyone
	 * takes from at head with a CAS (Go's runq, lock-free). */
	_Atomic uint32_t runqhead, runqtail;
	_Atomic(sched_g *) runq[SCHED_RUNQ];
	/* a G to run next, ahead of the queue (readied by the current G) */
	_Atomic(sched_g *) runnext;

	/* sleeping Gs, a binary min-heap on g->when, under timerslock */
	pthread_mutex_t timerslock;
	sched_g **timers;
	uint32_t ntimers, captimers;
	/* when of timers[0], 0 if there are none: read without the lock */
	_Atomic int64_t timer0when;
	/* its trace buffer */
	trace_pstate trace;
	/* its M waits in schedule() for a stop-the-world to end (under lock) */
	bool stwparked;
	/* taken from an M in a syscall by a stop-the-world (under lock) */
	bool stwtaken;
};

struct sched_m {
	/* M id, 0 for the first; aligned so that each M owns its cache lines
	 * (see "False sharing" above) */
	_Alignas(SCHED_CACHE_LINE) int64_t id;
	/* its stacks: g0 and the M stack (stack.c) */
	sched_mstack *stack;
	/* the G it runs, NULL while it schedules */
	sched_g *curg;
	/* the P it holds; NULL when idle or in a syscall that lost its P */
	sched_p *p;
	/* the P to take when woken (set by whoever wakes it) */
	sched_p *nextp;
	/* the P it held when it entered a syscall */
	sched_p *oldp;
	/* looking for work to steal (counted in sched.nmspinning) */
	bool spinning;
	/* sysmon asks the running G to yield */
	_Atomic bool preempt;
	/* park/unpark: a one-shot "note" as in Go */
	pthread_mutex_t notelock;
	pthread_cond_t notecond;
	bool notified;
	/* next M on the idle list (under sched.lock) */
	sched_m *schedlink;
	/* per-M random state for steal order and select */
	uint64_t rand;
	/* the P's syscalltick when this M entered its syscall (it moves
	 * only when a syscall on that P ends or the P is taken from one) */
	uint64_t syscalltick;
	/* next M in sched.allm (never removed: Ms live as long as the program) */
	sched_m *alllink;
	/* where schedule() found the G it is about to run (enum sched_pick)
	 * and, if stolen, from which P: --schedlog */
	uint8_t pick;
	int32_t pickfrom;
};

/* Where schedule() found a G (--schedlog). */
enum sched_pick { PICK_RUNNEXT, PICK_LOCAL, PICK_GLOBAL, PICK_STOLEN, PICK_SYSCALL, PICK_SYSCALL_OWN };

/* The global scheduler state (Go's schedt), under lock unless atomic. */
typedef struct sched_state {
	pthread_mutex_t lock;
	sched_config cfg;
	/* number of Ps and the Ps themselves */
	int nprocs;
	sched_p *allp;

	/* the global run queue */
	sched_g *runqhead, *runqtail;
	_Atomic int64_t runqsize;

	/* idle Ps and idle Ms */
	sched_p *pidle;
	_Atomic int32_t npidle;
	sched_m *midle;
	int32_t nmidle;
	/* every M ever started, newest first (under lock) */
	sched_m *allm;
	/* Ms newm prepared, for the main thread to start (under lock) */
	sched_m *newms;
	/* Ms created, and Ms looking for work */
	int32_t mcount;
	_Atomic int32_t nmspinning;
	/* Ms in a syscall (they will come back) */
	_Atomic int32_t nmsyscall;
	/* sysmon is taking a P from a syscall and handing it over: counted as
	 * a running M by checkdead (Go's incidlelocked(-1) around retake) */
	_Atomic int32_t nmretaking;

	/* goroutine ids; free Gs; all Gs ever made (for deadlock reports) */
	_Atomic int64_t goidgen;
	sched_g *gfree;
	sched_g **allgs;
	uint32_t nallgs, capallgs;

	/* sched_nanotime() when the program started (schedtrace's 0 ms) */
	int64_t start_ns;
	/* the virtual clock of deterministic mode */
	_Atomic int64_t vclock;

	/* program end: exiting is set once, by the M that ends the program;
	 * every other M stops at its next scheduling point; when that M is
	 * done (trace finished) it sets finished and the main thread ends the
	 * process with exit_status */
	_Atomic bool exiting;
	bool finished;
	int exit_status;
	/* every goroutine is asleep for good (found by checkdead) */
	_Atomic bool deadlock;
	pthread_cond_t exitcond;
	/* tracing was asked for and the file could not be made (whether
	 * tracing is on is sched_trace_enabled, in sched.h) */
	bool trace_failed;
	/* sysmon has seen exiting and stopped */
	_Atomic bool sysmon_done;

	/* A stop-the-world in progress (tracing started or stopped from
	 * bytecode): every P but the owner's is idle, taken from a syscall,
	 * or held by an M that waits in schedule() on stwcond. */
	_Atomic bool stw;
	sched_m *stwowner;
	pthread_cond_t stwcond;
} sched_state;

extern sched_state sched;

/* The M this thread is, or NULL. */
extern __thread sched_m *sched_mself;

/* proc.c */
void sched_runqput(sched_p *pp, sched_g *g, bool next);
/* Take from pp's local queue (runnext first); only pp's owner calls it.
 * *inherit: the G came from runnext and runs on in the current slice. */
sched_g *sched_runqget(sched_p *pp, bool *inherit);
/* Steal half of p2's queue into pp's; one of the stolen Gs, or NULL. */
sched_g *sched_runqsteal(sched_p *pp, sched_p *p2, bool stealnext);
/* Take from the global queue, moving a fair share (at most max, 0: no
 * limit) to pp.  sched.lock held. */
sched_g *sched_globrunqget(sched_p *pp, int64_t max);
bool sched_runqempty(sched_p *pp);
void sched_handoffp(sched_p *pp);
/* Take pp from the M in a syscall that holds it (CAS P_SYSCALL -> P_IDLE,
 * trace events, syscalltick): true if taken.  The caller then hands it off
 * or keeps it stopped.  Go's retake, for sysmon and the stops of the world. */
bool sched_take_from_syscall(sched_p *pp);
/* sysmon's retake: sched_take_from_syscall, then hand the P off, with checkdead's
 * accounting around it.  True if taken. */
bool sched_sysmon_retake(sched_p *pp);
uint64_t sched_fastrand(void);

/* time.c */
void sched_timer_add(sched_p *pp, sched_g *g);
/* Ready the Gs of pp's expired timers onto the current P; the time of the
 * next timer or 0. */
int64_t sched_check_timers(sched_p *pp, int64_t now);
/* Earliest timer of any P, 0 if none. */
int64_t sched_next_timer(void);

/* sysmon.c */
void sched_sysmon_start(void);
/* One line of scheduler state, like Go's GODEBUG=schedtrace (ms since the
 * start), and with detail a line per P and per M (scheddetail=1). */
void sched_schedtrace(FILE *out, int64_t ms, bool detail);

/* chaos.c: GREENVM_SCHED_CHAOS=SEED, random delays at decision points. */
enum sched_chaos_point {
	CHAOS_RUNQPUT,      /* a G is put on a local queue */
	CHAOS_WAKEP,        /* an M is about to be woken for new work */
	CHAOS_STEAL,        /* before stealing from another P */
	CHAOS_PARK,         /* a G has parked, before its lock is released */
	CHAOS_READY,        /* a G is made runnable */
	CHAOS_ENTERSYSCALL, /* the P has just been left in P_SYSCALL */
	CHAOS_EXITSYSCALL,  /* back from C, before trying to get a P */
	CHAOS_RETAKE,       /* sysmon, before taking a P from a syscall */
	CHAOS_STOPWORLD,    /* while the world is being stopped */
	CHAOS_STOPM,        /* an M is about to sleep for want of work */
};
extern bool sched_chaos_on;
void sched_chaos_init(void);
uint64_t sched_chaos_seed(void);
void sched_chaos_slow(enum sched_chaos_point point);
/* A decision point: with chaos on, maybe yield, spin or sleep here. */
static inline void sched_chaos(enum sched_chaos_point point)
{
	if (__builtin_expect(sched_chaos_on, 0))
		sched_chaos_slow(point);
}

/* signal.c: SIGQUIT's dump, SIGINT and SIGTERM's orderly end. */
void sched_signals_start(void);

/* proc.c: stop every P but the caller's (Go's stopTheWorldWithSema), and
 * let them run again (not after STW_EXIT); see proc.c. */
void sched_stop_the_world(enum stw_reason reason);
void sched_start_the_world(void);

/* trace.c */
/* The tracing state of g, NULL for no G: the goroutine whose stack an
 * event carries. */
static inline trace_gstate *sched_tracegs(sched_g *g)
{
	return g ? &g->trace : NULL;
}
/* Set up the tracer to write path (trace_init with the scheduler's hooks). */
int sched_trace_init(const char *path);
/* Start the trace the configuration asks for: on M0, before it schedules. */
void sched_trace_start_configured(void);
/* End the trace with the world stopped (Go's StopTrace); m is the M that
 * ends it or NULL.  0, or -1 (trace_error says why). */
int sched_trace_finish(sched_m *m);

/* proc.c */
/* sched.lock, for the files of scheduler/: try for up to ms
 * milliseconds (true: taken), and release */
bool sched_trylock_sched(int ms);
void sched_unlock_sched(void);
/* End the program with status: stop the world, report a deadlock
 * (status VM_EXIT_STATUS_DEADLOCK), flush the output, finish the trace,
 * and let the main thread exit.  m is the M that ends it, or NULL for a
 * thread that is not an M (the signal thread).  Returns false, having
 * done nothing, if the program is ending already. */
bool sched_end_program(sched_m *m, int status);

#endif
