/* gc.c: greenvm's allocation layer over Boehm GC. */
#include <gc.h>
#include <stdio.h>
#include <stdlib.h>

#include "gc/gc.h"

static gc_config config;

void gc_init(const gc_config *cfg)
{
	config = *cfg;
	GC_INIT();
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

void *gc_alloc(size_t n)
{
	return check(GC_MALLOC(n), n);
}

void *gc_alloc_atomic(size_t n)
{
	return check(GC_MALLOC_ATOMIC(n), n);
}

void *gc_alloc_uncollectable(size_t n)
{
	return check(GC_MALLOC_UNCOLLECTABLE(n), n);
}

void gc_free(void *p)
{
	GC_FREE(p);
}

void gc_get_stats(gc_stats *s)
{
	*s = (gc_stats){ .collections = (uint64_t)GC_get_gc_no(), .heap_size = GC_get_heap_size() };
}

void gc_print_stats(void)
{
	gc_stats s;
	gc_get_stats(&s);
	fprintf(stderr, "gc: %llu collections, heap %llu bytes\n", (unsigned long long)s.collections,
		(unsigned long long)s.heap_size);
}
