/* test_gc.c: unit tests of the allocation layer over Boehm (gc/gc.h). */

#include "gc/gc.h"
#include "tests/unit/unit.h"

#include <gc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Overwrite the stack below the caller, so that dead frames hold no stale
 * pointers to objects a test wants collected. */
__attribute__((noinline)) static void scrub_stack(void)
{
	volatile char junk[16384];
	memset((char *)junk, 0, sizeof junk);
}

static gc_stats stats_now(void)
{
	gc_stats s;
	gc_get_stats(&s);
	return s;
}

/* ------------------------------------------------------- stress mode */

static void test_stress_counts(void)
{
	/* Room enough that Boehm never collects on its own during the loop. */
	GC_expand_hp(32u << 20);
	gc_init(&(gc_config){ .stress = 10 });
	CU_ASSERT_EQUAL(gc_stress_every(), 10);
	gc_stats before = stats_now();
	for (int i = 0; i < 1000; i++)
		CU_ASSERT_PTR_NOT_NULL(gc_alloc(32));
	gc_stats after = stats_now();
	CU_ASSERT_EQUAL(after.forced - before.forced, 100);
	CU_ASSERT_EQUAL(after.collections - before.collections, 100);

	/* Off: 1000 more allocations force nothing. */
	gc_init(&(gc_config){ .stress = 0 });
	CU_ASSERT_EQUAL(gc_stress_every(), 0);
	before = stats_now();
	for (int i = 0; i < 1000; i++)
		CU_ASSERT_PTR_NOT_NULL(gc_alloc(32));
	after = stats_now();
	CU_ASSERT_EQUAL(after.forced, before.forced);
	CU_ASSERT_EQUAL(after.collections, before.collections);
}

/* Each kind of allocation counts, and the count starts afresh at gc_init. */
static void test_stress_all_kinds(void)
{
	gc_init(&(gc_config){ .stress = 3 });
	gc_stats before = stats_now();
	gc_alloc(16);
	gc_alloc_atomic(16);
	CU_ASSERT_EQUAL(stats_now().forced, before.forced);
	void *u = gc_alloc_uncollectable(16);
	CU_ASSERT_EQUAL(stats_now().forced, before.forced + 1);
	gc_free(u);
	gc_init(&(gc_config){ .stress = 0 });
}

/* GREENVM_GC_STRESS chooses N when stress is asked for with GC_STRESS_DEFAULT. */
static void test_stress_env(void)
{
	unsetenv("GREENVM_GC_STRESS");
	gc_init(&(gc_config){ .stress = GC_STRESS_DEFAULT });
	CU_ASSERT_EQUAL(gc_stress_every(), GC_STRESS_EVERY);
	setenv("GREENVM_GC_STRESS", "25", 1);
	gc_init(&(gc_config){ .stress = GC_STRESS_DEFAULT });
	CU_ASSERT_EQUAL(gc_stress_every(), 25);
	setenv("GREENVM_GC_STRESS", "0", 1);
	gc_init(&(gc_config){ .stress = GC_STRESS_DEFAULT });
	CU_ASSERT_EQUAL(gc_stress_every(), GC_STRESS_EVERY);
	/* An explicit N wins; stress off ignores the environment. */
	setenv("GREENVM_GC_STRESS", "25", 1);
	gc_init(&(gc_config){ .stress = 7 });
	CU_ASSERT_EQUAL(gc_stress_every(), 7);
	gc_init(&(gc_config){ .stress = 0 });
	CU_ASSERT_EQUAL(gc_stress_every(), 0);

	/* Nonsense is a fatal error, in a child process. */
	fflush(NULL);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		freopen("/dev/null", "w", stderr);
		setenv("GREENVM_GC_STRESS", "12x", 1);
		gc_init(&(gc_config){ .stress = GC_STRESS_DEFAULT });
		_exit(0);
	}
	int status;
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2);
	unsetenv("GREENVM_GC_STRESS");
}

/* ------------------------------------------ uncollectable vs collectable */

#define NOBJ 100

static atomic_int finalized_garbage, finalized_kept;

static void GC_CALLBACK count_finalized(void *obj, void *counter)
{
	(void)obj;
	atomic_fetch_add((atomic_int *)counter, 1);
}

/* What an uncollectable object holds: a collectable child with a pattern. */
struct holder {
	long *child;
};

/* Make NOBJ unreferenced collectable objects and NOBJ uncollectable ones,
 * whose addresses we keep hidden from the collector. */
__attribute__((noinline)) static void make_objects(GC_hidden_pointer *hidden)
{
	for (int i = 0; i < NOBJ; i++) {
		long *garbage = gc_alloc(64);
		GC_REGISTER_FINALIZER(garbage, count_finalized, &finalized_garbage, NULL, NULL);
		struct holder *h = gc_alloc_uncollectable(sizeof *h);
		h->child = gc_alloc(8 * sizeof(long));
		for (int k = 0; k < 8; k++)
			h->child[k] = 1000L * i + k;
		GC_REGISTER_FINALIZER(h->child, count_finalized, &finalized_kept, NULL, NULL);
		hidden[i] = GC_HIDE_POINTER(h);
	}
}

static void test_uncollectable_survives(void)
{
	static GC_hidden_pointer hidden[NOBJ];
	gc_init(&(gc_config){ .stress = 0 });
	make_objects(hidden);
	scrub_stack();
	for (int round = 0; round < 3; round++) {
		gc_collect();
		GC_invoke_finalizers();
	}
	/* Conservative scanning may keep a stray one or two alive. */
	CU_ASSERT_TRUE(atomic_load(&finalized_garbage) >= NOBJ - 5);
	CU_ASSERT_EQUAL(atomic_load(&finalized_kept), 0);
	int intact = 0;
	for (int i = 0; i < NOBJ; i++) {
		struct holder *h = GC_REVEAL_POINTER(hidden[i]);
		bool ok = true;
		for (int k = 0; k < 8; k++)
			ok = ok && h->child[k] == 1000L * i + k;
		intact += ok;
		GC_REGISTER_FINALIZER(h->child, NULL, NULL, NULL, NULL);
		gc_free(h);
	}
	CU_ASSERT_EQUAL(intact, NOBJ);
}

/* ------------------------------------------------------------ events */

#define MAXEV 32

static enum gc_event evs[MAXEV];
static uint64_t evargs[MAXEV];
static int nev;

/* Runs inside the collector: records into static arrays, allocates nothing. */
static void record_event(enum gc_event ev, uint64_t arg)
{
	if (nev < MAXEV) {
		evs[nev] = ev;
		evargs[nev] = arg;
		nev++;
	}
}

static void test_event_order(void)
{
	gc_init(&(gc_config){ .event = record_event });
	nev = 0;
	gc_collect();
	int n = nev;
	gc_init(&(gc_config){ 0 });
	CU_ASSERT_EQUAL_FATAL(n, 5);
	CU_ASSERT_EQUAL(evs[0], GC_EV_START);
	CU_ASSERT_EQUAL(evs[1], GC_EV_STW_START);
	CU_ASSERT_EQUAL(evs[2], GC_EV_STW_DONE);
	CU_ASSERT_EQUAL(evs[3], GC_EV_DONE);
	CU_ASSERT_EQUAL(evs[4], GC_EV_HEAP);
	gc_stats s = stats_now();
	CU_ASSERT_TRUE(evargs[4] > 0);
	CU_ASSERT_EQUAL(evargs[4], s.heap_in_use);
	CU_ASSERT_TRUE(evargs[4] <= s.heap_size);
}

/* ------------------------------------------------------------ statistics */

static void test_pause_stats(void)
{
	gc_init(&(gc_config){ 0 });
	gc_stats before = stats_now();
	for (int i = 0; i < 10000; i++)
		gc_alloc(48);
	gc_collect();
	gc_stats s = stats_now();
	CU_ASSERT_TRUE(s.collections > before.collections);
	CU_ASSERT_TRUE(s.pause_total_ns > before.pause_total_ns);
	CU_ASSERT_TRUE(s.pause_max_ns > 0);
	CU_ASSERT_TRUE(s.pause_max_ns <= s.pause_total_ns);
	CU_ASSERT_TRUE(s.heap_in_use > 0);
	CU_ASSERT_TRUE(s.peak_heap >= s.heap_in_use);
	CU_ASSERT_TRUE(s.heap_size >= s.heap_in_use);
}

/* gc_print_stats writes one line in the documented shape. */
static void test_print_stats(void)
{
	char path[] = "/tmp/test_gc_XXXXXX";
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	gc_print_stats();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char line[512] = "";
	FILE *f = fdopen(fd, "r");
	rewind(f);
	CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof line, f));
	fclose(f);
	unlink(path);
	unsigned long long n;
	double total, longest, peak;
	CU_ASSERT_EQUAL(sscanf(line, "gc: %llu collections, pauses total %lf ms, longest %lf ms, "
				     "peak heap %lf MiB", &n, &total, &longest, &peak), 4);
	CU_ASSERT_EQUAL(n, stats_now().collections);
}

/* ------------------------------------------- allocating on a system stack */

static bool always_on_system_stack(void)
{
	return true;
}

static void test_alloc_on_system_stack(void)
{
	int pipefd[2];
	CU_ASSERT_FATAL(pipe(pipefd) == 0);
	fflush(NULL);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[1], 2);
		gc_init(&(gc_config){ .on_system_stack = always_on_system_stack });
		gc_alloc(16);
		_exit(0);
	}
	close(pipefd[1]);
	char buf[512] = "";
	ssize_t got = read(pipefd[0], buf, sizeof buf - 1);
	close(pipefd[0]);
	int status;
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
#ifdef GREENVM_DEBUG
	/* Debug builds stop with a message. */
	CU_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	CU_ASSERT_TRUE(got > 0 && strstr(buf, "allocation from the GC heap on a system stack") != NULL);
#else
	/* Release builds do not check. */
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT_TRUE(got <= 0);
#endif
}

/* ------------------------------------------------------- cache lines */

/* One allocation's span of cache lines, first and last line numbers. */
typedef struct span {
	uintptr_t first, last;
	/* from gc_alloc_lines (true) or a plain allocation */
	bool lines;
} span;

static span span_of(const void *p, size_t n, bool lines)
{
	uintptr_t a = (uintptr_t)p;
	return (span){ a / GC_CACHE_LINE, (a + n - 1) / GC_CACHE_LINE, lines };
}

/* gc_alloc_lines and gc_alloc_uncollectable_lines: line-aligned, and no
 * other object touches their lines, whatever is allocated around them.
 * Plain objects of every small size are allocated in between (they would
 * straddle lines: a 128-byte request takes a 144-byte slot), and sizes on
 * both sides of Boehm's exact classes (640 bytes gets a 672-byte slot, so
 * the fallback is taken). */
static void test_alloc_lines(void)
{
	gc_init(&(gc_config){ 0 });
	enum { N = 600 };
	static span sp[N];
	static void *keep[N]; /* the objects stay reachable meanwhile */
	static const size_t sizes[] = { 1, 48, 64, 100, 128, 256, 320, 512, 640, 1000, 1024, 2048, 4096 };
	int n = 0;
	for (int round = 0; n + 3 <= N; round++) {
		size_t ls = sizes[round % (sizeof sizes / sizeof *sizes)];
		size_t ps = (size_t)(16 * (round % 24) + 1 + round % 7);
		void *a = gc_alloc(ps);
		void *b = round % 2 ? gc_alloc_lines(ls) : gc_alloc_uncollectable_lines(ls);
		void *c = gc_alloc_atomic(ps + 8);
		CU_ASSERT_EQUAL((uintptr_t)b % GC_CACHE_LINE, 0);
		memset(b, 0xab, ls); /* all ours to write */
		keep[n] = a, sp[n++] = span_of(a, ps, false);
		keep[n] = b, sp[n++] = span_of(b, ls, true);
		keep[n] = c, sp[n++] = span_of(c, ps + 8, false);
	}
	int shared = 0;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			if (i != j && sp[i].lines && sp[j].first <= sp[i].last && sp[i].first <= sp[j].last)
				shared++;
	CU_ASSERT_EQUAL(shared, 0);
	/* gc_free takes them back, fallback or not (GC_base finds the start). */
	for (int i = 0; i < n; i++)
		if (sp[i].lines)
			gc_free(keep[i]);
	memset(keep, 0, sizeof keep);
}

int main(void)
{
	gc_init(&(gc_config){ 0 });
	return unit_run("gc", NULL, NULL, (const unit_test[]){
		{"stress mode collects every N allocations", test_stress_counts},
		{"stress mode counts every kind of allocation", test_stress_all_kinds},
		{"GREENVM_GC_STRESS", test_stress_env},
		{"uncollectable survives, garbage is finalized", test_uncollectable_survives},
		{"event order for one collection", test_event_order},
		{"pause and heap statistics", test_pause_stats},
		{"gc_print_stats line", test_print_stats},
		{"allocating on a system stack", test_alloc_on_system_stack},
		{"line allocations share no cache line", test_alloc_lines},
		{NULL, NULL}});
}
