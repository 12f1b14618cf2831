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

typedef struct gc_config {
	/* collect every `stress` allocations (0: never force; --gc-stress) */
	uint64_t stress;
	/* true if the caller is on a system stack, where allocating is a bug
	 * (checked in debug builds); NULL: no check */
	bool (*on_system_stack)(void);
	/* called for each event, on the thread that runs the collection; must
	 * not allocate from the GC heap.  NULL: none */
	void (*event)(enum gc_event ev, uint64_t arg);
} gc_config;

/* Start the collector (GC_INIT and thread support).  Before any allocation. */
void gc_init(const gc_config *cfg);

/* Allocate n zeroed bytes that may hold pointers to GC objects. */
void *gc_alloc(size_t n);
/* Allocate n bytes that hold no pointers (strings): not scanned. */
void *gc_alloc_atomic(size_t n);
/* Allocate n zeroed bytes that are scanned but never collected; free them
 * with gc_free (goroutines, which are roots for their stacks). */
void *gc_alloc_uncollectable(size_t n);
void gc_free(void *p);

/* Statistics since gc_init, for --gc-stats. */
typedef struct gc_stats {
	uint64_t collections;
	/* stop-the-world pauses: total and longest, in nanoseconds */
	uint64_t pause_total_ns, pause_max_ns;
	/* the largest heap in use after a collection, and the heap size now */
	uint64_t peak_heap, heap_size;
} gc_stats;

void gc_get_stats(gc_stats *s);
/* Print the statistics to stderr, as --gc-stats does at exit. */
void gc_print_stats(void);

#endif
