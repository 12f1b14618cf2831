/* sched.h: the public interface of greenvm's scheduler (scheduler/).
 *
 * Goroutines (G) run on OS threads (M) that hold processors (P), as in Go's
 * runtime; see the essay at the top of proc.c and docs/scheduler.md.  The
 * scheduler knows nothing of bytecode: a G carries an opaque pointer to the
 * VM's state, and the VM gives the scheduler a few hooks (sched_hooks).
 *
 * How the VM uses this:
 *   - sched_main() starts the Ms; each runs hooks.mloop on its M stack.
 *   - mloop calls sched_resume() to get its first G, then runs bytecode
 *     for sched_curg().  When a G must block it saves its registers in the
 *     G and calls one of the parking functions (sched_park, sched_gosched,
 *     sched_goexit, ...).  They return when this M has a G to run again,
 *     which is usually a different G: the loop reloads its registers from
 *     sched_curg().  If that is NULL every goroutine is asleep for good:
 *     the loop returns and its M reports the deadlock (sched_exit).
 */
#ifndef GREENVM_SCHED_H
#define GREENVM_SCHED_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "trace/trace.h"


/* ------------------------------------------------------------------ */
/* G                                                                  */
/* ------------------------------------------------------------------ */

/* A G's status, with Go's names (runtime2.go's _Gidle ... _Gdead). */
enum sched_gstatus {
	G_IDLE,     /* just allocated, not yet started */
	G_RUNNABLE, /* on a run queue */
	G_RUNNING,  /* running bytecode on an M that holds a P */
	G_SYSCALL,  /* in an FFI call, on an M, maybe without a P */
	G_WAITING,  /* blocked: parked on a channel, timer, mutex, ... */
	G_DEAD,     /* finished; on the free list */
};

/* Why a G waits (Go's waitReason), shown in deadlock tracebacks. */
enum sched_waitreason {
	WAIT_NONE,
	WAIT_CHAN_RECEIVE,
	WAIT_CHAN_SEND,
	WAIT_CHAN_RECEIVE_NIL,
	WAIT_CHAN_SEND_NIL,
	WAIT_SELECT,
	WAIT_SELECT_NO_CASES,
	WAIT_SLEEP,
	WAIT_MUTEX,
	WAIT_WAITGROUP,
};

/* Go's spelling of a wait reason: "chan receive", "sleep", ... */
const char *sched_waitreason_string(int reason);

/* A runtime lock for the short critical sections of channels, mutexes and
 * wait groups (Go's runtime.mutex): spin with a pause, then give the CPU up
 * with sched_yield.  Cheaper than a pthread mutex when uncontended (an
 * inline exchange, no call), and never sleeps for long because nothing is
 * done while holding it but a few loads and stores. */
typedef struct sched_lock {
	/* 0 free, 1 held */
	_Atomic uint32_t held;
} sched_lock;

void sched_lock_slow(sched_lock *l);

static inline void sched_lock_acquire(sched_lock *l)
{
	if (__builtin_expect(atomic_exchange_explicit(&l->held, 1, memory_order_acquire) == 0, 1))
		return;
	sched_lock_slow(l);
}

static inline void sched_lock_release(sched_lock *l)
{
	atomic_store_explicit(&l->held, 0, memory_order_release);
}

typedef struct sched_g sched_g;
typedef struct sched_m sched_m;
typedef struct sched_p sched_p;
typedef struct sched_sudog sched_sudog;

/* A G waiting on a channel, as in Go: one per channel a G waits on (a
 * select waits on several).  Whoever completes the operation copies the
 * value through elem and readies the G. */
struct sched_sudog {
	/* the waiting G */
	sched_g *g;
	/* neighbours in the channel's wait queue */
	sched_sudog *next, *prev;
	/* the channel, and the 16-byte slot the value comes from or goes to */
	struct sched_chan *c;
	void *elem;
	/* select: this case's index; -1 for a plain send or receive */
	int32_t index;
	/* true if the operation completed by a real send, false if by close */
	bool success;
	/* true while on a wait queue (select removes the losers) */
	bool queued;
	/* true if waiting to send, false to receive */
	bool send;
};

struct sched_g {
	/* goroutine id, 1 for main, never reused */
	int64_t goid;
	/* enum sched_gstatus; changed with atomics where others look */
	_Atomic uint32_t status;
	/* enum sched_waitreason while G_WAITING */
	uint32_t waitreason;
	/* next G in the global run queue or the free list */
	sched_g *schedlink;
	/* the VM's state for this G (registers and VM stack), opaque here;
	 * with sched_config.gvmsize, the bytes right after the G */
	void *vm;
	/* the trace PC of the function it started with (chosen by the VM) */
	uint64_t startpc;

	/* plain channel operations use this sudog; select uses selsudogs */
	sched_sudog sudog;
	sched_sudog *selsudogs;
	uint32_t nselsudogs;
	/* sudogs of selsudogs in use by a blocked select, in lock order */
	uint32_t nselactive;
	/* select: set (CAS 0 -> 1) by the first operation to win */
	_Atomic uint32_t selectdone;
	/* set by the waker: the sudog that completed a blocking op */
	sched_sudog *param;

	/* what the VM must finish when this G runs again after parking
	 * (the VM's own code: receive's ok flag, select's result, ...) */
	uint32_t resume;
	/* an error the waker left for the G (CHAN_ERR_CLOSED: its send's
	 * channel was closed), raised by the VM when the G resumes */
	int resume_err;

	/* the lock sched_block releases once the G is parked (a channel's,
	 * mutex's or wait group's), or NULL */
	sched_lock *parklock;
	/* blocked in a select: sched_block releases every case's channel */
	bool selecting;

	/* next G waiting on the same mutex or wait group */
	sched_g *waitlink;
	/* the tracer's per-G state (Go's traceseq, tracelastp) */
	trace_gstate trace;
	/* a syscall came back to no P (Go: syscallsp != 0 at execute): the G
	 * goes through the scheduler, and when it next starts GoSysExit is
	 * written, with the time the call returned (0: not known), if
	 * sysblock_traced.  That is set at every entersyscall and cleared by
	 * a trace's snapshot for a G not in a syscall (Go's sysblocktraced):
	 * a syscall that ended before the trace began has no GoSysExit in it */
	bool sysexit_pending;
	bool sysblock_traced;
	uint64_t sysexit_ticks;
	/* a sleeping G's wake-up time (sched_nanotime clock) */
	int64_t when;
	/* how the G last became runnable (enum sched_readyhow), and the
	 * goroutine that made it so (0: none, the runtime): --schedlog */
	uint8_t readyhow;
	int64_t readyby;
};

/* How a G became runnable, for --schedlog. */
enum sched_readyhow {
	READY_CREATED,   /* a go instruction started it */
	READY_WOKEN,     /* another G completed its operation (channel, mutex...) */
	READY_TIMER,     /* its sleep ended */
	READY_YIELDED,   /* it called yield */
	READY_PREEMPTED, /* its time slice ended */
	READY_SYSCALL,   /* its C call returned and no P was free */
};

/* ------------------------------------------------------------------ */
/* Configuration and hooks                                            */
/* ------------------------------------------------------------------ */

typedef struct sched_hooks {
	/* the body of every M, run on its M stack; it must not return until
	 * sched_curg() is NULL after a call here */
	void (*mloop)(void);
	/* print g's VM traceback to stderr (deadlock reports) */
	void (*traceback)(sched_g *g);
	/* capture up to max VM pcs of g's stack, innermost first (tracer);
	 * g is running with its registers saved, or parked */
	int (*stack)(sched_g *g, uint64_t *pcs, int max);
	/* describe a VM pc for the tracer: function, file and line */
	void (*describe_pc)(uint64_t pc, const char **func, const char **file, uint64_t *line);
} sched_hooks;

typedef struct sched_config {
	/* number of Ps (GOMAXPROCS); 0 = online CPUs */
	int procs;
	/* g0 size in bytes; 0 = default (16 KiB) */
	size_t sysstack;
	/* deterministic mode: one P, time slices counted in taken jumps and
	 * calls, a virtual clock that only moves when every G sleeps */
	bool deterministic;
	/* time slice in deterministic mode, in taken jumps and calls */
	int64_t slice;
	/* --schedlog: a line on stderr for every scheduling decision */
	bool schedlog;
	/* print a line of scheduler state to stderr every this many ms
	 * (0: never), like Go's GODEBUG=schedtrace; not in deterministic mode */
	int64_t schedtrace_ms;
	sched_hooks hooks;
	/* bytes of VM state (registers) kept in each G's own allocation,
	 * right after the G, where g->vm points: the VM's registers, written
	 * at every switch, then share the G's cache lines and nobody else's;
	 * 0: the VM allocates its state itself */
	size_t gvmsize;
	/* tracing: write a trace to this file ("" or NULL: no tracing) */
	const char *trace_path;
	/* how the trace's stack table is dumped, and its clock */
	enum trace_dump_mode trace_dump;
	enum trace_clock trace_clock;
} sched_config;

/* ------------------------------------------------------------------ */
/* Running                                                            */
/* ------------------------------------------------------------------ */

/* Set up the scheduler and the Ps.  Call once, before sched_newg.  0, or
 * SCHED_INIT_BAD_SYSSTACK (a message on stderr says why), or -1. */
int sched_init(const sched_config *cfg);
#define SCHED_INIT_BAD_SYSSTACK (-2)

/* Run until the program ends: start M0, which runs hooks.mloop; the first
 * G (created with sched_newg and made runnable with sched_start) is main.
 * Returns the exit status given to sched_exit. */
int sched_main(void);

/* A new G (recycled if one is free), status G_IDLE, vm as the caller left
 * it last time (when new: zeroed room of gvmsize bytes, or NULL if
 * gvmsize is 0).  Runs on the M stack: it may allocate. */
sched_g *sched_newg(uint64_t startpc);

/* Make a G created by sched_newg runnable on the current P: Go's newproc. */
void sched_start(sched_g *newg);

/* The G this M runs, or NULL when the program is over (or on a thread
 * that is not an M). */
extern __thread sched_g *sched_tls_curg;
static inline sched_g *sched_curg(void)
{
	return sched_tls_curg;
}

/* First call of mloop: wait for a G to run (returns with sched_curg set,
 * or NULL when the program is over). */
void sched_resume(void);

/* Park the current G with reason; unlock(arg) is called on g0 once the G
 * is safely off its M (Go's gopark with an unlockf), so a waker holding
 * the same lock cannot ready it too early.  ev is the trace event
 * (TRACE_EV_GO_BLOCK_RECV, ...).  Returns with a new sched_curg. */
void sched_park(void (*unlock)(void *), void *arg, int reason, int ev);

/* Make a parked G runnable (Go's goready); puts it in runnext. */
void sched_ready(sched_g *g);

/* The current G yields (Go's Gosched): to the global queue. */
void sched_gosched(void);
/* The current G was preempted (time slice over): like gosched. */
void sched_preempt(void);
/* The current G has finished: free it and run another. */
void sched_goexit(void);
/* Sleep the current G for ns nanoseconds (timer on the current P). */
void sched_sleep(int64_t ns);

/* The program is over (main returned, exit, a panic, or a deadlock found by
 * the scheduler): stop every other M, finish the trace, and let the main
 * thread end the process with status.  Call on the M stack.  Does not
 * return. */
__attribute__((noreturn)) void sched_exit(int status);

/* True while a trace is written (Go's trace.enabled).  It changes only
 * with the world stopped, so a running G sees one value from one safe
 * point to the next: the interpreter saves its registers before an
 * operation that may write an event with its stack (waking or creating a
 * G, a user annotation) only while tracing.  A variable, not a function,
 * so that the test costs the interpreter one load. */
extern bool sched_trace_enabled;

/* Start or stop tracing while the program runs (Go's trace.Start and
 * trace.Stop), with the world stopped meanwhile: start writes the snapshot
 * of existing goroutines (GoCreate, GoWaiting, GoInSyscall) to path; stop
 * finishes the file.  The dump mode and clock are the configuration's.
 * The current G's registers must be saved.  0, or -1 (already tracing /
 * not tracing, or the file could not be written: trace_error says why). */
int sched_trace_start(const char *path);
int sched_trace_stop(void);
/* Why the last trace start or stop failed (strerror of the file's error),
 * or NULL if it failed only because tracing was on (off) already. */
const char *sched_trace_failed_why(void);

/* User annotations for the trace (Go's runtime/trace API); the current G's
 * registers must be saved (its stack goes with each event).  Nothing is
 * written when tracing is off. */
void sched_trace_task_create(uint64_t task, uint64_t parent, const char *name);
void sched_trace_task_end(uint64_t task);
void sched_trace_region(uint64_t task, int end, const char *name);
void sched_trace_log(uint64_t task, const char *category, const char *message);

/* --stack-stats: turn on per-operation g0 accounting (before sched_main). */
void sched_stack_stats_enable(void);
/* Print each M's g0 and M-stack use, the deepest g0 use per kind of
 * operation, and the VM-stack figures the caller gives; as one JSON object
 * if json.  Call when the program is over (every M stopped). */
void sched_stack_report(FILE *out, bool json, uint64_t vm_largest, uint64_t vm_growths);

/* A collector event for the trace (GCStart, GCDone, ...); ev is a trace
 * event type, arg its argument. */
void sched_trace_gc(int ev, uint64_t arg);

/* True on an M's system stack (g0): the GC's allocation check. */
bool sched_on_system_stack(void);

/* The number of Ps. */
int sched_nprocs(void);

/* Nanoseconds of the scheduler's clock (virtual in deterministic mode). */
int64_t sched_nanotime(void);

/* The preemption budget the interpreter counts down at taken jumps and
 * calls; when it reaches zero it calls sched_check_preempt(). */
int64_t sched_slice(void);
/* What is left of the current time slice on this M, in the same units.
 * The interpreter stores its budget here whenever it saves its registers,
 * and reloads it after every switch: the scheduler refills it when the
 * next G starts a new slice and leaves it when the G inherits the slice
 * (it came from runnext), so a pair of goroutines that hand off to each
 * other share one slice and are preempted like one long-running G. */
extern __thread int64_t sched_tls_slice;
/* True if the current G should yield now (sysmon asked, or deterministic
 * slice over).  Refills the budget either way. */
bool sched_check_preempt(int64_t *budget);

/* FFI calls are system calls (Go's entersyscall/exitsyscall). */
void sched_entersyscall(void);
void sched_exitsyscall(void);

/* ------------------------------------------------------------------ */
/* Channels (chan.c)                                                  */
/* ------------------------------------------------------------------ */

/* Channel elements are the VM's 16-byte values, copied as bytes. */
#define SCHED_ELEM_SIZE 16

typedef struct sched_chan sched_chan;

/* A new channel of capacity cap (0 = unbuffered), on the GC heap. */
sched_chan *sched_chan_new(int64_t cap);

/* Results of channel operations.  CHAN_BLOCK: the current G's sudog is
 * queued on the channel, whose lock is still held; the caller saves its
 * registers and calls sched_block, and whoever completes the operation
 * does so for the parked G (copies the value, sets sudog.success, readies
 * it).  This is how a parked G keeps no C frames (architecture.md). */
enum {
	CHAN_OK = 0,
	CHAN_BLOCK = 1,
	CHAN_ERR_CLOSED = 2,       /* "send on closed channel" */
	CHAN_ERR_CLOSE_CLOSED = 3, /* "close of closed channel" */
	CHAN_ERR_CLOSE_NIL = 4,    /* "close of nil channel" */
};

/* Send the 16 bytes at elem on c (NULL: blocks forever).  On CHAN_BLOCK
 * elem must stay valid until the G is readied. */
int sched_chan_send(sched_chan *c, const void *elem);
/* Receive into elem, or zero it if c is closed and empty: *ok says which.
 * On CHAN_BLOCK elem must stay valid until the G is readied; the G's
 * sudog.success then says whether a value came. */
int sched_chan_recv(sched_chan *c, void *elem, bool *ok);
/* Close c: CHAN_OK, CHAN_ERR_CLOSE_CLOSED or CHAN_ERR_CLOSE_NIL. */
int sched_chan_close(sched_chan *c);
/* Park the current G after CHAN_BLOCK from a channel, select, mutex or
 * wait group operation, releasing the lock that operation left held.
 * Returns, like sched_park, with a new sched_curg. */
void sched_block(int reason, int ev);

/* One case of a select. */
typedef struct sched_scase {
	/* the channel (NULL: the case never proceeds, as in Go) */
	sched_chan *c;
	/* true for a send case */
	bool send;
	/* value to send, or slot to receive into (valid while blocked) */
	void *elem;
} sched_scase;

/* Select among n cases.  A ready case (chosen uniformly among the ready
 * ones) completes at once: its index is returned, with *ok for a receive,
 * or -(CHAN_ERR_CLOSED) for a send on a closed channel.  With none ready:
 * -1 if !block (the default case), else SCHED_SELECT_BLOCK with the G
 * queued on every channel; the caller parks with sched_block, and when the G
 * runs again it calls sched_select_resume for the outcome. */
#define SCHED_SELECT_BLOCK (-100)
/* Most cases a select may have. */
#define SCHED_SELECT_MAX 64
int sched_select(sched_scase *cases, int n, bool block, bool *ok);
/* After a blocked select: take the G off the losing channels; return the
 * winning case, with *ok (receive: a real value; send: false if the
 * channel was closed, which must panic). */
int sched_select_resume(bool *ok);

/* ------------------------------------------------------------------ */
/* Mutexes and wait groups (sync.c)                                   */
/* ------------------------------------------------------------------ */

typedef struct sched_mutex sched_mutex;
typedef struct sched_waitgroup sched_waitgroup;

sched_mutex *sched_mutex_new(void);
/* CHAN_OK with the mutex held, or CHAN_BLOCK: sched_block, and the mutex
 * is held when the G runs again (the unlocker hands it over). */
int sched_mutex_lock(sched_mutex *mu);
/* -1 if it was not locked ("unlock of unlocked mutex", fatal in Go). */
int sched_mutex_unlock(sched_mutex *mu);

sched_waitgroup *sched_waitgroup_new(void);
/* -1 if the counter would go negative (a Go panic). */
int sched_waitgroup_add(sched_waitgroup *wg, int64_t delta);
/* CHAN_OK if the counter is zero, else CHAN_BLOCK: sched_block. */
int sched_waitgroup_wait(sched_waitgroup *wg);

#endif
