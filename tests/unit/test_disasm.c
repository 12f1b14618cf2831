/* test_disasm.c: asm -> gbc -> disasm -> asm gives the same .gbc bytes; the comments are right. */
#include <glob.h>
#include <stdlib.h>
#include <string.h>

#include "vm/vm.h"
#include "tests/unit/unit.h"

/* Disassemble p into a malloc'd string. */
static char *disasm_text(const vm_program *p, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	vm_disasm(p, f);
	fclose(f);
	return buf;
}

/* p (verified) must survive encode, decode, disasm, asm, verify, encode
 * with identical bytes.  Returns the disassembly for further checks. */
static char *round_trip(vm_program *p, const char *what)
{
	uint8_t *a, *b;
	size_t na = vm_gbc_encode(p, &a);
	vm_diag d;
	vm_program *q = vm_gbc_decode("x.gbc", a, na, &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(q);
	size_t tl;
	char *text = disasm_text(q, &tl);
	vm_program *r = vm_asm("x.dis.gasm", text, tl, &d);
	if (!r || vm_verify(r, &d) != 0) {
		printf("\n  %s: the disassembly does not assemble: %s\n%s\n", what, d.msg, text);
		CU_FAIL("disassembly does not assemble");
		vm_program_free(r);
		vm_program_free(q);
		free(a);
		return text;
	}
	size_t nb = vm_gbc_encode(r, &b);
	if (na != nb || memcmp(a, b, na) != 0)
		printf("\n  %s: the round trip changed the bytes\n%s\n", what, text);
	CU_ASSERT(na == nb && memcmp(a, b, na) == 0);
	free(a);
	free(b);
	vm_program_free(q);
	vm_program_free(r);
	return text;
}

static void test_programs_dir(void)
{
	glob_t g;
	CU_ASSERT_EQUAL_FATAL(glob("programs/*.gasm", 0, NULL, &g), 0);
	CU_ASSERT(g.gl_pathc >= 1);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		vm_diag d;
		vm_program *p = vm_load(g.gl_pathv[i], &d);
		if (!p)
			printf("\n  %s\n", d.msg);
		CU_ASSERT_PTR_NOT_NULL(p);
		if (p)
			free(round_trip(p, g.gl_pathv[i]));
		vm_program_free(p);
	}
	globfree(&g);
}

static vm_program *assemble(const char *text)
{
	vm_diag d;
	vm_program *p = vm_asm("t.gasm", text, strlen(text), &d);
	if (p && vm_verify(p, &d) != 0) {
		vm_program_free(p);
		p = NULL;
	}
	if (!p)
		printf("\n  %s\n", d.msg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	return p;
}

/* Every operand kind, every constant kind, awkward strings and floats,
 * more than eight locals, labels at 0 and at the end, .line jumps. */
static const char *const written[] = {
	".func main\n"
	"    .local a b c d e f g h i j k\n"
	"    const \"\\x00\\x01\\n\\t\\r\\\\\\\"\\xff~ \"\n"
	"    const -9223372036854775808\n"
	"    const 0.1\n"
	"    const -0.0\n"
	"    const 1e300\n"
	"    const 5e-324\n"
	"    const inf\n"
	"    const -inf\n"
	"    const 123456789.125\n"
	"    pop\n    pop\n    pop\n    pop\n    pop\n    pop\n    pop\n    pop\n"
	"    store k\n"
	"    pushi -2147483648\n"
	"    store 3\n"
	".line 77\n"
	"    call two\n"
	"    pop\n"
	".line 3\n"
	"    pushnil\n"
	"    ret\n"
	".end\n"
	".func two\n"
	"start:\n"
	"    pushi 1\n"
	"    jz done\n"
	"    jmp start\n"
	"done:\n"
	"    pushi 2\n"
	"    ret\n"
	".end\n",

	".file \"elsewhere/orig.gasm\"\n"
	".extern labs libc long long\n"
	"; externs may be declared between functions and used before they are\n"
	".func helper x y z\n"
	"    load z\n    load y\n    load x\n    add\n    add\n    ret\n"
	".end\n"
	".func main\n"
	"    pushi 1\n    pushi 2\n    pushi 3\n    call helper\n"
	"    ffi labs\n    ffi sqrt\n    pop\n"
	"    const \"done\"\n    ffi puts\n    pop\n"
	"    pushnil\n    ffi free\n    pop\n"
	"    pushi 0\n    exit\n"
	".end\n"
	".extern sqrt libm double double\n"
	".line 40\n"
	".extern free libc void ptr\n"
	".extern puts \"libc.so.6\" int string\n",
};

static void test_written_programs(void)
{
	for (size_t i = 0; i < sizeof written / sizeof *written; i++) {
		vm_program *p = assemble(written[i]);
		char what[32];
		snprintf(what, sizeof what, "written[%zu]", i);
		free(round_trip(p, what));
		vm_program_free(p);
	}
}

/* Line 0, "no line": a .gbc made from a program without line numbers holds
 * it for every instruction, function and extern, and `.line 0` carries it
 * across (found by the gbc fuzz target: the disassembly did not assemble). */
static void test_line_zero(void)
{
	for (size_t i = 0; i < sizeof written / sizeof *written; i++) {
		vm_program *p = assemble(written[i]);
		for (uint32_t k = 0; k < p->ncode; k++)
			p->lines[k] = 0;
		for (uint32_t k = 0; k < p->nfuncs; k++)
			p->funcs[k].line = 0;
		for (uint32_t k = 0; k < p->nexterns; k++)
			p->externs[k].line = 0;
		char what[32];
		snprintf(what, sizeof what, "written[%zu], line 0", i);
		char *text = round_trip(p, what);
		CU_ASSERT_PTR_NOT_NULL(strstr(text, "\n.line 0\n.func main"));
		free(text);
		vm_program_free(p);
	}
}

/* The comments: frame sizes, pc and line of every instruction. */
static void test_comments(void)
{
	vm_program *p = assemble(".func main\n"
				 "    call f\n"
				 "    ret\n"
				 ".end\n"
				 ".func f\n"
				 "    .local a b\n"
				 "    pushi 1\n"
				 "    pushi 2\n"
				 "    add\n"
				 "    ret\n"
				 ".end\n");
	size_t n;
	char *text = disasm_text(p, &n);
	/* f: 2 locals + 1 frame record + 2 operand slots = 5 slots of 16 bytes */
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "; frame: 2 locals + 1 frame record + 2 operand slots = 5 slots = 80 bytes\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "; frame: 0 locals + 1 frame record + 1 operand slot = 2 slots = 32 bytes\n"));
	/* f starts at pc 3 (call is 2 words, ret 1); add is at pc 7, line 9 */
	const char *add = strstr(text, "    add ");
	CU_ASSERT_PTR_NOT_NULL_FATAL(add);
	const char *eol = strchr(add, '\n');
	CU_ASSERT(eol && strstr(add, "; pc 7, line 9\n") == eol - strlen("; pc 7, line 9"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, ".file \"t.gasm\"\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, ".func f\n    .local l0 l1\n"));
	free(text);
	vm_program_free(p);

	/* externs: one .extern each with its line, before the functions */
	p = assemble("\n.extern strlen libc long string\n"
		     ".extern f \"lib f.so\" void ptr int long double string\n"
		     ".func main\n    const \"x\"\n    ffi strlen\n    ret\n.end\n");
	text = disasm_text(p, &n);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, ".line 2\n.extern strlen libc long string\n"
					    ".line 3\n.extern f \"lib f.so\" void ptr int long double string\n"));
	CU_ASSERT(strstr(text, ".extern f") < strstr(text, ".func main"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "    ffi      strlen "));
	free(text);
	vm_program_free(p);
}

int main(void)
{
	return unit_run("disasm", NULL, NULL, (const unit_test[]){
		{"programs/*.gasm round trip", test_programs_dir},
		{"written programs round trip", test_written_programs},
		{"line 0 round trips", test_line_zero},
		{"frame and pc comments", test_comments},
		{NULL, NULL}});
}
