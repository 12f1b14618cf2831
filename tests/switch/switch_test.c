/* switch_test.c: the three stack switches of scheduler/switch_*.S, alone.
 *
 * Built with nothing else of greenvm (no collector, no scheduler), so that
 * tests/scripts/switch.sh can build it for the machine it runs on and
 * cross-build it for aarch64, run there under qemu-user.  What it checks:
 *
 *   - sched_systemstack_switch runs fn on the given stack, 16-byte aligned,
 *     nested too, and comes back;
 *   - sched_mcall_switch runs fn at the top of the other stack, and
 *     sched_gogo returns from that mcall, many times in a row;
 *   - across both, every callee-saved register survives (set and read
 *     back by asm, the frame pointer included), and so does every value
 *     the C compiler keeps in them: that is all the switches promise.
 *
 * Build it with -fno-omit-frame-pointer (tests/scripts/switch.sh does).
 *
 * Prints "switch checks: N passed, N failed" and exits 1 on a failure.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "scheduler/switch.h"

enum { STACK_BYTES = 64 << 10, ROUNDS = 100000 };

static int npass, nfail;

static void check(int ok, const char *what)
{
	if (ok) {
		npass++;
	} else {
		nfail++;
		printf("FAIL switch: %s\n", what);
	}
}

/* A stack of STACK_BYTES; returns its top (16-byte aligned), *lo its base. */
static char *new_stack(char **lo)
{
	char *p = aligned_alloc(64, STACK_BYTES);
	if (!p) {
		perror("aligned_alloc");
		exit(1);
	}
	*lo = p;
	return p + STACK_BYTES;
}

/* Where a function's frame is: a local's address, and whether the compiler
 * could align a 16-byte local (it assumes the ABI's aligned stack). */
struct where {
	char *lo, *hi;    /* the stack it must run on */
	int on_stack;     /* a local was in [lo, hi) */
	int aligned;      /* a 16-byte aligned local was */
	int nested_ok;    /* the nested switch's checks passed */
	char *inner_lo, *inner_hi;
};

static __attribute__((noinline)) void record(struct where *w)
{
	_Alignas(16) volatile char local[16];
	local[0] = 1;
	w->on_stack = (char *)local >= w->lo && (char *)local < w->hi;
	w->aligned = ((uintptr_t)local & 15) == 0;
}

static void inner(void *arg)
{
	struct where *w = arg;
	struct where in = {w->inner_lo, w->inner_hi, 0, 0, 0, NULL, NULL};
	record(&in);
	w->nested_ok = in.on_stack && in.aligned;
}

static void outer(void *arg)
{
	struct where *w = arg;
	record(w);
	/* systemstack from the other stack onto a third one, and back */
	sched_systemstack_switch(w->inner_hi, inner, w);
}

/* Values derived from seed, live across fn(): the compiler must keep some
 * of them in callee-saved registers (there are 12 integers and 8 doubles,
 * more than the caller-saved registers left over).  Returns 1 if they all
 * came back intact. */
static __attribute__((noinline)) int survives(uint64_t seed, void (*fn)(void *), void *arg)
{
	volatile uint64_t vs = seed;
	uint64_t s = vs;
	uint64_t a = s * 3, b = s ^ 0x55, c = s + 7, d = s * 11, e = s ^ 0xaa, f = s + 13;
	uint64_t g = s * 17, h = s ^ 0x5a, i = s + 19, j = s * 23, k = s ^ 0xa5, l = s + 29;
	double x0 = (double)s * 0.5, x1 = (double)s + 0.25, x2 = (double)s * 1.5, x3 = (double)s - 0.75;
	double x4 = (double)s * 2.5, x5 = (double)s + 3.25, x6 = (double)s * 3.5, x7 = (double)s - 4.75;
	fn(arg);
	uint64_t s2 = vs;
	int ints = a == s2 * 3 && b == (s2 ^ 0x55) && c == s2 + 7 && d == s2 * 11 &&
		   e == (s2 ^ 0xaa) && f == s2 + 13 && g == s2 * 17 && h == (s2 ^ 0x5a) &&
		   i == s2 + 19 && j == s2 * 23 && k == (s2 ^ 0xa5) && l == s2 + 29;
	int dbls = x0 == (double)s2 * 0.5 && x1 == (double)s2 + 0.25 && x2 == (double)s2 * 1.5 &&
		   x3 == (double)s2 - 0.75 && x4 == (double)s2 * 2.5 && x5 == (double)s2 + 3.25 &&
		   x6 == (double)s2 * 3.5 && x7 == (double)s2 - 4.75;
	return ints && dbls;
}

/* The frame pointer register (the test is built with frame pointers, so
 * it is fixed for the whole body of the function that reads it). */
static inline __attribute__((always_inline)) uint64_t frame_pointer(void)
{
	uint64_t fp;
#if defined(__x86_64__)
	__asm__ volatile("mov %%rbp, %0" : "=r"(fp));
#elif defined(__aarch64__)
	__asm__ volatile("mov %0, x29" : "=r"(fp));
#endif
	return fp;
}

/* The callee-saved registers themselves, the frame pointer included: set
 * to known values before fn(arg) and read back after it; 1 if all came
 * back.  The first asm names them clobbered (all but the frame pointer,
 * which only gets read), so the compiler saves the caller's in the
 * prologue and keeps nothing of its own in them; it also writes the frame
 * pointer to memory, so that no register has to carry it across the call.
 * (Compiled code between the two asm statements: the call, nothing else;
 * tests/scripts/switch.sh checks the result is right both unoptimized and
 * optimized.) */
static __attribute__((noinline)) int regs_survive(void (*fn)(void *), void *arg)
{
	uint64_t got[19] = {0}; /* the registers, then the frame pointer */
	uint64_t fp_before = 0;
	int n;
#if defined(__x86_64__)
	__asm__ volatile("mov %%rbp, %0\n\t"
			 "mov $0x1001, %%rbx\n\tmov $0x1002, %%r12\n\tmov $0x1003, %%r13\n\t"
			 "mov $0x1004, %%r14\n\tmov $0x1005, %%r15"
			 : "=m"(fp_before) :: "rbx", "r12", "r13", "r14", "r15");
	fn(arg);
	__asm__ volatile("mov %%rbx, 0(%0)\n\tmov %%r12, 8(%0)\n\tmov %%r13, 16(%0)\n\t"
			 "mov %%r14, 24(%0)\n\tmov %%r15, 32(%0)\n\tmov %%rbp, 144(%0)"
			 :: "r"(got) : "memory");
	n = 5;
#elif defined(__aarch64__)
	__asm__ volatile("mov x9, x29\n\tstr x9, %0\n\t"
			 "mov x19, #0x1001\n\tmov x20, #0x1002\n\tmov x21, #0x1003\n\t"
			 "mov x22, #0x1004\n\tmov x23, #0x1005\n\tmov x24, #0x1006\n\t"
			 "mov x25, #0x1007\n\tmov x26, #0x1008\n\tmov x27, #0x1009\n\t"
			 "mov x28, #0x100a\n\t"
			 "mov x9, #0x100b\n\tfmov d8, x9\n\tmov x9, #0x100c\n\tfmov d9, x9\n\t"
			 "mov x9, #0x100d\n\tfmov d10, x9\n\tmov x9, #0x100e\n\tfmov d11, x9\n\t"
			 "mov x9, #0x100f\n\tfmov d12, x9\n\tmov x9, #0x1010\n\tfmov d13, x9\n\t"
			 "mov x9, #0x1011\n\tfmov d14, x9\n\tmov x9, #0x1012\n\tfmov d15, x9"
			 : "=m"(fp_before) :: "x9", "x19", "x20", "x21", "x22", "x23", "x24", "x25",
			 "x26", "x27", "x28", "d8", "d9", "d10", "d11", "d12", "d13", "d14", "d15");
	fn(arg);
	__asm__ volatile("stp x19, x20, [%0]\n\tstp x21, x22, [%0, #16]\n\t"
			 "stp x23, x24, [%0, #32]\n\tstp x25, x26, [%0, #48]\n\t"
			 "stp x27, x28, [%0, #64]\n\tstp d8, d9, [%0, #80]\n\t"
			 "stp d10, d11, [%0, #96]\n\tstp d12, d13, [%0, #112]\n\t"
			 "stp d14, d15, [%0, #128]\n\tstr x29, [%0, #144]"
			 :: "r"(got) : "memory");
	n = 18;
#endif
	for (int i = 0; i < n; i++)
		if (got[i] != 0x1001u + (uint64_t)i)
			return 0;
	return got[18] == fp_before;
}

/* ---- systemstack ---------------------------------------------------- */

struct sys_args {
	struct where w;
	char *top;
};

static void call_systemstack(void *arg)
{
	struct sys_args *a = arg;
	sched_systemstack_switch(a->top, outer, &a->w);
}

static void test_systemstack(void)
{
	char *lo, *top = new_stack(&lo);
	char *lo2, *top2 = new_stack(&lo2);
	struct sys_args a = {{lo, top, 0, 0, 0, lo2, top2}, top};
	int kept = survives(0x1234567, call_systemstack, &a);
	int regs = regs_survive(call_systemstack, &a);
	check(a.w.on_stack, "systemstack: fn runs on the given stack");
	check(a.w.aligned, "systemstack: the stack is 16-byte aligned in fn");
	check(a.w.nested_ok, "systemstack: a nested switch runs on its own stack, aligned");
	check(kept, "systemstack: values the compiler keeps in registers survive");
	check(regs, "systemstack: every callee-saved register survives");
	free(lo);
	free(lo2);
}

/* ---- mcall and gogo -------------------------------------------------- */

static struct {
	sched_gobuf buf;   /* the mcall's saved context */
	char *g0_lo, *g0_top;
	long calls;        /* runs of on_g0 */
	int all_on_g0;     /* every run was on the g0 stack, aligned */
} m;

/* Put garbage in every callee-saved register (but the frame pointer).  The
 * compiler saves them in on_g0's prologue for an epilogue that never runs:
 * on_g0 leaves by sched_gogo, which alone must bring the mcall's values
 * back. */
static inline __attribute__((always_inline)) void clobber_callee_saved(void)
{
#if defined(__x86_64__)
	__asm__ volatile("mov $0x5151, %%rbx\n\tmov $0x5252, %%r12\n\tmov $0x5353, %%r13\n\t"
			 "mov $0x5454, %%r14\n\tmov $0x5555, %%r15"
			 ::: "rbx", "r12", "r13", "r14", "r15");
#elif defined(__aarch64__)
	__asm__ volatile("mov x19, #0x51\n\tmov x20, #0x52\n\tmov x21, #0x53\n\tmov x22, #0x54\n\t"
			 "mov x23, #0x55\n\tmov x24, #0x56\n\tmov x25, #0x57\n\tmov x26, #0x58\n\t"
			 "mov x27, #0x59\n\tmov x28, #0x5a\n\t"
			 "fmov d8, #1.0\n\tfmov d9, #2.0\n\tfmov d10, #3.0\n\tfmov d11, #4.0\n\t"
			 "fmov d12, #5.0\n\tfmov d13, #6.0\n\tfmov d14, #7.0\n\tfmov d15, #8.0"
			 ::: "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28",
			 "d8", "d9", "d10", "d11", "d12", "d13", "d14", "d15");
#endif
}

static void on_g0(void *arg)
{
	struct where w = {m.g0_lo, m.g0_top, 0, 0, 0, NULL, NULL};
	record(&w);
	if (!w.on_stack || !w.aligned)
		m.all_on_g0 = 0;
	m.calls += (long)(intptr_t)arg;
	clobber_callee_saved();
	/* and the frame pointer, which no clobber list may name: nothing after
	 * this uses on_g0's frame (m is a global) */
#if defined(__x86_64__)
	__asm__ volatile("mov $0x5656, %%rbp" ::: "memory");
#elif defined(__aarch64__)
	__asm__ volatile("mov x29, #0x5b" ::: "memory");
#endif
	sched_gogo(&m.buf); /* back into the mcall, which returns */
}

static int fp_kept = 1; /* the frame pointer was the same after every mcall */

static void mcall_once(void *arg)
{
	uint64_t before = frame_pointer();
	sched_mcall_switch(&m.buf, m.g0_top, on_g0, arg);
	if (frame_pointer() != before)
		fp_kept = 0;
}

static void test_mcall_gogo(void)
{
	m.g0_top = new_stack(&m.g0_lo);
	m.all_on_g0 = 1;
	int kept = 1, regs = 1;
	for (long r = 0; r < ROUNDS; r++) {
		kept &= survives((uint64_t)r * 2654435761u, mcall_once, (void *)(intptr_t)1);
		regs &= regs_survive(mcall_once, (void *)(intptr_t)1);
	}
	check(m.calls == 2 * ROUNDS, "mcall: fn ran once per mcall");
	check(m.all_on_g0, "mcall: fn runs at the top of g0, 16-byte aligned");
	check(kept, "mcall/gogo: values the compiler keeps in registers survive");
	check(regs, "mcall/gogo: every callee-saved register survives 200000 round trips");
	check(fp_kept, "mcall/gogo: the frame pointer survives");
	free(m.g0_lo);
}

int main(void)
{
	test_systemstack();
	test_mcall_gogo();
	printf("switch checks (%s): %d passed, %d failed\n",
#if defined(__x86_64__)
	       "x86-64",
#else
	       "aarch64",
#endif
	       npass, nfail);
	return nfail ? 1 : 0;
}
