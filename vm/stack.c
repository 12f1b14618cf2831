/* stack.c: goroutine (VM) stacks: grown by copying, shrunk, freed (Go's stack.go).
 *
 * A goroutine's stack is an array of 16-byte slots on the GC heap (the
 * frame layout is in internal.h).  It starts at the size of its first
 * frame (vm_newproc), doubles when a call does not fit (Go's newstack
 * and copystack), halves at a preemption or a yield when it is mostly
 * unused (Go's shrinkstack), and is freed when its G ends, if it grew
 * (Go's stackfree).  The interpreter saves its registers as slot
 * indexes, so a stack that moves needs no fixing up: unlike Go's
 * copystack, nothing here adjusts pointers into the old stack.
 */
#include <stdatomic.h>
#include <string.h>

#include "gc/gc.h"
#include "scheduler/sched.h"
#include "vm/internal.h"

/* --stack-stats: VM stack growths, and the largest stack, in slots */
static _Atomic uint64_t growths, max_slots;

int vm_stack_grow(vm_ctx *c, uint64_t need, uint64_t limit_bytes)
{
	uint64_t n = c->nslots ? c->nslots : VM_STACK_MIN;
	while (n < need)
		n *= 2;
	if (n * sizeof(vm_value) > limit_bytes) {
		if (need * sizeof(vm_value) > limit_bytes)
			return -1;
		n = limit_bytes / sizeof(vm_value);
	}
	/* In cache lines of its own: the two ends of a running goroutine's
	 * stack are written at every instruction, and must not share a line
	 * with another goroutine's stack that another P is writing
	 * (docs/scheduler.md, "False sharing").  A stack is a power of two of
	 * 16-byte slots, at least 128 bytes: whole lines, with no padding in
	 * Boehm's size classes up to 2 KiB and in large objects (gc.h). */
	vm_value *s = gc_alloc_lines(n * sizeof(vm_value));
	if (c->stack) {
		memcpy(s, c->stack, c->nslots * sizeof(vm_value));
		gc_free(c->stack); /* nothing points into it: the G is running */
		atomic_fetch_add(&growths, 1);
	}
	uint64_t seen = atomic_load(&max_slots);
	while (n > seen && !atomic_compare_exchange_weak(&max_slots, &seen, n))
		;
	c->stack = s;
	c->nslots = n;
	return 0;
}

/* Halve c's stack while it uses less than an eighth of it (Go's
 * shrinkstack halves below a quarter), so one burst of deep recursion does
 * not pin memory.  Every frame must still fit whole: CALL checked that
 * base + vm_frame_slots(fn) fits once, for each frame, and nothing checks
 * again as its operand stack grows.  Only where nothing points into the
 * stack from outside: at a preemption or a yield, never while the G waits
 * on a channel (its sudog points at a slot).  The registers are saved as
 * indexes, so the copy needs no fixing up. */
void vm_stack_shrink(const vm_program *p, vm_ctx *c)
{
	uint64_t n = c->nslots;
	if (n / 2 < 4 * VM_STACK_INITIAL || c->sp >= n / 16)
		return;
	uint32_t fn = c->fn, pc = c->pc;
	uint64_t base = c->base, need = 0;
	do {
		uint64_t end = base + vm_frame_slots(&p->funcs[fn]);
		if (end > need)
			need = end;
	} while (vm_frame_up(p, c, &fn, &pc, &base));
	while (n / 2 >= 4 * VM_STACK_INITIAL && c->sp < n / 8 && need <= n / 2)
		n /= 2;
	if (n == c->nslots)
		return;
	vm_value *s = gc_alloc_lines(n * sizeof(vm_value)); /* as in vm_stack_grow */
	memcpy(s, c->stack, c->sp * sizeof(vm_value));
	gc_free(c->stack);
	c->stack = s;
	c->nslots = n;
}

/* A G has ended: free a stack that grew large, so that one burst of deep
 * recursion does not pin memory while the G waits on the free list.  Freed
 * at once (Go's stackfree), not left to the collector: an idle M's frames
 * may still hold a stale pointer to it (docs/gc.md). */
void vm_ctx_release(vm_ctx *ctx)
{
	if (ctx->nslots > 4 * VM_STACK_INITIAL) {
		gc_free(ctx->stack);
		ctx->stack = NULL;
		ctx->nslots = 0;
	}
}

void vm_stack_report(FILE *out, bool json)
{
	sched_stack_report(out, json, atomic_load(&max_slots) * sizeof(vm_value),
			   atomic_load(&growths));
}
