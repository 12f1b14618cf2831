/* gc.h: the public interface of greenvm's garbage collector (gc/), a thin
 * layer over Boehm GC (libgc).
 *
 * Every VM heap object comes from here: strings, arrays, channels, mutexes,
 * goroutines and their VM stacks.  The layer adds what greenvm needs on top
 * of Boehm: a stress mode that collects every N allocations, a check that
 * nothing allocates on a system stack (g0), events for the tracer, and
 * statistics.  Why Boehm still finds every live object while Ms switch
 * stacks is explained at the top of gc.c and in docs/gc.md.
 */
#ifndef GREENVM_GC_H
#define GREENVM_GC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What happened in the collector, for the tracer (GCStart, GCDone,
 * GCSTWStart, GCSTWDone, HeapAlloc). */
enum gc_event {
	GC_EV_START,     /* a collection begins */
	GC_EV_STW_START, /* the world is being stopped */
	GC_EV_STW_DONE,  /* the world runs again */
	GC_EV_DONE,      /* the collection is over */
	GC_EV_HEAP,      /* heap in use after a collection: arg is bytes */
};

/*
 * cfg.stress asks for --gc-stress: a full collection forced every N
 * allocations.  The rule for N:
 *   0                  stress off (GREENVM_GC_STRESS is ignored);
 *   GC_STRESS_DEFAULT  stress on, N from the environment variable
 *                      GREENVM_GC_STRESS: a positive decimal is N; unset,
 *                      empty or 0 means GC_STRESS_EVERY; anything else is
 *                      a fatal error (exit 2);
 *   any other value    N itself (the environment is ignored).
 */
#define GC_STRESS_DEFAULT UINT64_MAX
#define GC_STRESS_EVERY 1000

typedef struct gc_config {
	/* 0, GC_STRESS_DEFAULT or N: see the rule above (--gc-stress) */
	uint64_t stress;
	/* true if the caller is on a system stack, where allocating is a bug
	 * (checked in debug builds); NULL: no check */
	bool (*on_system_stack)(void);
	/* called for each event, on the thread that runs the collection; must
	 * not allocate from the GC heap.  NULL: none */
	void (*event)(enum gc_event ev, uint64_t arg);
} gc_config;

/* Start the collector (GC_INIT and thread support).  Before any allocation.
 * Called again, it replaces the configuration (tests do) and counts
 * allocations for stress mode afresh; statistics keep counting. */
void gc_init(const gc_config *cfg);
/* The stress interval in force: collect every N allocations, 0: off. */
uint64_t gc_stress_every(void);
/* Force a full, stop-the-world collection now.  On an M stack, not g0. */
void gc_collect(void);

/* The allocators never return NULL (for n > 0): out of memory is fatal,
 * as in Go ("fatal error: out of memory allocating N bytes", exit 2), so
 * callers do not check. */

/* Allocate n zeroed bytes that may hold pointers to GC objects. */
void *gc_alloc(size_t n);
/* Allocate n bytes that hold no pointers (strings): not scanned, not
 * cleared. */
void *gc_alloc_atomic(size_t n);
/* Allocate n zeroed bytes that are scanned but never collected; free them
 * with gc_free (goroutines, which are roots for their stacks). */
void *gc_alloc_uncollectable(size_t n);
/* Free an object from any allocator here (p may be what gc_alloc_lines or
 * gc_alloc_uncollectable_lines returned). */
void gc_free(void *p);

/* Run fn(arg), a call into C that may block, as a thread the collector
 * counts as stopped (Boehm's GC_do_blocking; Go's collector treats a
 * thread in a cgo call the same way): no stop-the-world signal interrupts
 * it, so the C call sees no EINTR it did not cause.  The collector scans
 * this thread's stack only above the point of the call, so fn must not
 * touch the GC heap except through pointers that are also kept elsewhere
 * (the FFI keeps its arguments on the goroutine's VM stack), and must not
 * allocate from it. */
void gc_do_blocking(void (*fn)(void *), void *arg);

/* C memory outside the collected heap (malloc's), for the runtime's and
 * the tools' own structures: the same out-of-memory policy as the
 * collector's (the message above, exit 2), so they never return NULL and
 * callers do not check.  Free with free().  Not on g0, where nothing
 * allocates (g0 code takes memory from its arenas). */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* The first n bytes of s (fewer if it ends before), NUL-terminated. */
char *xstrndup(const char *s, size_t n);

/*
 * Objects that own their cache lines.  Two cores that write the same cache
 * line, even different bytes of it, pass the line back and forth (false
 * sharing): the writes of two goroutines running on two Ps slow each other
 * down for no reason visible in the code.  Boehm packs objects of a size
 * class side by side with no regard to lines (a 128-byte request takes a
 * 144-byte slot, so neighbours straddle lines), which is what happened to
 * small VM stacks (docs/scheduler.md, "False sharing").
 *
 * These return p aligned to GC_CACHE_LINE such that the bytes [p, p + n
 * rounded up to a line) share no line with any other object.  They cost no
 * padding when Boehm has a size class of exactly that many bytes (every
 * multiple of 64 up to 512 bytes, and 1 KiB, 2 KiB, and large objects,
 * which take whole pages); otherwise up to a line more.  Free with gc_free.
 */
/* The cache line size we keep objects apart by (x86-64 and most arm64
 * cores; Go's cpu.CacheLinePad is 64 bytes on both). */
#define GC_CACHE_LINE 64
void *gc_alloc_lines(size_t n);
void *gc_alloc_uncollectable_lines(size_t n);

/* Statistics since gc_init, for --gc-stats. */
typedef struct gc_stats {
	/* collections finished, of which `forced` by stress mode */
	uint64_t collections, forced;
	/* stop-the-world pauses: total and longest, in nanoseconds */
	uint64_t pause_total_ns, pause_max_ns;
	/* heap in use after the last collection, the largest such figure,
	 * and the heap's size now (in use and free), in bytes */
	uint64_t heap_in_use, peak_heap, heap_size;
	/* warnings Boehm gave (printed only with GREENVM_GC_WARN=1) */
	uint64_t warnings;
} gc_stats;

void gc_get_stats(gc_stats *s);
/* Print the statistics to stderr, as --gc-stats does at exit:
 *   gc: 12 collections, pauses total 3.2 ms, longest 0.9 ms, peak heap 4.1 MiB, last 0.3 MiB
 * (peak and last: heap in use after a collection). */
void gc_print_stats(void);

#endif
