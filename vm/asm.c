/* asm.c: the assembler, from .gasm text to a vm_program.
 *
 * One pass over the lines.  Labels, functions and externs may be used before
 * they are defined: such operands are recorded as fix-ups and patched at the
 * end of the function (labels) or of the file (functions and externs).  Names are found through hash
 * tables, so the assembler runs in time linear in its input.  The syntax is
 * described in docs/assembly.md.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gc/common.h"
#include "gc/gc.h"
#include "vm/internal.h"

/* ---------------------------------------------------------------- */
/* Growable arrays and a name table                                 */
/* ---------------------------------------------------------------- */

/* Make room for one more element in *arr (of *cap elements of size sz).
 * Out of memory is fatal (xrealloc); counts are uint32_t, and the source
 * text that would need more than that many elements could not be read. */
/* noinline, as intern_const: cold paths kept out of vm_asm, into which the
 * rest of the assembler is inlined, so that its frame stays 512 bytes. */
__attribute__((noinline)) static void grow(void *arrp, uint32_t n, uint32_t *cap, size_t sz)
{
	void **arr = arrp;
	if (n < *cap)
		return;
	uint64_t nc = *cap ? (uint64_t)*cap * 2 : 16;
	if (nc > UINT32_MAX)
		nc = UINT32_MAX;
	*arr = xrealloc(*arr, (size_t)nc * sz);
	*cap = (uint32_t)nc;
}

/* The name tables are id tables (gc/common.h) from names to indices. */

/* Value of key, or -1. */
static int64_t nt_get(const idtab *t, const char *key, size_t len)
{
	uint32_t *v = idtab_get_name(t, key, len);
	return v ? (int64_t)*v : -1;
}

/* ---------------------------------------------------------------- */
/* Assembler state                                                  */
/* ---------------------------------------------------------------- */

/* A use of a name not yet defined: patch code[word] when it is. */
typedef struct fixup {
	/* the operand word to patch */
	uint32_t word;
	/* source line of the use, for "undefined" errors */
	uint32_t line;
	/* the name used (points into the source text) */
	const char *name;
	size_t len;
} fixup;

typedef struct asm_state {
	/* file name for diagnostics */
	const char *file;
	vm_diag *d;
	vm_program *p;
	uint32_t cap_consts, cap_funcs, cap_code, cap_lines, cap_externs, cap_labels;

	/* function and extern names -> index; constant keys -> pool index */
	idtab funcs, externs, consts;
	/* keys of the constant table: kind byte + value bytes, owned */
	char **const_keys;
	uint32_t cap_const_keys;
	/* calls to functions not yet defined, ffi calls of externs not yet declared */
	fixup *fcalls, *xcalls;
	uint32_t nfcalls, cap_fcalls, nxcalls, cap_xcalls;

	/* the function being assembled, or NULL between functions */
	vm_function *fn;
	/* its locals and labels by name; labels map to word offsets */
	idtab locals, labels;
	/* jumps to labels not yet defined in this function */
	fixup *jumps;
	uint32_t njumps, cap_jumps;

	/* the text line being read, and the line recorded for debug info */
	uint32_t text_line, debug_line;
	/* nonzero once a .line directive has been seen */
	int explicit_lines;
} asm_state;

#define FAIL(a, ...) (vm_diag_line((a)->d, (a)->file, (a)->text_line, __VA_ARGS__), -1)

/* ---------------------------------------------------------------- */
/* Lexing one line                                                  */
/* ---------------------------------------------------------------- */

typedef struct cursor {
	const char *s, *end;
} cursor;

static void skip_space(cursor *c)
{
	while (c->s < c->end && (*c->s == ' ' || *c->s == '\t' || *c->s == '\r'))
		c->s++;
	if (c->s < c->end && (*c->s == ';' || *c->s == '#'))
		c->s = c->end;
}

static int at_end(cursor *c)
{
	skip_space(c);
	return c->s >= c->end;
}

/* Read an identifier; its length, or 0 if there is none. */
static size_t ident(cursor *c, const char **name)
{
	skip_space(c);
	const char *s = c->s;
	if (s >= c->end || !vm_ident_start(*s))
		return 0;
	while (c->s < c->end && vm_ident_char(*c->s))
		c->s++;
	*name = s;
	return (size_t)(c->s - s);
}

/* Read a whitespace-delimited token (for numbers and error messages). */
static size_t token(cursor *c, const char **tok)
{
	skip_space(c);
	*tok = c->s;
	while (c->s < c->end && *c->s != ' ' && *c->s != '\t' && *c->s != '\r' &&
	       *c->s != ';' && *c->s != '#')
		c->s++;
	return (size_t)(c->s - *tok);
}

/* Parse an integer literal (decimal or 0x hex, optional '-') of exactly n
 * bytes.  0 on success. */
static int parse_int(const char *s, size_t n, int64_t *out)
{
	char buf[40];
	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	const char *digits = buf[0] == '-' ? buf + 1 : buf;
	int hex = digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X');
	if (!(digits[0] >= '0' && digits[0] <= '9'))
		return -1;
	char *end;
	errno = 0;
	if (hex) {
		unsigned long long u = strtoull(digits + 2, &end, 16);
		if (errno || *end || end == digits + 2)
			return -1;
		if (buf[0] == '-') {
			if (u > (unsigned long long)INT64_MAX + 1)
				return -1;
			*out = (int64_t)(0 - u);
		} else {
			if (u > INT64_MAX)
				return -1;
			*out = (int64_t)u;
		}
		return 0;
	}
	long long v = strtoll(buf, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* Parse a float literal: it must contain '.', 'e' or be inf/nan. */
static int parse_float(const char *s, size_t n, double *out)
{
	char buf[64];
	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (strcmp(buf, "inf") == 0 || strcmp(buf, "-inf") == 0) {
		*out = buf[0] == '-' ? -INFINITY : INFINITY;
		return 0;
	}
	if (strcmp(buf, "nan") == 0) {
		*out = NAN;
		return 0;
	}
	if (!strpbrk(buf, ".eE") || strpbrk(buf, "xXnN"))
		return -1;
	char *end;
	errno = 0;
	*out = strtod(buf, &end);
	if (*end || end == buf)
		return -1;
	return 0;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Parse a string literal at the cursor into a new malloc'd vm_string. */
static int parse_string(asm_state *a, cursor *c, vm_string **out)
{
	skip_space(c);
	const char *s = c->s + 1; /* after the opening quote */
	size_t cap = 0;
	for (const char *q = s; q < c->end && *q != '"'; q++, cap++)
		if (*q == '\\')
			q++;
	vm_string *str = xmalloc(sizeof *str + cap + 1);
	size_t n = 0;
	const char *q = s;
	for (;;) {
		if (q >= c->end) {
			free(str);
			return FAIL(a, "unterminated string");
		}
		char ch = *q++;
		if (ch == '"')
			break;
		if (ch == '\\') {
			if (q >= c->end) {
				free(str);
				return FAIL(a, "unterminated string");
			}
			char e = *q++;
			switch (e) {
			case 'n': ch = '\n'; break;
			case 't': ch = '\t'; break;
			case 'r': ch = '\r'; break;
			case '0': ch = '\0'; break;
			case '\\': ch = '\\'; break;
			case '"': ch = '"'; break;
			case 'x': {
				int h = q < c->end ? hexval(q[0]) : -1;
				int l = q + 1 < c->end ? hexval(q[1]) : -1;
				if (h < 0 || l < 0) {
					free(str);
					return FAIL(a, "bad \\x escape in string");
				}
				ch = (char)(h * 16 + l);
				q += 2;
				break;
			}
			default:
				free(str);
				return FAIL(a, "unknown escape \\%c in string", e);
			}
		}
		str->data[n++] = ch;
	}
	str->len = n;
	str->data[n] = 0;
	c->s = q;
	*out = str;
	return 0;
}

/* ---------------------------------------------------------------- */
/* Building the program                                             */
/* ---------------------------------------------------------------- */

static int emit(asm_state *a, uint32_t word)
{
	vm_program *p = a->p;
	grow(&p->code, p->ncode, &a->cap_code, sizeof *p->code);
	grow(&p->lines, p->ncode, &a->cap_lines, sizeof *p->lines);
	p->code[p->ncode] = word;
	p->lines[p->ncode] = a->debug_line;
	p->ncode++;
	return 0;
}

/* Pool index of constant v, adding it if new.  Takes ownership of a string. */
__attribute__((noinline)) static int64_t intern_const(asm_state *a, vm_value v)
{
	vm_program *p = a->p;
	size_t klen;
	char *key;
	if (v.kind == VK_STRING) {
		klen = 1 + v.u.s->len;
		key = xmalloc(klen);
		memcpy(key + 1, v.u.s->data, v.u.s->len);
	} else {
		klen = 1 + sizeof v.u.i;
		key = xmalloc(klen);
		memcpy(key + 1, &v.u.i, sizeof v.u.i);
	}
	key[0] = (char)v.kind;
	int64_t k = nt_get(&a->consts, key, klen);
	if (k >= 0) {
		free(key);
		if (v.kind == VK_STRING)
			free(v.u.s);
		return k;
	}
	grow(&p->consts, p->nconsts, &a->cap_consts, sizeof *p->consts);
	grow(&a->const_keys, p->nconsts, &a->cap_const_keys, sizeof *a->const_keys);
	a->const_keys[p->nconsts] = key;
	idtab_put_name(&a->consts, key, klen, p->nconsts, NULL);
	p->consts[p->nconsts] = v;
	return p->nconsts++;
}

/* Read the operand of an instruction of kind `kind` and emit it. */
static int operand(asm_state *a, cursor *c, int kind, const char *mnem)
{
	const char *tok, *name;
	size_t n;
	int64_t iv;
	skip_space(c);
	if (c->s >= c->end)
		return FAIL(a, "%s needs an operand", mnem);

	switch (kind) {
	case OPND_IMM:
		n = token(c, &tok);
		if (parse_int(tok, n, &iv) != 0 || iv < INT32_MIN || iv > INT32_MAX)
			return FAIL(a, "%s: bad immediate '%.*s' (a 32-bit integer)", mnem, (int)n, tok);
		return emit(a, (uint32_t)(int32_t)iv);

	case OPND_CONST: {
		vm_value v = { 0 };
		if (*c->s == '"') {
			v.kind = VK_STRING;
			if (parse_string(a, c, &v.u.s) != 0)
				return -1;
		} else {
			n = token(c, &tok);
			if (parse_int(tok, n, &v.u.i) == 0)
				v.kind = VK_INT;
			else if (parse_float(tok, n, &v.u.f) == 0)
				v.kind = VK_FLOAT;
			else
				return FAIL(a, "%s: bad constant '%.*s'", mnem, (int)n, tok);
		}
		int64_t k = intern_const(a, v);
		return k < 0 ? -1 : emit(a, (uint32_t)k);
	}

	case OPND_LOCAL:
		if (*c->s >= '0' && *c->s <= '9') {
			n = token(c, &tok);
			if (parse_int(tok, n, &iv) != 0 || iv >= a->fn->nlocals)
				return FAIL(a, "%s: no local %.*s", mnem, (int)n, tok);
			return emit(a, (uint32_t)iv);
		}
		if (!(n = ident(c, &name)))
			return FAIL(a, "%s: expected a local's name", mnem);
		iv = nt_get(&a->locals, name, n);
		if (iv < 0)
			return FAIL(a, "%s: no local named %.*s", mnem, (int)n, name);
		return emit(a, (uint32_t)iv);

	case OPND_FUNC:
	case OPND_LABEL:
	case OPND_EXTERN: {
		if (!(n = ident(c, &name)))
			return FAIL(a, "%s: expected %s name", mnem,
				    kind == OPND_FUNC ? "a function" : kind == OPND_LABEL ? "a label" : "an extern");
		idtab *t = kind == OPND_FUNC ? &a->funcs : kind == OPND_LABEL ? &a->labels : &a->externs;
		iv = nt_get(t, name, n);
		if (iv >= 0)
			return emit(a, (uint32_t)iv);
		fixup **list = kind == OPND_FUNC ? &a->fcalls : kind == OPND_LABEL ? &a->jumps : &a->xcalls;
		uint32_t *cnt = kind == OPND_FUNC ? &a->nfcalls : kind == OPND_LABEL ? &a->njumps : &a->nxcalls;
		uint32_t *cap = kind == OPND_FUNC ? &a->cap_fcalls
			      : kind == OPND_LABEL ? &a->cap_jumps : &a->cap_xcalls;
		grow(list, *cnt, cap, sizeof **list);
		(*list)[(*cnt)++] = (fixup){ a->p->ncode, a->text_line, name, n };
		return emit(a, 0);
	}
	}
	return FAIL(a, "internal error: operand kind %d", kind);
}

/* Add a local named `name` to the current function. */
static int add_local(asm_state *a, const char *name, size_t n)
{
	if (nt_get(&a->locals, name, n) >= 0)
		return FAIL(a, "local %.*s declared twice", (int)n, name);
	if (a->fn->nlocals >= (1u << 20))
		return FAIL(a, "too many locals (at most %u)", 1u << 20);
	idtab_put_name(&a->locals, name, n, a->fn->nlocals, NULL);
	a->fn->nlocals++;
	return 0;
}

static int begin_func(asm_state *a, cursor *c)
{
	vm_program *p = a->p;
	const char *name;
	size_t n;
	if (a->fn)
		return FAIL(a, ".func inside function %s (missing .end)", a->fn->name);
	if (!(n = ident(c, &name)))
		return FAIL(a, ".func needs a name");
	if (nt_get(&a->funcs, name, n) >= 0)
		return FAIL(a, "function %.*s defined twice", (int)n, name);
	grow(&p->funcs, p->nfuncs, &a->cap_funcs, sizeof *p->funcs);
	vm_function *f = &p->funcs[p->nfuncs];
	*f = (vm_function){ .maxstack = UINT32_MAX, .start = p->ncode, .line = a->debug_line };
	f->name = xstrndup(name, n);
	idtab_put_name(&a->funcs, f->name, n, p->nfuncs, NULL);
	p->nfuncs++;
	a->fn = f;
	const char *pn;
	size_t pl;
	while ((pl = ident(c, &pn)))
		if (add_local(a, pn, pl) != 0)
			return -1;
	if (!at_end(c))
		return FAIL(a, ".func %s: bad parameter name", f->name);
	f->nparams = f->nlocals;
	return 0;
}

static int end_func(asm_state *a)
{
	vm_function *f = a->fn;
	if (!f)
		return FAIL(a, ".end outside a function");
	for (uint32_t i = 0; i < a->njumps; i++) {
		fixup *x = &a->jumps[i];
		int64_t off = nt_get(&a->labels, x->name, x->len);
		if (off < 0)
			return vm_diag_line(a->d, a->file, x->line, "in function %s: undefined label %.*s",
					    f->name, (int)x->len, x->name), -1;
		a->p->code[x->word] = (uint32_t)off;
	}
	f->len = a->p->ncode - f->start;
	a->njumps = 0;
	idtab_free(&a->labels);
	idtab_free(&a->locals);
	a->fn = NULL;
	return 0;
}

/* A C type name of .extern, or -1. */
static int ctype(const char *name, size_t n)
{
	for (uint32_t t = 0; t < VM_CT__COUNT; t++)
		if (strlen(vm_ctype_name(t)) == n && memcmp(vm_ctype_name(t), name, n) == 0)
			return (int)t;
	return -1;
}

/* .extern NAME LIB RET ARG...: declare a C function for ffi. */
static int declare_extern(asm_state *a, cursor *c)
{
	vm_program *p = a->p;
	const char *name;
	size_t n;
	if (a->fn)
		return FAIL(a, ".extern inside function %s (externs are declared outside functions)",
			    a->fn->name);
	if (!(n = ident(c, &name)))
		return FAIL(a, ".extern needs the C function's name");
	if (nt_get(&a->externs, name, n) >= 0)
		return FAIL(a, "extern %.*s declared twice", (int)n, name);
	grow(&p->externs, p->nexterns, &a->cap_externs, sizeof *p->externs);
	vm_extern *e = &p->externs[p->nexterns];
	*e = (vm_extern){ .line = a->debug_line };
	e->name = xstrndup(name, n);
	p->nexterns++; /* now vm_program_free frees the name */
	idtab_put_name(&a->externs, e->name, n, p->nexterns - 1, NULL);

	/* the library: libc, libm or "file name" */
	skip_space(c);
	if (c->s < c->end && *c->s == '"') {
		vm_string *s;
		if (parse_string(a, c, &s) != 0)
			return -1;
		if (s->len == 0 || memchr(s->data, 0, s->len)) {
			free(s);
			return FAIL(a, ".extern %s: bad library file name", e->name);
		}
		e->lib = xstrdup(s->data);
		free(s);
	} else {
		const char *lib;
		size_t ln = token(c, &lib);
		if (ln == 0)
			return FAIL(a, ".extern %s: needs a library (libc, libm or a quoted file name)", e->name);
		if (ln != 4 || (memcmp(lib, "libc", 4) != 0 && memcmp(lib, "libm", 4) != 0))
			return FAIL(a, ".extern %s: unknown library '%.*s' (libc, libm or a quoted file name)",
				    e->name, (int)ln, lib);
		e->lib = xstrndup(lib, ln);
	}

	/* the result type, then the arguments' */
	const char *tn;
	size_t tl = token(c, &tn);
	if (tl == 0)
		return FAIL(a, ".extern %s: needs a return type", e->name);
	for (int i = 0; tl > 0; i++, tl = token(c, &tn)) {
		int t = ctype(tn, tl);
		if (t < 0)
			return FAIL(a, ".extern %s: unknown type '%.*s' (void, int, long, double, ptr or string)",
				    e->name, (int)tl, tn);
		if (i == 0) {
			e->ret = (uint8_t)t;
			continue;
		}
		if (t == VM_CT_VOID)
			return FAIL(a, ".extern %s: argument %d cannot be void", e->name, i);
		if (e->nargs == VM_EXTERN_MAXARGS)
			return FAIL(a, ".extern %s: too many arguments (at most %d)", e->name,
				    VM_EXTERN_MAXARGS);
		e->args[e->nargs++] = (uint8_t)t;
	}
	return 0;
}

static int directive(asm_state *a, cursor *c)
{
	const char *name;
	size_t n = ident(c, &name); /* after the '.' */
	int64_t v;
	const char *tok;
	size_t tn;
#define IS(word) (n == sizeof(word) - 1 && memcmp(name, word, n) == 0)
	if (IS("func"))
		return begin_func(a, c);
	if (IS("extern"))
		return declare_extern(a, c);
	if (IS("end"))
		return at_end(c) ? end_func(a) : FAIL(a, "junk after .end");
	if (IS("local")) {
		if (!a->fn)
			return FAIL(a, ".local outside a function");
		if (at_end(c))
			return FAIL(a, ".local needs at least one name");
		while ((n = ident(c, &name)))
			if (add_local(a, name, n) != 0)
				return -1;
		return at_end(c) ? 0 : FAIL(a, ".local: bad name");
	}
	if (IS("line")) {
		tn = token(c, &tok);
		/* 0 is "no line": what a .gbc holds for a program made without
		 * line numbers, so that its disassembly reads back */
		if (parse_int(tok, tn, &v) != 0 || v < 0 || v > UINT32_MAX || !at_end(c))
			return FAIL(a, ".line needs a line number (0 to 4294967295)");
		a->debug_line = (uint32_t)v;
		a->explicit_lines = 1;
		return 0;
	}
	if (IS("file")) {
		vm_string *s;
		if (a->p->nfuncs || a->fn)
			return FAIL(a, ".file must come before the first function");
		skip_space(c);
		if (c->s >= c->end || *c->s != '"')
			return FAIL(a, ".file needs a quoted name");
		if (parse_string(a, c, &s) != 0)
			return -1;
		if (!at_end(c) || s->len == 0 || memchr(s->data, 0, s->len)) {
			free(s);
			return FAIL(a, ".file: bad name");
		}
		free(a->p->file);
		a->p->file = xstrdup(s->data);
		free(s);
		return 0;
	}
#undef IS
	return FAIL(a, "unknown directive .%.*s", (int)n, name);
}

static int instruction(asm_state *a, cursor *c, const char *mnem, size_t n)
{
	int op = vm_op_lookup(mnem, n);
	if (op < 0)
		return FAIL(a, "unknown instruction '%.*s'", (int)n, mnem);
	if (!a->fn)
		return FAIL(a, "instruction outside a function");
	if (emit(a, (uint32_t)op) != 0)
		return -1;
	if (vm_ops[op].operand != OPND_NONE &&
	    operand(a, c, vm_ops[op].operand, vm_ops[op].mnemonic) != 0)
		return -1;
	return at_end(c) ? 0 : FAIL(a, "junk after %s", vm_ops[op].mnemonic);
}

static int line(asm_state *a, cursor *c)
{
	const char *name;
	size_t n;
	if (at_end(c))
		return 0;
	if (*c->s == '.') {
		c->s++;
		return directive(a, c);
	}
	if (!(n = ident(c, &name))) {
		const char *tok;
		size_t tn = token(c, &tok);
		return FAIL(a, "unexpected '%.*s'", (int)(tn ? tn : 1), tok);
	}
	if (c->s < c->end && *c->s == ':') { /* a label */
		c->s++;
		if (!a->fn)
			return FAIL(a, "label %.*s outside a function", (int)n, name);
		if (nt_get(&a->labels, name, n) >= 0)
			return FAIL(a, "label %.*s defined twice", (int)n, name);
		idtab_put_name(&a->labels, name, n, a->p->ncode - a->fn->start, NULL);
		/* and for the verifier's messages: labels come in code order */
		vm_program *p = a->p;
		grow(&p->labels, p->nlabels, &a->cap_labels, sizeof *p->labels);
		p->labels[p->nlabels].name = xstrndup(name, n);
		p->labels[p->nlabels++].word = p->ncode;
		if (at_end(c))
			return 0;
		if (!(n = ident(c, &name)))
			return FAIL(a, "expected an instruction after label");
	}
	return instruction(a, c, name, n);
}

vm_program *vm_asm(const char *file, const char *text, size_t len, vm_diag *d)
{
	asm_state a = { .file = file, .d = d };
	a.p = xcalloc(1, sizeof *a.p);
	a.p->loaded_from = xstrdup(file);
	int err = 0;

	const char *s = text, *end = text + len;
	while (!err && s < end) {
		const char *eol = memchr(s, '\n', (size_t)(end - s));
		if (!eol)
			eol = end;
		a.text_line++;
		if (!a.explicit_lines)
			a.debug_line = a.text_line;
		if (memchr(s, 0, (size_t)(eol - s))) {
			err = FAIL(&a, "NUL byte in text") != 0;
			break;
		}
		cursor c = { s, eol };
		err = line(&a, &c) != 0;
		s = eol + 1;
	}
	if (!err && a.fn)
		err = FAIL(&a, "function %s has no .end", a.fn->name) != 0;
	for (uint32_t i = 0; !err && i < a.nfcalls; i++) {
		fixup *x = &a.fcalls[i];
		int64_t f = nt_get(&a.funcs, x->name, x->len);
		if (f < 0) {
			vm_diag_line(d, file, x->line, "undefined function %.*s", (int)x->len, x->name);
			err = 1;
		} else
			a.p->code[x->word] = (uint32_t)f;
	}
	for (uint32_t i = 0; !err && i < a.nxcalls; i++) {
		fixup *x = &a.xcalls[i];
		int64_t e = nt_get(&a.externs, x->name, x->len);
		if (e < 0) {
			vm_diag_line(d, file, x->line, "undefined extern %.*s", (int)x->len, x->name);
			err = 1;
		} else
			a.p->code[x->word] = (uint32_t)e;
	}
	if (!err) {
		int64_t m = nt_get(&a.funcs, "main", 4);
		if (m < 0)
			err = (vm_diag_file(d, file, "no function main"), 1);
		else
			a.p->main_fn = (uint32_t)m;
	}
	if (!err && !a.p->file)
		a.p->file = xstrdup(file);

	for (uint32_t i = 0; a.p && i < a.p->nconsts; i++)
		free(a.const_keys[i]);
	free(a.const_keys);
	free(a.fcalls);
	free(a.xcalls);
	free(a.jumps);
	idtab_free(&a.funcs);
	idtab_free(&a.externs);
	idtab_free(&a.consts);
	idtab_free(&a.locals);
	idtab_free(&a.labels);
	if (err) {
		vm_program_free(a.p);
		return NULL;
	}
	return a.p;
}
