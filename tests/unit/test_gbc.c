/* test_gbc.c: the .gbc format: exact round trips, exact decode errors, and hostile input. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm.h"
#include "tests/unit/unit.h"

/* A program with every constant kind, several functions, labels, .line, and
 * externs of every C type (decoding does not resolve them: "libodd" need
 * not exist). */
static const char sample_text[] =
	".file \"sample.gasm\"\n"
	".extern cos libm double double\n"
	".extern odd \"lib\\\"odd\\\".so.1\" ptr ptr int long double string\n"
	".extern exit libc void int\n"
	".extern getenv libc string string\n"
	".func main\n"
	"    .local x y\n"
	"    const -9223372036854775808\n"
	"    const 0x7fffffffffffffff\n"
	"    add\n"
	"    store x\n"
	"    const 1.5\n"
	"    const -0.0\n"
	"    const 1e300\n"
	"    const inf\n"
	"    const -inf\n"
	"    const nan\n"
	"    pop\n    pop\n    pop\n    pop\n    pop\n    pop\n"
	"    const \"tab\\there\\x00nul \\\"q\\\" \\\\ \\xff\"\n"
	"    const \"\"\n"
	"    sconcat\n"
	"    println\n"
	"    const 0.5\n"
	"    ffi cos\n"
	"    pop\n"
	".line 100\n"
	"    pushi -7\n"
	"    pushi 3\n"
	"    call add2\n"
	"    store y\n"
	"top:\n"
	"    inc y\n"
	"    load y\n"
	"    pushi 10\n"
	"    lt\n"
	"    jnz top\n"
	"    pushi 0\n"
	"    exit\n"
	".end\n"
	".func add2 a b\n"
	"    load a\n"
	"    load b\n"
	"    add\n"
	"    ret\n"
	".end\n";

static vm_program *sample(void)
{
	vm_diag d;
	vm_program *p = vm_asm("sample.gasm", sample_text, sizeof sample_text - 1, &d);
	if (!p)
		printf("\n  %s\n", d.msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL_FATAL(vm_verify(p, &d), 0);
	return p;
}

/* Everything a .gbc keeps is equal (not loaded_from, binary, code_offset). */
static void assert_same_program(const vm_program *a, const vm_program *b)
{
	CU_ASSERT_STRING_EQUAL(a->file, b->file);
	CU_ASSERT_EQUAL_FATAL(a->nconsts, b->nconsts);
	for (uint32_t i = 0; i < a->nconsts; i++) {
		const vm_value *x = &a->consts[i], *y = &b->consts[i];
		CU_ASSERT_EQUAL(x->kind, y->kind);
		if (x->kind == VK_STRING) {
			CU_ASSERT_EQUAL_FATAL(x->u.s->len, y->u.s->len);
			CU_ASSERT(memcmp(x->u.s->data, y->u.s->data, x->u.s->len) == 0);
			CU_ASSERT_EQUAL(y->u.s->data[y->u.s->len], 0);
		} else {
			CU_ASSERT(memcmp(&x->u, &y->u, 8) == 0); /* bits, so nan and -0.0 count */
		}
	}
	CU_ASSERT_EQUAL_FATAL(a->nfuncs, b->nfuncs);
	CU_ASSERT_EQUAL(a->main_fn, b->main_fn);
	for (uint32_t i = 0; i < a->nfuncs; i++) {
		const vm_function *f = &a->funcs[i], *g = &b->funcs[i];
		CU_ASSERT_STRING_EQUAL(f->name, g->name);
		CU_ASSERT_EQUAL(f->nparams, g->nparams);
		CU_ASSERT_EQUAL(f->nlocals, g->nlocals);
		CU_ASSERT_EQUAL(f->maxstack, g->maxstack);
		CU_ASSERT_EQUAL(f->start, g->start);
		CU_ASSERT_EQUAL(f->len, g->len);
		CU_ASSERT_EQUAL(f->line, g->line);
	}
	CU_ASSERT_EQUAL_FATAL(a->nexterns, b->nexterns);
	for (uint32_t i = 0; i < a->nexterns; i++) {
		const vm_extern *x = &a->externs[i], *y = &b->externs[i];
		CU_ASSERT_STRING_EQUAL(x->name, y->name);
		CU_ASSERT_STRING_EQUAL(x->lib, y->lib);
		CU_ASSERT_EQUAL(x->ret, y->ret);
		CU_ASSERT_EQUAL_FATAL(x->nargs, y->nargs);
		CU_ASSERT(memcmp(x->args, y->args, x->nargs) == 0);
		CU_ASSERT_EQUAL(x->line, y->line);
	}
	CU_ASSERT_EQUAL_FATAL(a->ncode, b->ncode);
	CU_ASSERT(memcmp(a->code, b->code, 4 * (size_t)a->ncode) == 0);
	CU_ASSERT(memcmp(a->lines, b->lines, 4 * (size_t)a->ncode) == 0);
}

static void test_round_trip(void)
{
	vm_program *p = sample();
	uint8_t *img;
	size_t n = vm_gbc_encode(p, &img);
	CU_ASSERT_FATAL(n > 24 && img != NULL);
	CU_ASSERT(vm_gbc_is_binary(img, n));
	vm_diag d;
	vm_program *q = vm_gbc_decode("sample.gbc", img, n, &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	assert_same_program(p, q);
	CU_ASSERT_EQUAL(q->binary, 1);
	CU_ASSERT_STRING_EQUAL(q->loaded_from, "sample.gbc");
	/* code_offset is where code word 0 is: check it against the bytes */
	CU_ASSERT_FATAL(q->code_offset + 4 * (uint64_t)q->ncode <= n);
	CU_ASSERT_EQUAL(img[q->code_offset], p->code[0]);
	CU_ASSERT_EQUAL(vm_verify(q, &d), 0);

	uint8_t *img2;
	size_t n2 = vm_gbc_encode(q, &img2);
	CU_ASSERT_EQUAL(n, n2);
	CU_ASSERT(n == n2 && memcmp(img, img2, n) == 0);
	CU_ASSERT_EQUAL(q->consts[0].u.i, INT64_MIN);
	CU_ASSERT(signbit(q->consts[3].u.f) && q->consts[3].u.f == 0.0);
	CU_ASSERT(isnan(q->consts[7].u.f));
	/* the externs as written */
	CU_ASSERT_EQUAL_FATAL(q->nexterns, 4);
	CU_ASSERT_STRING_EQUAL(q->externs[1].name, "odd");
	CU_ASSERT_STRING_EQUAL(q->externs[1].lib, "lib\"odd\".so.1");
	CU_ASSERT_EQUAL(q->externs[1].ret, VM_CT_PTR);
	CU_ASSERT_EQUAL(q->externs[1].nargs, 5);
	static const uint8_t odd_args[] = { VM_CT_PTR, VM_CT_INT, VM_CT_LONG, VM_CT_DOUBLE, VM_CT_STRING };
	CU_ASSERT(memcmp(q->externs[1].args, odd_args, 5) == 0);
	CU_ASSERT_EQUAL(q->externs[1].line, 3);
	CU_ASSERT_EQUAL(q->externs[2].ret, VM_CT_VOID);
	CU_ASSERT_EQUAL(q->externs[3].ret, VM_CT_STRING);
	free(img);
	free(img2);
	vm_program_free(p);
	vm_program_free(q);
}

static void test_is_binary(void)
{
	CU_ASSERT(vm_gbc_is_binary((const uint8_t *)"\x7fGBC", 4));
	CU_ASSERT(!vm_gbc_is_binary((const uint8_t *)"\x7fGB", 3));
	CU_ASSERT(!vm_gbc_is_binary((const uint8_t *)".func main\n", 11));
	CU_ASSERT(!vm_gbc_is_binary((const uint8_t *)"", 0));
}

/* ------------------------------------------------------------------ */
/* Hand-made images with exact errors                                 */
/* ------------------------------------------------------------------ */

/* An image built field by field. */
typedef struct image {
	uint8_t b[1024];
	size_t n;
} image;

static void u32(image *m, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		m->b[m->n++] = (uint8_t)(v >> (8 * i));
}

static void bytes(image *m, const char *s, size_t n)
{
	memcpy(m->b + m->n, s, n);
	m->n += n;
}

/* The image of the program "main: pushnil; ret" with a single int constant
 * 42, file "t.gasm" and one extern, `.extern abs libc int int` on line 1,
 * made by hand so the offsets in the tests below can be read off:
 *   0 header, 28 constants (16 bytes), 44 functions (40), 84 code (8),
 *   92 debug (18), 110 externs (35): 145 bytes. */
static image small_image(void)
{
	image m = { .n = 0 };
	bytes(&m, "\x7fGBC", 4);
	u32(&m, 2);                     /* 4: format version */
	u32(&m, 16);
	u32(&m, 40);
	u32(&m, 8);
	u32(&m, 18);
	u32(&m, 35);
	u32(&m, 1);                     /* 28: one constant */
	u32(&m, VK_INT);                /* 32 */
	u32(&m, 42);                    /* 36: its value, low half */
	u32(&m, 0);                     /* 40 */
	u32(&m, 1);                     /* 44: one function */
	u32(&m, 0);                     /* 48: main is function 0 */
	u32(&m, 0);                     /* 52: nparams */
	u32(&m, 0);                     /* 56: nlocals */
	u32(&m, 1);                     /* 60: maxstack */
	u32(&m, 0);                     /* 64: start */
	u32(&m, 2);                     /* 68: len */
	u32(&m, 1);                     /* 72: line */
	u32(&m, 4);                     /* 76: name length */
	bytes(&m, "main", 4);           /* 80 */
	u32(&m, OP_PUSHNIL);            /* 84: code */
	u32(&m, OP_RET);                /* 88 */
	u32(&m, 6);                     /* 92: file name length */
	bytes(&m, "t.gasm", 6);         /* 96 */
	u32(&m, 2);                     /* 102: line of word 0 */
	u32(&m, 3);                     /* 106: line of word 1 */
	u32(&m, 1);                     /* 110: one extern */
	u32(&m, 1);                     /* 114: its line */
	u32(&m, VM_CT_INT);             /* 118: return type */
	u32(&m, 1);                     /* 122: one argument */
	u32(&m, VM_CT_INT);             /* 126: its type */
	u32(&m, 3);                     /* 130: name length */
	bytes(&m, "abs", 3);            /* 134 */
	u32(&m, 4);                     /* 137: library name length */
	bytes(&m, "libc", 4);           /* 141 */
	return m;
}

static void put32_at(image *m, size_t off, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		m->b[off + i] = (uint8_t)(v >> (8 * i));
}

/* Decoding m must fail with exactly `want`. */
static void expect_error(const image *m, const char *want)
{
	vm_diag d = { .msg = "" };
	vm_program *p = vm_gbc_decode("t.gbc", m->b, m->n, &d);
	CU_ASSERT_PTR_NULL(p);
	if (strcmp(d.msg, want) != 0)
		printf("\n  got:  %s\n  want: %s\n", d.msg, want);
	CU_ASSERT_STRING_EQUAL(d.msg, want);
	vm_program_free(p);
}

static void test_small_image(void)
{
	image m = small_image();
	CU_ASSERT_EQUAL_FATAL(m.n, 145);
	vm_diag d;
	vm_program *p = vm_gbc_decode("t.gbc", m.b, m.n, &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(p->nconsts, 1);
	CU_ASSERT_EQUAL(p->consts[0].kind, VK_INT);
	CU_ASSERT_EQUAL(p->consts[0].u.i, 42);
	CU_ASSERT_STRING_EQUAL(p->funcs[0].name, "main");
	CU_ASSERT_EQUAL(p->funcs[0].maxstack, 1);
	CU_ASSERT_EQUAL(p->code_offset, 84);
	CU_ASSERT_STRING_EQUAL(p->file, "t.gasm");
	CU_ASSERT_EQUAL(p->lines[1], 3);
	CU_ASSERT_EQUAL_FATAL(p->nexterns, 1);
	CU_ASSERT_STRING_EQUAL(p->externs[0].name, "abs");
	CU_ASSERT_STRING_EQUAL(p->externs[0].lib, "libc");
	CU_ASSERT_EQUAL(p->externs[0].ret, VM_CT_INT);
	CU_ASSERT_EQUAL(p->externs[0].nargs, 1);
	CU_ASSERT_EQUAL(p->externs[0].args[0], VM_CT_INT);
	CU_ASSERT_EQUAL(p->externs[0].line, 1);
	CU_ASSERT_PTR_NULL(p->externs[0].fn); /* decoding does not resolve */
	CU_ASSERT_EQUAL(vm_verify(p, &d), 0);
	/* and our encoder writes the same bytes */
	uint8_t *img;
	size_t n = vm_gbc_encode(p, &img);
	CU_ASSERT(n == m.n && memcmp(img, m.b, n) == 0);
	free(img);
	vm_program_free(p);
}

static void test_decode_errors(void)
{
	image m = small_image();
	m.b[1] = 'X';
	expect_error(&m, "t.gbc: offset 0x0: not a .gbc file (the magic number is not 7f 47 42 43)");

	m = small_image();
	put32_at(&m, 4, 3);
	expect_error(&m, "t.gbc: offset 0x4: unsupported .gbc format version 3 (this greenvm reads version 2)");

	m = small_image();
	m.n = 20;
	expect_error(&m, "t.gbc: offset 0x14: the header section ends inside the section lengths");

	m = small_image();
	put32_at(&m, 20, 19);
	expect_error(&m, "t.gbc: offset 0x8: the section lengths add up to 118 bytes, but 117 bytes follow the header");

	m = small_image();
	put32_at(&m, 28, 3);
	expect_error(&m, "t.gbc: offset 0x1c: constant count 3 cannot fit in the 12 bytes left in the constants section");

	m = small_image();
	put32_at(&m, 32, 7);
	expect_error(&m, "t.gbc: offset 0x20: constant 0 has kind 7, which is not int (1), float (2) or string (3)");

	m = small_image();
	put32_at(&m, 32, VK_STRING);
	put32_at(&m, 36, 5);
	expect_error(&m, "t.gbc: offset 0x24: string constant 0 has length 5, more than the 4 bytes left in the constants section");

	m = small_image();
	put32_at(&m, 32, VK_STRING);
	put32_at(&m, 36, 2);
	expect_error(&m, "t.gbc: offset 0x2a: 2 bytes left over at the end of the constants section");

	m = small_image();
	put32_at(&m, 44, 2);
	expect_error(&m, "t.gbc: offset 0x2c: function count 2 cannot fit in the 32 bytes left in the functions section");

	m = small_image();
	put32_at(&m, 48, 1);
	expect_error(&m, "t.gbc: offset 0x30: main's index 1 is out of range (1 functions)");

	m = small_image();
	put32_at(&m, 76, 5);
	expect_error(&m, "t.gbc: offset 0x4c: function 0's name has length 5, more than the 4 bytes left in the functions section");

	m = small_image();
	m.b[80] = '9';
	expect_error(&m, "t.gbc: offset 0x50: function 0's name is not an identifier");

	m = small_image();
	put32_at(&m, 16, 7);
	put32_at(&m, 20, 19);
	expect_error(&m, "t.gbc: offset 0x10: code section length 7 is not a multiple of 4");

	m = small_image();
	m.n -= 8; /* the library name and its length */
	put32_at(&m, 24, 27);
	expect_error(&m, "t.gbc: offset 0x89: the externs section ends inside an extern record");

	m = small_image();
	put32_at(&m, 110, 2);
	expect_error(&m, "t.gbc: offset 0x6e: extern count 2 cannot fit in the 31 bytes left in the externs section");

	m = small_image();
	put32_at(&m, 118, 6);
	expect_error(&m, "t.gbc: offset 0x76: extern 0's return type is 6, which is not a C type (0 void to 5 string)");

	m = small_image();
	put32_at(&m, 122, 17);
	expect_error(&m, "t.gbc: offset 0x7a: extern 0 has 17 arguments; at most 16 are allowed");

	m = small_image();
	put32_at(&m, 126, VM_CT_VOID);
	expect_error(&m, "t.gbc: offset 0x7e: extern 0's argument 1 has type 0, which is not an argument type (1 int to 5 string)");

	m = small_image();
	put32_at(&m, 130, 12);
	expect_error(&m, "t.gbc: offset 0x82: extern 0's name has length 12, more than the 11 bytes left in the externs section");

	m = small_image();
	m.b[134] = '1';
	expect_error(&m, "t.gbc: offset 0x86: extern 0's name is not an identifier");

	m = small_image();
	put32_at(&m, 137, 0);
	expect_error(&m, "t.gbc: offset 0x8d: extern 0's library name is empty or holds a NUL byte");

	m = small_image();
	m.b[142] = 0;
	expect_error(&m, "t.gbc: offset 0x8d: extern 0's library name is empty or holds a NUL byte");

	m = small_image();
	put32_at(&m, 137, 3);
	expect_error(&m, "t.gbc: offset 0x90: 1 bytes left over at the end of the externs section");

	m = small_image();
	put32_at(&m, 92, 15);
	expect_error(&m, "t.gbc: offset 0x5c: file name length 15 is more than the 14 bytes left in the debug section");

	m = small_image();
	m.b[97] = 0;
	expect_error(&m, "t.gbc: offset 0x60: the file name contains a NUL byte");

	m = small_image();
	put32_at(&m, 92, 2);
	expect_error(&m, "t.gbc: offset 0x62: the debug section has 12 bytes of line numbers, want 8 (4 for each of the 2 code words)");
}

static void test_duplicate_function(void)
{
	/* two functions, both called f: the second name is the bad field */
	image m = { .n = 0 };
	bytes(&m, "\x7fGBC", 4);
	u32(&m, 2);
	u32(&m, 4);
	u32(&m, 8 + 2 * 29);
	u32(&m, 0);
	u32(&m, 6);
	u32(&m, 4);
	u32(&m, 0);
	u32(&m, 2);
	u32(&m, 0);
	for (int i = 0; i < 2; i++) {
		for (int k = 0; k < 6; k++)
			u32(&m, 0);
		u32(&m, 1);
		bytes(&m, "f", 1);
	}
	u32(&m, 2);
	bytes(&m, "xy", 2);
	u32(&m, 0); /* no externs */
	expect_error(&m, "t.gbc: offset 0x61: function f is defined twice");
}

/* ------------------------------------------------------------------ */
/* Hostile input: must fail or give a valid program, never crash       */
/* ------------------------------------------------------------------ */

/* Decode, and if that works verify, and if that works disassemble.
 * Returns 1 if the image made a valid program. */
static int survive(const uint8_t *b, size_t n)
{
	vm_diag d;
	vm_program *p = vm_gbc_decode("fuzz.gbc", b, n, &d);
	if (!p) {
		CU_ASSERT(strncmp(d.msg, "fuzz.gbc: ", 10) == 0);
		return 0;
	}
	int ok = vm_verify(p, &d) == 0;
	if (!ok)
		CU_ASSERT(strncmp(d.msg, "fuzz.gbc: ", 10) == 0);
	FILE *devnull = ok ? fopen("/dev/null", "w") : NULL;
	if (devnull) {
		vm_disasm(p, devnull);
		fclose(devnull);
	}
	vm_program_free(p);
	return ok;
}

static void test_truncated(void)
{
	vm_program *p = sample();
	uint8_t *img;
	size_t n = vm_gbc_encode(p, &img);
	int decoded = 0;
	for (size_t len = 0; len < n; len++) {
		uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees any overread */
		memcpy(copy, img, len);
		vm_diag d;
		vm_program *q = vm_gbc_decode("fuzz.gbc", copy, len, &d);
		decoded += q != NULL;
		vm_program_free(q);
		free(copy);
	}
	CU_ASSERT_EQUAL(decoded, 0); /* every strict prefix is an error */
	free(img);
	vm_program_free(p);
}

static void test_corrupted(void)
{
	vm_program *p = sample();
	uint8_t *img;
	size_t n = vm_gbc_encode(p, &img);
	uint8_t *copy = malloc(n);
	static const uint8_t flips[] = { 0x01, 0x80, 0xff };
	int verified = 0, tried = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < sizeof flips; k++) {
			memcpy(copy, img, n);
			copy[i] ^= flips[k];
			verified += survive(copy, n);
			tried++;
		}
	/* some corruptions are harmless (a line number, a constant's value),
	 * many are not: both must have happened */
	CU_ASSERT(verified > 0 && verified < tried);
	free(copy);
	free(img);
	vm_program_free(p);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next_rand(void) /* xorshift64*: fixed seed, same run every time */
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 2685821657736338717ull) >> 32);
}

static void test_random_bytes(void)
{
	vm_program *p = sample();
	uint8_t *img;
	size_t n = vm_gbc_encode(p, &img);
	for (int round = 0; round < 4000; round++) {
		size_t len = next_rand() % 300;
		uint8_t *b = malloc(len ? len : 1);
		for (size_t i = 0; i < len; i++)
			b[i] = (uint8_t)next_rand();
		/* most rounds get a valid header so decoding goes deeper; some
		 * keep a prefix of the real image and mutate the rest */
		if (round % 4 != 0 && len >= 8) {
			memcpy(b, "\x7fGBC\x02\0\0\0", 8);
			if (round % 4 == 2 && len > 28) {
				size_t keep = 28 + next_rand() % (len - 28);
				memcpy(b, img, keep < n ? keep : n);
				uint64_t rest = len - 28;
				uint32_t a = next_rand() % (uint32_t)(rest + 1);
				uint32_t c = next_rand() % (uint32_t)(rest - a + 1);
				uint32_t e = next_rand() % (uint32_t)(rest - a - c + 1);
				uint32_t x = next_rand() % (uint32_t)(rest - a - c - e + 1);
				uint32_t lens[5] = { a, c, e, x, (uint32_t)(rest - a - c - e - x) };
				for (int s = 0; s < 5; s++)
					for (int i = 0; i < 4; i++)
						b[8 + 4 * s + i] = (uint8_t)(lens[s] >> (8 * i));
			}
		}
		survive(b, len);
		free(b);
	}
	free(img);
	vm_program_free(p);
}

/* Counts that claim far more than the file holds are refused before any
 * allocation (ASan would report an allocation of this size). */
static void test_huge_counts(void)
{
	image m = small_image();
	put32_at(&m, 28, 0xffffffffu);
	expect_error(&m, "t.gbc: offset 0x1c: constant count 4294967295 cannot fit in the 12 bytes left in the constants section");
	m = small_image();
	put32_at(&m, 44, 0x10000000u);
	expect_error(&m, "t.gbc: offset 0x2c: function count 268435456 cannot fit in the 32 bytes left in the functions section");
	m = small_image();
	put32_at(&m, 8, 0xfffffff0u);
	expect_error(&m, "t.gbc: offset 0x8: the section lengths add up to 4294967381 bytes, but 117 bytes follow the header");
}

int main(void)
{
	return unit_run("gbc", NULL, NULL, (const unit_test[]){
		{"is_binary", test_is_binary},
		{"round trip", test_round_trip},
		{"hand-made image", test_small_image},
		{"decode errors", test_decode_errors},
		{"duplicate function", test_duplicate_function},
		{"huge counts", test_huge_counts},
		{"every truncation", test_truncated},
		{"every single-byte corruption", test_corrupted},
		{"random bytes", test_random_bytes},
		{NULL, NULL}});
}
