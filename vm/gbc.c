/* gbc.c: the binary program format (.gbc): encoding, and decoding that trusts nothing. */
/*
 * A .gbc image is a 28-byte header and five sections, one after another.
 * Every number is little-endian and fixed-width (u32 unless said), so a
 * student can read an image with a hex dump; docs/assembly.md gives the
 * layout byte by byte:
 *
 *   header     magic "\x7fGBC", version, then the byte length of each section
 *   constants  count, then per constant: kind, and its int, float or string
 *   functions  count, main's index, then per function: nparams, nlocals,
 *              maxstack, start, len, line, name length, name bytes
 *   code       the code words
 *   debug      file name length, file name bytes, one line per code word
 *   externs    count, then per extern: line, return type, argument count,
 *              argument types, name length, name, library length, library
 *
 * Decoding is the first line of defence against a hostile file.  It never
 * reads past a section's end, checks every count against the bytes left
 * before allocating anything (so memory stays a small multiple of the file
 * size), runs in linear time, and names the byte offset of the first bad
 * field.  What the code means (opcodes, operands, stack depths, where
 * functions start) is left to vm_verify.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "gc/common.h"
#include "gc/gc.h"
#include "vm/internal.h"

#define GBC_MAGIC "\x7fGBC"
#define GBC_VERSION 2 /* 2: the externs section */
#define GBC_HEADER 28 /* magic, version, five section lengths */

/* The smallest encodings, for checking counts before allocating. */
#define GBC_MIN_CONST 8 /* a kind and a string length */
#define GBC_MIN_FUNC 28 /* seven u32 fields and an empty name */
#define GBC_MIN_EXTERN 20 /* five u32 fields, no arguments, empty names */

enum { SEC_CONSTS, SEC_FUNCS, SEC_CODE, SEC_DEBUG, SEC_EXTERNS, GBC_NSEC };
static const char *const sec_name[GBC_NSEC] = { "constants", "functions", "code", "debug",
						 "externs" };

int vm_gbc_is_binary(const uint8_t *buf, size_t len)
{
	return len >= 4 && memcmp(buf, GBC_MAGIC, 4) == 0;
}

/* ------------------------------------------------------------------ */
/* Encoding                                                           */
/* ------------------------------------------------------------------ */

static uint8_t *put32(uint8_t *w, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		*w++ = (uint8_t)(v >> (8 * i));
	return w;
}

static uint8_t *put64(uint8_t *w, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		*w++ = (uint8_t)(v >> (8 * i));
	return w;
}

static uint8_t *putbytes(uint8_t *w, const void *s, size_t n)
{
	memcpy(w, s, n);
	return w + n;
}

static uint32_t const_size(const vm_value *v)
{
	return v->kind == VK_STRING ? 8 + (uint32_t)v->u.s->len : 12;
}

size_t vm_gbc_encode(const vm_program *p, uint8_t **out)
{
	*out = NULL; /* and 0 returned, if the program is too big */
	const char *file = p->file ? p->file : "";
	uint64_t sec[GBC_NSEC];
	sec[SEC_CONSTS] = 4;
	for (uint32_t i = 0; i < p->nconsts; i++)
		sec[SEC_CONSTS] += const_size(&p->consts[i]);
	sec[SEC_FUNCS] = 8;
	for (uint32_t i = 0; i < p->nfuncs; i++)
		sec[SEC_FUNCS] += GBC_MIN_FUNC + strlen(p->funcs[i].name);
	sec[SEC_CODE] = 4 * (uint64_t)p->ncode;
	sec[SEC_DEBUG] = 4 + strlen(file) + 4 * (uint64_t)p->ncode;
	sec[SEC_EXTERNS] = 4;
	for (uint32_t i = 0; i < p->nexterns; i++)
		sec[SEC_EXTERNS] += GBC_MIN_EXTERN + 4 * (uint64_t)p->externs[i].nargs +
				    strlen(p->externs[i].name) + strlen(p->externs[i].lib);

	uint64_t total = GBC_HEADER;
	for (int s = 0; s < GBC_NSEC; s++) {
		if (sec[s] > UINT32_MAX)
			return 0; /* cannot be described by a u32 length */
		total += sec[s];
	}
	uint8_t *buf = xmalloc(total), *w = buf;

	w = putbytes(w, GBC_MAGIC, 4);
	w = put32(w, GBC_VERSION);
	for (int s = 0; s < GBC_NSEC; s++)
		w = put32(w, (uint32_t)sec[s]);

	w = put32(w, p->nconsts);
	for (uint32_t i = 0; i < p->nconsts; i++) {
		const vm_value *v = &p->consts[i];
		w = put32(w, v->kind);
		if (v->kind == VK_STRING) {
			w = put32(w, (uint32_t)v->u.s->len);
			w = putbytes(w, v->u.s->data, v->u.s->len);
		} else {
			uint64_t bits;
			memcpy(&bits, &v->u, 8); /* the int, or the double's bits */
			w = put64(w, bits);
		}
	}

	w = put32(w, p->nfuncs);
	w = put32(w, p->main_fn);
	for (uint32_t i = 0; i < p->nfuncs; i++) {
		const vm_function *f = &p->funcs[i];
		size_t n = strlen(f->name);
		w = put32(w, f->nparams);
		w = put32(w, f->nlocals);
		w = put32(w, f->maxstack);
		w = put32(w, f->start);
		w = put32(w, f->len);
		w = put32(w, f->line);
		w = put32(w, (uint32_t)n);
		w = putbytes(w, f->name, n);
	}

	for (uint32_t i = 0; i < p->ncode; i++)
		w = put32(w, p->code[i]);

	w = put32(w, (uint32_t)strlen(file));
	w = putbytes(w, file, strlen(file));
	for (uint32_t i = 0; i < p->ncode; i++)
		w = put32(w, p->lines ? p->lines[i] : 0);

	w = put32(w, p->nexterns);
	for (uint32_t i = 0; i < p->nexterns; i++) {
		const vm_extern *e = &p->externs[i];
		w = put32(w, e->line);
		w = put32(w, e->ret);
		w = put32(w, e->nargs);
		for (uint32_t k = 0; k < e->nargs; k++)
			w = put32(w, e->args[k]);
		w = put32(w, (uint32_t)strlen(e->name));
		w = putbytes(w, e->name, strlen(e->name));
		w = put32(w, (uint32_t)strlen(e->lib));
		w = putbytes(w, e->lib, strlen(e->lib));
	}

	*out = buf;
	return (size_t)total;
}

/* ------------------------------------------------------------------ */
/* Decoding                                                           */
/* ------------------------------------------------------------------ */

/* A cursor over one section of the image. */
typedef struct gbc_reader {
	/* the whole image */
	const uint8_t *buf;
	/* next byte to read; pos <= end always */
	uint64_t pos;
	/* one past the current section's last byte; end <= image size */
	uint64_t end;
	/* the current section's name, for messages */
	const char *sec;
	/* the image's name, for messages */
	const char *file;
	vm_diag *d;
} gbc_reader;

static uint64_t left(const gbc_reader *r)
{
	return r->end - r->pos;
}

/* Check that n more bytes, holding `what`, lie inside the section. */
static int need(gbc_reader *r, uint64_t n, const char *what)
{
	if (left(r) >= n)
		return 1;
	vm_diag_offset(r->d, r->file, r->pos, "the %s section ends inside %s", r->sec, what);
	return 0;
}

static uint32_t get32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static int rd32(gbc_reader *r, uint32_t *v, const char *what)
{
	if (!need(r, 4, what))
		return 0;
	*v = get32(r->buf + r->pos);
	r->pos += 4;
	return 1;
}

static int rd64(gbc_reader *r, uint64_t *v, const char *what)
{
	if (!need(r, 8, what))
		return 0;
	*v = get32(r->buf + r->pos) | (uint64_t)get32(r->buf + r->pos + 4) << 32;
	r->pos += 8;
	return 1;
}

/* Start the next section, which the header says is n bytes long. */
static void enter(gbc_reader *r, int s, uint32_t n)
{
	r->sec = sec_name[s];
	r->end = r->pos + n;
}

/* A section must be used up exactly. */
static int leave(gbc_reader *r)
{
	if (left(r) == 0)
		return 1;
	vm_diag_offset(r->d, r->file, r->pos, "%llu bytes left over at the end of the %s section",
		       (unsigned long long)left(r), r->sec);
	return 0;
}

/* A count read at offset at: before anything is allocated for it, check
 * that count records of at least min bytes fit in what is left of the
 * section, so a lying count cannot make the decoder allocate more than the
 * file holds. */
static int count_fits(gbc_reader *r, uint64_t at, uint32_t n, uint32_t min, const char *what)
{
	if (n <= left(r) / min)
		return 1;
	vm_diag_offset(r->d, r->file, at, "%s count %u cannot fit in the %llu bytes left in the %ss section",
		       what, n, (unsigned long long)left(r), what);
	return 0;
}

__attribute__((noinline)) static int decode_consts(gbc_reader *r, vm_program *p)
{
	uint64_t at = r->pos;
	uint32_t n;
	if (!rd32(r, &n, "the constant count"))
		return 0;
	if (!count_fits(r, at, n, GBC_MIN_CONST, "constant"))
		return 0;
	if (n)
		p->consts = xcalloc(n, sizeof *p->consts);
	p->nconsts = n; /* unfilled entries are nil, which vm_program_free skips */
	for (uint32_t i = 0; i < n; i++) {
		vm_value *v = &p->consts[i];
		uint32_t kind, slen;
		uint64_t bits;
		at = r->pos;
		if (!rd32(r, &kind, "a constant's kind"))
			return 0;
		switch (kind) {
		case VK_INT:
		case VK_FLOAT:
			if (!rd64(r, &bits, "an int or float constant"))
				return 0;
			memcpy(&v->u, &bits, 8);
			v->kind = kind;
			break;
		case VK_STRING:
			at = r->pos;
			if (!rd32(r, &slen, "a string constant's length"))
				return 0;
			if (slen > left(r)) {
				vm_diag_offset(r->d, r->file, at,
					       "string constant %u has length %u, more than the %llu bytes left in the constants section",
					       i, slen, (unsigned long long)left(r));
				return 0;
			}
			v->u.s = xmalloc(sizeof(vm_string) + (size_t)slen + 1);
			v->kind = VK_STRING;
			v->u.s->len = slen;
			memcpy(v->u.s->data, r->buf + r->pos, slen);
			v->u.s->data[slen] = 0;
			r->pos += slen;
			break;
		default:
			vm_diag_offset(r->d, r->file, at,
				       "constant %u has kind %u, which is not int (1), float (2) or string (3)",
				       i, kind);
			return 0;
		}
	}
	return leave(r);
}

/* Is s[0..n) a name the assembler reads (vm_ident_start, vm_ident_char)? */
static int is_ident(const uint8_t *s, uint32_t n)
{
	if (n == 0 || !vm_ident_start(s[0]))
		return 0;
	for (uint32_t i = 1; i < n; i++)
		if (!vm_ident_char(s[i]))
			return 0;
	return 1;
}

/* Index of the first of n records whose name an earlier one already has,
 * or n if the names are unique.  The records are `size` bytes apart and
 * each starts with its name (a char *), as vm_function and vm_extern do.
 * An id table of names: linear time on average. */
/* noinline, as decode_consts: kept out of vm_gbc_decode's frame. */
__attribute__((noinline)) static uint32_t duplicate_name(const void *records, size_t size, uint32_t n)
{
	idtab seen = { 0 };
	uint32_t i;
	for (i = 0; i < n; i++) {
		const char *name = *(char *const *)((const char *)records + (size_t)i * size);
		bool fresh;
		idtab_put_name(&seen, name, strlen(name), i, &fresh);
		if (!fresh)
			break;
	}
	idtab_free(&seen);
	return i;
}
_Static_assert(offsetof(vm_function, name) == 0 && offsetof(vm_extern, name) == 0,
	       "duplicate_name finds a record's name at its start");

/* Read record i's name (what: "name", "library name") in a section of
 * records of kind ("function", "extern"): a length, then the bytes, an
 * identifier if ident, else any non-empty string without a NUL. */
static int rd_name(gbc_reader *r, const char *kind, uint32_t i, const char *what, int ident,
		   char **out)
{
	uint64_t at = r->pos;
	uint32_t n;
	if (!rd32(r, &n, kind[0] == 'e' ? "an extern record" : "a function record"))
		return 0;
	if (n > left(r)) {
		vm_diag_offset(r->d, r->file, at,
			       "%s %u's %s has length %u, more than the %llu bytes left in the %ss section",
			       kind, i, what, n, (unsigned long long)left(r), kind);
		return 0;
	}
	const uint8_t *b = r->buf + r->pos;
	if (ident ? !is_ident(b, n) : n == 0 || memchr(b, 0, n)) {
		vm_diag_offset(r->d, r->file, r->pos, "%s %u's %s is %s", kind, i, what,
			       ident ? "not an identifier" : "empty or holds a NUL byte");
		return 0;
	}
	*out = xmalloc((size_t)n + 1);
	memcpy(*out, b, n);
	(*out)[n] = 0;
	r->pos += n;
	return 1;
}

/* Fail, naming the second of two records of kind with the same name, at
 * name_at[i], its name's offset; "defined" or "declared" says which. */
static int names_unique(gbc_reader *r, const void *records, size_t size, uint32_t n,
			const uint64_t *name_at, const char *kind, const char *verb)
{
	uint32_t dup = duplicate_name(records, size, n);
	if (dup < n) {
		const char *name = *(char *const *)((const char *)records + (size_t)dup * size);
		vm_diag_offset(r->d, r->file, name_at[dup], "%s %s is %s twice", kind, name, verb);
		return 0;
	}
	return 1;
}

static int decode_funcs(gbc_reader *r, vm_program *p)
{
	uint64_t at = r->pos;
	uint32_t n;
	if (!rd32(r, &n, "the function count"))
		return 0;
	if (!rd32(r, &p->main_fn, "main's index"))
		return 0;
	if (!count_fits(r, at, n, GBC_MIN_FUNC, "function"))
		return 0;
	if (p->main_fn >= n) {
		vm_diag_offset(r->d, r->file, at + 4, "main's index %u is out of range (%u functions)",
			       p->main_fn, n);
		return 0;
	}
	uint64_t *name_at = xmalloc((n ? n : 1) * sizeof *name_at); /* for messages */
	p->funcs = xcalloc(n, sizeof *p->funcs);
	p->nfuncs = n; /* unfilled names are NULL, which vm_program_free skips */
	for (uint32_t i = 0; i < n; i++) {
		vm_function *f = &p->funcs[i];
		if (!rd32(r, &f->nparams, "a function record") || !rd32(r, &f->nlocals, "a function record") ||
		    !rd32(r, &f->maxstack, "a function record") || !rd32(r, &f->start, "a function record") ||
		    !rd32(r, &f->len, "a function record") || !rd32(r, &f->line, "a function record"))
			goto fail;
		name_at[i] = r->pos + 4;
		if (!rd_name(r, "function", i, "name", 1, &f->name))
			goto fail;
	}
	if (!leave(r) || !names_unique(r, p->funcs, sizeof *p->funcs, n, name_at, "function", "defined"))
		goto fail;
	free(name_at);
	return 1;
fail:
	free(name_at);
	return 0;
}

static int decode_code(gbc_reader *r, vm_program *p, uint64_t seclen)
{
	if (seclen % 4 != 0) {
		vm_diag_offset(r->d, r->file, 16, "code section length %llu is not a multiple of 4",
			       (unsigned long long)seclen);
		return 0;
	}
	p->code_offset = r->pos;
	p->ncode = (uint32_t)(seclen / 4);
	if (p->ncode)
		p->code = xmalloc(seclen);
	for (uint32_t i = 0; i < p->ncode; i++)
		rd32(r, &p->code[i], "a code word"); /* cannot fail: seclen is exact */
	return leave(r);
}

static int decode_debug(gbc_reader *r, vm_program *p)
{
	uint64_t at = r->pos;
	uint32_t n;
	if (!rd32(r, &n, "the file name's length"))
		return 0;
	if (n > left(r)) {
		vm_diag_offset(r->d, r->file, at,
			       "file name length %u is more than the %llu bytes left in the debug section",
			       n, (unsigned long long)left(r));
		return 0;
	}
	if (memchr(r->buf + r->pos, 0, n)) {
		vm_diag_offset(r->d, r->file, r->pos, "the file name contains a NUL byte");
		return 0;
	}
	p->file = xmalloc((size_t)n + 1);
	memcpy(p->file, r->buf + r->pos, n);
	p->file[n] = 0;
	r->pos += n;
	if (left(r) != 4 * (uint64_t)p->ncode) {
		vm_diag_offset(r->d, r->file, r->pos,
			       "the debug section has %llu bytes of line numbers, want %llu (4 for each of the %u code words)",
			       (unsigned long long)left(r), 4 * (unsigned long long)p->ncode, p->ncode);
		return 0;
	}
	if (p->ncode)
		p->lines = xmalloc(4 * (size_t)p->ncode);
	for (uint32_t i = 0; i < p->ncode; i++)
		rd32(r, &p->lines[i], "a line number"); /* cannot fail: checked above */
	return leave(r);
}

static int decode_externs(gbc_reader *r, vm_program *p)
{
	uint64_t at = r->pos;
	uint32_t n;
	if (!rd32(r, &n, "the extern count"))
		return 0;
	if (!count_fits(r, at, n, GBC_MIN_EXTERN, "extern"))
		return 0;
	uint64_t *name_at = xmalloc((n ? n : 1) * sizeof *name_at); /* for messages */
	if (n)
		p->externs = xcalloc(n, sizeof *p->externs);
	p->nexterns = n; /* unfilled names are NULL, which vm_program_free skips */
	for (uint32_t i = 0; i < n; i++) {
		vm_extern *e = &p->externs[i];
		uint32_t ret, nargs, t;
		if (!rd32(r, &e->line, "an extern record"))
			goto fail;
		at = r->pos;
		if (!rd32(r, &ret, "an extern record"))
			goto fail;
		if (ret >= VM_CT__COUNT) {
			vm_diag_offset(r->d, r->file, at,
				       "extern %u's return type is %u, which is not a C type (0 void to 5 string)",
				       i, ret);
			goto fail;
		}
		e->ret = (uint8_t)ret;
		at = r->pos;
		if (!rd32(r, &nargs, "an extern record"))
			goto fail;
		if (nargs > VM_EXTERN_MAXARGS) {
			vm_diag_offset(r->d, r->file, at, "extern %u has %u arguments; at most %d are allowed",
				       i, nargs, VM_EXTERN_MAXARGS);
			goto fail;
		}
		e->nargs = (uint8_t)nargs;
		for (uint32_t k = 0; k < nargs; k++) {
			at = r->pos;
			if (!rd32(r, &t, "an extern record"))
				goto fail;
			if (t == VM_CT_VOID || t >= VM_CT__COUNT) {
				vm_diag_offset(r->d, r->file, at,
					       "extern %u's argument %u has type %u, which is not an argument type (1 int to 5 string)",
					       i, k + 1, t);
				goto fail;
			}
			e->args[k] = (uint8_t)t;
		}
		name_at[i] = r->pos + 4;
		if (!rd_name(r, "extern", i, "name", 1, &e->name) ||
		    !rd_name(r, "extern", i, "library name", 0, &e->lib))
			goto fail;
	}
	if (!leave(r) || !names_unique(r, p->externs, sizeof *p->externs, n, name_at, "extern", "declared"))
		goto fail;
	free(name_at);
	return 1;
fail:
	free(name_at);
	return 0;
}

vm_program *vm_gbc_decode(const char *file, const uint8_t *buf, size_t len, vm_diag *d)
{
	gbc_reader r = { buf, 0, len, "header", file, d };
	if (!vm_gbc_is_binary(buf, len)) {
		vm_diag_offset(d, file, 0, "not a .gbc file (the magic number is not 7f 47 42 43)");
		return NULL;
	}
	r.pos = 4;
	uint32_t version;
	if (!rd32(&r, &version, "the format version"))
		return NULL;
	if (version != GBC_VERSION) {
		vm_diag_offset(d, file, 4,
			       "unsupported .gbc format version %u (this greenvm reads version %u)",
			       version, GBC_VERSION);
		return NULL;
	}
	uint32_t sec[GBC_NSEC];
	uint64_t sum = 0;
	for (int s = 0; s < GBC_NSEC; s++) {
		if (!rd32(&r, &sec[s], "the section lengths"))
			return NULL;
		sum += sec[s];
	}
	if (sum != len - GBC_HEADER) {
		vm_diag_offset(d, file, 8,
			       "the section lengths add up to %llu bytes, but %llu bytes follow the header",
			       (unsigned long long)sum, (unsigned long long)(len - GBC_HEADER));
		return NULL;
	}

	vm_program *p = xcalloc(1, sizeof *p);
	p->loaded_from = xstrdup(file);
	p->binary = 1;
	int ok = (enter(&r, SEC_CONSTS, sec[SEC_CONSTS]), decode_consts(&r, p)) &&
		 (enter(&r, SEC_FUNCS, sec[SEC_FUNCS]), decode_funcs(&r, p)) &&
		 (enter(&r, SEC_CODE, sec[SEC_CODE]), decode_code(&r, p, sec[SEC_CODE])) &&
		 (enter(&r, SEC_DEBUG, sec[SEC_DEBUG]), decode_debug(&r, p)) &&
		 (enter(&r, SEC_EXTERNS, sec[SEC_EXTERNS]), decode_externs(&r, p));
	if (!ok) {
		vm_program_free(p);
		return NULL;
	}
	return p;
}
