/* os_linux.c: an M's thread, the one mapping that holds its stacks, its signal stack, the fault handler.
 *
 * Go's newosproc and minit live in os_linux.go, and its fault handling in
 * signal_unix.go; the switches between an M's stacks are switch.c.
 */

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
 * mcall move the stack pointer to the top of g0, gogo moves it back
 * (switch.c).
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

#include "scheduler/runtime.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gc.h>

/* Bytes of each M's signal stack (the fault handler and anything chained). */
#define SCHED_ALTSTACK_SIZE (64u * 1024)

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
 * the fault handler and from the switches' checks (switch.c);
 * async-signal-safe.
 */
__attribute__((noreturn)) void sched_overflow_report(const sched_m *m, bool on_g0)
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
	sched_m *m = sched_mself;
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
	sched_osinit();
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

static void sched_osinit_once(void)
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

void sched_osinit(void)
{
	pthread_once(&sched_init_once, sched_osinit_once);
}

/* -------------------------------------------------------- starting an M */

size_t sched_sysstack_round(size_t bytes)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (bytes < SCHED_SYSSTACK_MIN || bytes > SCHED_SYSSTACK_MAX)
		return 0;
	return (bytes + page - 1) / page * page;
}

/* Go's minit, the part greenvm needs: the M's signal stack, on its own
 * thread.  unminit gives back the one the thread had (ASan frees its own
 * at exit). */
static void minit(sched_m *m)
{
	if (sigaltstack(&m->altstack, &m->old_altstack) != 0)
		sched_throw("sigaltstack failed");
}

static void unminit(sched_m *m)
{
	sigaltstack(&m->old_altstack, NULL);
}

/* The first function of every M's thread, on its M stack (Go's clone
 * starts the thread in mstart, which calls minit, then mstartfn). */
static void *thread_start(void *p)
{
	sched_m *m = p;

	sched_mself = m;
	minit(m);
	m->mstartfn(m->mstartarg);
	unminit(m);
	sched_mself = NULL;
	return NULL;
}

int sched_newosproc(sched_m *m, size_t sysstack, size_t mstack, void (*fn)(void *), void *arg)
{
	sched_osinit();
	size_t page = sched_pagesize;

	sysstack = sched_sysstack_round(sysstack != 0 ? sysstack : SCHED_SYSSTACK_DEFAULT);
	mstack = (mstack != 0 ? mstack : SCHED_MSTACK_DEFAULT);
	mstack = (mstack + page - 1) / page * page;
	if (sysstack == 0 || mstack < SCHED_MSTACK_MIN) {
		errno = EINVAL;
		return -1;
	}
	size_t alt = (SCHED_ALTSTACK_SIZE + page - 1) / page * page;
	size_t size = page + alt + page + sysstack + mstack;
	char *lo = mmap(NULL, size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (lo == MAP_FAILED)
		return -1;
	/* Stacks touch their pages one by one; huge pages would waste memory. */
	(void)madvise(lo, size, MADV_NOHUGEPAGE);
	if (mprotect(lo, page, PROT_NONE) != 0 ||
	    mprotect(lo + page + alt, page, PROT_NONE) != 0) {
		int e = errno;
		munmap(lo, size);
		errno = e;
		return -1;
	}

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
	m->mstartfn = fn;
	m->mstartarg = arg;
	sched_g0_repaint(m);

	/* The thread starts once every field above is set.  (newm's M is on
	 * sched.allm before: greenvm-gdb.py says "starting" while its g0_lo
	 * is NULL.) */
	pthread_attr_t attr;
	int err = pthread_attr_init(&attr);
	if (err == 0)
		err = pthread_attr_setstack(&attr, m->g0_lo, sysstack + mstack);
	if (err == 0)
		err = GC_pthread_create(&m->thread, &attr, thread_start, m);
	pthread_attr_destroy(&attr);
	if (err != 0) {
		munmap(lo, size);
		errno = err;
		return -1;
	}
	return 0;
}

void sched_mjoin(sched_m *m)
{
	if (m == sched_mself)
		sched_throw("an M cannot join itself");
	if (GC_pthread_join(m->thread, NULL) != 0)
		sched_throw("pthread_join failed");
	/* The thread is gone; glibc kept its descriptor at the top of our mapping. */
	munmap(m->map_lo, m->map_size);
}
