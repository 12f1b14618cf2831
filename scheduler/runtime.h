/* runtime.h: M, P and the global scheduler state, shared by the files of scheduler/. */
#ifndef GREENVM_SCHED_RUNTIME_H
#define GREENVM_SCHED_RUNTIME_H

#include <signal.h>
#include <stdatomic.h>

#include "scheduler/sched.h"
#include "scheduler/switch.h"

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

/* g0 sizes (--sysstack): page-rounded, within these bounds. */
#define SCHED_SYSSTACK_DEFAULT (16u * 1024)
#define SCHED_SYSSTACK_MIN (4u * 1024)
#define SCHED_SYSSTACK_MAX (1024u * 1024)
/* The M stack: the interpreter loop and FFI calls run there. */
#define SCHED_MSTACK_DEFAULT (8u * 1024 * 1024)
#define SCHED_MSTACK_MIN (64u * 1024)

/* Kinds of system-stack operation --stack-stats tells apart per M. */
#define SCHED_OPSTATS 16

/* --stack-stats: the deepest g0 use seen for one kind of operation (op
 * names are string literals, compared by address). */
struct sched_opstat {
	const char *op;
	size_t deepest;
};

/*
 * An M: an OS thread (Go's m).  One structure, with one self pointer,
 * sched_mself: the scheduler's part (the G and P it has, its idle-list
 * links, its note), then its thread and the single mapping that holds its
 * stacks (os_linux.c), then what the switches keep (switch.c).  The
 * mapping, addresses growing to the right:
 *
 *   map_lo                                                    map_hi
 *   | guard | sigaltstack | guard | g0 (sysstack) | M stack (mstack) |
 *                                 ^g0_lo   g0_hi^=mstack_lo  mstack_hi^
 *
 * The pthread's stack is [g0_lo, mstack_hi); see the comment at the top of
 * os_linux.c for why g0 sits there.  Go's m points to a g0, a G whose
 * stack is the system stack; greenvm's g0 is only a stack, and the M's
 * own fields say where it is.
 *
 * The M is C memory, which the collector does not scan (newm allocates it
 * on g0 or in sysmon, where the collector may not be called), so no field
 * may hold the only pointer to a GC object.  mcall's saved registers,
 * which may, are kept on the M stack, which the collector scans (switch.c).
 */
struct sched_m {
	/* M id, 0 for the first (an M a test starts: the test's choice);
	 * aligned so that each M owns its cache lines (see "False sharing"
	 * above) */
	_Alignas(SCHED_CACHE_LINE) int64_t id;
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

	/* ---- its thread and stacks, set by sched_newosproc (os_linux.c) ---- */

	/* the whole mapping [map_lo, map_lo + map_size), unmapped by sched_mjoin;
	 * NULL until sched_newosproc has made it */
	char *map_lo;
	size_t map_size;
	/* the guard page(s) right below g0: PROT_NONE, size a page multiple */
	char *guard_lo;
	char *guard_hi;
	/* g0: [g0_lo, g0_hi), g0_hi is where a switch puts the stack pointer */
	char *g0_lo;
	char *g0_hi;
	/* bytes of g0 (g0_hi - g0_lo), a multiple of the page size */
	size_t sysstack;
	/* the M stack: [mstack_lo, mstack_hi), mstack_lo == g0_hi */
	char *mstack_lo;
	char *mstack_hi;
	/* bytes of the M stack (glibc keeps its thread descriptor at its top) */
	size_t mstack;
	/* the signal stack of this M, inside the mapping, with its own guard */
	stack_t altstack;
	/* the signal stack the thread had before ours, restored at exit */
	stack_t old_altstack;
	/* what the thread runs on its M stack, mstartfn(mstartarg) (Go's
	 * mstartfn): mstart for the scheduler's Ms */
	void (*mstartfn)(void *);
	void *mstartarg;
	/* the pthread, valid from sched_newosproc until sched_mjoin */
	pthread_t thread;

	/* ---- switching (switch.c); the fault handler reads the volatile ones ---- */

	/* true while the stack pointer is on g0 */
	volatile bool on_g0;
	/* the runtime work on g0 right now ("schedule", ...) or NULL */
	const char *volatile op;
	/* the M stack's context saved by mcall, in mcall's own frame on the M
	 * stack; NULL when no mcall is pending (Go keeps it in g.sched) */
	sched_gobuf *gobuf;
	/* mcall's fn and arg, read on g0 by the mcall trampoline */
	void (*mcall_fn)(void *);
	void *mcall_arg;
	/* --stack-stats: the deepest g0 use seen per kind of operation */
	struct sched_opstat opstats[SCHED_OPSTATS];
	/* AddressSanitizer fiber bookkeeping (debug builds only) */
	void *asan_fake_stack;
	const void *asan_mstack_bottom;
	size_t asan_mstack_size;
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

/* The M this thread is, or NULL (Go's getg().m): set by the M's thread
 * when it starts (os_linux.c).  The fault handler reads it too. */
extern __thread sched_m *sched_mself;

/* os_linux.c: an M's thread and its stacks, the fault handler */

/*
 * Set-up, once, before any other call of this section (sched_init and
 * sched_signal_frame call it; a second call does nothing): initializes
 * Boehm (GC_INIT) and installs the stack-overflow handler.  Go's osinit,
 * and initsig's SIGSEGV part.
 */
void sched_osinit(void);

/* Append s, or v in decimal, to buf at *n, within cap: formatting without
 * stdio, for signal handlers and g0 (where glibc's unbuffered stderr would
 * format into an 8 KiB buffer on the stack). */
void sched_put(char *buf, size_t cap, size_t *n, const char *s);
void sched_put_uint(char *buf, size_t cap, size_t *n, uintmax_t v);

/* Write a, b and c (any may be NULL) to stderr with write(2): safe on g0
 * and in signal handlers, unlike stdio. */
void sched_write_stderr(const char *a, const char *b, const char *c);

/* A runtime bug: print "fatal error: msg" and abort (Go's throw). */
__attribute__((noreturn)) void sched_throw(const char *msg);

/* Round a g0 size up to whole pages; 0 when outside [MIN, MAX]. */
size_t sched_sysstack_round(size_t bytes);

/*
 * How small a g0 may safely be.  A signal can arrive while an M is on g0
 * (the collector stops every thread with one), and its frame lands on g0
 * at whatever depth the runtime has reached.  So a g0 must hold the
 * deepest path of the runtime plus one signal: the kernel's signal frame,
 * whose size depends on the CPU (its vector registers: AVX-512 makes it
 * about 3.5 KiB), plus the collector's handler.  The first is measured at
 * start-up; the other two are figures of this build:
 *
 * SCHED_G0_STATIC_WORST: the worst case of every system-stack entry but
 * the legacy trace dump, as ./run stack-report computes it from the
 * compiler's frame sizes (tests/stackrep checks that none exceeds it).
 * Sanitizer builds have no static figure (red zones make frames several
 * times larger); there it is an allowance above the deepest use that
 * --stack-stats measures.
 *
 * SCHED_GC_SIGNAL_HANDLER: the frames of Boehm's suspend handler above the
 * kernel's (it saves the registers in a ucontext_t, among others);
 * tests/unit/test_stack.c measures a stop of an M on g0 against it.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SCHED_G0_STATIC_WORST (6u * 1024)
#else
#define SCHED_G0_STATIC_WORST 1536u
#endif
#define SCHED_GC_SIGNAL_HANDLER 3072u

/* The kernel's signal frame on this CPU, in bytes: measured once, by a
 * signal sent to ourselves, or the kernel's AT_MINSIGSTKSZ if that is
 * larger. */
size_t sched_signal_frame(void);
/* Bytes a g0 keeps for one signal: sched_signal_frame() plus
 * SCHED_GC_SIGNAL_HANDLER. */
size_t sched_signal_reserve(void);
/* The smallest --sysstack accepted: SCHED_G0_STATIC_WORST plus the
 * signal reserve, in whole pages (at least SCHED_SYSSTACK_MIN). */
size_t sched_sysstack_safe_min(void);

/*
 * Start m's thread (Go's newosproc): map its stacks, a g0 of sysstack
 * bytes below an M stack of mstack bytes (0: the defaults), and run
 * fn(arg) on the M stack of a new pthread, registered with Boehm, whose
 * sched_mself is m.  m is the caller's, zeroed but for the fields the
 * caller set (id, ...); this sets those of its thread and stacks.  0, or
 * -1 with errno set (EINVAL for a bad size, or what mmap or
 * pthread_create said).
 */
int sched_newosproc(sched_m *m, size_t sysstack, size_t mstack, void (*fn)(void *), void *arg);

/* Wait for m's thread to end, then unmap its stacks; m itself stays the
 * caller's.  Not from m itself.  (Go's Ms never end: the scheduler's do
 * not either; the tests' do.) */
void sched_mjoin(sched_m *m);

/* Print which stack of m overflowed ("fatal error: system stack
 * overflow", the M, the size and the operation on g0) and exit with
 * status 2.  Async-signal-safe: the fault handler and the switches'
 * checks call it. */
__attribute__((noreturn)) void sched_overflow_report(const sched_m *m, bool on_g0);

/* switch.c: g0's paint.  Every g0 is painted with a pattern when its M
 * starts; sched_g0_high_water returns how many bytes from the top of g0
 * have ever been written (the deepest use so far).  sched_g0_repaint
 * paints again, to measure one operation; it must not be called on g0. */
size_t sched_g0_high_water(const sched_m *m);
void sched_g0_repaint(sched_m *m);

/*
 * --stack-stats: when on, every systemstack and mcall operation repaints
 * the free part of g0 as it starts and measures how deep it went as it
 * ends, into m->opstats (nested operations count in their own kind and
 * in the one around them).  It costs a scan of g0 per operation, so it is
 * off unless asked for.
 */
extern bool sched_stack_stats;

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
