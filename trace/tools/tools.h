/* tools.h: `greenvm trace dump|stats|json|html`, the trace tools
 * (trace/tools/tools.c), the public header of the trace tools library.
 *
 * The tools read a trace with the reader (reader.h) and show it: one event a
 * line, Go's goroutine analysis, a Chrome trace (JSON) or one HTML page.
 * The analysis is exposed for the tests, which check it against numbers
 * computed from `go tool trace -d`.
 */
#ifndef GREENVM_TRACE_TOOLS_H
#define GREENVM_TRACE_TOOLS_H

#include <stdint.h>

#include "trace/tools/reader.h"

/* The entry of `greenvm trace ...`: argv[0] is the subcommand (dump, stats,
 * json, html), then its arguments (getopt_long).  Returns the exit status:
 * 0, or 1 on a usage error or when the trace cannot be read or the output
 * written (greenvm's status for bad usage and bad input). */
int trace_tool_main(int argc, char **argv);

/* `trace dump` (tools_dump.c): every event of t, one a line as `go tool
 * trace -d` prints it; with stacks, each event's stack below it; with g >= 0,
 * only the events goroutine g acts in or is the argument of, each line
 * labelled with trace_tool_g_role's word. */
void trace_tool_dump(const trace_rd *t, bool stacks, int64_t g, FILE *out);
/* "acts" (e happened on goroutine g), "arg" (g is e's argument: the G a
 * GoCreate makes, a GoUnblock wakes...), "acts+arg", or NULL. */
const char *trace_tool_g_role(const trace_rd *t, const trace_rd_event *e, uint64_t g);

/* `trace html` (timeline_focus.c): the page's {{flows}}, the time unit and
 * the create and unblock flows of each goroutine as JSON, which
 * timeline.js draws when a goroutine is clicked: those of events [i0, i1),
 * or, aggregated, of the whole trace thinned. */
void trace_tool_html_flows(const trace_rd *t, size_t i0, size_t i1, bool aggregated, FILE *out);
/* `trace json`: the Chrome trace of events [i0, i1) of t (tools.c); 0. */
int trace_tool_json_range(const trace_rd *t, FILE *out, size_t i0, size_t i1);
/* Above this many events `trace json` writes the trace in parts by time
 * range (timeline_json.c): OUT.json, OUT-2.json, ... */
#define TRACE_TOOL_JSON_PART 250000
/* `trace json FILE -o path` (out is path, opened): the whole trace, or its
 * parts.  0, or 1 with a message on stderr. */
int trace_tool_json(const trace_rd *t, const char *file, const char *path, FILE *out);
/* True for a trace written with greenvm's virtual clock: times are ticks. */
bool trace_tool_virtual_clock(const trace_rd *t);

/* Why a goroutine waits, for block times split by reason. */
enum trace_tool_block {
	TRACE_BLOCK_SEND, TRACE_BLOCK_RECV, TRACE_BLOCK_SELECT, TRACE_BLOCK_SYNC,
	TRACE_BLOCK_COND, TRACE_BLOCK_N
};

/* One goroutine's times in ns, as Go's internal/trace GDesc computes them. */
typedef struct trace_tool_g {
	uint64_t id;        /* goroutine id */
	uint64_t pc;        /* PC of its start function (first GoStart's stack) */
	const char *name;   /* its start function, "" if unknown */
	int64_t create;     /* GoCreate time */
	int64_t start, end; /* first GoStart, GoEnd/GoStop time (0: none) */
	int64_t exec;       /* running */
	int64_t sched;      /* runnable, waiting for a P */
	int64_t io;         /* blocked on the network */
	int64_t block;      /* blocked on send, recv, select, sync, cond (Go's BlockTime) */
	int64_t block_by[TRACE_BLOCK_N]; /* block split by reason; sums to block */
	int64_t sleep;      /* in time.Sleep (greenvm's addition; not in Go's pages) */
	int64_t syscall;    /* in blocking syscalls */
	int64_t gc;         /* overlapping GC */
	int64_t sweep;      /* sweeping */
	int64_t total;      /* creation to end */
	/* Pending state while the events are walked (Go's private gdesc). */
	int64_t last_start, since_net, since_sync, since_syscall, since_sweep, since_sched,
		since_sleep;
	int block_kind;     /* reason of the pending sync block */
	int created;        /* its GoCreate has been walked */
} trace_tool_g;

/* One P's use. */
typedef struct trace_tool_p {
	int64_t id;      /* P id */
	int64_t busy;    /* ns a goroutine ran on it */
	int64_t since;   /* start of the running goroutine's slice, -1: idle */
} trace_tool_p;

/* The analysis of a whole trace. */
typedef struct trace_tool_stats {
	trace_tool_g *g;  /* goroutines sorted by id */
	size_t ng;        /* how many */
	trace_tool_p *p;  /* real Ps (not Go's fake ones) sorted by id */
	size_t np;        /* how many */
	int64_t duration; /* ns from the first to the last event */
} trace_tool_stats;

/* Analyse t into *st (Go's GoroutineStats, plus P use); free it with
 * trace_tool_stats_free. */
void trace_tool_analyse(const trace_rd *t, trace_tool_stats *st);
void trace_tool_stats_free(trace_tool_stats *st);

/* The timeline's lanes, which `trace json`, the pages' data
 * (timeline_pages.c) and the aggregated data walk alike (tools.c). */
/* Write `"ps":[...],"gs":[...]`: the ids of the P lanes, and the id and
 * start function of each goroutine lane. */
void trace_tool_html_lanes(const trace_tool_stats *st, FILE *out);
/* The event that ends the running slice the GoStart `start` begins, or
 * NULL when the slice runs to the end of the trace. */
const trace_rd_event *trace_tool_slice_end(const trace_rd *t, const trace_rd_event *start);
/* The segments of the goroutine lanes: seg(arg, k, state, a, b, why) for
 * each, from one transition of goroutine st->g[k] to its next (why: the
 * event that ended it), in the order of their ends; then each goroutine's
 * last, still open at the end of the trace (why ""), and done(arg, k) if
 * done is not NULL, in st's order.  state is the page's: 0 running, 1
 * runnable, 2 blocked, 3 syscall, 4 sleeping. */
void trace_tool_g_segments(const trace_rd *t, const trace_tool_stats *st,
			   void (*seg)(void *arg, size_t k, int state, int64_t a, int64_t b,
				       const char *why),
			   void (*done)(void *arg, size_t k), void *arg);
/* The goroutine-lane state event e leaves its goroutine in (the numbers
 * above; -1 it ends), or -2 when e is no transition; *g is the goroutine.
 * And goroutine id g's index in st->g, or -1. */
int trace_tool_g_transition(const trace_rd *t, const trace_rd_event *e, uint64_t *g);
long trace_tool_g_index(const trace_tool_stats *st, uint64_t g);

/* Above this many events `trace html` writes an overview, its timeline
 * aggregated (timeline_aggregate.c: the page stays a few MB), and the
 * events in pages by time range of TRACE_TOOL_HTML_PART events each, the
 * events of json's parts (timeline_pages.c). */
#define TRACE_TOOL_HTML_DETAIL 300000
#define TRACE_TOOL_HTML_PART TRACE_TOOL_JSON_PART
/* The timeline data of trace_tool_html_range_data's shape, each lane's
 * items merged per bucket of time.  And the flows, thinned. */
void trace_tool_html_data_aggregate(const trace_rd *t, const trace_tool_stats *st, FILE *out);
void trace_tool_html_flows_aggregate(const trace_rd *t, int64_t duration, FILE *out);

/* The timeline's events, range after range (timeline_pages.c). */
typedef struct trace_tool_range {
	const trace_rd *t;
	const trace_tool_stats *st;
	uint32_t *next;   /* per event: its goroutine's next transition, or NONE */
	int *open;        /* per goroutine (index in st->g): its state, -1: none */
	uint32_t *since;  /* per goroutine: the event that began that state */
	uint8_t *seen;    /* per goroutine: drawn in the range being written */
	uint32_t *run;    /* per P (index in t->pids): its last GoStart, or NONE */
	size_t done;      /* events walked */
	int64_t from;     /* the time the range being written begins */
} trace_tool_range;
void trace_tool_html_range_init(trace_tool_range *r, const trace_rd *t, const trace_tool_stats *st);
void trace_tool_html_range_free(trace_tool_range *r);
/* The data of events [i0, i1) as JSON, {dur, from, to, why, ps, run, seg,
 * gs} (timeline.js says what each holds), with the slices and states that
 * began before i0 and last into the range; ranges must come in order. */
void trace_tool_html_range_data(trace_tool_range *r, size_t i0, size_t i1, FILE *out);
/* The number of event pages of t: 0 when it is one page. */
size_t trace_tool_html_npages(const trace_rd *t);
/* Page k's file: path for 0 (the only page, or the overview), else
 * path's stem + "-k.html" (free it). */
char *trace_tool_html_page_path(const char *path, size_t k);
const char *trace_tool_basename(const char *path);

#endif
