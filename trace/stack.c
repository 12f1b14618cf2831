/* stack.c: the stack table, arrays of bytecode PCs -> ids (Go's traceStackTable).
 *
 * Lookups take no lock: a bucket's head is published with a release store
 * after the record is complete, records are never changed afterwards, and
 * readers load the head with acquire.  Inserts are serialized by stack_lock
 * and run on the system stack.  Records live in an mmap'd arena until the
 * dump at trace_stop has written them.
 */
#include <string.h>

#include "trace/trace_impl.h"

/* The id of pcs[0..n) if it is in the table, else 0.  No lock needed. */
/* Hash a stack a word at a time (a multiply and a shift per PC): this runs
 * for every event that carries a stack, where a byte-wise hash cost more
 * than writing the event. */
static uint64_t hash_pcs(const uint64_t *pcs, uint32_t n)
{
	uint64_t h = 0x2545f4914f6cdd1dull ^ n;
	for (uint32_t i = 0; i < n; i++) {
		h = (h ^ pcs[i]) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	return h;
}

static uint32_t find(const uint64_t *pcs, uint32_t n, uint64_t h)
{
	trace_stack *s = atomic_load_explicit(&trace.stack_tab[h % TRACE_STACK_TAB],
					      memory_order_acquire);
	for (; s; s = s->link)
		if (s->hash == h && s->n == n && memcmp(s->pcs, pcs, n * sizeof *pcs) == 0)
			return s->id;
	return 0;
}

struct put_args {
	const uint64_t *pcs; /* the stack */
	uint32_t n;          /* its length, 1..TRACE_STACK_MAX */
	uint64_t hash;       /* its hash */
	uint32_t id;         /* out: its id */
};

TRACE_SYSTEMSTACK static void put_on_g0(void *arg)
{
	trace_assert_on_g0();
	struct put_args *a = arg;
	pthread_mutex_lock(&trace.stack_lock);
	a->id = find(a->pcs, a->n, a->hash); /* double check under the lock */
	if (a->id == 0) {
		trace_stack *s = trace_arena_alloc(&trace.stack_mem,
						   sizeof *s + a->n * sizeof *a->pcs);
		size_t b = a->hash % TRACE_STACK_TAB;
		s->hash = a->hash;
		s->id = a->id = ++trace.stack_seq;
		s->n = a->n;
		memcpy(s->pcs, a->pcs, a->n * sizeof *a->pcs);
		s->link = atomic_load_explicit(&trace.stack_tab[b], memory_order_relaxed);
		atomic_store_explicit(&trace.stack_tab[b], s, memory_order_release);
	}
	pthread_mutex_unlock(&trace.stack_lock);
}

uint32_t trace_stack_put(const uint64_t *pcs, int npcs)
{
	if (npcs <= 0)
		return 0;
	struct put_args a = {pcs, npcs > TRACE_STACK_MAX ? TRACE_STACK_MAX : (uint32_t)npcs, 0, 0};
	a.hash = hash_pcs(pcs, a.n);
	uint32_t id = find(pcs, a.n, a.hash);
	if (id)
		return id;
	trace_systemstack("trace stack insert", put_on_g0, &a);
	return a.id;
}

/* Forget every stack (trace_stop, after the dump). */
void trace_stacks_reset(void)
{
	trace_arena_drop(&trace.stack_mem);
	for (size_t i = 0; i < TRACE_STACK_TAB; i++)
		atomic_store_explicit(&trace.stack_tab[i], NULL, memory_order_relaxed);
	trace.stack_seq = 0;
}
