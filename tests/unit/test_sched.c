/* test_sched.c: units of the scheduler: local run queues, the global queue, stealing, timers. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "scheduler/runtime.h"
#include "tests/unit/unit.h"

/* Gs made here only carry an id; the queues never look inside.  They come
 * from one pool, freed when the suite ends. */
#define POOL_GS 400000
static sched_g *pool;
static size_t pool_used;

static sched_g *mkg(int64_t id)
{
	if (pool_used == POOL_GS)
		abort();
	sched_g *g = &pool[pool_used++];
	memset(g, 0, sizeof *g);
	g->goid = id;
	return g;
}

static int pool_init(void)
{
	pool = calloc(POOL_GS, sizeof *pool);
	return pool ? 0 : -1;
}

static int pool_free(void)
{
	free(pool);
	return 0;
}

static void reset_p(sched_p *pp, int id)
{
	memset(pp, 0, sizeof *pp);
	pp->id = id;
	pthread_mutex_init(&pp->timerslock, NULL);
}

/* A fake M holding pp, so code that asks "which P am I on" has an answer. */
static sched_m fake_m;

static void setup_world(sched_p *ps, int n)
{
	sched.nprocs = n;
	sched.allp = ps;
	for (int i = 0; i < n; i++)
		reset_p(&ps[i], i);
	memset(&fake_m, 0, sizeof fake_m);
	fake_m.p = &ps[0];
	fake_m.rand = 42;
	sched_mself = &fake_m;
	sched.runqhead = sched.runqtail = NULL;
	atomic_store(&sched.runqsize, 0);
	atomic_store(&sched.npidle, 0); /* every P busy: sched_ready wakes nobody */
}

/* sched_runqget without the inherit flag */
static sched_g *runqget(sched_p *pp)
{
	bool inherit;
	return sched_runqget(pp, &inherit);
}

static void test_runq_fifo_and_runnext(void)
{
	sched_p ps[1];
	bool inherit;
	setup_world(ps, 1);
	for (int i = 1; i <= 5; i++)
		sched_runqput(&ps[0], mkg(i), false);
	sched_runqput(&ps[0], mkg(100), true); /* runnext jumps the queue */
	/* ... and inherits the time slice; the queue's Gs start a new one */
	CU_ASSERT_EQUAL(sched_runqget(&ps[0], &inherit)->goid, 100);
	CU_ASSERT_TRUE(inherit);
	CU_ASSERT_EQUAL(sched_runqget(&ps[0], &inherit)->goid, 1);
	CU_ASSERT_FALSE(inherit);
	for (int i = 2; i <= 5; i++)
		CU_ASSERT_EQUAL(runqget(&ps[0])->goid, i);
	CU_ASSERT_PTR_NULL(runqget(&ps[0]));
	CU_ASSERT_TRUE(sched_runqempty(&ps[0]));

	/* A second runnext displaces the first to the tail. */
	sched_runqput(&ps[0], mkg(1), true);
	sched_runqput(&ps[0], mkg(2), true);
	CU_ASSERT_EQUAL(runqget(&ps[0])->goid, 2);
	CU_ASSERT_EQUAL(runqget(&ps[0])->goid, 1);
}

static void test_runq_overflow_to_global(void)
{
	sched_p ps[1];
	setup_world(ps, 1);
	int n = SCHED_RUNQ + 10;
	for (int i = 1; i <= n; i++)
		sched_runqput(&ps[0], mkg(i), false);
	/* Half the ring plus the one being put moved to the global queue. */
	CU_ASSERT_EQUAL(atomic_load(&sched.runqsize), SCHED_RUNQ / 2 + 1);
	int seen = 0;
	sched_g *g;
	while ((g = runqget(&ps[0])))
		seen++;
	pthread_mutex_lock(&sched.lock);
	while ((g = sched_globrunqget(&ps[0], 0))) {
		seen++;
		while (runqget(&ps[0]))
			seen++;
	}
	pthread_mutex_unlock(&sched.lock);
	CU_ASSERT_EQUAL(seen, n);
	CU_ASSERT_EQUAL(atomic_load(&sched.runqsize), 0);
}

static void test_steal_half(void)
{
	sched_p ps[2];
	setup_world(ps, 2);
	for (int i = 1; i <= 10; i++)
		sched_runqput(&ps[1], mkg(i), false);
	sched_g *g = sched_runqsteal(&ps[0], &ps[1], false);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	/* 5 taken: one returned, four now in ps[0]'s queue; 5 left in ps[1]. */
	int mine = 0, theirs = 0;
	while (runqget(&ps[0]))
		mine++;
	while (runqget(&ps[1]))
		theirs++;
	CU_ASSERT_EQUAL(mine, 4);
	CU_ASSERT_EQUAL(theirs, 5);

	/* Only runnext is left: it is stolen only when asked for. */
	sched_runqput(&ps[1], mkg(77), true);
	CU_ASSERT_PTR_NULL(sched_runqsteal(&ps[0], &ps[1], false));
	g = sched_runqsteal(&ps[0], &ps[1], true);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	CU_ASSERT_EQUAL(g->goid, 77);
}

/* A running P's runnext is taken only after a 3 µs back-off (Go's
 * runqgrab): its G has just readied it and is about to block.  An idle
 * P's is taken at once.  Only the lower bound is timed: a sleep is never
 * shorter than asked, whatever the machine's load. */
static void test_steal_runnext_backoff(void)
{
	sched_p ps[2];
	setup_world(ps, 2);
	atomic_store(&ps[1].status, P_RUNNING);
	sched_runqput(&ps[1], mkg(5), true);
	int64_t t0 = sched_nanotime();
	sched_g *g = sched_runqsteal(&ps[0], &ps[1], true);
	int64_t waited = sched_nanotime() - t0;
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	CU_ASSERT_EQUAL(g->goid, 5);
	CU_ASSERT(waited >= 3000);
	CU_ASSERT_PTR_NULL(atomic_load(&ps[1].runnext));
	atomic_store(&ps[1].status, P_IDLE);
}

/* Many thieves against one owner: every G is taken exactly once. */
#define STEAL_GS 200000
static sched_p race_ps[4];
static _Atomic int taken[STEAL_GS + 1];
static _Atomic bool producer_done;

static void *thief(void *arg)
{
	sched_p *mine = arg;
	for (;;) {
		sched_g *g = sched_runqsteal(mine, &race_ps[0], true);
		if (g)
			atomic_fetch_add(&taken[g->goid], 1);
		/* drain what we stole into our own queue (we own it) */
		while ((g = runqget(mine)))
			atomic_fetch_add(&taken[g->goid], 1);
		if (atomic_load(&producer_done) && sched_runqempty(&race_ps[0]))
			return NULL;
	}
}

static void test_steal_race(void)
{
	setup_world(race_ps, 4);
	atomic_store(&producer_done, false);
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, thief, &race_ps[i + 1]);
	for (int i = 1; i <= STEAL_GS; i++) {
		sched_runqput(&race_ps[0], mkg(i), (i % 7) == 0);
		if (i % 3 == 0) { /* the owner takes some too */
			sched_g *g = runqget(&race_ps[0]);
			if (g)
				atomic_fetch_add(&taken[g->goid], 1);
		}
	}
	sched_g *g;
	while ((g = runqget(&race_ps[0])))
		atomic_fetch_add(&taken[g->goid], 1);
	atomic_store(&producer_done, true);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	/* the overflow went to the global queue */
	pthread_mutex_lock(&sched.lock);
	for (sched_g *q = sched.runqhead; q; q = q->schedlink)
		atomic_fetch_add(&taken[q->goid], 1);
	sched.runqhead = sched.runqtail = NULL;
	atomic_store(&sched.runqsize, 0);
	pthread_mutex_unlock(&sched.lock);
	int bad = 0;
	for (int i = 1; i <= STEAL_GS; i++)
		bad += atomic_load(&taken[i]) != 1;
	CU_ASSERT_EQUAL(bad, 0);
}

static void test_timers_in_order(void)
{
	sched_p ps[1];
	setup_world(ps, 1);
	int64_t whens[] = { 50, 10, 40, 20, 30, 10 };
	int n = (int)(sizeof whens / sizeof whens[0]);
	for (int i = 0; i < n; i++) {
		sched_g *g = mkg(i + 1);
		g->when = whens[i];
		atomic_store(&g->status, G_WAITING);
		sched_timer_add(&ps[0], g);
	}
	CU_ASSERT_EQUAL(atomic_load(&ps[0].timer0when), 10);
	CU_ASSERT_EQUAL(sched_next_timer(), 10);
	/* At time 25 the two 10s and the 20 fire; 30 is next. */
	CU_ASSERT_EQUAL(sched_check_timers(&ps[0], 25), 30);
	int fired = 0;
	sched_g *g;
	while ((g = runqget(&ps[0]))) {
		CU_ASSERT_TRUE(g->when <= 25);
		CU_ASSERT_EQUAL(atomic_load(&g->status), G_RUNNABLE);
		fired++;
	}
	CU_ASSERT_EQUAL(fired, 3);
	CU_ASSERT_EQUAL(sched_check_timers(&ps[0], 1000), 0);
	fired = 0;
	while (runqget(&ps[0]))
		fired++;
	CU_ASSERT_EQUAL(fired, 3);
	CU_ASSERT_EQUAL(atomic_load(&ps[0].timer0when), 0);
	CU_ASSERT_EQUAL(sched_next_timer(), 0);
	free(ps[0].timers);
}

/* Ps, Ms and Gs own their cache lines (runtime.h, "False sharing"): P and
 * M by their type's alignment, a G and the VM's room after it because
 * sched_newg allocates them line-aligned, in lines no other G touches. */
static void test_cache_lines(void)
{
	CU_ASSERT_EQUAL(_Alignof(sched_p), SCHED_CACHE_LINE);
	CU_ASSERT_EQUAL(sizeof(sched_p) % SCHED_CACHE_LINE, 0);
	CU_ASSERT_EQUAL(_Alignof(sched_m), SCHED_CACHE_LINE);
	CU_ASSERT_EQUAL(sizeof(sched_m) % SCHED_CACHE_LINE, 0);
	sched_p ps[3];
	for (int i = 0; i < 3; i++) /* neighbours in allp never share a line */
		CU_ASSERT_EQUAL((uintptr_t)&ps[i] % SCHED_CACHE_LINE, 0);

	size_t saved = sched.cfg.gvmsize;
	sched.cfg.gvmsize = 40; /* the VM's registers, as vm_run asks */
	enum { NG = 64 };
	uintptr_t lo[NG], hi[NG];
	for (int i = 0; i < NG; i++) {
		sched_g *g = sched_newg(0);
		CU_ASSERT_EQUAL((uintptr_t)g % SCHED_CACHE_LINE, 0);
		CU_ASSERT_PTR_EQUAL(g->vm, g + 1);
		memset(g->vm, 0xcd, 40); /* ours to write */
		lo[i] = (uintptr_t)g / SCHED_CACHE_LINE;
		hi[i] = ((uintptr_t)g + sizeof *g + 40 - 1) / SCHED_CACHE_LINE;
	}
	int shared = 0;
	for (int i = 0; i < NG; i++)
		for (int j = 0; j < NG; j++)
			if (i != j && lo[j] <= hi[i] && lo[i] <= hi[j])
				shared++;
	CU_ASSERT_EQUAL(shared, 0);
	sched.cfg.gvmsize = saved;
}

int main(void)
{
	return unit_run("scheduler", pool_init, pool_free, (const unit_test[]){
		{"run queue: FIFO and runnext", test_runq_fifo_and_runnext},
		{"run queue: overflow to the global queue", test_runq_overflow_to_global},
		{"stealing half", test_steal_half},
		{"stealing runnext backs off", test_steal_runnext_backoff},
		{"stealing races: each G taken once", test_steal_race},
		{"timers fire in order", test_timers_in_order},
		{"P, M and G own their cache lines", test_cache_lines},
		{NULL, NULL}});
}
