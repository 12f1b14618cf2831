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
 */
#include <errno.h>
#include <gc.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "vm/internal.h"

#if defined(__GNUC__) && !defined(GREENVM_DEBUG)
#define VM_COMPUTED_GOTO 1
#endif

/* Everything one run needs. */
typedef struct vm_runstate {
	const vm_program *prog;
	const vm_run_options *opt;
	/* the (one, for now) execution context */
	vm_ctx ctx;
} vm_runstate;

/* ------------------------------------------------------------------ */
/* Panics and tracebacks                                              */
/* ------------------------------------------------------------------ */

/* Print "file:line" of code word pc. */
static void print_where(const vm_program *p, uint32_t pc)
{
	fprintf(stderr, "\t%s:%u\n", p->file, pc < p->ncode ? p->lines[pc] : 0);
}

/* Print the VM traceback of ctx, innermost frame first, as Go does. */
static void traceback(const vm_program *p, const vm_ctx *c)
{
	uint32_t fn = c->fn, pc = c->pc;
	uint64_t base = c->base;
	int depth = 0;
	for (;;) {
		const vm_function *f = &p->funcs[fn];
		if (++depth > 100) {
			fprintf(stderr, "...additional frames elided...\n");
			return;
		}
		fprintf(stderr, "%s()\n", f->name);
		print_where(p, pc);
		const vm_value *rec = &c->stack[base + f->nlocals];
		if (rec->aux == VM_NO_CALLER)
			return;
		fn = rec->aux;
		pc = (uint32_t)rec->u.i - 1; /* the call's operand word: same line */
		base = (uint64_t)rec->u.i >> 32;
	}
}

/* Report a panic of the running context and return the exit status. */
static int vm_panic(vm_runstate *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int vm_panic(vm_runstate *r, const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fputs("panic: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n\ngoroutine 1 [running]:\n", stderr);
	traceback(r->prog, &r->ctx);
	return VM_EXIT_PANIC;
}

/* ------------------------------------------------------------------ */
/* The VM stack                                                       */
/* ------------------------------------------------------------------ */

/* Grow c's stack so that at least `need` slots fit; copy the old contents.
 * 0, or -1 if that would pass the limit or memory is out. */
static int stack_grow(vm_ctx *c, uint64_t need, uint64_t limit_bytes)
{
	uint64_t n = c->nslots ? c->nslots : VM_STACK_INITIAL;
	while (n < need)
		n *= 2;
	if (n * sizeof(vm_value) > limit_bytes) {
		if (need * sizeof(vm_value) > limit_bytes)
			return -1;
		n = limit_bytes / sizeof(vm_value);
	}
	vm_value *s = GC_MALLOC(n * sizeof(vm_value));
	if (!s)
		return -1;
	if (c->stack)
		memcpy(s, c->stack, c->nslots * sizeof(vm_value));
	c->stack = s;
	c->nslots = n;
	if (n > c->max_slots)
		c->max_slots = n;
	c->growths++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The loop                                                           */
/* ------------------------------------------------------------------ */

/* Parse a whole string as a decimal int64.  0 on success. */
static int str_to_int(const vm_string *s, int64_t *out)
{
	if (s->len == 0 || s->len > 24 || memchr(s->data, 0, s->len))
		return -1;
	char *end;
	errno = 0;
	long long v = strtoll(s->data, &end, 10);
	if (errno || *end || s->data[0] == ' ' || s->data[0] == '\t' || s->data[0] == '\n')
		return -1;
	*out = v;
	return 0;
}

static int str_to_float(const vm_string *s, double *out)
{
	if (s->len == 0 || s->len > 64 || memchr(s->data, 0, s->len) ||
	    s->data[0] == ' ' || s->data[0] == '\t' || s->data[0] == '\n')
		return -1;
	char *end;
	double v = strtod(s->data, &end);
	if (*end)
		return -1;
	*out = v;
	return 0;
}

static int string_compare(const vm_string *a, const vm_string *b)
{
	uint64_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->data, b->data, n);
	if (c)
		return c;
	return (a->len > b->len) - (a->len < b->len);
}

static int run_loop(vm_runstate *r)
{
	const vm_program *prog = r->prog;
	const uint32_t *code = prog->code;
	const vm_function *funcs = prog->funcs;
	vm_ctx *ctx = &r->ctx;

	const uint32_t *ip;
	vm_value *base, *sp;
	const vm_function *fn;

#define SAVE()                                            \
	(ctx->pc = (uint32_t)(ip - code), ctx->fn = (uint32_t)(fn - funcs), \
	 ctx->base = (uint64_t)(base - ctx->stack), ctx->sp = (uint64_t)(sp - ctx->stack))
#define LOAD()                                                            \
	(ip = code + ctx->pc, fn = &funcs[ctx->fn], base = ctx->stack + ctx->base, \
	 sp = ctx->stack + ctx->sp)
#define OPERAND() (ip[1])
#define PANIC(...) do { SAVE(); return vm_panic(r, __VA_ARGS__); } while (0)
#define TYPE_PANIC(op, a, b)                                                        \
	PANIC("runtime error: %s: mismatched types %s and %s", op, vm_kind_name((a)->kind), \
	      vm_kind_name((b)->kind))
#define WANT(v, k, op)                                                            \
	do {                                                                      \
		if ((v)->kind != (k))                                             \
			PANIC("runtime error: %s: %s expected, got %s", op, vm_kind_name(k), \
			      vm_kind_name((v)->kind));                           \
	} while (0)
#define OOM() PANIC("runtime error: out of memory")

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

	LOAD();
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

	CASE(JMP) ip = code + fn->start + OPERAND(); DISPATCH();
	CASE(JZ) {
		sp--;
		WANT(sp, VK_INT, "jz");
		if (sp->u.i == 0) {
			ip = code + fn->start + OPERAND();
			DISPATCH();
		}
		NEXT(2);
	}
	CASE(JNZ) {
		sp--;
		WANT(sp, VK_INT, "jnz");
		if (sp->u.i != 0) {
			ip = code + fn->start + OPERAND();
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
			if (stack_grow(ctx, nbi + vm_frame_slots(callee), r->opt->max_stack) != 0)
				PANIC("runtime error: stack overflow: goroutine stack exceeds "
				      "%llu-byte limit", (unsigned long long)r->opt->max_stack);
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
		DISPATCH();
	}
	CASE(RET) {
		vm_value result = sp[-1];
		const vm_value *rec = &base[fn->nlocals];
		if (rec->aux == VM_NO_CALLER) /* main returned */
			return VM_EXIT_OK;
		sp = base;
		*sp++ = result;
		fn = &funcs[rec->aux];
		ip = code + (uint32_t)rec->u.i;
		base = ctx->stack + ((uint64_t)rec->u.i >> 32);
		DISPATCH();
	}

	CASE(NEWARRAY) {
		WANT(&sp[-1], VK_INT, "newarray");
		int64_t n = sp[-1].u.i;
		if (n < 0 || n > (1ll << 32))
			PANIC("runtime error: newarray: len out of range (%lld)", (long long)n);
		vm_array *a = vm_array_new((uint64_t)n);
		if (!a)
			OOM();
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
		if (!s)
			OOM();
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
		if (!t)
			OOM();
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
		if (!s)
			OOM();
		sp[-1] = (vm_value){ .kind = VK_STRING, .u.s = s };
		NEXT(1);
	}
	CASE(ITOS) CASE(FTOS) {
		int isint = *ip == OP_ITOS;
		WANT(&sp[-1], isint ? VK_INT : VK_FLOAT, isint ? "itos" : "ftos");
		vm_string *s = vm_value_to_string(&sp[-1]);
		if (!s)
			OOM();
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
	CASE(ARGC) *sp++ = (vm_value){ .kind = VK_INT, .u.i = r->opt->argc }; NEXT(1);
	CASE(ARGV) {
		WANT(&sp[-1], VK_INT, "argv");
		int64_t i = sp[-1].u.i;
		if (i < 0 || i >= r->opt->argc)
			PANIC("runtime error: index out of range [%lld] with length %d", (long long)i,
			      r->opt->argc);
		vm_string *s = vm_string_new(r->opt->argv[i], strlen(r->opt->argv[i]));
		if (!s)
			OOM();
		sp[-1] = (vm_value){ .kind = VK_STRING, .u.s = s };
		NEXT(1);
	}
	CASE(EXIT) {
		WANT(&sp[-1], VK_INT, "exit");
		return (int)(sp[-1].u.i & 0xff);
	}
	CASE(PANIC) {
		sp--;
		SAVE();
		fflush(stdout);
		fputs("panic: ", stderr);
		vm_value_print(stderr, sp);
		fputs("\n\ngoroutine 1 [running]:\n", stderr);
		traceback(prog, ctx);
		return VM_EXIT_PANIC;
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
	return vm_panic(r, "fatal error: invalid opcode 0x%x (unverified code?)", *ip & 0xff);
#undef SAVE
#undef LOAD
#undef OPERAND
#undef PANIC
#undef TYPE_PANIC
#undef WANT
#undef OOM
#undef CASE
#undef DISPATCH
#undef NEXT
}

int vm_run(vm_program *p, const vm_run_options *o)
{
	static char stdout_buf[1 << 16];
	setvbuf(stdout, stdout_buf, _IOFBF, sizeof stdout_buf);

	vm_runstate r = { .prog = p, .opt = o };
	const vm_function *m = &p->funcs[p->main_fn];
	if (stack_grow(&r.ctx, vm_frame_slots(m), o->max_stack) != 0) {
		fprintf(stderr, "fatal error: cannot allocate the main goroutine's stack\n");
		return VM_EXIT_PANIC;
	}
	r.ctx.growths = 0;
	r.ctx.stack[m->nlocals] = (vm_value){ .kind = VK_FRAME, .aux = VM_NO_CALLER };
	r.ctx.fn = p->main_fn;
	r.ctx.pc = m->start;
	r.ctx.base = 0;
	r.ctx.sp = m->nlocals + 1;
	int status = run_loop(&r);
	fflush(stdout);
	return status;
}
