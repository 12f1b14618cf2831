/* ffi.c: calling C functions declared with .extern, through dlopen and libffi. */
/*
 * A program declares each C function it calls:
 *
 *     .extern cos libm double double
 *
 * names its symbol, its library and its signature in the C types of
 * enum vm_ctype.  When the program is loaded, vm_ffi_resolve opens each
 * library (libc and libm by their sonames, anything else by the file name
 * given), looks the symbol up and prepares a libffi call interface (cif)
 * for the signature, so that a bad declaration is an error before anything
 * runs, with the .extern's line.  At run time a call converts the VM
 * arguments to C values (vm_ffi_prepare: the checks that may panic), then
 * calls through the cif (vm_ffi_invoke: no checks, may block); internal.h
 * says why the two are apart.
 *
 * libffi wants every argument as a pointer to its value, and a result
 * buffer at least as big as ffi_arg into which integer results narrower
 * than that are widened; an int result is read back through (int), which
 * keeps its sign.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <ffi.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "gc/gc.h"
#include "vm/internal.h"

/* What vm_extern.cif points to: the cif and the argument type vector it
 * refers to, which must live as long as it. */
typedef struct ffi_call_iface {
	ffi_cif cif;
	ffi_type *types[VM_EXTERN_MAXARGS];
} ffi_call_iface;

static ffi_type *ctype_ffi(uint8_t t)
{
	switch (t) {
	case VM_CT_VOID: return &ffi_type_void;
	case VM_CT_INT: return &ffi_type_sint;
	case VM_CT_LONG: return &ffi_type_sint64;
	case VM_CT_DOUBLE: return &ffi_type_double;
	default: return &ffi_type_pointer; /* ptr, string */
	}
}

/* The file dlopen is given for an extern's library. */
static const char *lib_file(const char *lib)
{
	if (strcmp(lib, "libc") == 0)
		return "libc.so.6";
	if (strcmp(lib, "libm") == 0)
		return "libm.so.6";
	return lib;
}

static const char *diag_file(const vm_program *p)
{
	return p->loaded_from ? p->loaded_from : p->file ? p->file : "?";
}

/* "FILE:LINE: extern NAME: ..." for text, "FILE: extern NAME: ..." for a .gbc. */
__attribute__((format(printf, 4, 5)))
static int fail(const vm_program *p, const vm_extern *e, vm_diag *d, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (p->binary)
		vm_diag_file(d, diag_file(p), "extern %s: %s", e->name, msg);
	else
		vm_diag_line(d, diag_file(p), e->line, "extern %s: %s", e->name, msg);
	return -1;
}

static int resolve_one(const vm_program *p, vm_extern *e, vm_diag *d)
{
	e->handle = dlopen(lib_file(e->lib), RTLD_NOW | RTLD_LOCAL);
	if (!e->handle)
		return fail(p, e, d, "cannot open library '%s': %s", lib_file(e->lib), dlerror());
	dlerror(); /* clear: a NULL from dlsym is an error only if dlerror says so */
	e->fn = dlsym(e->handle, e->name);
	if (!e->fn || dlerror())
		return fail(p, e, d, "unknown symbol in %s", e->lib);
	ffi_call_iface *ci = xmalloc(sizeof *ci);
	for (uint32_t i = 0; i < e->nargs; i++)
		ci->types[i] = ctype_ffi(e->args[i]);
	ffi_status st = ffi_prep_cif(&ci->cif, FFI_DEFAULT_ABI, e->nargs, ctype_ffi(e->ret), ci->types);
	if (st != FFI_OK) {
		free(ci);
		return fail(p, e, d, "libffi cannot prepare the call (status %d)", (int)st);
	}
	e->cif = ci;
	return 0;
}

int vm_ffi_resolve(vm_program *p, vm_diag *d)
{
	for (uint32_t i = 0; i < p->nexterns; i++)
		if (resolve_one(p, &p->externs[i], d) != 0)
			return -1;
	return 0;
}

void vm_ffi_release(vm_program *p)
{
	for (uint32_t i = 0; i < p->nexterns; i++) {
		vm_extern *e = &p->externs[i];
		free(e->cif);
		if (e->handle)
			dlclose(e->handle); /* libraries are counted: each extern opened once */
		e->cif = e->handle = e->fn = NULL;
	}
}

int vm_ffi_prepare(const vm_program *p, uint32_t ext, const vm_value *args, vm_ffi_frame *fr,
		   char *err, size_t errlen)
{
	const vm_extern *e = &p->externs[ext];
	fr->ext = e;
	for (uint32_t i = 0; i < e->nargs; i++) {
		const vm_value *v = &args[i];
		union vm_ffi_slot *s = &fr->args[i];
		uint32_t want;
		switch (e->args[i]) {
		case VM_CT_INT:
			want = VK_INT;
			if (v->kind == VK_INT && (v->u.i < INT_MIN || v->u.i > INT_MAX)) {
				snprintf(err, errlen, "ffi %s: argument %u: %lld does not fit a C int",
					 e->name, i + 1, (long long)v->u.i);
				return -1;
			}
			s->i = (int)v->u.i;
			break;
		case VM_CT_LONG:
			want = VK_INT;
			s->l = v->u.i;
			break;
		case VM_CT_DOUBLE:
			want = VK_FLOAT;
			s->d = v->u.f;
			break;
		case VM_CT_PTR:
			want = v->kind == VK_NIL ? VK_NIL : VK_PTR; /* nil is NULL */
			s->p = v->kind == VK_NIL ? NULL : v->u.p;
			break;
		default: /* VM_CT_STRING */
			want = VK_STRING;
			if (v->kind == VK_STRING && memchr(v->u.s->data, 0, v->u.s->len)) {
				snprintf(err, errlen, "ffi %s: argument %u: the string holds a NUL byte",
					 e->name, i + 1);
				return -1;
			}
			s->s = v->kind == VK_STRING ? v->u.s->data : NULL;
			break;
		}
		if (v->kind != want) {
			snprintf(err, errlen, "ffi %s: argument %u: %s expected, got %s", e->name, i + 1,
				 vm_ctype_name(e->args[i]), vm_kind_name(v->kind));
			return -1;
		}
		fr->argp[i] = s;
	}
	return 0;
}

/* The C call itself, and where its result lands. */
typedef struct c_call {
	const vm_ffi_frame *fr;
	union {
		ffi_arg widened; /* int results come back widened to this */
		int64_t l;
		double d;
		void *p;
	} r;
} c_call;

static void call_c(void *arg)
{
	c_call *c = arg;
	const vm_extern *e = c->fr->ext;
	ffi_call(&((ffi_call_iface *)e->cif)->cif, FFI_FN(e->fn), &c->r, (void **)c->fr->argp);
}

void vm_ffi_invoke(const vm_ffi_frame *fr, vm_value *result)
{
	const vm_extern *e = fr->ext;
	c_call c = { .fr = fr };
	/* While C runs, the collector counts this thread as stopped and sends
	 * it no signal (an interrupted usleep or read would return EINTR).
	 * The arguments' strings stay reachable from the VM stack; C gets no
	 * pointer to anything else on the GC heap. */
	gc_do_blocking(call_c, &c);
	switch (e->ret) {
	case VM_CT_VOID:
		*result = (vm_value){ .kind = VK_NIL };
		break;
	case VM_CT_INT:
		*result = (vm_value){ .kind = VK_INT, .u.i = (int)c.r.widened };
		break;
	case VM_CT_LONG:
		*result = (vm_value){ .kind = VK_INT, .u.i = c.r.l };
		break;
	case VM_CT_DOUBLE:
		*result = (vm_value){ .kind = VK_FLOAT, .u.f = c.r.d };
		break;
	case VM_CT_PTR:
		*result = c.r.p ? (vm_value){ .kind = VK_PTR, .u.p = c.r.p } : (vm_value){ .kind = VK_NIL };
		break;
	default: /* VM_CT_STRING: gc_alloc exits the program if memory runs out */
		*result = c.r.p ? (vm_value){ .kind = VK_STRING, .u.s = vm_string_new(c.r.p, strlen(c.r.p)) }
			      : (vm_value){ .kind = VK_NIL };
		break;
	}
}

int vm_ffi_call(const vm_program *p, uint32_t ext, const vm_value *args, vm_value *result,
		char *err, size_t errlen)
{
	vm_ffi_frame fr;
	if (vm_ffi_prepare(p, ext, args, &fr, err, errlen) != 0)
		return -1;
	vm_ffi_invoke(&fr, result);
	return 0;
}
