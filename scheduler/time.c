/* time.c: timers: each P keeps its sleeping Gs in a min-heap on wake-up time.
 *
 * As in Go, a timer lives on the P of the G that started it; any M that
 * looks for work runs the due timers of every P (findrunnable), so a timer
 * fires even when its P is idle.  Idle Ms sleep until the earliest timer of
 * all Ps (sched_next_timer).  Greenvm's timers only wake sleeping Gs; select
 * timeouts are built in bytecode from a sleeping G and a channel.
 */
#include <stdlib.h>

#include "scheduler/runtime.h"

static void heap_swap(sched_g **h, uint32_t i, uint32_t j)
{
	sched_g *t = h[i];
	h[i] = h[j];
	h[j] = t;
}

static void sift_up(sched_g **h, uint32_t i)
{
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (h[parent]->when <= h[i]->when)
			break;
		heap_swap(h, i, parent);
		i = parent;
	}
}

static void sift_down(sched_g **h, uint32_t n, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && h[l]->when < h[m]->when)
			m = l;
		if (r < n && h[r]->when < h[m]->when)
			m = r;
		if (m == i)
			return;
		heap_swap(h, i, m);
		i = m;
	}
}

/* Add sleeping g (g->when set) to pp's heap.  Uses malloc, not the GC heap,
 * so it may run on g0. */
void sched_timer_add(sched_p *pp, sched_g *g)
{
	pthread_mutex_lock(&pp->timerslock);
	if (pp->ntimers == pp->captimers) {
		uint32_t nc = pp->captimers ? pp->captimers * 2 : 64;
		sched_g **nt = realloc(pp->timers, nc * sizeof *nt);
		if (!nt)
			sched_throw("out of memory growing a timer heap");
		pp->timers = nt;
		pp->captimers = nc;
	}
	pp->timers[pp->ntimers] = g;
	sift_up(pp->timers, pp->ntimers++);
	atomic_store(&pp->timer0when, pp->timers[0]->when);
	pthread_mutex_unlock(&pp->timerslock);
}

int64_t sched_check_timers(sched_p *pp, int64_t now)
{
	/* Collect due Gs under the lock, ready them after: sched_ready takes
	 * other locks, and the lock order puts timer locks last. */
	sched_g *due = NULL;
	pthread_mutex_lock(&pp->timerslock);
	while (pp->ntimers && pp->timers[0]->when <= now) {
		sched_g *g = pp->timers[0];
		pp->timers[0] = pp->timers[--pp->ntimers];
		sift_down(pp->timers, pp->ntimers, 0);
		g->schedlink = due;
		due = g;
	}
	int64_t next = pp->ntimers ? pp->timers[0]->when : 0;
	atomic_store(&pp->timer0when, next);
	pthread_mutex_unlock(&pp->timerslock);
	/* due holds the popped Gs latest first (each was pushed on its head):
	 * reverse it, and ready them in the order the heap gave them. */
	sched_g *rev = NULL;
	while (due) {
		sched_g *n = due->schedlink;
		due->schedlink = rev;
		rev = due;
		due = n;
	}
	while (rev) {
		sched_g *n = rev->schedlink;
		sched_ready(rev);
		rev = n;
	}
	return next;
}

int64_t sched_next_timer(void)
{
	int64_t next = 0;
	for (int i = 0; i < sched.nprocs; i++) {
		int64_t w = atomic_load(&sched.allp[i].timer0when);
		if (w && (next == 0 || w < next))
			next = w;
	}
	return next;
}
