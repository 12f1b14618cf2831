/* timeline_pages.c: the html timeline's events, for the whole trace or for
 * one time range, and `greenvm trace html` split into pages.
 *
 * The page draws two kinds of lane from the data written here
 * (timeline.js): a P lane holds the running slices of the goroutines that
 * ran on it (from each GoStart to the event that ends it), a goroutine lane
 * holds the goroutine's states (running, runnable, blocked, in a syscall,
 * sleeping), one segment from each transition to the next.
 *
 * A trace of up to TRACE_TOOL_HTML_DETAIL events is one page with every
 * event.  A larger one would make a page a browser cannot open, so, as `go
 * tool trace` splits a large trace into time ranges and lists them on its
 * main page, `trace html FILE -o OUT.html` writes
 *
 *   - OUT.html, the overview: the whole trace aggregated per 1/20,000 of its
 *     length (timeline_aggregate.c), the goroutine analysis, and the list of
 *     the pages;
 *   - OUT-1.html, OUT-2.html, ...: every event of one time range each, the
 *     events of json's parts (TRACE_TOOL_HTML_PART of them: OUT-2.html
 *     shows what OUT-2.json holds).  A slice or state that began before the
 *     range and lasts into it is drawn too.
 *
 * The pages link one another: zoomed in far enough, the overview names the
 * page (or two) holding the events on screen, and opens it at the same
 * zoom on a double click; a page links the previous and next ones and the
 * overview.  All times are the whole trace's, so a zoom carries from page
 * to page (page.html#t=FROM,TO).
 *
 * Ranges are written in order (trace_tool_html_range_data), carrying the
 * state at the start of each: for every goroutine the segment it is in,
 * for every P the slice it runs.  A segment is written where it starts, so
 * its end must be known then: next[i] is the index of the next transition
 * of event i's goroutine, computed once by a pass backwards.
 */
/* The tools run on an ordinary thread stack, never on g0. */
#pragma GCC diagnostic ignored "-Wframe-larger-than="

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gc/common.h"
#include "gc/gc.h"
#include "trace/tools/tools.h"

static bool is_start(const trace_rd_event *e)
{
	return e->type == TRACE_EV_GO_START || e->type == TRACE_EV_GO_START_LABEL;
}

/* A real P, not one of Go's fake ones. */
static bool real_p_id(int64_t p)
{
	return p >= 0 && p < TRACE_RD_TIMER_P;
}

void trace_tool_html_range_init(trace_tool_range *r, const trace_rd *t, const trace_tool_stats *st)
{
	*r = (trace_tool_range){.t = t, .st = st};
	r->next = xmalloc((t->nev + 1) * sizeof *r->next);
	r->open = xmalloc((st->ng + 1) * sizeof *r->open);
	r->since = xmalloc((st->ng + 1) * sizeof *r->since);
	r->seen = xmalloc(st->ng + 1);
	r->run = xmalloc((t->npids + 1) * sizeof *r->run);
	/* next[]: backwards, the last transition seen of each goroutine. */
	uint32_t *last = r->since; /* free until the walk starts */
	for (size_t k = 0; k < st->ng; k++)
		last[k] = TRACE_RD_NONE, r->open[k] = -1;
	for (size_t i = t->nev; i-- > 0;) {
		uint64_t g;
		long k = trace_tool_g_transition(t, &t->ev[i], &g) == -2 ? -1 : trace_tool_g_index(st, g);
		r->next[i] = TRACE_RD_NONE;
		if (k < 0)
			continue;
		r->next[i] = last[k];
		last[k] = (uint32_t)i;
	}
	for (size_t k = 0; k < t->npids; k++)
		r->run[k] = TRACE_RD_NONE;
}

void trace_tool_html_range_free(trace_tool_range *r)
{
	free(r->next), free(r->open), free(r->since), free(r->seen), free(r->run);
	memset(r, 0, sizeof *r);
}

/* Event i's goroutine state change, walked in order: what is open now. */
static void walk(trace_tool_range *r, size_t i)
{
	const trace_rd_event *e = &r->t->ev[i];
	uint64_t g;
	int state = trace_tool_g_transition(r->t, e, &g);
	long k = state == -2 ? -1 : trace_tool_g_index(r->st, g);
	if (k >= 0)
		r->open[k] = state, r->since[k] = (uint32_t)i;
	if (is_start(e) && real_p_id(trace_rd_p(r->t, e)))
		r->run[e->p] = (uint32_t)i;
}

/* The end of a slice or segment whose closing event is `end` (NONE: it
 * lasts to the trace's end), and that event's type + 1 for D.why (0: ""). */
static int64_t end_ts(const trace_tool_range *r, uint32_t end)
{
	return end == TRACE_RD_NONE ? r->st->duration : r->t->ev[end].ts;
}

static int end_why(const trace_tool_range *r, uint32_t end)
{
	return end == TRACE_RD_NONE ? 0 : r->t->ev[end].type + 1;
}

/* The event that ends the running slice begun by GoStart i (NONE: the
 * trace's end). */
static uint32_t run_end(const trace_tool_range *r, size_t i)
{
	const trace_rd_event *end = trace_tool_slice_end(r->t, &r->t->ev[i]);
	return end ? (uint32_t)(end - r->t->ev) : TRACE_RD_NONE;
}

/* The running slice begun by GoStart i: [p, g, start - from, length, why]. */
static void put_run(trace_tool_range *r, FILE *out, size_t i, bool *first)
{
	const trace_rd *t = r->t;
	const trace_rd_event *e = &t->ev[i];
	uint32_t end = run_end(r, i);
	fprintf(out, "%s[%lld,%llu,%lld,%lld,%d]", *first ? "" : ",", (long long)trace_rd_p(t, e),
		(unsigned long long)trace_rd_g(t, e), (long long)(e->ts - r->from),
		(long long)(end_ts(r, end) - e->ts), end_why(r, end));
	*first = false;
}

/* Goroutine k's segment begun by event i in state: [g, state, start - from,
 * length, why]. */
static void put_seg(trace_tool_range *r, FILE *out, long k, int state, size_t i, bool *first)
{
	uint32_t end = r->next[i];
	int64_t a = r->t->ev[i].ts;
	fprintf(out, "%s[%llu,%d,%lld,%lld,%d]", *first ? "" : ",",
		(unsigned long long)r->st->g[k].id, state, (long long)(a - r->from),
		(long long)(end_ts(r, end) - a), end_why(r, end));
	r->seen[k] = 1;
	*first = false;
}

void trace_tool_html_range_data(trace_tool_range *r, size_t i0, size_t i1, FILE *out)
{
	const trace_rd *t = r->t;
	const trace_tool_stats *st = r->st;
	bool whole = i0 == 0 && i1 >= t->nev;
	for (; r->done < i0; r->done++)
		walk(r, r->done);
	int64_t from = i0 == 0 || i0 >= t->nev ? 0 : t->ev[i0].ts;
	int64_t to = i1 >= t->nev ? st->duration : t->ev[i1].ts;
	r->from = from;
	fprintf(out, "{\"dur\":%lld,\"from\":%lld,\"to\":%lld,\"why\":[\"\"", (long long)st->duration,
		(long long)from, (long long)to);
	for (int type = 0; type < TRACE_EV_COUNT; type++)
		fprintf(out, ",\"%s\"", trace_rd_name(type));
	fputs("],\"ps\":[", out);
	for (size_t i = 0; i < st->np; i++)
		fprintf(out, "%s%lld", i ? "," : "", (long long)st->p[i].id);
	memset(r->seen, 0, st->ng + 1);
	/* run: [p, g, start - from, length, why]: the P lanes (times from the
	 * range's start keep the numbers short).  First the slices running
	 * when the range begins. */
	fputs("],\"run\":[", out);
	bool first = true;
	for (size_t k = 0; k < t->npids; k++)
		if (r->run[k] != TRACE_RD_NONE && end_ts(r, run_end(r, r->run[k])) > from)
			put_run(r, out, r->run[k], &first);
	for (size_t i = i0; i < i1 && i < t->nev; i++)
		if (is_start(&t->ev[i]) && real_p_id(trace_rd_p(t, &t->ev[i])))
			put_run(r, out, i, &first);
	/* seg: [g, state, start - from, length, why]: the goroutine lanes.
	 * First the segments open when the range begins. */
	fputs("],\"seg\":[", out);
	first = true;
	for (size_t k = 0; k < st->ng; k++)
		if (r->open[k] >= 0 && r->since[k] < i0)
			put_seg(r, out, (long)k, r->open[k], r->since[k], &first);
	for (; r->done < i1 && r->done < t->nev; r->done++) {
		size_t i = r->done;
		uint64_t g;
		int state = trace_tool_g_transition(t, &t->ev[i], &g);
		long k = state < 0 ? -1 : trace_tool_g_index(st, g);
		if (k >= 0)
			put_seg(r, out, k, state, i, &first);
		walk(r, i);
	}
	/* gs: the goroutines drawn (every one, for the whole trace). */
	fputs("],\"gs\":[", out);
	first = true;
	for (size_t k = 0; k < st->ng; k++) {
		if (!whole && !r->seen[k])
			continue;
		fprintf(out, "%s{\"id\":%llu,\"fn\":", first ? "" : ",", (unsigned long long)st->g[k].id);
		json_put_string(out, st->g[k].name);
		fputs("}", out);
		first = false;
	}
	fputs("]}", out);
}

size_t trace_tool_html_npages(const trace_rd *t)
{
	if (t->nev <= TRACE_TOOL_HTML_DETAIL)
		return 0;
	return (t->nev + TRACE_TOOL_HTML_PART - 1) / TRACE_TOOL_HTML_PART;
}

char *trace_tool_html_page_path(const char *path, size_t k)
{
	size_t len = strlen(path);
	size_t stem = len > 5 && strcmp(path + len - 5, ".html") == 0 ? len - 5 : len;
	char *name = xmalloc(len + 32);
	if (k == 0)
		memcpy(name, path, len + 1);
	else
		snprintf(name, len + 32, "%.*s-%zu.html", (int)stem, path, k);
	return name;
}

const char *trace_tool_basename(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}
