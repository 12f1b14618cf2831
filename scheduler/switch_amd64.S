/* switch_amd64.S: the x86-64 stack switches behind systemstack, mcall and gogo. */
#if defined(__x86_64__)
#include "scheduler/switch.h"

/*
 * Register contract (System V AMD64 ABI): a callee must preserve rbx,
 * rbp, r12-r15 and rsp; everything else may be clobbered by any call, so
 * the caller of these functions already expects it to be lost.  At a
 * call instruction rsp is 16-byte aligned; the call pushes the return
 * address.  g0_top and stack_top are page aligned.  The MXCSR and x87
 * control words are callee-saved too, but greenvm never changes them, so
 * they are not saved here (Go does not save them either).
 */

	.text

/* void sched_mcall_switch(sched_gobuf *save rdi, void *g0_top rsi,
 *                         void (*fn)(void *) rdx, void *arg rcx)
 * Save the caller's context in *save so that sched_gogo(save) returns from
 * this call, then run fn(arg) at the top of g0.  fn must not return. */
	.globl	sched_mcall_switch
	.type	sched_mcall_switch, @function
sched_mcall_switch:
	movq	(%rsp), %rax		/* our return address */
	movq	%rax, SCHED_GOBUF_PC(%rdi)
	leaq	8(%rsp), %rax		/* rsp once we have returned */
	movq	%rax, SCHED_GOBUF_SP(%rdi)
	movq	%rbx, SCHED_GOBUF_RBX(%rdi)
	movq	%rbp, SCHED_GOBUF_RBP(%rdi)
	movq	%r12, SCHED_GOBUF_R12(%rdi)
	movq	%r13, SCHED_GOBUF_R13(%rdi)
	movq	%r14, SCHED_GOBUF_R14(%rdi)
	movq	%r15, SCHED_GOBUF_R15(%rdi)
	movq	%rsi, %rsp		/* onto g0: aligned, as at a call */
	movq	%rcx, %rdi
	callq	*%rdx			/* fn(arg) */
	callq	abort@PLT		/* fn returned: nowhere to go */
	.size	sched_mcall_switch, .-sched_mcall_switch

/* void sched_gogo(const sched_gobuf *buf rdi), never returns:
 * restore the context saved by sched_mcall_switch and return from it. */
	.globl	sched_gogo
	.type	sched_gogo, @function
sched_gogo:
	movq	SCHED_GOBUF_RBX(%rdi), %rbx
	movq	SCHED_GOBUF_RBP(%rdi), %rbp
	movq	SCHED_GOBUF_R12(%rdi), %r12
	movq	SCHED_GOBUF_R13(%rdi), %r13
	movq	SCHED_GOBUF_R14(%rdi), %r14
	movq	SCHED_GOBUF_R15(%rdi), %r15
	movq	SCHED_GOBUF_SP(%rdi), %rsp
	jmpq	*SCHED_GOBUF_PC(%rdi)
	.size	sched_gogo, .-sched_gogo

/* void sched_systemstack_switch(void *stack_top rdi, void (*fn)(void *) rsi,
 *                               void *arg rdx)
 * Call fn(arg) with rsp = stack_top, then return on the caller's stack.
 * rbp keeps the old rsp across the call; it is also an ordinary frame, so
 * debuggers and frame-pointer unwinders walk from g0 back to the M stack. */
	.globl	sched_systemstack_switch
	.type	sched_systemstack_switch, @function
sched_systemstack_switch:
	.cfi_startproc
	pushq	%rbp
	.cfi_def_cfa_offset 16
	.cfi_offset %rbp, -16
	movq	%rsp, %rbp
	.cfi_def_cfa_register %rbp
	movq	%rdi, %rsp		/* onto the other stack */
	movq	%rdx, %rdi
	callq	*%rsi			/* fn(arg) */
	movq	%rbp, %rsp		/* back */
	popq	%rbp
	.cfi_def_cfa %rsp, 8
	ret
	.cfi_endproc
	.size	sched_systemstack_switch, .-sched_systemstack_switch

#endif /* __x86_64__ */

	.section .note.GNU-stack, "", %progbits
