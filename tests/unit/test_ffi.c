/* test_ffi.c: FFI: resolving externs, converting every C type both ways, exact errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gc/gc.h"
#include "vm/internal.h"
#include "tests/unit/unit.h"

/* Every extern the tests call, with main only there to make a program. */
static const char decls[] =
	".extern cos libm double double\n"             /* 0 */
	".extern strlen libc long string\n"            /* 1 */
	".extern abs libc int int\n"                   /* 2 */
	".extern labs libc long long\n"                /* 3 */
	".extern atoi libc int string\n"               /* 4 */
	".extern strchr libc string string int\n"      /* 5 */
	".extern getenv libc string string\n"          /* 6 */
	".extern malloc libc ptr long\n"               /* 7 */
	".extern free libc void ptr\n"                 /* 8 */
	".extern strcpy libc ptr ptr string\n"         /* 9 */
	".extern strnlen libc long ptr long\n"         /* 10 */
	".extern ldexp libm double double int\n"       /* 11 */
	".extern strtol libc long string ptr int\n"    /* 12 */
	".extern fma libm double double double double\n" /* 13 */
	".func main\n    pushnil\n    ret\n.end\n";

enum { COS, STRLEN, ABS, LABS, ATOI, STRCHR, GETENV, MALLOC, FREE, STRCPY, STRNLEN, LDEXP, STRTOL, FMA };

static vm_program *prog;

static vm_program *load_text(const char *text, vm_diag *d)
{
	vm_program *p = vm_asm("t.gasm", text, strlen(text), d);
	if (p && (vm_verify(p, d) != 0 || vm_ffi_resolve(p, d) != 0)) {
		vm_program_free(p);
		p = NULL;
	}
	return p;
}

static int setup(void)
{
	gc_init(&(gc_config){ 0 }); /* string results live on the GC heap */
	vm_diag d;
	prog = load_text(decls, &d);
	if (!prog)
		printf("\n  %s\n", d.msg);
	return prog ? 0 : 1;
}

static int teardown(void)
{
	vm_program_free(prog);
	return 0;
}

static vm_value I(int64_t i) { return (vm_value){ .kind = VK_INT, .u.i = i }; }
static vm_value F(double f) { return (vm_value){ .kind = VK_FLOAT, .u.f = f }; }
static vm_value P(void *p) { return (vm_value){ .kind = VK_PTR, .u.p = p }; }
static vm_value NIL(void) { return (vm_value){ .kind = VK_NIL }; }
static vm_value S(const char *s) { return (vm_value){ .kind = VK_STRING, .u.s = vm_string_new(s, strlen(s)) }; }

/* Call extern e; the call must succeed.  Returns the result. */
static vm_value call(uint32_t e, const vm_value *args)
{
	vm_value r = { .kind = 99 };
	char err[200] = "";
	int rc = vm_ffi_call(prog, e, args, &r, err, sizeof err);
	if (rc != 0)
		printf("\n  %s\n", err);
	CU_ASSERT_EQUAL(rc, 0);
	return r;
}

/* Call extern e; the call must fail with exactly `want`. */
static void call_fails(uint32_t e, const vm_value *args, const char *want)
{
	vm_value r = { .kind = 99 };
	char err[200] = "";
	CU_ASSERT_EQUAL(vm_ffi_call(prog, e, args, &r, err, sizeof err), -1);
	if (strcmp(err, want) != 0)
		printf("\n  got:  %s\n  want: %s\n", err, want);
	CU_ASSERT_STRING_EQUAL(err, want);
	CU_ASSERT_EQUAL(r.kind, 99); /* nothing was called */
}

static void test_resolved(void)
{
	CU_ASSERT_EQUAL_FATAL(prog->nexterns, FMA + 1);
	for (uint32_t i = 0; i < prog->nexterns; i++) {
		CU_ASSERT_PTR_NOT_NULL(prog->externs[i].fn);
		CU_ASSERT_PTR_NOT_NULL(prog->externs[i].cif);
		CU_ASSERT_PTR_NOT_NULL(prog->externs[i].handle);
	}
	CU_ASSERT_PTR_EQUAL(prog->externs[LABS].fn, (void *)labs);
	CU_ASSERT_EQUAL(prog->externs[STRCHR].nargs, 2);
	CU_ASSERT_EQUAL(vm_op_pops(prog, OP_FFI, STRTOL), 3);
	CU_ASSERT_EQUAL(vm_op_pops(prog, OP_FFI, FMA + 1), -1);
}

static void test_numbers(void)
{
	vm_value r = call(COS, (vm_value[]){ F(0.0) });
	CU_ASSERT(r.kind == VK_FLOAT && r.u.f == 1.0);
	r = call(COS, (vm_value[]){ F(M_PI) });
	CU_ASSERT(r.kind == VK_FLOAT && r.u.f == -1.0);
	/* int: 32-bit both ways, the result's sign kept */
	r = call(ABS, (vm_value[]){ I(-7) });
	CU_ASSERT(r.kind == VK_INT && r.u.i == 7);
	r = call(ATOI, (vm_value[]){ S("-42") });
	CU_ASSERT(r.kind == VK_INT && r.u.i == -42);
	r = call(ABS, (vm_value[]){ I(INT32_MIN + 1) });
	CU_ASSERT(r.kind == VK_INT && r.u.i == INT32_MAX);
	/* long: all 64 bits */
	r = call(LABS, (vm_value[]){ I(-5000000000ll) });
	CU_ASSERT(r.kind == VK_INT && r.u.i == 5000000000ll);
	r = call(LABS, (vm_value[]){ I(INT64_MIN + 1) });
	CU_ASSERT(r.kind == VK_INT && r.u.i == INT64_MAX);
	/* mixed argument kinds in order */
	r = call(LDEXP, (vm_value[]){ F(1.5), I(4) });
	CU_ASSERT(r.kind == VK_FLOAT && r.u.f == 24.0);
	r = call(FMA, (vm_value[]){ F(2.0), F(3.0), F(0.5) });
	CU_ASSERT(r.kind == VK_FLOAT && r.u.f == 6.5);
	r = call(STRTOL, (vm_value[]){ S("ff"), NIL(), I(16) });
	CU_ASSERT(r.kind == VK_INT && r.u.i == 255);
}

static void test_strings(void)
{
	vm_value r = call(STRLEN, (vm_value[]){ S("hello") });
	CU_ASSERT(r.kind == VK_INT && r.u.i == 5);
	r = call(STRLEN, (vm_value[]){ S("") });
	CU_ASSERT(r.kind == VK_INT && r.u.i == 0);
	/* a string result is a new VM string with the C string's bytes */
	vm_value s = S("hello");
	r = call(STRCHR, (vm_value[]){ s, I('l') });
	CU_ASSERT_EQUAL_FATAL(r.kind, VK_STRING);
	CU_ASSERT_EQUAL(r.u.s->len, 3);
	CU_ASSERT_STRING_EQUAL(r.u.s->data, "llo");
	CU_ASSERT(r.u.s->data != s.u.s->data + 2); /* copied, not shared */
	/* NULL gives nil */
	r = call(STRCHR, (vm_value[]){ s, I('z') });
	CU_ASSERT_EQUAL(r.kind, VK_NIL);
	setenv("GREENVM_TEST_FFI", "value of it", 1);
	r = call(GETENV, (vm_value[]){ S("GREENVM_TEST_FFI") });
	CU_ASSERT(r.kind == VK_STRING && r.u.s->len == 11 && strcmp(r.u.s->data, "value of it") == 0);
	r = call(GETENV, (vm_value[]){ S("GREENVM_TEST_FFI_UNSET") });
	CU_ASSERT_EQUAL(r.kind, VK_NIL);
}

static void test_pointers(void)
{
	vm_value buf = call(MALLOC, (vm_value[]){ I(64) });
	CU_ASSERT_EQUAL_FATAL(buf.kind, VK_PTR);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf.u.p);
	/* the pointer goes back to C unchanged */
	vm_value r = call(STRCPY, (vm_value[]){ buf, S("abc") });
	CU_ASSERT(r.kind == VK_PTR && r.u.p == buf.u.p);
	CU_ASSERT_STRING_EQUAL((char *)buf.u.p, "abc");
	r = call(STRNLEN, (vm_value[]){ buf, I(64) });
	CU_ASSERT(r.kind == VK_INT && r.u.i == 3);
	/* void gives nil; nil passes NULL (free(NULL) is fine) */
	r = call(FREE, (vm_value[]){ buf });
	CU_ASSERT_EQUAL(r.kind, VK_NIL);
	r = call(FREE, (vm_value[]){ NIL() });
	CU_ASSERT_EQUAL(r.kind, VK_NIL);
}

static void test_argument_errors(void)
{
	call_fails(COS, (vm_value[]){ I(1) }, "ffi cos: argument 1: double expected, got int");
	call_fails(LDEXP, (vm_value[]){ F(1), F(2) }, "ffi ldexp: argument 2: int expected, got float");
	call_fails(ABS, (vm_value[]){ I(1ll << 31) }, "ffi abs: argument 1: 2147483648 does not fit a C int");
	call_fails(ABS, (vm_value[]){ I(-(1ll << 31) - 1) },
		   "ffi abs: argument 1: -2147483649 does not fit a C int");
	call_fails(LABS, (vm_value[]){ NIL() }, "ffi labs: argument 1: long expected, got nil");
	call_fails(FREE, (vm_value[]){ I(0) }, "ffi free: argument 1: ptr expected, got int");
	call_fails(STRLEN, (vm_value[]){ NIL() }, "ffi strlen: argument 1: string expected, got nil");
	call_fails(STRLEN, (vm_value[]){ P(NULL) }, "ffi strlen: argument 1: string expected, got pointer");
	vm_value nul = { .kind = VK_STRING, .u.s = vm_string_new("a\0b", 3) };
	call_fails(STRLEN, (vm_value[]){ nul }, "ffi strlen: argument 1: the string holds a NUL byte");
	call_fails(STRTOL, (vm_value[]){ S("1"), NIL(), F(10) },
		   "ffi strtol: argument 3: int expected, got float");
}

/* The two halves the interpreter uses: prepare converts without calling,
 * and a string argument is the string's own bytes. */
static void test_prepare_invoke(void)
{
	vm_value args[2] = { S("hello"), I('e') };
	vm_ffi_frame fr;
	char err[200];
	CU_ASSERT_EQUAL_FATAL(vm_ffi_prepare(prog, STRCHR, args, &fr, err, sizeof err), 0);
	CU_ASSERT_PTR_EQUAL(fr.ext, &prog->externs[STRCHR]);
	CU_ASSERT_PTR_EQUAL(fr.args[0].s, args[0].u.s->data);
	CU_ASSERT_EQUAL(fr.args[1].i, 'e');
	CU_ASSERT_PTR_EQUAL(fr.argp[0], &fr.args[0]);
	CU_ASSERT_PTR_EQUAL(fr.argp[1], &fr.args[1]);
	vm_value r;
	vm_ffi_invoke(&fr, &r);
	CU_ASSERT(r.kind == VK_STRING && strcmp(r.u.s->data, "ello") == 0);
	/* an invoke may be repeated from the same frame */
	vm_ffi_invoke(&fr, &r);
	CU_ASSERT(r.kind == VK_STRING && strcmp(r.u.s->data, "ello") == 0);
}

/* Resolution errors name the .extern: its line in text, the file for a .gbc. */
static void test_resolve_errors(void)
{
	vm_diag d = { .msg = "" };
	CU_ASSERT_PTR_NULL(load_text("\n.extern cos libm double double\n"
				     ".extern greenvm_nope libm double double\n"
				     ".func main\n    pushnil\n    ret\n.end\n", &d));
	CU_ASSERT_STRING_EQUAL(d.msg, "t.gasm:3: extern greenvm_nope: unknown symbol in libm");

	/* the same program as a .gbc */
	const char *text = ".extern getpid libc int\n.extern greenvm_nope libc int\n"
			   ".func main\n    ffi getpid\n    ret\n.end\n";
	vm_program *p = vm_asm("t.gasm", text, strlen(text), &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	uint8_t *img;
	size_t n = vm_gbc_encode(p, &img);
	vm_program_free(p);
	p = vm_gbc_decode("t.gbc", img, n, &d);
	free(img);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(vm_verify(p, &d), 0);
	CU_ASSERT_EQUAL(vm_ffi_resolve(p, &d), -1);
	CU_ASSERT_STRING_EQUAL(d.msg, "t.gbc: extern greenvm_nope: unknown symbol in libc");
	/* the extern before it did resolve, and freeing releases it */
	CU_ASSERT_PTR_NOT_NULL(p->externs[0].fn);
	vm_program_free(p);

	CU_ASSERT_PTR_NULL(load_text(".extern f \"/nonexistent/libgreenvm.so\" void\n"
				     ".func main\n    pushnil\n    ret\n.end\n", &d));
	CU_ASSERT_STRING_EQUAL(d.msg, "t.gasm:1: extern f: cannot open library '/nonexistent/libgreenvm.so': "
				      "/nonexistent/libgreenvm.so: cannot open shared object file: No such file or directory");
}

int main(void)
{
	return unit_run("ffi", setup, teardown, (const unit_test[]){
		{"externs resolve", test_resolved},
		{"int, long and double both ways", test_numbers},
		{"strings both ways, NULL is nil", test_strings},
		{"pointers and void", test_pointers},
		{"argument errors", test_argument_errors},
		{"prepare and invoke", test_prepare_invoke},
		{"resolution errors", test_resolve_errors},
		{NULL, NULL}});
}
