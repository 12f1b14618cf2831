/* trace.c: the scheduler's side of the execution tracer (Go's runtime/trace.go).
 *
 * trace/ writes events and knows nothing of G, M and P; this file is the
 * glue: the hooks the tracer is given (the switch to g0, the VM's stacks
 * and PC names), the snapshot of existing goroutines a trace begins with,
 * starting and stopping a trace with the world stopped (Go's StartTrace and
 * StopTrace), the collector's events and the user annotations.  The events
 * of scheduling itself (GoStart, GoBlock, ProcStart, ...) are written where
 * they happen, in proc.c, as Go's traceGoStart and friends are called from
 * proc.go.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler/runtime.h"

/* True while a trace is written (Go's trace.enabled); sched.h says how it
 * changes. */
bool sched_trace_enabled;

/* The tracer's stack hook: the VM frames of the G that embeds tg.  The
 * tracer calls it in the middle of writing an event, after reading the
 * clock, as Go's traceEventLocked calls gcallers. */
static int sched_trace_stack(trace_gstate *tg, uint64_t *pcs, int max)
{
	sched_g *g = (sched_g *)((char *)tg - offsetof(sched_g, trace));
	return sched.cfg.hooks.stack(g, pcs, max);
}

/* The trace state of the current M's P, or NULL (the global buffer). */
static trace_pstate *tracep(void)
{
	return sched_mself && sched_mself->p ? &sched_mself->p->trace : NULL;
}

/* The tracer's systemstack hook: on an M, the real switch to g0; on a
 * thread that is not an M (none writes events today) a direct call. */
static void tracer_systemstack(const char *what, void (*fn)(void *), void *arg)
{
	if (sched_mself)
		systemstack(what, fn, arg);
	else
		fn(arg);
}

/* The tracer's check that its system-stack work runs on g0.  A thread that
 * is not an M (the signal thread finishing the trace) has no g0: like
 * tracer_systemstack, it runs that work on its own stack, a full-sized
 * pthread stack. */
static bool tracer_on_system_stack(void)
{
	return !sched_mself || sched_on_system_stack();
}

/* What the tracer is given: the scheduler's switch and clock, the VM's
 * PC names and stacks, and where to write. */
static trace_hooks tracer_hooks(const char *path)
{
	trace_hooks h = {
		.systemstack = tracer_systemstack,
		.on_system_stack = tracer_on_system_stack,
		.describe_pc = sched.cfg.hooks.describe_pc,
		.stack = sched.cfg.hooks.stack ? sched_trace_stack : NULL,
		/* the real clock even in deterministic mode, whose virtual
		 * clock stands still while Gs run: the trace's Frequency
		 * relates cycles to real nanoseconds */
		.nanotime = NULL,
		.clock = sched.cfg.trace_clock,
		.dump = sched.cfg.trace_dump,
		.path = path,
	};
	return h;
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
		if (st != G_SYSCALL) /* Go's StartTrace: its syscall is not in this trace */
			g->sysblock_traced = false;
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
void sched_trace_start_configured(void)
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

/* End the trace, with the world stopped, as Go's StopTrace: the G that
 * stops it yields in it, so no goroutine is left running when the trace
 * ends (go tool trace's viewer needs each GoStart to end); then every P's
 * buffer is flushed (no other P is writing) and the stack table dumped.
 * 0, or -1 when writing failed (trace_error says why). */
int sched_trace_finish(sched_m *m)
{
	if (m && m->p && m->curg)
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
	trace_user_task_create(&m->p->trace, task, parent, name, sched_tracegs(m->curg));
}

void sched_trace_task_end(uint64_t task)
{
	if (!sched_trace_enabled)
		return;
	sched_m *m = sched_mself;
	trace_user_task_end(&m->p->trace, task, sched_tracegs(m->curg));
}

void sched_trace_region(uint64_t task, int end, const char *name)
{
	if (!sched_trace_enabled)
		return;
	sched_m *m = sched_mself;
	trace_user_region(&m->p->trace, task, end, name, sched_tracegs(m->curg));
}

void sched_trace_log(uint64_t task, const char *category, const char *message)
{
	if (!sched_trace_enabled)
		return;
	sched_m *m = sched_mself;
	trace_user_log(&m->p->trace, task, category, message, sched_tracegs(m->curg));
}

int sched_trace_start(const char *path)
{
	sched_m *m = sched_mself;
	if (sched_trace_enabled || atomic_load(&sched.exiting) || atomic_load(&sched.stw))
		return -1;
	sched_stop_the_world(STW_TRACE_START);
	trace_hooks h = tracer_hooks(path);
	int rc = trace_init(&h) == 0 && trace_start(trace_snapshot, NULL) == 0 ? 0 : -1;
	if (rc == 0) {
		/* Go's StartTrace ends with ProcStart and GoStart for the caller. */
		sched_trace_enabled = true;
		trace_proc_start(&m->p->trace, (uint64_t)m->id);
		trace_go_start(&m->p->trace, &m->curg->trace);
	}
	sched_start_the_world();
	return rc;
}

int sched_trace_stop(void)
{
	sched_m *m = sched_mself;
	if (!sched_trace_enabled || atomic_load(&sched.exiting) || atomic_load(&sched.stw))
		return -1;
	sched_stop_the_world(STW_TRACE_STOP);
	int rc = sched_trace_finish(m);
	sched_start_the_world();
	return rc;
}

const char *sched_trace_failed_why(void)
{
	const char *path;
	int err = trace_error(&path);
	return err ? strerror(err) : NULL;
}

int sched_trace_init(const char *path)
{
	trace_hooks h = tracer_hooks(path);
	return trace_init(&h);
}
