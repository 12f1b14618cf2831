/* opcodes.h: the one instruction table of greenvm.
 *
 * Every instruction is listed here once. The assembler, the disassembler, the
 * verifier and the interpreter all expand this table; none keeps a second list.
 *
 * OP(NAME, code, "mnemonic", operand, pops, pushes, flags, "what it does")
 *
 *   code      the opcode's fixed number in the binary format.  Ranges:
 *               0x00-0x4f  core: stack, arithmetic, control, arrays, strings, I/O
 *               0x50-0x6f  goroutines, channels, select, timers, sync
 *               0x70-0x7f  FFI
 *               0x80-0x8f  trace control and user annotations
 *             Unused numbers are invalid and rejected by the verifier.
 *   operand   the kind of the one optional operand word (OPND_*, vm.h).
 *   pops, pushes
 *             the stack effect.  VAR means "depends on the operand": for call
 *             the callee's parameter count is popped and one result pushed,
 *             for ffi the extern's argument count.
 *   flags     OPF_TERM: control never falls through (jmp, ret, exit, panic);
 *             OPF_BRANCH: may jump to the label operand or fall through.
 *
 * An instruction is one 32-bit word holding the opcode, followed by one word
 * for its operand when it has one.  Values are the kinds of vm.h: ints are
 * 64-bit, "bool" results are the ints 0 and 1, and any int other than 0 is
 * true for jz/jnz/not.
 */

/* -------- stack -------- */
OP(NOP,      0x00, "nop",      OPND_NONE,  0, 0, 0, "do nothing")
OP(POP,      0x01, "pop",      OPND_NONE,  1, 0, 0, "drop the top value")
OP(DUP,      0x02, "dup",      OPND_NONE,  1, 2, 0, "push a copy of the top value")
OP(SWAP,     0x03, "swap",     OPND_NONE,  2, 2, 0, "exchange the two top values")
OP(OVER,     0x04, "over",     OPND_NONE,  2, 3, 0, "push a copy of the value below the top")
OP(PUSHNIL,  0x05, "pushnil",  OPND_NONE,  0, 1, 0, "push nil")
OP(PUSHI,    0x06, "pushi",    OPND_IMM,   0, 1, 0, "push a signed 32-bit immediate as an int")
OP(CONST,    0x07, "const",    OPND_CONST, 0, 1, 0, "push constant K (int, float or string)")
OP(LOAD,     0x08, "load",     OPND_LOCAL, 0, 1, 0, "push local L")
OP(STORE,    0x09, "store",    OPND_LOCAL, 1, 0, 0, "pop into local L")

/* -------- arithmetic: int op int -> int, float op float -> float -------- */
OP(ADD,      0x10, "add",      OPND_NONE,  2, 1, 0, "a + b")
OP(SUB,      0x11, "sub",      OPND_NONE,  2, 1, 0, "a - b")
OP(MUL,      0x12, "mul",      OPND_NONE,  2, 1, 0, "a * b")
OP(DIV,      0x13, "div",      OPND_NONE,  2, 1, 0, "a / b (ints truncate; int division by zero panics)")
OP(MOD,      0x14, "mod",      OPND_NONE,  2, 1, 0, "a % b, ints only (division by zero panics)")
OP(NEG,      0x15, "neg",      OPND_NONE,  1, 1, 0, "-a")
OP(INC,      0x16, "inc",      OPND_LOCAL, 0, 0, 0, "add 1 to int local L")

/* -------- comparison: push 1 or 0 -------- */
OP(EQ,       0x18, "eq",       OPND_NONE,  2, 1, 0, "a == b (any kinds; strings by content)")
OP(NE,       0x19, "ne",       OPND_NONE,  2, 1, 0, "a != b")
OP(LT,       0x1a, "lt",       OPND_NONE,  2, 1, 0, "a < b (ints, floats or strings)")
OP(LE,       0x1b, "le",       OPND_NONE,  2, 1, 0, "a <= b")
OP(GT,       0x1c, "gt",       OPND_NONE,  2, 1, 0, "a > b")
OP(GE,       0x1d, "ge",       OPND_NONE,  2, 1, 0, "a >= b")

/* -------- logic and bits, ints only -------- */
OP(AND,      0x20, "and",      OPND_NONE,  2, 1, 0, "a & b")
OP(OR,       0x21, "or",       OPND_NONE,  2, 1, 0, "a | b")
OP(XOR,      0x22, "xor",      OPND_NONE,  2, 1, 0, "a ^ b")
OP(SHL,      0x23, "shl",      OPND_NONE,  2, 1, 0, "a << b (b in 0..63)")
OP(SHR,      0x24, "shr",      OPND_NONE,  2, 1, 0, "a >> b, arithmetic (b in 0..63)")
OP(NOT,      0x25, "not",      OPND_NONE,  1, 1, 0, "1 if a is 0, else 0")

/* -------- control -------- */
OP(JMP,      0x28, "jmp",      OPND_LABEL, 0, 0, OPF_TERM,   "jump to label")
OP(JZ,       0x29, "jz",       OPND_LABEL, 1, 0, OPF_BRANCH, "pop; jump to label if it is 0")
OP(JNZ,      0x2a, "jnz",      OPND_LABEL, 1, 0, OPF_BRANCH, "pop; jump to label if it is not 0")
OP(CALL,     0x2b, "call",     OPND_FUNC,  VAR, 1, 0,     "call F with its parameters popped; push its result")
OP(RET,      0x2c, "ret",      OPND_NONE,  1, 0, OPF_TERM,   "return the top value to the caller")

/* -------- arrays -------- */
OP(NEWARRAY, 0x30, "newarray", OPND_NONE,  1, 1, 0, "pop n; push a new array of n nils")
OP(AGET,     0x31, "aget",     OPND_NONE,  2, 1, 0, "array, i -> array[i]")
OP(ASET,     0x32, "aset",     OPND_NONE,  3, 0, 0, "array, i, v -> (array[i] = v)")
OP(ALEN,     0x33, "alen",     OPND_NONE,  1, 1, 0, "array -> its length")

/* -------- strings -------- */
OP(SCONCAT,  0x38, "sconcat",  OPND_NONE,  2, 1, 0, "a, b -> a followed by b")
OP(SLEN,     0x39, "slen",     OPND_NONE,  1, 1, 0, "s -> its length in bytes")
OP(SSLICE,   0x3a, "sslice",   OPND_NONE,  3, 1, 0, "s, lo, hi -> s[lo:hi]")
OP(SINDEX,   0x3b, "sindex",   OPND_NONE,  2, 1, 0, "s, i -> the byte s[i] as an int")
OP(CHR,      0x3c, "chr",      OPND_NONE,  1, 1, 0, "int 0..255 -> a one-byte string")
OP(ITOS,     0x3d, "itos",     OPND_NONE,  1, 1, 0, "int -> decimal string")
OP(FTOS,     0x3e, "ftos",     OPND_NONE,  1, 1, 0, "float -> string (shortest %g form that reads back)")
OP(STOI,     0x3f, "stoi",     OPND_NONE,  1, 1, 0, "decimal string -> int (panics if malformed)")
OP(STOF,     0x40, "stof",     OPND_NONE,  1, 1, 0, "string -> float (panics if malformed)")
OP(ITOF,     0x41, "itof",     OPND_NONE,  1, 1, 0, "int -> float")
OP(FTOI,     0x42, "ftoi",     OPND_NONE,  1, 1, 0, "float -> int, truncated toward zero")

/* -------- program I/O and ending -------- */
OP(PRINT,    0x48, "print",    OPND_NONE,  1, 0, 0, "pop and write to stdout")
OP(PRINTLN,  0x49, "println",  OPND_NONE,  1, 0, 0, "pop and write to stdout with a newline")
OP(ARGC,     0x4a, "argc",     OPND_NONE,  0, 1, 0, "push the number of program arguments, the program's own path (argv 0) included")
OP(ARGV,     0x4b, "argv",     OPND_NONE,  1, 1, 0, "pop i; push program argument i (a string; 0 is the program's path)")
OP(EXIT,     0x4c, "exit",     OPND_NONE,  1, 0, OPF_TERM, "pop an int, 0 to 255, and end the program with it as exit status (else panic)")
OP(PANIC,    0x4d, "panic",    OPND_NONE,  1, 0, OPF_TERM, "pop a value and panic with it as the message")

/* -------- goroutines, channels, select, timers, sync (scheduler/) -------- */
OP(GO,       0x50, "go",       OPND_FUNC,  VAR, 0, 0, "start F as a goroutine with its parameters popped")
OP(YIELD,    0x51, "yield",    OPND_NONE,  0, 0, 0, "let other goroutines run (Go's runtime.Gosched)")
OP(GOID,     0x52, "goid",     OPND_NONE,  0, 1, 0, "push the current goroutine's id")
OP(NUMPROCS, 0x53, "numprocs", OPND_NONE,  0, 1, 0, "push the number of Ps (GOMAXPROCS)")
OP(SLEEP,    0x54, "sleep",    OPND_NONE,  1, 0, 0, "pop ns; sleep that many nanoseconds")
OP(NANOTIME, 0x55, "nanotime", OPND_NONE,  0, 1, 0, "push the scheduler clock in nanoseconds")
OP(MAKECHAN, 0x58, "makechan", OPND_NONE,  1, 1, 0, "pop capacity; push a new channel")
OP(SEND,     0x59, "send",     OPND_NONE,  2, 0, 0, "chan, v -> send v (blocks; panics if closed)")
OP(RECV,     0x5a, "recv",     OPND_NONE,  1, 2, 0, "chan -> v, ok (blocks; ok 0 if closed and empty)")
OP(CLOSE,    0x5b, "close",    OPND_NONE,  1, 0, 0, "pop chan and close it (panics if closed or nil)")
OP(SELECT,   0x5c, "select",   OPND_IMM,   VAR, 3, 0, "N cases of (chan, dir 0 recv/1 send, v) -> index, v, ok; blocks")
OP(SELECTD,  0x5d, "selectd",  OPND_IMM,   VAR, 3, 0, "select with a default: index -1 if no case is ready")
OP(NEWMUTEX, 0x60, "newmutex", OPND_NONE,  0, 1, 0, "push a new unlocked mutex")
OP(LOCK,     0x61, "lock",     OPND_NONE,  1, 0, 0, "pop mutex; lock it (blocks)")
OP(UNLOCK,   0x62, "unlock",   OPND_NONE,  1, 0, 0, "pop mutex; unlock it (fatal if not locked)")
OP(NEWWG,    0x63, "newwg",    OPND_NONE,  0, 1, 0, "push a new wait group")
OP(WGADD,    0x64, "wgadd",    OPND_NONE,  2, 0, 0, "wg, n -> add n to its counter (panics if negative)")
OP(WGDONE,   0x65, "wgdone",   OPND_NONE,  1, 0, 0, "pop wg; add -1 to its counter")
OP(WGWAIT,   0x66, "wgwait",   OPND_NONE,  1, 0, 0, "pop wg; wait until its counter is 0")

/* -------- FFI (vm/ffi.c): C functions declared with .extern -------- */
OP(FFI,      0x70, "ffi",      OPND_EXTERN, VAR, 1, 0, "call extern E with its arguments popped; push its result (nil for void)")

/* -------- trace annotations: Go's runtime/trace tasks, regions and logs -------- */
OP(TASKNEW,  0x80, "tasknew",  OPND_NONE,  2, 1, 0, "name, parent task -> a new task id (0 parent: none)")
OP(TASKEND,  0x81, "taskend",  OPND_NONE,  1, 0, 0, "pop task id; the task ends")
OP(REGION,   0x82, "region",   OPND_NONE,  2, 0, 0, "task, name -> a region of this goroutine begins")
OP(REGIONEND, 0x83, "regionend", OPND_NONE, 2, 0, 0, "task, name -> the region ends")
OP(TRACELOG, 0x84, "tracelog", OPND_NONE,  3, 0, 0, "task, category, message -> a log event")
OP(TRACESTART, 0x85, "tracestart", OPND_NONE, 1, 1, 0, "path -> 1 if tracing to path started (Go's trace.Start), else 0")
OP(TRACESTOP, 0x86, "tracestop", OPND_NONE, 0, 1, 0, "-> 1 if the trace was stopped and its file finished, else 0")
