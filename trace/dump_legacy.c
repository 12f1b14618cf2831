/* dump_legacy.c: the stack-table dump as Go 1.19 wrote it, kept for comparison.
 *
 * Each record is built in an on-stack temporary of (2 + 4*128) * 10 = 5140
 * bytes, with its frames in an on-stack array of 128, then copied into the
 * trace buffer: the frame of trace_dump_legacy_record is over 9 KiB.  The strings
 * a frame needs are written into the trace buffer while the record is being
 * built in the temporary, which is why the temporary was needed at all.
 * This is the design the direct dump (dump.c) replaces; selected with
 * TRACE_DUMP_LEGACY.  On a small system stack it overflows, by design.
 */
/* The one file of trace/ allowed a big frame: it is the design under study. */
#pragma GCC diagnostic ignored "-Wframe-larger-than="

#include <string.h>

#include "trace/trace_impl.h"

/* Build the record of s in tmp, writing its strings into *bufp as they
 * are met, then copy it into *bufp (Go 1.19's traceStackTable.dump). */
void trace_dump_legacy_record(trace_buf **bufp, const trace_stack *s)
{
	uint8_t tmp[(2 + 4 * TRACE_STACK_MAX) * TRACE_VARINT_MAX]; /* 5140 bytes */
	trace_frame frames[TRACE_STACK_MAX];                       /* 4 KiB */
	size_t n = 0;
	n += (size_t)trace_varint_put(&tmp[n], s->id);
	n += (size_t)trace_varint_put(&tmp[n], s->n);
	for (uint32_t i = 0; i < s->n; i++) {
		trace_frame *f = &frames[i];
		trace_frame_for_pc(bufp, 0, s->pcs[i], f);
		n += (size_t)trace_varint_put(&tmp[n], f->pc);
		n += (size_t)trace_varint_put(&tmp[n], f->func_id);
		n += (size_t)trace_varint_put(&tmp[n], f->file_id);
		n += (size_t)trace_varint_put(&tmp[n], f->line);
	}
	/* Now copy to the buffer, with the length in front. */
	trace_buf *buf = *bufp;
	if (trace_buf_room(buf) < 1 + TRACE_VARINT_MAX + n)
		buf = *bufp = trace_flush(buf, 0);
	trace_buf_byte(buf, TRACE_EV_STACK | 3 << TRACE_ARG_SHIFT);
	trace_buf_varint(buf, n);
	memcpy(&buf->arr[buf->pos], tmp, n);
	buf->pos += n;
}
