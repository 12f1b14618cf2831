/* string.c: the string table (names -> ids, EvString the first time) and
 * the resolution of a PC into a frame of string ids (Go's traceFrameForPC).
 *
 * A string gets its id under strings_lock; the EvString record is written
 * into the caller's buffer after the lock is dropped, on the system stack,
 * between two events (never inside one).  Strings are a dictionary read in
 * a first pass by Go's parser, so a record using an id may even land in
 * another P's batch before the EvString does.
 */
#include <string.h>

#include "gc/common.h"
#include "trace/trace_impl.h"

/* The entry for s[0..len) with hash h, or NULL.  strings_lock held. */
static trace_string_rec *find(const char *s, size_t len, uint64_t h)
{
	trace_string_rec *r = trace.strings[h % TRACE_STRING_TAB];
	for (; r; r = r->link)
		if (r->hash == h && r->len == len && memcmp(r->s, s, len) == 0)
			return r;
	return NULL;
}

struct string_args {
	trace_buf **bufp; /* where the EvString goes (may be flushed) */
	int32_t pid;      /* owner of *bufp */
	const char *s;    /* the string */
	size_t len;       /* its length, 1..TRACE_STRING_MAX */
	uint64_t hash;    /* its hash */
	uint64_t id;      /* out: its id */
};

/* Insert the string (unless another thread just did) and write its EvString. */
TRACE_SYSTEMSTACK static void string_on_g0(void *arg)
{
	trace_assert_on_g0();
	struct string_args *a = arg;
	pthread_mutex_lock(&trace.strings_lock);
	trace_string_rec *r = find(a->s, a->len, a->hash);
	if (r) {
		a->id = r->id;
		pthread_mutex_unlock(&trace.strings_lock);
		return;
	}
	r = trace_arena_alloc(&trace.string_mem, sizeof *r + a->len);
	r->hash = a->hash;
	r->id = a->id = ++trace.string_seq;
	r->len = a->len;
	memcpy(r->s, a->s, a->len);
	r->link = trace.strings[a->hash % TRACE_STRING_TAB];
	trace.strings[a->hash % TRACE_STRING_TAB] = r;
	pthread_mutex_unlock(&trace.strings_lock);

	/* EvString [id, len, bytes]: type byte, two varints, the bytes. */
	trace_buf *buf = *a->bufp;
	if (!buf || trace_buf_room(buf) < 1 + 2 * TRACE_VARINT_MAX + a->len)
		buf = *a->bufp = trace_flush(buf, a->pid);
	trace_buf_byte(buf, TRACE_EV_STRING);
	trace_buf_varint(buf, a->id);
	trace_buf_varint(buf, a->len);
	memcpy(&buf->arr[buf->pos], a->s, a->len);
	buf->pos += a->len;
}

/* The id of s[0..len), 0 for "".  A string longer than TRACE_STRING_MAX
 * keeps its last TRACE_STRING_MAX bytes, as Go does with names.  May write
 * an EvString into *bufp, flushing it: call only between events. */
uint64_t trace_string(trace_buf **bufp, int32_t pid, const char *s, size_t len)
{
	if (len == 0)
		return 0;
	if (len > TRACE_STRING_MAX) {
		s += len - TRACE_STRING_MAX;
		len = TRACE_STRING_MAX;
	}
	struct string_args a = {bufp, pid, s, len, fnv1a(s, len), 0};
	pthread_mutex_lock(&trace.strings_lock);
	trace_string_rec *r = find(s, len, a.hash);
	pthread_mutex_unlock(&trace.strings_lock);
	if (r)
		return r->id; /* records are immutable once inserted */
	trace_systemstack("trace string", string_on_g0, &a);
	return a.id;
}

/* Forget every string (trace_stop). */
void trace_strings_reset(void)
{
	trace_arena_drop(&trace.string_mem);
	memset(trace.strings, 0, sizeof trace.strings);
	trace.string_seq = 0;
}

/* Describe pc and intern its names, writing any new EvString into *bufp.
 * This is the step that must come before a stack record starts. */
void trace_frame_for_pc(trace_buf **bufp, int32_t pid, uint64_t pc, trace_frame *f)
{
	const char *fn = NULL, *file = NULL;
	uint64_t line = 0;
	if (trace.hooks.describe_pc)
		trace.hooks.describe_pc(pc, &fn, &file, &line);
	f->pc = pc;
	f->func_id = fn ? trace_string(bufp, pid, fn, strlen(fn)) : 0;
	f->file_id = file ? trace_string(bufp, pid, file, strlen(file)) : 0;
	f->line = line;
}
