/* reader.c: parse, order and check a Go 1.19 execution trace (see reader.h).
 *
 * The steps follow Go 1.19's internal/trace (parser.go, order.go), whose
 * rules are the format's definition; the data structures are greenvm's:
 *
 *   - the file is mapped; records are decoded into one array of 28-byte
 *     events in file order (pages of the file already decoded are dropped),
 *     the events of each batch (one per P id, all of a P's buffers
 *     together, as Go's parser groups them) chained through their `link`;
 *   - the merge keeps the ready batch heads in a binary heap keyed by
 *     (ticks, batch), and parks a batch whose head is not ready on a wait
 *     list of the goroutine it waits for, so that a goroutine's transition
 *     re-examines only the batches waiting on it (Go scans every batch at
 *     every step; the chosen event is the same);
 *   - the merge writes each event's rank into its `link`, and the array is
 *     then permuted in place; the few GoSysExits that move to their real
 *     time are taken out and merged back, so no second array of events or
 *     of indices is ever made;
 *   - goroutine and P ids are interned (events hold 32- and 16-bit
 *     indices); per-goroutine and per-P state are arrays by index; task,
 *     string and stack tables are id tables (gc/common.h) from 64-bit ids to
 *     32-bit indices.
 *
 * Errors longjmp back to trace_rd_mem, which frees everything.  Every
 * allocation grows with records read, so memory is a small multiple of the
 * file (an event record of at least 2 bytes becomes one 28-byte event; in
 * real traces a record has about 3 bytes).
 */
/* The reader runs on an ordinary thread stack (the `greenvm trace` tools and
 * tests), never on g0; its big state is on the heap all the same. */

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gc/gc.h"
#include "trace/tools/reader.h"

/* ---- event descriptions (Go's EventDescriptions) ---------------------- */

/* What the reader knows of one event type. */
typedef struct rd_desc {
	const char *name;    /* Go's name, "" for unused ids */
	int minver;          /* first trace version that has it */
	bool stack;          /* its last argument is a stack id */
	int nargs;           /* arguments after the timestamp, stack excluded */
	const char *args[3]; /* their names, as `go tool trace -d` prints them */
} rd_desc;

static const rd_desc descs[TRACE_EV_COUNT] = {
	[TRACE_EV_NONE] = {"None", 1005, false, 0, {0}},
	[TRACE_EV_BATCH] = {"Batch", 1005, false, 2, {"p", "ticks"}},
	[TRACE_EV_FREQUENCY] = {"Frequency", 1005, false, 1, {"freq"}},
	[TRACE_EV_STACK] = {"Stack", 1005, false, 2, {"id", "siz"}},
	[TRACE_EV_GOMAXPROCS] = {"Gomaxprocs", 1005, true, 1, {"procs"}},
	[TRACE_EV_PROC_START] = {"ProcStart", 1005, false, 1, {"thread"}},
	[TRACE_EV_PROC_STOP] = {"ProcStop", 1005, false, 0, {0}},
	[TRACE_EV_GC_START] = {"GCStart", 1005, true, 1, {"seq"}},
	[TRACE_EV_GC_DONE] = {"GCDone", 1005, false, 0, {0}},
	[TRACE_EV_GC_STW_START] = {"GCSTWStart", 1005, false, 1, {"kindid"}},
	[TRACE_EV_GC_STW_DONE] = {"GCSTWDone", 1005, false, 0, {0}},
	[TRACE_EV_GC_SWEEP_START] = {"GCSweepStart", 1005, true, 0, {0}},
	[TRACE_EV_GC_SWEEP_DONE] = {"GCSweepDone", 1005, false, 2, {"swept", "reclaimed"}},
	[TRACE_EV_GO_CREATE] = {"GoCreate", 1005, true, 2, {"g", "stack"}},
	[TRACE_EV_GO_START] = {"GoStart", 1005, false, 2, {"g", "seq"}},
	[TRACE_EV_GO_END] = {"GoEnd", 1005, false, 0, {0}},
	[TRACE_EV_GO_STOP] = {"GoStop", 1005, true, 0, {0}},
	[TRACE_EV_GO_SCHED] = {"GoSched", 1005, true, 0, {0}},
	[TRACE_EV_GO_PREEMPT] = {"GoPreempt", 1005, true, 0, {0}},
	[TRACE_EV_GO_SLEEP] = {"GoSleep", 1005, true, 0, {0}},
	[TRACE_EV_GO_BLOCK] = {"GoBlock", 1005, true, 0, {0}},
	[TRACE_EV_GO_UNBLOCK] = {"GoUnblock", 1005, true, 2, {"g", "seq"}},
	[TRACE_EV_GO_BLOCK_SEND] = {"GoBlockSend", 1005, true, 0, {0}},
	[TRACE_EV_GO_BLOCK_RECV] = {"GoBlockRecv", 1005, true, 0, {0}},
	[TRACE_EV_GO_BLOCK_SELECT] = {"GoBlockSelect", 1005, true, 0, {0}},
	[TRACE_EV_GO_BLOCK_SYNC] = {"GoBlockSync", 1005, true, 0, {0}},
	[TRACE_EV_GO_BLOCK_COND] = {"GoBlockCond", 1005, true, 0, {0}},
	[TRACE_EV_GO_BLOCK_NET] = {"GoBlockNet", 1005, true, 0, {0}},
	[TRACE_EV_GO_SYSCALL] = {"GoSysCall", 1005, true, 0, {0}},
	[TRACE_EV_GO_SYSEXIT] = {"GoSysExit", 1005, false, 3, {"g", "seq", "ts"}},
	[TRACE_EV_GO_SYSBLOCK] = {"GoSysBlock", 1005, false, 0, {0}},
	[TRACE_EV_GO_WAITING] = {"GoWaiting", 1005, false, 1, {"g"}},
	[TRACE_EV_GO_IN_SYSCALL] = {"GoInSyscall", 1005, false, 1, {"g"}},
	[TRACE_EV_HEAP_ALLOC] = {"HeapAlloc", 1005, false, 1, {"mem"}},
	[TRACE_EV_HEAP_GOAL] = {"HeapGoal", 1005, false, 1, {"mem"}},
	[TRACE_EV_TIMER_GOROUTINE] = {"TimerGoroutine", 1005, false, 1, {"g"}},
	[TRACE_EV_FUTILE_WAKEUP] = {"FutileWakeup", 1005, false, 0, {0}},
	[TRACE_EV_STRING] = {"String", 1007, false, 0, {0}},
	[TRACE_EV_GO_START_LOCAL] = {"GoStartLocal", 1007, false, 1, {"g"}},
	[TRACE_EV_GO_UNBLOCK_LOCAL] = {"GoUnblockLocal", 1007, true, 1, {"g"}},
	[TRACE_EV_GO_SYSEXIT_LOCAL] = {"GoSysExitLocal", 1007, false, 2, {"g", "ts"}},
	[TRACE_EV_GO_START_LABEL] = {"GoStartLabel", 1008, false, 3, {"g", "seq", "labelid"}},
	[TRACE_EV_GO_BLOCK_GC] = {"GoBlockGC", 1008, true, 0, {0}},
	[TRACE_EV_GC_MARK_ASSIST_START] = {"GCMarkAssistStart", 1009, true, 0, {0}},
	[TRACE_EV_GC_MARK_ASSIST_DONE] = {"GCMarkAssistDone", 1009, false, 0, {0}},
	[TRACE_EV_USER_TASK_CREATE] = {"UserTaskCreate", 1011, true, 3, {"taskid", "pid", "typeid"}},
	[TRACE_EV_USER_TASK_END] = {"UserTaskEnd", 1011, true, 1, {"taskid"}},
	[TRACE_EV_USER_REGION] = {"UserRegion", 1011, true, 3, {"taskid", "mode", "typeid"}},
	[TRACE_EV_USER_LOG] = {"UserLog", 1011, true, 2, {"id", "keyid"}},
	[TRACE_EV_CPU_SAMPLE] = {"CPUSample", 1019, true, 3, {"ts", "p", "g"}},
};

const char *trace_rd_name(int type)
{
	return type > 0 && type < TRACE_EV_COUNT ? descs[type].name : "?";
}

/* Number of varints an event record of this type carries (Go's argNum). */
static size_t rd_argnum(int type)
{
	size_t n = (size_t)descs[type].nargs + descs[type].stack;
	if (type == TRACE_EV_BATCH || type == TRACE_EV_FREQUENCY ||
	    type == TRACE_EV_TIMER_GOROUTINE)
		return n;
	return n + 1; /* the timestamp delta */
}

/* ---- the error exit ----------------------------------------------------- */

/* The state of one parse; on the heap, so that frames stay small. */
typedef struct rd_state {
	jmp_buf fail;          /* where rd_fail jumps */
	char *err;             /* the caller's message buffer */
	size_t errlen;         /* its size */
	const char *name;      /* file name for messages */
	const uint8_t *data;   /* the file */
	size_t len, pos;       /* its length, and the read position */
	bool drop;             /* data is our private mapping: drop pages read */
	trace_rd *t;           /* the result being built */
	uint64_t *args;        /* arguments of the record being read */
	size_t nargs, cap_args; /* their count and the capacity of args */
	trace_rd_event *ev;    /* the events: file order (ts in ticks), then time order */
	size_t nev, cap_ev;    /* their count and capacity */
	uint32_t *heap;        /* the merge's heap of batches */
	trace_rd_event *moved; /* GoSysExits taken out to move to their real time */
	idtab bmap;    /* P id -> batch index */
	struct rd_batch *b;    /* the batches */
	size_t nb, cap_b;      /* their count and capacity */
	idtab timers; /* goroutines named by EvTimerGoroutine */
	idtab gmap;   /* goroutine id -> index into t->gids and gs */
	struct rd_g *gs;       /* per-goroutine state of the current phase, by index */
	size_t cap_g;          /* capacity of gs (t->ngids are in use) */
	idtab pmap, tasks; /* P id -> index into t->pids; task id -> event */
	struct rd_p *ps;       /* per-P state of the check, by index */
	size_t cap_p;          /* capacity of ps (t->npids are in use) */
} rd_state;

static void rd_fail(rd_state *s, size_t off, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

static void rd_fail(rd_state *s, size_t off, const char *fmt, ...)
{
	int n = snprintf(s->err, s->errlen, "%s: offset 0x%zx: ", s->name, off);
	if (n >= 0 && (size_t)n < s->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(s->err + n, s->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	longjmp(s->fail, 1);
}

/* Grow *p (of *cap elements of size sz) to hold at least n.  noinline: one
 * copy, out of rd_parse's frame (inlined, it made that frame larger). */
__attribute__((noinline)) static void rd_grow(void *pp, size_t *cap, size_t n, size_t sz)
{
	void **p = pp;
	if (n <= *cap)
		return;
	size_t c = *cap ? *cap : 16;
	while (c < n)
		c *= 2;
	*p = xrealloc(*p, c * sz);
	*cap = c;
}

/* ---- goroutine and P ids to indices ------------------------------------ */

enum { G_DEAD, G_RUNNABLE, G_RUNNING, G_WAITING };

/* Per-goroutine state, by index into t->gids; each phase starts afresh
 * (rd_g_phase).  The merge uses seq, status, waiters and last_sysblock;
 * the futile-wakeup pass seq and start; the check (step 5) the rest. */
typedef struct rd_g {
	uint64_t seq;      /* merge: the goroutine's sequence number */
	uint64_t last_sysblock; /* merge: ticks of its last GoSysBlock / GoInSyscall */
	uint32_t waiters;  /* merge: first batch waiting on it, or NONE */
	uint32_t ev;       /* check: event that made it runnable or waiting */
	uint32_t start;    /* check: its current GoStart; futile: last wakeup event */
	uint32_t create;   /* check: its GoCreate, until it first starts */
	uint32_t assist;   /* check: open GCMarkAssistStart */
	uint32_t region;   /* check: innermost open region start, or NONE */
	uint8_t status;    /* G_DEAD ... G_WAITING */
	bool seen;         /* check: it was named by an event (Go's map holds it) */
} rd_g;

/* Per-P state of the check, by index into t->pids. */
typedef struct rd_p {
	bool running;   /* between ProcStart and ProcStop */
	uint32_t g;     /* goroutine running on it (index), 0: none */
	uint32_t sweep; /* open GCSweepStart, or NONE */
} rd_p;

static void rd_g_reset(rd_g *g)
{
	memset(g, 0, sizeof *g);
	g->waiters = g->ev = g->start = g->create = g->assist = g->region = TRACE_RD_NONE;
}

/* Start a phase: every goroutine's state is new. */
static void rd_g_phase(rd_state *s)
{
	for (size_t i = 0; i < s->t->ngids; i++)
		rd_g_reset(&s->gs[i]);
}

/* The index of goroutine id, added to t->gids (and gs) when new. */
static uint32_t rd_gid(rd_state *s, uint64_t id)
{
	trace_rd *t = s->t;
	bool fresh;
	uint32_t *v = idtab_put(&s->gmap, id, (uint32_t)t->ngids, &fresh);
	if (fresh) {
		rd_grow(&t->gids, &t->cap_gids, t->ngids + 1, sizeof *t->gids);
		rd_grow(&s->gs, &s->cap_g, t->ngids + 1, sizeof *s->gs);
		t->gids[t->ngids] = id;
		rd_g_reset(&s->gs[t->ngids]);
		t->ngids++;
	}
	return *v;
}

/* The index of P id, added to t->pids (and ps) when new; off names the
 * record in the error when there would be more than 65536. */
static uint16_t rd_pid(rd_state *s, int64_t id, size_t off)
{
	trace_rd *t = s->t;
	uint32_t *v = idtab_get(&s->pmap, (uint64_t)id);
	if (v)
		return (uint16_t)*v;
	if (t->npids > UINT16_MAX)
		rd_fail(s, off, "too many P ids (more than %d)", UINT16_MAX + 1);
	rd_grow(&t->pids, &t->cap_pids, t->npids + 1, sizeof *t->pids);
	rd_grow(&s->ps, &s->cap_p, t->npids + 1, sizeof *s->ps);
	t->pids[t->npids] = id;
	s->ps[t->npids] = (rd_p){false, 0, TRACE_RD_NONE};
	*idtab_put(&s->pmap, (uint64_t)id, 0, NULL) = (uint32_t)t->npids;
	return (uint16_t)t->npids++;
}

/* ---- step 1 and 2: records to events ------------------------------------ */

/* One batch: the events of one P id, in file order, chained through the
 * events' `link` until the merge. */
typedef struct rd_batch {
	uint16_t p;       /* index of the P id (TRACE_RD_PROFILE_P for CPU samples) */
	uint32_t last_g;  /* goroutine (index) running on the P at the end of its last batch */
	uint32_t head;    /* its first event not yet merged, or NONE */
	uint32_t tail;    /* its last event, or NONE */
	uint32_t n;       /* events not yet merged */
	uint32_t wait;    /* next batch on the same goroutine's wait list, or NONE */
} rd_batch;

/* Read one varint (at most 10 bytes, as Go's readVal). */
static uint64_t rd_varint(rd_state *s)
{
	size_t off0 = s->pos;
	uint64_t v = 0;
	for (int i = 0; i < TRACE_VARINT_MAX; i++) {
		if (s->pos >= s->len)
			rd_fail(s, off0, "truncated value");
		uint8_t b = s->data[s->pos++];
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80))
			return v;
	}
	rd_fail(s, off0, "bad value (more than %d bytes)", TRACE_VARINT_MAX);
}

/* Copy n bytes at the read position into the pool; returns their offset. */
static uint32_t rd_pool_add(rd_state *s, size_t off0, uint64_t n)
{
	trace_rd *t = s->t;
	if (n > 1000000)
		rd_fail(s, off0, "string too large (%llu bytes)", (unsigned long long)n);
	if (n > s->len - s->pos)
		rd_fail(s, off0, "truncated string: %llu bytes, %zu left",
			(unsigned long long)n, s->len - s->pos);
	rd_grow(&t->pool, &t->cap_pool, t->npool + n + 1, 1);
	uint32_t at = (uint32_t)t->npool;
	memcpy(t->pool + at, s->data + s->pos, n);
	t->pool[at + n] = 0;
	t->npool += n + 1;
	s->pos += n;
	return at;
}

static rd_batch *rd_batch_for(rd_state *s, int64_t p, uint32_t *index, size_t off)
{
	bool fresh;
	uint16_t pi = rd_pid(s, p, off);
	uint32_t *v = idtab_put(&s->bmap, (uint64_t)p, (uint32_t)s->nb, &fresh);
	if (fresh) {
		rd_grow(&s->b, &s->cap_b, s->nb + 1, sizeof *s->b);
		s->b[s->nb] = (rd_batch){pi, 0, TRACE_RD_NONE, TRACE_RD_NONE, 0, TRACE_RD_NONE};
		s->nb++;
	}
	*index = *v;
	return &s->b[*v];
}

/* Read the header; returns the version (Go's parseHeader). */
static int rd_header(rd_state *s)
{
	static const char tail[] = " trace\0\0\0\0";
	const uint8_t *h = s->data;
	if (s->len < 16)
		rd_fail(s, 0, "truncated header (%zu bytes)", s->len);
	if (h[0] != 'g' || h[1] != 'o' || h[2] != ' ' || h[3] < '1' || h[3] > '9' ||
	    h[4] != '.' || h[5] < '1' || h[5] > '9')
		rd_fail(s, 0, "not a trace file");
	int ver = h[5] - '0', i = 0;
	for (; i < 2 && h[6 + i] >= '0' && h[6 + i] <= '9'; i++)
		ver = ver * 10 + h[6 + i] - '0';
	ver += (h[3] - '0') * 1000;
	if (memcmp(h + 6 + i, tail, (size_t)(10 - i)) != 0)
		rd_fail(s, 0, "not a trace file");
	if (ver != 1011 && ver != 1019 && ver != 1020)
		rd_fail(s, 0, "unsupported trace version %d.%d (this reader reads 1.11, 1.19, 1.20)",
			ver / 1000, ver % 1000);
	s->pos = 16;
	return ver;
}

/* Read the records and make events of them (Go's readTrace + parseEvents). */
static void rd_records(rd_state *s)
{
	trace_rd *t = s->t;
	uint32_t last_g = 0; /* goroutine 0 is index 0 */
	uint64_t last_ts = 0;
	uint32_t bi;
	rd_batch *cur = rd_batch_for(s, 0, &bi, 0);
	size_t dropped = 0; /* bytes of the file whose pages were dropped */
	if (s->len > UINT32_MAX)
		rd_fail(s, 0, "file too large (more than 4 GiB)");
	while (s->pos < s->len) {
		size_t off0 = s->pos;
		if (s->drop && off0 - dropped >= ((size_t)16 << 20)) {
			/* Done with these pages: give them back (they are the file's). */
			size_t upto = off0 & ~((size_t)sysconf(_SC_PAGESIZE) - 1);
			madvise((void *)(uintptr_t)(s->data + dropped), upto - dropped, MADV_DONTNEED);
			dropped = upto;
		}
		uint8_t b = s->data[s->pos++];
		int type = b & 0x3f;
		size_t narg = (size_t)(b >> 6) + 1;
		if (type == TRACE_EV_NONE || type >= TRACE_EV_COUNT ||
		    descs[type].minver > t->version)
			rd_fail(s, off0, "unknown event type %d", type);
		if (type == TRACE_EV_STRING) {
			uint64_t id = rd_varint(s);
			if (id == 0)
				rd_fail(s, off0, "string has invalid id 0");
			if (idtab_get(&t->strings, id))
				rd_fail(s, off0, "string has duplicate id %llu", (unsigned long long)id);
			uint64_t n = rd_varint(s);
			if (n == 0)
				rd_fail(s, off0, "string has invalid length 0");
			uint32_t at = rd_pool_add(s, off0, n);
			*idtab_put(&t->strings, id, 0, NULL) = at;
			continue;
		}
		s->nargs = 0;
		if (narg < 4) {
			for (size_t i = 0; i < narg; i++)
				s->args[s->nargs++] = rd_varint(s);
		} else {
			uint64_t evlen = rd_varint(s);
			size_t start = s->pos;
			while (evlen > s->pos - start) {
				rd_grow(&s->args, &s->cap_args, s->nargs + 1, sizeof *s->args);
				s->args[s->nargs++] = rd_varint(s);
			}
			if (evlen != s->pos - start)
				rd_fail(s, off0, "event has wrong length: want %llu, got %zu",
					(unsigned long long)evlen, s->pos - start);
		}
		uint32_t msg = 0;
		if (type == TRACE_EV_USER_LOG) {
			uint64_t n = rd_varint(s);
			if (n)
				msg = rd_pool_add(s, off0, n);
		}
		if (type != TRACE_EV_STACK && s->nargs != rd_argnum(type))
			rd_fail(s, off0, "%s has wrong number of arguments: want %zu, got %zu",
				descs[type].name, rd_argnum(type), s->nargs);
		uint64_t *a = s->args;
		switch (type) {
		case TRACE_EV_BATCH:
			cur->last_g = last_g;
			cur = rd_batch_for(s, (int64_t)a[0], &bi, off0);
			last_g = cur->last_g;
			last_ts = a[1];
			continue;
		case TRACE_EV_FREQUENCY:
			if ((int64_t)a[0] <= 0)
				rd_fail(s, off0, "time stamps out of order (frequency %lld)", (long long)a[0]);
			t->freq = a[0];
			continue;
		case TRACE_EV_TIMER_GOROUTINE:
			idtab_put(&s->timers, a[0], 1, NULL);
			continue;
		case TRACE_EV_STACK: {
			if (s->nargs < 2)
				rd_fail(s, off0, "Stack has %zu arguments, want at least 2", s->nargs);
			if (a[1] > 1000)
				rd_fail(s, off0, "Stack has bad number of frames: %llu", (unsigned long long)a[1]);
			if (s->nargs != 2 + 4 * a[1])
				rd_fail(s, off0, "Stack has wrong number of arguments: want %llu, got %zu",
					(unsigned long long)(2 + 4 * a[1]), s->nargs);
			if (a[0] == 0 || a[1] == 0)
				continue;
			uint32_t n = (uint32_t)a[1];
			rd_grow(&t->frames, &t->cap_frames, t->nframes + n, sizeof *t->frames);
			rd_grow(&t->stackv, &t->cap_stackv, t->nstackv + 1, sizeof *t->stackv);
			for (uint32_t i = 0; i < n; i++) {
				trace_rd_frame *f = &t->frames[t->nframes + i];
				f->pc = a[2 + 4 * i], f->fn = a[3 + 4 * i];
				f->file = a[4 + 4 * i], f->line = a[5 + 4 * i];
			}
			t->stackv[t->nstackv].first = (uint32_t)t->nframes;
			t->stackv[t->nstackv].n = n;
			t->nframes += n;
			*idtab_put(&t->stacks, a[0], 0, NULL) = (uint32_t)t->nstackv++;
			continue;
		}
		}
		rd_grow(&s->ev, &s->cap_ev, s->nev + 1, sizeof *s->ev);
		trace_rd_event *e = &s->ev[s->nev];
		uint64_t ea[3] = {0, 0, 0}, stk = 0; /* Go's Args and StkID */
		size_t n = s->nargs;
		for (size_t i = 1; i < n; i++) {
			if (i == n - 1 && descs[type].stack)
				stk = a[i];
			else
				ea[i - 1] = a[i];
		}
		last_ts += a[0];
		*e = (trace_rd_event){.ts = (int64_t)last_ts, .off = (uint32_t)off0,
				      .link = TRACE_RD_NONE, .g = last_g, .p = cur->p,
				      .type = (uint8_t)type};
		uint32_t into = bi;
		switch (type) {
		case TRACE_EV_GO_START:
		case TRACE_EV_GO_START_LOCAL:
		case TRACE_EV_GO_START_LABEL:
			e->g = last_g = rd_gid(s, ea[0]);
			break;
		case TRACE_EV_GC_STW_START:
			if (ea[0] > 1)
				rd_fail(s, off0, "unknown STW kind %llu", (unsigned long long)ea[0]);
			e->g = 0;
			break;
		case TRACE_EV_GC_START:
		case TRACE_EV_GC_DONE:
		case TRACE_EV_GC_STW_DONE:
			e->g = 0;
			break;
		case TRACE_EV_GO_END: case TRACE_EV_GO_STOP: case TRACE_EV_GO_SCHED:
		case TRACE_EV_GO_PREEMPT: case TRACE_EV_GO_SLEEP: case TRACE_EV_GO_BLOCK:
		case TRACE_EV_GO_BLOCK_SEND: case TRACE_EV_GO_BLOCK_RECV:
		case TRACE_EV_GO_BLOCK_SELECT: case TRACE_EV_GO_BLOCK_SYNC:
		case TRACE_EV_GO_BLOCK_COND: case TRACE_EV_GO_BLOCK_NET:
		case TRACE_EV_GO_SYSBLOCK: case TRACE_EV_GO_BLOCK_GC:
			last_g = 0;
			break;
		case TRACE_EV_GO_SYSEXIT:
		case TRACE_EV_GO_WAITING:
		case TRACE_EV_GO_IN_SYSCALL:
			e->g = rd_gid(s, ea[0]);
			break;
		case TRACE_EV_CPU_SAMPLE:
			e->ts = (int64_t)ea[0];
			e->p = rd_pid(s, (int64_t)ea[1], off0);
			e->g = rd_gid(s, ea[2]);
			ea[0] = 0;
			rd_batch_for(s, TRACE_RD_PROFILE_P, &into, off0);
			cur = &s->b[bi]; /* the batch array may have moved */
			break;
		}
		/* Keep one value in the event when it can; else a record in t->x. */
		bool start = type == TRACE_EV_GO_START || type == TRACE_EV_GO_START_LOCAL;
		if (start && stk == 0 && ea[1] <= UINT32_MAX) {
			e->a = (uint32_t)ea[1]; /* its g is e->g */
		} else if (!start && descs[type].nargs == 0 && stk <= UINT32_MAX) {
			e->a = (uint32_t)stk;
		} else {
			rd_grow(&t->x, &t->cap_x, t->nx + 1, sizeof *t->x);
			t->x[t->nx] = (trace_rd_xargs){{ea[0], ea[1], ea[2]}, stk, msg};
			e->flags = TRACE_RD_X, e->a = (uint32_t)t->nx++;
		}
		/* Chain it to its batch. */
		rd_batch *to = &s->b[into];
		if (to->tail != TRACE_RD_NONE)
			s->ev[to->tail].link = (uint32_t)s->nev;
		else
			to->head = (uint32_t)s->nev;
		to->tail = (uint32_t)s->nev++;
		to->n++;
	}
	if (s->drop) /* the rest of the file is not read again either */
		madvise((void *)(uintptr_t)(s->data + dropped), s->len - dropped, MADV_DONTNEED);
	if (s->nev == 0)
		rd_fail(s, s->len, "trace is empty");
	if (t->freq == 0)
		rd_fail(s, s->len, "no EvFrequency event");
}

/* Every stack frame's strings and every event's stack must be known. */
static void rd_check_ids(rd_state *s)
{
	trace_rd *t = s->t;
	for (size_t i = 0; i < t->nframes; i++) {
		const trace_rd_frame *f = &t->frames[i];
		if ((f->fn && !idtab_get(&t->strings, f->fn)) || (f->file && !idtab_get(&t->strings, f->file)))
			rd_fail(s, s->len, "stack frame %zu names unknown string %llu", i,
				(unsigned long long)(idtab_get(&t->strings, f->fn) ? f->file : f->fn));
	}
	for (size_t i = 0; i < s->nev; i++) {
		const trace_rd_event *e = &s->ev[i];
		uint64_t stk = trace_rd_stk(t, e);
		if (stk && !idtab_get(&t->stacks, stk))
			rd_fail(s, e->off, "%s has unknown stack id %llu", descs[e->type].name,
				(unsigned long long)stk);
	}
}

/* ---- step 3: the merge (Go's order1007) -------------------------------- */

#define NOSEQ UINT64_MAX           /* any sequence number */
#define SEQINC (UINT64_MAX - 1)    /* one more than the current one */
#define GARBAGE (UINT64_MAX - 1)   /* the pseudo-goroutine id of GCStart's seq */

/* The goroutine an event orders, the state it needs, the state it leaves
 * (Go's stateTransition). */
typedef struct rd_trans {
	uint32_t g;                   /* goroutine index, NONE: no ordering rule */
	uint64_t init_seq, next_seq;  /* sequence needed and left (NOSEQ, SEQINC) */
	uint8_t init_st, next_st;     /* status needed and left */
} rd_trans;

static rd_trans rd_transition(rd_state *s, const trace_rd_event *e)
{
	const trace_rd *t = s->t;
	uint64_t a0 = trace_rd_arg(t, e, 0), a1 = trace_rd_arg(t, e, 1);
	switch (e->type) {
	case TRACE_EV_GO_CREATE:
		return (rd_trans){rd_gid(s, a0), 0, 1, G_DEAD, G_RUNNABLE};
	case TRACE_EV_GO_WAITING: case TRACE_EV_GO_IN_SYSCALL:
		return (rd_trans){e->g, 1, 2, G_RUNNABLE, G_WAITING};
	case TRACE_EV_GO_START: case TRACE_EV_GO_START_LABEL:
		return (rd_trans){e->g, a1, a1 + 1, G_RUNNABLE, G_RUNNING};
	case TRACE_EV_GO_START_LOCAL:
		return (rd_trans){e->g, NOSEQ, SEQINC, G_RUNNABLE, G_RUNNING};
	case TRACE_EV_GO_BLOCK: case TRACE_EV_GO_BLOCK_SEND: case TRACE_EV_GO_BLOCK_RECV:
	case TRACE_EV_GO_BLOCK_SELECT: case TRACE_EV_GO_BLOCK_SYNC:
	case TRACE_EV_GO_BLOCK_COND: case TRACE_EV_GO_BLOCK_NET: case TRACE_EV_GO_SLEEP:
	case TRACE_EV_GO_SYSBLOCK: case TRACE_EV_GO_BLOCK_GC:
		return (rd_trans){e->g, NOSEQ, NOSEQ, G_RUNNING, G_WAITING};
	case TRACE_EV_GO_SCHED: case TRACE_EV_GO_PREEMPT:
		return (rd_trans){e->g, NOSEQ, NOSEQ, G_RUNNING, G_RUNNABLE};
	case TRACE_EV_GO_UNBLOCK: case TRACE_EV_GO_SYSEXIT:
		return (rd_trans){rd_gid(s, a0), a1, a1 + 1, G_WAITING, G_RUNNABLE};
	case TRACE_EV_GO_UNBLOCK_LOCAL: case TRACE_EV_GO_SYSEXIT_LOCAL:
		return (rd_trans){rd_gid(s, a0), NOSEQ, SEQINC, G_WAITING, G_RUNNABLE};
	case TRACE_EV_GC_START:
		return (rd_trans){rd_gid(s, GARBAGE), a0, a0 + 1, G_DEAD, G_DEAD};
	default:
		return (rd_trans){TRACE_RD_NONE, 0, 0, 0, 0};
	}
}

static bool rd_ready(const rd_trans *tr, const rd_g *g)
{
	return tr->g == TRACE_RD_NONE ||
	       ((tr->init_seq == NOSEQ || tr->init_seq == g->seq) && tr->init_st == g->status);
}

/* The heap of ready batch heads, ordered by (ticks of the head, batch). */
typedef struct rd_heap {
	uint32_t *b;  /* batch indices */
	size_t n;     /* how many */
} rd_heap;

static bool rd_before(rd_state *s, uint32_t x, uint32_t y)
{
	int64_t tx = s->ev[s->b[x].head].ts, ty = s->ev[s->b[y].head].ts;
	return tx < ty || (tx == ty && x < y);
}

static void rd_heap_push(rd_state *s, rd_heap *h, uint32_t bi)
{
	size_t i = h->n++;
	h->b[i] = bi;
	while (i > 0 && rd_before(s, h->b[i], h->b[(i - 1) / 2])) {
		uint32_t x = h->b[i];
		h->b[i] = h->b[(i - 1) / 2], h->b[(i - 1) / 2] = x;
		i = (i - 1) / 2;
	}
}

static uint32_t rd_heap_pop(rd_state *s, rd_heap *h)
{
	uint32_t top = h->b[0];
	h->b[0] = h->b[--h->n];
	for (size_t i = 0;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->n && rd_before(s, h->b[l], h->b[m]))
			m = l;
		if (r < h->n && rd_before(s, h->b[r], h->b[m]))
			m = r;
		if (m == i)
			break;
		uint32_t x = h->b[i];
		h->b[i] = h->b[m], h->b[m] = x;
		i = m;
	}
	return top;
}

/* Put batch bi's head into the heap if ready, else on its goroutine's list. */
static void rd_offer(rd_state *s, rd_heap *h, uint32_t bi)
{
	rd_batch *b = &s->b[bi];
	if (b->head == TRACE_RD_NONE)
		return;
	rd_trans tr = rd_transition(s, &s->ev[b->head]);
	if (tr.g == TRACE_RD_NONE) {
		rd_heap_push(s, h, bi);
		return;
	}
	rd_g *g = &s->gs[tr.g];
	if (rd_ready(&tr, g)) {
		rd_heap_push(s, h, bi);
	} else {
		b->wait = g->waiters;
		g->waiters = bi;
	}
}

/* Events by (ts, link): time, then the rank in `link`. */
static int rd_cmp_ts(const void *x, const void *y)
{
	const trace_rd_event *a = x, *b = y;
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	return a->link < b->link ? -1 : a->link > b->link;
}

/* Sort the chain of the CPU samples' batch by time (stably: ranks in file
 * order) and chain it again. */
static void rd_sort_samples(rd_state *s, rd_batch *b)
{
	uint32_t *ix = xmalloc((b->n + 1) * sizeof *ix);
	trace_rd_event *tmp = xmalloc((b->n + 1) * sizeof *tmp);
	uint32_t k = 0;
	for (uint32_t i = b->head; i != TRACE_RD_NONE; i = s->ev[i].link)
		ix[k++] = i;
	for (uint32_t i = 0; i < k; i++)
		tmp[i] = s->ev[ix[i]], tmp[i].link = ix[i];
	qsort(tmp, k, sizeof *tmp, rd_cmp_ts);
	/* The samples go back into the same slots, in time order. */
	for (uint32_t i = 0; i < k; i++)
		s->ev[ix[i]] = tmp[i], s->ev[ix[i]].link = i + 1 < k ? ix[i + 1] : TRACE_RD_NONE;
	free(ix), free(tmp);
}

/* Put every event at the index its `link` names (a permutation), in place.
 * Following the permutation's cycles straight away would jump around the
 * whole array, one cache miss per event; so first every event goes into
 * its block of RD_BLOCK events (an American flag sort: one write position
 * per block, memory is walked in a few hundred streams), and then the
 * cycles, which now stay inside a block, are followed in cache. */
enum { RD_BLOCK = 1 << 15 };

static void rd_permute(trace_rd_event *ev, size_t n)
{
	size_t nb = n / RD_BLOCK + 1;
	uint32_t *fill = xmalloc(nb * sizeof *fill); /* next free slot of each block */
	for (size_t b = 0; b < nb; b++)
		fill[b] = (uint32_t)(b * RD_BLOCK);
	for (size_t b = 0; b < nb; b++) {
		size_t end = (b + 1) * RD_BLOCK < n ? (b + 1) * RD_BLOCK : n;
		while (fill[b] < end) {
			trace_rd_event x = ev[fill[b]];
			for (size_t d; (d = x.link / RD_BLOCK) != b;) {
				trace_rd_event y = ev[fill[d]];
				ev[fill[d]++] = x;
				x = y;
			}
			ev[fill[b]++] = x;
		}
	}
	free(fill);
	for (size_t i = 0; i < n; i++)
		while (ev[i].link != i) {
			trace_rd_event x = ev[ev[i].link];
			ev[ev[i].link] = ev[i];
			ev[i] = x;
		}
}

static void rd_merge(rd_state *s)
{
	trace_rd *t = s->t;
	size_t n = s->nev;
	uint32_t *prof = idtab_get(&s->bmap, (uint64_t)(int64_t)TRACE_RD_PROFILE_P);
	if (prof)
		rd_sort_samples(s, &s->b[*prof]);

	rd_g_phase(s);
	rd_heap h = {.b = s->heap = xmalloc((s->nb + 1) * sizeof *h.b), .n = 0};
	for (uint32_t i = 0; i < s->nb; i++)
		s->b[i].wait = TRACE_RD_NONE, rd_offer(s, &h, i);
	uint32_t done = 0;
	while (done < n) {
		if (h.n == 0) {
			uint32_t off = 0;
			for (size_t i = 0; i < s->nb; i++)
				if (s->b[i].head != TRACE_RD_NONE) {
					off = s->ev[s->b[i].head].off;
					break;
				}
			rd_fail(s, off, "no consistent ordering of events possible");
		}
		uint32_t bi = rd_heap_pop(s, &h);
		rd_batch *b = &s->b[bi];
		trace_rd_event *e = &s->ev[b->head];
		b->head = e->link, b->n--;
		e->link = done++; /* its rank */
		rd_trans tr = rd_transition(s, e);
		if (e->type == TRACE_EV_GO_START_LOCAL)
			e->type = TRACE_EV_GO_START;
		else if (e->type == TRACE_EV_GO_UNBLOCK_LOCAL)
			e->type = TRACE_EV_GO_UNBLOCK;
		else if (e->type == TRACE_EV_GO_SYSEXIT_LOCAL)
			e->type = TRACE_EV_GO_SYSEXIT;
		if (tr.g != TRACE_RD_NONE) {
			rd_g *g = &s->gs[tr.g];
			g->seq = tr.next_seq == NOSEQ ? g->seq : tr.next_seq == SEQINC ? g->seq + 1 : tr.next_seq;
			g->status = tr.next_st;
			/* Its waiters may be ready now: offer each again. */
			uint32_t w = g->waiters;
			g->waiters = TRACE_RD_NONE;
			while (w != TRACE_RD_NONE) {
				uint32_t next = s->b[w].wait;
				rd_offer(s, &h, w);
				w = next;
			}
		}
		rd_offer(s, &h, bi);
	}
	trace_rd_event *ev = s->ev;
	rd_permute(ev, n);

	/* Timestamps must respect the order found. */
	for (size_t i = 1; i < n; i++)
		if (ev[i].ts < ev[i - 1].ts)
			rd_fail(s, ev[i].off, "time stamps out of order");
	/* GoSysExit moves to when the call really returned: those that move are
	 * taken out, the others close ranks (still in time order), and the
	 * moved ones, sorted, are merged back from the end.  Ties keep the
	 * merged order (the rank in link), as a stable sort would. */
	size_t nmoved = 0, kept = 0, cap_moved = 0;
	for (size_t i = 0; i < n; i++) {
		trace_rd_event *e = &ev[i];
		uint64_t real = e->type == TRACE_EV_GO_SYSEXIT ? trace_rd_arg(t, e, 2) : 0;
		if (e->type == TRACE_EV_GO_SYSBLOCK || e->type == TRACE_EV_GO_IN_SYSCALL) {
			s->gs[e->g].last_sysblock = (uint64_t)e->ts;
		} else if (real != 0) {
			int64_t block = (int64_t)s->gs[e->g].last_sysblock;
			if (block == 0)
				rd_fail(s, e->off, "stray syscall exit");
			if ((int64_t)real < block)
				rd_fail(s, e->off, "time stamps out of order (syscall exit)");
			rd_grow(&s->moved, &cap_moved, nmoved + 1, sizeof *s->moved);
			s->moved[nmoved] = *e;
			s->moved[nmoved++].ts = (int64_t)real;
			continue;
		}
		ev[kept++] = *e;
	}
	if (nmoved) {
		qsort(s->moved, nmoved, sizeof *s->moved, rd_cmp_ts);
		size_t w = n;
		for (size_t j = nmoved; j > 0;) {
			if (kept > 0 && rd_cmp_ts(&s->moved[j - 1], &ev[kept - 1]) < 0)
				ev[--w] = ev[--kept];
			else
				ev[--w] = s->moved[--j];
		}
	}

	/* Ticks to nanoseconds since the first event; fake Ps; links cleared. */
	int64_t min = ev[0].ts;
	double ns_per_tick = 1e9 / (double)t->freq;
	uint16_t timer_p = rd_pid(s, TRACE_RD_TIMER_P, 0), sys_p = rd_pid(s, TRACE_RD_SYSCALL_P, 0);
	for (size_t i = 0; i < n; i++) {
		trace_rd_event *e = &ev[i];
		double ns = (double)(int64_t)((uint64_t)e->ts - (uint64_t)min) * ns_per_tick;
		e->ts = ns >= 9.2e18 ? INT64_MAX : ns <= -9.2e18 ? INT64_MIN : (int64_t)ns;
		e->link = TRACE_RD_NONE;
		if (e->type == TRACE_EV_GO_UNBLOCK && idtab_get(&s->timers, t->gids[e->g]))
			e->p = timer_p;
		if (e->type == TRACE_EV_GO_SYSEXIT)
			e->p = sys_p;
	}
}

/* ---- step 4: futile wakeups (Go's removeFutile) ------------------------ */

enum { RD_FUTILE = 1 };

static void rd_futile(rd_state *s)
{
	/* Per goroutine: whether a FutileWakeup was seen (seq = 1), and the
	 * wakeup sequence as a chain through the events' link (start = last
	 * event); the links are cleared again when the futile ones go. */
	trace_rd_event *ev = s->ev;
	rd_g_phase(s);
	for (size_t i = 0; i < s->nev; i++) {
		trace_rd_event *e = &ev[i];
		rd_g *g;
		switch (e->type) {
		case TRACE_EV_GO_UNBLOCK:
			g = &s->gs[rd_gid(s, trace_rd_arg(s->t, e, 0))];
			e->link = TRACE_RD_NONE;
			g->start = (uint32_t)i;
			break;
		case TRACE_EV_GO_START: case TRACE_EV_GO_PREEMPT: case TRACE_EV_FUTILE_WAKEUP:
			g = &s->gs[e->g];
			e->link = g->start;
			g->start = (uint32_t)i;
			if (e->type == TRACE_EV_FUTILE_WAKEUP)
				g->seq = 1;
			break;
		case TRACE_EV_GO_BLOCK: case TRACE_EV_GO_BLOCK_SEND: case TRACE_EV_GO_BLOCK_RECV:
		case TRACE_EV_GO_BLOCK_SELECT: case TRACE_EV_GO_BLOCK_SYNC: case TRACE_EV_GO_BLOCK_COND:
			g = &s->gs[e->g];
			if (g->seq) {
				e->flags |= RD_FUTILE;
				for (uint32_t w = g->start; w != TRACE_RD_NONE; w = ev[w].link)
					ev[w].flags |= RD_FUTILE;
			}
			g->seq = 0, g->start = TRACE_RD_NONE; /* Go deletes the entry */
			break;
		}
	}
	size_t kept = 0;
	for (size_t i = 0; i < s->nev; i++)
		if (!(ev[i].flags & RD_FUTILE)) {
			ev[kept] = ev[i];
			ev[kept++].link = TRACE_RD_NONE;
		}
	s->nev = kept;
}

/* ---- step 5: the state machines (Go's postProcessTrace) -------------- */

/* The check's state of goroutine index gi, which an event names. */
static rd_g *rd_g_at(rd_state *s, uint32_t gi)
{
	s->gs[gi].seen = true;
	return &s->gs[gi];
}

/* Give e (a GoStart) the stack id stk: a record in t->x if it has none. */
static void rd_set_stk(rd_state *s, trace_rd_event *e, uint64_t stk)
{
	trace_rd *t = s->t;
	if (!(e->flags & TRACE_RD_X)) {
		if (stk == 0)
			return;
		rd_grow(&t->x, &t->cap_x, t->nx + 1, sizeof *t->x);
		t->x[t->nx] = (trace_rd_xargs){{trace_rd_arg(t, e, 0), trace_rd_arg(t, e, 1), 0}, 0, 0};
		e->flags |= TRACE_RD_X, e->a = (uint32_t)t->nx++;
	}
	t->x[e->a].stk = stk;
}

/* The event must come from a running goroutine that its P runs. */
static void rd_running(rd_state *s, const rd_p *p, const rd_g *g, const trace_rd_event *e,
		       bool allow_g0)
{
	const char *name = descs[e->type].name;
	unsigned long long gid = s->t->gids[e->g];
	if (g->status != G_RUNNING)
		rd_fail(s, e->off, "g %llu is not running while %s", gid, name);
	if (p->g != e->g)
		rd_fail(s, e->off, "p %lld is not running g %llu while %s",
			(long long)s->t->pids[e->p], gid, name);
	if (!allow_g0 && e->g == 0)
		rd_fail(s, e->off, "g 0 did %s", name);
}

static void rd_check(rd_state *s)
{
	trace_rd *t = s->t;
	trace_rd_event *ev = t->ev;
	uint32_t gc = TRACE_RD_NONE, stw = TRACE_RD_NONE;
	uint16_t gc_p = rd_pid(s, TRACE_RD_GC_P, 0), net_p = rd_pid(s, TRACE_RD_NETPOLL_P, 0);
	rd_g_phase(s);
	rd_g_at(s, 0)->status = G_RUNNING; /* index 0 is goroutine 0 */
	for (uint32_t i = 0; i < t->nev; i++) {
		trace_rd_event *e = &ev[i];
		rd_g *g = rd_g_at(s, e->g);
		rd_p *p = &s->ps[e->p];
		long long pid = (long long)t->pids[e->p];
		unsigned long long gid = t->gids[e->g], a0 = trace_rd_arg(t, e, 0);
		switch (e->type) {
		case TRACE_EV_PROC_START:
			if (p->running)
				rd_fail(s, e->off, "p %lld is running before start", pid);
			p->running = true;
			break;
		case TRACE_EV_PROC_STOP:
			if (!p->running)
				rd_fail(s, e->off, "p %lld is not running before stop", pid);
			if (p->g)
				rd_fail(s, e->off, "p %lld is running goroutine %llu during stop",
					pid, (unsigned long long)t->gids[p->g]);
			p->running = false;
			break;
		case TRACE_EV_GC_START:
			if (gc != TRACE_RD_NONE)
				rd_fail(s, e->off, "previous GC is not ended before a new one");
			gc = i;
			e->p = gc_p;
			break;
		case TRACE_EV_GC_DONE:
			if (gc == TRACE_RD_NONE)
				rd_fail(s, e->off, "bogus GC end");
			ev[gc].link = i, gc = TRACE_RD_NONE;
			break;
		case TRACE_EV_GC_STW_START:
			if (stw != TRACE_RD_NONE)
				rd_fail(s, e->off, "previous STW is not ended before a new one");
			stw = i;
			break;
		case TRACE_EV_GC_STW_DONE:
			if (stw == TRACE_RD_NONE)
				rd_fail(s, e->off, "bogus STW end");
			ev[stw].link = i, stw = TRACE_RD_NONE;
			break;
		case TRACE_EV_GC_SWEEP_START:
			if (p->sweep != TRACE_RD_NONE)
				rd_fail(s, e->off, "previous sweeping is not ended before a new one");
			p->sweep = i;
			break;
		case TRACE_EV_GC_SWEEP_DONE:
			if (p->sweep == TRACE_RD_NONE)
				rd_fail(s, e->off, "bogus sweeping end");
			ev[p->sweep].link = i, p->sweep = TRACE_RD_NONE;
			break;
		case TRACE_EV_GC_MARK_ASSIST_START:
			if (g->assist != TRACE_RD_NONE)
				rd_fail(s, e->off, "previous mark assist is not ended before a new one");
			g->assist = i;
			break;
		case TRACE_EV_GC_MARK_ASSIST_DONE: /* may have begun before tracing */
			if (g->assist != TRACE_RD_NONE)
				ev[g->assist].link = i, g->assist = TRACE_RD_NONE;
			break;
		case TRACE_EV_GO_WAITING:
		case TRACE_EV_GO_IN_SYSCALL:
			if (g->status != G_RUNNABLE)
				rd_fail(s, e->off, "g %llu is not runnable before %s",
					gid, descs[e->type].name);
			g->status = G_WAITING, g->ev = i;
			break;
		case TRACE_EV_GO_CREATE: {
			rd_running(s, p, g, e, true);
			rd_g *ng = &s->gs[rd_gid(s, a0)]; /* gs may have moved: g is stale */
			if (ng->seen)
				rd_fail(s, e->off, "g %llu already exists", a0);
			rd_g_reset(ng);
			ng->seen = true, ng->status = G_RUNNABLE, ng->ev = ng->create = i;
			break;
		}
		case TRACE_EV_GO_START:
		case TRACE_EV_GO_START_LABEL:
			if (g->status != G_RUNNABLE)
				rd_fail(s, e->off, "g %llu is not runnable before start", gid);
			if (p->g)
				rd_fail(s, e->off, "p %lld is already running g %llu while start g %llu",
					pid, (unsigned long long)t->gids[p->g], gid);
			g->status = G_RUNNING, g->start = i, p->g = e->g;
			if (g->create != TRACE_RD_NONE)
				rd_set_stk(s, e, trace_rd_arg(t, &ev[g->create], 1)), g->create = TRACE_RD_NONE;
			if (g->ev != TRACE_RD_NONE)
				ev[g->ev].link = i, g->ev = TRACE_RD_NONE;
			break;
		case TRACE_EV_GO_END:
		case TRACE_EV_GO_STOP:
			rd_running(s, p, g, e, false);
			ev[g->start].link = i;
			g->start = TRACE_RD_NONE, g->status = G_DEAD, p->g = 0;
			if (e->type == TRACE_EV_GO_END) { /* close every open region */
				for (uint32_t r = g->region; r != TRACE_RD_NONE;) {
					uint32_t outer = ev[r].link;
					ev[r].link = i, r = outer;
				}
				g->region = TRACE_RD_NONE;
			}
			break;
		case TRACE_EV_GO_SCHED:
		case TRACE_EV_GO_PREEMPT:
			rd_running(s, p, g, e, false);
			ev[g->start].link = i;
			g->status = G_RUNNABLE, g->start = TRACE_RD_NONE, p->g = 0, g->ev = i;
			break;
		case TRACE_EV_GO_UNBLOCK: {
			if (g->status != G_RUNNING)
				rd_fail(s, e->off, "g %llu is not running while unpark", gid);
			if (pid != TRACE_RD_TIMER_P && p->g != e->g)
				rd_fail(s, e->off, "p %lld is not running g %llu while unpark",
					pid, gid);
			rd_g *g1 = rd_g_at(s, rd_gid(s, a0));
			if (g1->status != G_WAITING)
				rd_fail(s, e->off, "g %llu is not waiting before unpark",
					a0);
			if (g1->ev != TRACE_RD_NONE && ev[g1->ev].type == TRACE_EV_GO_BLOCK_NET &&
			    pid != TRACE_RD_TIMER_P)
				e->p = net_p;
			if (g1->ev != TRACE_RD_NONE)
				ev[g1->ev].link = i;
			g1->status = G_RUNNABLE, g1->ev = i;
			break;
		}
		case TRACE_EV_GO_SYSCALL:
			rd_running(s, p, g, e, false);
			g->ev = i;
			break;
		case TRACE_EV_GO_SYSBLOCK:
			rd_running(s, p, g, e, false);
			ev[g->start].link = i;
			g->status = G_WAITING, g->start = TRACE_RD_NONE, p->g = 0;
			break;
		case TRACE_EV_GO_SYSEXIT:
			if (g->status != G_WAITING)
				rd_fail(s, e->off, "g %llu is not waiting during syscall exit",
					gid);
			if (g->ev != TRACE_RD_NONE && ev[g->ev].type == TRACE_EV_GO_SYSCALL)
				ev[g->ev].link = i;
			g->status = G_RUNNABLE, g->ev = i;
			break;
		case TRACE_EV_GO_SLEEP: case TRACE_EV_GO_BLOCK: case TRACE_EV_GO_BLOCK_SEND:
		case TRACE_EV_GO_BLOCK_RECV: case TRACE_EV_GO_BLOCK_SELECT:
		case TRACE_EV_GO_BLOCK_SYNC: case TRACE_EV_GO_BLOCK_COND:
		case TRACE_EV_GO_BLOCK_NET: case TRACE_EV_GO_BLOCK_GC:
			rd_running(s, p, g, e, false);
			ev[g->start].link = i;
			g->status = G_WAITING, g->ev = i, g->start = TRACE_RD_NONE, p->g = 0;
			break;
		case TRACE_EV_USER_TASK_CREATE: {
			bool fresh;
			uint32_t *v = idtab_put(&s->tasks, a0, i, &fresh);
			if (!fresh && *v != TRACE_RD_NONE)
				rd_fail(s, e->off, "task id %llu conflicts", a0);
			*v = i;
			break;
		}
		case TRACE_EV_USER_TASK_END: {
			uint32_t *v = idtab_get(&s->tasks, a0);
			if (v && *v != TRACE_RD_NONE)
				ev[*v].link = i, *v = TRACE_RD_NONE;
			break;
		}
		case TRACE_EV_USER_REGION: {
			/* An open region's link holds the next outer one until it ends. */
			uint64_t mode = trace_rd_arg(t, e, 1);
			if (mode == 0) {
				e->link = g->region, g->region = i;
			} else if (mode == 1) {
				uint32_t r = g->region;
				if (r == TRACE_RD_NONE)
					break; /* its start was before the trace */
				const char *open = trace_rd_string(t, trace_rd_arg(t, &ev[r], 2));
				const char *name = trace_rd_string(t, trace_rd_arg(t, e, 2));
				if (trace_rd_arg(t, &ev[r], 0) != a0 || strcmp(open, name))
					rd_fail(s, e->off, "misuse of region in goroutine %llu: end of \"%s\" "
						"while \"%s\" is the innermost", gid, name, open);
				g->region = ev[r].link, ev[r].link = i;
			} else {
				rd_fail(s, e->off, "invalid user region mode %llu", (unsigned long long)mode);
			}
			break;
		}
		}
	}
	/* Regions still open at the end link to nothing. */
	for (size_t k = 0; k < t->ngids; k++)
		for (uint32_t r = s->gs[k].region; r != TRACE_RD_NONE;) {
			uint32_t outer = ev[r].link;
			ev[r].link = TRACE_RD_NONE, r = outer;
		}
}

/* ---- the whole parse --------------------------------------------------- */

static void rd_state_free(rd_state *s)
{
	free(s->args), free(s->ev), free(s->moved);
	free(s->b), free(s->gs), free(s->ps), free(s->heap);
	idtab_free(&s->bmap), idtab_free(&s->timers), idtab_free(&s->gmap);
	idtab_free(&s->pmap), idtab_free(&s->tasks);
	free(s);
}

/* Steps 1 to 5; longjmps to the caller's setjmp on error. */
static void rd_run(rd_state *s)
{
	trace_rd *t = s->t;
	t->version = rd_header(s);
	rd_grow(&s->args, &s->cap_args, 16, sizeof *s->args);
	rd_pool_add(s, 0, 0); /* pool[0] = "" */
	rd_gid(s, 0);         /* gids[0] = goroutine 0 */
	rd_records(s);
	rd_check_ids(s);
	rd_merge(s);
	rd_futile(s);
	/* The events are t's now; the spare capacity goes back. */
	trace_rd_event *ev = realloc(s->ev, (s->nev + 1) * sizeof *ev);
	t->ev = ev ? ev : s->ev, t->nev = s->nev;
	s->ev = NULL;
	rd_check(s);
}

/* trace_rd_mem; drop: data is a private mapping whose pages may be dropped. */
static int rd_parse(trace_rd *t, const uint8_t *data, size_t len, bool drop, const char *name,
		    char *err, size_t errlen)
{
	memset(t, 0, sizeof *t);
	rd_state *s = xcalloc(1, sizeof *s);
	s->err = err, s->errlen = errlen, s->name = name;
	s->data = data, s->len = len, s->t = t;
	s->drop = drop;
	if (setjmp(s->fail)) {
		rd_state_free(s);
		trace_rd_free(t);
		return -1;
	}
	rd_run(s);
	rd_state_free(s);
	return 0;
}

int trace_rd_mem(trace_rd *t, const uint8_t *data, size_t len, const char *name,
		 char *err, size_t errlen)
{
	return rd_parse(t, data, len, false, name, err, errlen);
}

int trace_rd_file(trace_rd *t, const char *path, char *err, size_t errlen)
{
	memset(t, 0, sizeof *t);
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	size_t len = (size_t)st.st_size;
	const uint8_t *data = (const uint8_t *)"";
	void *map = NULL;
	if (len > 0) {
		map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		data = map;
	}
	close(fd);
	int r = rd_parse(t, data, len, map != NULL, path, err, errlen);
	if (map)
		munmap(map, len);
	return r;
}

void trace_rd_free(trace_rd *t)
{
	free(t->ev), free(t->x), free(t->gids), free(t->pids);
	free(t->pool), free(t->frames), free(t->stackv);
	idtab_free(&t->strings), idtab_free(&t->stacks);
	memset(t, 0, sizeof *t);
}

const char *trace_rd_string(const trace_rd *t, uint64_t id)
{
	uint32_t *v = id ? idtab_get(&t->strings, id) : NULL;
	return v ? t->pool + *v : "";
}

const trace_rd_frame *trace_rd_stack(const trace_rd *t, uint64_t id, int *n)
{
	uint32_t *v = id ? idtab_get(&t->stacks, id) : NULL;
	*n = v ? (int)t->stackv[*v].n : 0;
	return v ? &t->frames[t->stackv[*v].first] : NULL;
}

void trace_rd_print(const trace_rd *t, const trace_rd_event *e, FILE *out)
{
	const rd_desc *d = &descs[e->type];
	fprintf(out, "%lld %s p=%lld g=%llu off=%u", (long long)e->ts, d->name,
		(long long)trace_rd_p(t, e), (unsigned long long)trace_rd_g(t, e), e->off);
	for (int i = 0; i < d->nargs; i++)
		fprintf(out, " %s=%llu", d->args[i], (unsigned long long)trace_rd_arg(t, e, i));
	switch (e->type) {
	case TRACE_EV_GO_START_LABEL:
		fprintf(out, " label=%s", trace_rd_string(t, trace_rd_arg(t, e, 2)));
		break;
	case TRACE_EV_GC_STW_START:
		fprintf(out, " kind=%s", trace_rd_arg(t, e, 0) ? "sweep termination" : "mark termination");
		break;
	case TRACE_EV_USER_TASK_CREATE:
	case TRACE_EV_USER_REGION:
		fprintf(out, " name=%s", trace_rd_string(t, trace_rd_arg(t, e, 2)));
		break;
	case TRACE_EV_USER_LOG:
		fprintf(out, " category=%s message=%s", trace_rd_string(t, trace_rd_arg(t, e, 1)),
			trace_rd_msg(t, e));
		break;
	}
	fputc('\n', out);
}
