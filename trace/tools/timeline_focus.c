/* timeline_focus.c: one goroutine and its flows in `greenvm trace html`,
 * and the page's goroutine colours and time unit.
 *
 * A click on a goroutine's slice (on a P lane or its own lane) selects it:
 * everything else fades, and its flows are drawn as arrows between the
 * goroutine lanes: who created it and whom it created (GoCreate), who woke
 * it and whom it woke (GoUnblock).  A click on nothing clears the
 * selection; the page's address may select one too (page.html#g=5).
 *
 * Goroutines are drawn on the P lanes in colours of their own, from hues
 * the state legend does not use (greens, teals, pinks), so a running G is
 * never mistaken for a state.  A trace written with the virtual clock
 * (greenvm's --trace-clock=virtual, told by its frequency of exactly 1e9
 * ticks a second) has its times shown in ticks.
 *
 * This file writes the page's {{flows}} (timeline.html): the flows and the
 * unit as data (<script id="flows">), which timeline.js draws; the script
 * writes what it shows into <body data-focus data-flows> for the tests.
 */
/* The tools run on an ordinary thread stack, never on g0. */
#pragma GCC diagnostic ignored "-Wframe-larger-than="

#include "trace/tools/tools.h"

/* The flows: [kind (0 create, 1 unblock), from goroutine (0: none), to
 * goroutine, time]. */
static void focus_flows(const trace_rd *t, size_t i0, size_t i1, bool aggregated, FILE *out)
{
	bool first = true;
	fprintf(out, "{\"unit\":\"%s\",\"flows\":[", trace_tool_virtual_clock(t) ? "ticks" : "ns");
	if (aggregated) {
		trace_tool_html_flows_aggregate(t, t->nev ? t->ev[t->nev - 1].ts : 0, out);
		fputs("]}", out);
		return;
	}
	for (size_t i = i0; i < i1 && i < t->nev; i++) {
		const trace_rd_event *e = &t->ev[i];
		int kind = e->type == TRACE_EV_GO_CREATE ? 0 : e->type == TRACE_EV_GO_UNBLOCK ? 1 : -1;
		if (kind < 0)
			continue;
		fprintf(out, "%s[%d,%llu,%llu,%lld]", first ? "" : ",", kind,
			(unsigned long long)trace_rd_g(t, e), (unsigned long long)trace_rd_arg(t, e, 0),
			(long long)e->ts);
		first = false;
	}
	fputs("]}", out);
}

bool trace_tool_virtual_clock(const trace_rd *t)
{
	return t->freq == 1000000000u;
}

void trace_tool_html_flows(const trace_rd *t, size_t i0, size_t i1, bool aggregated, FILE *out)
{
	focus_flows(t, i0, i1, aggregated, out);
}
