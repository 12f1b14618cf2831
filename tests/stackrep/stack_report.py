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
   by the table INDIRECT below, library calls cost what LIBRARY says,
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

G0_DEFAULT = 16 * 1024  # SCHED_SYSSTACK_DEFAULT in scheduler/stack.h

# Room kept on g0 for signal handlers that run on the current stack (the
# collector's suspend handler; our fault handler runs on the sigaltstack).
# Boehm's suspend handler was measured at about 3.1 KiB of g0 in a release
# build (tests/unit/test_stack.c, docs/stacks.md), the kernel's signal
# frame included; 4 KiB leaves about 0.9 KiB of margin.
RESERVE = 4 * 1024

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
# paths: systemstack called on g0 just calls fn (scheduler/stack.c); the
# M-stack room check and the switch come after that early return.
OFF_G0 = {
    'systemstack': {'scheduler/stack.c:sched_overflow_report', 'sched_systemstack_switch'},
}

# Indirect calls, by the callee expression at the call site.
#   'ENTRY'          the function the caller handed to systemstack/mcall
#   [names]          these functions (each one is followed)
#   {variant: name}  one report per variant (the two stack dumps)
#   ('args', f, i)   every function passed as argument i to f() in the sources
#   ('assume', n)    a hook not in the runtime yet: n bytes, printed
INDIRECT = {
    # systemstack's nested call, and trace_systemstack's with no hook
    'fn': 'ENTRY',
    # the trampolines on g0
    'c->fn': 'ENTRY',
    'm->mcall_fn': 'ENTRY',
    # the tracer's systemstack hook: the VM passes systemstack itself
    # (same signature); tests pass their own
    'trace.hooks.systemstack': ['systemstack'],
    # the tracer's clock hook: sched_nanotime has its signature
    'trace.hooks.nanotime': ['sched_nanotime'],
    # the VM's hooks, through the scheduler: "describe this PC" and "this
    # G's stack as PCs" (vm/interp.c)
    'trace.hooks.describe_pc': ['describe_pc_hook'],
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
FATAL = {'throw', 'sched_fatal', 'sched_overflow_report', 'sched_curm.part.0',
         'abort', 'exit', '_exit'}

# A message printed right before the process ends is on a fatal path too:
# a call to one of these followed, within DYING_LINES lines of the same
# function, by a call into FATAL ("fatal error: ...", then abort or exit).
PRINTERS = {'fprintf', 'vfprintf', 'fputs', 'fwrite', 'fputc', 'putc', 'write'}
DYING_LINES = 3

# Recursion allowed on g0, by function: the most frames it can have at once.
# systemstack nests when tracer work on g0 asks for g0 again: it then just
# calls the function (Go does the same).  The deepest nesting is trace stop
# -> trace stack dump -> trace flush or trace string: three levels.
RECURSION = {'systemstack': 3, 'trace_systemstack': 3}

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


def enclosing(funcs_by_file, path, line):
    """The defined function of path whose body holds line."""
    best = None
    for fn in funcs_by_file.get(norm(path), []):
        if fn.line <= line and (best is None or fn.line > best.line):
            best = fn
    return best


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
        """The node of function name, preferring near_file's static one."""
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
        self.ctx = {}         # title of a function -> the entries it passes
        wrappers = []
        for path, line, callee, args in self.src.calls(r'\w*systemstack|mcall'):
            if len(args) < 2:
                continue
            arg = args[1]
            base = callee.split('.')[-1].split('>')[-1]
            switch = 'mcall' if base == 'mcall' else 'systemstack'
            encl = enclosing(self.by_file, path, line)
            if not IDENT_RE.match(arg):
                continue  # a declaration or definition, not a call
            fn = self.lookup(arg, path)
            if fn is None or fn.size is None:
                wrappers.append((path, line, encl, callee, arg))
                continue
            self.entries.append((switch, fn, path, line, args[0]))
            if encl:
                self.ctx.setdefault(encl.title, set()).add(fn.title)
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
        total, chain = self.dfs(root_title, frozenset([entry_title]), variant, [])
        return total, chain

    def note(self, kind, text):
        self.notes.setdefault(kind, set()).add(text)

    def dfs(self, title, ctx, variant, path):
        fn = self.funcs[title]
        if fn.size is None:  # external: a library or the assembly
            if fn.name in SWITCHES:
                self.note('switch', '%s: %s, 0 bytes here' % (fn.name, SWITCHES[fn.name]))
                return 0, [(fn.name, 0, 'asm')]
            cost, how = LIBRARY.get(fn.name, LIBRARY_DEFAULT)
            self.note('library', '%s: %d bytes, %s' % (fn.name, cost, how))
            return cost, [(fn.name, cost, 'library, ' + how.split(' ')[0])]
        ctx = frozenset(self.ctx.get(title, ctx))
        key = (title, ctx, variant)
        if key in self.memo:
            return self.memo[key]
        if 'dynamic' in fn.qual and 'bounded' not in fn.qual:
            self.unbounded.append('%s: dynamic frame with no bound' % fn.name)
        path = path + [title]
        best, best_chain = 0, []
        skip = OFF_G0.get(fn.name, ())
        for dst, sfile, sline, scol in fn.calls:
            if dst in skip:
                self.note('off-g0', '%s -> %s: only before switching to g0, not followed'
                          % (fn.name, self.funcs[dst].name))
                continue
            if not self.fatal and self.dying(fn, dst, sfile, sline):
                continue
            for t, extra in self.targets(fn, dst, sfile, sline, scol, ctx, variant):
                if t is None:
                    total, chain = extra
                elif t in path:
                    seg = path[path.index(t):]
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
                    total, chain = self.dfs(t, ctx, variant, path)
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

    def targets(self, fn, dst, sfile, sline, scol, ctx, variant):
        """Resolve one call edge: a list of (title, None) or (None, (bytes, chain))."""
        if dst != '__indirect_call':
            return [(dst, None)]
        site = '%s:%d' % (sfile, sline)
        expr = self.src.callee_at(sfile, sline, scol) if sfile else None
        how = INDIRECT.get(expr)
        if how is None:
            text = 'indirect call `%s` in %s at %s: not in the table' % (expr, fn.name, site)
            self.unbounded.append(text)
            return [(None, (0, [('(unresolved %s)' % expr, 0, site)]))]
        if how == 'ENTRY':
            names = sorted(self.funcs[t].name for t in ctx)
            self.note('indirect', '`%s` in %s (%s): the entry passed in: %s'
                      % (expr, fn.name, site, ', '.join(names)))
            return [(t, None) for t in sorted(ctx)]
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
        ci_files += [os.path.join(dp, f) for f in sorted(fn) if f.endswith('.ci')]
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
        tramp = rep.lookup(TRAMPOLINE[switch], 'scheduler/stack.c')
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
        out.write('     %s: %d + %d reserve = %d of %d bytes\n\n'
                  % ('fits' if ok else 'DOES NOT FIT', r['worst_case_bytes'], a.reserve,
                     need, a.sysstack))
        if not ok:
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
    out.write('verdict: every entry fits in %d bytes with %d reserved\n' % (a.sysstack, a.reserve))
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
