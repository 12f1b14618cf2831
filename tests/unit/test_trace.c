/* test_trace.c: unit tests of the trace writer (trace/), white-box where needed. */
#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "tests/trace/decode.h"
#include "tests/trace/fakevm.h"
#include "trace/trace_impl.h"
#include "tests/unit/unit.h"

static char outdir[512]; /* folder of this program: trace files go there */

static const char *out_path(const char *name)
{
	static char p[4][600];
	static int i;
	i = (i + 1) % 4;
	snprintf(p[i], sizeof p[i], "%s/%s", outdir, name);
	return p[i];
}

/* Decode a whole trace file; CU asserts it decodes. */
static uint8_t *decode_file(const char *path, dec *d)
{
	size_t n = 0;
	uint8_t *b = dec_read_file(path, &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	int rc = dec_parse(d, b, n, 1);
	if (rc != 0)
		fprintf(stderr, "\n%s: %s\n", path, d->err);
	CU_ASSERT_EQUAL(rc, 0);
	return b;
}

/* ---- varints ----------------------------------------------------------- */

static void test_varint_roundtrip(void)
{
	const uint64_t vals[] = {0, 1, 127, 128, 300, 16383, 16384, 1u << 31,
				 UINT64_C(1) << 56, UINT64_MAX - 1, UINT64_MAX};
	const int lens[] = {1, 1, 1, 2, 2, 2, 3, 5, 9, 10, 10};
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		uint8_t b[16];
		uint64_t v = 0;
		int n = trace_varint_put(b, vals[i]);
		CU_ASSERT_EQUAL(n, lens[i]);
		CU_ASSERT_EQUAL(trace_varint_get(b, sizeof b, &v), n);
		CU_ASSERT_EQUAL(v, vals[i]);
		CU_ASSERT_EQUAL(trace_varint_get(b, (size_t)n - 1, &v), 0); /* cut short */
	}
}

static void test_reserved_varint(void)
{
	const uint64_t vals[] = {0, 1, 127, 128, 5140, 65535, UINT64_C(1) << 40,
				 UINT64_C(1) << 62};
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		uint8_t b[TRACE_VARINT_MAX + 1];
		uint64_t v = 0;
		memset(b, 0xee, sizeof b);
		trace_varint_fill(b, TRACE_VARINT_MAX, vals[i]);
		CU_ASSERT_EQUAL(trace_varint_get(b, sizeof b, &v), TRACE_VARINT_MAX);
		CU_ASSERT_EQUAL(v, vals[i]);
		CU_ASSERT_EQUAL(b[TRACE_VARINT_MAX], 0xee); /* nothing past the width */
		for (int j = 0; j < TRACE_VARINT_MAX - 1; j++)
			CU_ASSERT(b[j] & 0x80);
		CU_ASSERT_EQUAL(b[TRACE_VARINT_MAX - 1] & 0x80, 0);
	}
	uint8_t b[1];
	uint64_t v = 0;
	trace_varint_fill(b, 1, 93); /* the narrowest reserved form */
	CU_ASSERT_EQUAL(trace_varint_get(b, 1, &v), 1);
	CU_ASSERT_EQUAL(v, 93);
}

/* ---- buffer edges --------------------------------------------------------- */

/* Fill pp's buffer with fresh EvString records until exactly `room` bytes
 * are left, so that the writer's own bound decides what happens next. */
static void pad_to_room(trace_pstate *pp, size_t room)
{
	static int seq;
	char s[TRACE_STRING_MAX + 1];
	for (;;) {
		if (trace_buf_room(pp->buf) < room + 64) /* too late: a new batch */
			pp->buf = trace_flush(pp->buf, pp->id);
		size_t have = trace_buf_room(pp->buf);
		size_t c = have - room; /* bytes to consume */
		uint8_t tmp[TRACE_VARINT_MAX];
		size_t id_len = (size_t)trace_varint_put(tmp, trace.string_seq + 1);
		size_t len = c > 1000 ? 500 : 0;
		if (!len) /* the last one: 1 + id + varint(len) + len == c */
			for (len = c - 1 - id_len - 2; 1 + id_len + (size_t)trace_varint_put(tmp, len) + len < c; len++)
				;
		CU_ASSERT_FATAL(1 + id_len + (size_t)trace_varint_put(tmp, len) + len <= c);
		int n = snprintf(s, sizeof s, "pad%d-", seq++);
		for (size_t i = (size_t)n; i < len; i++)
			s[i] = 'p';
		trace_buf *before = pp->buf;
		trace_string(&pp->buf, pp->id, s, len);
		CU_ASSERT_PTR_EQUAL_FATAL(pp->buf, before);
		if (c == 1 + id_len + (size_t)trace_varint_put(tmp, len) + len)
			break;
	}
	CU_ASSERT_EQUAL(trace_buf_room(pp->buf), room);
}

/* Start a trace into out_path(file) (direct dump) with pp on M 1, as the
 * tests of one P's buffer do; the trace's path. */
static const char *start_one_p(const char *file, trace_pstate *pp)
{
	const char *path = out_path(file);
	trace_hooks h = fake_hooks(path, TRACE_DUMP_DIRECT);
	CU_ASSERT_EQUAL_FATAL(trace_init(&h), 0);
	CU_ASSERT_EQUAL_FATAL(trace_start(NULL, NULL), 0);
	trace_proc_start(pp, 1);
	return path;
}

/* An event needing exactly the room left goes into the buffer; one byte
 * less and it starts a new batch.  Same for a string record and for a
 * stack record written by the direct dump. */
static void test_records_at_buffer_end(void)
{
	trace_pstate pp = {.id = 0};
	const char *path = start_one_p("trace_edges.trace", &pp);

	const size_t ev_max = 2 + TRACE_VARINT_MAX * 5; /* event_locked's bound */
	pad_to_room(&pp, ev_max);
	trace_buf *b = pp.buf;
	trace_heap_alloc(&pp, 12345);
	CU_ASSERT_PTR_EQUAL(pp.buf, b);
	pad_to_room(&pp, ev_max - 1);
	b = pp.buf;
	size_t pos = b->pos;
	trace_heap_alloc(&pp, 12345);
	CU_ASSERT(pp.buf != b);
	CU_ASSERT_EQUAL(b->pos, pos); /* the old batch ends where it was */

	char s[300];
	memset(s, 'q', sizeof s - 1);
	s[sizeof s - 1] = 0;
	pad_to_room(&pp, 1 + 2 * TRACE_VARINT_MAX + 299);
	b = pp.buf;
	trace_string(&pp.buf, pp.id, s, 299);
	CU_ASSERT_PTR_EQUAL(pp.buf, b);
	s[0] = 'r';
	pad_to_room(&pp, 2 * TRACE_VARINT_MAX + 299);
	b = pp.buf;
	trace_string(&pp.buf, pp.id, s, 299);
	CU_ASSERT(pp.buf != b);

	/* A 128-frame stack whose strings are already known. */
	uint64_t pcs[TRACE_STACK_MAX];
	for (int i = 0; i < TRACE_STACK_MAX; i++)
		pcs[i] = 0x1000 + (uint64_t)i * 16;
	trace_stack_put(pcs, TRACE_STACK_MAX);
	const trace_stack *stk = NULL;
	for (size_t i = 0; i < TRACE_STACK_TAB && !stk; i++)
		stk = atomic_load(&trace.stack_tab[i]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(stk);
	trace_frame f;
	for (int i = 0; i < TRACE_STACK_MAX; i++)
		trace_frame_for_pc(&pp.buf, pp.id, pcs[i], &f);
	pad_to_room(&pp, TRACE_STACK_REC_MAX);
	b = pp.buf;
	trace_dump_record(&pp.buf, stk);
	CU_ASSERT_PTR_EQUAL(pp.buf, b);
	pad_to_room(&pp, TRACE_STACK_REC_MAX - 1);
	b = pp.buf;
	trace_dump_record(&pp.buf, stk);
	CU_ASSERT(pp.buf != b);

	trace_pstate *pps[] = {&pp};
	CU_ASSERT_EQUAL(trace_stop(pps, 1), 0);
	dec d;
	uint8_t *bytes = decode_file(path, &d);
	size_t stacks = 0, heap = 0;
	for (size_t i = 0; i < d.nrecs; i++) {
		if (d.recs[i].type == TRACE_EV_STACK && d.recs[i].nargs == 2 + 4 * TRACE_STACK_MAX)
			stacks++;
		if (d.recs[i].type == TRACE_EV_HEAP_ALLOC && dec_arg(&d, &d.recs[i], 1) == 12345)
			heap++;
	}
	CU_ASSERT_EQUAL(stacks, 3); /* two written here, one by the dump */
	CU_ASSERT_EQUAL(heap, 2);
	dec_free(&d);
	free(bytes);
}

/* A P's ticks never go back from one batch to the next, even when its last
 * events ran ahead of the cycle counter (bumped by one each because the
 * counter seemed to go back, as on a thread that moved between cores). */
static void test_batch_ticks_carry_on(void)
{
	trace_pstate pp = {.id = 0};
	start_one_p("trace_ticks.trace", &pp);
	uint64_t ahead = trace_ticks() + ((uint64_t)1 << 40);
	pp.buf->last_ticks = ahead;
	trace_heap_alloc(&pp, 1);
	CU_ASSERT_EQUAL(pp.buf->last_ticks, ahead + 1);
	pp.buf = trace_flush(pp.buf, pp.id);
	CU_ASSERT(pp.buf->last_ticks > ahead + 1);
	trace_heap_alloc(&pp, 2);
	CU_ASSERT(pp.buf->last_ticks > ahead + 2);
	trace_pstate *pps[1] = { &pp };
	CU_ASSERT_EQUAL(trace_stop(pps, 1), 0);
}

/* ---- strings -------------------------------------------------------------- */

static void test_long_strings(void)
{
	trace_pstate pp = {.id = 3};
	const char *path = start_one_p("trace_long.trace", &pp);
	uint64_t pcs[] = {FAKE_PC_1K, FAKE_PC_3K, 0x40};
	static fake_g g = {.g.id = 1};
	trace_go_sysblock(&pp);
	trace_go_syscall(&pp, fake_at(&g, pcs, 3));
	trace_pstate *pps[] = {&pp};
	CU_ASSERT_EQUAL_FATAL(trace_stop(pps, 1), 0);

	char want1k[1025], want3k[3001];
	fake_long_name(want1k, 1024);
	fake_long_name(want3k, 3000);
	dec d;
	uint8_t *bytes = decode_file(path, &d);
	int got1k = 0, got3k = 0;
	for (size_t i = 0; i < d.nrecs; i++) {
		const dec_rec *r = &d.recs[i];
		if (r->type != TRACE_EV_STRING)
			continue;
		CU_ASSERT(r->slen <= TRACE_STRING_MAX);
		if (r->slen == 1024 && memcmp(r->str, want1k, 1024) == 0)
			got1k++;
		if (r->slen == 1024 && memcmp(r->str, want3k + 3000 - 1024, 1024) == 0)
			got3k++; /* the last 1 KiB, as Go keeps */
	}
	CU_ASSERT_EQUAL(got1k, 1);
	CU_ASSERT_EQUAL(got3k, 1);
	dec_free(&d);
	free(bytes);
}

/* ---- the stack table under threads ----------------------------------------- */

enum { NTHREADS = 8, NSTACKS = 300 };
static uint32_t ids[NTHREADS][NSTACKS];

static void make_stack(int s, uint64_t *pcs, int *n)
{
	*n = 1 + s % 40;
	for (int i = 0; i < *n; i++)
		pcs[i] = 0x100 * (uint64_t)s + (uint64_t)i * 8;
}

static void *put_thread(void *arg)
{
	int t = (int)(intptr_t)arg;
	uint64_t pcs[64];
	int n;
	for (int round = 0; round < 3; round++)
		for (int k = 0; k < NSTACKS; k++) {
			int s = (k * 7 + t * 31) % NSTACKS; /* each thread its own order */
			make_stack(s, pcs, &n);
			uint32_t id = trace_stack_put(pcs, n);
			if (round == 0)
				ids[t][s] = id;
			else if (ids[t][s] != id)
				ids[t][s] = 0; /* a lookup disagreed: fail below */
		}
	return NULL;
}

static void test_stack_table_concurrent(void)
{
	pthread_t th[NTHREADS];
	for (int t = 0; t < NTHREADS; t++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[t], NULL, put_thread, (void *)(intptr_t)t), 0);
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	static bool seen[NSTACKS + 1];
	memset(seen, 0, sizeof seen);
	for (int s = 0; s < NSTACKS; s++) {
		uint32_t id = ids[0][s];
		CU_ASSERT(id >= 1 && id <= NSTACKS);
		for (int t = 1; t < NTHREADS; t++)
			CU_ASSERT_EQUAL(ids[t][s], id); /* one id per stack */
		if (id >= 1 && id <= NSTACKS) {
			CU_ASSERT(!seen[id]); /* different stacks, different ids */
			seen[id] = true;
		}
	}
	CU_ASSERT_EQUAL(trace.stack_seq, NSTACKS);
	uint64_t over[TRACE_STACK_MAX + 10];
	for (int i = 0; i < TRACE_STACK_MAX + 10; i++)
		over[i] = 7 + (uint64_t)i;
	CU_ASSERT_EQUAL(trace_stack_put(over, TRACE_STACK_MAX + 10),
			trace_stack_put(over, TRACE_STACK_MAX)); /* cut to 128 */
	CU_ASSERT_EQUAL(trace_stack_put(over, 0), 0);
	trace_stacks_reset();
}

/* The buffer's cache of recent stacks is keyed by the innermost PC only:
 * stacks that share it (and collide in the cache) must still get their own
 * ids, the table's, whatever the order of lookups. */
static void test_stack_cache(void)
{
	static trace_buf buf; /* zeroed: an empty cache */
	const uint64_t stacks[][3] = {
		{0x40, 0x100, 0x200}, /* A */
		{0x40, 0x100, 0x300}, /* B: A's innermost two PCs, another caller */
		{0x40, 0x100, 0},     /* C: A's first two PCs (n = 2) */
		{0x40 + 64 * TRACE_STACK_CACHE, 0x100, 0x200}, /* D: A's cache slot */
	};
	const uint32_t lens[] = {3, 3, 2, 3};
	uint32_t want[4];
	for (int i = 0; i < 4; i++)
		want[i] = trace_stack_put(stacks[i], (int)lens[i]);
	for (int i = 0; i < 4; i++)
		for (int j = i + 1; j < 4; j++)
			CU_ASSERT_NOT_EQUAL(want[i], want[j]);
	for (int round = 0; round < 50; round++) {
		int i = (round * 7 + round / 4) % 4; /* hits and misses, in turns */
		memcpy(buf.stk, stacks[i], lens[i] * sizeof(uint64_t));
		CU_ASSERT_EQUAL(trace_buf_stack_id(&buf, lens[i]), want[i]);
	}
	CU_ASSERT_EQUAL(trace_buf_stack_id(&buf, 0), 0);
	CU_ASSERT_EQUAL(trace.stack_seq, 4); /* the cache never inserted twice */
	trace_stacks_reset();
}

/* ---- a workload, and what its trace must look like ------------------------- */

/* Many distinct deep stacks with long names, spread over two Ps and the
 * global buffer: enough to fill several buffers, in events and in the dump. */
static void workload(trace_pstate *p0, trace_pstate *p1)
{
	uint64_t pcs[TRACE_STACK_MAX];
	static fake_g g = {.g.id = 1};
	trace_proc_start(p0, 1);
	trace_proc_start(p1, 2);
	for (int s = 0; s < 400; s++) {
		int n = 1 + (s * 13) % TRACE_STACK_MAX;
		for (int i = 0; i < n; i++)
			pcs[i] = 16 * (uint64_t)(s * 3 + i * 5) + 16;
		trace_pstate *pp = s % 3 == 0 ? p0 : s % 3 == 1 ? p1 : NULL;
		trace_go_park(pp, fake_at(&g, pcs, n), TRACE_EV_GO_SLEEP);
		if (s % 50 == 0)
			trace_user_log(pp, 1, "cat", "a log message", &g.g);
	}
}

static void run_workload(const char *path, enum trace_dump_mode mode)
{
	trace_hooks h = fake_hooks(path, mode);
	CU_ASSERT_EQUAL_FATAL(trace_init(&h), 0);
	CU_ASSERT_EQUAL_FATAL(trace_start(NULL, NULL), 0);
	trace_pstate p0 = {.id = 0}, p1 = {.id = 1};
	workload(&p0, &p1);
	trace_pstate *pps[] = {&p0, &p1};
	CU_ASSERT_EQUAL(trace_stop(pps, 2), 0);
}

struct run_args {
	const char *path;
	enum trace_dump_mode mode;
};

static void *run_thread(void *arg)
{
	struct run_args *a = arg;
	run_workload(a->path, a->mode);
	return NULL;
}

/* The legacy dump has a 9 KiB frame: run it on a big pthread stack. */
static void run_on_big_stack(const char *path, enum trace_dump_mode mode)
{
	pthread_attr_t at;
	pthread_t th;
	struct run_args a = {path, mode};
	pthread_attr_init(&at);
	pthread_attr_setstacksize(&at, 4 << 20);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, &at, run_thread, &a), 0);
	pthread_join(th, NULL);
	pthread_attr_destroy(&at);
}

/* Every string a stack record names was defined earlier in the file, no
 * record is cut by another (the decode is strict), and batches cross. */
static void check_parse_back(const char *path)
{
	dec d;
	uint8_t *bytes = decode_file(path, &d);
	static bool defined[100000];
	memset(defined, 0, sizeof defined);
	size_t stacks = 0, batches = 0, dump_batches = 0, freq = 0;
	for (size_t i = 0; i < d.nrecs; i++) {
		const dec_rec *r = &d.recs[i];
		if (r->type == TRACE_EV_STRING) {
			uint64_t id = dec_arg(&d, r, 0);
			CU_ASSERT_FATAL(id < 100000);
			CU_ASSERT(!defined[id]);
			defined[id] = true;
		} else if (r->type == TRACE_EV_BATCH) {
			batches++;
			dump_batches += freq > 0;
		} else if (r->type == TRACE_EV_FREQUENCY) {
			freq++;
		} else if (r->type == TRACE_EV_STACK) {
			CU_ASSERT(freq == 1); /* stacks come after Frequency */
			stacks++;
			uint64_t n = dec_arg(&d, r, 1);
			CU_ASSERT_EQUAL(r->nargs, 2 + 4 * n);
			for (uint64_t f = 0; f < n && r->nargs == 2 + 4 * n; f++) {
				uint64_t fn = dec_arg(&d, r, 3 + 4 * f), file = dec_arg(&d, r, 4 + 4 * f);
				CU_ASSERT(fn > 0 && fn < 100000 && defined[fn]);
				CU_ASSERT(file > 0 && file < 100000 && defined[file]);
			}
		}
	}
	CU_ASSERT_EQUAL(freq, 1);
	CU_ASSERT_EQUAL(stacks, 400);
	CU_ASSERT(dump_batches >= 3); /* the dump crossed buffer ends */
	CU_ASSERT(batches >= dump_batches + 3);
	dec_free(&d);
	free(bytes);
}

static void test_parse_back_no_split(void)
{
	const char *direct = out_path("trace_parse_direct.trace");
	const char *legacy = out_path("trace_parse_legacy.trace");
	run_workload(direct, TRACE_DUMP_DIRECT);
	check_parse_back(direct);
	run_on_big_stack(legacy, TRACE_DUMP_LEGACY);
	check_parse_back(legacy);
}

static void test_virtual_clock_identical(void)
{
	const char *a = out_path("trace_same_a.trace"), *b = out_path("trace_same_b.trace");
	run_workload(a, TRACE_DUMP_DIRECT);
	run_workload(b, TRACE_DUMP_DIRECT);
	size_t na = 0, nb = 0;
	uint8_t *ba = dec_read_file(a, &na), *bb = dec_read_file(b, &nb);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ba);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bb);
	CU_ASSERT(na > 100000);
	CU_ASSERT_EQUAL(na, nb);
	CU_ASSERT(na == nb && memcmp(ba, bb, na) == 0);
	free(ba);
	free(bb);
}

/* ---- the design's rules ---------------------------------------------------- */

static void test_systemstack_hook_used(void)
{
	fake_sys_flush = fake_sys_string = fake_sys_stack = fake_sys_stop = 0;
	run_workload(out_path("trace_hooks.trace"), TRACE_DUMP_DIRECT);
	CU_ASSERT(fake_sys_flush > 5);
	CU_ASSERT(fake_sys_string > 100);
	CU_ASSERT_EQUAL(fake_sys_stack, 400); /* one insert per new stack */
	CU_ASSERT_EQUAL(fake_sys_stop, 1);
}

static void test_output_errors(void)
{
	trace_hooks h = fake_hooks("/nonexistent-dir/x.trace", TRACE_DUMP_DIRECT);
	const char *p = NULL;
	CU_ASSERT_EQUAL_FATAL(trace_init(&h), 0);
	CU_ASSERT_EQUAL(trace_start(NULL, NULL), -1);
	CU_ASSERT_EQUAL(trace_error(&p), ENOENT);
	CU_ASSERT_STRING_EQUAL(p, "/nonexistent-dir/x.trace");
	CU_ASSERT(!trace_enabled());

	/* A full disk: the writes fail, the program goes on, stop reports it. */
	h = fake_hooks("/dev/full", TRACE_DUMP_DIRECT);
	CU_ASSERT_EQUAL_FATAL(trace_init(&h), 0);
	CU_ASSERT_EQUAL_FATAL(trace_start(NULL, NULL), 0);
	trace_pstate p0 = {.id = 0}, p1 = {.id = 1};
	workload(&p0, &p1);
	trace_pstate *pps[] = {&p0, &p1};
	CU_ASSERT_EQUAL(trace_stop(pps, 2), -1);
	CU_ASSERT_EQUAL(trace_error(&p), ENOSPC);
	CU_ASSERT_STRING_EQUAL(p, "/dev/full");

	/* A fresh start clears the error. */
	run_workload(out_path("trace_after_error.trace"), TRACE_DUMP_DIRECT);
	CU_ASSERT_EQUAL(trace_error(NULL), 0);
}

int main(int argc, char **argv)
{
	(void)argc;
	char self[512];
	snprintf(self, sizeof self, "%s", argv[0]);
	snprintf(outdir, sizeof outdir, "%s", dirname(self));

	return unit_run("trace", NULL, NULL, (const unit_test[]){
		{"varint round trip", test_varint_roundtrip},
		{"reserved 10-byte varint", test_reserved_varint},
		{"records at a buffer's end", test_records_at_buffer_end},
		{"batch ticks carry on", test_batch_ticks_carry_on},
		{"1 KiB strings", test_long_strings},
		{"stack table from 8 threads", test_stack_table_concurrent},
		{"stack cache: same innermost PC", test_stack_cache},
		{"parse back: no record split", test_parse_back_no_split},
		{"virtual clock: identical bytes", test_virtual_clock_identical},
		{"systemstack hook used", test_systemstack_hook_used},
		{"output errors", test_output_errors},
		{NULL, NULL}});
}
