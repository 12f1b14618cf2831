/* disasm.c: prints a program back as assembly, with frame sizes and addresses as comments. */
/*
 * The output is the syntax vm_asm reads (docs/assembly.md), so
 *
 *     asm -> vm_gbc_encode -> vm_gbc_decode -> vm_disasm -> asm
 *
 * gives the same .gbc bytes.  What the binary does not keep is invented:
 * parameters are named p0 p1 ..., other locals l2 l3 ... (by slot number),
 * and a jump target at word offset 12 of its function is the label L12.
 * Every constant is printed as a literal, and since the assembler numbers
 * constants in order of first use and the code is printed in order, the
 * pool comes back in the same order.  The externs come first, one .extern
 * each, in table order.  `.line` directives carry the source lines across:
 * one before each .extern and .func, and one wherever an instruction's
 * line differs from the one before.
 *
 * Everything else is a comment for the reader: each function's frame (its
 * locals, the frame record, its operand slots, in slots and bytes) and,
 * after each instruction, its absolute code address (pc) and source line.
 *
 * The program should have passed vm_verify (maxstack known, operands in
 * range), but a bad one is printed as well as possible, never crashed on.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gc/gc.h"
#include "vm/vm.h"

/* Column where the trailing "; pc ..." comments start. */
#define COMMENT_COL 32


/* Each printer returns the number of characters it wrote. */

static int print_string(FILE *out, const char *s, uint64_t len)
{
	int n = 2;
	fputc('"', out);
	for (uint64_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r"
				: c == '\\' ? "\\\\" : c == '"' ? "\\\"" : NULL;
		if (esc)
			n += fprintf(out, "%s", esc);
		else if (c >= 0x20 && c < 0x7f)
			n += fprintf(out, "%c", c);
		else
			n += fprintf(out, "\\x%02x", c); /* NUL too: "\0" before a digit would mislead */
	}
	fputc('"', out);
	return n;
}

/* The shortest decimal form that reads back as exactly x, with a '.' or an
 * exponent so that the assembler sees a float, not an int. */
static int print_float(FILE *out, double x)
{
	if (isnan(x))
		return fprintf(out, "nan"); /* a NaN's sign and payload are not kept */
	if (isinf(x))
		return fprintf(out, "%s", x > 0 ? "inf" : "-inf");
	char buf[40];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, x);
		if (strtod(buf, NULL) == x)
			break;
	}
	if (!strpbrk(buf, ".e"))
		strcat(buf, ".0");
	return fprintf(out, "%s", buf);
}

static int print_const(FILE *out, const vm_program *p, uint32_t k)
{
	const vm_value *v = k < p->nconsts ? &p->consts[k] : NULL;
	switch (v ? v->kind : VK_NIL) {
	case VK_INT: return fprintf(out, "%lld", (long long)v->u.i);
	case VK_FLOAT: return print_float(out, v->u.f);
	case VK_STRING: return print_string(out, v->u.s->data, v->u.s->len);
	default: return fprintf(out, "%u", k); /* out of range: not valid assembly */
	}
}

static int print_operand(FILE *out, const vm_program *p, const vm_function *f, uint32_t kind, uint32_t x)
{
	switch (kind) {
	case OPND_IMM: return fprintf(out, "%d", (int32_t)x);
	case OPND_CONST: return print_const(out, p, x);
	case OPND_LOCAL:
		if (x < f->nparams)
			return fprintf(out, "p%u", x);
		if (x < f->nlocals)
			return fprintf(out, "l%u", x);
		break;
	case OPND_FUNC:
		if (x < p->nfuncs)
			return fprintf(out, "%s", p->funcs[x].name);
		break;
	case OPND_LABEL: return fprintf(out, "L%u", x);
	case OPND_EXTERN:
		if (x < p->nexterns)
			return fprintf(out, "%s", p->externs[x].name);
		break;
	}
	return fprintf(out, "%u", x); /* out of range: not valid assembly */
}

/* Print the instruction at word pc of f, without a newline; return its
 * width in words and set *col to the characters printed. */
static uint32_t print_insn(FILE *out, const vm_program *p, const vm_function *f, uint32_t pc, int *col)
{
	uint32_t w = p->code[f->start + pc];
	const vm_opinfo *op = w < OP__LIMIT ? &vm_ops[w] : NULL;
	if (!op || !op->mnemonic) {
		*col = fprintf(out, "    ; bad opcode word 0x%08x", w);
		return 1;
	}
	if (op->operand == OPND_NONE) {
		*col = fprintf(out, "    %s", op->mnemonic);
		return 1;
	}
	if (pc + 1 >= f->len) {
		*col = fprintf(out, "    ; %s without its operand word", op->mnemonic);
		return 1;
	}
	*col = fprintf(out, "    %-8s ", op->mnemonic);
	*col += print_operand(out, p, f, op->operand, p->code[f->start + pc + 1]);
	return 2;
}

static void print_frame(FILE *out, const vm_function *f)
{
	fprintf(out, "; function %s: %u parameter%s, %u local%s (parameters included), code words %u..%u\n",
		f->name, f->nparams, f->nparams == 1 ? "" : "s", f->nlocals, f->nlocals == 1 ? "" : "s",
		f->start, f->start + f->len - (f->len > 0));
	if (f->maxstack == UINT32_MAX) {
		fprintf(out, "; frame: %u local%s + 1 frame record + ? operand slots (maxstack not yet "
			     "computed: the program is not verified)\n", f->nlocals, f->nlocals == 1 ? "" : "s");
		return;
	}
	uint64_t slots = vm_frame_slots(f);
	fprintf(out, "; frame: %u local%s + 1 frame record + %u operand slot%s = %llu slots = %llu bytes\n",
		f->nlocals, f->nlocals == 1 ? "" : "s", f->maxstack, f->maxstack == 1 ? "" : "s", (unsigned long long)slots,
		(unsigned long long)(slots * sizeof(vm_value)));
}

static void print_function(FILE *out, const vm_program *p, const vm_function *f, uint8_t *target)
{
	/* Mark every jump target so its label can be printed before it. */
	memset(target, 0, f->len);
	for (uint32_t pc = 0; pc + 1 < f->len; pc += vm_op_width(p->code[f->start + pc])) {
		uint32_t w = p->code[f->start + pc];
		uint32_t t = p->code[f->start + pc + 1];
		if (w < OP__LIMIT && vm_ops[w].operand == OPND_LABEL && t < f->len)
			target[t] = 1;
	}

	fputc('\n', out);
	print_frame(out, f);
	fprintf(out, ".line %u\n.func %s", f->line, f->name);
	for (uint32_t i = 0; i < f->nparams; i++)
		fprintf(out, " p%u", i);
	fputc('\n', out);
	for (uint32_t i = f->nparams; i < f->nlocals; i++) /* eight names a line */
		fprintf(out, "%s l%u%s", (i - f->nparams) % 8 == 0 ? "    .local" : "", i,
			(i - f->nparams) % 8 == 7 || i + 1 == f->nlocals ? "\n" : "");

	uint32_t line = f->line;
	for (uint32_t pc = 0; pc < f->len;) {
		uint32_t at = f->start + pc;
		uint32_t l = p->lines ? p->lines[at] : 0;
		if (l != line) {
			fprintf(out, ".line %u\n", l);
			line = l;
		}
		if (target[pc])
			fprintf(out, "L%u:\n", pc);
		int col;
		uint32_t width = print_insn(out, p, f, pc, &col);
		fprintf(out, "%*s; pc %u, line %u\n", col < COMMENT_COL ? COMMENT_COL - col : 1, "", at, l);
		pc += width;
	}
	fputs(".end\n", out);
}

/* `.line N` and `.extern NAME LIB RET ARG...`: libc and libm bare, any
 * other library quoted.  The .line keeps the extern's line across. */
static void print_extern(FILE *out, const vm_extern *e)
{
	fprintf(out, ".line %u\n.extern %s ", e->line, e->name);
	if (strcmp(e->lib, "libc") == 0 || strcmp(e->lib, "libm") == 0)
		fputs(e->lib, out);
	else
		print_string(out, e->lib, strlen(e->lib));
	const char *ret = vm_ctype_name(e->ret);
	fprintf(out, " %s", ret ? ret : "?");
	for (uint32_t i = 0; i < e->nargs && i < VM_EXTERN_MAXARGS; i++) {
		const char *t = vm_ctype_name(e->args[i]);
		fprintf(out, " %s", t ? t : "?");
	}
	fputc('\n', out);
}

void vm_disasm(const vm_program *p, FILE *out)
{
	uint32_t longest = 1;
	for (uint32_t i = 0; i < p->nfuncs; i++)
		if (p->funcs[i].len > longest)
			longest = p->funcs[i].len;
	uint8_t *target = xmalloc(longest);
	fprintf(out, "; greenvm disassembly of %s: %u function%s, %u constant%s, %u code words\n",
		p->loaded_from ? p->loaded_from : p->file ? p->file : "?", p->nfuncs,
		p->nfuncs == 1 ? "" : "s", p->nconsts, p->nconsts == 1 ? "" : "s", p->ncode);
	fprintf(out, "; a frame is: locals, one frame record, then the operand stack; %zu bytes a slot\n",
		sizeof(vm_value));
	const char *file = p->file ? p->file : "";
	fputs(".file ", out);
	print_string(out, file, strlen(file));
	fputc('\n', out);
	for (uint32_t i = 0; i < p->nexterns; i++)
		print_extern(out, &p->externs[i]);
	for (uint32_t i = 0; i < p->nfuncs; i++)
		print_function(out, p, &p->funcs[i], target);
	free(target);
}
