/* program.c: the opcode table's expansion, diagnostics, loading and freeing programs. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "gc/common.h"
#include "gc/gc.h"
#include "vm/internal.h"

const vm_opinfo vm_ops[OP__LIMIT] = {
#define OP(name, code, mnem, opnd, pops, pushes, flags, doc) \
	[code] = { mnem, opnd, pops, pushes, flags, doc },
#include "vm/opcodes.h"
#undef OP
};

int vm_op_lookup(const char *name, size_t n)
{
	for (int op = 0; op < OP__LIMIT; op++) {
		const char *m = vm_ops[op].mnemonic;
		if (m && strlen(m) == n && memcmp(m, name, n) == 0)
			return op;
	}
	return -1;
}

int vm_op_pops(const vm_program *p, uint32_t op, uint32_t operand)
{
	if (vm_ops[op & 0xff].pops != VAR)
		return vm_ops[op & 0xff].pops;
	switch (op) {
	case OP_CALL:
	case OP_GO:
		return operand < p->nfuncs ? (int)p->funcs[operand].nparams : -1;
	case OP_SELECT:
	case OP_SELECTD:
		return operand <= VM_SELECT_MAX ? 3 * (int)operand : -1;
	case OP_FFI:
		return operand < p->nexterns ? (int)p->externs[operand].nargs : -1;
	default:
		return -1;
	}
}

const char *vm_kind_name(uint32_t kind)
{
	switch (kind) {
	case VK_NIL: return "nil";
	case VK_INT: return "int";
	case VK_FLOAT: return "float";
	case VK_STRING: return "string";
	case VK_ARRAY: return "array";
	case VK_CHAN: return "chan";
	case VK_MUTEX: return "mutex";
	case VK_WAITGROUP: return "waitgroup";
	case VK_PTR: return "pointer";
	case VK_FRAME: return "frame";
	default: return "unknown";
	}
}

const char *vm_ctype_name(uint32_t t)
{
	static const char *const names[VM_CT__COUNT] = {
		[VM_CT_VOID] = "void", [VM_CT_INT] = "int", [VM_CT_LONG] = "long",
		[VM_CT_DOUBLE] = "double", [VM_CT_PTR] = "ptr", [VM_CT_STRING] = "string",
	};
	return t < VM_CT__COUNT ? names[t] : NULL;
}

static void diag_vfmt(vm_diag *d, int used, const char *fmt, va_list ap)
{
	if (used < 0 || (size_t)used >= sizeof d->msg)
		return;
	vsnprintf(d->msg + used, sizeof d->msg - (size_t)used, fmt, ap);
}

void vm_diag_line(vm_diag *d, const char *file, uint32_t line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vfmt(d, snprintf(d->msg, sizeof d->msg, "%s:%u: ", file, line), fmt, ap);
	va_end(ap);
}

void vm_diag_offset(vm_diag *d, const char *file, uint64_t off, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vfmt(d, snprintf(d->msg, sizeof d->msg, "%s: offset 0x%llx: ", file,
			      (unsigned long long)off), fmt, ap);
	va_end(ap);
}

void vm_diag_file(vm_diag *d, const char *file, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	diag_vfmt(d, snprintf(d->msg, sizeof d->msg, "%s: ", file), fmt, ap);
	va_end(ap);
}

vm_program *vm_load(const char *path, vm_diag *d)
{
	size_t len = 0;
	uint8_t *buf = (uint8_t *)slurp_file(path, &len);
	if (!buf) {
		vm_diag_file(d, path, "%s", strerror(errno));
		return NULL;
	}
	vm_program *p = vm_gbc_is_binary(buf, len) ? vm_gbc_decode(path, buf, len, d)
						    : vm_asm(path, (const char *)buf, len, d);
	free(buf);
	if (p && (vm_verify(p, d) != 0 || vm_ffi_resolve(p, d) != 0)) {
		vm_program_free(p);
		p = NULL;
	}
	return p;
}

void vm_program_free(vm_program *p)
{
	if (!p)
		return;
	for (uint32_t i = 0; i < p->nconsts; i++)
		if (p->consts[i].kind == VK_STRING)
			free(p->consts[i].u.s);
	for (uint32_t i = 0; i < p->nfuncs; i++)
		free(p->funcs[i].name);
	vm_ffi_release(p);
	for (uint32_t i = 0; i < p->nexterns; i++) {
		free(p->externs[i].name);
		free(p->externs[i].lib);
	}
	for (uint32_t i = 0; i < p->nlabels; i++)
		free(p->labels[i].name);
	free(p->labels);
	free(p->externs);
	free(p->consts);
	free(p->funcs);
	free(p->code);
	free(p->lines);
	free(p->file);
	free(p->loaded_from);
	free(p);
}

const vm_function *vm_func_at(const vm_program *p, uint32_t pc)
{
	/* Functions are laid out in order; binary search on start. */
	uint32_t lo = 0, hi = p->nfuncs;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const vm_function *f = &p->funcs[mid];
		if (pc < f->start)
			hi = mid;
		else if (pc >= f->start + f->len)
			lo = mid + 1;
		else
			return f;
	}
	return NULL;
}

const char *vm_label_at(const vm_program *p, uint32_t pc)
{
	uint32_t lo = 0, hi = p->nlabels; /* the first label at or after pc */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (p->labels[mid].word < pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < p->nlabels && p->labels[lo].word == pc ? p->labels[lo].name : NULL;
}
