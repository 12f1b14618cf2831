/* test_stack.c: unit tests of Ms, g0, systemstack/mcall/gogo and overflow reports. */

#include "scheduler/runtime.h"
#include "tests/unit/unit.h"

#include <errno.h>
#include <gc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* True when the address lies in [lo, hi). */
static bool within(uintptr_t a, const char *lo, const char *hi)
{
	return a >= (uintptr_t)lo && a < (uintptr_t)hi;
}

/* Start an M of the test's own (no scheduler here: the M is the test's,
 * on its stack), let it run fn(arg) to the end, free its stacks. */
static void run_on_m(int id, size_t sysstack, size_t mstack, void (*fn)(void *), void *arg)
{
	sched_m m = { .id = id };
	CU_ASSERT_FATAL(sched_newosproc(&m, sysstack, mstack, fn, arg) == 0);
	sched_mjoin(&m);
}

/* ------------------------------------------------- systemstack, nested */

struct sp_probe {
	uintptr_t before, inside, inner, after; /* stack pointers seen */
	bool on_g0_inside, on_g0_after;
	const char *op_inside, *op_inner, *op_after_inner;
	sched_m *m;
};

static void probe_inner(void *p)
{
	struct sp_probe *s = p;
	sched_assert_on_g0();
	s->inner = sched_getsp();
	s->op_inner = sched_mself->op;
}

static void probe_outer(void *p)
{
	struct sp_probe *s = p;
	sched_assert_on_g0();
	s->inside = sched_getsp();
	s->on_g0_inside = s->m->on_g0;
	s->op_inside = s->m->op;
	systemstack("inner", probe_inner, s); /* nested: stays on g0 */
	s->op_after_inner = s->m->op;
}

static void probe_m(void *p)
{
	struct sp_probe *s = p;
	s->m = sched_mself;
	s->before = sched_getsp();
	systemstack("probe", probe_outer, s);
	s->after = sched_getsp();
	s->on_g0_after = s->m->on_g0;
}

static void test_systemstack_sp(void)
{
	struct sp_probe s;
	memset(&s, 0, sizeof s);
	sched_m m = { .id = 1 };
	CU_ASSERT_FATAL(sched_newosproc(&m, 0, 0, probe_m, &s) == 0);
	sched_mjoin(&m);
	char *g0_lo = m.g0_lo, *g0_hi = m.g0_hi, *ms_lo = m.mstack_lo, *ms_hi = m.mstack_hi;
	CU_ASSERT_EQUAL(m.sysstack, SCHED_SYSSTACK_DEFAULT);
	CU_ASSERT_PTR_EQUAL(s.m, &m); /* the M's thread saw it as sched_mself */

	CU_ASSERT_TRUE(within(s.before, ms_lo, ms_hi));
	CU_ASSERT_FALSE(within(s.before, g0_lo, g0_hi));
	CU_ASSERT_TRUE(within(s.inside, g0_lo, g0_hi));
	CU_ASSERT_TRUE(within(s.inner, g0_lo, g0_hi));
	CU_ASSERT_TRUE(s.inner < s.inside); /* nested call went deeper on g0 */
	CU_ASSERT_TRUE(within(s.after, ms_lo, ms_hi));
	CU_ASSERT_EQUAL(s.before, s.after);
	CU_ASSERT_TRUE(s.on_g0_inside);
	CU_ASSERT_FALSE(s.on_g0_after);
	CU_ASSERT_STRING_EQUAL(s.op_inside, "probe");
	CU_ASSERT_STRING_EQUAL(s.op_inner, "inner");
	CU_ASSERT_STRING_EQUAL(s.op_after_inner, "probe");
}

static void test_sysstack_sizes(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	CU_ASSERT_EQUAL(sched_sysstack_round(SCHED_SYSSTACK_MIN - 1), 0);
	CU_ASSERT_EQUAL(sched_sysstack_round(SCHED_SYSSTACK_MAX + 1), 0);
	CU_ASSERT_EQUAL(sched_sysstack_round(4097), 4096 + page);
	CU_ASSERT_EQUAL(sched_sysstack_round(SCHED_SYSSTACK_MAX), SCHED_SYSSTACK_MAX);
	sched_m m = { .id = 1 };
	CU_ASSERT_EQUAL(sched_newosproc(&m, 100, 0, probe_m, NULL), -1);
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_EQUAL(sched_newosproc(&m, 0, 4096, probe_m, NULL), -1);
	CU_ASSERT_EQUAL(errno, EINVAL);
}

/* ------------------------------------------------------ mcall and gogo */

/* Overwrite the callee-saved registers: gogo must bring them back. */
static void trash_callee_saved(void)
{
#if defined(__x86_64__)
	__asm__ volatile("movq $-1, %%rbx\n\tmovq $-1, %%r12\n\tmovq $-1, %%r13\n\t"
			 "movq $-1, %%r14\n\tmovq $-1, %%r15"
			 ::: "rbx", "r12", "r13", "r14", "r15");
#else
	__asm__ volatile("mov x19, #-1\n\tmov x20, #-1\n\tmov x21, #-1\n\tmov x22, #-1\n\t"
			 "mov x23, #-1\n\tmov x24, #-1\n\tmov x25, #-1\n\tmov x26, #-1\n\t"
			 "mov x27, #-1\n\tmov x28, #-1\n\tfmov d8, xzr\n\tfmov d15, xzr"
			 ::: "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26",
			 "x27", "x28", "d8", "d15");
#endif
}

struct switcher {
	long rounds;            /* how many mcall/gogo round trips */
	long on_g0;             /* counted by the g0 side */
	long bad_sp;            /* g0 side saw a stack pointer outside g0 */
	uint64_t result;        /* computed across the switches */
	uint64_t expected;      /* the same without switching */
	double fresult;         /* a double kept across the switches */
};

static void switch_g0(void *p)
{
	struct switcher *s = p;
	sched_m *m = sched_mself;
	if (!within(sched_getsp(), m->g0_lo, m->g0_hi))
		s->bad_sp++;
	s->on_g0++;
	trash_callee_saved();
	gogo();
}

static uint64_t mix(uint64_t h, long i)
{
	return (h ^ (uint64_t)i) * 0x100000001b3ull;
}

static void switch_m(void *p)
{
	struct switcher *s = p;
	uint64_t h = 0xcbf29ce484222325ull, g = 7;
	double f = 1.0;

	for (long i = 0; i < s->rounds; i++) {
		h = mix(h, i);
		g += h >> 7;
		f = f * 1.0000001 + 0.5;
		mcall("switch test", switch_g0, s);
		/* h, g, f live across mcall: in callee-saved registers or the frame */
		g ^= h;
	}
	s->result = h + g;
	s->fresult = f;
}

static void switcher_expect(struct switcher *s)
{
	uint64_t h = 0xcbf29ce484222325ull, g = 7;
	for (long i = 0; i < s->rounds; i++) {
		h = mix(h, i);
		g += h >> 7;
		g ^= h;
	}
	s->expected = h + g;
}

static void test_mcall_gogo(void)
{
	struct switcher s = {.rounds = 100000};
	switcher_expect(&s);
	run_on_m(1, 0, 0, switch_m, &s);
	CU_ASSERT_EQUAL(s.on_g0, s.rounds);
	CU_ASSERT_EQUAL(s.bad_sp, 0);
	CU_ASSERT_EQUAL(s.result, s.expected);
	double f = 1.0;
	for (long i = 0; i < s.rounds; i++)
		f = f * 1.0000001 + 0.5;
	CU_ASSERT_EQUAL(s.fresult, f);
}

/* ------------------------------------------------------- several Ms */

#define NM 4

struct worker {
	struct switcher sw;     /* mcall/gogo rounds, checked as above */
	long sys_rounds;        /* systemstack calls made */
	long sys_bad;           /* calls that saw a stack pointer outside this M's g0 */
	atomic_int *ready;      /* all Ms wait here, so they run at once */
};

static void worker_g0(void *p)
{
	struct worker *w = p;
	sched_m *m = sched_mself;
	if (!within(sched_getsp(), m->g0_lo, m->g0_hi))
		w->sys_bad++;
}

static void worker_m(void *p)
{
	struct worker *w = p;
	atomic_fetch_add(w->ready, 1);
	while (atomic_load(w->ready) < NM)
		;
	for (long i = 0; i < w->sys_rounds; i++)
		systemstack("worker", worker_g0, w);
	switch_m(&w->sw);
}

static void test_many_ms(void)
{
	struct worker w[NM];
	sched_m m[NM];
	atomic_int ready = 0;

	for (int i = 0; i < NM; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].sw.rounds = 20000 + i;
		switcher_expect(&w[i].sw);
		w[i].sys_rounds = 20000;
		w[i].ready = &ready;
		m[i] = (sched_m){ .id = 10 + i };
		CU_ASSERT_FATAL(sched_newosproc(&m[i], 8192 * (size_t)(i + 1), 0, worker_m, &w[i]) == 0);
	}
	for (int i = 0; i < NM; i++)
		sched_mjoin(&m[i]);
	for (int i = 0; i < NM; i++) {
		CU_ASSERT_EQUAL(w[i].sys_bad, 0);
		CU_ASSERT_EQUAL(w[i].sw.bad_sp, 0);
		CU_ASSERT_EQUAL(w[i].sw.on_g0, w[i].sw.rounds);
		CU_ASSERT_EQUAL(w[i].sw.result, w[i].sw.expected);
	}
}

/* --------------------------------------------------------- high water */

struct water {
	size_t start, after_deep, after_repaint, after_small;
};

__attribute__((noinline)) static void deep_g0(void *p)
{
	volatile char buf[6000];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (char)i;
	*(volatile char *)p = buf[17];
}

static void small_g0(void *p)
{
	*(volatile char *)p = 1;
}

static void water_m(void *p)
{
	struct water *w = p;
	sched_m *m = sched_mself;
	char sink;
	w->start = sched_g0_high_water(m);
	systemstack("deep", deep_g0, &sink);
	w->after_deep = sched_g0_high_water(m);
	sched_g0_repaint(m);
	w->after_repaint = sched_g0_high_water(m);
	systemstack("small", small_g0, &sink);
	w->after_small = sched_g0_high_water(m);
}

static void test_high_water(void)
{
	struct water w;
	run_on_m(1, 0, 0, water_m, &w);
	CU_ASSERT_EQUAL(w.start, 0);
	CU_ASSERT_TRUE(w.after_deep >= 6000);
	CU_ASSERT_TRUE(w.after_deep <= SCHED_SYSSTACK_DEFAULT);
	CU_ASSERT_EQUAL(w.after_repaint, 0);
	CU_ASSERT_TRUE(w.after_small > 0);
	CU_ASSERT_TRUE(w.after_small < w.after_deep);
}

/* ---------------------------------------------------- overflow reports */

/*
 * Run body in a child process with stderr into a pipe; return its wait
 * status and what it wrote.
 */
static int in_child(void (*body)(void), char *out, size_t cap)
{
	int fd[2];
	CU_ASSERT_FATAL(pipe(fd) == 0);
	fflush(NULL);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		close(fd[0]);
		dup2(fd[1], STDERR_FILENO);
		body();
		_exit(0);
	}
	close(fd[1]);
	size_t n = 0;
	ssize_t r;
	while (n + 1 < cap && (r = read(fd[0], out + n, cap - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fd[0]);
	int status;
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	return status;
}

__attribute__((noinline)) static void big_frame(void *p)
{
	volatile char buf[8192];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (char)i;
	*(volatile char *)p = buf[100];
}

static void g0_overflow_m(void *p)
{
	(void)p;
	char sink;
	systemstack("trace stack dump", big_frame, &sink);
}

static void g0_overflow_child(void)
{
	run_on_m(3, 4096, 0, g0_overflow_m, NULL);
}

static void test_g0_overflow(void)
{
	char out[4096];
	int status = in_child(g0_overflow_child, out, sizeof out);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "fatal error: system stack overflow\n"));
	CU_ASSERT_PTR_NOT_NULL(
	    strstr(out, "M 3: g0 stack of 4096 bytes overflowed during \"trace stack dump\"\n"));
}

static volatile int never = -1;

/* Recurse with 512-byte frames until the stack runs out. */
__attribute__((noinline)) static int recurse(int n)
{
	volatile char pad[512];
	pad[0] = (char)n;
	if (n == never)
		return 0;
	return recurse(n + 1) + pad[0];
}

static void mstack_overflow_m(void *p)
{
	(void)p;
	never = recurse(0);
}

static void mstack_overflow_child(void)
{
	run_on_m(4, 0, 64 * 1024, mstack_overflow_m, NULL);
}

static void test_mstack_overflow(void)
{
	char out[4096];
	int status = in_child(mstack_overflow_child, out, sizeof out);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "fatal error: M stack overflow\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "M 4: M stack of 65536 bytes overflowed\n"));
}

/*
 * The M stack has reached into the (idle) g0 but not yet the guard; a
 * switch to g0 now would overwrite live frames, so systemstack refuses.
 */
__attribute__((noinline)) static void into_g0(int n)
{
	volatile char pad[256];
	sched_m *m = sched_mself;
	pad[0] = (char)n;
	if (sched_getsp() < (uintptr_t)m->g0_hi - 1024) {
		char sink;
		systemstack("too late", small_g0, &sink);
		return;
	}
	into_g0(n + pad[0] * 0 + 1);
	pad[1] = 0;
}

static void into_g0_m(void *p)
{
	(void)p;
	into_g0(0);
}

static void into_g0_child(void)
{
	run_on_m(5, 0, 64 * 1024, into_g0_m, NULL);
}

static void test_mstack_into_g0(void)
{
	char out[4096];
	int status = in_child(into_g0_child, out, sizeof out);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "M 5: M stack of 65536 bytes overflowed\n"));
}

/* A fault that is not a guard-page hit is not ours to report. */
static volatile uintptr_t wild_addr = 16; /* not mapped */

static void wild_m(void *p)
{
	(void)p;
	*(volatile int *)wild_addr = 1;
}

static void wild_child(void)
{
	run_on_m(7, 0, 0, wild_m, NULL);
}

static void test_other_fault(void)
{
	char out[8192];
	int status = in_child(wild_child, out, sizeof out);
	CU_ASSERT_PTR_NULL(strstr(out, "stack overflow"));
#ifdef __SANITIZE_ADDRESS__
	/* chained to ASan's handler, which reports and exits 1 */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "AddressSanitizer: SEGV"));
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1);
#else
	CU_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
#endif
}

static void assert_off_g0_m(void *p)
{
	(void)p;
	sched_assert_on_g0();
}

static void assert_child(void)
{
	run_on_m(6, 0, 0, assert_off_g0_m, NULL);
}

static void test_assert_on_g0(void)
{
	char out[4096];
	int status = in_child(assert_child, out, sizeof out);
#ifdef GREENVM_DEBUG
	CU_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "fatal error: assert_off_g0_m must run on g0"));
#else
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0); /* compiled out */
#endif
}

/* ----------------------------------------------------------- Boehm GC */

#define OBJ_WORDS 8
#define OBJ_MARK 0x6a09e667f3bcc908ull


static void on_finalize(void *obj, void *counter)
{
	(void)obj;
	atomic_fetch_add((atomic_int *)counter, 1);
}

/* A marked object with a finalizer that counts into counter. */
__attribute__((noinline)) static uint64_t *new_obj(atomic_int *counter)
{
	uint64_t *o = GC_MALLOC(OBJ_WORDS * sizeof *o);
	for (int i = 0; i < OBJ_WORDS; i++)
		o[i] = OBJ_MARK + (uint64_t)i;
	GC_REGISTER_FINALIZER(o, on_finalize, counter, NULL, NULL);
	return o;
}

static bool obj_intact(const uint64_t *o)
{
	for (int i = 0; i < OBJ_WORDS; i++)
		if (o[i] != OBJ_MARK + (uint64_t)i)
			return false;
	return true;
}

/* Wipe dead frames below us, so no stale copy of a pointer survives there. */
__attribute__((noinline)) static void wipe_stack(void)
{
	volatile char buf[4096];
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = 0;
}

static void collect_and_churn(void)
{
	for (int i = 0; i < 3; i++)
		GC_gcollect();
	GC_invoke_finalizers();
	for (int i = 0; i < 20000; i++) /* reuse freed objects of this size */
		(void)GC_MALLOC(OBJ_WORDS * sizeof(uint64_t));
}

/*
 * Boehm's collector needs far more stack than a g0 has (it also zeroes
 * stack below itself), which is one reason g0 code must not allocate.
 * This test collects on g0 anyway, so it gives the M a large one.
 */
#define GC_G0 SCHED_SYSSTACK_MAX

static void collect_on_g0(void *p)
{
	(void)p;
	collect_and_churn();
}

struct gc_case {
	bool intact;            /* the kept object still held its contents */
	atomic_int *on_g0;      /* set while the M waits on g0 */
	atomic_int *done;       /* set by the collecting thread */
	size_t g0_used;         /* g0 high-water mark after the test */
	atomic_int kept_finalized;    /* finalizer runs of the kept object */
	atomic_int dropped_finalized; /* finalizer runs of the control object */
};

static void gc_self_m(void *p)
{
	struct gc_case *c = p;
	/* Only the M-stack frame (a volatile slot) refers to kept. */
	uint64_t *volatile kept = new_obj(&c->kept_finalized);
	wipe_stack();
	/* A control object nobody refers to: it must be finalized. */
	(void)new_obj(&c->dropped_finalized);
	wipe_stack();
	systemstack("gc test", collect_on_g0, NULL);
	c->intact = obj_intact(kept);
	c->g0_used = sched_g0_high_water(sched_mself);
}

static void test_gc_from_g0(void)
{
	static struct gc_case c; /* outlives the test: finalizers may run later */
	run_on_m(1, GC_G0, 0, gc_self_m, &c);
	printf("(g0 used by GC_gcollect: %zu bytes) ", c.g0_used);
	CU_ASSERT_TRUE(c.intact);
	CU_ASSERT_EQUAL(atomic_load(&c.kept_finalized), 0);
	/* The control shows that a lost object is noticed. */
	CU_ASSERT_EQUAL(atomic_load(&c.dropped_finalized), 1);
}

static void wait_on_g0(void *p)
{
	struct gc_case *c = p;
	atomic_store(c->on_g0, 1);
	while (atomic_load(c->done) == 0)
		;
}

static void gc_other_m(void *p)
{
	struct gc_case *c = p;
	uint64_t *volatile kept = new_obj(&c->kept_finalized);
	wipe_stack();
	systemstack("gc wait", wait_on_g0, c);
	c->intact = obj_intact(kept);
	c->g0_used = sched_g0_high_water(sched_mself);
}

static void test_gc_while_on_g0(void)
{
	static atomic_int on_g0, done;
	static struct gc_case c; /* outlives the test: finalizers may run later */
	c.on_g0 = &on_g0;
	c.done = &done;
	sched_m m = { .id = 2 };
	CU_ASSERT_FATAL(sched_newosproc(&m, 0, 0, gc_other_m, &c) == 0);
	while (atomic_load(&on_g0) == 0)
		;
	collect_and_churn(); /* stops the M while it is on g0 */
	atomic_store(&done, 1);
	sched_mjoin(&m);
	printf("(g0 used while stopped by the GC: %zu bytes; signal frame %zu) ", c.g0_used,
	       sched_signal_frame());
	/* The reserve every g0 keeps for a signal holds this one: the kernel's
	 * frame, the collector's handler, and the few hundred bytes of this
	 * test's own frames on g0 (wait_on_g0 and the switch). */
	CU_ASSERT_TRUE(c.g0_used <= sched_signal_reserve() + 512);
	CU_ASSERT_TRUE(c.g0_used > sched_signal_frame()); /* the signal landed on g0 */
	CU_ASSERT_TRUE(c.intact);
	CU_ASSERT_EQUAL(atomic_load(&c.kept_finalized), 0);
}

int main(void)
{
	sched_osinit();
	return unit_run("stack", NULL, NULL, (const unit_test[]){
		{"systemstack runs on g0, nested too", test_systemstack_sp},
		{"sysstack sizes", test_sysstack_sizes},
		{"mcall/gogo 100000 round trips", test_mcall_gogo},
		{"several Ms at once", test_many_ms},
		{"g0 high-water mark", test_high_water},
		{"g0 overflow report", test_g0_overflow},
		{"M stack overflow report", test_mstack_overflow},
		{"M stack reaching into g0", test_mstack_into_g0},
		{"other faults die as usual", test_other_fault},
		{"sched_assert_on_g0", test_assert_on_g0},
		{"GC from g0 keeps M-stack objects", test_gc_from_g0},
		{"GC while an M is on g0", test_gc_while_on_g0},
		{NULL, NULL}});
}
