/* cli.c: the greenvm command: run, asm, disasm, verify. */
#include <errno.h>
#include <sys/personality.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "trace/tools.h"
#include "vm/vm.h"

static const char usage[] =
	"usage: greenvm run [options] FILE [args...]   run a program (.gasm or .gbc)\n"
	"       greenvm FILE [args...]                 the same, with default options\n"
	"       greenvm asm IN.gasm -o OUT.gbc         assemble to binary bytecode\n"
	"       greenvm disasm FILE                    print a program as assembly\n"
	"       greenvm verify FILE                    check a program without running it\n"
	"       greenvm trace dump FILE [-s] [--g=N]   print a trace, one event a line\n"
	"                                              (-s: stacks; --g=N: goroutine N only)\n"
	"       greenvm trace stats FILE               goroutine analysis, as go tool trace's\n"
	"       greenvm trace json FILE -o OUT.json    Chrome trace format (Perfetto)\n"
	"       greenvm trace html FILE -o OUT.html    a self-contained timeline page\n"
	"       greenvm --help | --version\n"
	"\n"
	"run options:\n"
	"  --procs=N          number of Ps, like GOMAXPROCS (default: online CPUs)\n"
	"  --sysstack=SIZE    size of each M's system stack, g0 (4K to 1M; default 16K)\n"
	"  --sched=MODE       normal, or deterministic: one P, time slices counted in\n"
	"                     taken jumps and calls, a virtual clock; same output and\n"
	"                     schedule on every run\n"
	"  --schedtrace=MS    print a line of scheduler state every MS milliseconds\n"
	"  --max-stack=SIZE   largest a goroutine's VM stack may grow (default 64M)\n"
	"  --trace=FILE       write an execution trace in Go 1.19's format\n"
	"                     (read it with go tool trace, or greenvm trace)\n"
	"  --trace-dump=MODE  direct (default): stack records written in place;\n"
	"                     legacy: built in a 5 KiB on-stack buffer, as Go 1.19 did\n"
	"  --trace-clock=MODE real (default), or virtual: a counter, so a\n"
	"                     deterministic run writes the same bytes every time\n"
	"  --gc-stress[=N]    collect every N allocations (N from GREENVM_GC_STRESS,\n"
	"                     else 1000)\n"
	"  --gc-stats         print the collector's statistics at exit\n"
	"  --stack-stats[=json]  print at exit each M's g0 and M-stack use, the deepest\n"
	"                     g0 use per kind of runtime operation, and VM-stack growth\n"
	"\n"
	"SIZE is a count of bytes with an optional K, M or G suffix (powers of 1024).\n"
	"Exit status: 0 success, 1 bad usage or a program that does not load or\n"
	"verify, 2 panic or fatal error; a program's own exit status otherwise.\n";

/* Print a one-line error and return exit status 1. */
static int fail(const char *fmt, const char *arg)
{
	fputs("greenvm: ", stderr);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return VM_EXIT_BADPROG;
}

/* Parse a size ("16K", "1M", "4096") or a count (no suffix allowed) within
 * [min, max].  Every numeric option goes through here.  0 on success. */
static int parse_number(const char *s, int allow_suffix, uint64_t min, uint64_t max, uint64_t *out)
{
	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	uint64_t mult = 1;
	if (allow_suffix && *end) {
		switch (*end++) {
		case 'k': case 'K': mult = 1ull << 10; break;
		case 'm': case 'M': mult = 1ull << 20; break;
		case 'g': case 'G': mult = 1ull << 30; break;
		default: return -1;
		}
	}
	if (*end || (v && mult > UINT64_MAX / v))
		return -1;
	v *= mult;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* If arg is "--name=VALUE" return VALUE, else NULL. */
static const char *option_value(const char *arg, const char *name)
{
	size_t n = strlen(name);
	if (strncmp(arg, name, n) == 0 && arg[n] == '=')
		return arg + n + 1;
	return NULL;
}

static vm_program *load_or_report(const char *path)
{
	vm_diag d;
	vm_program *p = vm_load(path, &d);
	if (!p)
		fprintf(stderr, "%s\n", d.msg);
	return p;
}

/* Deterministic mode promises the same run, and the same trace bytes, every
 * time.  The conservative collector decides what is garbage by looking at
 * addresses, and address-space randomisation gives every run other ones (so
 * other collections, other heap sizes in the trace).  So, like setarch -R,
 * a deterministic run turns randomisation off and starts itself again. */
static void no_aslr(char **argv)
{
	int pers = personality(0xffffffff);
	if (pers == -1 || (pers & ADDR_NO_RANDOMIZE))
		return;
	if (personality((unsigned long)pers | ADDR_NO_RANDOMIZE) == -1)
		return;
	execv("/proc/self/exe", argv);
	/* could not: run anyway, only the GC's figures may differ */
}

static char **full_argv; /* main's argv, for no_aslr's exec */

static int cmd_run(int argc, char **argv)
{
	vm_run_options o = { .max_stack = 64ull << 20 };
	int i = 0;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		const char *a = argv[i], *v;
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		uint64_t n;
		if ((v = option_value(a, "--procs"))) {
			if (parse_number(v, 0, 1, 1024, &n) != 0)
				return fail("--procs: bad count '%s' (1 to 1024)", v);
			o.procs = (int)n;
		} else if ((v = option_value(a, "--sysstack"))) {
			if (parse_number(v, 1, 4 << 10, 1 << 20, &n) != 0)
				return fail("--sysstack: bad size '%s' (4K to 1M)", v);
			o.sysstack = n;
		} else if ((v = option_value(a, "--sched"))) {
			if (strcmp(v, "deterministic") == 0) {
				o.deterministic = 1;
				no_aslr(full_argv);
			}
			else if (strcmp(v, "normal") != 0)
				return fail("--sched: unknown mode '%s' (normal or deterministic)", v);
		} else if ((v = option_value(a, "--schedtrace"))) {
			if (parse_number(v, 0, 1, 3600000, &n) != 0)
				return fail("--schedtrace: bad period '%s' (milliseconds, 1 to 3600000)", v);
			o.schedtrace_ms = (int64_t)n;
		} else if ((v = option_value(a, "--trace"))) {
			if (!*v)
				return fail("%s", "--trace: no file name");
			o.trace_path = v;
		} else if ((v = option_value(a, "--trace-dump"))) {
			if (strcmp(v, "legacy") == 0)
				o.trace_legacy_dump = 1;
			else if (strcmp(v, "direct") != 0)
				return fail("--trace-dump: unknown mode '%s' (direct or legacy)", v);
		} else if ((v = option_value(a, "--trace-clock"))) {
			if (strcmp(v, "virtual") == 0)
				o.trace_virtual_clock = 1;
			else if (strcmp(v, "real") != 0)
				return fail("--trace-clock: unknown clock '%s' (real or virtual)", v);
		} else if (strcmp(a, "--gc-stress") == 0) {
			o.gc_stress = VM_GC_STRESS_ENV;
		} else if ((v = option_value(a, "--gc-stress"))) {
			if (parse_number(v, 0, 1, UINT32_MAX, &o.gc_stress) != 0)
				return fail("--gc-stress: bad count '%s' (collect every N allocations)", v);
		} else if (strcmp(a, "--stack-stats") == 0 || strcmp(a, "--stack-stats=text") == 0) {
			o.stack_stats = 1;
		} else if (strcmp(a, "--stack-stats=json") == 0) {
			o.stack_stats = 2;
#ifdef GREENVM_DEBUG
		} else if (strcmp(a, "--debug-overflow-mstack") == 0) {
			o.debug_overflow_mstack = 1; /* debug builds only: see interp.c */
#endif
		} else if (strcmp(a, "--gc-stats") == 0) {
			o.gc_stats = 1;
		} else if ((v = option_value(a, "--max-stack"))) {
			if (parse_number(v, 1, 1 << 10, 1ull << 40, &o.max_stack) != 0)
				return fail("--max-stack: bad size '%s' (1K to 1024G)", v);
		} else {
			return fail("unknown option '%s' (see greenvm --help)", a);
		}
	}
	if (i >= argc)
		return fail("%s", "run: no program given (see greenvm --help)");
	vm_program *p = load_or_report(argv[i]);
	if (!p)
		return VM_EXIT_BADPROG;
	o.argc = argc - i;
	o.argv = argv + i;
	/* Not freed: Ms other than the one that ended the program may still be
	 * running it until the process exits, which is right after this. */
	return vm_run(p, &o);
}

static int cmd_asm(int argc, char **argv)
{
	const char *in = NULL, *out = NULL;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			out = argv[++i];
		else if (argv[i][0] == '-')
			return fail("asm: unknown option '%s'", argv[i]);
		else if (!in)
			in = argv[i];
		else
			return fail("asm: more than one input ('%s')", argv[i]);
	}
	if (!in || !out)
		return fail("%s", "usage: greenvm asm IN.gasm -o OUT.gbc");
	vm_program *p = load_or_report(in);
	if (!p)
		return VM_EXIT_BADPROG;
	uint8_t *buf;
	size_t n = vm_gbc_encode(p, &buf);
	vm_program_free(p);
	if (n == 0)
		return fail("%s: the program is too large for the .gbc format (or memory ran out)", in);
	FILE *f = fopen(out, "wb");
	int ok = f && fwrite(buf, 1, n, f) == n;
	ok = f && fclose(f) == 0 && ok;
	free(buf);
	if (!ok)
		return fprintf(stderr, "greenvm: %s: %s\n", out, strerror(errno)), VM_EXIT_BADPROG;
	return 0;
}

static int cmd_disasm(int argc, char **argv)
{
	if (argc != 1)
		return fail("%s", "usage: greenvm disasm FILE");
	vm_program *p = load_or_report(argv[0]);
	if (!p)
		return VM_EXIT_BADPROG;
	vm_disasm(p, stdout);
	vm_program_free(p);
	return 0;
}

static int cmd_verify(int argc, char **argv)
{
	if (argc != 1)
		return fail("%s", "usage: greenvm verify FILE");
	vm_program *p = load_or_report(argv[0]);
	if (!p)
		return VM_EXIT_BADPROG;
	printf("%s: ok (%u functions, %u code words, %u constants)\n", argv[0], p->nfuncs,
	       p->ncode, p->nconsts);
	vm_program_free(p);
	return 0;
}

int main(int argc, char **argv)
{
	full_argv = argv;
	if (argc < 2) {
		fputs(usage, stderr);
		return VM_EXIT_BADPROG;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("greenvm %s\n", GREENVM_VERSION);
		return 0;
	}
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 2, argv + 2);
	if (strcmp(cmd, "asm") == 0)
		return cmd_asm(argc - 2, argv + 2);
	if (strcmp(cmd, "disasm") == 0)
		return cmd_disasm(argc - 2, argv + 2);
	if (strcmp(cmd, "verify") == 0)
		return cmd_verify(argc - 2, argv + 2);
	if (strcmp(cmd, "trace") == 0) {
		if (argc < 3)
			return fail("%s", "usage: greenvm trace dump|stats|json|html FILE ...");
		return trace_tool_main(argc - 2, argv + 2);
	}
	if (cmd[0] == '-')
		return fail("unknown option '%s' (see greenvm --help)", cmd);
	/* greenvm FILE [args...] */
	return cmd_run(argc - 1, argv + 1);
}
