/* timeline_aggregate.c: the html timeline's data for a large trace.
 *
 * A trace of millions of events (a deterministic pingpong 800000 writes
 * 2.4 M) would give a page of one item per running slice and per goroutine
 * state: over 100 MB, more than a browser opens comfortably.  Above
 * TRACE_TOOL_HTML_DETAIL events, `trace html` writes this as the overview
 * instead: each lane's time is cut into AGG_BUCKETS equal buckets and the
 * items that start in one bucket become one item, from the first start to
 * the last end, drawn in the colour of its longest part and labelled with
 * how many it stands for.  The page stays a few MB whatever the trace's
 * length; zoomed in, it still shows buckets, and links the pages that hold
 * the events of what is on screen (timeline_pages.c).  The flows
 * (GoCreate, GoUnblock) are thinned the same way: one per bucket for each
 * pair of goroutines.
 *
 * The data has the shape trace_tool_html_range_data (timeline_pages.c)
 * writes, so the same script draws it: [lane, g or state, start, length,
 * what ended it], here a text ("N merged" for a merged item).
 */
/* The tools run on an ordinary thread stack, never on g0. */
#pragma GCC diagnostic ignored "-Wframe-larger-than="

#include <stdlib.h>

#include "gc/common.h"
#include "gc/gc.h"
#include "trace/tools/tools.h"

#define AGG_BUCKETS 20000 /* per lane, over the whole trace */

/* The item a lane is building. */
typedef struct agg_item {
	bool open;         /* an item is pending */
	uint64_t g;        /* its goroutine; 0 when merged ones differ */
	int state;         /* state of its longest part */
	int64_t a, b;      /* start, end */
	int64_t longest;   /* length of its longest part */
	size_t n;          /* items merged into it */
	const char *why;   /* what ended it, when n == 1 */
} agg_item;

typedef struct agg_out {
	FILE *out;
	bool first;        /* no item written yet in this array */
	int64_t width;     /* bucket width in ns */
} agg_out;

static void agg_flush(agg_out *o, agg_item *it, int64_t lane, bool p_lane)
{
	if (!it->open)
		return;
	char why[64];
	if (it->n > 1)
		snprintf(why, sizeof why, "%zu merged", it->n);
	else
		snprintf(why, sizeof why, "%s", it->why);
	if (p_lane)
		fprintf(o->out, "%s[%lld,%llu,%lld,%lld,\"%s\"]", o->first ? "" : ",", (long long)lane,
			(unsigned long long)it->g, (long long)it->a, (long long)(it->b - it->a), why);
	else
		fprintf(o->out, "%s[%llu,%d,%lld,%lld,\"%s\"]", o->first ? "" : ",",
			(unsigned long long)it->g, it->state, (long long)it->a, (long long)(it->b - it->a), why);
	o->first = false;
	it->open = false;
}

/* Add [a, b) of goroutine g in state to a lane's pending item, writing the
 * pending one first if a starts in a later bucket. */
static void agg_add(agg_out *o, agg_item *it, int64_t lane, bool p_lane, uint64_t g, int state,
		    int64_t a, int64_t b, const char *why)
{
	if (it->open && a / o->width != it->a / o->width)
		agg_flush(o, it, lane, p_lane);
	if (!it->open) {
		*it = (agg_item){true, g, state, a, b, b - a, 1, why};
		return;
	}
	if (it->g != g)
		it->g = 0;
	if (b - a > it->longest)
		it->longest = b - a, it->state = state;
	if (b > it->b)
		it->b = b;
	it->n++;
}

static bool real_p_id(int64_t p)
{
	return p >= 0 && p < TRACE_RD_TIMER_P;
}

/* The goroutine lanes' segments, merged into their lane's pending item. */
struct seg_agg {
	agg_out *o;
	agg_item *gl;      /* one pending item per goroutine */
	const trace_tool_stats *st;
};

static void seg_add(void *arg, size_t k, int state, int64_t a, int64_t b, const char *why)
{
	struct seg_agg *sa = arg;
	agg_add(sa->o, &sa->gl[k], 0, false, sa->st->g[k].id, state, a, b, why);
}

static void seg_done(void *arg, size_t k)
{
	struct seg_agg *sa = arg;
	agg_flush(sa->o, &sa->gl[k], 0, false);
}

void trace_tool_html_data_aggregate(const trace_rd *t, const trace_tool_stats *st, FILE *out)
{
	agg_out o = {out, true, st->duration / AGG_BUCKETS + 1};
	agg_item *pl = xcalloc(t->npids + 1, sizeof *pl);
	agg_item *gl = xcalloc(st->ng + 1, sizeof *gl);
	fprintf(out, "{\"dur\":%lld,\"aggregated\":%d,", (long long)st->duration, AGG_BUCKETS);
	trace_tool_html_lanes(st, out);
	/* run: the P lanes, one pending item per P index */
	fputs(",\"run\":[", out);
	for (size_t i = 0; i < t->nev; i++) {
		const trace_rd_event *e = &t->ev[i];
		int64_t p = trace_rd_p(t, e);
		if ((e->type != TRACE_EV_GO_START && e->type != TRACE_EV_GO_START_LABEL) || !real_p_id(p))
			continue;
		const trace_rd_event *end = trace_tool_slice_end(t, e);
		agg_add(&o, &pl[e->p], p, true, trace_rd_g(t, e), 0, e->ts,
			end ? end->ts : st->duration, end ? trace_rd_name(end->type) : "");
	}
	for (size_t k = 0; k < t->npids; k++)
		agg_flush(&o, &pl[k], t->pids[k], true);
	/* seg: the goroutine lanes, one pending item per goroutine */
	fputs("],\"seg\":[", out);
	o.first = true;
	struct seg_agg sa = {&o, gl, st};
	trace_tool_g_segments(t, st, seg_add, seg_done, &sa);
	fputs("]}", out);
	free(pl), free(gl);
}

/* The flows of a large trace: the first of each bucket for each pair of
 * goroutines (pairs are few in such traces; a hash of the last bucket per
 * pair keeps the rest out). */
void trace_tool_html_flows_aggregate(const trace_rd *t, int64_t duration, FILE *out)
{
	enum { SLOTS = 1 << 16 };
	struct { uint64_t from, to; int64_t bucket; } *seen = xcalloc(SLOTS, sizeof *seen);
	int64_t width = duration / AGG_BUCKETS + 1;
	bool first = true;
	for (size_t i = 0; i < t->nev; i++) {
		const trace_rd_event *e = &t->ev[i];
		int kind = e->type == TRACE_EV_GO_CREATE ? 0 : e->type == TRACE_EV_GO_UNBLOCK ? 1 : -1;
		if (kind < 0)
			continue;
		uint64_t from = trace_rd_g(t, e), to = trace_rd_arg(t, e, 0);
		int64_t b = e->ts / width + 1;
		size_t h = (size_t)((from * 0x9e3779b97f4a7c15u) ^ (to * 0xc2b2ae3d27d4eb4fu)) % SLOTS;
		if (seen[h].from == from && seen[h].to == to && seen[h].bucket == b)
			continue;
		seen[h].from = from, seen[h].to = to, seen[h].bucket = b;
		fprintf(out, "%s[%d,%llu,%llu,%lld]", first ? "" : ",", kind, (unsigned long long)from,
			(unsigned long long)to, (long long)e->ts);
		first = false;
	}
	free(seen);
}
