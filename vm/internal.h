/* internal.h: what the files of vm/ share and nobody else sees. */
#ifndef GREENVM_VM_INTERNAL_H
#define GREENVM_VM_INTERNAL_H

#include <stdbool.h>

#include "vm/vm.h"

/* An execution context: one thread of bytecode, its VM stack and its saved
 * registers.  It becomes the VM half of a goroutine.
 *
 * The VM stack is an array of 16-byte slots on the GC heap.  A call frame is
 *
 *     base[0 .. nlocals-1]     the callee's locals, parameters first
 *     base[nlocals]            the frame record (VK_FRAME): the caller's
 *                              function, frame base and return pc
 *     base[nlocals+1 ..]       the operand stack, at most maxstack deep
 *
 * so a frame needs vm_frame_slots(f) slots; the verifier proved the operand
 * stack never goes deeper, so the interpreter checks for room once per call,
 * not per push.  Slots are addressed by index when saved, because the stack
 * moves when it grows (Go's copystack, at VM level). */
typedef struct vm_ctx {
	/* the VM stack (GC heap) and its length in slots */
	vm_value *stack;
	uint64_t nslots;
	/* saved registers, valid while the context is not running:
	 * pc: code word of the instruction the G is at: the one it runs, the
	 *     next to run (preempted, new), or the one it blocked in, which it
	 *     steps past when it runs again (interp.c's g->resume);
	 * fn: current function;
	 * base, sp: slot indexes of the frame base and the first free slot */
	uint32_t pc, fn;
	uint64_t base, sp;
} vm_ctx;

/* The frame record of a frame whose caller is not bytecode (a goroutine's
 * first function): its caller function is this value. */
#define VM_NO_CALLER UINT32_MAX

/* A new goroutine's VM stack: the smallest power of two of slots that holds
 * its first frame, at least VM_STACK_MIN (128 bytes), so a parked goroutine
 * costs little; it doubles as calls need.  Stacks are only shrunk or dropped
 * while larger than 4 * VM_STACK_INITIAL slots (2 KiB). */
#define VM_STACK_MIN 8
#define VM_STACK_INITIAL 32

/* Step from the frame (fn, base) of c to its caller: the caller's
 * function, the pc of its call (the call's operand word: same line) and
 * its base, from the frame record.  False at a goroutine's first frame.
 * Inline: the tracer's stack hook walks frames with it on g0. */
static inline bool vm_frame_up(const vm_program *p, const vm_ctx *c, uint32_t *fn, uint32_t *pc,
			       uint64_t *base)
{
	const vm_value *rec = &c->stack[*base + p->funcs[*fn].nlocals];
	if (rec->aux == VM_NO_CALLER)
		return false;
	*fn = rec->aux;
	*pc = (uint32_t)rec->u.i - 1;
	*base = (uint64_t)rec->u.i >> 32;
	return true;
}

/* ---- goroutine stacks (stack.c, Go's stack.go) ---- */

/* Grow c's stack so that at least `need` slots fit, copying the old
 * contents (Go's newstack and copystack); limit_bytes is --max-stack.
 * 0, or -1 if that would pass the limit or memory is out. */
int vm_stack_grow(vm_ctx *c, uint64_t need, uint64_t limit_bytes);
/* At a preemption or a yield: halve c's stack (p's program) while it is
 * mostly unused (Go's shrinkstack). */
void vm_stack_shrink(const vm_program *p, vm_ctx *c);
/* A G has ended: free its stack if it grew large (Go's stackfree). */
void vm_ctx_release(vm_ctx *ctx);
/* --stack-stats: the scheduler's report (sched_stack_report), with the
 * largest VM stack and the number of growths (json: as JSON). */
void vm_stack_report(FILE *out, bool json);

/* ---- objects (object.c) ---- */

/* A new GC string of n bytes copied from s (s may be NULL: zero-filled). */
vm_string *vm_string_new(const char *s, uint64_t n);
/* A new GC array of n nils. */
vm_array *vm_array_new(uint64_t n);
/* Write v to f as print does. */
void vm_value_print(FILE *f, const vm_value *v);
/* v as a new GC string, as print would show it (itos, ftos). */
vm_string *vm_value_to_string(const vm_value *v);
/* Do a and b hold equal values (eq)? */
int vm_value_equal(const vm_value *a, const vm_value *b);

/* ---- FFI calls (ffi.c) ----
 *
 * An ffi instruction is a system call in Go's sense: the C function may
 * block as long as it likes, so the G lets go of its P around the call
 * (sched_entersyscall/sched_exitsyscall) and the scheduler runs other Gs
 * meanwhile.  Whatever may panic must happen before that, while the G is
 * an ordinary running G, so a call is made in two halves:
 *
 *   vm_ffi_prepare  checks each argument's kind and converts it to its C
 *                   value in a vm_ffi_frame on the caller's C stack.  It
 *                   may fail (the interpreter then panics); it calls no C.
 *   vm_ffi_invoke   calls the function through libffi and converts the
 *                   result to a vm_value.  It cannot fail, and needs no P:
 *                   the only thing it may do besides the call is allocate a
 *                   string result, and a collection that allocation starts
 *                   writes its trace events to the global buffer.
 *
 * A string argument is passed as a pointer to the vm_string's own bytes,
 * not a copy: the argument values must stay on the VM stack (so the GC
 * keeps them) until vm_ffi_invoke returns.  vm_ffi_call (vm.h) is the two
 * halves in a row, for callers that are not on the scheduler. */
typedef struct vm_ffi_frame {
	/* the extern being called, resolved (fn and cif set) */
	const vm_extern *ext;
	/* the arguments' C values: args[i] holds argument i in the member of
	 * its C type (i for int, l for long, ...) */
	union vm_ffi_slot {
		int i;
		int64_t l;
		double d;
		void *p;
		const char *s;
	} args[VM_EXTERN_MAXARGS];
	/* libffi's argument vector: argp[i] == &args[i] */
	void *argp[VM_EXTERN_MAXARGS];
} vm_ffi_frame;

/* Convert the ext->nargs values args[] for extern `ext` of p into fr.
 * 0, or -1 with a message in err ("ffi cos: argument 1: double expected,
 * got int").  Reads args only; fr may then outlive them on the C side. */
int vm_ffi_prepare(const vm_program *p, uint32_t ext, const vm_value *args, vm_ffi_frame *fr,
		   char *err, size_t errlen);
/* Call fr's function and store its result in *result (nil for void; a
 * string result is copied to a new GC string, NULL gives nil). */
void vm_ffi_invoke(const vm_ffi_frame *fr, vm_value *result);
/* Close what vm_ffi_resolve opened and free the prepared calls; the
 * externs stay, unresolved.  vm_program_free calls it. */
void vm_ffi_release(vm_program *p);

/* ---- names: the assembler reads them, the .gbc decoder checks them ---- */

/* An identifier is [A-Za-z_][A-Za-z0-9_.]*. */
static inline bool vm_ident_start(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

static inline bool vm_ident_char(int ch)
{
	return vm_ident_start(ch) || (ch >= '0' && ch <= '9') || ch == '.';
}

#endif
