/* cli.c: the greenvm command: run, asm, disasm, verify. */
#include <errno.h>
#include <getopt.h>
#include <sys/personality.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "trace/tools/tools.h"
#include "vm/vm.h"

static const char usage[] =
	"usage: greenvm run [options] FILE [args...]   run a program (.gasm or .gbc)\n"
	"       greenvm FILE [args...]                 the same, with default options\n"
	"       greenvm asm IN.gasm -o OUT.gbc         assemble to binary bytecode\n"
	"       greenvm disasm FILE                    print a program as assembly\n"
	"       greenvm verify FILE                    check a program without running it\n"
	"       greenvm trace dump FILE [-s] [--g=N] [-o OUT]  print a trace, one event a line\n"
	"                                              (-s: stacks; --g=N: goroutine N only)\n"
	"       greenvm trace stats FILE [-o OUT]      goroutine analysis, as go tool trace's\n"
	"       greenvm trace json FILE -o OUT.json    Chrome trace format (Perfetto); a large\n"
	"                                              trace in parts: OUT.json, OUT-2.json...\n"
	"       greenvm trace html FILE -o OUT.html    a self-contained timeline page; a large\n"
	"                                              trace: an overview, and its events by\n"
	"                                              time range in OUT-1.html, OUT-2.html...\n"
	"       greenvm --help | --version\n"
	"\n"
	"run options (before FILE; a value after '=' or as the next argument, but\n"
	"--trace, --gc-stress and --stack-stats take theirs only after '='):\n"
	"  --procs=N          number of Ps, like GOMAXPROCS (default: online CPUs)\n"
	"  --sysstack=SIZE    size of each M's system stack, g0: whole pages, at\n"
	"                     most 1M, at least this machine's smallest safe g0\n"
	"                     (about 8K; --stack-stats prints it); default 16K\n"
	"  --sched=MODE       normal, or deterministic: one P (--procs other than 1 is\n"
	"                     an error), time slices counted in taken jumps and calls,\n"
	"                     a virtual clock; same output and schedule on every run\n"
	"  --schedtrace=MS    print a line of scheduler state every MS milliseconds\n"
	"  --schedlog         print every scheduling decision: which G runs on which P\n"
	"                     and M, and why (runnext, local or global queue, stolen,\n"
	"                     back from a syscall)\n"
	"  --slice=N          deterministic mode's time slice: N taken jumps and calls\n"
	"                     (default 10000)\n"
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
	"verify, 2 panic or fatal error; a program's own exit status (0 to 255)\n"
	"otherwise.\n";

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

/* ---- getopt_long, the same way for every command ---------------------- */

/* Start a fresh getopt_long scan (glibc re-initialises at optind 0); errors
 * are ours to print. */
static void opt_begin(void)
{
	optind = 0;
	opterr = 0;
}

/* The option getopt_long just refused (it returned '?' or ':'), as the
 * user wrote it: argv[at] is where the scan stood before the call. */
static int opt_refused(int c, char **argv, int at, const struct option *longopts)
{
	char shortopt[3] = { '-', (char)optopt, 0 };
	const char *a = optopt > 0 && optopt < 256 ? shortopt : argv[at];
	if (c == ':')
		return fail("%s needs a value (see greenvm --help)", a);
	for (const struct option *o = longopts; optopt >= 256 && o->name; o++)
		if (o->val == optopt)
			return fail("--%s takes no value (see greenvm --help)", o->name);
	return fail("unknown option '%s' (see greenvm --help)", a);
}

/* getopt_long accepts any unambiguous prefix of a long option ("--proc").
 * greenvm does not, so that adding an option never changes what an
 * accepted command line means: argv[at] must spell the name in full. */
static int opt_spelled_out(char **argv, int at, const struct option *o)
{
	const char *a = argv[at];
	size_t n = strlen(o->name);
	if (strncmp(a, "--", 2) == 0 && strncmp(a + 2, o->name, n) == 0 &&
	    (a[2 + n] == 0 || a[2 + n] == '='))
		return 0;
	fputs("greenvm: ", stderr);
	fprintf(stderr, "unknown option '%.*s' (did you mean --%s?)\n", (int)strcspn(a, "="), a,
		o->name);
	return -1;
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

/* The options of run, by the value getopt_long returns for each. */
enum {
	OPT_PROCS = 256,
	OPT_SYSSTACK,
	OPT_SCHED,
	OPT_SCHEDTRACE,
	OPT_SCHEDLOG,
	OPT_SLICE,
	OPT_MAX_STACK,
	OPT_TRACE,
	OPT_TRACE_DUMP,
	OPT_TRACE_CLOCK,
	OPT_GC_STRESS,
	OPT_GC_STATS,
	OPT_STACK_STATS,
	OPT_DEBUG_OVERFLOW_MSTACK,
	/* room for the scheduler's next two: --schedlog, --slice=N */
};

/* A value may follow `=` or be the next argument (--procs=2, --procs 2),
 * except where it is optional: --trace (so that a forgotten file name is
 * an error, not the program's name taken as the trace to write),
 * --gc-stress and --stack-stats. */
static const struct option run_options[] = {
	{ "procs", required_argument, NULL, OPT_PROCS },
	{ "sysstack", required_argument, NULL, OPT_SYSSTACK },
	{ "sched", required_argument, NULL, OPT_SCHED },
	{ "schedtrace", required_argument, NULL, OPT_SCHEDTRACE },
	{ "schedlog", no_argument, NULL, OPT_SCHEDLOG },
	{ "slice", required_argument, NULL, OPT_SLICE },
	{ "max-stack", required_argument, NULL, OPT_MAX_STACK },
	{ "trace", optional_argument, NULL, OPT_TRACE },
	{ "trace-dump", required_argument, NULL, OPT_TRACE_DUMP },
	{ "trace-clock", required_argument, NULL, OPT_TRACE_CLOCK },
	{ "gc-stress", optional_argument, NULL, OPT_GC_STRESS },
	{ "gc-stats", no_argument, NULL, OPT_GC_STATS },
	{ "stack-stats", optional_argument, NULL, OPT_STACK_STATS },
#ifdef GREENVM_DEBUG
	/* debug builds only: see interp.c */
	{ "debug-overflow-mstack", no_argument, NULL, OPT_DEBUG_OVERFLOW_MSTACK },
#endif
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Load argv[0] and run it with o, argv[1...] its arguments. */
static int run_program(vm_run_options *o, int argc, char **argv)
{
	vm_program *p = load_or_report(argv[0]);
	if (!p)
		return VM_EXIT_BADPROG;
	o->argc = argc;
	o->argv = argv;
	/* Not freed: Ms other than the one that ended the program may still be
	 * running it until the process exits, which is right after this. */
	return vm_run(p, o);
}

/* greenvm run [options] FILE [args...]: argv[0] is "run".  Options end at
 * the program's name (or --): what follows is the program's. */
static int cmd_run(int argc, char **argv)
{
	vm_run_options o = { .max_stack = 64ull << 20 };
	int procs_given = 0;
	opt_begin();
	for (;;) {
		int at = optind ? optind : 1, li = -1;
		int c = getopt_long(argc, argv, "+:h", run_options, &li);
		if (c == -1)
			break;
		if (c == '?' || c == ':')
			return opt_refused(c, argv, at, run_options);
		if (li >= 0 && opt_spelled_out(argv, at, &run_options[li]) != 0)
			return VM_EXIT_BADPROG;
		const char *v = optarg;
		uint64_t n;
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			return 0;
		case OPT_PROCS:
			if (parse_number(v, 0, 1, 1024, &n) != 0)
				return fail("--procs: bad count '%s' (1 to 1024)", v);
			o.procs = (int)n;
			procs_given = 1;
			break;
		case OPT_SYSSTACK: {
			/* g0 is mapped in whole pages, under a guard page: a size
			 * that is not would silently become a larger one */
			long page = sysconf(_SC_PAGESIZE);
			if (parse_number(v, 1, 4 << 10, 1 << 20, &n) != 0)
				return fail("--sysstack: bad size '%s' (4K to 1M)", v);
			if (page > 0 && n % (uint64_t)page != 0) {
				fprintf(stderr, "greenvm: --sysstack: %s is not a whole number of %ld-byte "
					"pages\n", v, page);
				return VM_EXIT_BADPROG;
			}
			o.sysstack = n;
			break;
		}
		case OPT_SCHED:
			if (strcmp(v, "deterministic") == 0)
				o.deterministic = 1;
			else if (strcmp(v, "normal") == 0)
				o.deterministic = 0;
			else
				return fail("--sched: unknown mode '%s' (normal or deterministic)", v);
			break;
		case OPT_SCHEDTRACE:
			if (parse_number(v, 0, 1, 3600000, &n) != 0)
				return fail("--schedtrace: bad period '%s' (milliseconds, 1 to 3600000)", v);
			o.schedtrace_ms = (int64_t)n;
			break;
		case OPT_SCHEDLOG:
			o.schedlog = 1;
			break;
		case OPT_SLICE:
			if (parse_number(v, 0, 1, 1000000000, &n) != 0)
				return fail("--slice: bad slice '%s' (1 to 1000000000 jumps and calls)", v);
			o.slice = (int64_t)n;
			break;
		case OPT_MAX_STACK:
			if (parse_number(v, 1, 1 << 10, 1ull << 40, &o.max_stack) != 0)
				return fail("--max-stack: bad size '%s' (1K to 1024G)", v);
			break;
		case OPT_TRACE:
			if (!v || !*v)
				return fail("%s", "--trace needs a file name: --trace=FILE");
			o.trace_path = v;
			break;
		case OPT_TRACE_DUMP:
			if (strcmp(v, "legacy") == 0)
				o.trace_legacy_dump = 1;
			else if (strcmp(v, "direct") == 0)
				o.trace_legacy_dump = 0;
			else
				return fail("--trace-dump: unknown mode '%s' (direct or legacy)", v);
			break;
		case OPT_TRACE_CLOCK:
			if (strcmp(v, "virtual") == 0)
				o.trace_virtual_clock = 1;
			else if (strcmp(v, "real") == 0)
				o.trace_virtual_clock = 0;
			else
				return fail("--trace-clock: unknown clock '%s' (real or virtual)", v);
			break;
		case OPT_GC_STRESS:
			if (!v)
				o.gc_stress = VM_GC_STRESS_ENV;
			else if (parse_number(v, 0, 1, UINT32_MAX, &o.gc_stress) != 0)
				return fail("--gc-stress: bad count '%s' (collect every N allocations)", v);
			break;
		case OPT_GC_STATS:
			o.gc_stats = 1;
			break;
		case OPT_STACK_STATS:
			if (!v || strcmp(v, "text") == 0)
				o.stack_stats = 1;
			else if (strcmp(v, "json") == 0)
				o.stack_stats = 2;
			else
				return fail("--stack-stats: unknown format '%s' (text or json)", v);
			break;
		case OPT_DEBUG_OVERFLOW_MSTACK:
			o.debug_overflow_mstack = 1;
			break;
		}
	}
	/* Deterministic mode is one P: more would be a promise it breaks. */
	if (o.deterministic && procs_given && o.procs != 1) {
		fprintf(stderr, "greenvm: --sched=deterministic runs on one P; --procs=%d "
			"contradicts it (leave --procs out, or give --procs=1)\n", o.procs);
		return VM_EXIT_BADPROG;
	}
	if (o.slice && !o.deterministic)
		return fail("%s", "--slice: only with --sched=deterministic (a normal run's "
				  "slice is 10 ms, measured by sysmon)");
	if (optind >= argc)
		return fail("%s", "run: no program given (see greenvm --help)");
	if (o.deterministic)
		no_aslr(full_argv);
	return run_program(&o, argc - optind, argv + optind);
}

/* The options of asm, disasm and verify. */
static const struct option file_options[] = {
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Scan the options of a command that takes files (argv[0] is its name):
 * -o OUT (when out is not NULL) and -h.  Its files are left in
 * argv[optind...].  -1 to go on, else the exit status to return
 * (-h printed the usage: 0). */
static int file_command_options(int argc, char **argv, const char **out, const char *how)
{
	opt_begin();
	for (;;) {
		int at = optind ? optind : 1, li = -1;
		int c = getopt_long(argc, argv, out ? ":o:h" : ":h", file_options, &li);
		if (c == -1)
			return -1;
		if (c == '?' || c == ':' || (c == 'o' && !out))
			return opt_refused(c == 'o' ? '?' : c, argv, at, file_options);
		if (li >= 0 && opt_spelled_out(argv, at, &file_options[li]) != 0)
			return VM_EXIT_BADPROG;
		if (c == 'h') {
			printf("usage: %s\n", how);
			return 0;
		}
		*out = optarg;
	}
}

static int cmd_asm(int argc, char **argv)
{
	static const char how[] = "greenvm asm IN.gasm -o OUT.gbc";
	const char *out = NULL;
	int rc = file_command_options(argc, argv, &out, how);
	if (rc >= 0)
		return rc;
	if (optind + 1 < argc)
		return fail("asm: more than one input ('%s')", argv[optind + 1]);
	if (optind >= argc || !out)
		return fail("usage: %s", how);
	const char *in = argv[optind];
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

/* disasm and verify: one FILE, no options but -h. */
static vm_program *load_one(int argc, char **argv, const char *how, int *rc)
{
	*rc = file_command_options(argc, argv, NULL, how);
	if (*rc >= 0)
		return NULL;
	*rc = VM_EXIT_BADPROG;
	if (optind + 1 != argc) {
		fail("usage: %s", how);
		return NULL;
	}
	return load_or_report(argv[optind]);
}

static int cmd_disasm(int argc, char **argv)
{
	int rc;
	vm_program *p = load_one(argc, argv, "greenvm disasm FILE", &rc);
	if (!p)
		return rc;
	vm_disasm(p, stdout);
	vm_program_free(p);
	return 0;
}

static int cmd_verify(int argc, char **argv)
{
	int rc;
	vm_program *p = load_one(argc, argv, "greenvm verify FILE", &rc);
	if (!p)
		return rc;
	printf("%s: ok (%u functions, %u code words, %u constants)\n", argv[optind], p->nfuncs,
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
	/* Each command scans its own options, from its name on (argv[0] of
	 * the scan, which getopt_long skips). */
	const char *cmd = argv[1];
	int n = argc - 1;
	char **args = argv + 1;
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("greenvm %s\n", GREENVM_VERSION);
		return 0;
	}
	if (strcmp(cmd, "run") == 0)
		return cmd_run(n, args);
	if (strcmp(cmd, "asm") == 0)
		return cmd_asm(n, args);
	if (strcmp(cmd, "disasm") == 0)
		return cmd_disasm(n, args);
	if (strcmp(cmd, "verify") == 0)
		return cmd_verify(n, args);
	if (strcmp(cmd, "trace") == 0)
		return trace_tool_main(argc - 2, argv + 2);
	if (cmd[0] == '-')
		return fail("unknown option '%s' (options go after run: greenvm run [options] "
			    "FILE; see greenvm --help)", cmd);
	/* greenvm FILE [args...]: default options; whatever follows FILE is
	 * the program's */
	vm_run_options o = { .max_stack = 64ull << 20 };
	return run_program(&o, n, args);
}
