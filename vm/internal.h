/* internal.h: what the files of vm/ share and nobody else sees. */
#ifndef GREENVM_VM_INTERNAL_H
#define GREENVM_VM_INTERNAL_H

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
	 * pc: code word of the next instruction; fn: current function;
	 * base, sp: slot indexes of the frame base and the first free slot */
	uint32_t pc, fn;
	uint64_t base, sp;
	/* times the stack grew, and the largest it has been, in slots */
	uint64_t growths, max_slots;
} vm_ctx;

/* The frame record of a frame whose caller is not bytecode (a goroutine's
 * first function): its caller function is this value. */
#define VM_NO_CALLER UINT32_MAX

/* Initial VM stack of a context, in slots: 512 bytes. */
#define VM_STACK_INITIAL 32

/* A G has ended: drop its stack if it grew large (interp.c). */
void vm_ctx_release(vm_ctx *ctx);

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

#endif
