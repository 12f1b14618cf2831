/* switch.c: systemstack, mcall and gogo, the C half of switch_<arch>.S; g0's paint, which measures them.
 *
 * Go's systemstack, mcall and gogo are assembly (asm_amd64.s); greenvm's
 * assembly only moves the stack pointer and the registers (switch_amd64.S,
 * switch_arm64.S), and the rest is here: which M, whether it is on g0
 * already, the checks, AddressSanitizer's bookkeeping, --stack-stats.
 *
 * Where the saved context lives.  mcall saves the M stack's callee-saved
 * registers (a sched_gobuf) in its own frame, on the M stack, and the M
 * points to it until gogo restores it.  The registers may hold the only
 * pointer to a GC object (a caller up the M stack keeps it there across
 * the call), so they must be where the collector looks: it scans the
 * thread's stack from the stack pointer up, which covers that frame
 * while the M runs on g0 (os_linux.c), but not the M, which is C memory.
 * Go keeps a G's saved context in the G (g.sched); a greenvm G has no C
 * stack, and the context is the M's.
 */
#include "scheduler/runtime.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/common_interface_defs.h>
#endif

/*
 * Bytes that must stay free between the M's stack pointer and g0 when it
 * switches: the frames live across the switch (systemstack's own and the
 * assembly's) sit just above the stack pointer at the check.
 */
#define SCHED_SWITCH_ROOM 256u
/* What an unused word of g0 holds, for the high-water mark. */
#define SCHED_G0_PAINT ((uintptr_t)0x9e9e9e9e9e9e9e9eull)

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

__attribute__((no_sanitize_address)) size_t sched_g0_high_water(const sched_m *m)
{
	const volatile uintptr_t *w = (const volatile uintptr_t *)m->g0_lo;

	while ((const char *)w < m->g0_hi && *w == SCHED_G0_PAINT)
		w++;
	return (size_t)(m->g0_hi - (const char *)w);
}

bool sched_stack_stats;

/* Record that operation op used g0 down to the lowest repainted word. */
__attribute__((no_sanitize_address)) static void sched_opstat_end(sched_m *m, const char *op)
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
static void sched_opstat_begin(sched_m *m, char *sp)
{
	char *hi = sp > m->g0_lo && sp <= m->g0_hi ? sp - 128 : m->g0_hi;
	if (hi > m->g0_lo)
		sched_paint(m->g0_lo, hi);
}

void sched_g0_repaint(sched_m *m)
{
	if (m->on_g0)
		sched_throw("sched_g0_repaint called while the M is on g0");
	sched_paint(m->g0_lo, m->g0_hi);
}

/* ------------------------------------------------------------ switching */

/* The current M, or a fatal error naming the caller. */
static sched_m *sched_curm(const char *who)
{
	sched_m *m = sched_mself;

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
static inline void sched_check_mstack_room(sched_m *m)
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
	sched_m *m = sched_curm("systemstack");

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
	sched_m *m = p;

	sched_asan_finish(NULL, &m->asan_mstack_bottom, &m->asan_mstack_size);
	m->mcall_fn(m->mcall_arg);
	sched_throw("mcall: fn returned instead of calling gogo");
}

void mcall(const char *op, void (*fn)(void *), void *arg)
{
	sched_m *m = sched_curm("mcall");
	sched_gobuf buf; /* on the M stack, where the collector looks (above) */

	if (m->on_g0)
		sched_throw("mcall called on g0"); /* Go: "mcall called on m->g0 stack" */
	sched_check_mstack_room(m);
	if (sched_stack_stats)
		sched_opstat_begin(m, NULL);
	m->mcall_fn = fn;
	m->mcall_arg = arg;
	m->op = op;
	m->gobuf = &buf;
	m->on_g0 = true;
	sched_asan_start(&m->asan_fake_stack, m->g0_lo, m->sysstack);
	sched_mcall_switch(&buf, m->g0_hi, sched_mcall_g0, m);
	/* gogo brought us back here, on the M stack. */
	sched_asan_finish(m->asan_fake_stack, NULL, NULL);
}

void gogo(void)
{
	sched_m *m = sched_curm("gogo");
	sched_gobuf *buf = m->gobuf;

	if (!m->on_g0 || buf == NULL)
		sched_throw("gogo without a pending mcall on this M");
	m->gobuf = NULL;
	if (sched_stack_stats && m->op)
		sched_opstat_end(m, m->op);
	sched_asan_start(NULL, m->asan_mstack_bottom, m->asan_mstack_size);
	m->op = NULL;
	m->on_g0 = false;
	sched_gogo(buf);
}

void sched_assert_on_g0_at(const char *func)
{
	sched_m *m = sched_mself;
	uintptr_t sp = sched_getsp();

	if (m != NULL && sp >= (uintptr_t)m->g0_lo && sp < (uintptr_t)m->g0_hi)
		return;
	fprintf(stderr, "fatal error: %s must run on g0 (sp %#lx", func, (unsigned long)sp);
	if (m != NULL)
		fprintf(stderr, ", M %lld's g0 is [%p, %p)", (long long)m->id, (void *)m->g0_lo,
			(void *)m->g0_hi);
	else
		fprintf(stderr, ", not on an M");
	fprintf(stderr, ")\n");
	abort();
}

/* The gobuf layout the assembly uses must match the C type. */
_Static_assert(sizeof(sched_gobuf) == SCHED_GOBUF_WORDS * sizeof(uintptr_t), "gobuf size");
