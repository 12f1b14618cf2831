/* arena.c: the region allocator of the trace tables.
 *
 * Blocks of 64 KiB come from mmap, never from the GC heap (Go's traceAlloc
 * over sysAlloc); records are carved from the newest block and all of them
 * are freed at once by trace_arena_drop at trace_stop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "trace/trace_impl.h"

/* One mmap'd block of an arena. */
struct trace_arena_block {
	struct trace_arena_block *next; /* older block */
	_Alignas(8) uint8_t data[TRACE_ARENA_BLOCK - sizeof(void *)]; /* records */
};

/* n bytes, 8-aligned.  Not thread-safe: call with the table's lock held. */
void *trace_arena_alloc(trace_arena *a, size_t n)
{
	n = (n + 7) & ~(size_t)7;
	if (n > sizeof a->head->data) {
		fputs("trace: arena allocation too large\n", stderr);
		abort();
	}
	if (!a->head || a->off + n > sizeof a->head->data) {
		struct trace_arena_block *b =
			mmap(NULL, sizeof *b, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (b == MAP_FAILED) {
			fputs("trace: out of memory\n", stderr); /* Go throws too */
			abort();
		}
		b->next = a->head;
		a->head = b;
		a->off = 0;
	}
	void *p = &a->head->data[a->off];
	a->off += n;
	return p;
}

/* Free every block. */
void trace_arena_drop(trace_arena *a)
{
	while (a->head) {
		struct trace_arena_block *b = a->head;
		a->head = b->next;
		munmap(b, sizeof *b);
	}
	a->off = 0;
}
