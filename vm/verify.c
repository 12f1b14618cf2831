/* verify.c: the bytecode verifier: proves every function safe to run before it runs. */
/*
 * The interpreter trusts the code: it does not check opcodes, operand
 * indices or stack depths as it goes.  This file is why it may.  For each
 * function, vm_verify checks, in this order:
 *
 *   1. the frame: functions lie one after another and cover the code
 *      exactly; nlocals >= nparams; frame sizes stay under VM_MAX_SLOTS;
 *      main exists and takes no parameters;
 *   2. every instruction alone: a defined opcode with its upper 24 bits
 *      zero, its operand word present, constant, local, function and
 *      extern indices in range, jump targets inside the function;
 *   3. jump targets land on an instruction, never on an operand word;
 *   4. the stack: an abstract run that tracks only the operand stack's
 *      depth.  Every instruction must be reached with the same depth on
 *      every path, never pop below zero, never go above maxstack, and no
 *      path may run off the end of the function.
 *
 * Step 4 is a worklist algorithm: an instruction is queued the first time
 * its depth becomes known and followed once, so the whole check is linear
 * in the code's size and uses no recursion (a 200,000-instruction function
 * of nested jumps needs no C stack).  It also gives maxstack, the deepest
 * operand stack, which a text program leaves for the verifier to compute.
 *
 * Messages name the function and point at the instruction: its source line
 * for a text program, its byte offset for a .gbc.  A second place in the
 * message (where two paths meet, the path from, a jump's target) is said
 * the same way: "line 12 (label loop)" for text, where the source has a
 * label there; "code word 5 (offset 0x5c)" for a .gbc, which has no lines
 * and no label names.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "gc/gc.h"
#include "vm/vm.h"

/* No frame may have more locals, or a deeper operand stack, than this
 * many slots, so that frame sizes in bytes fit easily in 64 bits (and in
 * any goroutine stack limit worth having). */
#define VM_MAX_SLOTS (1u << 20)

/* Depth of a word no path has reached yet. */
#define UNSEEN (-1)

typedef struct verifier {
	vm_program *p;
	vm_diag *d;
	/* the function being checked */
	vm_function *f;
	/* is_insn[i]: word i of f starts an instruction (not an operand) */
	uint8_t *is_insn;
	/* depth[i]: operand-stack depth before the instruction at word i of f,
	 * or UNSEEN; once set it never changes */
	int32_t *depth;
	/* instructions whose depth is known but whose successors are not yet
	 * visited; each word is queued at most once */
	uint32_t *work;
	uint32_t nwork;
} verifier;

static const char *diag_file(const vm_program *p)
{
	return p->loaded_from ? p->loaded_from : p->file ? p->file : "?";
}

/* Report a problem with the instruction at word pc of the current function.
 * For a .gbc the offset is that of the opcode word, or of its operand word
 * when `operand` is set. */
__attribute__((format(printf, 4, 5)))
static int fail_at(verifier *v, uint32_t pc, int operand, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	uint32_t word = v->f->start + pc;
	if (v->p->binary)
		vm_diag_offset(v->d, diag_file(v->p), v->p->code_offset + 4 * (uint64_t)(word + operand),
			       "in function %s: %s", v->f->name, msg);
	else
		vm_diag_line(v->d, diag_file(v->p), v->p->lines ? v->p->lines[word] : v->f->line,
			     "in function %s: %s", v->f->name, msg);
	return -1;
}

/* Where word pc of the current function is, for a message: "line N", with
 * " (label NAME)" when a label names it, for a text program; "code word N
 * (offset 0xX)" for a .gbc: the word's index in its function, and its
 * byte offset in the file. */
static const char *where(const verifier *v, uint32_t pc, char *buf, size_t size)
{
	uint32_t word = v->f->start + pc;
	if (v->p->binary) {
		snprintf(buf, size, "code word %u (offset 0x%llx)", pc,
			 (unsigned long long)(v->p->code_offset + 4 * (uint64_t)word));
		return buf;
	}
	const char *label = vm_label_at(v->p, word);
	int n = snprintf(buf, size, "line %u", v->p->lines ? v->p->lines[word] : v->f->line);
	if (label && n > 0 && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n, " (label %s)", label);
	return buf;
}

/* Report a problem with function f as a whole: its header line for a text
 * program; for a .gbc the whole file (records have no fixed offset). */
__attribute__((format(printf, 3, 4)))
static int fail_func(verifier *v, const vm_function *f, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (v->p->binary)
		vm_diag_file(v->d, diag_file(v->p), "in function %s: %s", f->name, msg);
	else
		vm_diag_line(v->d, diag_file(v->p), f->line, "in function %s: %s", f->name, msg);
	return -1;
}

/* "jmp, ret, exit or panic": the instructions that end a path, from the table. */
static const char *term_list(void)
{
	static char buf[128];
	if (buf[0])
		return buf;
	int n = 0, k = 0;
	for (int op = 0; op < OP__LIMIT; op++)
		if (vm_ops[op].mnemonic && (vm_ops[op].flags & OPF_TERM))
			n++;
	for (int op = 0; op < OP__LIMIT; op++) {
		if (!vm_ops[op].mnemonic || !(vm_ops[op].flags & OPF_TERM))
			continue;
		k++;
		size_t used = strlen(buf);
		snprintf(buf + used, sizeof buf - used, "%s%s", k == 1 ? "" : k == n ? " or " : ", ",
			 vm_ops[op].mnemonic);
	}
	return buf;
}

/* Step 1: the functions' frames and layout. */
static int check_layout(verifier *v)
{
	vm_program *p = v->p;
	if (p->nfuncs == 0) {
		vm_diag_file(v->d, diag_file(p), "the program has no functions (it needs main)");
		return -1;
	}
	uint64_t next = 0; /* where the next function must start */
	for (uint32_t i = 0; i < p->nfuncs; i++) {
		const vm_function *f = &p->funcs[i];
		if (f->start != next)
			return fail_func(v, f,
					 "starts at code word %u, but the code before it ends at word %llu "
					 "(functions must follow one another in order)",
					 f->start, (unsigned long long)next);
		if (f->len == 0)
			return fail_func(v, f, "has no instructions");
		if ((uint64_t)f->start + f->len > p->ncode)
			return fail_func(v, f, "runs past the end of the code (%u words)", p->ncode);
		if (f->nlocals < f->nparams)
			return fail_func(v, f, "has %u parameters but only %u locals", f->nparams,
					 f->nlocals);
		if (f->nlocals > VM_MAX_SLOTS)
			return fail_func(v, f, "has %u locals; a frame may have at most %u (1<<20)",
					 f->nlocals, VM_MAX_SLOTS);
		if (f->maxstack != UINT32_MAX && f->maxstack > VM_MAX_SLOTS)
			return fail_func(v, f,
					 "declares maxstack %u; the operand stack may have at most %u slots (1<<20)",
					 f->maxstack, VM_MAX_SLOTS);
		next = (uint64_t)f->start + f->len;
	}
	if (next != p->ncode) {
		vm_diag_file(v->d, diag_file(p), "the functions cover %llu code words, but there are %u",
			     (unsigned long long)next, p->ncode);
		return -1;
	}
	const vm_function *m = p->main_fn < p->nfuncs ? &p->funcs[p->main_fn] : NULL;
	if (!m || strcmp(m->name, "main") != 0) {
		vm_diag_file(v->d, diag_file(p), "the program has no function main");
		return -1;
	}
	if (m->nparams != 0)
		return fail_func(v, m, "main takes %u parameter%s; it must take none", m->nparams,
				 m->nparams == 1 ? "" : "s");
	return 0;
}

/* Step 2: each instruction on its own.  Marks is_insn. */
static int check_insns(verifier *v)
{
	const vm_program *p = v->p;
	const vm_function *f = v->f;
	const uint32_t *code = p->code + f->start;
	uint32_t pc = 0;
	memset(v->is_insn, 0, f->len);
	while (pc < f->len) {
		uint32_t w = code[pc];
		if (w >> 8)
			return fail_at(v, pc, 0, "opcode word 0x%08x has nonzero upper 24 bits", w);
		const vm_opinfo *op = &vm_ops[w];
		if (!op->mnemonic)
			return fail_at(v, pc, 0, "unknown opcode 0x%02x", w);
		v->is_insn[pc] = 1;
		if (op->operand == OPND_NONE) {
			pc++;
			continue;
		}
		if (pc + 1 >= f->len)
			return fail_at(v, pc, 0, "%s is missing its operand word (the function ends)",
				       op->mnemonic);
		uint32_t x = code[pc + 1];
		switch (op->operand) {
		case OPND_CONST:
			if (x >= p->nconsts)
				return fail_at(v, pc, 1, "constant index %u is out of range (%u constant%s)", x,
					       p->nconsts, p->nconsts == 1 ? "" : "s");
			break;
		case OPND_LOCAL:
			if (x >= f->nlocals)
				return fail_at(v, pc, 1, "local index %u is out of range (%u local%s)", x,
					       f->nlocals, f->nlocals == 1 ? "" : "s");
			break;
		case OPND_FUNC:
			if (x >= p->nfuncs)
				return fail_at(v, pc, 1, "function index %u is out of range (%u function%s)", x,
					       p->nfuncs, p->nfuncs == 1 ? "" : "s");
			break;
		case OPND_EXTERN:
			if (x >= p->nexterns)
				return fail_at(v, pc, 1, "extern index %u is out of range (%u extern%s)", x,
					       p->nexterns, p->nexterns == 1 ? "" : "s");
			break;
		case OPND_LABEL:
			if (x >= f->len)
				return fail_at(v, pc, 1, "jump target %u is outside the function (%u code "
					       "words)", x, f->len);
			break;
		default: /* OPND_IMM: any 32-bit value */
			break;
		}
		if (vm_op_pops(p, w, x) < 0) /* select's case count */
			return fail_at(v, pc, 1, "%s: %u cases, more than the limit of %u",
				       op->mnemonic, x, VM_SELECT_MAX);
		pc += 2;
	}
	return 0;
}

/* Step 3: jump targets land on instructions. */
static int check_targets(verifier *v)
{
	const uint32_t *code = v->p->code + v->f->start;
	for (uint32_t pc = 0; pc < v->f->len; pc += vm_op_width(code[pc])) {
		if (vm_ops[code[pc]].operand != OPND_LABEL)
			continue;
		uint32_t t = code[pc + 1];
		char at[120], at_insn[120];
		if (!v->is_insn[t]) /* then t-1 is the instruction t belongs to */
			return fail_at(v, pc, 1,
				       "the jump target, %s, is not an instruction: it is the operand word "
				       "of %s at %s", where(v, t, at, sizeof at),
				       vm_ops[code[t - 1]].mnemonic, where(v, t - 1, at_insn, sizeof at_insn));
	}
	return 0;
}

/* The stack reaches the instruction at word t with depth d. */
static int join(verifier *v, uint32_t from, uint32_t t, int32_t d)
{
	if (v->depth[t] == UNSEEN) {
		v->depth[t] = d;
		v->work[v->nwork++] = t;
		return 0;
	}
	char at[120], at_from[120];
	if (v->depth[t] != d)
		return fail_at(v, t, 0, "the stack depth at %s is %d on one path but %d on the path "
			       "from %s at %s", where(v, t, at, sizeof at), v->depth[t], d,
			       vm_ops[v->p->code[v->f->start + from]].mnemonic,
			       where(v, from, at_from, sizeof at_from));
	return 0;
}

/* Step 4: the operand stack's depth on every path.  Sets maxstack if unknown. */
static int check_stack(verifier *v)
{
	vm_function *f = v->f;
	const uint32_t *code = v->p->code + f->start;
	uint32_t limit = f->maxstack == UINT32_MAX ? VM_MAX_SLOTS : f->maxstack;
	int32_t deepest = 0;
	for (uint32_t i = 0; i < f->len; i++)
		v->depth[i] = UNSEEN;
	v->nwork = 0;
	if (join(v, 0, 0, 0))
		return -1;
	while (v->nwork > 0) {
		uint32_t pc = v->work[--v->nwork];
		const vm_opinfo *op = &vm_ops[code[pc]];
		int32_t d = v->depth[pc];
		/* call and go pop their callee's parameters, select 3 per case,
		 * ffi its extern's arguments */
		int32_t pops = vm_op_pops(v->p, code[pc], op->operand == OPND_NONE ? 0 : code[pc + 1]);
		int32_t pushes = op->pushes;
		if (d < pops) {
			const char *callee = op->operand == OPND_FUNC ? v->p->funcs[code[pc + 1]].name
					   : op->operand == OPND_EXTERN ? v->p->externs[code[pc + 1]].name : NULL;
			return fail_at(v, pc, 0, "stack underflow: %s%s%s needs %d value%s, the stack holds %d",
				       op->mnemonic, callee ? " " : "", callee ? callee : "", pops,
				       pops == 1 ? "" : "s", d);
		}
		d = d - pops + pushes;
		if ((uint32_t)d > limit) {
			if (f->maxstack == UINT32_MAX)
				return fail_at(v, pc, 0,
					       "the operand stack grows past %u slots, the limit (1<<20)",
					       VM_MAX_SLOTS);
			return fail_at(v, pc, 0,
				       "the operand stack reaches %d slots, more than the declared maxstack %u",
				       d, f->maxstack);
		}
		if (d > deepest)
			deepest = d;
		if (op->operand == OPND_LABEL && join(v, pc, code[pc + 1], d))
			return -1;
		if (op->flags & OPF_TERM)
			continue;
		uint32_t next = pc + vm_op_width(code[pc]);
		if (next >= f->len)
			return fail_at(v, pc, 0,
				       "execution falls off the end of the function after %s "
				       "(every path must end in %s)",
				       op->mnemonic, term_list());
		if (join(v, pc, next, d))
			return -1;
	}
	if (f->maxstack == UINT32_MAX)
		f->maxstack = (uint32_t)deepest;
	return 0;
}

int vm_verify(vm_program *p, vm_diag *d)
{
	verifier v = { .p = p, .d = d };
	if (check_layout(&v))
		return -1;
	uint32_t longest = 0;
	for (uint32_t i = 0; i < p->nfuncs; i++)
		if (p->funcs[i].len > longest)
			longest = p->funcs[i].len;
	v.is_insn = xmalloc(longest);
	v.depth = xmalloc(longest * sizeof *v.depth);
	v.work = xmalloc(longest * sizeof *v.work);
	int rc = 0;
	for (uint32_t i = 0; i < p->nfuncs && rc == 0; i++) {
		v.f = &p->funcs[i];
		rc = check_insns(&v) || check_targets(&v) || check_stack(&v) ? -1 : 0;
	}
	free(v.is_insn);
	free(v.depth);
	free(v.work);
	return rc;
}
