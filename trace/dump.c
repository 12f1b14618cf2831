/* dump.c: the stack-table dump at trace_stop, written straight into the buffer.
 *
 * This is the design of Go commit d4a3466 ("write trace stack tab directly
 * to trace buffer"), which let the dump run on the small system stack:
 *
 *   step 3  resolve every frame's strings first (trace_frame_for_pc writes
 *           the missing EvString records), so that none can land inside
 *           the stack record;
 *   step 1  then make room for the whole record and write it in place;
 *   step 2  its byte length, unknown until the body is written, is
 *           reserved as a 10-byte varint and filled in afterwards.
 *
 * The frames go to trace.frames (static, non-GC memory; the dump runs
 * alone), so this function's own frame stays small.  The old design is in
 * dump_legacy.c.
 */
#include "trace/trace_impl.h"

/* Write one stack record into *bufp.  Must run on the system stack. */
TRACE_SYSTEMSTACK void trace_dump_record(trace_buf **bufp, const trace_stack *s)
{
	trace_assert_on_g0();
	for (uint32_t i = 0; i < s->n; i++) /* step 3: strings first */
		trace_frame_for_pc(bufp, 0, s->pcs[i], &trace.frames[i]);

	trace_buf *buf = *bufp; /* step 1: the record in place */
	if (trace_buf_room(buf) < TRACE_STACK_REC_MAX)
		buf = *bufp = trace_flush(buf, 0);
	trace_buf_byte(buf, TRACE_EV_STACK | 3 << TRACE_ARG_SHIFT);
	size_t len_at = trace_buf_reserve(buf, TRACE_VARINT_MAX); /* step 2 */
	trace_buf_varint(buf, s->id);
	trace_buf_varint(buf, s->n);
	for (uint32_t i = 0; i < s->n; i++) {
		const trace_frame *f = &trace.frames[i];
		trace_buf_varint(buf, f->pc);
		trace_buf_varint(buf, f->func_id);
		trace_buf_varint(buf, f->file_id);
		trace_buf_varint(buf, f->line);
	}
	trace_buf_fill_len(buf, len_at, TRACE_VARINT_MAX);
}

/* Dump every stack into batches of P 0 (as Go does) and write them, one
 * record at a time by the design chosen at trace_init. */
TRACE_SYSTEMSTACK void trace_dump(void)
{
	trace_assert_on_g0();
	void (*record)(trace_buf **, const trace_stack *) =
		trace.hooks.dump == TRACE_DUMP_LEGACY ? trace_dump_legacy_record
						      : trace_dump_record;
	trace_buf *buf = trace_flush(NULL, 0);
	for (size_t b = 0; b < TRACE_STACK_TAB; b++) {
		const trace_stack *s = atomic_load_explicit(&trace.stack_tab[b],
							    memory_order_acquire);
		for (; s; s = s->link)
			record(&buf, s);
	}
	trace_queue_and_write(buf);
}
