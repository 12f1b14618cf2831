/* stack.c: Ms (OS threads), their g0 system stacks, switching, overflow reports. */

/*
 * The stacks of an M
 * ------------------
 * Every M is one pthread whose stacks live in one mmap:
 *
 *   low                                                            high
 *   | guard | sigaltstack | guard | g0 (sysstack) | M stack (mstack) |
 *                                 <------ the pthread's stack ------>
 *
 * The M stack runs the interpreter loop and FFI calls.  g0, the system
 * stack, runs runtime work (schedule, trace flush, ...): systemstack and
 * mcall move the stack pointer to the top of g0, gogo moves it back.
 *
 * Why g0 sits right below the M stack, inside the pthread's stack: Boehm
 * scans a thread's stack from its current stack pointer up to the stack
 * base it recorded when the thread started (the top of the pthread's
 * stack).  While the M runs on g0, that range still covers the live top
 * of g0 and every frame of the M stack, so any pointer the M stack holds
 * stays visible to the collector, at every instant of a switch, with no
 * bookkeeping.  There must be no guard page between g0 and the M stack,
 * since Boehm reads that whole range.  The price: while on g0, a
 * collection also scans the unused part of the M stack between g0 and
 * the M's stack pointer (zero pages if never touched, old dead frames if
 * it was deeper once, which may keep garbage alive a little longer).
 *
 * The guard page below g0 catches a g0 overflow.  An M-stack overflow runs
 * through the idle g0 into the same guard; the fault handler tells the two
 * apart by on_g0.  systemstack and mcall also check, before switching,
 * that the M stack has not already reached into g0 (a switch would then
 * overwrite live frames).  One guard page is enough because the build
 * uses -fstack-clash-protection: GCC then touches every page of a frame
 * larger than a page in order, so no frame can step over the guard.
 *
 * Overflows are reported by a SIGSEGV/SIGBUS handler that runs on the M's
 * sigaltstack (the faulting stack has no room left) and uses only
 * async-signal-safe calls.
 */

#include "scheduler/stack.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gc.h>

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/common_interface_defs.h>
#endif

/* Bytes of each M's signal stack (the fault handler and anything chained). */
#define SCHED_ALTSTACK_SIZE (64u * 1024)
/*
 * Bytes that must stay free between the M's stack pointer and g0 when it
 * switches: the frames live across the switch (systemstack's own and the
 * assembly's) sit just above the stack pointer at the check.
 */
#define SCHED_SWITCH_ROOM 256u
/* What an unused word of g0 holds, for the high-water mark. */
#define SCHED_G0_PAINT ((uintptr_t)0x9e9e9e9e9e9e9e9eull)

__thread sched_mstack *sched_mstack_self;

static size_t sched_pagesize;
static struct sigaction sched_old_segv;
static struct sigaction sched_old_bus;
static pthread_once_t sched_init_once = PTHREAD_ONCE_INIT;

void sched_write_stderr(const char *a, const char *b, const char *c)
{
	const char *parts[3] = { a, b, c };
	for (int i = 0; i < 3; i++)
		if (parts[i] && write(2, parts[i], strlen(parts[i])) < 0)
			return;
}

/* A runtime bug: there is no sensible way on (Go's throw).  write(2), not
 * stdio: on g0, glibc's unbuffered stderr would format into an 8 KiB
 * buffer on the stack. */
__attribute__((noreturn)) void sched_throw(const char *msg)
{
	sched_write_stderr("fatal error: ", msg, "\n");
	abort();
}

/* ---------------------------------------------------------------- ASan */

/*
 * AddressSanitizer tracks which stack a thread is on.  Around every switch
 * we tell it, as <sanitizer/common_interface_defs.h> asks: start before
 * leaving a stack, finish first thing on the new one.  Release builds
 * compile these to nothing.
 */
static inline void sched_asan_start(void **fake, const void *bottom, size_t size)
{
#ifdef __SANITIZE_ADDRESS__
	__sanitizer_start_switch_fiber(fake, bottom, size);
#else
	(void)fake, (void)bottom, (void)size;
#endif
}

static inline void sched_asan_finish(void *fake, const void **bottom, size_t *size)
{
#ifdef __SANITIZE_ADDRESS__
	__sanitizer_finish_switch_fiber(fake, bottom, size);
#else
	(void)fake, (void)bottom, (void)size;
#endif
}

/* ------------------------------------------------------ overflow report */

/* Append s to buf at *n, within cap.  Async-signal-safe. */
void sched_put(char *buf, size_t cap, size_t *n, const char *s)
{
	while (*s != '\0' && *n < cap)
		buf[(*n)++] = *s++;
}

/* Append v in decimal.  Async-signal-safe (no printf in a signal handler). */
void sched_put_uint(char *buf, size_t cap, size_t *n, uintmax_t v)
{
	char digits[24];
	size_t i = sizeof digits;

	digits[--i] = '\0';
	do {
		digits[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	sched_put(buf, cap, n, digits + i);
}

/*
 * Print which stack of m overflowed and exit with status 2.  Called from
 * the fault handler and from the switch checks; async-signal-safe.
 */
__attribute__((noreturn)) static void sched_overflow_report(const sched_mstack *m, bool on_g0)
{
	char buf[256];
	size_t n = 0;
	const char *op = m->op;

	sched_put(buf, sizeof buf, &n, on_g0 ? "fatal error: system stack overflow\n"
					     : "fatal error: M stack overflow\n");
	sched_put(buf, sizeof buf, &n, "M ");
	sched_put_uint(buf, sizeof buf, &n, (uintmax_t)(m->id < 0 ? 0 : m->id));
	if (on_g0) {
		sched_put(buf, sizeof buf, &n, ": g0 stack of ");
		sched_put_uint(buf, sizeof buf, &n, m->sysstack);
		sched_put(buf, sizeof buf, &n, " bytes overflowed during \"");
		sched_put(buf, sizeof buf, &n, op != NULL ? op : "?");
		sched_put(buf, sizeof buf, &n, "\"\n");
	} else {
		sched_put(buf, sizeof buf, &n, ": M stack of ");
		sched_put_uint(buf, sizeof buf, &n, m->mstack);
		sched_put(buf, sizeof buf, &n, " bytes overflowed\n");
	}
	ssize_t r = write(STDERR_FILENO, buf, n);
	(void)r;
	_exit(2);
}

/*
 * SIGSEGV/SIGBUS handler, on the sigaltstack.  A fault in the guard page
 * of the current M is a stack overflow.  Only the thread running on a
 * stack moves its stack pointer into that stack's guard, so we look at
 * the current M only; any other fault goes to the handler that was there
 * before us (ASan's in debug builds), or kills the process as usual.
 */
static void sched_fault(int sig, siginfo_t *info, void *ctx)
{
	sched_mstack *m = sched_mstack_self;
	char *addr = info->si_addr;

	if (m != NULL && addr >= m->guard_lo && addr < m->guard_hi)
		sched_overflow_report(m, m->on_g0);

	const struct sigaction *old = sig == SIGBUS ? &sched_old_bus : &sched_old_segv;
	if ((old->sa_flags & SA_SIGINFO) != 0 && old->sa_sigaction != NULL) {
		old->sa_sigaction(sig, info, ctx);
		return;
	}
	if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
		old->sa_handler(sig);
		return;
	}
	/* Default action: returning runs the faulting instruction again. */
	struct sigaction dfl;
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigaction(sig, &dfl, NULL);
}

/* ------------------------------------------------ the signal frame */

static size_t sched_sigframe;
static volatile uintptr_t sched_probe_fp;

__attribute__((noinline)) static void sched_probe_handler(int sig)
{
	(void)sig;
	sched_probe_fp = (uintptr_t)__builtin_frame_address(0);
}

/* Send ourselves a signal and see how far below us its handler's frame
 * is: the kernel's signal frame (and raise's own small frame, which
 * errs on the safe side).  SIGURG is ignored by default, so nothing else
 * listens for it; it is delivered before raise returns. */
static size_t sched_measure_signal_frame(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = sched_probe_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGURG, &sa, &old) != 0)
		return 0;
	uintptr_t top = (uintptr_t)__builtin_frame_address(0);
	raise(SIGURG);
	sigaction(SIGURG, &old, NULL);
	size_t measured = sched_probe_fp && sched_probe_fp < top ? top - sched_probe_fp : 0;
	size_t kernel = (size_t)getauxval(AT_MINSIGSTKSZ);
	return measured > kernel ? measured : kernel;
}

size_t sched_signal_frame(void)
{
	sched_stack_init();
	return sched_sigframe;
}

size_t sched_signal_reserve(void)
{
	return sched_signal_frame() + SCHED_GC_SIGNAL_HANDLER;
}

size_t sched_sysstack_safe_min(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t need = SCHED_G0_STATIC_WORST + sched_signal_reserve();
	need = (need + page - 1) / page * page;
	return need < SCHED_SYSSTACK_MIN ? SCHED_SYSSTACK_MIN : need;
}

static void sched_stack_init_once(void)
{
	struct sigaction sa;

	sched_sigframe = sched_measure_signal_frame();

	sched_pagesize = (size_t)sysconf(_SC_PAGESIZE);
	/*
	 * Boehm: GC_INIT first.  Ms are created with GC_pthread_create, which
	 * registers them itself, so GC_allow_register_threads (needed only
	 * for threads that call GC_register_my_thread) is not called.
	 */
	GC_INIT();
	/*
	 * Under ASan this runs after ASan installed its own SEGV handler (at
	 * start-up), so ours replaces it and chains to it for other faults.
	 */
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = sched_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &sched_old_segv) != 0 ||
	    sigaction(SIGBUS, &sa, &sched_old_bus) != 0)
		sched_throw("sigaction failed");
}

void sched_stack_init(void)
{
	pthread_once(&sched_init_once, sched_stack_init_once);
}

/* ------------------------------------------------------------ painting */

/*
 * Paint [lo, hi) with SCHED_G0_PAINT.  Not instrumented, and with volatile
 * stores so that it is not turned into memset: under ASan, old g0 frames
 * can leave poisoned shadow behind, which this memory is allowed to have.
 */
__attribute__((no_sanitize_address)) static void sched_paint(char *lo, char *hi)
{
	for (volatile uintptr_t *w = (volatile uintptr_t *)lo; (char *)w < hi; w++)
		*w = SCHED_G0_PAINT;
}

__attribute__((no_sanitize_address)) size_t sched_g0_high_water(const sched_mstack *m)
{
	const volatile uintptr_t *w = (const volatile uintptr_t *)m->g0_lo;

	while ((const char *)w < m->g0_hi && *w == SCHED_G0_PAINT)
		w++;
	return (size_t)(m->g0_hi - (const char *)w);
}

bool sched_stack_stats;

/* Record that operation op used g0 down to the lowest repainted word. */
__attribute__((no_sanitize_address)) static void sched_opstat_end(sched_mstack *m, const char *op)
{
	size_t used = sched_g0_high_water(m);
	for (int i = 0; i < SCHED_OPSTATS; i++) {
		struct sched_opstat *o = &m->opstats[i];
		if (o->op && o->op != op)
			continue;
		o->op = op;
		if (used > o->deepest)
			o->deepest = used;
		return;
	}
}

/* Repaint the part of g0 below sp (all of it when not on g0). */
static void sched_opstat_begin(sched_mstack *m, char *sp)
{
	char *hi = sp > m->g0_lo && sp <= m->g0_hi ? sp - 128 : m->g0_hi;
	if (hi > m->g0_lo)
		sched_paint(m->g0_lo, hi);
}

__attribute__((no_sanitize_address)) size_t sched_mstack_deepest(const sched_mstack *m)
{
	const uintptr_t *w = (const uintptr_t *)m->mstack_lo;
	while ((const char *)w < m->mstack_hi && *w == 0)
		w++;
	return (size_t)(m->mstack_hi - (const char *)w);
}

void sched_g0_repaint(sched_mstack *m)
{
	if (m->on_g0)
		sched_throw("sched_g0_repaint called while the M is on g0");
	sched_paint(m->g0_lo, m->g0_hi);
}

/* -------------------------------------------------------- starting an M */

size_t sched_sysstack_round(size_t bytes)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (bytes < SCHED_SYSSTACK_MIN || bytes > SCHED_SYSSTACK_MAX)
		return 0;
	return (bytes + page - 1) / page * page;
}

/* The first function of every M, on its M stack. */
static void *sched_mstack_main(void *p)
{
	sched_mstack *m = p;

	sched_mstack_self = m;
	if (sigaltstack(&m->altstack, &m->old_altstack) != 0)
		sched_throw("sigaltstack failed");
	m->fn(m->arg);
	/* Give back the signal stack the thread had (ASan frees its own at exit). */
	sigaltstack(&m->old_altstack, NULL);
	sched_mstack_self = NULL;
	return NULL;
}

sched_mstack *sched_mstack_start(int id, size_t sysstack, size_t mstack,
				 void (*fn)(void *), void *arg)
{
	sched_stack_init();
	size_t page = sched_pagesize;

	sysstack = sched_sysstack_round(sysstack != 0 ? sysstack : SCHED_SYSSTACK_DEFAULT);
	mstack = (mstack != 0 ? mstack : SCHED_MSTACK_DEFAULT);
	mstack = (mstack + page - 1) / page * page;
	if (sysstack == 0 || mstack < SCHED_MSTACK_MIN) {
		errno = EINVAL;
		return NULL;
	}
	size_t alt = (SCHED_ALTSTACK_SIZE + page - 1) / page * page;
	size_t size = page + alt + page + sysstack + mstack;
	char *lo = mmap(NULL, size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (lo == MAP_FAILED)
		return NULL;
	/* Stacks touch their pages one by one; huge pages would waste memory. */
	(void)madvise(lo, size, MADV_NOHUGEPAGE);
	if (mprotect(lo, page, PROT_NONE) != 0 ||
	    mprotect(lo + page + alt, page, PROT_NONE) != 0) {
		int e = errno;
		munmap(lo, size);
		errno = e;
		return NULL;
	}

	/* Uncollectable: Boehm scans it (arg may be a GC object) but never frees it. */
	sched_mstack *m = GC_MALLOC_UNCOLLECTABLE(sizeof *m);
	if (m == NULL) {
		munmap(lo, size);
		errno = ENOMEM;
		return NULL;
	}
	memset(m, 0, sizeof *m);
	m->id = id;
	m->map_lo = lo;
	m->map_size = size;
	m->altstack.ss_sp = lo + page;
	m->altstack.ss_size = alt;
	m->altstack.ss_flags = 0;
	m->guard_lo = lo + page + alt;
	m->guard_hi = m->guard_lo + page;
	m->g0_lo = m->guard_hi;
	m->g0_hi = m->g0_lo + sysstack;
	m->sysstack = sysstack;
	m->mstack_lo = m->g0_hi;
	m->mstack_hi = m->mstack_lo + mstack;
	m->mstack = mstack;
	m->fn = fn;
	m->arg = arg;
	sched_paint(m->g0_lo, m->g0_hi);

	pthread_attr_t attr;
	int err = pthread_attr_init(&attr);
	if (err == 0)
		err = pthread_attr_setstack(&attr, m->g0_lo, sysstack + mstack);
	if (err == 0)
		err = GC_pthread_create(&m->thread, &attr, sched_mstack_main, m);
	pthread_attr_destroy(&attr);
	if (err != 0) {
		munmap(lo, size);
		GC_FREE(m);
		errno = err;
		return NULL;
	}
	return m;
}

void sched_mstack_join(sched_mstack *m)
{
	if (m == sched_mstack_self)
		sched_throw("an M cannot join itself");
	if (GC_pthread_join(m->thread, NULL) != 0)
		sched_throw("pthread_join failed");
	/* The thread is gone; glibc kept its descriptor at the top of our mapping. */
	munmap(m->map_lo, m->map_size);
	GC_FREE(m);
}

/* ------------------------------------------------------------ switching */

/* The current M, or a fatal error naming the caller. */
static sched_mstack *sched_curm(const char *who)
{
	sched_mstack *m = sched_mstack_self;

	if (m == NULL) {
		sched_write_stderr("fatal error: ", who, " called on a thread that is not an M\n");
		abort();
	}
	return m;
}

/*
 * Before switching from the M stack to g0: the M stack must not have
 * grown into g0 already, or g0's frames would overwrite its live ones.
 */
static inline void sched_check_mstack_room(sched_mstack *m)
{
	if (sched_getsp() < (uintptr_t)m->g0_hi + SCHED_SWITCH_ROOM)
		sched_overflow_report(m, false);
}

/* systemstack's call, kept on the M stack while fn runs on g0. */
struct systemstack_call {
	/* what to run on g0 */
	void (*fn)(void *);
	void *arg;
	/* ASan: the M stack's fake stack and bounds, to switch back */
	void *fake;
	const void *bottom;
	size_t size;
};

/* First function on g0 for systemstack. */
static void sched_systemstack_g0(void *p)
{
	struct systemstack_call *c = p;

	sched_asan_finish(NULL, &c->bottom, &c->size);
	c->fn(c->arg);
	sched_asan_start(NULL, c->bottom, c->size); /* g0's frames end here */
}

void systemstack(const char *op, void (*fn)(void *), void *arg)
{
	sched_mstack *m = sched_curm("systemstack");

	if (m->on_g0) {
		/* Already on g0: just call, naming the inner operation meanwhile. */
		const char *outer = m->op;
		if (sched_stack_stats)
			sched_opstat_begin(m, (char *)sched_getsp());
		m->op = op;
		fn(arg);
		m->op = outer;
		if (sched_stack_stats)
			sched_opstat_end(m, op);
		return;
	}
	sched_check_mstack_room(m);
	struct systemstack_call c = {.fn = fn, .arg = arg};
	if (sched_stack_stats)
		sched_opstat_begin(m, NULL);
	m->op = op;
	m->on_g0 = true;
	sched_asan_start(&c.fake, m->g0_lo, m->sysstack);
	sched_systemstack_switch(m->g0_hi, sched_systemstack_g0, &c);
	sched_asan_finish(c.fake, NULL, NULL);
	m->on_g0 = false;
	m->op = NULL;
	if (sched_stack_stats)
		sched_opstat_end(m, op);
}

/* First function on g0 for mcall: fn must end in gogo. */
static void sched_mcall_g0(void *p)
{
	sched_mstack *m = p;

	sched_asan_finish(NULL, &m->asan_mstack_bottom, &m->asan_mstack_size);
	m->mcall_fn(m->mcall_arg);
	sched_throw("mcall: fn returned instead of calling gogo");
}

void mcall(const char *op, void (*fn)(void *), void *arg)
{
	sched_mstack *m = sched_curm("mcall");

	if (m->on_g0)
		sched_throw("mcall called on g0"); /* Go: "mcall called on m->g0 stack" */
	sched_check_mstack_room(m);
	if (sched_stack_stats)
		sched_opstat_begin(m, NULL);
	m->mcall_fn = fn;
	m->mcall_arg = arg;
	m->op = op;
	m->gobuf_valid = true;
	m->on_g0 = true;
	sched_asan_start(&m->asan_fake_stack, m->g0_lo, m->sysstack);
	sched_mcall_switch(&m->gobuf, m->g0_hi, sched_mcall_g0, m);
	/* gogo brought us back here, on the M stack. */
	sched_asan_finish(m->asan_fake_stack, NULL, NULL);
}

void gogo(void)
{
	sched_mstack *m = sched_curm("gogo");

	if (!m->on_g0 || !m->gobuf_valid)
		sched_throw("gogo without a pending mcall on this M");
	m->gobuf_valid = false;
	if (sched_stack_stats && m->op)
		sched_opstat_end(m, m->op);
	sched_asan_start(NULL, m->asan_mstack_bottom, m->asan_mstack_size);
	m->op = NULL;
	m->on_g0 = false;
	sched_gogo(&m->gobuf);
}

void sched_assert_on_g0_at(const char *func)
{
	sched_mstack *m = sched_mstack_self;
	uintptr_t sp = sched_getsp();

	if (m != NULL && sp >= (uintptr_t)m->g0_lo && sp < (uintptr_t)m->g0_hi)
		return;
	fprintf(stderr, "fatal error: %s must run on g0 (sp %#lx", func, (unsigned long)sp);
	if (m != NULL)
		fprintf(stderr, ", M %d's g0 is [%p, %p)", m->id, (void *)m->g0_lo,
			(void *)m->g0_hi);
	else
		fprintf(stderr, ", not on an M");
	fprintf(stderr, ")\n");
	abort();
}

/* The gobuf layout the assembly uses must match the C type. */
_Static_assert(sizeof(sched_gobuf) == SCHED_GOBUF_WORDS * sizeof(uintptr_t), "gobuf size");
