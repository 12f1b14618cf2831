/* stack.h: Ms (OS threads), their g0 system stacks, and switching between stacks. */
#ifndef GREENVM_SCHEDULER_STACK_H
#define GREENVM_SCHEDULER_STACK_H

/*
 * Internal to scheduler/.  This header is also included by the assembly
 * files switch_amd64.S and switch_arm64.S for the gobuf offsets, so
 * everything that is not a plain #define sits inside #ifndef __ASSEMBLER__.
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

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* g0 sizes (--sysstack): page-rounded, within these bounds. */
#define SCHED_SYSSTACK_DEFAULT (16u * 1024)
#define SCHED_SYSSTACK_MIN (4u * 1024)
#define SCHED_SYSSTACK_MAX (1024u * 1024)
/* The M stack: the interpreter loop and FFI calls run there. */
#define SCHED_MSTACK_DEFAULT (8u * 1024 * 1024)
#define SCHED_MSTACK_MIN (64u * 1024)

/* Kinds of system-stack operation --stack-stats tells apart per M. */
#define SCHED_OPSTATS 16

/* The saved context of an M stack; layout given by SCHED_GOBUF_* above. */
typedef struct sched_gobuf {
	/* the words at the offsets SCHED_GOBUF_*; meaningful only while valid */
	uintptr_t word[SCHED_GOBUF_WORDS];
} sched_gobuf;

/*
 * One M: an OS thread and the single mapping that holds its stacks.
 * Addresses grow to the right:
 *
 *   map_lo                                                    map_hi
 *   | guard | sigaltstack | guard | g0 (sysstack) | M stack (mstack) |
 *                                 ^g0_lo   g0_hi^=mstack_lo  mstack_hi^
 *
 * The pthread's stack is [g0_lo, mstack_hi); see the comment at the top of
 * stack.c for why g0 sits there.  Fields written by the M itself are read
 * by its own signal handler, hence the volatile ones.
 */
typedef struct sched_mstack {
	/* M id, printed in overflow reports; given by whoever starts the M */
	int id;
	/* the whole mapping [map_lo, map_lo + map_size), munmapped at join */
	char *map_lo;
	size_t map_size;
	/* the guard page(s) right below g0: PROT_NONE, size a page multiple */
	char *guard_lo;
	char *guard_hi;
	/* g0: [g0_lo, g0_hi), g0_hi is where a switch puts the stack pointer */
	char *g0_lo;
	char *g0_hi;
	/* bytes of g0 (g0_hi - g0_lo), a multiple of the page size */
	size_t sysstack;
	/* the M stack: [mstack_lo, mstack_hi), mstack_lo == g0_hi */
	char *mstack_lo;
	char *mstack_hi;
	/* bytes of the M stack (glibc keeps its thread descriptor at its top) */
	size_t mstack;
	/* the signal stack of this M, inside the mapping, with its own guard */
	stack_t altstack;
	/* the signal stack the thread had before ours, restored at exit */
	stack_t old_altstack;
	/* the M stack context saved by mcall; valid while gobuf_valid */
	sched_gobuf gobuf;
	/* true between mcall's switch to g0 and the gogo that resumes it */
	bool gobuf_valid;
	/* true while the stack pointer is on g0 (read by the fault handler) */
	volatile bool on_g0;
	/* the runtime work on g0 right now ("schedule", ...) or NULL */
	const char *volatile op;
	/* the function the new thread runs on its M stack, and its argument */
	void (*fn)(void *);
	void *arg;
	/* mcall's fn and arg, read on g0 by the mcall trampoline */
	void (*mcall_fn)(void *);
	void *mcall_arg;
	/* the pthread, valid from start until join */
	pthread_t thread;
	/* --stack-stats: the deepest g0 use seen per kind of operation (op
	 * names are string literals, compared by address) */
	struct sched_opstat {
		const char *op;
		size_t deepest;
	} opstats[SCHED_OPSTATS];
	/* AddressSanitizer fiber bookkeeping (debug builds only) */
	void *asan_fake_stack;
	const void *asan_mstack_bottom;
	size_t asan_mstack_size;
} sched_mstack;

/* The M the calling thread runs, or NULL on a thread that is not an M. */
extern __thread sched_mstack *sched_mstack_self;

/*
 * Set-up, once, from the main thread, before any other call here:
 * initializes Boehm (GC_INIT) and installs the stack-overflow handler.
 */
void sched_stack_init(void);

/* Append s, or v in decimal, to buf at *n, within cap: formatting without
 * stdio, for signal handlers and g0 (where glibc's unbuffered stderr would
 * format into an 8 KiB buffer on the stack). */
void sched_put(char *buf, size_t cap, size_t *n, const char *s);
void sched_put_uint(char *buf, size_t cap, size_t *n, uintmax_t v);

/* Round a g0 size up to whole pages; 0 when outside [MIN, MAX]. */
size_t sched_sysstack_round(size_t bytes);

/*
 * How small a g0 may safely be.  A signal can arrive while an M is on g0
 * (the collector stops every thread with one), and its frame lands on g0
 * at whatever depth the runtime has reached.  So a g0 must hold the
 * deepest path of the runtime plus one signal: the kernel's signal frame,
 * whose size depends on the CPU (its vector registers: AVX-512 makes it
 * about 3.5 KiB), plus the collector's handler.  The first is measured at
 * start-up; the other two are figures of this build:
 *
 * SCHED_G0_STATIC_WORST: the worst case of every system-stack entry but
 * the legacy trace dump, as ./run stack-report computes it from the
 * compiler's frame sizes (tests/stackrep checks that none exceeds it).
 * Sanitizer builds have no static figure (red zones make frames several
 * times larger); there it is an allowance above the deepest use that
 * --stack-stats measures.
 *
 * SCHED_GC_SIGNAL_HANDLER: the frames of Boehm's suspend handler above the
 * kernel's (it saves the registers in a ucontext_t, among others);
 * tests/unit/test_stack.c measures a stop of an M on g0 against it.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SCHED_G0_STATIC_WORST (6u * 1024)
#else
#define SCHED_G0_STATIC_WORST 1536u
#endif
#define SCHED_GC_SIGNAL_HANDLER 3072u

/* The kernel's signal frame on this CPU, in bytes: measured once, by a
 * signal sent to ourselves, or the kernel's AT_MINSIGSTKSZ if that is
 * larger. */
size_t sched_signal_frame(void);
/* Bytes a g0 keeps for one signal: sched_signal_frame() plus
 * SCHED_GC_SIGNAL_HANDLER. */
size_t sched_signal_reserve(void);
/* The smallest --sysstack accepted: SCHED_G0_STATIC_WORST plus the
 * signal reserve, in whole pages (at least SCHED_SYSSTACK_MIN). */
size_t sched_sysstack_safe_min(void);

/*
 * Start an M: a new pthread, registered with Boehm, that runs fn(arg) on
 * its M stack with a g0 of sysstack bytes below it.  sysstack 0 and
 * mstack 0 mean the defaults.  Returns NULL with errno set (EINVAL for a
 * bad size, or what mmap/pthread_create said).
 */
sched_mstack *sched_mstack_start(int id, size_t sysstack, size_t mstack,
				 void (*fn)(void *), void *arg);

/* Wait for the M's fn to return, then free its stacks.  Not from the M itself. */
void sched_mstack_join(sched_mstack *m);

/*
 * systemstack runs fn(arg) on the current M's g0 and returns on the stack
 * it was called on.  Already on g0, it just calls fn (nesting is fine, as
 * in Go).  op names the work for overflow reports ("schedule", "trace
 * flush", "trace stack dump", ...).  Must be called on an M.
 */
void systemstack(const char *op, void (*fn)(void *), void *arg);

/*
 * mcall saves the M stack's context in the M, switches to the top of g0
 * and calls fn(arg), which must not return: it ends by calling gogo(),
 * which makes this mcall return to its caller.  Go's mcall passes the
 * current G; greenvm's scheduler passes what it likes in arg.  Must be
 * called on an M, not on g0.
 */
void mcall(const char *op, void (*fn)(void *), void *arg);

/*
 * gogo resumes the M stack context saved by the last mcall on this M: that
 * mcall returns.  Go's gogo takes the G's gobuf; greenvm's saved context
 * belongs to the M (see architecture.md).  Must run on g0.
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

/*
 * g0 high-water mark.  Every g0 is painted with a pattern when its M
 * starts; sched_g0_high_water returns how many bytes from the top of g0
 * have ever been written (the deepest use so far).  sched_g0_repaint
 * paints again, to measure one operation; it must not be called on g0.
 */
size_t sched_g0_high_water(const sched_mstack *m);
void sched_g0_repaint(sched_mstack *m);

/*
 * --stack-stats: when on, every systemstack and mcall operation repaints
 * the free part of g0 as it starts and measures how deep it went as it
 * ends, into m->opstats (nested operations count in their own kind and
 * in the one around them).  It costs a scan of g0 per operation, so it is
 * off unless asked for.
 */
extern bool sched_stack_stats;
/* Deepest use of the M stack so far (its untouched pages are still zero). */
size_t sched_mstack_deepest(const sched_mstack *m);

/* Write a, b and c (any may be NULL) to stderr with write(2): safe on g0
 * and in signal handlers, unlike stdio. */
void sched_write_stderr(const char *a, const char *b, const char *c);

/* A runtime bug: print "fatal error: msg" and abort (Go's throw). */
__attribute__((noreturn)) void sched_throw(const char *msg);

/* The raw switches, in switch_<arch>.S.  Register contracts are written there. */
void sched_mcall_switch(sched_gobuf *save, void *g0_top, void (*fn)(void *), void *arg);
__attribute__((noreturn)) void sched_gogo(const sched_gobuf *buf);
void sched_systemstack_switch(void *stack_top, void (*fn)(void *), void *arg);

#endif /* !__ASSEMBLER__ */
#endif
