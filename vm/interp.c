/* interp.c: the interpreter loop.
 *
 * Registers live in C locals while the loop runs:
 *
 *     ip    the current instruction (it points at the opcode word while the
 *           instruction executes; each handler steps over its own width)
 *     base  the current frame's first local
 *     sp    the first free operand slot
 *     fn    the current function
 *
 * SAVE() writes them into the context (as slot indexes, because the stack
 * moves when it grows) and LOAD() reads them back.
 *
 * A bytecode call never recurses on the C stack: call pushes a frame record
 * on the VM stack and jumps; ret pops it.  Dispatch is computed goto (GCC's
 * labels as values) where the compiler has it, a switch otherwise; the debug
 * build uses the switch so that both are tested.  Both are generated from
 * opcodes.h: an opcode without a handler does not compile.
 *
 * Goroutines.  Every M runs mloop() on its M stack, and mloop runs the loop
 * for whichever G the scheduler gives it.  An instruction that blocks (a
 * channel operation that cannot complete, sleep, lock, ...) saves the
 * registers in the G with ip still on itself, so a traceback or a trace
 * event of the parked G names the blocking instruction's line (as Go's
 * traceback of a parked goroutine names the line of its call), and calls
 * the scheduler, which returns when this M has a G to run again, usually
 * another one: RELOAD() picks up that G's registers, finishes whatever its
 * own blocking instruction left to do (g->resume) and steps past it.
 * Taken jumps and calls count down a time-slice budget; at zero the
 * scheduler says whether to yield.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "gc/gc.h"
#include "scheduler/sched.h"
#include "vm/internal.h"

#if defined(__GNUC__) && !defined(GREENVM_DEBUG)
#define VM_COMPUTED_GOTO 1
#endif

/* What every M needs of the program being run (set once by vm_run). */
static struct {
	const vm_program *prog;
	const vm_run_options *opt;
	/* serializes fatal output: the first panic wins */
	pthread_mutex_t dying;
	/* the last trace task id handed out (tasknew) */
	_Atomic uint64_t tasks;
} rt = { .dying = PTHREAD_MUTEX_INITIALIZER };

_Static_assert(_Alignof(vm_ctx) <= _Alignof(sched_g) && sizeof(sched_g) % _Alignof(vm_ctx) == 0,
	       "a vm_ctx may live right after its G (sched_config.gvmsize)");
_Static_assert(VM_SELECT_MAX <= SCHED_SELECT_MAX,
	       "the verifier admits no select the scheduler cannot run");

/* What a G that blocked must finish when it runs again (sched_g.resume).
 * Every one but RESUME_NONE steps past the blocking instruction, which the
 * saved pc names while the G waits. */
enum {
	RESUME_NONE,   /* not blocked: run from the saved pc */
	RESUME_STEP,   /* only step past (sleep, send, lock, wgwait, yield) */
	RESUME_RECV,   /* push receive's ok flag, then step */
	RESUME_SELECT, /* fetch select's outcome, then step */
};

/* ------------------------------------------------------------------ */
/* Panics and tracebacks                                              */
/* ------------------------------------------------------------------ */

/* Print "file:line" of code word pc. */
static void print_where(const vm_program *p, uint32_t pc)
{
	fprintf(stderr, "\t%s:%u\n", p->file, pc < p->ncode ? p->lines[pc] : 0);
}

/* Print the VM traceback of ctx, innermost frame first, as Go does.  The
 * saved pc is the instruction the G is in (the one it runs, or blocked in);
 * an outer frame's is its call. */
static void traceback(const vm_program *p, const vm_ctx *c)
{
	uint32_t fn = c->fn, pc = c->pc;
	uint64_t base = c->base;
	int depth = 0;
	do {
		if (++depth > 100) {
			fprintf(stderr, "...additional frames elided...\n");
			return;
		}
		fprintf(stderr, "%s()\n", p->funcs[fn].name);
		print_where(p, pc);
	} while (vm_frame_up(p, c, &fn, &pc, &base));
}

/* The scheduler's stack hook, for trace events: g's frames as pcs,
 * innermost first.  The innermost is the saved pc, the instruction g is in
 * whatever its status: the one it runs, the one it blocked in (a block
 * event's stack names the recv, not the instruction after it), the ffi of
 * its syscall, or the next to run of a preempted or new G.  An outer frame's
 * is its call instruction (vm_frame_up steps back from the return address, as
 * Go's tracebacks look up pc-1 of a return address). */
static int stack_hook(sched_g *g, uint64_t *pcs, int max)
{
	const vm_program *p = rt.prog;
	const vm_ctx *c = g->vm;
	uint32_t fn = c->fn;
	uint32_t pc = c->pc;
	uint64_t base = c->base;
	int n = 0;
	do
		pcs[n++] = (uint64_t)pc + 1; /* a trace PC: see describe_pc_hook */
	while (n < max && vm_frame_up(p, c, &fn, &pc, &base));
	return n;
}

/* The tracer's describe_pc hook.  A trace PC is a code word of the program
 * plus one, so no PC is 0: Go's trace tools take a zero PC for "unset". */
static void describe_pc_hook(uint64_t tpc, const char **func, const char **file, uint64_t *line)
{
	const vm_program *p = rt.prog;
	uint64_t pc = tpc - 1;
	const vm_function *f = pc < p->ncode ? vm_func_at(p, (uint32_t)pc) : NULL;
	*func = f ? f->name : "?";
	*file = p->file;
	*line = pc < p->ncode ? p->lines[pc] : 0;
}

/* The collector's events, for the trace. */
static void gc_event_hook(enum gc_event ev, uint64_t arg)
{
	static const int map[] = {
		[GC_EV_START] = TRACE_EV_GC_START,
		[GC_EV_STW_START] = TRACE_EV_GC_STW_START,
		[GC_EV_STW_DONE] = TRACE_EV_GC_STW_DONE,
		[GC_EV_DONE] = TRACE_EV_GC_DONE,
		[GC_EV_HEAP] = TRACE_EV_HEAP_ALLOC,
	};
	sched_trace_gc(map[ev], arg);
}

/* The scheduler's traceback hook: g is parked, its registers saved. */
static void traceback_hook(sched_g *g)
{
	traceback(rt.prog, g->vm);
}

/* Report a panic of the running G and end the program (exit status 2).
 * msg is NULL when the panic value v is printed instead. */
__attribute__((noreturn)) static void vm_panic_value(const vm_value *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
__attribute__((noreturn)) static void vm_panic_value(const vm_value *v, const char *fmt, ...)
{
	sched_g *g = sched_curg();
	pthread_mutex_lock(&rt.dying);
	fflush(stdout);
	fputs("panic: ", stderr);
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
	} else {
		vm_value_print(stderr, v);
	}
	fprintf(stderr, "\n\ngoroutine %lld [running]:\n", (long long)g->goid);
	traceback(rt.prog, g->vm);
	fflush(stderr);
	sched_exit(VM_EXIT_PANIC);
}

/* ------------------------------------------------------------------ */
/* The loop                                                           */
/* ------------------------------------------------------------------ */

/* Could s be a number of at most max bytes: not empty, no NUL inside,
 * and no leading space, which strtoll and strtod would skip. */
static bool plain_number(const vm_string *s, size_t max)
{
	return s->len > 0 && s->len <= max && !memchr(s->data, 0, s->len) &&
	       !isspace((unsigned char)s->data[0]);
}

/* Parse a whole string as a decimal int64.  0 on success. */
static int str_to_int(const vm_string *s, int64_t *out)
{
	if (!plain_number(s, 24))
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(s->data, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int str_to_float(const vm_string *s, double *out)
{
	if (!plain_number(s, 64))
		return -1;
	char *end;
	double v = strtod(s->data, &end);
	if (*end)
		return -1;
	*out = v;
	return 0;
}

/* A channel operand: a chan, or nil (the nil channel, NULL); anything
 * else is BAD_CHAN. */
#define BAD_CHAN ((sched_chan *)1)
static sched_chan *chan_operand(const vm_value *v)
{
	if (v->kind == VK_CHAN)
		return v->u.p;
	return v->kind == VK_NIL ? NULL : BAD_CHAN;
}

static int string_compare(const vm_string *a, const vm_string *b)
{
	uint64_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->data, b->data, n);
	if (c)
		return c;
	return (a->len > b->len) - (a->len < b->len);
}

static sched_g *vm_newproc(uint32_t f, const vm_value *args, uint32_t nargs);

static void run_loop(void)
{
	const vm_program *prog = rt.prog;
	const uint32_t *code = prog->code;
	const vm_function *funcs = prog->funcs;
	const vm_run_options *opt = rt.opt;
	sched_g *g;
	vm_ctx *ctx;

	const uint32_t *ip;
	vm_value *base, *sp;
	const vm_function *fn;
	/* taken jumps and calls left before asking the scheduler to yield */
	int64_t budget;

#define SAVE()                                            \
	(ctx->pc = (uint32_t)(ip - code), ctx->fn = (uint32_t)(fn - funcs), \
	 ctx->base = (uint64_t)(base - ctx->stack), ctx->sp = (uint64_t)(sp - ctx->stack), \
	 sched_tls_slice = budget)
#define LOAD()                                                            \
	(ip = code + ctx->pc, fn = &funcs[ctx->fn], base = ctx->stack + ctx->base, \
	 sp = ctx->stack + ctx->sp)
/* Save the registers for a trace event that carries this G's stack: a G
 * it wakes or creates, a user annotation.  Without a trace nothing reads
 * them before the next SAVE, so the hot operations skip it
 * (sched_trace_enabled changes only with the world stopped). */
#define SAVE_FOR_TRACE() do { if (sched_trace_enabled) SAVE(); } while (0)
#define OPERAND() (ip[1])
#define PANIC(...) do { SAVE(); vm_panic_value(NULL, __VA_ARGS__); } while (0)
	/* After the scheduler returns: run the G it gives us, or stop. */
#define RELOAD()                                  \
	do {                                      \
		if (!(g = sched_curg()))          \
			return;                   \
		ctx = g->vm;                      \
		LOAD();                           \
		budget = sched_tls_slice;         \
		if (g->resume || g->resume_err)   \
			goto resume;              \
	} while (0)
	/* Leave the M to the scheduler: call the scheduler, then run what
	 * comes.  ip stays on the blocking instruction (the G's trace event
	 * and tracebacks name it); `what` (RESUME_*) says what is left to do
	 * when the G runs again, stepping past it included. */
#define BLOCK(what, call)         \
	do {                      \
		g->resume = (what); \
		SAVE();           \
		call;             \
		RELOAD();         \
		DISPATCH();       \
	} while (0)
	/* Time slice: counted down at jumps and calls. */
#define TICK()                                                            \
	do {                                                              \
		if (__builtin_expect(--budget <= 0, 0) && sched_check_preempt(&budget)) { \
			SAVE();                                           \
			vm_stack_shrink(prog, ctx);                        \
			sched_preempt();                                  \
			RELOAD();                                         \
		}                                                         \
	} while (0)
#define TYPE_PANIC(op, a, b)                                                        \
	PANIC("runtime error: %s: mismatched types %s and %s", op, vm_kind_name((a)->kind), \
	      vm_kind_name((b)->kind))
#define WANT(v, k, op)                                                            \
	do {                                                                      \
		if ((v)->kind != (k))                                             \
			PANIC("runtime error: %s: %s expected, got %s", op, vm_kind_name(k), \
			      vm_kind_name((v)->kind));                           \
	} while (0)

#ifdef VM_COMPUTED_GOTO
	/* Unassigned numbers go to bad_opcode; the table's entries override. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
	static const void *const dispatch[OP__LIMIT] = {
		[0 ... OP__LIMIT - 1] = &&bad_opcode,
#define OP(name, c, mnem, opnd, pops, pushes, flags, doc) [c] = &&L_##name,
#include "vm/opcodes.h"
#undef OP
	};
#pragma GCC diagnostic pop
#define CASE(name) L_##name:
#define DISPATCH() goto *dispatch[*ip]
#define NEXT(width) do { ip += (width); DISPATCH(); } while (0)
#else
#define CASE(name) case OP_##name:
#define DISPATCH() goto top
#define NEXT(width) do { ip += (width); goto top; } while (0)
#endif

	RELOAD();
#ifdef VM_COMPUTED_GOTO
	DISPATCH();
#else
top:
	switch (*ip) {
#endif

	CASE(NOP) NEXT(1);
	CASE(POP) sp--; NEXT(1);
	CASE(DUP) sp[0] = sp[-1]; sp++; NEXT(1);
	CASE(SWAP) { vm_value t = sp[-1]; sp[-1] = sp[-2]; sp[-2] = t; NEXT(1); }
	CASE(OVER) sp[0] = sp[-2]; sp++; NEXT(1);
	CASE(PUSHNIL) *sp++ = (vm_value){ .kind = VK_NIL }; NEXT(1);
	CASE(PUSHI) *sp++ = (vm_value){ .kind = VK_INT, .u.i = (int32_t)OPERAND() }; NEXT(2);
	CASE(CONST) *sp++ = prog->consts[OPERAND()]; NEXT(2);
	CASE(LOAD) *sp++ = base[OPERAND()]; NEXT(2);
	CASE(STORE) base[OPERAND()] = *--sp; NEXT(2);

	/* Arithmetic: ints wrap around as in Go (computed unsigned, so C has no
	 * undefined overflow); floats follow IEEE 754. */
#define ARITH(NAME, opname, INTEXPR, FLTEXPR)                                     \
	CASE(NAME) {                                                              \
		vm_value *a = sp - 2, *b = sp - 1;                                \
		if (a->kind == VK_INT && b->kind == VK_INT) {                     \
			uint64_t x = (uint64_t)a->u.i, y = (uint64_t)b->u.i;      \
			a->u.i = (int64_t)(INTEXPR);                              \
		} else if (a->kind == VK_FLOAT && b->kind == VK_FLOAT) {          \
			a->u.f = FLTEXPR;                                         \
		} else                                                            \
			TYPE_PANIC(opname, a, b);                                 \
		sp--;                                                             \
		NEXT(1);                                                          \
	}
	ARITH(ADD, "add", x + y, a->u.f + b->u.f)
	ARITH(SUB, "sub", x - y, a->u.f - b->u.f)
	ARITH(MUL, "mul", x * y, a->u.f * b->u.f)
#undef ARITH

	CASE(DIV) {
		vm_value *a = sp - 2, *b = sp - 1;
		if (a->kind == VK_INT && b->kind == VK_INT) {
			if (b->u.i == 0)
				PANIC("runtime error: integer divide by zero");
			/* INT64_MIN / -1 overflows: Go's answer is INT64_MIN. */
			a->u.i = b->u.i == -1 ? (int64_t)(0 - (uint64_t)a->u.i) : a->u.i / b->u.i;
		} else if (a->kind == VK_FLOAT && b->kind == VK_FLOAT) {
			a->u.f = a->u.f / b->u.f;
		} else
			TYPE_PANIC("div", a, b);
		sp--;
		NEXT(1);
	}
	CASE(MOD) {
		vm_value *a = sp - 2, *b = sp - 1;
		if (a->kind != VK_INT || b->kind != VK_INT)
			TYPE_PANIC("mod", a, b);
		if (b->u.i == 0)
			PANIC("runtime error: integer divide by zero");
		a->u.i = b->u.i == -1 ? 0 : a->u.i % b->u.i;
		sp--;
		NEXT(1);
	}
	CASE(NEG) {
		vm_value *a = sp - 1;
		if (a->kind == VK_INT)
			a->u.i = (int64_t)(0 - (uint64_t)a->u.i);
		else if (a->kind == VK_FLOAT)
			a->u.f = -a->u.f;
		else
			PANIC("runtime error: neg: int or float expected, got %s", vm_kind_name(a->kind));
		NEXT(1);
	}
	CASE(INC) {
		vm_value *l = &base[OPERAND()];
		WANT(l, VK_INT, "inc");
		l->u.i = (int64_t)((uint64_t)l->u.i + 1);
		NEXT(2);
	}

	CASE(EQ) sp[-2] = (vm_value){ .kind = VK_INT, .u.i = vm_value_equal(&sp[-2], &sp[-1]) }; sp--; NEXT(1);
	CASE(NE) sp[-2] = (vm_value){ .kind = VK_INT, .u.i = !vm_value_equal(&sp[-2], &sp[-1]) }; sp--; NEXT(1);

	/* Ordered comparisons: int/int, float/float or string/string. */
#define COMPARE(NAME, opname, REL)                                                \
	CASE(NAME) {                                                              \
		vm_value *a = sp - 2, *b = sp - 1;                                \
		int t;                                                            \
		if (a->kind == VK_INT && b->kind == VK_INT)                       \
			t = a->u.i REL b->u.i;                                    \
		else if (a->kind == VK_FLOAT && b->kind == VK_FLOAT)              \
			t = a->u.f REL b->u.f;                                    \
		else if (a->kind == VK_STRING && b->kind == VK_STRING)            \
			t = string_compare(a->u.s, b->u.s) REL 0;                 \
		else                                                              \
			TYPE_PANIC(opname, a, b);                                 \
		*a = (vm_value){ .kind = VK_INT, .u.i = t };                      \
		sp--;                                                             \
		NEXT(1);                                                          \
	}
	COMPARE(LT, "lt", <)
	COMPARE(LE, "le", <=)
	COMPARE(GT, "gt", >)
	COMPARE(GE, "ge", >=)
#undef COMPARE

#define BITS(NAME, opname, EXPR)                                                  \
	CASE(NAME) {                                                              \
		vm_value *a = sp - 2, *b = sp - 1;                                \
		if (a->kind != VK_INT || b->kind != VK_INT)                       \
			TYPE_PANIC(opname, a, b);                                 \
		a->u.i = EXPR;                                                    \
		sp--;                                                             \
		NEXT(1);                                                          \
	}
	BITS(AND, "and", a->u.i & b->u.i)
	BITS(OR, "or", a->u.i | b->u.i)
	BITS(XOR, "xor", a->u.i ^ b->u.i)
#undef BITS
	/* Shifts as in Go: a negative count panics, 64 or more shifts everything out. */
	CASE(SHL) CASE(SHR) {
		vm_value *a = sp - 2, *b = sp - 1;
		int left = *ip == OP_SHL;
		if (a->kind != VK_INT || b->kind != VK_INT)
			TYPE_PANIC(left ? "shl" : "shr", a, b);
		if (b->u.i < 0)
			PANIC("runtime error: negative shift amount");
		if (left)
			a->u.i = b->u.i >= 64 ? 0 : (int64_t)((uint64_t)a->u.i << b->u.i);
		else
			a->u.i = a->u.i >> (b->u.i >= 64 ? 63 : b->u.i);
		sp--;
		NEXT(1);
	}
	CASE(NOT) WANT(&sp[-1], VK_INT, "not"); sp[-1].u.i = sp[-1].u.i == 0; NEXT(1);

	CASE(JMP) ip = code + fn->start + OPERAND(); TICK(); DISPATCH();
	CASE(JZ) {
		sp--;
		WANT(sp, VK_INT, "jz");
		if (sp->u.i == 0) {
			ip = code + fn->start + OPERAND();
			TICK();
			DISPATCH();
		}
		NEXT(2);
	}
	CASE(JNZ) {
		sp--;
		WANT(sp, VK_INT, "jnz");
		if (sp->u.i != 0) {
			ip = code + fn->start + OPERAND();
			TICK();
			DISPATCH();
		}
		NEXT(2);
	}

	CASE(CALL) {
		const vm_function *callee = &funcs[OPERAND()];
		vm_value *nb = sp - callee->nparams;
		if ((uint64_t)(nb - ctx->stack) + vm_frame_slots(callee) > ctx->nslots) {
			/* morestack: grow by copying, then find our registers again */
			uint64_t nbi = (uint64_t)(nb - ctx->stack);
			SAVE();
			if (vm_stack_grow(ctx, nbi + vm_frame_slots(callee), opt->max_stack) != 0)
				PANIC("runtime error: stack overflow: goroutine stack exceeds "
				      "%llu-byte limit", (unsigned long long)opt->max_stack);
			LOAD();
			nb = ctx->stack + nbi;
		}
		for (vm_value *l = nb + callee->nparams; l < nb + callee->nlocals; l++)
			*l = (vm_value){ .kind = VK_NIL };
		uint32_t ret = (uint32_t)(ip + 2 - code);
		nb[callee->nlocals] = (vm_value){
			.kind = VK_FRAME,
			.aux = (uint32_t)(fn - funcs),
			.u.i = (int64_t)(((uint64_t)(base - ctx->stack) << 32) | ret),
		};
		base = nb;
		sp = nb + callee->nlocals + 1;
		fn = callee;
		ip = code + fn->start;
		TICK();
		DISPATCH();
	}
	CASE(RET) {
		vm_value result = sp[-1];
		const vm_value *rec = &base[fn->nlocals];
		if (rec->aux == VM_NO_CALLER) {
			if (g->goid == 1) { /* main returned: the program ends */
				SAVE(); /* the trace's last event carries our stack */
				fflush(stdout);
				sched_exit(VM_EXIT_OK);
			}
			/* a goroutine's function returned: it ends */
			vm_ctx_release(ctx);
			BLOCK(RESUME_NONE, sched_goexit());
		}
		/* Read the frame record before the result goes where the frame
		 * began: for a function without locals that is the record itself. */
		uint32_t caller = rec->aux;
		uint64_t link = (uint64_t)rec->u.i;
		sp = base;
		*sp++ = result;
		fn = &funcs[caller];
		ip = code + (uint32_t)link;
		base = ctx->stack + (link >> 32);
		DISPATCH();
	}

	CASE(NEWARRAY) {
		WANT(&sp[-1], VK_INT, "newarray");
		int64_t n = sp[-1].u.i;
		if (n < 0 || n > (1ll << 32))
			PANIC("runtime error: newarray: len out of range (%lld)", (long long)n);
		vm_array *a = vm_array_new((uint64_t)n);
		sp[-1] = (vm_value){ .kind = VK_ARRAY, .u.a = a };
		NEXT(1);
	}
	CASE(AGET) {
		WANT(&sp[-2], VK_ARRAY, "aget");
		WANT(&sp[-1], VK_INT, "aget");
		vm_array *a = sp[-2].u.a;
		int64_t i = sp[-1].u.i;
		if ((uint64_t)i >= a->len)
			PANIC("runtime error: index out of range [%lld] with length %llu", (long long)i,
			      (unsigned long long)a->len);
		sp[-2] = a->items[i];
		sp--;
		NEXT(1);
	}
	CASE(ASET) {
		WANT(&sp[-3], VK_ARRAY, "aset");
		WANT(&sp[-2], VK_INT, "aset");
		vm_array *a = sp[-3].u.a;
		int64_t i = sp[-2].u.i;
		if ((uint64_t)i >= a->len)
			PANIC("runtime error: index out of range [%lld] with length %llu", (long long)i,
			      (unsigned long long)a->len);
		a->items[i] = sp[-1];
		sp -= 3;
		NEXT(1);
	}
	CASE(ALEN) {
		WANT(&sp[-1], VK_ARRAY, "alen");
		sp[-1] = (vm_value){ .kind = VK_INT, .u.i = (int64_t)sp[-1].u.a->len };
		NEXT(1);
	}

	CASE(SCONCAT) {
		WANT(&sp[-2], VK_STRING, "sconcat");
		WANT(&sp[-1], VK_STRING, "sconcat");
		vm_string *a = sp[-2].u.s, *b = sp[-1].u.s;
		vm_string *s = vm_string_new(NULL, a->len + b->len);
		memcpy(s->data, a->data, a->len);
		memcpy(s->data + a->len, b->data, b->len);
		sp[-2].u.s = s;
		sp--;
		NEXT(1);
	}
	CASE(SLEN) {
		WANT(&sp[-1], VK_STRING, "slen");
		sp[-1] = (vm_value){ .kind = VK_INT, .u.i = (int64_t)sp[-1].u.s->len };
		NEXT(1);
	}
	CASE(SSLICE) {
		WANT(&sp[-3], VK_STRING, "sslice");
		WANT(&sp[-2], VK_INT, "sslice");
		WANT(&sp[-1], VK_INT, "sslice");
		vm_string *s = sp[-3].u.s;
		int64_t lo = sp[-2].u.i, hi = sp[-1].u.i;
		if (lo < 0 || hi < lo || (uint64_t)hi > s->len)
			PANIC("runtime error: slice bounds out of range [%lld:%lld] with length %llu",
			      (long long)lo, (long long)hi, (unsigned long long)s->len);
		vm_string *t = vm_string_new(s->data + lo, (uint64_t)(hi - lo));
		sp[-3].u.s = t;
		sp -= 2;
		NEXT(1);
	}
	CASE(SINDEX) {
		WANT(&sp[-2], VK_STRING, "sindex");
		WANT(&sp[-1], VK_INT, "sindex");
		vm_string *s = sp[-2].u.s;
		int64_t i = sp[-1].u.i;
		if ((uint64_t)i >= s->len)
			PANIC("runtime error: index out of range [%lld] with length %llu", (long long)i,
			      (unsigned long long)s->len);
		sp[-2] = (vm_value){ .kind = VK_INT, .u.i = (unsigned char)s->data[i] };
		sp--;
		NEXT(1);
	}
	CASE(CHR) {
		WANT(&sp[-1], VK_INT, "chr");
		int64_t c = sp[-1].u.i;
		if (c < 0 || c > 255)
			PANIC("runtime error: chr: %lld is not a byte", (long long)c);
		char b = (char)c;
		vm_string *s = vm_string_new(&b, 1);
		sp[-1] = (vm_value){ .kind = VK_STRING, .u.s = s };
		NEXT(1);
	}
	CASE(ITOS) CASE(FTOS) {
		int isint = *ip == OP_ITOS;
		WANT(&sp[-1], isint ? VK_INT : VK_FLOAT, isint ? "itos" : "ftos");
		vm_string *s = vm_value_to_string(&sp[-1]);
		sp[-1] = (vm_value){ .kind = VK_STRING, .u.s = s };
		NEXT(1);
	}
	CASE(STOI) {
		WANT(&sp[-1], VK_STRING, "stoi");
		int64_t v;
		if (str_to_int(sp[-1].u.s, &v) != 0)
			PANIC("runtime error: stoi: invalid integer \"%.*s\"",
			      (int)(sp[-1].u.s->len > 64 ? 64 : sp[-1].u.s->len), sp[-1].u.s->data);
		sp[-1] = (vm_value){ .kind = VK_INT, .u.i = v };
		NEXT(1);
	}
	CASE(STOF) {
		WANT(&sp[-1], VK_STRING, "stof");
		double v;
		if (str_to_float(sp[-1].u.s, &v) != 0)
			PANIC("runtime error: stof: invalid number \"%.*s\"",
			      (int)(sp[-1].u.s->len > 64 ? 64 : sp[-1].u.s->len), sp[-1].u.s->data);
		sp[-1] = (vm_value){ .kind = VK_FLOAT, .u.f = v };
		NEXT(1);
	}
	CASE(ITOF) {
		WANT(&sp[-1], VK_INT, "itof");
		sp[-1] = (vm_value){ .kind = VK_FLOAT, .u.f = (double)sp[-1].u.i };
		NEXT(1);
	}
	CASE(FTOI) {
		WANT(&sp[-1], VK_FLOAT, "ftoi");
		double f = sp[-1].u.f;
		/* Out of range has no defined answer in C; Go's is
		 * implementation-specific too.  We panic rather than guess. */
		if (!(f > -9223372036854775809.0 && f < 9223372036854775808.0))
			PANIC("runtime error: ftoi: %g does not fit an int", f);
		sp[-1] = (vm_value){ .kind = VK_INT, .u.i = (int64_t)f };
		NEXT(1);
	}

	CASE(PRINT) sp--; vm_value_print(stdout, sp); NEXT(1);
	CASE(PRINTLN) sp--; vm_value_print(stdout, sp); putc('\n', stdout); NEXT(1);
	CASE(ARGC) *sp++ = (vm_value){ .kind = VK_INT, .u.i = opt->argc }; NEXT(1);
	CASE(ARGV) {
		WANT(&sp[-1], VK_INT, "argv");
		int64_t i = sp[-1].u.i;
		if (i < 0 || i >= opt->argc)
			PANIC("runtime error: index out of range [%lld] with length %d", (long long)i,
			      opt->argc);
		vm_string *s = vm_string_new(opt->argv[i], strlen(opt->argv[i]));
		sp[-1] = (vm_value){ .kind = VK_STRING, .u.s = s };
		NEXT(1);
	}
	CASE(EXIT) {
		WANT(&sp[-1], VK_INT, "exit");
		/* A process's exit status is 8 bits: the system would keep only
		 * the low ones of a larger one (300 would exit 44). */
		if (sp[-1].u.i < 0 || sp[-1].u.i > 255)
			PANIC("runtime error: exit status %lld out of range [0, 255]",
			      (long long)sp[-1].u.i);
		SAVE();
		fflush(stdout);
		sched_exit((int)sp[-1].u.i);
	}
	CASE(PANIC) {
		sp--;
		SAVE();
		vm_panic_value(sp, NULL);
	}

	/* -------- goroutines and channels: scheduler/ does the work -------- */
	CASE(GO) {
		const vm_function *callee = &funcs[OPERAND()];
		sp -= callee->nparams;
		sched_g *ng = vm_newproc(OPERAND(), sp, callee->nparams);
		if (!ng) /* its first frame is over the stack limit */
			PANIC("runtime error: stack overflow: goroutine stack exceeds "
			      "%llu-byte limit", (unsigned long long)opt->max_stack);
		SAVE_FOR_TRACE(); /* GoCreate carries our stack */
		sched_start(ng);
		NEXT(2);
	}
	CASE(YIELD) BLOCK(RESUME_STEP, (vm_stack_shrink(prog, ctx), sched_gosched()));
	CASE(GOID) *sp++ = (vm_value){ .kind = VK_INT, .u.i = g->goid }; NEXT(1);
	CASE(NUMPROCS) *sp++ = (vm_value){ .kind = VK_INT, .u.i = sched_nprocs() }; NEXT(1);
	CASE(SLEEP) {
		WANT(&sp[-1], VK_INT, "sleep");
		int64_t ns = (--sp)->u.i;
		BLOCK(RESUME_STEP, sched_sleep(ns));
	}
	CASE(NANOTIME) *sp++ = (vm_value){ .kind = VK_INT, .u.i = sched_nanotime() }; NEXT(1);
	CASE(MAKECHAN) {
		WANT(&sp[-1], VK_INT, "makechan");
		int64_t cap = sp[-1].u.i;
		if (cap < 0 || cap > (1ll << 28))
			PANIC("makechan: size out of range");
		sched_chan *c = sched_chan_new(cap);
		sp[-1] = (vm_value){ .kind = VK_CHAN, .u.p = c };
		NEXT(1);
	}
	CASE(SEND) {
		sched_chan *c = chan_operand(&sp[-2]);
		if (c == BAD_CHAN)
			PANIC("runtime error: send: chan expected, got %s", vm_kind_name(sp[-2].kind));
		SAVE_FOR_TRACE(); /* waking a receiver */
		int r = sched_chan_send(c, &sp[-1]);
		sp -= 2;
		if (r == CHAN_ERR_CLOSED)
			PANIC("send on closed channel");
		if (r == CHAN_BLOCK) /* the value stays in its slot until taken */
			BLOCK(RESUME_STEP, sched_block(c ? WAIT_CHAN_SEND : WAIT_CHAN_SEND_NIL, TRACE_EV_GO_BLOCK_SEND));
		NEXT(1);
	}
	CASE(RECV) {
		sched_chan *c = chan_operand(&sp[-1]);
		if (c == BAD_CHAN)
			PANIC("runtime error: recv: chan expected, got %s", vm_kind_name(sp[-1].kind));
		bool ok = false;
		SAVE_FOR_TRACE(); /* waking a sender */
		int r = sched_chan_recv(c, &sp[-1], &ok); /* the value replaces the chan */
		*sp++ = (vm_value){ .kind = VK_INT, .u.i = ok };
		if (r == CHAN_BLOCK)
			BLOCK(RESUME_RECV, sched_block(c ? WAIT_CHAN_RECEIVE : WAIT_CHAN_RECEIVE_NIL,
						       TRACE_EV_GO_BLOCK_RECV));
		NEXT(1);
	}
	CASE(CLOSE) {
		sched_chan *c = chan_operand(&sp[-1]);
		if (c == BAD_CHAN)
			PANIC("runtime error: close: chan expected, got %s", vm_kind_name(sp[-1].kind));
		SAVE_FOR_TRACE(); /* waking the waiters */
		sp--;
		int r = sched_chan_close(c);
		if (r == CHAN_ERR_CLOSE_CLOSED)
			PANIC("close of closed channel");
		if (r == CHAN_ERR_CLOSE_NIL)
			PANIC("close of nil channel");
		NEXT(1);
	}
	CASE(SELECT) CASE(SELECTD) {
		/* N cases of (chan, dir, value) become (index, value, ok) in the
		 * first three slots.  Receive cases all deliver into slot 1:
		 * only one case wins. */
		uint32_t n = OPERAND();
		bool block = *ip == OP_SELECT;
		vm_value *cs = sp - 3 * n;
		sched_scase cases[VM_SELECT_MAX];
		for (uint32_t i = 0; i < n; i++) {
			vm_value *c3 = &cs[3 * i];
			cases[i].c = chan_operand(&c3[0]);
			if (cases[i].c == BAD_CHAN)
				PANIC("runtime error: select: chan expected, got %s",
				      vm_kind_name(c3[0].kind));
			WANT(&c3[1], VK_INT, "select direction");
			cases[i].send = c3[1].u.i != 0;
			cases[i].elem = cases[i].send ? (void *)&c3[2] : (void *)&cs[1];
		}
		bool ok = false;
		SAVE_FOR_TRACE(); /* waking a sender or receiver */
		int idx = sched_select(cases, (int)n, block, &ok);
		sp = cs + 3;
		if (idx == -CHAN_ERR_CLOSED)
			PANIC("send on closed channel");
		if (idx == SCHED_SELECT_BLOCK)
			BLOCK(RESUME_SELECT, sched_block(n ? WAIT_SELECT : WAIT_SELECT_NO_CASES,
							 TRACE_EV_GO_BLOCK_SELECT));
		bool send = idx >= 0 && cases[idx].send;
		cs[0] = (vm_value){ .kind = VK_INT, .u.i = idx };
		if (idx < 0 || send)
			cs[1] = (vm_value){ .kind = VK_NIL };
		cs[2] = (vm_value){ .kind = VK_INT, .u.i = idx >= 0 && (send || ok) };
		NEXT(2);
	}
	CASE(NEWMUTEX) {
		sched_mutex *mu = sched_mutex_new();
		*sp++ = (vm_value){ .kind = VK_MUTEX, .u.p = mu };
		NEXT(1);
	}
	CASE(LOCK) {
		WANT(&sp[-1], VK_MUTEX, "lock");
		sp--;
		if (sched_mutex_lock(sp->u.p) == CHAN_BLOCK)
			BLOCK(RESUME_STEP, sched_block(WAIT_MUTEX, TRACE_EV_GO_BLOCK_SYNC));
		NEXT(1);
	}
	CASE(UNLOCK) {
		WANT(&sp[-1], VK_MUTEX, "unlock");
		SAVE_FOR_TRACE(); /* waking a waiter */
		sp--;
		if (sched_mutex_unlock(sp->u.p) != 0)
			PANIC("sync: unlock of unlocked mutex");
		NEXT(1);
	}
	CASE(NEWWG) {
		sched_waitgroup *wg = sched_waitgroup_new();
		*sp++ = (vm_value){ .kind = VK_WAITGROUP, .u.p = wg };
		NEXT(1);
	}
	CASE(WGADD) CASE(WGDONE) {
		int done = *ip == OP_WGDONE;
		vm_value *w = done ? &sp[-1] : &sp[-2];
		WANT(w, VK_WAITGROUP, done ? "wgdone" : "wgadd");
		if (!done)
			WANT(&sp[-1], VK_INT, "wgadd");
		int64_t delta = done ? -1 : sp[-1].u.i;
		SAVE_FOR_TRACE(); /* waking the waiters */
		sp = w;
		if (sched_waitgroup_add(w->u.p, delta) != 0)
			PANIC("sync: negative WaitGroup counter");
		NEXT(1);
	}
	CASE(WGWAIT) {
		WANT(&sp[-1], VK_WAITGROUP, "wgwait");
		sp--;
		if (sched_waitgroup_wait(sp->u.p) == CHAN_BLOCK)
			BLOCK(RESUME_STEP, sched_block(WAIT_WAITGROUP, TRACE_EV_GO_BLOCK_SYNC));
		NEXT(1);
	}


	/* -------- tracing from bytecode: the world stops meanwhile -------- */
	CASE(TRACESTART) {
		WANT(&sp[-1], VK_STRING, "tracestart");
		SAVE(); /* the snapshot and GoStart carry our stack */
		int ok = sched_trace_start(sp[-1].u.s->data) == 0;
		if (!ok && sched_trace_failed_why())
			fprintf(stderr, "greenvm: tracestart: %s: %s\n", sp[-1].u.s->data,
				sched_trace_failed_why());
		sp[-1] = (vm_value){ .kind = VK_INT, .u.i = ok };
		NEXT(1);
	}
	CASE(TRACESTOP) {
		SAVE();
		int ok = sched_trace_stop() == 0;
		if (!ok && sched_trace_failed_why())
			fprintf(stderr, "greenvm: tracestop: %s\n", sched_trace_failed_why());
		*sp++ = (vm_value){ .kind = VK_INT, .u.i = ok };
		NEXT(1);
	}

	/* -------- trace annotations -------- */
	CASE(TASKNEW) {
		WANT(&sp[-2], VK_STRING, "tasknew");
		WANT(&sp[-1], VK_INT, "tasknew");
		uint64_t id = atomic_fetch_add(&rt.tasks, 1) + 1;
		SAVE_FOR_TRACE();
		sched_trace_task_create(id, (uint64_t)sp[-1].u.i, sp[-2].u.s->data);
		sp[-2] = (vm_value){ .kind = VK_INT, .u.i = (int64_t)id };
		sp--;
		NEXT(1);
	}
	CASE(TASKEND) {
		WANT(&sp[-1], VK_INT, "taskend");
		SAVE_FOR_TRACE();
		sched_trace_task_end((uint64_t)sp[-1].u.i);
		sp--;
		NEXT(1);
	}
	CASE(REGION) CASE(REGIONEND) {
		int end = *ip == OP_REGIONEND;
		WANT(&sp[-2], VK_INT, end ? "regionend" : "region");
		WANT(&sp[-1], VK_STRING, end ? "regionend" : "region");
		SAVE_FOR_TRACE();
		sched_trace_region((uint64_t)sp[-2].u.i, end, sp[-1].u.s->data);
		sp -= 2;
		NEXT(1);
	}
	CASE(TRACELOG) {
		WANT(&sp[-3], VK_INT, "tracelog");
		WANT(&sp[-2], VK_STRING, "tracelog");
		WANT(&sp[-1], VK_STRING, "tracelog");
		SAVE_FOR_TRACE();
		sched_trace_log((uint64_t)sp[-3].u.i, sp[-2].u.s->data, sp[-1].u.s->data);
		sp -= 3;
		NEXT(1);
	}
	/* -------- FFI: a C call is a system call (vm/ffi.c, internal.h) -------- */
	CASE(FFI) {
		const vm_extern *e = &prog->externs[OPERAND()];
		vm_ffi_frame fr;
		char err[200];
		/* everything that may panic, while we still hold the P */
		if (vm_ffi_prepare(prog, OPERAND(), sp - e->nargs, &fr, err, sizeof err) != 0)
			PANIC("runtime error: %s", err);
		/* The arguments stay on the VM stack, keeping their strings alive
		 * while C reads them.  The saved registers say "in ffi" for the
		 * syscall's trace event. */
		SAVE();
		sched_entersyscall();
		vm_value result;
		vm_ffi_invoke(&fr, &result);
		/* Still without a P, but nothing else runs this G or moves its
		 * stack: pop the arguments, push the result, step past ffi. */
		ctx->sp -= e->nargs;
		ctx->stack[ctx->sp++] = result;
		ctx->pc += 2;
		sched_exitsyscall(); /* if no P is free, this M may come back with another G */
		RELOAD();
		DISPATCH();
	}

#ifdef VM_COMPUTED_GOTO
bad_opcode:
#else
	default:
		break;
	}
#endif
	/* The verifier admits only defined opcodes. */
	SAVE();
	vm_panic_value(NULL, "invalid opcode 0x%x (unverified code?)", *ip & 0xff);

resume:
	/* Finish what the blocking instruction that parked g left undone, then
	 * step past it.  A panic here belongs to that instruction, which ip
	 * still names. */
	{
		uint32_t what = g->resume;
		int err = g->resume_err;
		g->resume = RESUME_NONE;
		g->resume_err = 0;
		if (err)
			PANIC("send on closed channel");
		if (what == RESUME_RECV) {
			sp[-1] = (vm_value){ .kind = VK_INT, .u.i = g->sudog.success };
		} else if (what == RESUME_SELECT) {
			bool ok;
			int idx = sched_select_resume(&ok);
			bool send = g->param->send;
			if (send && !ok)
				PANIC("send on closed channel");
			sp[-3] = (vm_value){ .kind = VK_INT, .u.i = idx };
			if (send)
				sp[-2] = (vm_value){ .kind = VK_NIL };
			sp[-1] = (vm_value){ .kind = VK_INT, .u.i = send ? 1 : ok };
		}
		NEXT(vm_op_width(*ip));
	}
#undef RELOAD
#undef BLOCK
#undef TICK
#undef SAVE
#undef LOAD
#undef OPERAND
#undef PANIC
#undef TYPE_PANIC
#undef WANT
#undef CASE
#undef DISPATCH
#undef NEXT
}

/* Set up ctx to run f with nargs arguments copied from args. */
static int ctx_start(vm_ctx *ctx, uint32_t f, const vm_value *args, uint32_t nargs)
{
	const vm_function *fn = &rt.prog->funcs[f];
	if (!ctx->stack || ctx->nslots < vm_frame_slots(fn)) {
		ctx->stack = NULL;
		ctx->nslots = 0;
		if (vm_stack_grow(ctx, vm_frame_slots(fn), rt.opt->max_stack) != 0)
			return -1;
	}
	if (nargs)
		memcpy(ctx->stack, args, nargs * sizeof *args);
	for (uint32_t i = nargs; i < fn->nlocals; i++)
		ctx->stack[i] = (vm_value){ .kind = VK_NIL };
	ctx->stack[fn->nlocals] = (vm_value){ .kind = VK_FRAME, .aux = VM_NO_CALLER };
	ctx->fn = f;
	ctx->pc = fn->start;
	ctx->base = 0;
	ctx->sp = fn->nlocals + 1;
	return 0;
}

/* A new G that will run f(args): Go's newproc.  On the M stack.  NULL
 * when f's first frame is over the goroutine stack limit. */
static sched_g *vm_newproc(uint32_t f, const vm_value *args, uint32_t nargs)
{
	/* g->vm is the room the scheduler keeps after the G for our registers
	 * (sched_config.gvmsize, set by vm_run), in the G's own cache lines */
	sched_g *g = sched_newg((uint64_t)rt.prog->funcs[f].start + 1); /* a trace PC */
	if (ctx_start(g->vm, f, args, nargs) != 0)
		return NULL;
	return g;
}

#ifdef GREENVM_DEBUG
/* Debug builds only (--debug-overflow-mstack): recurse on the M stack until
 * it runs into the guard page, so the tests can watch the M-stack overflow
 * report. */
static int overflow_mstack(volatile char *prev, int depth)
{
	volatile char frame[4096];
	frame[0] = (char)(prev ? prev[0] + 1 : 0);
	if (depth == 0) /* never: the guard page stops it long before */
		return frame[0];
	return overflow_mstack(frame, depth - 1) + frame[1];
}
#endif

static void mloop(void)
{
#ifdef GREENVM_DEBUG
	if (rt.opt->debug_overflow_mstack)
		overflow_mstack(NULL, 1 << 30);
#endif
	sched_resume();
	run_loop(); /* returns when there is no G to run: a deadlock */
}

int vm_run(vm_program *p, const vm_run_options *o)
{
	static char stdout_buf[1 << 16];
	setvbuf(stdout, stdout_buf, _IOFBF, sizeof stdout_buf);
	rt.prog = p;
	rt.opt = o;

	gc_init(&(gc_config){
		.stress = o->gc_stress == VM_GC_STRESS_ENV ? GC_STRESS_DEFAULT : o->gc_stress,
		.on_system_stack = sched_on_system_stack,
		.event = o->trace_path ? gc_event_hook : NULL,
	});
	sched_config cfg = {
		.procs = o->deterministic ? 1 : o->procs,
		.sysstack = o->sysstack,
		.deterministic = o->deterministic,
		.slice = o->slice,
		.schedlog = o->schedlog != 0,
		.schedtrace_ms = o->schedtrace_ms,
		.hooks = {
			.mloop = mloop,
			.traceback = traceback_hook,
			.stack = stack_hook,
			.describe_pc = describe_pc_hook,
		},
		.gvmsize = sizeof(vm_ctx),
		.trace_path = o->trace_path,
		.trace_dump = o->trace_legacy_dump ? TRACE_DUMP_LEGACY : TRACE_DUMP_DIRECT,
		.trace_clock = o->trace_virtual_clock ? TRACE_CLOCK_VIRTUAL : TRACE_CLOCK_REAL,
	};
	int rc = sched_init(&cfg);
	if (rc == SCHED_INIT_BAD_SYSSTACK)
		return 1; /* a bad option: sched_init said why */
	if (rc != 0) {
		fprintf(stderr, "fatal error: cannot set up the scheduler\n");
		return VM_EXIT_PANIC;
	}
	sched_g *main_g = vm_newproc(p->main_fn, NULL, 0);
	if (!main_g) {
		fprintf(stderr, "fatal error: main's frame exceeds the %llu-byte goroutine stack limit\n",
			(unsigned long long)o->max_stack);
		return VM_EXIT_PANIC;
	}
	sched_start(main_g);
	if (o->stack_stats)
		sched_stack_stats_enable();
	int status = sched_main();
	fflush(stdout);
	if (o->stack_stats)
		vm_stack_report(stderr, o->stack_stats == 2);
	if (o->gc_stats)
		gc_print_stats();
	return status;
}
