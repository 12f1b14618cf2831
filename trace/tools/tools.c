/* tools.c: the trace tools behind `greenvm trace dump|stats|json|html`.
 *
 * Each tool reads the whole trace with the reader (reader.h: parsed,
 * ordered and checked as Go 1.19's parser does), then walks its events once:
 *
 *   dump   one event a line, in `go tool trace -d`'s form; -s adds stacks;
 *   stats  Go's goroutine analysis (internal/trace/goroutines.go) grouped
 *          by start function as on go tool trace's goroutine pages, block
 *          time split by reason, and each P's use;
 *   json   the Chrome Trace Event Format (chrome://tracing, Perfetto);
 *   html   one self-contained page: a zoomable timeline and the stats; for
 *          a large trace an aggregated overview and pages of its events by
 *          time range (timeline_pages.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "gc/common.h"
#include "gc/gc.h"
#include "trace/tools/assets.h"
#include "trace/tools/tools.h"

/* ---- the analysis (Go's GoroutineStats) -------------------------------- */

static int cmp_g(const void *a, const void *b)
{
	uint64_t x = ((const trace_tool_g *)a)->id, y = ((const trace_tool_g *)b)->id;
	return x < y ? -1 : x > y;
}

static trace_tool_g *find_g(const trace_tool_stats *st, uint64_t id)
{
	trace_tool_g key = {.id = id};
	return bsearch(&key, st->g, st->ng, sizeof *st->g, cmp_g);
}

/* A real P, not one of Go's fake ones. */
static bool real_p(int64_t p)
{
	return p >= 0 && p < 1000000;
}

/* Add the pending times of g up to `now` (Go's snapshotStat + finalize). */
static void g_finalize(trace_tool_g *g, int64_t now, int64_t gc_start)
{
	if (gc_start != 0)
		g->gc += now - (g->create < gc_start ? gc_start : g->create);
	if (g->total == 0)
		g->total = now - g->create;
	if (g->last_start)
		g->exec += now - g->last_start;
	if (g->since_net)
		g->io += now - g->since_net;
	if (g->since_sync) {
		g->block += now - g->since_sync;
		g->block_by[g->block_kind] += now - g->since_sync;
	}
	if (g->since_syscall)
		g->syscall += now - g->since_syscall;
	if (g->since_sched)
		g->sched += now - g->since_sched;
	if (g->since_sweep)
		g->sweep += now - g->since_sweep;
	if (g->since_sleep)
		g->sleep += now - g->since_sleep;
	g->last_start = g->since_net = g->since_sync = g->since_syscall = 0;
	g->since_sched = g->since_sweep = g->since_sleep = 0;
}

/* The goroutine stops running at time ts (block, end, sched...). */
static void g_stop(trace_tool_g *g, int64_t ts)
{
	g->exec += ts - g->last_start;
	g->last_start = 0;
}

static void p_stop(trace_tool_p *p, int64_t ts)
{
	if (p && p->since >= 0)
		p->busy += ts - p->since, p->since = -1;
}

/* The analysis' tables by the reader's indices, so that no event needs a
 * search: goroutine index -> its trace_tool_g, P index -> its
 * trace_tool_p (NULL: none), and the goroutines created and not ended
 * (the ones a GC overlaps), each knowing its place in that list. */
typedef struct tool_index {
	trace_tool_g **g;  /* by goroutine index (t->gids) */
	trace_tool_p **p;  /* by P index (t->pids) */
	uint32_t *live;    /* positions in st->g of the live goroutines */
	uint32_t *at;      /* by position in st->g: its place in live, or NONE */
	size_t nlive;      /* how many are live */
} tool_index;

static void live_add(tool_index *ix, size_t k)
{
	ix->at[k] = (uint32_t)ix->nlive;
	ix->live[ix->nlive++] = (uint32_t)k;
}

static void live_remove(tool_index *ix, size_t k)
{
	uint32_t i = ix->at[k], last = ix->live[--ix->nlive];
	ix->live[i] = last, ix->at[last] = i;
	ix->at[k] = TRACE_RD_NONE;
}

static void tool_index_free(tool_index *ix)
{
	free(ix->g), free(ix->p), free(ix->live), free(ix->at);
}

void trace_tool_analyse(const trace_rd *t, trace_tool_stats *st)
{
	memset(st, 0, sizeof *st);
	size_t ng = 0, np = 0;
	for (size_t i = 0; i < t->nev; i++) {
		ng += t->ev[i].type == TRACE_EV_GO_CREATE;
		np += t->ev[i].type == TRACE_EV_PROC_START;
	}
	tool_index ix = {
		.g = xcalloc(t->ngids + 1, sizeof *ix.g), .p = xcalloc(t->npids + 1, sizeof *ix.p),
		.live = xmalloc((ng + 1) * sizeof *ix.live), .at = xmalloc((ng + 1) * sizeof *ix.at),
	};
	st->g = xcalloc(ng + 1, sizeof *st->g);
	st->p = xcalloc(np + 1, sizeof *st->p);
	for (size_t i = 0; i < t->nev; i++) {
		const trace_rd_event *e = &t->ev[i];
		if (e->type == TRACE_EV_GO_CREATE) {
			trace_tool_g *g = &st->g[st->ng++];
			g->id = trace_rd_arg(t, e, 0), g->create = e->ts, g->since_sched = e->ts;
			g->name = "";
		} else if (e->type == TRACE_EV_PROC_START && real_p(trace_rd_p(t, e)) && !ix.p[e->p]) {
			st->p[st->np] = (trace_tool_p){trace_rd_p(t, e), 0, -1};
			ix.p[e->p] = &st->p[st->np++];
		}
	}
	qsort(st->g, st->ng, sizeof *st->g, cmp_g);
	for (size_t k = 0; k < t->ngids; k++)
		ix.g[k] = find_g(st, t->gids[k]);
	for (size_t k = 0; k < st->ng; k++)
		ix.at[k] = TRACE_RD_NONE;
	int64_t last = 0, gc_start = 0;
	for (size_t i = 0; i < t->nev; i++) {
		const trace_rd_event *e = &t->ev[i];
		trace_tool_g *g = ix.g[e->g];
		trace_tool_p *p = ix.p[e->p];
		if (g && !g->created)
			g = NULL; /* not yet created: Go's table does not hold it */
		last = e->ts;
		switch (e->type) {
		case TRACE_EV_GO_CREATE: {
			trace_tool_g *c = find_g(st, trace_rd_arg(t, e, 0));
			c->created = 1;
			live_add(&ix, (size_t)(c - st->g));
			break;
		}
		case TRACE_EV_GO_START:
		case TRACE_EV_GO_START_LABEL: {
			if (!g)
				break;
			int n;
			const trace_rd_frame *f = trace_rd_stack(t, trace_rd_stk(t, e), &n);
			if (g->pc == 0 && f)
				g->pc = f[0].pc, g->name = trace_rd_string(t, f[0].fn);
			g->last_start = e->ts;
			if (g->start == 0)
				g->start = e->ts;
			if (g->since_sched)
				g->sched += e->ts - g->since_sched, g->since_sched = 0;
			if (p)
				p->since = e->ts;
			break;
		}
		case TRACE_EV_GO_END:
		case TRACE_EV_GO_STOP:
			p_stop(p, e->ts);
			if (g) {
				g->end = e->ts;
				g_finalize(g, e->ts, gc_start);
				size_t k = (size_t)(g - st->g);
				if (g->end != 0 && ix.at[k] != TRACE_RD_NONE)
					live_remove(&ix, k); /* (end = 0 still counts as live) */
			}
			break;
		case TRACE_EV_GO_BLOCK_SEND: case TRACE_EV_GO_BLOCK_RECV:
		case TRACE_EV_GO_BLOCK_SELECT: case TRACE_EV_GO_BLOCK_SYNC:
		case TRACE_EV_GO_BLOCK_COND:
			p_stop(p, e->ts);
			if (g) {
				g_stop(g, e->ts);
				g->since_sync = e->ts;
				g->block_kind = e->type - TRACE_EV_GO_BLOCK_SEND;
			}
			break;
		case TRACE_EV_GO_SCHED:
		case TRACE_EV_GO_PREEMPT:
			p_stop(p, e->ts);
			if (g)
				g_stop(g, e->ts), g->since_sched = e->ts;
			break;
		case TRACE_EV_GO_SLEEP:
		case TRACE_EV_GO_BLOCK:
		case TRACE_EV_GO_BLOCK_GC:
			p_stop(p, e->ts);
			if (g) {
				g_stop(g, e->ts);
				if (e->type == TRACE_EV_GO_SLEEP)
					g->since_sleep = e->ts;
			}
			break;
		case TRACE_EV_GO_BLOCK_NET:
			p_stop(p, e->ts);
			if (g)
				g_stop(g, e->ts), g->since_net = e->ts;
			break;
		case TRACE_EV_GO_UNBLOCK: {
			trace_tool_g *w = find_g(st, trace_rd_arg(t, e, 0));
			if (!w || !w->created)
				break;
			if (w->since_net)
				w->io += e->ts - w->since_net, w->since_net = 0;
			if (w->since_sync) {
				w->block += e->ts - w->since_sync;
				w->block_by[w->block_kind] += e->ts - w->since_sync;
				w->since_sync = 0;
			}
			if (w->since_sleep)
				w->sleep += e->ts - w->since_sleep, w->since_sleep = 0;
			w->since_sched = e->ts;
			break;
		}
		case TRACE_EV_GO_SYSBLOCK:
			p_stop(p, e->ts);
			if (g)
				g_stop(g, e->ts), g->since_syscall = e->ts;
			break;
		case TRACE_EV_GO_SYSEXIT:
			if (!g)
				break;
			if (g->since_syscall)
				g->syscall += e->ts - g->since_syscall, g->since_syscall = 0;
			g->since_sched = e->ts;
			break;
		case TRACE_EV_GC_SWEEP_START:
			if (g)
				g->since_sweep = e->ts;
			break;
		case TRACE_EV_GC_SWEEP_DONE:
			if (g && g->since_sweep)
				g->sweep += e->ts - g->since_sweep, g->since_sweep = 0;
			break;
		case TRACE_EV_GC_START:
			gc_start = e->ts;
			break;
		case TRACE_EV_GC_DONE:
			for (size_t k = 0; k < ix.nlive; k++) {
				trace_tool_g *x = &st->g[ix.live[k]];
				x->gc += e->ts - (gc_start < x->create ? x->create : gc_start);
			}
			gc_start = 0;
			break;
		case TRACE_EV_PROC_STOP:
			p_stop(p, e->ts);
			break;
		}
	}
	/* Go finalizes every goroutine at the end, ended ones too (a GC still
	 * running then counts again for them, as on Go's pages). */
	for (size_t k = 0; k < st->ng; k++)
		g_finalize(&st->g[k], last, gc_start);
	for (size_t k = 0; k < st->np; k++)
		p_stop(&st->p[k], last);
	st->duration = last;
	tool_index_free(&ix);
}

void trace_tool_stats_free(trace_tool_stats *st)
{
	free(st->g), free(st->p);
	memset(st, 0, sizeof *st);
}

/* ---- small output helpers ---------------------------------------------- */

static void put_html(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		default: fputc(*s, out);
		}
	}
}

static double ms(int64_t ns)
{
	return (double)ns / 1e6;
}

/* ---- dump ---------------------------------------------------------------- */

/* ---- stats --------------------------------------------------------------- */

/* Goroutines of one start function (a row of Go's goroutine page). */
typedef struct tool_group {
	uint64_t pc;      /* the start PC */
	const char *name; /* the start function */
	size_t n;         /* goroutines */
	trace_tool_g sum; /* their times added up */
} tool_group;

static void g_add(trace_tool_g *a, const trace_tool_g *b)
{
	a->exec += b->exec, a->sched += b->sched, a->io += b->io, a->block += b->block;
	for (int k = 0; k < TRACE_BLOCK_N; k++)
		a->block_by[k] += b->block_by[k];
	a->sleep += b->sleep, a->syscall += b->syscall, a->gc += b->gc;
	a->sweep += b->sweep, a->total += b->total;
}

static int cmp_group_pc(const void *a, const void *b)
{
	uint64_t x = ((const trace_tool_g *)a)->pc, y = ((const trace_tool_g *)b)->pc;
	return x < y ? -1 : x > y;
}

static int cmp_group_exec(const void *a, const void *b)
{
	const tool_group *x = a, *y = b;
	if (x->sum.exec != y->sum.exec)
		return x->sum.exec > y->sum.exec ? -1 : 1;
	return x->pc < y->pc ? -1 : x->pc > y->pc;
}

/* Group st's goroutines by start PC, most execution time first.  The
 * goroutines are re-sorted by PC (find_g no longer works afterwards). */
static tool_group *make_groups(trace_tool_stats *st, size_t *ngroups)
{
	qsort(st->g, st->ng, sizeof *st->g, cmp_group_pc);
	tool_group *gr = xcalloc(st->ng + 1, sizeof *gr);
	size_t n = 0;
	for (size_t i = 0; i < st->ng; i++) {
		if (n == 0 || gr[n - 1].pc != st->g[i].pc)
			gr[n++] = (tool_group){st->g[i].pc, st->g[i].name, 0, {0}};
		gr[n - 1].n++;
		g_add(&gr[n - 1].sum, &st->g[i]);
	}
	qsort(gr, n, sizeof *gr, cmp_group_exec);
	*ngroups = n;
	return gr;
}

static const char *const block_names[TRACE_BLOCK_N] = {"send", "recv", "select", "sync", "cond"};

static void stats_row(FILE *out, const trace_tool_g *s, size_t n, const char *name)
{
	fprintf(out, "%6zu %10.3f %10.3f %10.3f", n, ms(s->exec), ms(s->sched), ms(s->block));
	for (int k = 0; k < TRACE_BLOCK_N; k++)
		fprintf(out, " %9.3f", ms(s->block_by[k]));
	fprintf(out, " %9.3f %9.3f %9.3f %9.3f  %s\n", ms(s->sleep), ms(s->syscall), ms(s->io),
		ms(s->gc), name[0] ? name : "(unknown)");
}

static int tool_stats(const trace_rd *t, const char *file, FILE *out)
{
	trace_tool_stats st;
	size_t ngr;
	trace_tool_analyse(t, &st);
	tool_group *gr = make_groups(&st, &ngr);
	fprintf(out, "trace %s: %zu events, %.3f ms, %zu goroutines, %zu Ps\n\n", file, t->nev,
		ms(st.duration), st.ng, st.np);
	fprintf(out, "goroutines by start function (times in ms, as go tool trace's goroutine pages)\n");
	fprintf(out, "%6s %10s %10s %10s", "count", "exec", "sched", "block");
	for (int k = 0; k < TRACE_BLOCK_N; k++)
		fprintf(out, " %9s", block_names[k]);
	fprintf(out, " %9s %9s %9s %9s  %s\n", "sleep", "syscall", "io", "gc", "function");
	trace_tool_g all = {0};
	for (size_t i = 0; i < ngr; i++) {
		stats_row(out, &gr[i].sum, gr[i].n, gr[i].name);
		g_add(&all, &gr[i].sum);
	}
	stats_row(out, &all, st.ng, "total");
	fprintf(out, "\nPs (busy = a goroutine running on it)\n");
	for (size_t i = 0; i < st.np; i++)
		fprintf(out, "P%-4lld busy %10.3f ms  %5.1f%%\n", (long long)st.p[i].id,
			ms(st.p[i].busy),
			st.duration ? 100.0 * (double)st.p[i].busy / (double)st.duration : 0.0);
	free(gr);
	trace_tool_stats_free(&st);
	return 0;
}

/* ---- json: Chrome Trace Event Format ------------------------------------ */

/* The Chrome "thread" of a P: real Ps keep their id; Go's fake Ps (timers,
 * syscalls, GC...) get their own rows too. */
static const char *p_label(int64_t p, char *buf, size_t len)
{
	switch (p) {
	case TRACE_RD_TIMER_P: return "Timers";
	case TRACE_RD_NETPOLL_P: return "Network";
	case TRACE_RD_SYSCALL_P: return "Syscalls";
	case TRACE_RD_GC_P: return "GC";
	case TRACE_RD_PROFILE_P: return "Profile";
	}
	snprintf(buf, len, p < 0 ? "no P" : "P%lld", (long long)p);
	return buf;
}

/* True when the event ends the running slice begun by its GoStart. */
static bool ends_slice(int type)
{
	switch (type) {
	case TRACE_EV_GO_END: case TRACE_EV_GO_STOP: case TRACE_EV_GO_SCHED:
	case TRACE_EV_GO_PREEMPT: case TRACE_EV_GO_SLEEP: case TRACE_EV_GO_BLOCK:
	case TRACE_EV_GO_BLOCK_SEND: case TRACE_EV_GO_BLOCK_RECV: case TRACE_EV_GO_BLOCK_SELECT:
	case TRACE_EV_GO_BLOCK_SYNC: case TRACE_EV_GO_BLOCK_COND: case TRACE_EV_GO_BLOCK_NET:
	case TRACE_EV_GO_BLOCK_GC: case TRACE_EV_GO_SYSBLOCK:
		return true;
	}
	return false;
}

const trace_rd_event *trace_tool_slice_end(const trace_rd *t, const trace_rd_event *start)
{
	if (start->link == TRACE_RD_NONE || !ends_slice(t->ev[start->link].type))
		return NULL;
	return &t->ev[start->link];
}

/* The start function of goroutine g ("" if unknown), from its GoStart. */
static const char *g_func(const trace_rd *t, const trace_rd_event *start)
{
	int n;
	const trace_rd_frame *f = trace_rd_stack(t, trace_rd_stk(t, start), &n);
	return f ? trace_rd_string(t, f[0].fn) : "";
}

int trace_tool_json_range(const trace_rd *t, FILE *out, size_t i0, size_t i1)
{
	char lb[32];
	fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n", out);
	fputs("{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"tid\":0,"
	      "\"args\":{\"name\":\"greenvm trace\"}}", out);
	/* One named track per P seen (ProcStart), plus the fake ones in use,
	 * in the order they first appear; events carry their P's index. */
	bool *named = xcalloc(t->npids ? t->npids : 1, sizeof *named);
	for (size_t i = 0; i < t->nev; i++) {
		if (t->ev[i].type == TRACE_EV_CPU_SAMPLE || named[t->ev[i].p])
			continue;
		named[t->ev[i].p] = true;
		int64_t p = trace_rd_p(t, &t->ev[i]);
		fprintf(out, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%lld,"
			"\"args\":{\"name\":\"%s\"}}", (long long)p, p_label(p, lb, sizeof lb));
		fprintf(out, ",\n{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":1,\"tid\":%lld,"
			"\"args\":{\"sort_index\":%lld}}", (long long)p, (long long)p);
	}
	for (size_t i = i0; i < i1; i++) {
		const trace_rd_event *e = &t->ev[i];
		double ts = (double)e->ts / 1e3;
		switch (e->type) {
		case TRACE_EV_GO_START:
		case TRACE_EV_GO_START_LABEL: {
			const trace_rd_event *end = trace_tool_slice_end(t, e);
			if (!end)
				break;
			fprintf(out, ",\n{\"name\":\"G%llu ", (unsigned long long)trace_rd_g(t, e));
			json_put_escaped(out, g_func(t, e));
			fprintf(out, "\",\"cat\":\"goroutine\",\"ph\":\"X\",\"pid\":1,\"tid\":%lld,"
				"\"ts\":%.3f,\"dur\":%.3f,\"args\":{\"g\":%llu,\"end\":\"%s\"}}",
				(long long)trace_rd_p(t, e), ts, (double)(end->ts - e->ts) / 1e3,
				(unsigned long long)trace_rd_g(t, e), trace_rd_name(end->type));
			break;
		}
		case TRACE_EV_GO_UNBLOCK:
			if (e->link == TRACE_RD_NONE)
				break;
			/* A flow arrow from the unblock to the start it causes. */
			fprintf(out, ",\n{\"name\":\"unblock\",\"cat\":\"flow\",\"ph\":\"s\",\"id\":%zu,"
				"\"pid\":1,\"tid\":%lld,\"ts\":%.3f}", i, (long long)trace_rd_p(t, e), ts);
			fprintf(out, ",\n{\"name\":\"unblock\",\"cat\":\"flow\",\"ph\":\"f\",\"bp\":\"e\","
				"\"id\":%zu,\"pid\":1,\"tid\":%lld,\"ts\":%.3f}", i,
				(long long)trace_rd_p(t, &t->ev[e->link]), (double)t->ev[e->link].ts / 1e3);
			break;
		case TRACE_EV_GC_START:
			if (e->link != TRACE_RD_NONE)
				fprintf(out, ",\n{\"name\":\"GC\",\"cat\":\"gc\",\"ph\":\"X\",\"pid\":1,"
					"\"tid\":%d,\"ts\":%.3f,\"dur\":%.3f}", TRACE_RD_GC_P, ts,
					(double)(t->ev[e->link].ts - e->ts) / 1e3);
			break;
		case TRACE_EV_GC_STW_START:
			if (e->link != TRACE_RD_NONE)
				fprintf(out, ",\n{\"name\":\"STW (%s)\",\"cat\":\"gc\",\"ph\":\"X\",\"pid\":1,"
					"\"tid\":%lld,\"ts\":%.3f,\"dur\":%.3f}",
					trace_rd_arg(t, e, 0) ? "sweep termination" : "mark termination", (long long)trace_rd_p(t, e),
					ts, (double)(t->ev[e->link].ts - e->ts) / 1e3);
			break;
		case TRACE_EV_HEAP_ALLOC:
		case TRACE_EV_HEAP_GOAL:
			fprintf(out, ",\n{\"name\":\"Heap\",\"ph\":\"C\",\"pid\":1,\"ts\":%.3f,"
				"\"args\":{\"%s\":%llu}}", ts,
				e->type == TRACE_EV_HEAP_ALLOC ? "Allocated" : "NextGC",
				(unsigned long long)trace_rd_arg(t, e, 0));
			break;
		}
	}
	fputs("\n]}\n", out);
	free(named);
	return 0;
}

/* ---- html ---------------------------------------------------------------- */

/* The goroutine-lane state event e leaves its goroutine in (timeline.js's
 * numbers: 0 running, 1 runnable, 2 blocked, 3 syscall, 4 sleeping; -1 it
 * ends), or -2 when e is no transition; *g is the goroutine. */
int trace_tool_g_transition(const trace_rd *t, const trace_rd_event *e, uint64_t *g)
{
	*g = trace_rd_g(t, e);
	switch (e->type) {
	case TRACE_EV_GO_CREATE: *g = trace_rd_arg(t, e, 0); return 1;
	case TRACE_EV_GO_START: case TRACE_EV_GO_START_LABEL: return 0;
	case TRACE_EV_GO_UNBLOCK: *g = trace_rd_arg(t, e, 0); return 1;
	case TRACE_EV_GO_SYSEXIT: return 1;
	case TRACE_EV_GO_WAITING: return 2;
	case TRACE_EV_GO_IN_SYSCALL: return 3;
	case TRACE_EV_GO_END: case TRACE_EV_GO_STOP: return -1;
	case TRACE_EV_GO_SCHED: case TRACE_EV_GO_PREEMPT: return 1;
	case TRACE_EV_GO_SYSBLOCK: return 3;
	case TRACE_EV_GO_SLEEP: return 4;
	}
	return ends_slice(e->type) ? 2 : -2;
}

void trace_tool_g_segments(const trace_rd *t, const trace_tool_stats *st,
			   void (*seg)(void *arg, size_t k, int state, int64_t a, int64_t b,
				       const char *why),
			   void (*done)(void *arg, size_t k), void *arg)
{
	/* open[k]: goroutine k's open segment's state (-1: none); since[k]:
	 * its start */
	int *open = xmalloc((st->ng + 1) * sizeof *open);
	int64_t *since = xmalloc((st->ng + 1) * sizeof *since);
	for (size_t k = 0; k < st->ng; k++)
		open[k] = -1;
	for (size_t i = 0; i < t->nev; i++) {
		const trace_rd_event *e = &t->ev[i];
		uint64_t g;
		int state = trace_tool_g_transition(t, e, &g);
		const trace_tool_g *tg = state == -2 ? NULL : find_g(st, g);
		if (!tg)
			continue;
		size_t k = (size_t)(tg - st->g);
		if (open[k] >= 0)
			seg(arg, k, open[k], since[k], e->ts, trace_rd_name(e->type));
		open[k] = state, since[k] = e->ts;
	}
	for (size_t k = 0; k < st->ng; k++) {
		if (open[k] >= 0)
			seg(arg, k, open[k], since[k], st->duration, "");
		if (done)
			done(arg, k);
	}
	free(open), free(since);
}

long trace_tool_g_index(const trace_tool_stats *st, uint64_t g)
{
	const trace_tool_g *tg = find_g(st, g);
	return tg ? (long)(tg - st->g) : -1;
}

void trace_tool_html_lanes(const trace_tool_stats *st, FILE *out)
{
	fputs("\"ps\":[", out);
	for (size_t i = 0; i < st->np; i++)
		fprintf(out, "%s%lld", i ? "," : "", (long long)st->p[i].id);
	fputs("],\"gs\":[", out);
	for (size_t i = 0; i < st->ng; i++) {
		fprintf(out, "%s{\"id\":%llu,\"fn\":", i ? "," : "", (unsigned long long)st->g[i].id);
		json_put_string(out, st->g[i].name);
		fputs("}", out);
	}
	fputs("]", out);
}

/* What the holes of timeline.html are filled from. */
typedef struct html_page {
	const trace_rd *t;      /* the trace */
	const char *file;       /* its file name */
	const trace_tool_stats *st; /* its analysis (goroutines sorted by id) */
	trace_tool_range *range; /* the events' data, range after range */
	bool ticks;             /* a virtual-clock trace: times in ticks, not ms */
	size_t page, npages;    /* this page (0: the only one, or the overview), of npages */
	size_t i0, i1;          /* its events */
	const char *path;       /* the overview's path (page k's name is made from it) */
	const tool_group *gr;   /* the goroutines by start function */
	size_t ngr;             /* how many groups */
} html_page;

/* A time of the page's tables: in ms, or in ticks for a virtual-clock trace. */
static double page_time(bool ticks, int64_t ns)
{
	return ticks ? (double)ns : ms(ns);
}

/* A time as the page's text shows it: "1.234 ms" or "1234 ticks". */
static void put_time(FILE *out, bool ticks, int64_t ns)
{
	fprintf(out, ticks ? "%.0f ticks" : "%.3f ms", page_time(ticks, ns));
}

/* The first and last times of page k (1..npages). */
static int64_t page_from(const html_page *pg, size_t k)
{
	size_t i = (k - 1) * TRACE_TOOL_HTML_PART;
	return i == 0 ? 0 : pg->t->ev[i].ts;
}

static int64_t page_to(const html_page *pg, size_t k)
{
	size_t i = k * TRACE_TOOL_HTML_PART;
	return i >= pg->t->nev ? pg->st->duration : pg->t->ev[i].ts;
}

/* The goroutines grouped by start function, for {{goroutines}} (the whole
 * trace's analysis, the same on every page): grouping re-sorts the
 * goroutines, which the data needs by id, so it works on a copy. */
static tool_group *html_groups(const trace_tool_stats *whole, size_t *ngr)
{
	trace_tool_stats st = *whole;
	st.g = xmalloc((whole->ng + 1) * sizeof *st.g);
	memcpy(st.g, whole->g, whole->ng * sizeof *st.g);
	tool_group *gr = make_groups(&st, ngr);
	free(st.g);
	return gr;
}

/* Write what the hole {{name}} (len bytes of name) of timeline.html holds. */
static void html_fill(FILE *out, const char *name, size_t len, html_page *pg)
{
#define IS(s) (len == sizeof s - 1 && memcmp(name, s, len) == 0)
	const trace_tool_stats *st = pg->st;
	bool overview = pg->page == 0 && pg->npages > 0;
	if (IS("file")) {
		put_html(out, pg->file);
		if (pg->page)
			fprintf(out, ", page %zu of %zu", pg->page, pg->npages);
	} else if (IS("style")) {
		fputs(trace_tools_timeline_css, out);
	} else if (IS("script")) {
		fputs(trace_tools_timeline_js, out);
	} else if (IS("summary")) {
		if (pg->page) {
			fprintf(out, "Events %zu to %zu, from ", pg->i0 + 1, pg->i1);
			put_time(out, pg->ticks, page_from(pg, pg->page));
			fputs(" to ", out);
			put_time(out, pg->ticks, page_to(pg, pg->page));
			fputs(", of the whole trace's ", out);
		}
		fprintf(out, "%zu events, %.*f %s, %zu goroutines, %zu Ps.", pg->t->nev,
			pg->ticks ? 0 : 3, page_time(pg->ticks, st->duration), pg->ticks ? "ticks" : "ms",
			st->ng, st->np);
	} else if (IS("unit")) {
		fputs(pg->ticks ? "ticks" : "ms", out);
	} else if (IS("aggregated")) {
		if (overview) {
			fputs("<div class=\"note\">A large trace: this overview draws each lane aggregated, "
			      "the slices that start in one 1/20000 of the trace merged into one. "
			      "Its events are on the pages below, one per time range: zoom in and the bar "
			      "above the timeline links the page of what is on screen "
			      "(a double click opens it).</div>\n<div class=\"note\" id=\"ranges\">Pages:", out);
			for (size_t k = 1; k <= pg->npages; k++) {
				char *kpath = trace_tool_html_page_path(pg->path, k);
				fputs(" <a href=\"", out);
				put_html(out, trace_tool_basename(kpath));
				fprintf(out, "\">%zu</a> (", k);
				put_time(out, pg->ticks, page_from(pg, k));
				fputs(")", out);
				free(kpath);
			}
			fputs("</div>\n", out);
		}
	} else if (IS("data")) {
		if (overview)
			trace_tool_html_data_aggregate(pg->t, st, out);
		else
			trace_tool_html_range_data(pg->range, pg->i0, pg->i1, out);
	} else if (IS("flows")) {
		trace_tool_html_flows(pg->t, pg->i0, pg->i1, overview, out);
	} else if (IS("pages")) {
		/* {overview, page, pages: [[from, to, file], ...]} */
		fputs("{\"overview\":", out);
		json_put_string(out, pg->npages ? trace_tool_basename(pg->path) : "");
		fprintf(out, ",\"page\":%zu,\"pages\":[", pg->page);
		for (size_t k = 1; k <= pg->npages; k++) {
			char *kpath = trace_tool_html_page_path(pg->path, k);
			fprintf(out, "%s[%lld,%lld,", k > 1 ? "," : "", (long long)page_from(pg, k),
				(long long)page_to(pg, k));
			json_put_string(out, trace_tool_basename(kpath));
			fputs("]", out);
			free(kpath);
		}
		fputs("]}", out);
	} else if (IS("goroutines")) {
		for (size_t i = 0; i < pg->ngr; i++) {
			const trace_tool_g *s = &pg->gr[i].sum;
			fprintf(out, "<tr><td>%zu</td><td>%.3f</td><td>%.3f</td><td>%.3f</td>",
				pg->gr[i].n, page_time(pg->ticks, s->exec), page_time(pg->ticks, s->sched),
				page_time(pg->ticks, s->block));
			for (int k = 0; k < TRACE_BLOCK_N; k++)
				fprintf(out, "<td>%.3f</td>", page_time(pg->ticks, s->block_by[k]));
			fprintf(out, "<td>%.3f</td><td>%.3f</td><td>%.3f</td><td>%.3f</td><td>",
				page_time(pg->ticks, s->sleep), page_time(pg->ticks, s->syscall),
				page_time(pg->ticks, s->io), page_time(pg->ticks, s->gc));
			put_html(out, pg->gr[i].name[0] ? pg->gr[i].name : "(unknown)");
			fputs("</td></tr>\n", out);
		}
	} else if (IS("ps")) {
		for (size_t i = 0; i < st->np; i++)
			fprintf(out, "<tr><td>P%lld</td><td>%.3f</td><td>%.1f%%</td><td></td></tr>\n",
				(long long)st->p[i].id, page_time(pg->ticks, st->p[i].busy),
				st->duration ? 100.0 * (double)st->p[i].busy / (double)st->duration : 0.0);
	}
#undef IS
}

/* One page: timeline.html with its holes filled. */
static void html_page_write(FILE *out, html_page *pg)
{
	const char *p = trace_tools_timeline_html, *hole, *end;
	while ((hole = strstr(p, "{{")) && (end = strstr(hole, "}}"))) {
		fwrite(p, 1, (size_t)(hole - p), out);
		html_fill(out, hole + 2, (size_t)(end - hole - 2), pg);
		p = end + 2;
	}
	fputs(p, out);
}

/* `trace html FILE -o path` (out is path, opened): one page, or for a large
 * trace the overview and a page per time range (timeline_pages.c), listed
 * on stderr.  0, or 1 with a message. */
static int tool_html(const trace_rd *t, const char *file, const char *path, FILE *out)
{
	trace_tool_stats st;
	trace_tool_range range;
	trace_tool_analyse(t, &st);
	trace_tool_html_range_init(&range, t, &st);
	html_page pg = {.t = t, .file = file, .st = &st, .range = &range,
			.ticks = trace_tool_virtual_clock(t), .npages = trace_tool_html_npages(t),
			.i1 = t->nev, .path = path};
	tool_group *gr = html_groups(&st, &pg.ngr);
	pg.gr = gr;
	html_page_write(out, &pg);
	int rc = 0;
	if (pg.npages)
		fprintf(stderr, "%s: %zu events: %s is an overview, aggregated; the events are in %zu "
			"pages by time range:", file, t->nev, path, pg.npages);
	for (size_t k = 1; k <= pg.npages && rc == 0; k++) {
		char *name = trace_tool_html_page_path(path, k);
		fprintf(stderr, " %s", name);
		FILE *f = fopen(name, "w");
		if (!f) {
			fprintf(stderr, "\n%s: %s\n", name, strerror(errno));
			rc = 1;
		} else {
			pg.page = k;
			pg.i0 = (k - 1) * TRACE_TOOL_HTML_PART;
			pg.i1 = k == pg.npages ? t->nev : k * TRACE_TOOL_HTML_PART;
			html_page_write(f, &pg);
			if (fclose(f) != 0) {
				fprintf(stderr, "\n%s: write error: %s\n", name, strerror(errno));
				rc = 1;
			}
		}
		free(name);
	}
	if (pg.npages && rc == 0)
		fputc('\n', stderr);
	free(gr);
	trace_tool_html_range_free(&range);
	trace_tool_stats_free(&st);
	return rc;
}

/* ---- the command line ---------------------------------------------------- */

static const char tool_usage[] =
	"usage: greenvm trace dump FILE [-s] [--g=N] [-o OUT]   -s, --stacks: each event's stack;\n"
	"                                 --g=N: only goroutine N's events\n"
	"       greenvm trace stats FILE [-o OUT]\n"
	"       greenvm trace json FILE -o OUT.json\n"
	"       greenvm trace html FILE -o OUT.html\n"
	"(-o, --output: write to OUT instead of standard output; a large trace's json\n"
	"is in parts, OUT.json, OUT-2.json...; its html is an overview, OUT.html, and\n"
	"its events by time range in OUT-1.html, OUT-2.html..., listed on stderr)\n";

/* A usage error: say why, show the usage, exit status 1 (as every greenvm
 * command's). */
static int usage_error(const char *why, const char *what)
{
	fprintf(stderr, "greenvm trace: ");
	fprintf(stderr, why, what);
	fprintf(stderr, "\n%s", tool_usage);
	return 1;
}

int trace_tool_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "stacks", no_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "g", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	if (argc < 1)
		return usage_error("%s", "no subcommand");
	const char *cmd = argv[0], *file = NULL, *outpath = NULL;
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0)
		return fputs(tool_usage, stdout), 0;
	bool dump = strcmp(cmd, "dump") == 0, needs_out = strcmp(cmd, "json") == 0 ||
		strcmp(cmd, "html") == 0;
	if (!dump && !needs_out && strcmp(cmd, "stats") != 0)
		return usage_error("unknown subcommand '%s'", cmd);
	bool stacks = false;
	int64_t only_g = -1; /* dump --g=N: only goroutine N's events */
	/* getopt_long from argv[1] (argv[0], the subcommand, is skipped), a
	 * fresh scan (optind 0) each call; we print the errors. */
	optind = 0;
	opterr = 0;
	for (;;) {
		int li = -1;
		int c = getopt_long(argc, argv, ":so:h", longopts, &li);
		if (c == -1)
			break;
		/* The argument just read: options may follow FILE (getopt_long
		 * permutes), so it is the one before optind, or the one before
		 * its value given apart (-o OUT, --g N). */
		int at = optind - 1 > 1 && optarg && optarg == argv[optind - 1] ? optind - 2 : optind - 1;
		if (at < 1)
			at = 1;
		/* long options in full: getopt_long also takes a prefix */
		if (li >= 0) {
			const char *a = argv[at] + 2;
			size_t n = strlen(longopts[li].name);
			if (strncmp(a, longopts[li].name, n) != 0 || (a[n] && a[n] != '='))
				return usage_error("unknown option '%s'", argv[at]);
		}
		if (c == 's' && dump)
			stacks = true;
		else if (c == 'g' && dump) {
			char *end = optarg;
			errno = 0;
			only_g = optarg[0] >= '0' && optarg[0] <= '9' ? strtoll(optarg, &end, 10) : -1;
			if (only_g < 0 || errno || *end)
				return usage_error("--g needs a goroutine number, not '%s'", optarg);
		} else if (c == 'o')
			outpath = optarg;
		else if (c == 'h')
			return fputs(tool_usage, stdout), 0;
		else if (c == ':' && optopt == 'g')
			return usage_error("%s needs a goroutine number", argv[at]);
		else if (c == ':')
			return usage_error("%s needs a file name", argv[at]);
		else
			return usage_error("unknown option '%s'", argv[at]);
	}
	if (optind >= argc)
		return usage_error("%s: no trace file given", cmd);
	file = argv[optind];
	if (optind + 1 < argc)
		return usage_error("more than one trace file ('%s')", argv[optind + 1]);
	if (needs_out && !outpath)
		return usage_error("%s needs -o OUT", cmd);
	trace_rd t;
	char *err = xmalloc(512);
	if (trace_rd_file(&t, file, err, 512) != 0) {
		fprintf(stderr, "%s\n", err);
		free(err);
		return 1;
	}
	free(err);
	FILE *out = stdout;
	if (outpath && !(out = fopen(outpath, "w"))) {
		fprintf(stderr, "%s: %s\n", outpath, strerror(errno));
		trace_rd_free(&t);
		return 1;
	}
	int rc = 0;
	if (strcmp(cmd, "dump") == 0)
		trace_tool_dump(&t, stacks, only_g, out);
	else if (strcmp(cmd, "stats") == 0)
		rc = tool_stats(&t, file, out);
	else if (strcmp(cmd, "json") == 0)
		rc = trace_tool_json(&t, file, outpath, out);
	else
		rc = tool_html(&t, file, outpath, out);
	if (fflush(out) != 0 || ferror(out)) {
		fprintf(stderr, "%s: write error: %s\n", outpath ? outpath : "stdout", strerror(errno));
		rc = 1;
	}
	if (out != stdout)
		fclose(out);
	trace_rd_free(&t);
	return rc;
}
