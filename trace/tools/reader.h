/* reader.h: greenvm's reader of Go 1.19 execution traces (trace/tools/).
 *
 * The reader shares only the format's constants with the writer (enum
 * trace_event in trace/trace.h), never its code, so that it can judge the
 * writer.  It does what Go 1.19's internal/trace parser does, in its order:
 *
 *   1. read the bytes: header, records, varints (<= 10 bytes), lengths,
 *      the string table (EvString) and stack table (EvStack);
 *   2. give each event its P and G from its batch, timestamps from deltas;
 *   3. merge the per-P batches into one stream (Go's order1007: among the
 *      batch heads whose goroutine sequence is ready, take the earliest),
 *      move GoSysExit to its real time, convert ticks to nanoseconds;
 *   4. drop futile wakeups (Go's removeFutile);
 *   5. check the goroutine, P, GC and region state machines and link events
 *      (Go's postProcessTrace).
 *
 * Errors name the byte offset of the bad record.  Memory is bounded by a
 * small multiple of the input: every table entry comes from bytes of it,
 * an event takes 28 bytes, events are ordered in place, and the pages of
 * a file already read are dropped (about 10x a large file at the peak).
 * The reader runs on an ordinary thread stack, never on g0.
 */
#ifndef GREENVM_TRACE_READER_H
#define GREENVM_TRACE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gc/common.h"
#include "trace/trace.h"

/* Go's fake P ids (internal/trace FakeP...), used after the merge. */
enum {
	TRACE_RD_TIMER_P = 1000001,   /* unblocks by a timer goroutine */
	TRACE_RD_NETPOLL_P = 1000002, /* unblocks by the network poller */
	TRACE_RD_SYSCALL_P = 1000003, /* GoSysExit */
	TRACE_RD_GC_P = 1000004,      /* GCStart */
	TRACE_RD_PROFILE_P = 1000005, /* CPU samples */
};

#define TRACE_RD_NONE UINT32_MAX /* "no event" in a link */

/* One event, after the merge (Go's internal/trace Event), in 28 bytes: a
 * large trace has about one event per 3 bytes of file, so this size is
 * what bounds the reader's memory.  The goroutine and P are indices into
 * the trace's tables of ids; the arguments, stack and message are read
 * with trace_rd_arg, trace_rd_stk and trace_rd_msg, because most events
 * keep at most one 32-bit value (`a`) and only the others (flag
 * TRACE_RD_X) have a record in t->x.  Packed: ts is only 4-byte aligned,
 * so never take its address. */
typedef struct __attribute__((packed, aligned(4))) trace_rd_event {
	int64_t ts;    /* nanoseconds since the first event */
	uint32_t off;  /* byte offset of the record in the file */
	uint32_t link; /* index of the linked event (see Go's Event.Link) or NONE */
	uint32_t g;    /* goroutine it happened on: index into t->gids */
	uint32_t a;    /* TRACE_RD_X: index into t->x; else GoStart's seq, or the
			* stack id of an event without arguments (0: none) */
	uint16_t p;    /* P it happened on: index into t->pids */
	uint8_t type;  /* enum trace_event; Local forms are turned into plain ones */
	uint8_t flags; /* TRACE_RD_X; the other bits are the reader's scratch */
} trace_rd_event;

enum { TRACE_RD_X = 0x80 }; /* the event's arguments are in t->x[a] */

/* The arguments of an event that has more than `a` can hold. */
typedef struct trace_rd_xargs {
	uint64_t args[3]; /* Go's Args: the event's arguments after ts, stack excluded */
	uint64_t stk;     /* stack id (0: none); a GoStart gets its creation stack */
	uint32_t msg;     /* UserLog: offset of its message in the string pool */
} trace_rd_xargs;

/* One frame of a stack (strings are ids into the string table). */
typedef struct trace_rd_frame {
	uint64_t pc;   /* program counter */
	uint64_t fn;   /* string id of the function name */
	uint64_t file; /* string id of the file name */
	uint64_t line; /* line number */
} trace_rd_frame;

/* A parsed trace. */
typedef struct trace_rd {
	int version;             /* 1011, 1019 or 1020 (go 1.11, 1.19, 1.20) */
	uint64_t freq;           /* ticks per second (EvFrequency), > 0 */
	trace_rd_event *ev;      /* the events in time order, futile wakeups removed */
	size_t nev;              /* how many */
	trace_rd_xargs *x;       /* arguments of the events flagged TRACE_RD_X */
	size_t nx, cap_x;        /* used and allocated records of x */
	uint64_t *gids;          /* goroutine ids, each once; gids[0] = 0 */
	size_t ngids, cap_gids;  /* used and allocated entries of gids */
	int64_t *pids;           /* P ids (real and fake), each once; at most 65536 */
	size_t npids, cap_pids;  /* used and allocated entries of pids */
	char *pool;              /* string bytes, each NUL-terminated; pool[0] = "" */
	size_t npool, cap_pool;  /* used and allocated bytes of pool */
	trace_rd_frame *frames;  /* every stack's frames, one after another */
	size_t nframes, cap_frames; /* used and allocated frames */
	idtab strings;   /* string id -> offset in pool */
	idtab stacks;    /* stack id -> index into stackv */
	struct { uint32_t first, n; } *stackv; /* a stack: its frames[first..first+n) */
	size_t nstackv, cap_stackv;   /* used and allocated stacks */
} trace_rd;

/* The goroutine id of e. */
static inline uint64_t trace_rd_g(const trace_rd *t, const trace_rd_event *e)
{
	return t->gids[e->g];
}

/* The P id of e (a real P, or a TRACE_RD_*_P). */
static inline int64_t trace_rd_p(const trace_rd *t, const trace_rd_event *e)
{
	return t->pids[e->p];
}

/* Argument i (0..2) of e, as Go's Event.Args[i]; 0 past the type's own. */
static inline uint64_t trace_rd_arg(const trace_rd *t, const trace_rd_event *e, int i)
{
	if (e->flags & TRACE_RD_X)
		return t->x[e->a].args[i];
	if (e->type != TRACE_EV_GO_START && e->type != TRACE_EV_GO_START_LOCAL)
		return 0;
	return i == 0 ? t->gids[e->g] : i == 1 ? e->a : 0; /* GoStart: g, seq */
}

/* The stack id of e (0: none). */
static inline uint64_t trace_rd_stk(const trace_rd *t, const trace_rd_event *e)
{
	if (e->flags & TRACE_RD_X)
		return t->x[e->a].stk;
	return e->type == TRACE_EV_GO_START || e->type == TRACE_EV_GO_START_LOCAL ? 0 : e->a;
}

/* A UserLog's message ("" for other events). */
static inline const char *trace_rd_msg(const trace_rd *t, const trace_rd_event *e)
{
	return t->pool + (e->flags & TRACE_RD_X ? t->x[e->a].msg : 0);
}

/* Parse the trace file `path` into *t.  Returns 0, or -1 with a message
 * "PATH: offset 0x...: reason" in err (t is then empty). */
int trace_rd_file(trace_rd *t, const char *path, char *err, size_t errlen);
/* Parse len bytes at data (named `name` in messages). */
int trace_rd_mem(trace_rd *t, const uint8_t *data, size_t len, const char *name,
		 char *err, size_t errlen);
/* Free what a successful parse allocated. */
void trace_rd_free(trace_rd *t);

/* The string with this id, "" when unknown. */
const char *trace_rd_string(const trace_rd *t, uint64_t id);
/* The frames of stack id (innermost first) and their number in *n; NULL, 0
 * when the stack is unknown or empty. */
const trace_rd_frame *trace_rd_stack(const trace_rd *t, uint64_t id, int *n);
/* Go's name of an event type ("GoCreate"), "?" when out of range. */
const char *trace_rd_name(int type);
/* Print e as `go tool trace -d` does: "ts Name p=P g=G off=OFF args..." */
void trace_rd_print(const trace_rd *t, const trace_rd_event *e, FILE *out);

#endif
