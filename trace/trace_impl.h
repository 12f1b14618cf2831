/* trace_impl.h: internals shared by the files of trace/ (not public).
 *
 * Memory rule of the whole folder: nothing here comes from the GC heap.
 * Buffers and table records are mmap'd (Go's sysAlloc / persistentalloc),
 * so the tracer may run on g0 and while the collector has the world stopped.
 */
#ifndef GREENVM_TRACE_IMPL_H
#define GREENVM_TRACE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "trace/trace.h"

/* Marks a function that runs on the system stack: it is only reached
 * through trace_systemstack.  Such functions keep their frames small
 * (-Wframe-larger-than=256 for the folder) and never touch the GC heap.
 * Debug builds check the mark: each such function starts with
 * trace_assert_on_g0(), which asks the hooks' on_system_stack (when given)
 * and aborts if the function runs anywhere else.  noinline keeps the
 * function's own frame in -fstack-usage, for the stack report. */
#define TRACE_SYSTEMSTACK __attribute__((noinline))
#ifdef GREENVM_DEBUG
#define trace_assert_on_g0() trace_assert_on_g0_at(__func__)
#else
#define trace_assert_on_g0() ((void)0)
#endif
void trace_assert_on_g0_at(const char *func);

/* Marks the event writer's hot helpers: inlined into each event function
 * in release builds, so each is compiled with its own constant arguments.
 * Debug builds (-O0 with ASan) keep them as calls: inlined there, the
 * sanitizer's slots would grow frames past the folder's 256-byte limit. */
#ifdef GREENVM_DEBUG
#define TRACE_HOT static
#else
#define TRACE_HOT static inline __attribute__((always_inline))
#endif

enum {
	TRACE_TICK_DIV = 16,      /* real clock: cycle counter / 16 (Go's traceTickDiv off x86; see trace_ticks) */
	TRACE_ARG_SHIFT = 6,      /* the first byte is type | k << 6 (Go's traceArgCountShift) */
	TRACE_GLOBAL_P = -1,      /* P id of the global buffer (Go's traceGlobProc) */
	TRACE_STACK_TAB = 1 << 13, /* buckets of the stack table (Go's size) */
	TRACE_STRING_TAB = 1 << 12, /* buckets of the string table */
	TRACE_ARENA_BLOCK = 64 << 10, /* bytes of one arena block */
	TRACE_STACK_CACHE = 64,   /* entries of a buffer's cache of recent stacks */
	/* Bound on one stack record: type byte, 10-byte length, id, n, 4 per frame. */
	TRACE_STACK_REC_MAX = 1 + TRACE_VARINT_MAX * (1 + 2 + 4 * TRACE_STACK_MAX),
};

/* One trace buffer: a batch of events of one P (Go's traceBuf), its
 * header included in its TRACE_BUF_SIZE bytes.  The stack scratch lives
 * here, as Go's traceBuf.stk does: whoever writes into the buffer owns it,
 * and 1 KiB would not fit the tracer's 256-byte frames. */
typedef struct trace_buf {
	struct trace_buf *link; /* next in the full queue or the free list; NULL when in use */
	uint64_t last_ticks;    /* timestamp of the last event written here */
	size_t pos;             /* next free byte of arr; arr[0..pos) is the batch */
	uint64_t stk[TRACE_STACK_MAX]; /* the stack of the event being written */
	const struct trace_stack *stk_cache[TRACE_STACK_CACHE]; /* recent stacks, by innermost PC */
	uint8_t arr[TRACE_BUF_SIZE - (3 + TRACE_STACK_MAX) * sizeof(uint64_t) -
		    TRACE_STACK_CACHE * sizeof(void *)]; /* Batch event, then events */
} trace_buf;
_Static_assert(sizeof(trace_buf) == TRACE_BUF_SIZE, "a trace buffer is TRACE_BUF_SIZE bytes");

/* A region allocator over mmap'd blocks (Go's traceAlloc); not thread-safe:
 * each arena is used under its table's lock. */
typedef struct trace_arena {
	struct trace_arena_block *head; /* newest block, NULL before the first alloc */
	size_t off;                     /* bytes used in head */
} trace_arena;

/* One stack in the stack table.  Immutable once published in a bucket. */
typedef struct trace_stack {
	struct trace_stack *link; /* next in the bucket (older records) */
	uint64_t hash;            /* hash of pcs[0..n) */
	uint32_t id;              /* the stack's id, > 0 */
	uint32_t n;               /* number of PCs, 1..TRACE_STACK_MAX */
	uint64_t pcs[];           /* the PCs, innermost first */
} trace_stack;

/* One string in the string table. */
typedef struct trace_string_rec {
	struct trace_string_rec *link; /* next in the bucket */
	uint64_t hash;                 /* hash of s[0..len) */
	uint64_t id;                   /* the string's id, > 0 */
	size_t len;                    /* bytes of s, 1..TRACE_STRING_MAX */
	char s[];                      /* the bytes (not NUL-terminated) */
} trace_string_rec;

/* A frame of a stack record, its strings already emitted (Go's traceFrame). */
typedef struct trace_frame {
	uint64_t pc;      /* the bytecode PC */
	uint64_t func_id; /* string id of the function name, 0 if unknown */
	uint64_t file_id; /* string id of the file name, 0 if unknown */
	uint64_t line;    /* source line */
} trace_frame;

/* The tracer's global state (Go's `trace` variable). */
struct trace_state {
	trace_hooks hooks;       /* from trace_init */
	atomic_bool enabled;     /* events are recorded */
	bool starting;           /* inside trace_start's snapshot: record too */

	pthread_mutex_t lock;    /* protects full_head, full_tail, empty */
	trace_buf *full_head;    /* queue of full buffers, oldest first */
	trace_buf *full_tail;    /* last of that queue, NULL iff full_head is */
	trace_buf *empty;        /* free buffers, reused by trace_flush */

	pthread_mutex_t write_lock; /* held while writing to fd: keeps queue order */
	int fd;                  /* the output, -1 when closed */
	bool own_fd;             /* trace_start opened fd: trace_stop closes it */
	int err;                 /* errno of the first output error, 0 if none */
	const char *err_path;    /* the output's name, for that error */

	pthread_mutex_t buf_lock; /* protects buf */
	trace_buf *buf;          /* buffer for events written without a P */

	pthread_mutex_t strings_lock; /* protects the string table and its arena */
	trace_string_rec *strings[TRACE_STRING_TAB]; /* buckets */
	uint64_t string_seq;     /* last string id given */
	trace_arena string_mem;  /* string records */

	pthread_mutex_t stack_lock; /* serializes inserts into stack_tab */
	uint32_t stack_seq;      /* last stack id given */
	trace_arena stack_mem;   /* stack records */
	_Atomic(trace_stack *) stack_tab[TRACE_STACK_TAB]; /* buckets, read without lock */

	uint64_t seq_gc;         /* GCStart sequence number */
	atomic_uint_fast64_t vclock; /* the virtual clock's last reading */
	uint64_t start_ticks;        /* cycle counter and monotonic clock at */
	int64_t start_ns;            /* trace_start: trace_stop's frequency */
	trace_frame frames[TRACE_STACK_MAX]; /* the direct dump's frames (it runs alone) */
};

extern struct trace_state trace;

/* buf.c: clock, buffers, output. */
/* hooks.nanotime, or CLOCK_MONOTONIC. */
int64_t trace_nanotime(void);
void trace_systemstack(const char *what, void (*fn)(void *), void *arg);
trace_buf *trace_flush(trace_buf *buf, int32_t pid);
void trace_queue_and_write(trace_buf *buf);
void trace_write_bytes(const void *p, size_t n);
void trace_free_buffers(void);
void trace_set_error(int err);

/* The CPU's cycle counter, inline (trace_cputicks is the same, out of
 * line, and falls back to the monotonic clock elsewhere). */
static inline uint64_t trace_cycles(void)
{
#if defined(__x86_64__)
	return __builtin_ia32_rdtsc();
#elif defined(__aarch64__)
	uint64_t t;
	__asm__ volatile("mrs %0, cntvct_el0" : "=r"(t));
	return t;
#else
	return (uint64_t)trace_cputicks();
#endif
}

/* The current tick: the CPU's cycle counter divided by 16 (cputicks() /
 * traceTickDiv: cheaper than reading the clock, which matters at one read
 * per event, and coarse enough to keep deltas short; trace_stop works out
 * the frequency), or the virtual counter.  Inline: every event reads it.
 *
 * Where greenvm differs: Go 1.19 divides by 64 on amd64 (16 elsewhere).
 * A tick must be shorter than the time between two events, or the bump in
 * trace_next_ticks pushes a busy P's timestamps ahead of the clock, further
 * with every event: greenvm writes an event every 15-30 ns in a channel
 * ping-pong, 64 cycles are 20-30 ns, and a P ran thousands of ticks ahead
 * within one buffer.  Its next buffer then started at the real time, behind
 * its last one, or a G it readied started on another P "before" it was
 * readied, and Go's parser rejected the trace ("time stamps out of order").
 * Go's own events cost more than 64 cycles, so Go never outruns its tick. */
static inline uint64_t trace_ticks(void)
{
	if (__builtin_expect(trace.hooks.clock == TRACE_CLOCK_VIRTUAL, 0))
		return atomic_fetch_add(&trace.vclock, 1) + 1;
	return trace_cycles() / TRACE_TICK_DIV;
}

/* The tick of the next event of buf, from a reading `now` of
 * trace_ticks.  Equal ticks are bumped by one, as Go does; greenvm
 * also bumps a tick that went backwards (the cycle counters of two cores
 * may disagree when a thread moves), so that a delta can never wrap
 * around.  A P's next buffer carries on from its last one's last tick
 * (trace_flush), so one P's timestamps never go back. */
static inline uint64_t trace_next_ticks(trace_buf *buf, uint64_t now)
{
	if (now <= buf->last_ticks)
		now = buf->last_ticks + 1;
	buf->last_ticks = now;
	return now;
}

static inline size_t trace_buf_room(const trace_buf *b)
{
	return sizeof b->arr - b->pos;
}

static inline void trace_buf_byte(trace_buf *b, uint8_t v)
{
	b->arr[b->pos++] = v;
}

/* Write v as a varint at p; returns the byte after it.  Inline, with the
 * common case first: most deltas, ids and stack ids take one byte. */
static inline uint8_t *trace_put_varint(uint8_t *p, uint64_t v)
{
	if (v < 0x80) {
		*p = (uint8_t)v;
		return p + 1;
	}
	return p + trace_varint_put(p, v);
}

static inline void trace_buf_varint(trace_buf *b, uint64_t v)
{
	b->pos = (size_t)(trace_put_varint(&b->arr[b->pos], v) - b->arr);
}

/* Reserve `width` bytes for a varint filled in later; returns their offset. */
static inline size_t trace_buf_reserve(trace_buf *b, int width)
{
	size_t at = b->pos;
	b->pos += (size_t)width;
	return at;
}

/* Fill the reserved length at `at` with the bytes written after it. */
static inline void trace_buf_fill_len(trace_buf *b, size_t at, int width)
{
	trace_varint_fill(&b->arr[at], width, b->pos - at - (size_t)width);
}

/* arena.c */
void *trace_arena_alloc(trace_arena *a, size_t n);
void trace_arena_drop(trace_arena *a);

/* string.c */
uint64_t trace_string(trace_buf **bufp, int32_t pid, const char *s, size_t len);
void trace_strings_reset(void);
void trace_frame_for_pc(trace_buf **bufp, int32_t pid, uint64_t pc, trace_frame *f);

/* stack.c */
void trace_stacks_reset(void);
const trace_stack *trace_stack_insert(const uint64_t *pcs, uint32_t n, uint64_t h);

/* The stack table's lookup, inline: it runs for every event that carries
 * a stack, where a call, a byte-wise hash and memcmp cost more than
 * writing the event.  A stack is hashed a word at a time (a multiply and
 * a shift per PC). */
static inline uint64_t trace_stack_hash(const uint64_t *pcs, uint32_t n)
{
	uint64_t h = 0x2545f4914f6cdd1dull ^ n;
	for (uint32_t i = 0; i < n; i++) {
		h = (h ^ pcs[i]) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	return h;
}

/* Is s the stack pcs[0..n)? */
static inline bool trace_stack_is(const trace_stack *s, const uint64_t *pcs, uint32_t n)
{
	if (s->n != n)
		return false;
	uint32_t i = 0;
	while (i < n && s->pcs[i] == pcs[i])
		i++;
	return i == n;
}

/* The record of pcs[0..n), hashed h, if it is in the table, else NULL.
 * No lock: records are complete before their bucket head is published
 * (release), and never change afterwards. */
static inline const trace_stack *trace_stack_find(const uint64_t *pcs, uint32_t n, uint64_t h)
{
	const trace_stack *s = atomic_load_explicit(&trace.stack_tab[h % TRACE_STACK_TAB],
						    memory_order_acquire);
	for (; s; s = s->link)
		if (s->hash == h && trace_stack_is(s, pcs, n))
			return s;
	return NULL;
}

/* The record of pcs[0..n), n in 1..TRACE_STACK_MAX, inserted if new
 * (Go's traceStackTable.put). */
static inline const trace_stack *trace_stack_rec(const uint64_t *pcs, uint32_t n)
{
	uint64_t h = trace_stack_hash(pcs, n);
	const trace_stack *s = trace_stack_find(pcs, n, h);
	return s ? s : trace_stack_insert(pcs, n, h);
}

/* The id of the stack in buf's scratch, buf->stk[0..n); 0 when n is 0.
 * First the buffer's cache of recent stacks, by innermost PC: goroutines
 * block, wake and yield at the same few places again and again, so most
 * lookups end there, after a compare and without hashing the stack (for
 * a deep stack, a chain of a multiply per frame).  A cached record stays
 * valid as long as the buffer: both last until trace_stop. */
static inline uint32_t trace_buf_stack_id(trace_buf *buf, uint32_t n)
{
	if (n == 0)
		return 0;
	const trace_stack **slot = &buf->stk_cache[buf->stk[0] % TRACE_STACK_CACHE];
	const trace_stack *s = *slot;
	if (!s || !trace_stack_is(s, buf->stk, n))
		*slot = s = trace_stack_rec(buf->stk, n);
	return s->id;
}

/* dump.c: write the stack table into batches of P 0, then queue and write
 * them; runs on the system stack at trace_stop.  Each record is written by
 * trace_dump_record (direct) or trace_dump_legacy_record (dump_legacy.c). */
void trace_dump(void);
void trace_dump_record(trace_buf **bufp, const trace_stack *s);
void trace_dump_legacy_record(trace_buf **bufp, const trace_stack *s);

#endif
