/* fakevm.h: what the trace tests stand in for the VM and the scheduler:
 * a describe_pc with long, varied names, goroutines whose stacks a test
 * sets, and a systemstack that calls directly and counts each operation.
 * Static functions, included by tests. */
#ifndef GREENVM_TESTS_TRACE_FAKEVM_H
#define GREENVM_TESTS_TRACE_FAKEVM_H

#include <inttypes.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "trace/trace.h"

enum {
	FAKE_PC_1K = 900001, /* its function name is exactly 1024 bytes */
	FAKE_PC_3K = 900002, /* its function name is 3000 bytes (cut to the last 1024) */
};

/* Calls of the systemstack hook, by operation. */
static atomic_int fake_sys_flush, fake_sys_string, fake_sys_stack, fake_sys_stop;

static void fake_systemstack(const char *what, void (*fn)(void *), void *arg)
{
	if (strcmp(what, "trace flush") == 0)
		fake_sys_flush++;
	else if (strcmp(what, "trace string") == 0)
		fake_sys_string++;
	else if (strcmp(what, "trace stack insert") == 0)
		fake_sys_stack++;
	else if (strcmp(what, "trace stop") == 0)
		fake_sys_stop++;
	fn(arg); /* the test's "system stack" is the caller's own stack */
}

/* The long name of FAKE_PC_1K / FAKE_PC_3K: 'a'..'z' repeated, len bytes. */
static void fake_long_name(char *out, size_t len)
{
	for (size_t i = 0; i < len; i++)
		out[i] = (char)('a' + i % 26);
	out[len] = 0;
}

/* Names of pc: a function in one of 7 files, with a name 10..300 bytes long. */
static void fake_describe_pc(uint64_t pc, const char **func, const char **file, uint64_t *line)
{
	static _Thread_local char fn[3100], fl[200];
	if (pc == FAKE_PC_1K || pc == FAKE_PC_3K) {
		fake_long_name(fn, pc == FAKE_PC_1K ? 1024 : 3000);
	} else {
		int n = snprintf(fn, sizeof fn, "main.func%" PRIu64 "_", pc / 16);
		size_t want = 10 + (pc / 16 * 37) % 290;
		for (; (size_t)n < want && (size_t)n < sizeof fn - 1; n++)
			fn[n] = (char)('A' + n % 26);
		fn[n] = 0;
	}
	snprintf(fl, sizeof fl, "/src/greenvm/programs/module_%" PRIu64 "/a_rather_long_file_name.gasm",
		 pc % 7);
	*func = fn;
	*file = fl;
	*line = pc % 1000 + 1;
}

/* A goroutine of a test: its tracing state and the stack the tracer's
 * stack hook reports for it, which the test sets before each event. */
typedef struct fake_g {
	trace_gstate g;
	int n;                         /* PCs in pcs */
	uint64_t pcs[TRACE_STACK_MAX]; /* the stack, innermost first */
} fake_g;

/* Set f's stack to pcs[0..n); returns f's tracing state, for an event. */
static inline trace_gstate *fake_at(fake_g *f, const uint64_t *pcs, int n)
{
	f->n = n;
	memcpy(f->pcs, pcs, (size_t)n * sizeof *pcs);
	return &f->g;
}

/* The stack hook: the stack its test set (fake_at), cut to max. */
static int fake_stack(trace_gstate *tg, uint64_t *pcs, int max)
{
	const fake_g *f = (const fake_g *)((const char *)tg - offsetof(fake_g, g));
	int n = f->n < max ? f->n : max;
	memcpy(pcs, f->pcs, (size_t)n * sizeof *pcs);
	return n;
}

static trace_hooks fake_hooks(const char *path, enum trace_dump_mode dump)
{
	trace_hooks h = {
		.systemstack = fake_systemstack,
		.describe_pc = fake_describe_pc,
		.stack = fake_stack,
		.clock = TRACE_CLOCK_VIRTUAL,
		.dump = dump,
		.path = path,
		.fd = -1,
	};
	return h;
}

#endif
