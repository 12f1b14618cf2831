/* switch.h: the stack switches systemstack, mcall and gogo (switch.c), over switch_<arch>.S. */
#ifndef GREENVM_SCHEDULER_SWITCH_H
#define GREENVM_SCHEDULER_SWITCH_H

/*
 * Internal to scheduler/.  This header is also included by the assembly
 * files switch_amd64.S and switch_arm64.S for the gobuf offsets, and by
 * tests/switch/switch_test.c, which builds the assembly with nothing else
 * of greenvm; so it needs no other header of ours, and everything that is
 * not a plain #define sits inside #ifndef __ASSEMBLER__.
 *
 * sched_gobuf: what sched_mcall_switch saves and sched_gogo restores.
 * Only the registers the C calling convention says a callee must preserve,
 * plus the stack pointer and the return address.  Like Go's gobuf, but Go
 * saves almost nothing (its compiler keeps no values in registers across a
 * call); C does, so we save the callee-saved set.
 */
#if defined(__x86_64__)
#define SCHED_GOBUF_SP 0   /* rsp as it is after sched_mcall_switch returns */
#define SCHED_GOBUF_PC 8   /* the return address of sched_mcall_switch */
#define SCHED_GOBUF_RBX 16
#define SCHED_GOBUF_RBP 24
#define SCHED_GOBUF_R12 32
#define SCHED_GOBUF_R13 40
#define SCHED_GOBUF_R14 48
#define SCHED_GOBUF_R15 56
#define SCHED_GOBUF_WORDS 8
#elif defined(__aarch64__)
#define SCHED_GOBUF_SP 0   /* sp as it is after sched_mcall_switch returns */
#define SCHED_GOBUF_PC 8   /* x30, the link register: where to return */
#define SCHED_GOBUF_X19 16 /* x19..x28, then x29 (frame pointer): 11 words */
#define SCHED_GOBUF_X29 96
#define SCHED_GOBUF_D8 104 /* d8..d15, the low halves of v8..v15: 8 words */
#define SCHED_GOBUF_WORDS 21
#else
#error "greenvm switches stacks only on x86-64 and aarch64"
#endif

#ifndef __ASSEMBLER__

#include <stdint.h>

/* The saved context of an M stack; layout given by SCHED_GOBUF_* above. */
typedef struct sched_gobuf {
	/* the words at the offsets SCHED_GOBUF_* */
	uintptr_t word[SCHED_GOBUF_WORDS];
} sched_gobuf;

/*
 * systemstack runs fn(arg) on the current M's g0 and returns on the stack
 * it was called on.  Already on g0, it just calls fn (nesting is fine, as
 * in Go).  op names the work for overflow reports ("schedule", "trace
 * flush", "trace stack dump", ...).  Must be called on an M.
 */
void systemstack(const char *op, void (*fn)(void *), void *arg);

/*
 * mcall saves the M stack's context, switches to the top of g0 and calls
 * fn(arg), which must not return: it ends by calling gogo(), which makes
 * this mcall return to its caller.  Go's mcall passes the current G;
 * greenvm's scheduler passes what it likes in arg.  Must be called on an
 * M, not on g0.
 */
void mcall(const char *op, void (*fn)(void *), void *arg);

/*
 * gogo resumes the M stack context saved by the last mcall on this M: that
 * mcall returns.  Go's gogo takes the G's gobuf; greenvm's saved context
 * belongs to the M, and lies in mcall's frame (switch.c).  Must run on g0.
 */
__attribute__((noreturn)) void gogo(void);

/*
 * SYSTEMSTACK marks a function that must run on g0 (Go's //go:systemstack).
 * It also forbids inlining, so that -fstack-usage reports the function's
 * own frame and the stack report can add it up.  Such a function starts
 * with sched_assert_on_g0().
 */
#define SYSTEMSTACK __attribute__((noinline))

#ifdef GREENVM_DEBUG
#define sched_assert_on_g0() sched_assert_on_g0_at(__func__)
#else
#define sched_assert_on_g0() ((void)0)
#endif
/* Debug builds: abort with a message unless the stack pointer is in this M's g0. */
void sched_assert_on_g0_at(const char *func);

/* The stack pointer of the caller (an approximation good to a few words). */
static inline uintptr_t sched_getsp(void)
{
	uintptr_t sp;
#if defined(__x86_64__)
	__asm__ volatile("movq %%rsp, %0" : "=r"(sp));
#else
	__asm__ volatile("mov %0, sp" : "=r"(sp));
#endif
	return sp;
}

/* The raw switches, in switch_<arch>.S.  Register contracts are written there. */
void sched_mcall_switch(sched_gobuf *save, void *g0_top, void (*fn)(void *), void *arg);
__attribute__((noreturn)) void sched_gogo(const sched_gobuf *buf);
void sched_systemstack_switch(void *stack_top, void (*fn)(void *), void *arg);

#endif /* !__ASSEMBLER__ */
#endif
