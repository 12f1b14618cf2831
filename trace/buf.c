/* buf.c: the tracer's varints, clock, buffers and output.
 *
 * Buffers live in mmap'd memory and are recycled through a free list
 * (trace.empty), never freed until trace_stop.  A full buffer joins the
 * queue trace.full_head..full_tail; whoever queued it then writes the queue
 * to the output in order (write_full), so the output is written by
 * the thread that filled a buffer, on its system stack, at most 64 KiB at a
 * time.  Go hands full buffers to a reader goroutine instead; greenvm writes
 * them at once because it has no goroutine of its own to spare for it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "trace/trace_impl.h"

/* ---- varints (unsigned LEB128) ------------------------------------ */

int trace_varint_put(uint8_t *p, uint64_t v)
{
	int n = 0;
	for (; v >= 0x80; v >>= 7)
		p[n++] = (uint8_t)(0x80 | (v & 0x7f));
	p[n++] = (uint8_t)v;
	return n;
}

void trace_varint_fill(uint8_t *p, int width, uint64_t v)
{
	for (int i = 0; i < width - 1; i++, v >>= 7)
		p[i] = (uint8_t)(0x80 | (v & 0x7f));
	p[width - 1] = (uint8_t)(v & 0x7f);
}

int trace_varint_get(const uint8_t *p, size_t avail, uint64_t *v)
{
	uint64_t x = 0;
	for (int i = 0; i < TRACE_VARINT_MAX && (size_t)i < avail; i++) {
		x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*v = x;
			return i + 1;
		}
	}
	return 0;
}

/* ---- clock ---------------------------------------------------------- */

static int64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint64_t trace_cputicks(void)
{
#if defined(__x86_64__) || defined(__aarch64__)
	return trace_cycles();
#else
	return (uint64_t)monotonic_ns();
#endif
}

int64_t trace_nanotime(void)
{
	return trace.hooks.nanotime ? trace.hooks.nanotime() : monotonic_ns();
}

/* ---- the system stack ----------------------------------------------- */

void trace_systemstack(const char *what, void (*fn)(void *), void *arg)
{
	if (trace.hooks.systemstack)
		trace.hooks.systemstack(what, fn, arg);
	else
		fn(arg);
}

void trace_assert_on_g0_at(const char *func)
{
	if (trace.hooks.on_system_stack && !trace.hooks.on_system_stack()) {
		fprintf(stderr, "fatal error: %s must run on the system stack\n", func);
		abort();
	}
}

/* ---- output ---------------------------------------------------------- */

void trace_set_error(int err)
{
	if (trace.err == 0)
		trace.err = err;
}

/* Write p[0..n) to the output; after the first error, write nothing.
 * Called with write_lock held. */
static void write_all(const uint8_t *p, size_t n)
{
	while (n > 0 && trace.err == 0 && trace.fd >= 0) {
		ssize_t w = write(trace.fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			trace_set_error(w < 0 ? errno : EIO);
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

void trace_write_bytes(const void *p, size_t n)
{
	pthread_mutex_lock(&trace.write_lock);
	write_all(p, n);
	pthread_mutex_unlock(&trace.write_lock);
}

/* Write every queued buffer, oldest first, and recycle it.
 * write_lock makes the write order the queue order. */
TRACE_SYSTEMSTACK static void write_full(void)
{
	trace_assert_on_g0();
	pthread_mutex_lock(&trace.write_lock);
	for (;;) {
		pthread_mutex_lock(&trace.lock);
		trace_buf *b = trace.full_head;
		if (b) {
			trace.full_head = b->link;
			if (!trace.full_head)
				trace.full_tail = NULL;
		}
		pthread_mutex_unlock(&trace.lock);
		if (!b)
			break;
		write_all(b->arr, b->pos);
		pthread_mutex_lock(&trace.lock);
		b->link = trace.empty;
		trace.empty = b;
		pthread_mutex_unlock(&trace.lock);
	}
	pthread_mutex_unlock(&trace.write_lock);
}

/* Append buf to the full queue.  Called with trace.lock held. */
static void full_queue(trace_buf *buf)
{
	buf->link = NULL;
	if (trace.full_tail)
		trace.full_tail->link = buf;
	else
		trace.full_head = buf;
	trace.full_tail = buf;
}

struct flush_args {
	trace_buf *buf; /* the full buffer, or NULL */
	int32_t pid;    /* owner of the new buffer */
	trace_buf *ret; /* the new buffer */
	uint64_t last;  /* the full buffer's last tick, or 0 */
};

TRACE_SYSTEMSTACK static void flush_on_g0(void *arg)
{
	trace_assert_on_g0();
	struct flush_args *a = arg;
	/* The new batch goes on from the P's last tick (a->last; a recycled
	 * buffer forgets its old owner's): ticks never go back within one P's
	 * events, batch to batch.  trace_next_ticks bumps a tick that did not
	 * move (events closer together than a tick) or went back (a thread
	 * that moved to a core whose cycle counter disagrees), so a P's ticks
	 * can run ahead of the counter for a while, and a batch starting
	 * afresh from the counter would begin before the end of the one
	 * before it: Go's parser rejects that, "time stamps out of order". */
	pthread_mutex_lock(&trace.lock);
	if (a->buf)
		full_queue(a->buf);
	trace_buf *b = trace.empty;
	if (b)
		trace.empty = b->link;
	pthread_mutex_unlock(&trace.lock);
	if (!b) {
		void *m = mmap(NULL, sizeof *b, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED) {
			/* Go throws here too: there is nowhere to put the event. */
			fputs("trace: out of memory\n", stderr);
			abort();
		}
		b = m;
	}
	b->link = NULL;
	b->pos = 0;
	b->last_ticks = a->last;
	trace_buf_byte(b, TRACE_EV_BATCH | 1 << TRACE_ARG_SHIFT);
	trace_buf_varint(b, (uint64_t)(int64_t)a->pid); /* -1 becomes 2^64-1 */
	trace_buf_varint(b, trace_next_ticks(b, trace_ticks()));
	if (a->buf)
		write_full();
	a->ret = b;
}

/* Queue buf (if any) as full, write the queue, and return a fresh buffer
 * that starts a batch of P pid (Go's traceFlush).  Runs on the system stack. */
trace_buf *trace_flush(trace_buf *buf, int32_t pid)
{
	struct flush_args a = {buf, pid, NULL, buf ? buf->last_ticks : 0};
	trace_systemstack("trace flush", flush_on_g0, &a);
	return a.ret;
}

/* Queue buf and write the queue.  Called on the system stack. */
TRACE_SYSTEMSTACK void trace_queue_and_write(trace_buf *buf)
{
	trace_assert_on_g0();
	pthread_mutex_lock(&trace.lock);
	full_queue(buf);
	pthread_mutex_unlock(&trace.lock);
	write_full();
}

/* Unmap the free buffers.  Called at trace_stop once the queue is empty. */
TRACE_SYSTEMSTACK void trace_free_buffers(void)
{
	trace_assert_on_g0();
	while (trace.empty) {
		trace_buf *b = trace.empty;
		trace.empty = b->link;
		munmap(b, sizeof *b);
	}
}
