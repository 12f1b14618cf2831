/* trace.c: start and stop of a trace, and the writer of every event kind.
 *
 * Design (after Go 1.19's runtime/trace.go; see docs/trace.md):
 *
 *   An event is written in place into the writer's buffer: its P's
 *   (pp->buf, no lock: only the P's owner writes) or, without a P, the
 *   global trace.buf under buf_lock.  Before each event the room for its
 *   largest encoding is checked; when short, trace_flush queues the buffer,
 *   writes the queue to the output and starts a new batch.
 *
 *   An event that carries a stack is given the goroutine whose stack it is;
 *   after reading the clock, the writer asks hooks.stack for that
 *   goroutine's PCs (into the buffer's scratch, buf->stk) and turns them
 *   into a stack id: the buffer's cache of recent stacks first, then the
 *   stack table (stack.c).
 *
 *   Encoding: a byte type | k << 6 where k is the number of arguments after
 *   the timestamp (capped at 3), the timestamp delta from the batch's last
 *   event, the arguments, and a stack id for events that carry one.  When
 *   k is 3 a byte length follows the type byte; these events are bounded
 *   (< 128 bytes), so one byte is reserved and filled in after, as Go 1.19
 *   does.  Only stack records are unbounded: see dump.c.
 *
 *   trace_start writes the header and the caller's snapshot of existing
 *   goroutines; trace_stop flushes every buffer, writes Frequency, dumps
 *   the stack table (dump.c or dump_legacy.c) and frees the tables.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "trace/trace_impl.h"

struct trace_state trace = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.write_lock = PTHREAD_MUTEX_INITIALIZER,
	.buf_lock = PTHREAD_MUTEX_INITIALIZER,
	.strings_lock = PTHREAD_MUTEX_INITIALIZER,
	.stack_lock = PTHREAD_MUTEX_INITIALIZER,
	.fd = -1,
};

static const char header[16] = "go 1.19 trace\0\0\0";

bool trace_enabled(void)
{
	return atomic_load_explicit(&trace.enabled, memory_order_acquire);
}

int trace_error(const char **path)
{
	if (path)
		*path = trace.err_path;
	return trace.err;
}

int trace_init(const trace_hooks *hooks)
{
	if (trace_enabled() || (!hooks->path && hooks->fd < 0))
		return -1;
	trace.hooks = *hooks;
	return 0;
}

/* ---- the event writer ------------------------------------------------ */

/* The buffer to write into: the P's, or the global one, locked. */
static trace_buf **acquire(trace_pstate *pp, int32_t *pid)
{
	if (pp) {
		*pid = pp->id;
		return &pp->buf;
	}
	pthread_mutex_lock(&trace.buf_lock);
	*pid = TRACE_GLOBAL_P;
	return &trace.buf;
}

static void release(trace_pstate *pp)
{
	if (!pp)
		pthread_mutex_unlock(&trace.buf_lock);
}

/* Should events be written now? */
static bool on(void)
{
	return trace_enabled() || trace.starting;
}

/* The id of sg's stack, walked into buf's scratch; 0 without sg. */
TRACE_HOT uint32_t stack_id(trace_buf *buf, trace_gstate *sg)
{
	if (!sg || !trace.hooks.stack)
		return 0;
	int n = trace.hooks.stack(sg, buf->stk, TRACE_STACK_MAX);
	return trace_buf_stack_id(buf, (uint32_t)n);
}

/* Write event ev with args[0..nargs) (at most 3) and, when has_stack, the
 * id of sg's stack; make sure `extra` more bytes fit after it in the same
 * buffer.  The buffer is acquired.  As Go's traceEventLocked: room first
 * (a flush starts a new batch), then the clock, then the stack.  The
 * order pays: the cycle counter takes about 30 cycles to answer, and the
 * stack walk and lookup run meanwhile instead of waiting for it.  The
 * bytes go straight into the buffer through a cursor, p.
 *
 * TRACE_HOT, as event() is: each event's writer is compiled with its own
 * constant nargs and has_stack, so no loops or tests are left of them. */
TRACE_HOT void event_locked(trace_buf **bufp, int32_t pid, uint8_t ev, const uint64_t *args,
			    int nargs, bool has_stack, trace_gstate *sg, size_t extra)
{
	/* type, length, ts, up to 3 args, stack id */
	size_t max = 2 + TRACE_VARINT_MAX * 5 + extra;
	trace_buf *buf = *bufp;
	if (!buf || trace_buf_room(buf) < max)
		buf = *bufp = trace_flush(buf, pid);
	uint64_t now = trace_ticks();
	uint32_t stk = has_stack ? stack_id(buf, sg) : 0;
	uint64_t last = buf->last_ticks;
	uint64_t delta = trace_next_ticks(buf, now) - last;

	int k = nargs + has_stack;
	if (k > 3)
		k = 3;
	uint8_t *p = &buf->arr[buf->pos];
	*p++ = (uint8_t)(ev | k << TRACE_ARG_SHIFT);
	uint8_t *len_at = p;
	if (k == 3)
		p++; /* the length: < 128 (5 varints of 10), so one byte */
	p = trace_put_varint(p, delta);
	for (int i = 0; i < nargs; i++)
		p = trace_put_varint(p, args[i]);
	if (has_stack)
		p = trace_put_varint(p, stk);
	if (k == 3)
		*len_at = (uint8_t)(p - len_at - 1);
	buf->pos = (size_t)(p - buf->arr);
}

/* Write one event: acquire a buffer, write, release.  Every event
 * function checks on() first (once: the flag is an atomic load). */
TRACE_HOT void event(trace_pstate *pp, uint8_t ev, const uint64_t *args, int nargs,
		     bool has_stack, trace_gstate *sg)
{
	int32_t pid;
	trace_buf **bufp = acquire(pp, &pid);
	event_locked(bufp, pid, ev, args, nargs, has_stack, sg, 0);
	release(pp);
}

#define ARGS(...) (const uint64_t[]){__VA_ARGS__}, (int)(sizeof (const uint64_t[]){__VA_ARGS__} / sizeof(uint64_t))
#define NOARGS NULL, 0

/* ---- events ------------------------------------------------------------ */

void trace_proc_start(trace_pstate *pp, uint64_t thread_id)
{
	if (!on())
		return;
	event(pp, TRACE_EV_PROC_START, ARGS(thread_id), false, NULL);
}

void trace_proc_stop(trace_pstate *pp)
{
	if (!on())
		return;
	event(pp, TRACE_EV_PROC_STOP, NOARGS, false, NULL);
}

void trace_gomaxprocs(trace_pstate *pp, uint64_t procs, trace_gstate *sg)
{
	if (!on())
		return;
	event(pp, TRACE_EV_GOMAXPROCS, ARGS(procs), true, sg);
}

void trace_go_create(trace_pstate *pp, trace_gstate *newg, uint64_t start_pc,
		     trace_gstate *sg)
{
	if (!on())
		return;
	newg->seq = 0;
	newg->lastp = pp;
	/* The new goroutine's stack is the one frame of its function, as in
	 * Go (without Go's +PCQuantum: bytecode PCs are exact). */
	uint64_t start_stk = trace_stack_rec(&start_pc, 1)->id;
	event(pp, TRACE_EV_GO_CREATE, ARGS(newg->id, start_stk), true, sg);
}

void trace_snapshot_goroutine(trace_pstate *pp, trace_gstate *g, uint64_t start_pc,
			      enum trace_gstatus status)
{
	trace_go_create(pp, g, start_pc, NULL);
	if (status == TRACE_G_WAITING)
		trace_go_waiting(pp, g);
	else if (status == TRACE_G_SYSCALL)
		trace_go_in_syscall(pp, g);
}

void trace_go_start(trace_pstate *pp, trace_gstate *g)
{
	if (!on())
		return;
	g->seq++;
	if (g->lastp == pp) {
		event(pp, TRACE_EV_GO_START_LOCAL, ARGS(g->id), false, NULL);
	} else {
		g->lastp = pp;
		event(pp, TRACE_EV_GO_START, ARGS(g->id, g->seq), false, NULL);
	}
}

void trace_go_end(trace_pstate *pp)
{
	if (!on())
		return;
	event(pp, TRACE_EV_GO_END, NOARGS, false, NULL);
}

void trace_go_sched(trace_pstate *pp, trace_gstate *g)
{
	if (!on())
		return;
	g->lastp = pp;
	event(pp, TRACE_EV_GO_SCHED, NOARGS, true, g);
}

void trace_go_preempt(trace_pstate *pp, trace_gstate *g)
{
	if (!on())
		return;
	g->lastp = pp;
	event(pp, TRACE_EV_GO_PREEMPT, NOARGS, true, g);
}

void trace_go_park(trace_pstate *pp, trace_gstate *g, enum trace_event ev)
{
	if (!on())
		return;
	event(pp, (uint8_t)ev, NOARGS, true, g);
}

void trace_go_unblock(trace_pstate *pp, trace_gstate *g, trace_gstate *sg)
{
	if (!on())
		return;
	g->seq++;
	if (g->lastp == pp) {
		event(pp, TRACE_EV_GO_UNBLOCK_LOCAL, ARGS(g->id), true, sg);
	} else {
		g->lastp = pp;
		event(pp, TRACE_EV_GO_UNBLOCK, ARGS(g->id, g->seq), true, sg);
	}
}

void trace_go_syscall(trace_pstate *pp, trace_gstate *g)
{
	if (!on())
		return;
	event(pp, TRACE_EV_GO_SYSCALL, NOARGS, true, g);
}

void trace_go_sysblock(trace_pstate *pp)
{
	if (!on())
		return;
	event(pp, TRACE_EV_GO_SYSBLOCK, NOARGS, false, NULL);
}

/* Always GoSysExit, never GoSysExitLocal, as Go 1.19's writer: its parser
 * does not take the goroutine of a GoSysExitLocal from its argument. */
void trace_go_sysexit(trace_pstate *pp, trace_gstate *g, uint64_t ticks)
{
	if (!on())
		return;
	g->seq++;
	g->lastp = pp;
	/* The real time is in ticks of the real clock; a virtual trace has
	 * none.  A time from before this trace began is dropped (0: the
	 * parser takes the event's own), as Go's traceGoSysExit does. */
	if (ticks < trace.start_ticks)
		ticks = 0;
	uint64_t ts = trace.hooks.clock == TRACE_CLOCK_REAL ? ticks / TRACE_TICK_DIV : 0;
	event(pp, TRACE_EV_GO_SYSEXIT, ARGS(g->id, g->seq, ts), false, NULL);
}

void trace_go_waiting(trace_pstate *pp, trace_gstate *g)
{
	if (!on())
		return;
	g->seq++; /* GoWaiting implies seq 1 */
	event(pp, TRACE_EV_GO_WAITING, ARGS(g->id), false, NULL);
}

void trace_go_in_syscall(trace_pstate *pp, trace_gstate *g)
{
	if (!on())
		return;
	g->seq++;
	event(pp, TRACE_EV_GO_IN_SYSCALL, ARGS(g->id), false, NULL);
}

void trace_gc_start(trace_pstate *pp, trace_gstate *sg)
{
	if (!on())
		return;
	event(pp, TRACE_EV_GC_START, ARGS(trace.seq_gc), true, sg);
	trace.seq_gc++; /* collections do not overlap: no lock */
}

void trace_gc_done(trace_pstate *pp)
{
	if (!on())
		return;
	event(pp, TRACE_EV_GC_DONE, NOARGS, false, NULL);
}

void trace_gc_stw_start(trace_pstate *pp, int kind)
{
	if (!on())
		return;
	event(pp, TRACE_EV_GC_STW_START, ARGS((uint64_t)kind), false, NULL);
}

void trace_gc_stw_done(trace_pstate *pp)
{
	if (!on())
		return;
	event(pp, TRACE_EV_GC_STW_DONE, NOARGS, false, NULL);
}

void trace_heap_alloc(trace_pstate *pp, uint64_t bytes)
{
	if (!on())
		return;
	event(pp, TRACE_EV_HEAP_ALLOC, ARGS(bytes), false, NULL);
}

void trace_user_task_end(trace_pstate *pp, uint64_t task, trace_gstate *sg)
{
	if (!on())
		return;
	event(pp, TRACE_EV_USER_TASK_END, ARGS(task), true, sg);
}

/* A user event naming a string: the string's EvString goes first, then the
 * event (Go's trace_userTaskCreate and trace_userRegion). */
static void named_event(trace_pstate *pp, uint8_t ev, uint64_t a0, uint64_t a1,
			const char *name, trace_gstate *sg)
{
	if (!on())
		return;
	int32_t pid;
	trace_buf **bufp = acquire(pp, &pid);
	uint64_t id = trace_string(bufp, pid, name, strlen(name));
	event_locked(bufp, pid, ev, ARGS(a0, a1, id), true, sg, 0);
	release(pp);
}

void trace_user_task_create(trace_pstate *pp, uint64_t task, uint64_t parent,
			    const char *name, trace_gstate *sg)
{
	named_event(pp, TRACE_EV_USER_TASK_CREATE, task, parent, name, sg);
}

void trace_user_region(trace_pstate *pp, uint64_t task, int mode, const char *name,
		       trace_gstate *sg)
{
	named_event(pp, TRACE_EV_USER_REGION, task, (uint64_t)mode, name, sg);
}

/* UserLog [ts, task, key id, stack] is followed by its message, a varint
 * length and the bytes, outside the event's counted length (the parser
 * reads it as an inline string).  The message is cut to what one buffer
 * holds. */
void trace_user_log(trace_pstate *pp, uint64_t task, const char *category,
		    const char *message, trace_gstate *sg)
{
	if (!on())
		return;
	size_t len = strlen(message);
	const size_t cap = sizeof ((trace_buf *)0)->arr - 128; /* room for batch + event */
	if (len > cap)
		len = cap;
	int32_t pid;
	trace_buf **bufp = acquire(pp, &pid);
	uint64_t key = trace_string(bufp, pid, category, strlen(category));
	event_locked(bufp, pid, TRACE_EV_USER_LOG, ARGS(task, key), true, sg,
		     TRACE_VARINT_MAX + len);
	trace_buf *buf = *bufp;
	trace_buf_varint(buf, len);
	memcpy(&buf->arr[buf->pos], message, len);
	buf->pos += len;
	release(pp);
}

/* ---- start and stop ----------------------------------------------------- */

int trace_start(void (*snapshot)(void *arg), void *arg)
{
	if (trace_enabled())
		return -1;
	trace.err = 0;
	trace.err_path = trace.hooks.path ? trace.hooks.path : "(trace descriptor)";
	if (!trace.hooks.path) {
		trace.fd = trace.hooks.fd;
		trace.own_fd = false;
	} else {
		trace.fd = open(trace.hooks.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		trace.own_fd = trace.fd >= 0;
		if (trace.fd < 0) {
			trace_set_error(errno);
			return -1;
		}
	}
	atomic_store(&trace.vclock, 0);
	trace.start_ticks = trace_cputicks();
	trace.start_ns = trace_nanotime();
	trace.seq_gc = 0;
	trace_write_bytes(header, sizeof header);

	trace.starting = true; /* the world is stopped: no other writer */
	if (snapshot)
		snapshot(arg);
	trace.starting = false;
	atomic_store_explicit(&trace.enabled, true, memory_order_release);
	return 0;
}

struct stop_args {
	trace_pstate *const *pps; /* every P's tracing state */
	int npp;                  /* how many */
};

TRACE_SYSTEMSTACK static void dump_on_g0(void *arg)
{
	trace_assert_on_g0();
	(void)arg;
	trace_dump();
}

TRACE_SYSTEMSTACK static void stop_on_g0(void *arg)
{
	trace_assert_on_g0();
	struct stop_args *a = arg;
	atomic_store_explicit(&trace.enabled, false, memory_order_release);
	for (int i = 0; i < a->npp; i++) {
		trace_pstate *pp = a->pps[i];
		if (pp && pp->buf) {
			trace_queue_and_write(pp->buf);
			pp->buf = NULL;
		}
	}
	pthread_mutex_lock(&trace.buf_lock);
	if (trace.buf) {
		trace_queue_and_write(trace.buf);
		trace.buf = NULL;
	}
	pthread_mutex_unlock(&trace.buf_lock);

	/* Frequency [ticks per second], outside any batch, then the stacks. */
	uint8_t freq[1 + TRACE_VARINT_MAX];
	freq[0] = TRACE_EV_FREQUENCY;
	/* Real ticks: the cycle counter's rate, measured over the trace
	 * against the monotonic clock, as Go's traceFrequency does. */
	uint64_t hz = 1000000000u; /* a virtual tick reads as 1 ns */
	if (trace.hooks.clock == TRACE_CLOCK_REAL) {
		int64_t ns = trace_nanotime() - trace.start_ns;
		uint64_t ticks = (trace_cputicks() - trace.start_ticks) / TRACE_TICK_DIV;
		if (ns > 0 && ticks > 0)
			hz = (uint64_t)((long double)ticks * 1e9L / (long double)ns);
	}
	trace_write_bytes(freq, 1 + (size_t)trace_varint_put(&freq[1], hz));
	/* Nested: already on g0, but the operation gets its own name, which an
	 * overflow report and the stack statistics show. */
	trace_systemstack("trace stack dump", dump_on_g0, NULL);

	trace_stacks_reset();
	trace_strings_reset();
	trace_free_buffers();
}

int trace_stop(trace_pstate *const *pps, int npp)
{
	if (!trace_enabled())
		return -1;
	struct stop_args a = {pps, npp};
	trace_systemstack("trace stop", stop_on_g0, &a);
	if (trace.own_fd && close(trace.fd) != 0)
		trace_set_error(errno);
	trace.fd = -1;
	return trace.err ? -1 : 0;
}
