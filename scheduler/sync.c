/* sync.c: mutexes and wait groups for goroutines (Go's sync.Mutex and sync.WaitGroup).
 *
 * Both park Gs in a list under a small lock: a mutex's waiters queue in
 * order (FIFO); a wait group's are a stack, all woken together when the
 * counter reaches zero.  Unlock hands the mutex
 * directly to the first waiter (Go's "starvation mode", always on), so a
 * woken G owns the mutex when it runs and does not compete again.
 */

#include "gc/gc.h"
#include "scheduler/runtime.h"

struct sched_mutex {
	/* guards the fields below */
	sched_lock lock;
	/* held by some G */
	bool locked;
	/* Gs waiting for it, oldest first, linked by g->waitlink */
	sched_g *head, *tail;
};

struct sched_waitgroup {
	sched_lock lock;
	/* Add's running total; Wait returns when it is zero */
	int64_t counter;
	/* Gs in Wait, linked by g->waitlink */
	sched_g *waiters;
};

sched_mutex *sched_mutex_new(void)
{
	return gc_alloc(sizeof(sched_mutex)); /* zeroed: unlocked, no waiters */
}

int sched_mutex_lock(sched_mutex *mu)
{
	sched_lock_acquire(&mu->lock);
	if (!mu->locked) {
		mu->locked = true;
		sched_lock_release(&mu->lock);
		return CHAN_OK;
	}
	sched_g *g = sched_curg();
	g->waitlink = NULL;
	if (mu->tail)
		mu->tail->waitlink = g;
	else
		mu->head = g;
	mu->tail = g;
	g->selecting = false;
	g->parklock = &mu->lock;
	return CHAN_BLOCK;
}

int sched_mutex_unlock(sched_mutex *mu)
{
	sched_lock_acquire(&mu->lock);
	if (!mu->locked) {
		sched_lock_release(&mu->lock);
		return -1;
	}
	sched_g *g = mu->head;
	if (g) { /* hand over: it stays locked, now by g */
		mu->head = g->waitlink;
		if (!mu->head)
			mu->tail = NULL;
	} else {
		mu->locked = false;
	}
	sched_lock_release(&mu->lock);
	if (g)
		sched_ready(g);
	return 0;
}

sched_waitgroup *sched_waitgroup_new(void)
{
	return gc_alloc(sizeof(sched_waitgroup)); /* zeroed: counter 0 */
}

int sched_waitgroup_add(sched_waitgroup *wg, int64_t delta)
{
	sched_lock_acquire(&wg->lock);
	if (wg->counter + delta < 0) {
		sched_lock_release(&wg->lock);
		return -1;
	}
	wg->counter += delta;
	sched_g *wake = wg->counter == 0 ? wg->waiters : NULL;
	if (wake)
		wg->waiters = NULL;
	sched_lock_release(&wg->lock);
	while (wake) {
		sched_g *next = wake->waitlink;
		sched_ready(wake);
		wake = next;
	}
	return 0;
}

int sched_waitgroup_wait(sched_waitgroup *wg)
{
	sched_lock_acquire(&wg->lock);
	if (wg->counter == 0) {
		sched_lock_release(&wg->lock);
		return CHAN_OK;
	}
	sched_g *g = sched_curg();
	g->waitlink = wg->waiters;
	wg->waiters = g;
	g->selecting = false;
	g->parklock = &wg->lock;
	return CHAN_BLOCK;
}
