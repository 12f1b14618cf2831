/* timeline_json.c: `greenvm trace json` in parts for a large trace.
 *
 * A browser's trace viewer (chrome://tracing, Perfetto) struggles with a
 * JSON file of hundreds of MB, which a trace of millions of events gives.
 * Like `go tool trace`, which splits such traces by time range, `trace
 * json` writes a trace of more than TRACE_TOOL_JSON_PART events as several
 * files, each a complete Chrome trace of consecutive events: OUT.json
 * holds the first part, OUT-2.json the second, and so on; it prints the
 * list on stderr.  A slice that starts in one part is drawn whole there.
 */
/* The tools run on an ordinary thread stack, never on g0. */
#pragma GCC diagnostic ignored "-Wframe-larger-than="

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gc/gc.h"
#include "trace/tools/tools.h"

int trace_tool_json(const trace_rd *t, const char *file, const char *path, FILE *out)
{
	if (t->nev <= TRACE_TOOL_JSON_PART)
		return trace_tool_json_range(t, out, 0, t->nev);
	size_t parts = (t->nev + TRACE_TOOL_JSON_PART - 1) / TRACE_TOOL_JSON_PART;
	size_t len = strlen(path);
	size_t stem = len > 5 && strcmp(path + len - 5, ".json") == 0 ? len - 5 : len;
	char *name = xmalloc(len + 32);
	fprintf(stderr, "%s: %zu events, written in %zu parts by time range: %s", file, t->nev,
		parts, path);
	int rc = trace_tool_json_range(t, out, 0, TRACE_TOOL_JSON_PART);
	for (size_t k = 1; k < parts && rc == 0; k++) {
		snprintf(name, len + 32, "%.*s-%zu.json", (int)stem, path, k + 1);
		fprintf(stderr, " %s", name);
		FILE *f = fopen(name, "w");
		if (!f) {
			fprintf(stderr, "\n%s: %s\n", name, strerror(errno));
			rc = 1;
			break;
		}
		size_t i1 = (k + 1) * TRACE_TOOL_JSON_PART;
		rc = trace_tool_json_range(t, f, k * TRACE_TOOL_JSON_PART, i1 < t->nev ? i1 : t->nev);
		if (fclose(f) != 0 && rc == 0) {
			fprintf(stderr, "\n%s: write error: %s\n", name, strerror(errno));
			rc = 1;
		}
	}
	fputc('\n', stderr);
	free(name);
	return rc;
}
