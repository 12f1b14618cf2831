/* test_verify.c: the verifier and loader: tests/bad/ with exact messages, good programs, hostile input. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm.h"
#include "gc/common.h"
#include "tests/unit/unit.h"

#define BAD_DIR "tests/bad"

static vm_program *assemble(const char *text, vm_diag *d)
{
	vm_program *p = vm_asm("t.gasm", text, strlen(text), d);
	if (p && vm_verify(p, d) != 0) {
		vm_program_free(p);
		p = NULL;
	}
	return p;
}

/* ------------------------------------------------------------------ */
/* tests/bad: every NAME.gasm and NAME.gbc.hex, with NAME.expect       */
/* ------------------------------------------------------------------ */

/* Hex bytes, '#' comments to the end of the line. */
static uint8_t *unhex(const char *text, size_t *len)
{
	uint8_t *out = malloc(strlen(text) / 2 + 1);
	size_t n = 0;
	for (const char *s = text; *s;) {
		if (*s == '#') {
			while (*s && *s != '\n')
				s++;
		} else if (*s == ' ' || *s == '\n' || *s == '\t') {
			s++;
		} else {
			unsigned v;
			int used;
			CU_ASSERT_FATAL(sscanf(s, "%2x%n", &v, &used) == 1 && used == 2);
			out[n++] = (uint8_t)v;
			s += 2;
		}
	}
	*len = n;
	return out;
}

/* The message loading tests/bad/NAME gives. */
static void load_bad(const char *name, vm_diag *d)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", BAD_DIR, name);
	size_t nl = strlen(name);
	vm_program *p;
	if (nl > 8 && strcmp(name + nl - 8, ".gbc.hex") == 0) {
		/* decode as if the bytes were the file NAME.gbc */
		size_t n;
		char *hex = slurp_file(path, NULL);
		CU_ASSERT_PTR_NOT_NULL_FATAL(hex);
		uint8_t *img = unhex(hex, &n);
		path[strlen(path) - 4] = 0;
		p = vm_gbc_decode(path, img, n, d);
		if (p && vm_verify(p, d) != 0) {
			vm_program_free(p);
			p = NULL;
		}
		free(img);
		free(hex);
	} else {
		p = vm_load(path, d);
	}
	CU_ASSERT_PTR_NULL(p);
	vm_program_free(p);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_bad_programs(void)
{
	DIR *dir = opendir(BAD_DIR);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
	char *names[256];
	int n = 0;
	struct dirent *e;
	while ((e = readdir(dir)) && n < 256) {
		size_t l = strlen(e->d_name);
		if ((l > 5 && strcmp(e->d_name + l - 5, ".gasm") == 0) ||
		    (l > 8 && strcmp(e->d_name + l - 8, ".gbc.hex") == 0))
			names[n++] = strdup(e->d_name);
	}
	closedir(dir);
	qsort(names, (size_t)n, sizeof *names, by_name);
	CU_ASSERT(n >= 20);
	for (int i = 0; i < n; i++) {
		char path[512];
		char *dot = strchr(names[i], '.');
		snprintf(path, sizeof path, "%s/%.*s.expect", BAD_DIR, (int)(dot - names[i]), names[i]);
		char *want = slurp_file(path, NULL);
		vm_diag d = { .msg = "" };
		load_bad(names[i], &d);
		if (want) {
			want[strcspn(want, "\n")] = 0; /* the file's trailing newline */
			if (strcmp(want, d.msg) != 0)
				printf("\n  %s\n    got:  %s\n    want: %s\n", names[i], d.msg, want);
			CU_ASSERT_STRING_EQUAL(d.msg, want);
		} else {
			printf("\n  %s has no .expect; it gives: %s\n", names[i], d.msg);
			CU_FAIL("missing .expect file");
		}
		free(want);
		free(names[i]);
	}
}

/* ------------------------------------------------------------------ */
/* Good programs and computed maxstack                                 */
/* ------------------------------------------------------------------ */

static void test_maxstack_computed(void)
{
	vm_diag d;
	vm_program *p = assemble(".func main\n"
				 "    pushi 1\n    pushi 2\n    pushi 3\n    add\n    add\n"
				 "    call f\n    ret\n.end\n"
				 ".func f a\n    .local b c\n    load a\n    ret\n.end\n",
				 &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(p->funcs[0].maxstack, 3);
	CU_ASSERT_EQUAL(p->funcs[1].maxstack, 1);
	CU_ASSERT_EQUAL(vm_frame_slots(&p->funcs[1]), 3 + 1 + 1);
	vm_program_free(p);
}

/* Loops, both branch kinds, a join where depths agree, unreachable code. */
static void test_good_control_flow(void)
{
	vm_diag d;
	vm_program *p = assemble(".func main\n    .local i\n"
				 "loop:\n    inc i\n    load i\n    pushi 100\n    lt\n    jnz loop\n"
				 "    load i\n    jz zero\n    pushi 1\n    jmp join\n"
				 "zero:\n    pushi 2\n"
				 "join:\n    exit\n"
				 "    pop\n    pop\n" /* unreachable: never checked for depth */
				 ".end\n",
				 &d);
	if (!p)
		printf("\n  %s\n", d.msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(p->funcs[0].maxstack, 2);
	vm_program_free(p);
}

static void test_declared_maxstack_kept(void)
{
	vm_diag d;
	vm_program *p = assemble(".func main\n    pushi 1\n    ret\n.end\n", &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	p->funcs[0].maxstack = 7; /* declared larger than needed: allowed, kept */
	CU_ASSERT_EQUAL(vm_verify(p, &d), 0);
	CU_ASSERT_EQUAL(p->funcs[0].maxstack, 7);
	p->funcs[0].maxstack = 0;
	CU_ASSERT_NOT_EQUAL(vm_verify(p, &d), 0);
	CU_ASSERT_STRING_EQUAL(d.msg, "t.gasm:2: in function main: the operand stack reaches 1 slots, "
				      "more than the declared maxstack 0");
	vm_program_free(p);
}

static void test_frame_caps(void)
{
	vm_diag d;
	vm_program *p = assemble(".func main\n    pushi 1\n    ret\n.end\n", &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	p->funcs[0].nlocals = (1u << 20) + 1;
	CU_ASSERT_NOT_EQUAL(vm_verify(p, &d), 0);
	CU_ASSERT_STRING_EQUAL(d.msg, "t.gasm:1: in function main: has 1048577 locals; a frame may have at most 1048576 (1<<20)");
	p->funcs[0].nlocals = 0;
	p->funcs[0].maxstack = UINT32_MAX - 1;
	CU_ASSERT_NOT_EQUAL(vm_verify(p, &d), 0);
	CU_ASSERT_STRING_EQUAL(d.msg, "t.gasm:1: in function main: declares maxstack 4294967294; the operand "
				      "stack may have at most 1048576 slots (1<<20)");
	vm_program_free(p);
}

/* 200,000 instructions: 66,666 nested "if"s, each jumping forward past all
 * the inner ones, then a loop back to the start; a recursive verifier would
 * need a C frame per level. */
static void test_large_function(void)
{
	enum { LEVELS = 66666 };
	vm_program *p = calloc(1, sizeof *p);
	p->file = strdup("big.gasm");
	p->funcs = calloc(1, sizeof *p->funcs);
	p->nfuncs = 1;
	p->funcs[0] = (vm_function){ .name = strdup("main"), .nlocals = 1, .maxstack = UINT32_MAX };
	uint32_t cap = LEVELS * 5 + 16, n = 0;
	p->code = malloc(cap * sizeof *p->code);
	for (uint32_t k = 0; k < LEVELS; k++) {
		p->code[n++] = OP_LOAD;
		p->code[n++] = 0;
		p->code[n++] = OP_JZ;
		p->code[n++] = 4 * LEVELS + (LEVELS - 1 - k); /* the k-th nop from the end */
	}
	for (uint32_t k = 0; k < LEVELS; k++)
		p->code[n++] = OP_NOP;
	p->code[n++] = OP_INC;
	p->code[n++] = 0;
	p->code[n++] = OP_LOAD;
	p->code[n++] = 0;
	p->code[n++] = OP_JNZ;
	p->code[n++] = 0;
	p->code[n++] = OP_PUSHNIL;
	p->code[n++] = OP_RET;
	p->ncode = p->funcs[0].len = n;
	p->lines = calloc(n, sizeof *p->lines);
	vm_diag d;
	int rc = vm_verify(p, &d);
	if (rc)
		printf("\n  %s\n", d.msg);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(p->funcs[0].maxstack, 1);

	/* the same with one jump retargeted onto an operand word: found */
	p->code[4 * 1000 + 3] = 4 * 500 + 1;
	p->funcs[0].maxstack = UINT32_MAX;
	CU_ASSERT_NOT_EQUAL(vm_verify(p, &d), 0);
	CU_ASSERT_STRING_EQUAL(d.msg, "big.gasm:0: in function main: the jump target, line 0, is not an "
				      "instruction: it is the operand word of load at line 0");
	vm_program_free(p);
}

/* ------------------------------------------------------------------ */
/* Hostile text: fail with a message or give a valid program           */
/* ------------------------------------------------------------------ */

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t next_rand(void) /* xorshift64*: fixed seed */
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 2685821657736338717ull) >> 32);
}

static int survive_text(const char *text, size_t len)
{
	vm_diag d = { .msg = "" };
	vm_program *p = vm_asm("fuzz.gasm", text, len, &d);
	int ok = p && vm_verify(p, &d) == 0;
	if (!ok)
		CU_ASSERT(strncmp(d.msg, "fuzz.gasm", 9) == 0);
	if (ok) { /* a valid program also survives the binary round trip */
		uint8_t *img;
		size_t n = vm_gbc_encode(p, &img);
		vm_program *q = vm_gbc_decode("fuzz.gbc", img, n, &d);
		CU_ASSERT(q && vm_verify(q, &d) == 0);
		vm_program_free(q);
		free(img);
	}
	vm_program_free(p);
	return ok;
}

static void test_random_text(void)
{
	/* raw bytes */
	for (int round = 0; round < 2000; round++) {
		size_t len = next_rand() % 200;
		char *b = malloc(len ? len : 1);
		for (size_t i = 0; i < len; i++)
			b[i] = (char)next_rand();
		survive_text(b, len);
		free(b);
	}
	/* plausible programs: random lines from the language's own pieces */
	static const char *const piece[] = {
		"    pushi 1\n", "    pushi -3\n", "    add\n", "    pop\n", "    dup\n", "    swap\n",
		"    load x\n", "    store x\n", "    load 0\n", "    inc x\n", "    jz a\n", "    jnz b\n",
		"    jmp a\n", "a:\n", "b:\n", "    ret\n", "    exit\n", "    call main\n", "    call g\n",
		"    const \"s\\x41\"\n", "    const 2.5\n", "    sconcat\n", "    println\n",
		"    .local x\n", ".end\n", ".func g x\n", ".func main\n", ".line 9\n", "    pushnil\n",
		"    const \"open\n", "    bogus\n", "    newarray\n", "    aget\n",
	};
	int valid = 0;
	for (int round = 0; round < 3000; round++) {
		char text[2048] = ".func main\n    .local x\n";
		int lines = (int)(next_rand() % 24);
		for (int i = 0; i < lines; i++)
			strcat(text, piece[next_rand() % (sizeof piece / sizeof *piece)]);
		if (next_rand() % 2)
			strcat(text, "    pushnil\n    ret\n.end\n");
		valid += survive_text(text, strlen(text));
	}
	CU_ASSERT(valid > 0); /* the generator does reach valid programs */
}

/* Random code words in a well-formed frame: the verifier must refuse or
 * accept without crashing, and accept only code it can vouch for. */
static void test_random_code(void)
{
	static const uint32_t ops[] = { OP_PUSHI, OP_POP, OP_DUP, OP_ADD, OP_JMP, OP_JZ, OP_RET,
					OP_CALL, OP_LOAD, OP_CONST, OP_EXIT, OP_NOP, 0x17, 0x1ff };
	for (int round = 0; round < 3000; round++) {
		vm_program *p = calloc(1, sizeof *p);
		p->file = strdup("r.gasm");
		p->nfuncs = 1;
		p->funcs = calloc(1, sizeof *p->funcs);
		uint32_t n = 1 + next_rand() % 24;
		p->funcs[0] = (vm_function){ .name = strdup("main"), .nlocals = 2, .maxstack = UINT32_MAX,
					     .len = n };
		p->ncode = n;
		p->code = malloc(n * sizeof *p->code);
		p->lines = calloc(n, sizeof *p->lines);
		for (uint32_t i = 0; i < n; i++)
			p->code[i] = next_rand() % 3 ? ops[next_rand() % (sizeof ops / sizeof *ops)]
						     : next_rand() % 6;
		vm_diag d;
		if (vm_verify(p, &d) == 0) /* no instruction adds more than one value */
			CU_ASSERT(p->funcs[0].maxstack <= n);
		vm_program_free(p);
	}
}

int main(void)
{
	return unit_run("verify", NULL, NULL, (const unit_test[]){
		{"tests/bad: exact messages", test_bad_programs},
		{"maxstack computed", test_maxstack_computed},
		{"good control flow", test_good_control_flow},
		{"declared maxstack", test_declared_maxstack_kept},
		{"frame caps", test_frame_caps},
		{"200,000-instruction function", test_large_function},
		{"random text", test_random_text},
		{"random code", test_random_code},
		{NULL, NULL}});
}
