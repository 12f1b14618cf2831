/* chan.c: channels and select, after Go's chan.go and select.go.
 *
 * A channel is a ring buffer of 16-byte elements and two queues of waiting
 * Gs (sudogs), under one lock.  A sender that finds a waiting receiver
 * copies its value straight into the receiver's slot and readies it (and
 * the other way round): the parked G never runs code to finish its own
 * operation, which is why it needs no C stack.  Only two things are left
 * for a G to do when it runs again, and the VM does them: note a receive's
 * ok flag, and (after a select) take itself off the channels it lost on.
 *
 * Lock order: channel locks in address order (select takes several), then
 * a P's timer lock, then sched.lock.
 */
#include <stdlib.h>
#include <string.h>

#include "gc/gc.h"
#include "scheduler/runtime.h"

typedef struct waitq {
	sched_sudog *first, *last;
} waitq;

struct sched_chan {
	/* guards everything below */
	sched_lock lock;
	/* elements in the buffer, and its capacity (0: unbuffered) */
	uint64_t qcount, dataqsiz;
	/* the buffer: dataqsiz elements of SCHED_ELEM_SIZE bytes (GC heap) */
	uint8_t *buf;
	/* next slot to send into and to receive from */
	uint64_t sendx, recvx;
	/* set once by close */
	bool closed;
	/* blocked receivers and senders, oldest first */
	waitq recvq, sendq;
};

sched_chan *sched_chan_new(int64_t cap)
{
	sched_chan *c = gc_alloc(sizeof *c);
	c->dataqsiz = (uint64_t)cap;
	if (cap > 0) {
		c->buf = gc_alloc((size_t)cap * SCHED_ELEM_SIZE);
	}
	return c;
}

static void enqueue(waitq *q, sched_sudog *sg)
{
	sg->next = NULL;
	sg->prev = q->last;
	if (q->last)
		q->last->next = sg;
	else
		q->first = sg;
	q->last = sg;
	sg->queued = true;
}

static void remove_sudog(waitq *q, sched_sudog *sg)
{
	if (sg->prev)
		sg->prev->next = sg->next;
	else
		q->first = sg->next;
	if (sg->next)
		sg->next->prev = sg->prev;
	else
		q->last = sg->prev;
	sg->next = sg->prev = NULL;
	sg->queued = false;
}

/* The oldest waiter that can still be completed.  A select's sudog is
 * skipped if another of its cases already won (Go's selectDone CAS). */
static sched_sudog *dequeue(waitq *q)
{
	for (;;) {
		sched_sudog *sg = q->first;
		if (!sg)
			return NULL;
		remove_sudog(q, sg);
		uint32_t zero = 0;
		if (sg->index >= 0 && !atomic_compare_exchange_strong(&sg->g->selectdone, &zero, 1))
			continue;
		return sg;
	}
}

static uint8_t *slot(sched_chan *c, uint64_t i)
{
	return c->buf + i * SCHED_ELEM_SIZE;
}

/* Completes sg's operation: the G is readied once the lock is released. */
static void complete(sched_sudog *sg, bool success)
{
	sg->success = success;
	sg->g->param = sg;
}

/* Send on a locked, open channel if that can be done now. */
static bool trysend(sched_chan *c, const void *elem, sched_g **wake)
{
	sched_sudog *sg = dequeue(&c->recvq);
	if (sg) { /* a receiver waits: hand the value straight over */
		memcpy(sg->elem, elem, SCHED_ELEM_SIZE);
		complete(sg, true);
		*wake = sg->g;
		return true;
	}
	if (c->qcount < c->dataqsiz) {
		memcpy(slot(c, c->sendx), elem, SCHED_ELEM_SIZE);
		c->sendx = (c->sendx + 1) % c->dataqsiz;
		c->qcount++;
		return true;
	}
	return false;
}

/* Receive from a locked channel if that can be done now. */
static bool tryrecv(sched_chan *c, void *elem, bool *ok, sched_g **wake)
{
	sched_sudog *sg = dequeue(&c->sendq);
	if (sg) {
		if (c->dataqsiz == 0) {
			memcpy(elem, sg->elem, SCHED_ELEM_SIZE);
		} else {
			/* The buffer is full: take its head, and put the sender's
			 * value at its tail (which is the same slot). */
			memcpy(elem, slot(c, c->recvx), SCHED_ELEM_SIZE);
			memcpy(slot(c, c->recvx), sg->elem, SCHED_ELEM_SIZE);
			c->recvx = (c->recvx + 1) % c->dataqsiz;
			c->sendx = c->recvx;
		}
		complete(sg, true);
		*wake = sg->g;
		*ok = true;
		return true;
	}
	if (c->qcount > 0) {
		memcpy(elem, slot(c, c->recvx), SCHED_ELEM_SIZE);
		memset(slot(c, c->recvx), 0, SCHED_ELEM_SIZE);
		c->recvx = (c->recvx + 1) % c->dataqsiz;
		c->qcount--;
		*ok = true;
		return true;
	}
	if (c->closed) {
		memset(elem, 0, SCHED_ELEM_SIZE);
		*ok = false;
		return true;
	}
	return false;
}

/* Queue the current G's own sudog on q; the caller keeps c locked. */
static int block_on(sched_chan *c, waitq *q, void *elem)
{
	sched_g *g = sched_curg();
	sched_sudog *sg = &g->sudog;
	*sg = (sched_sudog){ .g = g, .c = c, .elem = elem, .index = -1 };
	g->param = NULL;
	g->selecting = false;
	g->parklock = &c->lock;
	enqueue(q, sg);
	return CHAN_BLOCK;
}

int sched_chan_send(sched_chan *c, const void *elem)
{
	sched_g *wake = NULL;
	if (!c) { /* blocks forever */
		sched_curg()->parklock = NULL;
		sched_curg()->selecting = false;
		return CHAN_BLOCK;
	}
	sched_lock_acquire(&c->lock);
	if (c->closed) {
		sched_lock_release(&c->lock);
		return CHAN_ERR_CLOSED;
	}
	if (!trysend(c, elem, &wake))
		return block_on(c, &c->sendq, (void *)elem);
	sched_lock_release(&c->lock);
	if (wake)
		sched_ready(wake);
	return CHAN_OK;
}

int sched_chan_recv(sched_chan *c, void *elem, bool *ok)
{
	sched_g *wake = NULL;
	if (!c) {
		sched_curg()->parklock = NULL;
		sched_curg()->selecting = false;
		return CHAN_BLOCK;
	}
	sched_lock_acquire(&c->lock);
	if (!tryrecv(c, elem, ok, &wake))
		return block_on(c, &c->recvq, elem);
	sched_lock_release(&c->lock);
	if (wake)
		sched_ready(wake);
	return CHAN_OK;
}

int sched_chan_close(sched_chan *c)
{
	if (!c)
		return CHAN_ERR_CLOSE_NIL;
	sched_lock_acquire(&c->lock);
	if (c->closed) {
		sched_lock_release(&c->lock);
		return CHAN_ERR_CLOSE_CLOSED;
	}
	c->closed = true;
	/* Every waiter is released: receivers with a zero value and ok false,
	 * senders with an error that makes them panic when they run. */
	sched_g *wake = NULL;
	sched_sudog *sg;
	while ((sg = dequeue(&c->recvq))) {
		memset(sg->elem, 0, SCHED_ELEM_SIZE);
		complete(sg, false);
		sg->g->schedlink = wake;
		wake = sg->g;
	}
	while ((sg = dequeue(&c->sendq))) {
		complete(sg, false);
		if (sg->index < 0)
			sg->g->resume_err = CHAN_ERR_CLOSED;
		sg->g->schedlink = wake;
		wake = sg->g;
	}
	sched_lock_release(&c->lock);
	while (wake) {
		sched_g *next = wake->schedlink;
		sched_ready(wake);
		wake = next;
	}
	return CHAN_OK;
}

/* ------------------------------------------------------------------ */
/* select                                                             */
/* ------------------------------------------------------------------ */

/* Lock the distinct channels of cases, taken in the order lockorder gives
 * (sorted by address, so two selects never deadlock). */
static void sellock(sched_scase *cases, const uint8_t *lockorder, int n)
{
	sched_chan *prev = NULL;
	for (int i = 0; i < n; i++) {
		sched_chan *c = cases[lockorder[i]].c;
		if (c && c != prev)
			sched_lock_acquire(&c->lock);
		prev = c;
	}
}

static void selunlock(sched_scase *cases, const uint8_t *lockorder, int n)
{
	sched_chan *prev = NULL;
	for (int i = 0; i < n; i++) {
		sched_chan *c = cases[lockorder[i]].c;
		if (c && c != prev)
			sched_lock_release(&c->lock);
		prev = c;
	}
}

int sched_select(sched_scase *cases, int n, bool block, bool *ok)
{
	sched_g *g = sched_curg();
	uint8_t pollorder[SCHED_SELECT_MAX], lockorder[SCHED_SELECT_MAX];
	if (n > SCHED_SELECT_MAX)
		sched_throw("select: more cases than SCHED_SELECT_MAX");

	/* A random poll order makes the choice among ready cases fair. */
	for (int i = 0; i < n; i++) {
		int j = (int)(sched_fastrand() % (uint64_t)(i + 1));
		pollorder[i] = pollorder[j];
		pollorder[j] = (uint8_t)i;
	}
	/* Lock order: by channel address (insertion sort: n is small). */
	for (int i = 0; i < n; i++) {
		int j = i;
		while (j > 0 && (uintptr_t)cases[lockorder[j - 1]].c > (uintptr_t)cases[i].c) {
			lockorder[j] = lockorder[j - 1];
			j--;
		}
		lockorder[j] = (uint8_t)i;
	}

	sellock(cases, lockorder, n);
	/* Pass 1: a case that can proceed now. */
	for (int k = 0; k < n; k++) {
		int i = pollorder[k];
		sched_scase *cs = &cases[i];
		sched_g *wake = NULL;
		if (!cs->c)
			continue;
		if (cs->send) {
			if (cs->c->closed) {
				selunlock(cases, lockorder, n);
				return -CHAN_ERR_CLOSED;
			}
			if (!trysend(cs->c, cs->elem, &wake))
				continue;
		} else if (!tryrecv(cs->c, cs->elem, ok, &wake)) {
			continue;
		}
		selunlock(cases, lockorder, n);
		if (wake)
			sched_ready(wake);
		return i;
	}
	if (!block) {
		selunlock(cases, lockorder, n);
		return -1;
	}

	/* Pass 2: wait on every channel, with one sudog per case. */
	if (g->nselsudogs < (uint32_t)n) {
		/* Uncollectable: channels and G pointers in them must be seen by
		 * the collector; kept with the G for its next select. */
		gc_free(g->selsudogs);
		g->selsudogs = gc_alloc_uncollectable(SCHED_SELECT_MAX * sizeof *g->selsudogs);
		g->nselsudogs = SCHED_SELECT_MAX;
	}
	g->param = NULL;
	atomic_store(&g->selectdone, 0);
	g->selecting = true;
	g->parklock = NULL;
	g->nselactive = (uint32_t)n;
	for (int k = 0; k < n; k++) {
		int i = lockorder[k];
		sched_sudog *sg = &g->selsudogs[k];
		*sg = (sched_sudog){ .g = g, .c = cases[i].c, .elem = cases[i].elem, .index = i,
				     .send = cases[i].send };
		if (!sg->c)
			continue;
		enqueue(cases[i].send ? &sg->c->sendq : &sg->c->recvq, sg);
	}
	/* The channels stay locked; sched_block releases them once parked. */
	return SCHED_SELECT_BLOCK;
}

/* Lock (or release) the channels of g's select sudogs, which are in lock
 * order, each distinct channel once. */
static void select_locks(sched_g *g, bool lock)
{
	sched_chan *prev = NULL;
	for (uint32_t k = 0; k < g->nselactive; k++) {
		sched_chan *c = g->selsudogs[k].c;
		if (c && c != prev) {
			if (lock)
				sched_lock_acquire(&c->lock);
			else
				sched_lock_release(&c->lock);
		}
		prev = c;
	}
}

/* Release the channels a blocked select holds, in lock order.  Runs on g0
 * from park.  Once the first is released the G may be readied, but it
 * cannot change its sudogs before it locks every channel again
 * (sched_select_resume), so reading them here stays safe. */
static void select_unlock(sched_g *g)
{
	select_locks(g, false);
}

int sched_select_resume(bool *ok)
{
	sched_g *g = sched_curg();
	sched_sudog *won = g->param;
	select_locks(g, true);
	for (uint32_t k = 0; k < g->nselactive; k++) {
		sched_sudog *sg = &g->selsudogs[k];
		if (sg != won && sg->queued) {
			sched_chan *c = sg->c;
			remove_sudog(sg->send ? &c->sendq : &c->recvq, sg);
		}
	}
	select_locks(g, false);
	g->selecting = false;
	g->nselactive = 0;
	*ok = won->success;
	return won->index;
}

static void block_unlock(void *arg)
{
	sched_g *g = arg;
	if (g->selecting)
		select_unlock(g);
	else if (g->parklock)
		sched_lock_release(g->parklock);
}

void sched_block(int reason, int ev)
{
	sched_park(block_unlock, sched_curg(), reason, ev);
}
