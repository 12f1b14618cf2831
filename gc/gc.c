/* gc.c: greenvm's allocation layer over Boehm GC: stress mode, events, statistics. */

/*
 * How Boehm finds every live object while Ms switch stacks
 * ---------------------------------------------------------
 * Boehm is a conservative, stop-the-world, mark-and-sweep collector.  When
 * it collects, the thread that started the collection stops every other
 * registered thread with a signal.  Each stopped thread's signal handler
 * pushes the thread's registers onto the stack it is running on and
 * records its stack pointer.  The collector then marks from the roots:
 * static data, objects allocated uncollectable, and, for each thread, every
 * word from its recorded stack pointer up to the stack base noted when the
 * thread was registered.  Any word that looks like a pointer into an
 * object keeps that object (and what it points to) alive; pointers into
 * the middle of an object count too (Debian's libgc recognises interior
 * pointers), so a VM stack slot address keeps its whole stack alive.
 *
 * Every M is a pthread made with GC_pthread_create, so Boehm registers it,
 * with the top of its mapping as the stack base.  greenvm places each M's
 * g0 inside that pthread stack, right below the M stack, with no guard page
 * between them (scheduler/os_linux.c, docs/stacks.md).  Whatever an M is doing
 * at the instant the signal arrives, the range [sp, base) covers everything
 * it holds:
 *
 *   running bytecode   sp is on the M stack; the interpreter loop's frame
 *                      and registers (pushed by the handler) are scanned.
 *                      The loop's G is reachable anyway: see below.
 *   on its g0          sp is in g0; the range runs up through g0 and the
 *                      whole M stack above it, so the loop's frame, still
 *                      there under g0, is scanned too.
 *   mid-switch         the few instructions of systemstack, mcall and gogo
 *                      move sp between the two stacks; at every instant sp
 *                      is in one of them, both inside [g0_lo, base).  The
 *                      registers mcall saves go to the M's gobuf, which is
 *                      allocated uncollectable, so it is a root as well.
 *   in an FFI call     the C function runs on the M stack below the loop;
 *                      its frames and registers are scanned like any other.
 *                      (A C library that keeps a VM pointer in its own
 *                      malloc'd memory after returning is not covered;
 *                      the VM must keep such objects reachable itself.)
 *   parked (idle M)    it sleeps in schedule() on g0: case "on its g0".
 *
 * Goroutines hold no C frames when they are not running (a parked G is its
 * G and its VM stack, nothing else), so scanning the Ms' stacks is not how
 * parked goroutines are kept alive.  Gs are allocated uncollectable: each G
 * is a root, and through g->vm it keeps its VM context and VM stack alive,
 * and through the stack's slots every string, array and channel the
 * goroutine can still reach.  A channel keeps its buffer and its queues of
 * waiting Gs' sudogs; a value a parked sender is offering sits in its G.
 * Free Gs (Go's gfree list) stay uncollectable and are reused.
 *
 * Two rules make this hold, and this file checks the first in debug builds:
 *   - nothing allocates from the GC heap on g0.  An allocation may start a
 *     collection, which needs about 26 KiB of stack, more than a g0 has.
 *   - every thread that allocates or holds GC pointers is registered.
 *     sysmon is a plain pthread, unknown to Boehm: it must never allocate
 *     from the GC heap, since a collection it started would abort with
 *     "Collecting from unknown thread".
 *
 * Options this design rejected (architecture.md lists them): registering
 * g0 as an alternate stack would leave the M stack unscanned while on g0
 * unless everything it holds is also reachable from a G; updating the
 * stack base on every switch costs a locked call per switch and leaves a
 * window in which a collection sees the wrong range.
 *
 * What this file adds over Boehm
 * ------------------------------
 *   - --gc-stress: a full collection every N allocations (a shared atomic
 *     counter; when stress is off the cost is one predictable branch).
 *   - debug builds abort when something allocates on a system stack.
 *   - events (start, stop-the-world, done, heap size) for the tracer, from
 *     GC_set_on_collection_event (Boehm 7.6 and later), and statistics:
 *     collections, stop-the-world pauses, peak heap in use.
 *   - Boehm's warnings are counted and kept quiet unless GREENVM_GC_WARN=1.
 *
 * Not used: incremental mode (GC_enable_incremental).  It finds written
 * pages by write-protecting the heap and catching SIGSEGV, which would
 * collide with the stack-overflow handler and tax every heap write; all
 * collections here are full and stop the world.  GC_allow_register_threads
 * is not needed either: no thread registers itself, GC_pthread_create does.
 */
#include <gc.h>
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gc/gc.h"

static gc_config config;
/* collect every stress_every allocations; 0: off.  Set by gc_init. */
static uint64_t stress_every;
/* allocations counted by stress mode (only while it is on) */
static _Atomic uint64_t stress_allocs;
/* collections that stress mode asked for */
static _Atomic uint64_t stress_forced;
/* Boehm warnings seen; printed too when warn_print */
static _Atomic uint64_t warn_count;
static bool warn_print;

/*
 * Statistics written by on_collection_event, which Boehm calls with its
 * allocation lock held: one writer at a time.  Readers take the same lock
 * (GC_call_with_alloc_lock) to see a consistent set.
 */
static struct {
	/* collections finished since gc_init */
	uint64_t collections;
	/* sum and maximum of stop-the-world pauses, nanoseconds */
	uint64_t pause_total_ns, pause_max_ns;
	/* heap in use after the last collection, and the largest such */
	uint64_t heap_in_use, peak_heap;
	/* CLOCK_MONOTONIC when the world began to stop; valid during a pause */
	uint64_t stw_start_ns;
} stats;

/* ---------------------------------------------------------- events */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void emit(enum gc_event ev, uint64_t arg)
{
	if (config.event)
		config.event(ev, arg);
}

/*
 * Boehm's progress callback.  It runs on the thread that collects, with
 * Boehm's allocation lock held and, between PRE_STOP_WORLD and
 * POST_START_WORLD, with every other thread stopped (maybe holding locks
 * of libc's malloc or the tracer's).  So it must not allocate from the GC
 * heap (that would deadlock on the lock it holds), and cfg.event must not
 * either, nor take a lock a stopped thread might hold.  The order for one
 * collection is START, STW_START, STW_DONE, DONE, HEAP.
 */
static void GC_CALLBACK on_collection_event(GC_EventType e)
{
	switch (e) {
	case GC_EVENT_START:
		emit(GC_EV_START, 0);
		break;
	case GC_EVENT_PRE_STOP_WORLD:
		stats.stw_start_ns = now_ns();
		emit(GC_EV_STW_START, 0);
		break;
	case GC_EVENT_POST_START_WORLD: {
		uint64_t pause = now_ns() - stats.stw_start_ns;
		stats.pause_total_ns += pause;
		if (pause > stats.pause_max_ns)
			stats.pause_max_ns = pause;
		emit(GC_EV_STW_DONE, 0);
		break;
	}
	case GC_EVENT_END: {
		/* Blocks holding any live object count as in use: Boehm sweeps
		 * partly used blocks lazily, so no finer figure exists yet.
		 * Both getters are unsynchronized: we hold the lock. */
		uint64_t in_use = (uint64_t)(GC_get_heap_size() - GC_get_free_bytes());
		stats.collections++;
		stats.heap_in_use = in_use;
		if (in_use > stats.peak_heap)
			stats.peak_heap = in_use;
		emit(GC_EV_DONE, 0);
		emit(GC_EV_HEAP, in_use);
		break;
	}
	default:
		break;
	}
}

/* Boehm's warnings (e.g. "repeated allocation of very large block") are
 * advice for its own tuning; count them, print them only on request.
 * May run with the allocation lock held: no GC allocation here. */
static void GC_CALLBACK on_warning(char *msg, GC_word arg)
{
	atomic_fetch_add_explicit(&warn_count, 1, memory_order_relaxed);
	if (warn_print)
		fprintf(stderr, msg, (unsigned long)arg);
}

/* ---------------------------------------------------------- set-up */

/* The stress interval for cfg->stress, by the rule in gc.h. */
static uint64_t stress_interval(uint64_t stress)
{
	if (stress != GC_STRESS_DEFAULT)
		return stress;
	const char *env = getenv("GREENVM_GC_STRESS");
	if (env == NULL || env[0] == '\0')
		return GC_STRESS_EVERY;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(env, &end, 10);
	if (errno != 0 || *end != '\0' || env[0] < '0' || env[0] > '9') {
		fprintf(stderr, "fatal error: GREENVM_GC_STRESS=%s: want a number of allocations\n",
			env);
		exit(2);
	}
	return n == 0 ? GC_STRESS_EVERY : (uint64_t)n;
}

void gc_init(const gc_config *cfg)
{
	config = *cfg;
	stress_every = stress_interval(cfg->stress);
	atomic_store(&stress_allocs, 0);
	const char *w = getenv("GREENVM_GC_WARN");
	warn_print = w != NULL && strcmp(w, "1") == 0;
	GC_INIT();
	GC_set_warn_proc(on_warning);
	GC_set_on_collection_event(on_collection_event);
}

uint64_t gc_stress_every(void)
{
	return stress_every;
}

void gc_collect(void)
{
	GC_gcollect();
}

/* GC_do_blocking takes a function that returns a pointer. */
typedef struct blocking_call {
	void (*fn)(void *);
	void *arg;
} blocking_call;

static void *run_blocking(void *p)
{
	blocking_call *c = p;
	c->fn(c->arg);
	return NULL;
}

void gc_do_blocking(void (*fn)(void *), void *arg)
{
	blocking_call c = { fn, arg };
	GC_do_blocking(run_blocking, &c);
}

/* ---------------------------------------------------------- allocation */

/* What every allocation does first: the g0 check and stress mode. */
static inline void before_alloc(void)
{
#ifdef GREENVM_DEBUG
	if (config.on_system_stack && config.on_system_stack()) {
		fprintf(stderr, "fatal error: allocation from the GC heap on a system stack (g0)\n");
		abort();
	}
#endif
	if (stress_every != 0 &&
	    (atomic_fetch_add_explicit(&stress_allocs, 1, memory_order_relaxed) + 1) % stress_every == 0) {
		atomic_fetch_add_explicit(&stress_forced, 1, memory_order_relaxed);
		GC_gcollect();
	}
}

/* Out of memory is fatal, as in Go. */
static void *check(void *p, size_t n)
{
	if (!p && n) {
		fprintf(stderr, "fatal error: out of memory allocating %zu bytes\n", n);
		exit(2);
	}
	return p;
}

void *xmalloc(size_t n)
{
	return check(malloc(n), n);
}

void *xcalloc(size_t n, size_t size)
{
	return check(calloc(n, size), n * size);
}

void *xrealloc(void *p, size_t n)
{
	return check(realloc(p, n), n);
}

char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	return memcpy(xmalloc(n), s, n);
}

char *xstrndup(const char *s, size_t n)
{
	return check(strndup(s, n), n + 1);
}

void *gc_alloc(size_t n)
{
	before_alloc();
	return check(GC_MALLOC(n), n);
}

void *gc_alloc_atomic(size_t n)
{
	before_alloc();
	return check(GC_MALLOC_ATOMIC(n), n);
}

void *gc_alloc_uncollectable(size_t n)
{
	before_alloc();
	return check(GC_MALLOC_UNCOLLECTABLE(n), n);
}

/*
 * Whole cache lines (gc.h).  Boehm lays out the objects of one size class
 * back to back from the start of a page-aligned block, so an object whose
 * slot is a multiple of GC_CACHE_LINE bytes starts on a line and ends on
 * one.  With interior pointers on (Debian's default), Boehm adds one byte
 * to every collectable request so that a pointer just past an object still
 * keeps it alive; asking for a line multiple minus that byte lands in the
 * class of exactly that multiple.  Uncollectable objects get no extra byte.
 * Whether the class fits is checked, not assumed: Boehm rounds some sizes
 * up (640 bytes takes a 672-byte slot), and then we take a line more and
 * start at the first line boundary inside it.  The lines before and after
 * that region inside our slot hold nothing, so no neighbour shares ours.
 * Such a pointer is an interior one: it keeps the object alive because
 * interior pointers are recognized, and gc_free finds the start with
 * GC_base.
 */
static size_t round_lines(size_t n)
{
	return (n + GC_CACHE_LINE - 1) & ~(size_t)(GC_CACHE_LINE - 1);
}

static bool owns_lines(const void *p, size_t want)
{
	return (uintptr_t)p % GC_CACHE_LINE == 0 && GC_size((void *)p) % GC_CACHE_LINE == 0 &&
	       GC_size((void *)p) >= want;
}

static void *align_up(void *p)
{
	uintptr_t a = ((uintptr_t)p + GC_CACHE_LINE - 1) & ~(uintptr_t)(GC_CACHE_LINE - 1);
	return (void *)a;
}

void *gc_alloc_lines(size_t n)
{
	size_t want = round_lines(n ? n : 1);
	size_t extra = GC_get_all_interior_pointers() ? 1 : 0;
	before_alloc();
	void *p = check(GC_MALLOC(want - extra), want);
	if (owns_lines(p, want))
		return p;
	GC_FREE(p);
	return align_up(check(GC_MALLOC(want + GC_CACHE_LINE - 1), want));
}

void *gc_alloc_uncollectable_lines(size_t n)
{
	size_t want = round_lines(n ? n : 1);
	before_alloc();
	void *p = check(GC_MALLOC_UNCOLLECTABLE(want), want);
	if (owns_lines(p, want))
		return p;
	GC_FREE(p);
	return align_up(check(GC_MALLOC_UNCOLLECTABLE(want + GC_CACHE_LINE - 1), want));
}

void gc_free(void *p)
{
	/* GC_base: the object's start, for a pointer gc_alloc_lines moved
	 * up to a line (the start itself otherwise); NULL stays NULL. */
	GC_FREE(p ? GC_base(p) : NULL);
}

/* ---------------------------------------------------------- statistics */

/* Copy the statistics; runs with the allocation lock held. */
static void *GC_CALLBACK read_stats(void *arg)
{
	gc_stats *s = arg;
	s->collections = stats.collections;
	s->pause_total_ns = stats.pause_total_ns;
	s->pause_max_ns = stats.pause_max_ns;
	s->heap_in_use = stats.heap_in_use;
	s->peak_heap = stats.peak_heap;
	s->heap_size = (uint64_t)GC_get_heap_size();
	return NULL;
}

void gc_get_stats(gc_stats *s)
{
	memset(s, 0, sizeof *s);
	GC_call_with_alloc_lock(read_stats, s);
	s->forced = atomic_load(&stress_forced);
	s->warnings = atomic_load(&warn_count);
}

void gc_print_stats(void)
{
	gc_stats s;
	gc_get_stats(&s);
	fprintf(stderr, "gc: %" PRIu64 " collections, pauses total %.1f ms, longest %.1f ms, "
		"peak heap %.1f MiB, last %.1f MiB",
		s.collections, (double)s.pause_total_ns / 1e6, (double)s.pause_max_ns / 1e6,
		(double)s.peak_heap / (1024.0 * 1024.0), (double)s.heap_in_use / (1024.0 * 1024.0));
	if (stress_every != 0)
		fprintf(stderr, ", %" PRIu64 " forced (--gc-stress every %" PRIu64 ")", s.forced,
			stress_every);
	if (s.warnings != 0)
		fprintf(stderr, ", %" PRIu64 " warnings (GREENVM_GC_WARN=1 prints them)", s.warnings);
	fputc('\n', stderr);
}
