/* fuzz_reader.c: fuzz target for the trace reader and the trace tools'
 * goroutine analysis (what `greenvm trace stats` runs).
 *
 * Any bytes are a trace file.  Rules checked beyond "no crash":
 *   - a refusal is a message that names the file and the byte offset
 *     ("fuzz.trace: offset 0x...: ...");
 *   - a trace that parses has its events in time order; each event
 *     prints as `greenvm trace dump` prints it, its stack's frames name
 *     strings, and the goroutine analysis runs on the whole.
 * Seeds: the traces of tests/golden/ and of the bundled programs.
 *
 * Only the public functions of the reader and the tools are called.
 */
#include "tests/fuzz/fuzz.h"

#include "trace/tools/reader.h"
#include "trace/tools/tools.h"

#define NAME "fuzz.trace"

static void fuzz_one(const uint8_t *data, size_t len)
{
	trace_rd t;
	char err[512] = "";
	if (trace_rd_mem(&t, data, len, NAME, err, sizeof err) != 0) {
		FUZZ_CHECK(strncmp(err, NAME ": offset 0x", strlen(NAME ": offset 0x")) == 0 ||
				   strcmp(err, NAME ": out of memory") == 0,
			   "reader message \"%s\"", err);
		return;
	}
	static FILE *null; /* opened once: a persistent run takes many inputs */
	if (!null)
		null = fopen("/dev/null", "w");
	FUZZ_CHECK(null != NULL, "cannot open /dev/null");
	for (size_t i = 0; i < t.nev; i++) {
		const trace_rd_event *e = &t.ev[i];
		FUZZ_CHECK(i == 0 || t.ev[i - 1].ts <= e->ts, "event %zu is earlier than event %zu", i, i - 1);
		trace_rd_print(&t, e, null);
		int n;
		const trace_rd_frame *f = trace_rd_stack(&t, trace_rd_stk(&t, e), &n);
		for (int k = 0; k < n; k++)
			fprintf(null, "%s %s:%llu\n", trace_rd_string(&t, f[k].fn),
				trace_rd_string(&t, f[k].file), (unsigned long long)f[k].line);
	}
	trace_tool_stats st;
	trace_tool_analyse(&t, &st); /* out of memory exits (xmalloc) */
	trace_tool_stats_free(&st);
	trace_rd_free(&t);
}
