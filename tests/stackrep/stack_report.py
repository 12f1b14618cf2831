#!/usr/bin/env python3
"""stack_report.py: the static worst-case stack report of greenvm's system-stack work.

How it works
------------
GCC writes, for every object, a call graph with frame sizes when it
compiles with -fstack-usage -fcallgraph-info=su: a .ci file in VCG format
whose nodes are functions ("name\\nfile:line:col\\nN bytes (static)") and
whose edges are calls, labelled with the call site (file:line:col).  An
indirect call is an edge to the node "__indirect_call"; a function with no
body in this object (another object's, or a library's) is a node with no
size, an "ellipse".

1. Build the runtime (vm/, scheduler/, gc/, trace/) with those flags into
   build/stackreport, or read .ci files someone else built (--ci-dir).
2. Find the system-stack entries: every function passed to systemstack(),
   mcall() or a wrapper named *systemstack() (trace_systemstack), found by
   scanning the C sources.  An argument that is not a function name (a
   parameter passed on, like trace_systemstack's fn) is an indirect entry:
   listed, and resolved by the wrapper's own callers.
3. For each entry, a depth-first search over the call graph from the first
   function on g0 (sched_systemstack_g0 or sched_mcall_g0), summing frames,
   gives the worst case and its deepest chain.  Indirect calls are resolved
   by the table INDIRECT below; a call through a function-pointer parameter
   (systemstack's fn) reaches the function passed at the call site this
   path came through, so nested systemstack calls each run their own
   function.  Library calls cost what LIBRARY says,
   recursion is bounded by RECURSION or reported as unbounded.  Nothing is
   dropped silently: every assumption used is printed.
4. Verdict: exit 1 when an entry's worst case plus RESERVE (signal handlers
   that run on whatever stack is current) exceeds the g0 size, or when a
   path on g0 cannot be bounded.  Targets (dump <= 1 KiB, entries <= 4 KiB)
   are printed as notes and do not change the exit status.

Standard library only: Python 3 is present wherever SCons is.
"""

import argparse
import json
import os
import re
import subprocess
import sys

# ---------------------------------------------------------------- tables

G0_DEFAULT = 16 * 1024  # SCHED_SYSSTACK_DEFAULT in scheduler/runtime.h

# Room kept on g0 for signal handlers that run on the current stack (the
# collector's suspend handler; our own handlers run on the sigaltstack).
# It depends on the CPU: ./run stack-report passes what greenvm measures at
# start-up (--reserve, from --stack-stats; docs/stacks.md).  This default,
# used only without it, is about what an AVX-512 machine needs.
RESERVE = 6656

# Targets, printed as notes (pass/fail) without changing the verdict.
TARGET_DUMP = 1024   # the direct stack dump on g0 (trace stop, direct dump)
TARGET_ENTRY = 4096  # every system-stack entry

# The first C function on g0 behind each switch, by the name of the switch.
# Its indirect call is the entry.  When it is not in the graph (a fixture),
# the entry itself is the root.
TRAMPOLINE = {
    'systemstack': 'sched_systemstack_g0',
    'mcall': 'sched_mcall_g0',
}

# Assembly that leaves the current stack: costs nothing on it, not followed.
SWITCHES = {
    'sched_systemstack_switch': 'switches to g0 (already on g0: not taken)',
    'sched_mcall_switch': 'switches to g0 (mcall on g0 is fatal)',
    'sched_gogo': 'jumps back to the M stack',
}

# Calls a function makes only when it is not on g0, so never on these
# paths: systemstack called on g0 just calls fn (scheduler/switch.c); the
# M-stack room check and the switch come after that early return.
OFF_G0 = {
    'systemstack': {'sched_overflow_report', 'sched_systemstack_switch'},
}

# Indirect calls, by the callee expression at the call site.
#   'ENTRY'          the entry: the function the outermost systemstack/mcall
#                    was given (the trampolines on g0 call it)
#   'PASSED'         a function-pointer parameter: the function the caller
#                    on this path passed at its call site (see value_of)
#   [names]          these functions (each one is followed)
#   {variant: name}  one report per variant (the two stack dumps)
#   ('args', f, i)   every function passed as argument i to f() in the sources
#   ('assume', n)    a hook not in the runtime yet: n bytes, printed
INDIRECT = {
    # systemstack's nested call (already on g0), the tracer's
    # trace_systemstack with no hook, and the scheduler's hook off an M:
    # the function their caller passed, which nests (trace stop -> stack
    # dump -> string -> flush), so it is resolved per call site
    'fn': 'PASSED',
    # the trampolines on g0
    'c->fn': 'ENTRY',
    'm->mcall_fn': 'ENTRY',
    # the tracer's systemstack hook: the scheduler's trace_systemstack
    # (scheduler/trace.c), which calls systemstack; tests pass their own
    'trace.hooks.systemstack': ['scheduler/trace.c:tracer_systemstack'],
    # the tracer's clock hook: sched_nanotime has its signature
    'trace.hooks.nanotime': ['sched_nanotime'],
    # the VM's hooks, through the scheduler: "describe this PC" and "this
    # G's stack as PCs" (vm/interp.c; the tracer asks the scheduler's
    # sched_trace_stack, which asks the VM)
    'trace.hooks.describe_pc': ['describe_pc_hook'],
    'trace.hooks.stack': ['sched_trace_stack'],
    'sched.cfg.hooks.stack': ['stack_hook'],
    # debug builds' check that a function runs on g0
    'trace.hooks.on_system_stack': ['sched_on_system_stack'],
    # trace_dump's record writer, chosen by hooks.dump
    'record': {'direct': 'trace_dump_record', 'legacy': 'trace_dump_legacy_record'},
    # park_m's unlock function (Go's gopark unlockf)
    'a->unlock': ('args', 'sched_park', 0),
}

# Functions that end the process (a runtime bug, an overflow report).  The
# worst case that counts is the one of the paths that carry on; paths into
# these are reported apart: they matter less (the process is ending) but
# an overflow there turns a clear message into a g0 overflow report.
# sched_curm.part.0 is GCC's split-off cold half of sched_curm: its
# "not an M" error.
FATAL = {'sched_throw', 'sched_overflow_report', 'sched_curm.part.0',
         'abort', 'exit', '_exit'}

# A message printed right before the process ends is on a fatal path too:
# a call to one of these followed, within DYING_LINES lines of the same
# function, by a call into FATAL ("fatal error: ...", then abort or exit).
PRINTERS = {'fprintf', 'vfprintf', 'fputs', 'fwrite', 'fputc', 'putc', 'write'}
DYING_LINES = 3

# Recursion allowed on g0, by function: the most frames it can have at once.
# A cycle is the same function reached again with the same function-pointer
# arguments.  systemstack nesting is not one: tracer work on g0 that asks
# for g0 again (trace stop -> stack dump -> string -> flush) passes a
# different function each time, and the search follows each call site's own
# (see 'PASSED').  No recursion is allowed on g0 today.
RECURSION = {}

# Library functions have no .su data.  Bytes of stack each one uses, its
# callees included, on x86-64 Debian 12 (glibc 2.36, libgc 8.2).  'measured':
# by tests/stackrep/libc_stack_cost.c (a painted stack, see docs/stack-frames.md),
# never less than 16 (a return address, kept aligned) because a leaf that
# is tail-called measures 0; 'assumed': not measurable that way, an estimate.
M, A = 'measured', 'assumed'
LIBRARY = {
    'pthread_mutex_lock': (16, M + ' uncontended'),
    'pthread_mutex_unlock': (16, M),
    'pthread_cond_signal': (40, M),
    'pthread_cond_wait': (256, A + ' as pthread_cond_timedwait'),
    'pthread_cond_timedwait': (256, M + ', timing out'),
    'clock_gettime': (64, M),
    'write': (16, M),
    'mmap': (16, M), 'munmap': (16, M), 'mprotect': (16, M), 'madvise': (16, M),
    'memcpy': (16, M), 'memset': (16, M), 'memcmp': (16, M), 'strlen': (16, M),
    # stderr is unbuffered: glibc 2.36 formats into an 8 KiB stack buffer
    'fprintf': (10176, M + ' to stderr'),
    'vfprintf': (10176, A + ' as fprintf'),
    'fputs': (248, M + ' to stderr'), 'fwrite': (248, M + ' to stderr'),
    'fputc': (248, A + ' as fputs'), 'putc': (248, A + ' as fputs'),
    'fflush': (248, A + ' as fputs'),
    'strerror': (408, M),
    '__errno_location': (16, M),
    'sysconf': (1336, M + ' _SC_NPROCESSORS_ONLN'),
    'malloc': (16, M), 'calloc': (16, M), 'free': (16, M), 'realloc': (16, A + ' as malloc'),
    'GC_malloc_uncollectable': (24, M + ' without a collection (one collection: ~26 KiB)'),
    'GC_free': (24, A + ' as GC_malloc_uncollectable'),
    'GC_pthread_create': (1992, M),
    'pthread_attr_init': (16, A), 'pthread_attr_destroy': (16, A),
    'pthread_attr_setstack': (16, A), 'pthread_attr_setdetachstate': (16, A),
    'pthread_mutex_init': (16, A), 'pthread_cond_init': (16, A),
    'pthread_condattr_init': (16, A), 'pthread_condattr_destroy': (16, A),
    'pthread_condattr_setclock': (16, A), 'pthread_once': (64, A),
    'abort': (512, A + ' (raises SIGABRT; the process ends)'),
    'exit': (1024, A + ' (atexit handlers, stdio flush; the process ends)'),
    '_exit': (16, A + ' (a system call)'),
}
LIBRARY_DEFAULT = (512, 'assumed (not in the table)')

# --------------------------------------------------------------- the graph


class Func:
    """A node of the call graph."""

    def __init__(self, title, name, file, line, size, qual):
        self.title = title   # the .ci title: name, or file:name when static
        self.name = name     # the function's name (clones keep .part.0 ...)
        self.file = file     # its source file, '' for an external
        self.line = line     # line of its definition, 0 for an external
        self.size = size     # frame bytes, None for an external
        self.qual = qual     # static, dynamic, dynamic,bounded; '' external
        self.calls = []      # (target title, site file, site line, site col)


NODE_RE = re.compile(r'node: \{ title: "([^"]*)" label: "([^"]*)"')
EDGE_RE = re.compile(r'edge: \{ sourcename: "([^"]*)" targetname: "([^"]*)"'
                     r'(?: label: "([^"]*)")?')
SIZE_RE = re.compile(r'^(\d+) bytes \(([^)]*)\)$')


def norm(path):
    return os.path.normpath(path)


def parse_loc(text):
    """'file:line:col' -> (file, line, col); None if not that shape."""
    m = re.match(r'^(.*):(\d+):(\d+)$', text)
    if not m:
        return None
    return norm(m.group(1)), int(m.group(2)), int(m.group(3))


def ci_source(path):
    """The source file a .ci file was compiled from (its graph's title)."""
    with open(path) as f:
        m = re.match(r'graph: \{ title: "([^"]*)"', f.readline())
    return m.group(1) if m else None


def load_graph(ci_files):
    funcs = {}
    for path in ci_files:
        with open(path) as f:
            for line in f:
                m = NODE_RE.match(line)
                if m:
                    title, label = m.group(1), m.group(2).split('\\n')
                    size = qual = None
                    if len(label) >= 3:
                        sm = SIZE_RE.match(label[2])
                        if sm:
                            size, qual = int(sm.group(1)), sm.group(2)
                    if size is None:
                        if title not in funcs:
                            funcs[title] = Func(title, title, '', 0, None, '')
                        continue
                    loc = parse_loc(label[1]) or ('', 0, 0)
                    old = funcs.get(title)
                    fn = Func(title, label[0], loc[0], loc[1], size, qual)
                    if old is not None:
                        fn.calls = old.calls
                    funcs[title] = fn
                    continue
                m = EDGE_RE.match(line)
                if m:
                    src, dst, label = m.groups()
                    loc = parse_loc(label) if label else None
                    if src not in funcs:
                        funcs[src] = Func(src, src, '', 0, None, '')
                    if dst not in funcs:
                        funcs[dst] = Func(dst, dst, '', 0, None, '')
                    funcs[src].calls.append((dst,) + (loc or ('', 0, 0)))
    return funcs


# ------------------------------------------------------------- the sources


def strip_comments(text):
    """Blank out comments, keeping every newline and column in place."""
    out = []
    i, n = 0, len(text)
    while i < n:
        if text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r'[^\n]', ' ', text[i:j]))
            i = j
        elif text.startswith('//', i):
            j = text.find('\n', i)
            j = n if j < 0 else j
            out.append(' ' * (j - i))
            i = j
        elif text[i] in '"\'':
            q, j = text[i], i + 1
            while j < n and text[j] != q:
                j += 2 if text[j] == '\\' else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return ''.join(out)


def split_args(text, start):
    """The arguments of the call whose '(' is at text[start]."""
    args, depth, cur, i = [], 0, [], start + 1
    while i < len(text):
        c = text[i]
        if c in '"\'':
            j = i + 1
            while j < len(text) and text[j] != c:
                j += 2 if text[j] == '\\' else 1
            cur.append(text[i:j + 1])
            i = j + 1
            continue
        if c in '([{':
            depth += 1
        elif c in ')]}':
            if depth == 0:
                args.append(''.join(cur).strip())
                return args
            depth -= 1
        elif c == ',' and depth == 0:
            args.append(''.join(cur).strip())
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    return args


IDENT_RE = re.compile(r'^[A-Za-z_]\w*$')


class Sources:
    """The C sources: their text, and the calls found in them."""

    def __init__(self, root, files):
        self.root = root
        self.text = {}   # normalized relative path -> comment-free text
        self.defs_cache = {}   # path -> [Def]
        self.calls_cache = {}  # path -> {line: [(callee, args)]}
        for f in files:
            self.text[norm(f)] = strip_comments(open(os.path.join(root, f)).read())

    def lines(self, path):
        path = norm(path)
        if path not in self.text:
            full = os.path.join(self.root, path)
            if not os.path.exists(full):
                return []
            self.text[path] = strip_comments(open(full).read())
        return self.text[path].split('\n')

    def calls(self, pattern):
        """Yield (file, line, callee, args) for calls whose callee matches."""
        rx = re.compile(r'(?<![\w>])((?:[\w.]|->)*\b(?:%s))\s*\(' % pattern)
        for path in sorted(self.text):
            text = self.text[path]
            for m in rx.finditer(text):
                line = text.count('\n', 0, m.start()) + 1
                yield path, line, m.group(1), split_args(text, m.end() - 1)

    def callee_at(self, path, line, col):
        """The callee expression of the call at path:line:col."""
        lines = self.lines(path)
        if not 0 < line <= len(lines):
            return None
        m = re.match(r'\s*((?:[\w.]|->|\*|\(|\))*?)\s*\(', lines[line - 1][col - 1:])
        return m.group(1).strip('(*) ') if m else None


    def defs(self, path):
        """The function definitions of path, in order, parsed once."""
        path = norm(path)
        if path not in self.defs_cache:
            self.lines(path)
            self.defs_cache[path] = parse_defs(self.text.get(path, ''))
        return self.defs_cache[path]

    def def_at(self, path, line):
        """The definition whose body holds path:line, or None."""
        for d in self.defs(path):
            if d.first <= line <= d.last:
                return d
        return None

    def def_of(self, path, name):
        """The definition of name in path, or None."""
        for d in self.defs(path):
            if d.name == name:
                return d
        return None

    def calls_at(self, path, line):
        """[(callee expression, args)] of the calls that start on path:line."""
        path = norm(path)
        if path not in self.calls_cache:
            self.lines(path)
            text = self.text.get(path, '')
            index = {}
            for m in CALL_RE.finditer(text):
                if m.group(1) in KEYWORDS:
                    continue
                ln = text.count('\n', 0, m.start()) + 1
                index.setdefault(ln, []).append((m.group(1), split_args(text, m.end() - 1)))
            self.calls_cache[path] = index
        return self.calls_cache[path].get(line, [])


class Def:
    """A function definition in the sources."""

    def __init__(self, name, first, last, params):
        self.name = name      # its name
        self.first = first    # line of its name
        self.last = last      # line of its closing brace
        self.params = params  # [(name, is a function pointer)], in order


CALL_RE = re.compile(r'(?<![\w>.])((?:[A-Za-z_]\w*(?:\.|->))*[A-Za-z_]\w*)\s*\(')
KEYWORDS = {'if', 'while', 'for', 'switch', 'return', 'sizeof', '_Alignof', 'defined',
            '__attribute__', '__typeof__', 'typeof', '_Static_assert', '__asm__', 'asm'}


def param_name(text):
    """The name a parameter declaration declares, and whether it is a
    function pointer: 'void (*fn)(void *)' -> ('fn', True)."""
    m = re.search(r'\(\s*\*\s*(?:const\s+)?([A-Za-z_]\w*)\s*\)\s*\(', text)
    if m:
        return m.group(1), True
    names = re.findall(r'[A-Za-z_]\w*', text.split('[')[0])
    return (names[-1] if names else ''), False


def parse_defs(text):
    """Function definitions of comment-free C text: a '{' at file level
    whose header ends in a parameter list."""
    # Blank preprocessor lines (and their continuations): their braces and
    # parentheses are not code.
    lines = text.split('\n')
    cont = False
    for i, ln in enumerate(lines):
        if cont or ln.lstrip().startswith('#'):
            cont = ln.endswith('\\')
            lines[i] = ''
    text = '\n'.join(lines)
    out = []
    head_start, i, n = 0, 0, len(text)
    while i < n:
        c = text[i]
        if c in '"\'':
            i = after_quoted(text, i)
            continue
        if c == '{':  # at file level: a body, an initializer or a struct
            j = close_brace(text, i)
            d = def_header(text, head_start, i)
            if d:
                name, at, params = d
                out.append(Def(name, text.count('\n', 0, at) + 1,
                               text.count('\n', 0, j) + 1, params))
            i = head_start = j + 1
            continue
        if c == ';':
            head_start = i + 1
        i += 1
    return out


def def_header(text, start, brace):
    """(name, offset of name, params) when text[start:brace] ends like a
    function header 'T name(params)'; None otherwise."""
    j = brace - 1
    while j >= start and text[j].isspace():
        j -= 1
    if j < start or text[j] != ')':
        return None
    depth, k = 0, j
    while k >= start:
        if text[k] == ')':
            depth += 1
        elif text[k] == '(':
            depth -= 1
            if depth == 0:
                break
        k -= 1
    m = re.search(r'([A-Za-z_]\w*)\s*$', text[start:k])
    if not m or m.group(1) in KEYWORDS:
        return None
    params = [param_name(a) for a in split_args(text, k)]
    if params == [('void', False)]:
        params = []
    return m.group(1), start + m.start(1), params


def after_quoted(text, i):
    """Offset just past the C string or character literal opening at text[i]."""
    c, j, n = text[i], i + 1, len(text)
    while j < n and text[j] != c:
        j += 2 if text[j] == '\\' else 1
    return j + 1


def close_brace(text, at):
    """Offset of the '}' that closes the '{' at text[at]."""
    depth, i, n = 0, at, len(text)
    while i < n:
        c = text[i]
        if c in '"\'':
            i = after_quoted(text, i)
            continue
        if c == '{':
            depth += 1
        elif c == '}':
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return n - 1


def base_name(name):
    """A GCC clone's source name: trace_string.part.0 -> trace_string."""
    return name.split('.')[0]


# ------------------------------------------------------------- the search


class Report:
    def __init__(self, funcs, src):
        self.funcs = funcs
        self.src = src
        self.by_name = {}
        self.by_file = {}
        for fn in funcs.values():
            if fn.size is not None:
                self.by_name.setdefault(fn.name, []).append(fn)
                self.by_file.setdefault(fn.file, []).append(fn)
        self.find_entries()
        self.args_cache = {}

    def lookup(self, name, near_file=''):
        """The node of function name, preferring near_file's static one.
        'file:name' names a static function of that file."""
        if ':' in name:
            return self.funcs.get(name)
        cands = self.by_name.get(name, [])
        for fn in cands:
            if fn.file == norm(near_file):
                return fn
        for fn in cands:
            if fn.title == name:
                return fn
        if len(cands) == 1:
            return cands[0]
        return self.funcs.get(name)

    def find_entries(self):
        """Entries: functions passed to systemstack/mcall and wrappers."""
        self.entries = []     # (switch, entry Func, site file, site line, op)
        self.indirect = []    # (site file, line, wrapper, arg, resolved-by)
        wrappers = []
        for path, line, callee, args in self.src.calls(r'\w*systemstack|mcall'):
            if len(args) < 2:
                continue
            arg = args[1]
            base = callee.split('.')[-1].split('>')[-1]
            switch = 'mcall' if base == 'mcall' else 'systemstack'
            encl = self.src.def_at(path, line)
            if not IDENT_RE.match(arg):
                continue  # a declaration or definition, not a call
            fn = self.lookup(arg, path)
            if fn is None or fn.size is None:
                wrappers.append((path, line, encl, callee, arg))
                continue
            self.entries.append((switch, fn, path, line, args[0]))
        for path, line, encl, callee, arg in wrappers:
            wname = encl.name if encl else '?'
            self.indirect.append((path, line, wname, '%s(..., %s, ...)' % (callee, arg),
                                  'parameter of %s, passed on: its callers\' '
                                  'functions are entries themselves' % wname))

    def args_of(self, fname, index):
        key = (fname, index)
        if key not in self.args_cache:
            out = []
            for path, line, callee, args in self.src.calls(re.escape(fname)):
                if callee == fname and len(args) > index and IDENT_RE.match(args[index]):
                    fn = self.lookup(args[index], path)
                    if fn is not None and fn.size is not None:
                        out.append(fn.title)
            self.args_cache[key] = sorted(set(out))
        return self.args_cache[key]

    def worst(self, root_title, entry_title, variant, fatal):
        """Worst case from root: (bytes, chain); with fatal, the paths
        into FATAL functions count too."""
        self.notes = {}       # what was assumed or resolved on the way
        self.unbounded = []   # reasons the path cannot be bounded
        self.variant_seen = False
        self.memo = {}
        self.fatal = fatal
        self.entry = entry_title
        total, chain = self.dfs(root_title, (), variant, [])
        return total, chain

    def note(self, kind, text):
        self.notes.setdefault(kind, set()).add(text)

    def dfs(self, title, bind, variant, path):
        """Worst case from title: (bytes, chain).  bind holds what title's
        function-pointer parameters were passed on this path: a sorted tuple
        of (parameter, (titles...), (problems...))."""
        fn = self.funcs[title]
        if fn.size is None:  # external: a library or the assembly
            if fn.name in SWITCHES:
                self.note('switch', '%s: %s, 0 bytes here' % (fn.name, SWITCHES[fn.name]))
                return 0, [(fn.name, 0, 'asm')]
            cost, how = LIBRARY.get(fn.name, LIBRARY_DEFAULT)
            self.note('library', '%s: %d bytes, %s' % (fn.name, cost, how))
            return cost, [(fn.name, cost, 'library, ' + how.split(' ')[0])]
        key = (title, bind, variant)
        if key in self.memo:
            return self.memo[key]
        if 'dynamic' in fn.qual and 'bounded' not in fn.qual:
            self.unbounded.append('%s: dynamic frame with no bound' % fn.name)
        path = path + [(title, bind)]
        best, best_chain = 0, []
        skip = OFF_G0.get(fn.name, ())
        for dst, sfile, sline, scol in fn.calls:
            if dst in skip:
                self.note('off-g0', '%s -> %s: only before switching to g0, not followed'
                          % (fn.name, self.funcs[dst].name))
                continue
            if not self.fatal and self.dying(fn, dst, sfile, sline):
                continue
            expr = None
            if dst == '__indirect_call' and sfile:
                expr = self.src.callee_at(sfile, sline, scol)
            for t, extra in self.targets(fn, dst, sfile, sline, expr, bind, variant):
                if t is not None:
                    tb = self.bind_for(fn, t, sfile, sline, expr, bind)
                if t is None:
                    total, chain = extra
                elif (t, tb) in path:
                    seg = [s for s, b in path[path.index((t, tb)):]]
                    bound = RECURSION.get(self.funcs[t].name)
                    names = ' -> '.join(self.funcs[s].name for s in seg + [t])
                    if bound is None:
                        self.unbounded.append('recursion %s: no bound' % names)
                        total, chain = 0, []
                    else:
                        seg_bytes = sum(self.funcs[s].size for s in seg)
                        self.note('recursion', '%s: at most %d deep, %d bytes a round'
                                  % (names, bound, seg_bytes))
                        total = (bound - 1) * seg_bytes
                        chain = [('(recursion %s x%d)' % (self.funcs[t].name, bound - 1),
                                  total, 'bound')]
                else:
                    total, chain = self.dfs(t, tb, variant, path)
                if total > best or not best_chain:
                    best, best_chain = total, chain
        where = '%s:%d' % (fn.file, fn.line)
        res = (fn.size + best, [(fn.name, fn.size, where)] + best_chain)
        self.memo[key] = res
        return res

    def dying(self, fn, dst, sfile, sline):
        """Does this call only happen on the way to ending the process?"""
        name = self.funcs[dst].name
        if name in FATAL:
            return True
        if name not in PRINTERS:
            return False
        return any(self.funcs[d].name in FATAL and f == sfile and sline < l <= sline + DYING_LINES
                   for d, f, l, c in fn.calls)

    def targets(self, fn, dst, sfile, sline, expr, bind, variant):
        """Resolve one call edge: a list of (title, None) or (None, (bytes, chain))."""
        if dst != '__indirect_call':
            return [(dst, None)]
        site = '%s:%d' % (sfile, sline)
        how = INDIRECT.get(expr)
        if how is None:
            text = 'indirect call `%s` in %s at %s: not in the table' % (expr, fn.name, site)
            self.unbounded.append(text)
            return [(None, (0, [('(unresolved %s)' % expr, 0, site)]))]
        if how == 'ENTRY':
            self.note('indirect', '`%s` in %s (%s): the entry: %s'
                      % (expr, fn.name, site, self.funcs[self.entry].name))
            return [(self.entry, None)]
        if how == 'PASSED':
            ts, problems = self.value_of(fn, sfile, sline, expr, bind)
            for p in problems:
                self.unbounded.append('indirect `%s` in %s (%s): %s' % (expr, fn.name, site, p))
            self.note('indirect', '`%s` in %s (%s): the function passed on this path: %s'
                      % (expr, fn.name, site,
                         ', '.join(self.funcs[t].name for t in ts) or 'none'))
            if not ts:
                return [(None, (0, [('(unresolved %s)' % expr, 0, site)]))]
            return [(t, None) for t in ts]
        if isinstance(how, dict):
            self.variant_seen = True
            name = how[variant or sorted(how)[0]]
            self.note('indirect', '`%s` in %s (%s): %s dump: %s'
                      % (expr, fn.name, site, variant, name))
            return [(self.lookup(name, sfile).title, None)]
        if isinstance(how, tuple) and how[0] == 'assume':
            self.note('indirect', '`%s` in %s (%s): not in the runtime yet, assumed %d bytes'
                      % (expr, fn.name, site, how[1]))
            return [(None, (how[1], [('(%s)' % expr, how[1], 'assumed')]))]
        if isinstance(how, tuple) and how[0] == 'args':
            ts = self.args_of(how[1], how[2])
            self.note('indirect', '`%s` in %s (%s): argument %d of %s(): %s'
                      % (expr, fn.name, site, how[2], how[1],
                         ', '.join(self.funcs[t].name for t in ts) or 'none found'))
            return [(t, None) for t in ts]
        out = []
        for name in how:
            t = self.lookup(name, sfile)
            if t is None:
                self.unbounded.append('indirect `%s`: target %s not found' % (expr, name))
                continue
            out.append((t.title, None))
        self.note('indirect', '`%s` in %s (%s): %s' % (expr, fn.name, site, ', '.join(how)))
        return out

    def value_of(self, fn, sfile, sline, expr, bind, depth=0):
        """The functions expression expr can be at sfile:sline, inside the
        body of node fn reached with bind: (sorted titles, problems).

        A function's name is itself.  A parameter of fn is what the caller
        passed on this path (bind).  A parameter of another function is a
        body GCC inlined into fn: its value is the argument fn's own call
        of that function passes, resolved the same way."""
        site = '%s:%d' % (sfile, sline)
        d = self.src.def_at(sfile, sline) if sfile else None
        params = [p for p, ptr in d.params] if d else []
        if expr not in params:
            t = self.lookup(expr, sfile) if IDENT_RE.match(expr or '') else None
            if t is not None and t.size is not None:
                return [t.title], []
            return [], ['`%s` at %s is neither a function nor a parameter' % (expr, site)]
        if d.name == base_name(fn.name):
            for p, ts, problems in bind:
                if p == expr:
                    return list(ts), list(problems)
            return [], ['parameter `%s` of %s: no call on this path passed it' % (expr, d.name)]
        # d was inlined into fn: fn's calls of d say what expr is.
        idx = params.index(expr)
        fdef = self.src.def_of(fn.file, base_name(fn.name))
        out, problems, found = set(), [], False
        if fdef is not None and depth < 4:
            for line in range(fdef.first, fdef.last + 1):
                for callee, args in self.src.calls_at(fn.file, line):
                    if callee == d.name and len(args) > idx:
                        found = True
                        ts, ps = self.value_of(fn, fn.file, line, args[idx], bind, depth + 1)
                        out.update(ts)
                        problems += ps
        if not found:
            # inlined more than one level deep: every function passed as
            # that argument anywhere in the sources, said so.
            ts = self.args_of(d.name, idx)
            self.note('indirect', '`%s` of %s inlined into %s: no call of %s in its body; '
                      'bounded by every function passed to %s(): %s'
                      % (expr, d.name, fn.name, d.name, d.name,
                         ', '.join(self.funcs[t].name for t in ts) or 'none'))
            out.update(ts)
            if not ts:
                problems.append('parameter `%s` of %s, inlined into %s: no call passes a function'
                                % (expr, d.name, fn.name))
        return sorted(out), problems

    def bind_for(self, fn, t, sfile, sline, expr, bind):
        """What the call fn -> t at sfile:sline passes for t's
        function-pointer parameters, as dfs's bind (expr: the callee
        expression of an indirect call, else None)."""
        callee = self.funcs[t]
        if callee.size is None:
            return ()
        tdef = self.src.def_of(callee.file, base_name(callee.name))
        ptrs = [(i, p) for i, (p, ptr) in enumerate(tdef.params if tdef else []) if ptr]
        if not ptrs:
            return ()
        if not sfile and base_name(callee.name) == base_name(fn.name):
            return bind  # GCC split fn in two (.part.0): the same call
        want = expr or base_name(callee.name)
        args = None
        for c, a in self.src.calls_at(sfile, sline) if sfile else []:
            if c == want or (expr is None and c.split('.')[-1].split('>')[-1] == want):
                args = a
                break
        out = []
        for i, p in ptrs:
            if args is None or len(args) <= i:
                why = 'no call of %s found at %s:%d' % (want, sfile, sline)
                out.append((p, (), (why,)))
                continue
            ts, problems = self.value_of(fn, sfile, sline, args[i], bind)
            out.append((p, tuple(ts), tuple(problems)))
        return tuple(sorted(out))


# ---------------------------------------------------------------- output


def kib(n):
    return '%.1f KiB' % (n / 1024)


def print_frames(funcs, out):
    rows = sorted((f for f in funcs.values() if f.size is not None),
                  key=lambda f: (-f.size, f.name))
    out.write('== Frames, largest first (%d functions)\n\n' % len(rows))
    out.write('%7s  %-16s %-32s %s\n' % ('Bytes', 'Qualifier', 'Function', 'Location'))
    for f in rows:
        out.write('%7d  %-16s %-32s %s:%d\n' % (f.size, f.qual, f.name, f.file, f.line))
    out.write('\n')


def print_chain(chain, out):
    """The deepest chain, innermost first, as the Linux stack tracer prints
    it: Depth is the stack used from the top of g0 down to the end of that
    frame, Size the frame itself."""
    out.write('        Depth    Size   Location    (%d entries)\n' % len(chain))
    out.write('        -----    ----   --------\n')
    depths, acc = [], 0
    for name, size, where in chain:
        acc += size
        depths.append(acc)
    for i, idx in enumerate(range(len(chain) - 1, -1, -1)):
        name, size, where = chain[idx]
        out.write('  %2d) %8d %7d   %s (%s)\n' % (i, depths[idx], size, name, where))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--root', default='.', help='the source tree (default: .)')
    ap.add_argument('--src', nargs='*', default=['vm', 'scheduler', 'gc', 'trace'],
                    help='folders of C sources to scan, relative to --root')
    ap.add_argument('--ci-dir', help='read .ci files from here, do not build')
    ap.add_argument('--build', default='build/stackreport',
                    help='scons build folder (default: build/stackreport)')
    ap.add_argument('--compile', action='store_true',
                    help='compile each --src file with gcc -O2 into --build '
                         '(fixtures), instead of scons')
    ap.add_argument('--json', default='build/stack-report.json',
                    help='where to write the JSON report')
    ap.add_argument('--sysstack', type=int, default=G0_DEFAULT,
                    help='g0 bytes to check against (default %d)' % G0_DEFAULT)
    ap.add_argument('--reserve', type=int, default=RESERVE,
                    help='bytes kept for signal handlers (default %d)' % RESERVE)
    ap.add_argument('--no-frames', action='store_true', help='skip the table of frames')
    a = ap.parse_args(argv)
    out = sys.stdout
    root = os.path.abspath(a.root)

    files = []
    for d in a.src:
        for dp, dn, fn in os.walk(os.path.join(root, d)):
            dn.sort()
            files += [os.path.relpath(os.path.join(dp, f), root) for f in sorted(fn)
                      if f.endswith('.c')]

    ci_dir = a.ci_dir
    if ci_dir is None:
        ci_dir = build(root, a.build, files, a.compile)
    ci_files = []
    for dp, dn, fn in os.walk(os.path.join(root, ci_dir)):
        for f in sorted(fn):
            path = os.path.join(dp, f)
            if not f.endswith('.ci'):
                continue
            # A build folder keeps the objects of a source file that was
            # renamed or removed since: leave out what no source has.
            source = ci_source(path)
            if source is not None and not os.path.exists(os.path.join(root, source)):
                sys.stderr.write('stack_report: %s left out: %s is gone\n' % (path, source))
                continue
            ci_files.append(path)
    if not ci_files:
        sys.exit('stack_report: no .ci files under %s' % ci_dir)

    funcs = load_graph(ci_files)
    src = Sources(root, files)
    rep = Report(funcs, src)
    if not a.no_frames:
        print_frames(funcs, out)

    out.write('== System-stack entries (g0 %d bytes, signal reserve %d bytes)\n\n'
              % (a.sysstack, a.reserve))
    for path, line, wname, call, why in rep.indirect:
        out.write('indirect entry: %s in %s (%s:%d): %s\n' % (call, wname, path, line, why))
    if rep.indirect:
        out.write('\n')

    results = []
    seen = set()
    for switch, fn, path, line, op in rep.entries:
        if fn.title in seen:
            continue
        seen.add(fn.title)
        tramp = rep.lookup(TRAMPOLINE[switch], 'scheduler/switch.c')
        root_t = tramp.title if tramp is not None and tramp.size is not None else fn.title
        total, chain = rep.worst(root_t, fn.title, None, False)
        variants = [None]
        if rep.variant_seen:
            variants = sorted({v for how in INDIRECT.values() if isinstance(how, dict)
                               for v in how})
        for v in variants:
            ftotal, fchain = rep.worst(root_t, fn.title, v, True)
            total, chain = rep.worst(root_t, fn.title, v, False)
            name = fn.name if v is None else '%s (%s dump)' % (fn.name, v)
            results.append({
                'entry': name, 'function': fn.name, 'switch': switch,
                'op': op.strip('"'), 'site': '%s:%d' % (path, line),
                'variant': v, 'worst_case_bytes': total,
                'fatal_worst_case_bytes': ftotal,
                'fatal_chain': [n for n, s2, w in fchain],
                'chain': [{'function': n, 'frame_bytes': s} for n, s, w in chain],
                'assumptions': {k: sorted(v2) for k, v2 in rep.notes.items()},
                'unbounded': sorted(set(rep.unbounded)),
                '_chain': chain,
            })

    fails = []
    legacy_over = []
    for r in sorted(results, key=lambda r: -r['worst_case_bytes']):
        out.write('-- %s  via %s("%s") at %s: worst case %d bytes (%s)\n'
                  % (r['entry'], r['switch'], r['op'], r['site'],
                     r['worst_case_bytes'], kib(r['worst_case_bytes'])))
        print_chain(r['_chain'], out)
        for kind in ('indirect', 'recursion', 'off-g0', 'switch'):
            for t in r['assumptions'].get(kind, []):
                out.write('     %-9s %s\n' % (kind + ':', t))
        libs = r['assumptions'].get('library', [])
        if libs:
            out.write('     library:  %d functions, bytes as in the table of assumptions\n'
                      % len(libs))
        for t in r['unbounded']:
            out.write('     UNBOUNDED: %s\n' % t)
        if r['fatal_worst_case_bytes'] > r['worst_case_bytes']:
            f = r['fatal_worst_case_bytes']
            out.write('     fatal:    %d bytes (%s) on a path that ends the process: %s%s\n'
                      % (f, kib(f), ' -> '.join(r['fatal_chain'][-4:]),
                         '  (over g0 with the reserve: the message becomes a '
                         'g0 overflow report)' if f + a.reserve > a.sysstack else ''))
        need = r['worst_case_bytes'] + a.reserve
        ok = need <= a.sysstack and not r['unbounded']
        legacy = r['variant'] == 'legacy'
        out.write('     %s: %d + %d reserve = %d of %d bytes%s\n\n'
                  % ('fits' if ok else 'DOES NOT FIT', r['worst_case_bytes'], a.reserve,
                     need, a.sysstack,
                     '  (the legacy dump, kept for comparison: not in the verdict)'
                     if legacy and not ok else ''))
        if not ok and legacy and not r['unbounded']:
            legacy_over.append(r['entry'])
        elif not ok:
            fails.append(r['entry'])

    used = sorted({t for r in results for t in r['assumptions'].get('library', [])})
    out.write('== Library calls on these paths (no .su data: the LIBRARY table)\n\n')
    for t in used:
        out.write('  %s\n' % t)
    out.write('\n')

    out.write('== Targets (notes: they do not change the verdict)\n\n')
    for r in sorted(results, key=lambda r: r['entry']):
        if r['variant'] == 'direct':
            w = r['worst_case_bytes']
            out.write('  %s  direct stack dump %s: %d <= %d\n'
                      % ('pass' if w <= TARGET_DUMP else 'FAIL', r['entry'], w, TARGET_DUMP))
    for r in sorted(results, key=lambda r: r['entry']):
        w = r['worst_case_bytes']
        out.write('  %s  entry %s: %d <= %d\n'
                  % ('pass' if w <= TARGET_ENTRY else 'FAIL', r['entry'], w, TARGET_ENTRY))
    out.write('\n')

    json_path = os.path.join(root, a.json)
    os.makedirs(os.path.dirname(json_path) or '.', exist_ok=True)
    with open(json_path, 'w') as f:
        # one entry a line: valid JSON that grep and the C test can read too
        f.write('[\n')
        rows = [{k: v for k, v in r.items() if not k.startswith('_')} for r in results]
        f.write(',\n'.join(json.dumps(r) for r in rows))
        f.write('\n]\n')

    if fails:
        out.write('verdict: FAIL: %s\n' % ', '.join(fails))
        return 1
    out.write('verdict: every entry fits in %d bytes with %d reserved%s\n'
              % (a.sysstack, a.reserve,
                 ' (but the legacy dump: %s)' % ', '.join(legacy_over) if legacy_over else ''))
    return 0


def build(root, folder, files, direct):
    """Compile and return the folder holding the .ci files."""
    if direct:
        for f in files:
            obj = os.path.join(folder, os.path.splitext(f)[0] + '.o')
            os.makedirs(os.path.join(root, os.path.dirname(obj)), exist_ok=True)
            cmd = ['gcc', '-std=gnu11', '-O2', '-fstack-usage', '-fcallgraph-info=su',
                   '-fstack-clash-protection', '-c', f, '-o', obj]
            subprocess.run(cmd, cwd=root, check=True)
        return folder
    # The release build's own flags, plus -fcallgraph-info, through CC: the
    # SConstruct takes CC from the environment and puts it first on every
    # compile line.
    env = dict(os.environ)
    env['CC'] = env.get('CC', 'gcc') + ' -fcallgraph-info=su'
    libs = os.path.join(folder, 'lib')
    subprocess.run(['scons', '-Q', '-j2', 'build=' + folder, libs], cwd=root, env=env,
                   check=True, stdout=subprocess.DEVNULL)
    return os.path.join(folder, 'obj')


if __name__ == '__main__':
    sys.exit(main())
