/* trace.h: the public interface of greenvm's execution-trace writer (trace/).
 *
 * The tracer writes Go 1.19's execution-trace format, so `go tool trace`
 * reads what greenvm records.  It is modelled on Go 1.19's runtime/trace.go:
 *
 *   - every P owns a 64 KiB buffer (struct trace_pstate); events written
 *     without a P go to one global buffer under a lock (P id -1);
 *   - each event is written in place into the current buffer; when it does
 *     not fit, the buffer joins the queue of full buffers, which is written
 *     to the output, and a fresh one starts a new batch;
 *   - a string table gives function and file names ids (EvString records);
 *   - a stack table gives arrays of bytecode PCs ids (EvStack records,
 *     written by the dump at trace_stop).
 *
 * trace/ is a leaf: it knows nothing of the interpreter or the scheduler.
 * What it needs from them comes through the hooks given to trace_init.
 * Every name here starts with trace_ (types), TRACE_ (constants), or is
 * one of Go's event names; everything else in trace/ is internal.  The
 * reader and the views of `greenvm trace ...` are not part of the writer:
 * they are the trace tools library in trace/tools/ (header
 * trace/tools/tools.h), which uses only this header's event numbers.
 */
#ifndef GREENVM_TRACE_H
#define GREENVM_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Event types: Go's names (traceEv* without the prefix) and numbers. */
enum trace_event {
	TRACE_EV_NONE = 0,
	TRACE_EV_BATCH = 1,         /* [p, ticks] start of one buffer's events */
	TRACE_EV_FREQUENCY = 2,     /* [ticks per second] */
	TRACE_EV_STACK = 3,         /* [id, n, {pc, func id, file id, line} * n] */
	TRACE_EV_GOMAXPROCS = 4,    /* [ts, procs, stack] */
	TRACE_EV_PROC_START = 5,    /* [ts, thread id] */
	TRACE_EV_PROC_STOP = 6,     /* [ts] */
	TRACE_EV_GC_START = 7,      /* [ts, seq, stack] */
	TRACE_EV_GC_DONE = 8,       /* [ts] */
	TRACE_EV_GC_STW_START = 9,  /* [ts, kind] */
	TRACE_EV_GC_STW_DONE = 10,  /* [ts] */
	TRACE_EV_GC_SWEEP_START = 11,
	TRACE_EV_GC_SWEEP_DONE = 12,
	TRACE_EV_GO_CREATE = 13,    /* [ts, new g, new g's stack, stack] */
	TRACE_EV_GO_START = 14,     /* [ts, g, seq] */
	TRACE_EV_GO_END = 15,       /* [ts] */
	TRACE_EV_GO_STOP = 16,
	TRACE_EV_GO_SCHED = 17,     /* [ts, stack] */
	TRACE_EV_GO_PREEMPT = 18,   /* [ts, stack] */
	TRACE_EV_GO_SLEEP = 19,     /* [ts, stack] */
	TRACE_EV_GO_BLOCK = 20,     /* [ts, stack] */
	TRACE_EV_GO_UNBLOCK = 21,   /* [ts, g, seq, stack] */
	TRACE_EV_GO_BLOCK_SEND = 22,
	TRACE_EV_GO_BLOCK_RECV = 23,
	TRACE_EV_GO_BLOCK_SELECT = 24,
	TRACE_EV_GO_BLOCK_SYNC = 25,
	TRACE_EV_GO_BLOCK_COND = 26,
	TRACE_EV_GO_BLOCK_NET = 27,
	TRACE_EV_GO_SYSCALL = 28,   /* [ts, stack] */
	TRACE_EV_GO_SYSEXIT = 29,   /* [ts, g, seq, real ts] */
	TRACE_EV_GO_SYSBLOCK = 30,  /* [ts] */
	TRACE_EV_GO_WAITING = 31,   /* [ts, g] */
	TRACE_EV_GO_IN_SYSCALL = 32, /* [ts, g] */
	TRACE_EV_HEAP_ALLOC = 33,   /* [ts, bytes] */
	TRACE_EV_HEAP_GOAL = 34,
	TRACE_EV_TIMER_GOROUTINE = 35,
	TRACE_EV_FUTILE_WAKEUP = 36,
	TRACE_EV_STRING = 37,       /* [id, len, bytes] (no ts) */
	TRACE_EV_GO_START_LOCAL = 38,   /* [ts, g] */
	TRACE_EV_GO_UNBLOCK_LOCAL = 39, /* [ts, g, stack] */
	TRACE_EV_GO_SYSEXIT_LOCAL = 40, /* not written: see trace_go_sysexit */
	TRACE_EV_GO_START_LABEL = 41,
	TRACE_EV_GO_BLOCK_GC = 42,
	TRACE_EV_GC_MARK_ASSIST_START = 43,
	TRACE_EV_GC_MARK_ASSIST_DONE = 44,
	TRACE_EV_USER_TASK_CREATE = 45, /* [ts, task, parent, name id, stack] */
	TRACE_EV_USER_TASK_END = 46,    /* [ts, task, stack] */
	TRACE_EV_USER_REGION = 47,      /* [ts, task, mode, name id, stack] */
	TRACE_EV_USER_LOG = 48,         /* [ts, task, key id, stack] then message */
	TRACE_EV_CPU_SAMPLE = 49,
	TRACE_EV_COUNT = 50
};

enum {
	TRACE_BUF_SIZE = 64 << 10, /* bytes of one trace buffer, header included */
	TRACE_STACK_MAX = 128,     /* PCs kept of one stack (Go's traceStackSize) */
	TRACE_STRING_MAX = 1 << 10, /* longer names keep their last 1 KiB, as Go */
	TRACE_VARINT_MAX = 10,     /* bytes of the longest uint64 varint */
};

/* How the stack table is dumped at trace_stop (see docs/trace.md). */
enum trace_dump_mode {
	TRACE_DUMP_DIRECT, /* records written straight into the buffer (Go 1.20) */
	TRACE_DUMP_LEGACY, /* built in a 5140-byte on-stack buffer, copied (Go 1.19) */
};

/* Where timestamps come from. */
enum trace_clock {
	TRACE_CLOCK_REAL,    /* the CPU's cycle counter; Frequency measured against hooks.nanotime */
	TRACE_CLOCK_VIRTUAL, /* a counter bumped by each reading: same events, same bytes */
};

struct trace_gstate;

/* What the tracer needs from the layers above it, given once to trace_init. */
typedef struct trace_hooks {
	/* Run fn(arg) on the system stack (g0) and return; `what` names the
	 * operation for overflow reports.  Must run fn directly when already
	 * on the system stack, like Go's systemstack.  NULL: call fn directly. */
	void (*systemstack)(const char *what, void (*fn)(void *arg), void *arg);
	/* Describe a bytecode PC.  Sets *func and *file (NULL or "" if unknown;
	 * they are copied before describe_pc is called again) and *line. */
	void (*describe_pc)(uint64_t pc, const char **func, const char **file,
			    uint64_t *line);
	/* True when the caller runs on the system stack; debug builds check
	 * with it that system-stack functions run there.  NULL: no check. */
	bool (*on_system_stack)(void);
	/* Write the bytecode stack of goroutine g into pcs[0..max), innermost
	 * first, and return how many PCs it wrote (Go's gcallers).  Called
	 * while an event is written, after its clock reading, as Go's
	 * traceEventLocked reads cputicks and then walks the stack.  NULL:
	 * events carry no stacks. */
	int (*stack)(struct trace_gstate *g, uint64_t *pcs, int max);
	/* Nanoseconds from a monotonic clock; NULL: clock_gettime(MONOTONIC). */
	int64_t (*nanotime)(void);
	enum trace_clock clock;    /* real or virtual timestamps */
	enum trace_dump_mode dump; /* how trace_stop dumps the stack table */
	/* Where to write: the file `path`, created or truncated by trace_start
	 * and closed by trace_stop; or, when path is NULL, the open descriptor
	 * fd (left open). */
	const char *path;
	int fd;
} trace_hooks;

/* A P's tracing state.  The scheduler's P embeds one; only the P's current
 * owner writes events through it (no lock). */
typedef struct trace_pstate {
	int32_t id;             /* the P's id, >= 0 */
	struct trace_buf *buf;  /* current buffer (holds the last timestamp), or NULL */
} trace_pstate;

/* A goroutine's tracing state (Go's g.traceseq and g.tracelastp). */
typedef struct trace_gstate {
	uint64_t id;          /* goroutine id, > 0 */
	uint64_t seq;         /* events that order this G across Ps (Go's traceseq) */
	trace_pstate *lastp;  /* P of this G's last ordering event; NULL: none */
} trace_gstate;

/* Status of a goroutine reported in the snapshot at trace_start. */
enum trace_gstatus {
	TRACE_G_RUNNABLE, /* or running: GoCreate only */
	TRACE_G_WAITING,  /* GoCreate, GoWaiting */
	TRACE_G_SYSCALL,  /* GoCreate, GoInSyscall */
};

/* ---- lifecycle ---------------------------------------------------- */

/* Remember the hooks.  Returns 0, or -1 when tracing is on already or the
 * hooks name no output (neither a path nor an fd >= 0). */
int trace_init(const trace_hooks *hooks);

/* Start tracing: open the output, write the header, then call
 * snapshot(arg), in which the caller reports the existing goroutines with
 * trace_snapshot_goroutine and its running Ps with trace_proc_start (and
 * trace_gomaxprocs), as Go's StartTrace does with the world stopped.
 * Returns 0, or -1 when the output cannot be opened (see trace_error). */
int trace_start(void (*snapshot)(void *arg), void *arg);

/* Stop tracing: flush every buffer (each P's `pps[0..npp-1]` and the
 * global one), write Frequency, dump the stack table, close the output if
 * trace_start opened it, and free the tables.  No events may be written
 * concurrently.  Returns 0, or -1 when any write failed (see trace_error). */
int trace_stop(trace_pstate *const *pps, int npp);

/* True between trace_start and trace_stop. */
bool trace_enabled(void);

/* The first output error: its errno and the file name, or 0 if none.
 * Writing goes on after an error (events are dropped), never crashes. */
int trace_error(const char **path);

/* ---- events --------------------------------------------------------
 * pp is the writer's P, or NULL when it runs without one (global buffer).
 * An event that carries a stack carries the stack of a goroutine it is
 * given (g, or sg: "stack of"), read through hooks.stack; NULL gives the
 * event no stack (stack id 0).  The functions do nothing when tracing is
 * off. */

void trace_snapshot_goroutine(trace_pstate *pp, trace_gstate *g, uint64_t start_pc,
			      enum trace_gstatus status);
void trace_proc_start(trace_pstate *pp, uint64_t thread_id);
void trace_proc_stop(trace_pstate *pp);
void trace_gomaxprocs(trace_pstate *pp, uint64_t procs, trace_gstate *sg);
/* newg was created by sg (NULL: by the runtime). */
void trace_go_create(trace_pstate *pp, trace_gstate *newg, uint64_t start_pc,
		     trace_gstate *sg);
void trace_go_start(trace_pstate *pp, trace_gstate *g); /* GoStart or GoStartLocal */
void trace_go_end(trace_pstate *pp);
/* g, the running goroutine, stops running; the event carries g's stack. */
void trace_go_sched(trace_pstate *pp, trace_gstate *g);
void trace_go_preempt(trace_pstate *pp, trace_gstate *g);
/* g parks (Go's traceGoPark): ev says why, one of GoSleep, GoBlock,
 * GoBlockSend, GoBlockRecv, GoBlockSelect, GoBlockSync and GoBlockCond. */
void trace_go_park(trace_pstate *pp, trace_gstate *g, enum trace_event ev);
/* GoUnblock, or GoUnblockLocal when g's last event was on pp; the stack is
 * the waker's, sg (NULL: a timer or the runtime woke g). */
void trace_go_unblock(trace_pstate *pp, trace_gstate *g, trace_gstate *sg);
void trace_go_syscall(trace_pstate *pp, trace_gstate *g);
void trace_go_sysblock(trace_pstate *pp);
/* GoSysExit; ticks (trace_cputicks) is when the call returned (0 = unknown). */
void trace_go_sysexit(trace_pstate *pp, trace_gstate *g, uint64_t ticks);
/* The real clock's current tick: the CPU's cycle counter (Go's cputicks). */
uint64_t trace_cputicks(void);
void trace_go_waiting(trace_pstate *pp, trace_gstate *g);
void trace_go_in_syscall(trace_pstate *pp, trace_gstate *g);
void trace_gc_start(trace_pstate *pp, trace_gstate *sg);
void trace_gc_done(trace_pstate *pp);
void trace_gc_stw_start(trace_pstate *pp, int kind); /* 0 mark, 1 sweep termination */
void trace_gc_stw_done(trace_pstate *pp);
void trace_heap_alloc(trace_pstate *pp, uint64_t bytes);
/* User annotations, by goroutine sg (Go's runtime/trace API). */
void trace_user_task_create(trace_pstate *pp, uint64_t task, uint64_t parent,
			    const char *name, trace_gstate *sg);
void trace_user_task_end(trace_pstate *pp, uint64_t task, trace_gstate *sg);
/* mode 0 starts the region, 1 ends it. */
void trace_user_region(trace_pstate *pp, uint64_t task, int mode, const char *name,
		       trace_gstate *sg);
void trace_user_log(trace_pstate *pp, uint64_t task, const char *category,
		    const char *message, trace_gstate *sg);

/* ---- the pieces, exposed for the tests --------------------------- */

/* Intern a stack; returns its id (0 for an empty stack).  Lock-free when
 * the stack is already known. */
uint32_t trace_stack_put(const uint64_t *pcs, int npcs);

/* Varint encoding: write v at p, return bytes written (1..10). */
int trace_varint_put(uint8_t *p, uint64_t v);
/* Fill a reserved varint of exactly `width` bytes (padded with 0x80
 * continuation bytes); v must fit in 7*width bits. */
void trace_varint_fill(uint8_t *p, int width, uint64_t v);
/* Read a varint at p (at most `avail` bytes); returns bytes read, 0 if bad. */
int trace_varint_get(const uint8_t *p, size_t avail, uint64_t *v);

#endif
