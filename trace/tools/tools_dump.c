/* tools_dump.c: `greenvm trace dump`, one event a line, and its two options:
 * -s (each event's stack) and --g=N (only goroutine N's events).
 *
 * A line is `go tool trace -d`'s, so the two can be compared: time, event
 * name, p= and g= (the P and goroutine the event happened on), off= (its
 * byte offset in the file), then the event's own arguments by Go's names.
 * docs/goroutine-life.md explains every field.
 */
/* The tools run on an ordinary thread stack, never on g0. */
#pragma GCC diagnostic ignored "-Wframe-larger-than="

#include "trace/tools/tools.h"

/* The goroutine an event is about, as its first argument (GoCreate: the new
 * one; GoUnblock: the one woken; ...), or 0 when it has none. */
static uint64_t arg_g(const trace_rd *t, const trace_rd_event *e)
{
	switch (e->type) {
	case TRACE_EV_GO_CREATE: case TRACE_EV_GO_START: case TRACE_EV_GO_START_LABEL:
	case TRACE_EV_GO_UNBLOCK: case TRACE_EV_GO_SYSEXIT: case TRACE_EV_GO_WAITING:
	case TRACE_EV_GO_IN_SYSCALL: case TRACE_EV_TIMER_GOROUTINE:
		return trace_rd_arg(t, e, 0);
	}
	return 0;
}

/* Which part goroutine g plays in e: "acts" (it happened on g), "arg" (g is
 * its argument), "acts+arg" (both, as in a GoStart), or NULL (none). */
const char *trace_tool_g_role(const trace_rd *t, const trace_rd_event *e, uint64_t g)
{
	bool acts = trace_rd_g(t, e) == g, arg = arg_g(t, e) == g;
	if (e->type == TRACE_EV_CPU_SAMPLE)
		acts = trace_rd_arg(t, e, 2) == g; /* a sample's g is an argument */
	return acts && arg ? "acts+arg" : acts ? "acts" : arg ? "arg" : NULL;
}

void trace_tool_dump(const trace_rd *t, bool stacks, int64_t g, FILE *out)
{
	for (size_t i = 0; i < t->nev; i++) {
		const trace_rd_event *e = &t->ev[i];
		if (g >= 0) {
			const char *role = trace_tool_g_role(t, e, (uint64_t)g);
			if (!role)
				continue;
			fprintf(out, "%-9s", role);
		}
		trace_rd_print(t, e, out);
		if (!stacks)
			continue;
		int n;
		const trace_rd_frame *f = trace_rd_stack(t, trace_rd_stk(t, e), &n);
		/* A GoStart carries no stack in the file: Go's parser gives the
		 * first start of a goroutine the start stack of its GoCreate.
		 * Say so, rather than let it pass for where the G was. */
		bool lent = n > 0 && (e->type == TRACE_EV_GO_START || e->type == TRACE_EV_GO_START_LABEL);
		if (lent)
			fprintf(out, "    (not in the event: the start stack its GoCreate gave)\n");
		for (int k = 0; k < n; k++)
			fprintf(out, "    %s %s:%llu\n", trace_rd_string(t, f[k].fn),
				trace_rd_string(t, f[k].file), (unsigned long long)f[k].line);
	}
}
