/* stack.c: the stack table, arrays of bytecode PCs -> ids (Go's traceStackTable).
 *
 * Lookups take no lock: a bucket's head is published with a release store
 * after the record is complete, records are never changed afterwards, and
 * readers load the head with acquire (trace_stack_find, inline in
 * trace_impl.h, as every event with a stack looks up).  Inserts are serialized by stack_lock
 * and run on the system stack.  Records live in an mmap'd arena until the
 * dump at trace_stop has written them.
 */
#include <string.h>

#include "trace/trace_impl.h"

struct put_args {
	const uint64_t *pcs;    /* the stack */
	uint32_t n;             /* its length, 1..TRACE_STACK_MAX */
	uint64_t hash;          /* its hash */
	const trace_stack *rec; /* out: its record */
};

TRACE_SYSTEMSTACK static void put_on_g0(void *arg)
{
	trace_assert_on_g0();
	struct put_args *a = arg;
	pthread_mutex_lock(&trace.stack_lock);
	a->rec = trace_stack_find(a->pcs, a->n, a->hash); /* double check under the lock */
	if (!a->rec) {
		trace_stack *s = trace_arena_alloc(&trace.stack_mem,
						   sizeof *s + a->n * sizeof *a->pcs);
		size_t b = a->hash % TRACE_STACK_TAB;
		s->hash = a->hash;
		s->id = ++trace.stack_seq;
		s->n = a->n;
		memcpy(s->pcs, a->pcs, a->n * sizeof *a->pcs);
		s->link = atomic_load_explicit(&trace.stack_tab[b], memory_order_relaxed);
		atomic_store_explicit(&trace.stack_tab[b], s, memory_order_release);
		a->rec = s;
	}
	pthread_mutex_unlock(&trace.stack_lock);
}

/* The slow path of trace_stack_rec: insert pcs[0..n), hashed h, on g0. */
const trace_stack *trace_stack_insert(const uint64_t *pcs, uint32_t n, uint64_t h)
{
	struct put_args a = {pcs, n, h, NULL};
	trace_systemstack("trace stack insert", put_on_g0, &a);
	return a.rec;
}

uint32_t trace_stack_put(const uint64_t *pcs, int npcs)
{
	if (npcs <= 0)
		return 0;
	return trace_stack_rec(pcs, npcs > TRACE_STACK_MAX ? TRACE_STACK_MAX : (uint32_t)npcs)->id;
}

/* Forget every stack (trace_stop, after the dump). */
void trace_stacks_reset(void)
{
	trace_arena_drop(&trace.stack_mem);
	for (size_t i = 0; i < TRACE_STACK_TAB; i++)
		atomic_store_explicit(&trace.stack_tab[i], NULL, memory_order_relaxed);
	trace.stack_seq = 0;
}
