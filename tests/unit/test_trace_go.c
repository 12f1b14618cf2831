/* test_trace_go.c: end to end, Go's own parser (`go tool trace -d`) judges a
 * synthetic trace written in DIRECT and in LEGACY dump mode. */
#include <libgen.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/trace/decode.h"
#include "tests/trace/fakevm.h"
#include "tests/unit/unit.h"

#define GO "/usr/lib/go-1.19/bin/go"

static char outdir[512]; /* folder of this program: trace files go there */

/* A deep stack numbered s, with long names (fakevm.h). */
static int deep(int s, uint64_t *pcs)
{
	int n = 20 + (s * 29) % (TRACE_STACK_MAX - 20);
	for (int i = 0; i < n; i++)
		pcs[i] = 16 * (uint64_t)(1000 * s + i * 7 + 1);
	return n;
}

static trace_pstate p0 = {.id = 0}, p1 = {.id = 1};
static fake_g g1 = {.g.id = 1}, g2 = {.g.id = 2}, g3 = {.g.id = 3};

/* g's tracing state, its stack now the deep stack numbered s. */
static trace_gstate *at(fake_g *g, int s)
{
	g->n = deep(s, g->pcs);
	return &g->g;
}

/* Go's StartTrace, with the world stopped: g1 runs on P 0. */
static void snapshot(void *arg)
{
	(void)arg;
	trace_snapshot_goroutine(&p0, &g1.g, 0x10, TRACE_G_RUNNABLE);
	trace_proc_start(&p0, 1);
	trace_go_start(&p0, &g1.g);
}

/* A valid little program: g1 makes g2 and g3; g2 waits on a channel that
 * a P-less timer fills; g3 calls into C; a GC; user annotations. */
static void program(void)
{
	trace_gomaxprocs(&p0, 2, at(&g1, 1));
	trace_user_task_create(&p0, 1, 0, "main task", at(&g1, 2));
	trace_user_region(&p0, 1, 0, "setup", at(&g1, 3));
	trace_go_create(&p0, &g2.g, 0x20, at(&g1, 4));
	trace_go_create(&p0, &g3.g, 0x30, at(&g1, 5));
	trace_user_log(&p0, 1, "phase", "created the workers", at(&g1, 6));
	trace_user_region(&p0, 1, 1, "setup", at(&g1, 7));

	trace_proc_start(&p1, 2);
	trace_go_start(&p1, &g2.g);              /* GoStart: g2 was made on P 0 */
	trace_go_park(&p1, at(&g2, 8), TRACE_EV_GO_BLOCK_RECV);

	trace_go_sched(&p0, at(&g1, 9));
	trace_go_start(&p0, &g3.g);              /* GoStartLocal */
	trace_go_syscall(&p0, at(&g3, 10));
	trace_go_sysblock(&p0);

	trace_go_unblock(NULL, &g2.g, at(&g1, 11)); /* no P: the global buffer */
	trace_go_start(&p1, &g2.g);
	for (int s = 12; s < 200; s++)           /* many distinct deep stacks */
		trace_go_sched(&p1, at(&g2, s)), trace_go_start(&p1, &g2.g);
	trace_go_end(&p1);

	trace_go_start(&p0, &g1.g);              /* GoStartLocal */
	trace_gc_start(&p0, at(&g1, 200));
	trace_gc_stw_start(&p0, 1);
	trace_gc_stw_done(&p0);
	trace_heap_alloc(&p0, 1 << 20);
	trace_gc_done(&p0);
	trace_go_park(&p0, at(&g1, 201), TRACE_EV_GO_BLOCK);

	trace_go_sysexit(&p1, &g3.g, 0);
	trace_go_start(&p1, &g3.g);
	trace_user_task_end(&p1, 1, at(&g3, 202));
	trace_go_end(&p1);
	trace_proc_stop(&p1);
	trace_proc_stop(&p0);
}

struct run_args {
	const char *path;
	enum trace_dump_mode mode;
	int rc;
};

static void *run(void *arg)
{
	struct run_args *a = arg;
	trace_hooks h = fake_hooks(a->path, a->mode);
	a->rc = -1;
	if (trace_init(&h) != 0 || trace_start(snapshot, NULL) != 0)
		return NULL;
	program();
	trace_pstate *pps[] = {&p0, &p1};
	a->rc = trace_stop(pps, 2);
	return NULL;
}

/* Write the trace on a big pthread stack (the legacy dump's frame is 9 KiB). */
static int write_trace(const char *path, enum trace_dump_mode mode)
{
	pthread_attr_t at;
	pthread_t th;
	struct run_args a = {path, mode, -1};
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, 4 << 20);
	if (pthread_create(&th, &at, run, &a) != 0)
		return -1;
	pthread_join(th, NULL);
	pthread_attr_destroy(&at);
	return a.rc;
}

/* Run `go tool trace -d path`; returns its exit status, output in *out. */
static int go_dump(const char *path, char **out)
{
	char cmd[1200];
	snprintf(cmd, sizeof cmd, "HOME=${HOME:-/tmp} GOFLAGS= %s tool trace -d '%s' 2>&1", GO, path);
	FILE *f = popen(cmd, "r");
	if (!f)
		return -1;
	size_t cap = 1 << 16, n = 0, got;
	char *b = malloc(cap);
	while ((got = fread(b + n, 1, cap - n - 1, f)) > 0)
		if ((n += got) == cap - 1)
			b = realloc(b, cap *= 2);
	b[n] = 0;
	*out = b;
	int st = pclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The event lines of -d output ("<ts> <Name> p=.. g=.. off=.. args"). */
static char *event_lines(const char *out, int *count)
{
	char *r = calloc(1, strlen(out) + 1);
	*count = 0;
	for (const char *l = out; *l;) {
		const char *e = strchr(l, '\n');
		size_t len = e ? (size_t)(e - l) : strlen(l);
		if (len && l[0] >= '0' && l[0] <= '9' && memmem(l, len, " p=", 3)) {
			strncat(r, l, len);
			strcat(r, "\n");
			++*count;
		}
		l += len + (e != NULL);
	}
	return r;
}

static void test_go_tool_trace(void)
{
	/* Go's parser is the judge: ./run test installs it */
	CU_ASSERT_FATAL(access(GO, X_OK) == 0);
	char direct[600], legacy[600];
	snprintf(direct, sizeof direct, "%s/trace_go_direct.trace", outdir);
	snprintf(legacy, sizeof legacy, "%s/trace_go_legacy.trace", outdir);
	CU_ASSERT_EQUAL_FATAL(write_trace(direct, TRACE_DUMP_DIRECT), 0);
	CU_ASSERT_EQUAL_FATAL(write_trace(legacy, TRACE_DUMP_LEGACY), 0);

	char *od = NULL, *ol = NULL;
	int sd = go_dump(direct, &od), sl = go_dump(legacy, &ol);
	if (sd != 0)
		fprintf(stderr, "\ngo tool trace -d %s:\n%.2000s\n", direct, od ? od : "");
	if (sl != 0)
		fprintf(stderr, "\ngo tool trace -d %s:\n%.2000s\n", legacy, ol ? ol : "");
	CU_ASSERT_EQUAL(sd, 0);
	CU_ASSERT_EQUAL(sl, 0);
	int nd = 0, nl = 0;
	char *ed = event_lines(od ? od : "", &nd), *el = event_lines(ol ? ol : "", &nl);
	CU_ASSERT(nd > 400); /* every event of program() is listed */
	CU_ASSERT_EQUAL(nd, nl);
	CU_ASSERT_STRING_EQUAL(ed, el);
	CU_ASSERT_PTR_NOT_NULL(strstr(ed, "GoBlockRecv"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ed, "UserLog"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ed, "message=created the workers"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ed, "GoSysExit"));
	free(ed);
	free(el);
	free(od);
	free(ol);
}

/* -d does not print stacks: compare the two dumps' stack records, with
 * their strings resolved, with the test's own decoder. */
static char *stack_text(const char *path, int *nstacks)
{
	size_t n = 0;
	uint8_t *b = dec_read_file(path, &n);
	dec d;
	*nstacks = 0;
	if (!b || dec_parse(&d, b, n, 1) != 0) {
		free(b);
		return strdup("undecodable");
	}
	static const uint8_t *str[100000];
	static size_t slen[100000];
	memset(str, 0, sizeof str);
	size_t cap = 1 << 20, len = 0;
	char *t = malloc(cap);
	t[0] = 0;
	for (size_t i = 0; i < d.nrecs; i++) {
		const dec_rec *r = &d.recs[i];
		if (r->type == TRACE_EV_STRING && dec_arg(&d, r, 0) < 100000) {
			str[dec_arg(&d, r, 0)] = r->str;
			slen[dec_arg(&d, r, 0)] = r->slen;
		}
	}
	/* Records in file order: both dumps walk the table the same way. */
	for (size_t i = 0; i < d.nrecs; i++) {
		const dec_rec *r = &d.recs[i];
		if (r->type != TRACE_EV_STACK)
			continue;
		++*nstacks;
		uint64_t nf = dec_arg(&d, r, 1);
		if (len + 64 + nf * 2200 > cap)
			t = realloc(t, cap = 2 * cap + nf * 2200);
		len += (size_t)sprintf(t + len, "stack %" PRIu64 ":", dec_arg(&d, r, 0));
		for (uint64_t f = 0; f < nf && 2 + 4 * f + 3 < r->nargs; f++) {
			uint64_t fn = dec_arg(&d, r, 3 + 4 * f), fl = dec_arg(&d, r, 4 + 4 * f);
			len += (size_t)sprintf(t + len, " %" PRIx64 " %.*s %.*s:%" PRIu64,
					       dec_arg(&d, r, 2 + 4 * f),
					       fn < 100000 && str[fn] ? (int)slen[fn] : 1,
					       fn < 100000 && str[fn] ? (const char *)str[fn] : "?",
					       fl < 100000 && str[fl] ? (int)slen[fl] : 1,
					       fl < 100000 && str[fl] ? (const char *)str[fl] : "?",
					       dec_arg(&d, r, 5 + 4 * f));
		}
		len += (size_t)sprintf(t + len, "\n");
	}
	dec_free(&d);
	free(b);
	return t;
}

static void test_same_stacks(void)
{
	char direct[600], legacy[600];
	snprintf(direct, sizeof direct, "%s/trace_go_direct.trace", outdir);
	snprintf(legacy, sizeof legacy, "%s/trace_go_legacy.trace", outdir);
	CU_ASSERT_EQUAL_FATAL(write_trace(direct, TRACE_DUMP_DIRECT), 0);
	CU_ASSERT_EQUAL_FATAL(write_trace(legacy, TRACE_DUMP_LEGACY), 0);
	int nd = 0, nl = 0;
	char *sd = stack_text(direct, &nd), *sl = stack_text(legacy, &nl);
	CU_ASSERT(nd > 190);
	CU_ASSERT_EQUAL(nd, nl);
	CU_ASSERT_STRING_EQUAL(sd, sl);
	CU_ASSERT_PTR_NULL(strstr(sd, " ? ")); /* every name resolved */
	free(sd);
	free(sl);
}

int main(int argc, char **argv)
{
	(void)argc;
	char self[512];
	snprintf(self, sizeof self, "%s", argv[0]);
	snprintf(outdir, sizeof outdir, "%s", dirname(self));

	return unit_run("trace_go", NULL, NULL, (const unit_test[]){
		{"go tool trace -d reads DIRECT and LEGACY alike", test_go_tool_trace},
		{"DIRECT and LEGACY dump the same stacks", test_same_stacks},
		{NULL, NULL}});
}
