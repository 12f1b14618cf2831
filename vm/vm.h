/* vm.h: the public interface of greenvm's bytecode machine (vm/).
 *
 * A program goes through four steps, each in its own file:
 *
 *   text (.gasm) --asm.c--> vm_program <--gbc.c--> binary (.gbc)
 *                               |
 *                          verify.c      checks every function before it runs
 *                               |
 *                          interp.c      runs it; disasm.c prints it
 *
 * One opcode table (opcodes.h) drives all of them.  Names here carry the
 * prefix vm_; everything not declared here is internal to vm/.
 */
#ifndef GREENVM_VM_H
#define GREENVM_VM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define GREENVM_VERSION "0.1.0"

/* ------------------------------------------------------------------ */
/* Opcodes                                                            */
/* ------------------------------------------------------------------ */

/* Operand kinds.  An instruction is one word (the opcode) plus one operand
 * word when its kind is not OPND_NONE. */
enum vm_operand_kind {
	OPND_NONE,  /* no operand word */
	OPND_IMM,   /* signed 32-bit immediate */
	OPND_CONST, /* index into the program's constant pool */
	OPND_LOCAL, /* index of a local slot of the current function */
	OPND_FUNC,  /* index of a function of the program */
	OPND_LABEL, /* jump target: word offset from the start of the function */
	OPND_EXTERN, /* index into the program's extern table (FFI) */
};

enum { OPF_TERM = 1, OPF_BRANCH = 2 };
#define VAR (-1) /* stack effect that depends on the operand (see opcodes.h) */

enum vm_opcode {
#define OP(name, code, mnem, opnd, pops, pushes, flags, doc) OP_##name = code,
#include "opcodes.h"
#undef OP
	OP__LIMIT = 256 /* opcode numbers are 0..255 */
};

/* What the table says of one opcode; NULL mnemonic = unassigned number. */
typedef struct vm_opinfo {
	const char *mnemonic; /* the assembly name, NULL if the code is unused */
	uint8_t operand;      /* enum vm_operand_kind */
	int8_t pops;          /* values popped, or VAR */
	int8_t pushes;        /* values pushed, or VAR */
	uint8_t flags;        /* OPF_* */
	const char *doc;      /* one line for docs/assembly.md and --help */
} vm_opinfo;

/* vm_ops[code] for every code 0..255. */
extern const vm_opinfo vm_ops[OP__LIMIT];

/* The opcode whose mnemonic is `name` (length n), or -1. */
int vm_op_lookup(const char *name, size_t n);

struct vm_program;

/* Most cases one select may have (the scheduler's limit too). */
#define VM_SELECT_MAX 64

/* Values an instruction pops, given its operand: the table's pops, or for
 * VAR, call's and go's callee parameters, select's 3 per case and ffi's
 * C arguments.  -1 if the operand is out of range for that (a bad function
 * or extern index, or more select cases than VM_SELECT_MAX). */
int vm_op_pops(const struct vm_program *p, uint32_t op, uint32_t operand);

/* Words one instruction takes: 1, or 2 with an operand. */
static inline uint32_t vm_op_width(uint32_t op)
{
	return vm_ops[op & 0xff].operand == OPND_NONE ? 1 : 2;
}

/* ------------------------------------------------------------------ */
/* Values                                                             */
/* ------------------------------------------------------------------ */

/* Value kinds.  The numbers are part of the binary format for constants. */
enum vm_kind {
	VK_NIL = 0,
	VK_INT = 1,    /* int64_t */
	VK_FLOAT = 2,  /* double */
	VK_STRING = 3, /* vm_string*, immutable */
	VK_ARRAY = 4,  /* vm_array*, mutable, fixed length */
	VK_CHAN = 5,   /* sched_chan* (scheduler/) */
	VK_MUTEX = 6,  /* sched_mutex* */
	VK_WAITGROUP = 7, /* sched_waitgroup* */
	VK_PTR = 8,    /* a C pointer returned by an FFI call */
	/* 9..15 reserved */
	VK_FRAME = 16, /* internal: a call frame's saved registers, never a program value */
};

typedef struct vm_string {
	/* length in bytes; data[len] is a NUL so C code can print it */
	uint64_t len;
	char data[];
} vm_string;

typedef struct vm_array vm_array;

typedef struct vm_value {
	/* enum vm_kind */
	uint32_t kind;
	/* VK_FRAME: caller's function index; otherwise unused (0) */
	uint32_t aux;
	union {
		int64_t i;
		double f;
		vm_string *s;
		vm_array *a;
		void *p;
	} u;
} vm_value;

struct vm_array {
	/* number of elements, fixed at creation */
	uint64_t len;
	/* the elements, allocated with the header */
	vm_value items[];
};

/* Short name of a kind ("int", "string", ...) for messages. */
const char *vm_kind_name(uint32_t kind);

/* ------------------------------------------------------------------ */
/* Programs                                                           */
/* ------------------------------------------------------------------ */

typedef struct vm_function {
	/* name, NUL-terminated, unique in the program */
	char *name;
	/* parameters: they arrive in locals 0 .. nparams-1 */
	uint32_t nparams;
	/* all locals, parameters included (nlocals >= nparams) */
	uint32_t nlocals;
	/* deepest operand stack on any path; UINT32_MAX until the verifier
	 * computes it for a text program (a .gbc declares it, and the verifier
	 * checks the code never goes deeper) */
	uint32_t maxstack;
	/* first code word of the function in vm_program.code */
	uint32_t start;
	/* code words of the function */
	uint32_t len;
	/* source line of the function's header */
	uint32_t line;
} vm_function;

/* C types of an FFI signature.  The numbers are part of the binary format. */
enum vm_ctype {
	VM_CT_VOID = 0,   /* return type only: the result is nil */
	VM_CT_INT = 1,    /* C int (32 bits) <-> int */
	VM_CT_LONG = 2,   /* int64_t <-> int */
	VM_CT_DOUBLE = 3, /* double <-> float */
	VM_CT_PTR = 4,    /* void * <-> pointer (nil passes NULL) */
	VM_CT_STRING = 5, /* const char *: from a string; a result is copied
			   * into a new string, NULL gives nil */
	VM_CT__COUNT
};

/* Most arguments an extern may take. */
#define VM_EXTERN_MAXARGS 16

/* Name of a C type as .extern writes it ("int", "double", ...), or NULL. */
const char *vm_ctype_name(uint32_t t);

/* One `.extern NAME LIB RET ARG...`: a C function the program calls with
 * `ffi NAME`.  Everything but the last three fields is what a .gbc keeps;
 * vm_ffi_resolve (ffi.c) fills those when the program is loaded. */
typedef struct vm_extern {
	/* the C symbol, an identifier unique among the program's externs */
	char *name;
	/* "libc", "libm", or a shared library's file name (non-empty, no NUL) */
	char *lib;
	/* enum vm_ctype of the result, and of each argument (never void) */
	uint8_t ret;
	uint8_t nargs; /* <= VM_EXTERN_MAXARGS */
	uint8_t args[VM_EXTERN_MAXARGS];
	/* source line of the .extern */
	uint32_t line;
	/* the library's dlopen handle and the function's address: NULL until
	 * resolved */
	void *handle;
	void *fn;
	/* the prepared libffi call interface (an ffi_cif, malloc'd; opaque
	 * here so that vm.h does not need ffi.h): NULL until resolved */
	void *cif;
} vm_extern;

/* A label of the source: the code word it names, and its name. */
typedef struct vm_label {
	uint32_t word; /* code word of the instruction it names */
	char *name;    /* as written in the .gasm, owned */
} vm_label;

typedef struct vm_program {
	/* source file name for debug info (the .gasm the code came from) */
	char *file;
	/* the file the program was loaded from, for diagnostics */
	char *loaded_from;
	/* nonzero if loaded from a .gbc: diagnostics give byte offsets */
	int binary;
	/* byte offset of code word 0 in the .gbc (binary programs only) */
	uint64_t code_offset;

	/* constant pool: VK_INT, VK_FLOAT or VK_STRING values */
	vm_value *consts;
	uint32_t nconsts;

	vm_function *funcs;
	uint32_t nfuncs;
	/* index of "main", where execution begins (it takes no parameters) */
	uint32_t main_fn;

	/* all functions' instructions, one after another */
	uint32_t *code;
	uint32_t ncode;
	/* lines[i]: source line of the instruction that code word i belongs to */
	uint32_t *lines;

	/* C functions the program calls through ffi, in declaration order */
	vm_extern *externs;
	uint32_t nexterns;

	/* the labels of a text program, for diagnostics, ordered by code word
	 * (none in a .gbc: the format keeps no names of labels) */
	vm_label *labels;
	uint32_t nlabels;
} vm_program;

/* Slots a frame of f needs on the VM stack: locals, the frame record, and
 * the operand stack. */
static inline uint64_t vm_frame_slots(const vm_function *f)
{
	return (uint64_t)f->nlocals + 1 + f->maxstack;
}

/* A diagnostic: "FILE:LINE: message" for text, "FILE: offset 0x...: message"
 * for binary input, or "FILE: message" when neither applies. */
typedef struct vm_diag {
	char msg[512];
} vm_diag;

/* Fill d with a message about text line `line` of `file` (printf-style). */
void vm_diag_line(vm_diag *d, const char *file, uint32_t line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Fill d with a message about byte offset `off` of `file`. */
void vm_diag_offset(vm_diag *d, const char *file, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Fill d with a message about the whole file. */
void vm_diag_file(vm_diag *d, const char *file, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Assemble .gasm text (need not be NUL-terminated).  `file` names it in
 * diagnostics and becomes the program's debug file name.  NULL on error. */
vm_program *vm_asm(const char *file, const char *text, size_t len, vm_diag *d);

/* Encode p as a .gbc image in a malloc'd buffer; returns its size. */
size_t vm_gbc_encode(const vm_program *p, uint8_t **out);
/* Decode a .gbc image.  Checks the header, version, section lengths and
 * that nothing is left over; the code itself is left to vm_verify.
 * NULL on error. */
vm_program *vm_gbc_decode(const char *file, const uint8_t *buf, size_t len, vm_diag *d);
/* Nonzero if buf starts with the .gbc magic number. */
int vm_gbc_is_binary(const uint8_t *buf, size_t len);

/* Verify every function (see docs/assembly.md, "What the verifier checks").
 * Computes maxstack where it is unknown.  0 if the program is valid. */
int vm_verify(vm_program *p, vm_diag *d);

/* Open the libraries of p's externs, find their symbols and prepare their
 * calls (ffi.c).  0 if every extern resolved; else d says which did not,
 * with the .extern's line ("FILE:LINE: extern cos: unknown symbol in libm"). */
int vm_ffi_resolve(vm_program *p, vm_diag *d);

/* Call extern `ext` of a resolved program with its nargs arguments args[],
 * storing its result (nil for void) in *result.  -1 with a message in err
 * if an argument has the wrong kind ("ffi cos: argument 1: double expected,
 * got int") or does not fit its C type.  A string result is a new GC
 * string.  The interpreter uses the two halves of this, vm_ffi_prepare and
 * vm_ffi_invoke (internal.h), to call outside the scheduler's P. */
int vm_ffi_call(const vm_program *p, uint32_t ext, const vm_value *args, vm_value *result,
		char *err, size_t errlen);

/* Read FILE (text or binary, told apart by the magic number), decode,
 * verify it and resolve its externs.  NULL with d filled on any error,
 * including unreadable files. */
vm_program *vm_load(const char *path, vm_diag *d);

/* Print p as assembly that vm_asm reads back into the same program. */
void vm_disasm(const vm_program *p, FILE *out);

void vm_program_free(vm_program *p);

/* Function whose code contains word `pc`, or NULL. */
const vm_function *vm_func_at(const vm_program *p, uint32_t pc);

/* The name of the (first) label at code word pc, NULL if none. */
const char *vm_label_at(const vm_program *p, uint32_t pc);

/* ------------------------------------------------------------------ */
/* Running                                                            */
/* ------------------------------------------------------------------ */

/* Exit statuses of greenvm (README.md, "Exit status"). */
enum {
	VM_EXIT_OK = 0,     /* main returned */
	VM_EXIT_BADPROG = 1, /* could not load or verify the program, bad usage */
	VM_EXIT_PANIC = 2,  /* panic, fatal error, deadlock */
};

/* --gc-stress without a count: the collector's GC_STRESS_DEFAULT rule. */
#define VM_GC_STRESS_ENV UINT64_MAX

typedef struct vm_run_options {
	/* program arguments, seen by argc/argv */
	int argc;
	char **argv;
	/* a goroutine's VM stack may not grow past this many bytes */
	uint64_t max_stack;
	/* number of Ps (0: online CPUs) and g0 size (0: default) */
	int procs;
	size_t sysstack;
	/* --sched=deterministic: one P, instruction-counted time slices */
	int deterministic;
	/* --gc-stress: collect every gc_stress allocations (0: off;
	 * VM_GC_STRESS_ENV: N from GREENVM_GC_STRESS, see gc/gc.h) */
	uint64_t gc_stress;
	/* --schedtrace=MS: a scheduler-state line every MS milliseconds */
	int64_t schedtrace_ms;
	/* --schedlog: a line for every scheduling decision */
	int schedlog;
	/* --slice=N: the deterministic time slice, in taken jumps and calls
	 * (0: the default, 10000) */
	int64_t slice;
	/* --debug-overflow-mstack (debug builds): overflow an M stack on purpose */
	int debug_overflow_mstack;
	/* --stack-stats: 1 text, 2 JSON, printed to stderr at exit */
	int stack_stats;
	/* --gc-stats: print the collector's statistics at exit */
	int gc_stats;
	/* --trace=FILE (NULL: no trace), --trace-dump=legacy, --trace-clock=virtual */
	const char *trace_path;
	int trace_legacy_dump;
	int trace_virtual_clock;
} vm_run_options;

/* Run p from main.  Returns the process exit status: 0 when main returns,
 * the operand of `exit`, or VM_EXIT_PANIC after printing the panic. */
int vm_run(vm_program *p, const vm_run_options *o);

#endif
