/* switch_arm64.S: the aarch64 stack switches behind systemstack, mcall and gogo. */
#if defined(__aarch64__)
#include "scheduler/switch.h"

/*
 * Register contract (AAPCS64): a callee must preserve x19-x28, x29 (the
 * frame pointer), sp, and the low 64 bits of v8-v15 (d8-d15); x30 (the
 * link register) holds the return address.  Everything else may be
 * clobbered by any call.  sp must always be 16-byte aligned; g0_top and
 * stack_top are page aligned.  FPCR is callee-saved too, but greenvm never
 * changes it, so it is not saved here.
 */

	.text

/* void sched_mcall_switch(sched_gobuf *save x0, void *g0_top x1,
 *                         void (*fn)(void *) x2, void *arg x3)
 * Save the caller's context in *save so that sched_gogo(save) returns from
 * this call, then run fn(arg) at the top of g0.  fn must not return. */
	.globl	sched_mcall_switch
	.type	sched_mcall_switch, %function
sched_mcall_switch:
	mov	x9, sp
	str	x9, [x0, #SCHED_GOBUF_SP]
	str	x30, [x0, #SCHED_GOBUF_PC]
	stp	x19, x20, [x0, #SCHED_GOBUF_X19]
	stp	x21, x22, [x0, #SCHED_GOBUF_X19 + 16]
	stp	x23, x24, [x0, #SCHED_GOBUF_X19 + 32]
	stp	x25, x26, [x0, #SCHED_GOBUF_X19 + 48]
	stp	x27, x28, [x0, #SCHED_GOBUF_X19 + 64]
	str	x29, [x0, #SCHED_GOBUF_X29]
	stp	d8, d9, [x0, #SCHED_GOBUF_D8]
	stp	d10, d11, [x0, #SCHED_GOBUF_D8 + 16]
	stp	d12, d13, [x0, #SCHED_GOBUF_D8 + 32]
	stp	d14, d15, [x0, #SCHED_GOBUF_D8 + 48]
	mov	sp, x1			/* onto g0 */
	mov	x0, x3
	blr	x2			/* fn(arg) */
	bl	abort			/* fn returned: nowhere to go */
	.size	sched_mcall_switch, .-sched_mcall_switch

/* void sched_gogo(const sched_gobuf *buf x0), never returns:
 * restore the context saved by sched_mcall_switch and return from it. */
	.globl	sched_gogo
	.type	sched_gogo, %function
sched_gogo:
	ldp	x19, x20, [x0, #SCHED_GOBUF_X19]
	ldp	x21, x22, [x0, #SCHED_GOBUF_X19 + 16]
	ldp	x23, x24, [x0, #SCHED_GOBUF_X19 + 32]
	ldp	x25, x26, [x0, #SCHED_GOBUF_X19 + 48]
	ldp	x27, x28, [x0, #SCHED_GOBUF_X19 + 64]
	ldr	x29, [x0, #SCHED_GOBUF_X29]
	ldp	d8, d9, [x0, #SCHED_GOBUF_D8]
	ldp	d10, d11, [x0, #SCHED_GOBUF_D8 + 16]
	ldp	d12, d13, [x0, #SCHED_GOBUF_D8 + 32]
	ldp	d14, d15, [x0, #SCHED_GOBUF_D8 + 48]
	ldr	x30, [x0, #SCHED_GOBUF_PC]
	ldr	x9, [x0, #SCHED_GOBUF_SP]
	mov	sp, x9
	ret
	.size	sched_gogo, .-sched_gogo

/* void sched_systemstack_switch(void *stack_top x0, void (*fn)(void *) x1,
 *                               void *arg x2)
 * Call fn(arg) with sp = stack_top, then return on the caller's stack.
 * x29 keeps the old sp across the call; it is also an ordinary frame
 * record, so debuggers and unwinders walk from g0 back to the M stack. */
	.globl	sched_systemstack_switch
	.type	sched_systemstack_switch, %function
sched_systemstack_switch:
	.cfi_startproc
	stp	x29, x30, [sp, #-16]!
	.cfi_def_cfa_offset 16
	.cfi_offset x29, -16
	.cfi_offset x30, -8
	mov	x29, sp
	.cfi_def_cfa x29, 16
	mov	sp, x0			/* onto the other stack */
	mov	x0, x2
	blr	x1			/* fn(arg) */
	mov	sp, x29			/* back */
	ldp	x29, x30, [sp], #16
	.cfi_def_cfa sp, 0
	ret
	.cfi_endproc
	.size	sched_systemstack_switch, .-sched_systemstack_switch

#endif /* __aarch64__ */

	.section .note.GNU-stack, "", %progbits
