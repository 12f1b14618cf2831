#!/usr/bin/env python3
"""progtest.py: greenvm's program tests, one file per case (tests/programs/).

A case is a .gasm program that starts with a header, or, for a program kept
elsewhere (programs/*.gasm), a small NAME.case file that is only a header.
The header is the leading comment lines of the form "; KEY: VALUE", as in
Go's test/ directory where a file's first comment says how to run it:

    ; program: programs/ring.gasm   the program (.case files only; a .gasm
                                    case runs itself)
    ; procs: 1 2 4                  run once per entry: N is --procs=N, det is
                                    --sched=deterministic, - is neither
                                    (absent: one run, neither)
    ; options: --gc-stress          more options of `run`, before --procs
    ; args: 20                      the program's arguments
    ; subcommand: none              `greenvm FILE ...` instead of `greenvm run`
    ; status: 2                     the exit status (absent: 0)
    ; stderr: fatal error: ...      a line that must appear in stderr (one
                                    key a line; each is a substring match)
    ; out: hello                    one line of the exact expected stdout
                                    ("; out:" alone is an empty line)

Instead of "; out:" lines a case may have one NAME.out beside it (long
outputs).  With neither, stdout must be empty.  Every run of a case has the
same expectations: a case whose output differs with --procs is two cases.
Values are split on blanks (no quoting), as the old .cmd files were.

    tests/progtest.py check BUILD/greenvm   run every case; print FAIL lines and
                                            "programs (...): N passed, N failed"
    tests/progtest.py list                  one line a run: greenvm's arguments
    tests/progtest.py convert               turn old-form tests (NAME.cmd with
                                            NAME.out, .err, .status) into cases
"""

import glob
import os
import re
import subprocess
import sys
import tempfile

DIR = 'tests/programs'
KEYS = ('program', 'procs', 'options', 'args', 'subcommand', 'status', 'stderr', 'out')
HEADER = re.compile(r'^; (%s):(?: (.*))?$' % '|'.join(KEYS))


class Case:
    def __init__(self, path):
        self.path = path
        self.name = os.path.splitext(os.path.basename(path))[0]
        self.fields = {k: [] for k in KEYS}
        with open(path, encoding='utf-8') as f:
            for line in f:
                line = line.rstrip('\n')
                if not line.startswith(';'):
                    break
                m = HEADER.match(line)
                if m:
                    self.fields[m.group(1)].append(m.group(2) or '')
        one = lambda k, d='': self.fields[k][-1] if self.fields[k] else d
        self.program = one('program') if path.endswith('.case') else path
        self.procs = one('procs', '-').split()
        self.options = one('options').split()
        self.args = one('args').split()
        self.subcommand = one('subcommand', 'run')
        self.status = int(one('status', '0'))
        self.stderr = self.fields['stderr']
        out = os.path.splitext(path)[0] + '.out'
        if os.path.exists(out):
            with open(out, 'rb') as f:
                self.out = f.read()
        else:
            self.out = ''.join(l + '\n' for l in self.fields['out']).encode()

    def argvs(self):
        """greenvm's arguments for each run."""
        for p in self.procs:
            procs = [] if p == '-' else ['--sched=deterministic'] if p == 'det' else ['--procs=' + p]
            sub = [] if self.subcommand == 'none' else [self.subcommand]
            yield sub + self.options + procs + [self.program] + self.args


def cases():
    paths = sorted(glob.glob(DIR + '/*.gasm') + glob.glob(DIR + '/*.case'))
    return [c for c in map(Case, paths) if c.path.endswith('.case') or
            any(c.fields[k] for k in KEYS)]


def check(greenvm):
    ok = bad = 0
    for c in cases():
        for argv in c.argvs():
            why = run_one(greenvm, c, argv)
            if why:
                print('FAIL: greenvm %s (%s): %s' % (' '.join(argv), c.path, why))
                bad += 1
            else:
                ok += 1
    print('programs (%s): %d passed, %d failed' % (greenvm, ok, bad))
    return 1 if bad else 0


def run_one(greenvm, c, argv):
    try:
        p = subprocess.run([greenvm] + argv, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=120)
    except subprocess.TimeoutExpired:
        return 'timed out after 120 s'
    if p.returncode != c.status:
        return 'exit status %d, want %d: %s' % (p.returncode, c.status, short(p.stderr))
    if p.stdout != c.out:
        return 'stdout differs: want %r, got %r' % (c.out[:200], p.stdout[:200])
    err = p.stderr.decode('utf-8', 'replace').split('\n')
    for want in c.stderr:
        if not any(want in l for l in err):
            return "stderr lacks '%s': %s" % (want, short(p.stderr))
    return None


def short(b):
    return ' '.join(b.decode('utf-8', 'replace').split('\n')[:3])


# ---- the old form ----------------------------------------------------------

def convert():
    """Turn every DIR/NAME.cmd (with .out, .err, .status) into a case.  Old
    tests that differ only in --procs or --sched=deterministic, with the same
    expectations, become one case with a procs list.  A tests/programs/*.gasm
    they run gets the header, unless it has one: then a .case names it."""
    old = []
    for cmd in sorted(glob.glob(DIR + '/*.cmd')):
        name = cmd[:-4]
        argv = open(cmd).read().split()
        read = lambda ext, mode='r': open(name + ext, mode).read() if os.path.exists(name + ext) else None
        t = parse_argv(argv)
        t.update(name=os.path.basename(name), argv=argv, files=[name + e for e in
                 ('.cmd', '.out', '.err', '.status') if os.path.exists(name + e)],
                 out=read('.out', 'rb') or b'', err=(read('.err') or '').splitlines(),
                 status=int((read('.status') or '0').strip()))
        old.append(t)
    groups = {}
    for t in old:
        key = (t['subcommand'], tuple(t['options']), t['program'], tuple(t['args']),
               t['out'], tuple(t['err']), t['status'])
        groups.setdefault(key, []).append(t)
    taken = {c.name for c in cases()}
    for t in old:
        for f in t['files']:
            subprocess.run(['git', 'rm', '-q', '-f', f], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)
            if os.path.exists(f):
                os.remove(f)
    for ts in groups.values():
        write_case(ts, taken)


def parse_argv(argv):
    t = {'subcommand': 'none', 'options': [], 'procs': '-'}
    i = 0
    if argv and argv[0] in ('run',):
        t['subcommand'] = argv[0]
        i = 1
    while i < len(argv) and argv[i].startswith('-'):
        a = argv[i]
        if a.startswith('--procs='):
            t['procs'] = a[len('--procs='):]
        elif a == '--sched=deterministic':
            t['procs'] = 'det'
        else:
            t['options'].append(a)
        i += 1
    t['program'] = argv[i] if i < len(argv) else ''
    t['args'] = argv[i + 1:]
    return t


def write_case(ts, taken):
    t = ts[0]
    prog = t['program']
    own = (os.path.dirname(prog) == DIR and prog.endswith('.gasm') and os.path.exists(prog)
           and not any(Case(prog).fields[k] for k in KEYS))
    free = lambda n: n not in taken and not any(os.path.exists('%s/%s%s' % (DIR, n, e))
                                                for e in ('.case', '.gasm', '.out'))
    base = re.sub(r'_(p\d+|det\d*)$', '', t['name'])
    if own:
        name = os.path.splitext(os.path.basename(prog))[0]
    elif len(ts) == 1 or any(re.sub(r'_(p\d+|det\d*)$', '', u['name']) != base for u in ts):
        name = t['name']
    else:
        name = base if free(base) else base + '_procs'
    taken.add(name)
    head = []
    if not own:
        head.append('; program: %s' % prog)
    procs = [u['procs'] for u in ts]
    if procs != ['-']:
        head.append('; procs: %s' % ' '.join(procs))
    if t['options']:
        head.append('; options: %s' % ' '.join(t['options']))
    if t['args']:
        head.append('; args: %s' % ' '.join(t['args']))
    if t['subcommand'] != 'run':
        head.append('; subcommand: %s' % t['subcommand'])
    if t['status']:
        head.append('; status: %d' % t['status'])
    out_lines = t['out'].decode('utf-8', 'replace').split('\n')
    inline = t['out'] == b'' or t['out'].endswith(b'\n') and len(out_lines) <= 13 and b'\r' not in t['out']
    # A header above an existing program moves its lines down: the stderr
    # lines that cite a line of it move too.
    shift = 0
    if own:
        shift = len(head) + len(t['err']) + (len(out_lines) - 1 if inline else 0) + 1
    for l in t['err']:
        if shift:
            l = re.sub(re.escape(prog) + r':(\d+)', lambda m: '%s:%d' % (prog, int(m.group(1)) + shift), l)
        head.append('; stderr: %s' % l)
    if inline:
        head += [('; out: ' + l) if l else '; out:' for l in out_lines[:-1]]
    elif t['out']:
        with open('%s/%s.out' % (DIR, name), 'wb') as f:
            f.write(t['out'])
    text = '\n'.join(head) + '\n'
    if own:
        body = open(prog).read()
        with open(prog, 'w') as f:
            f.write(text + ';\n' + body)
    else:
        with open('%s/%s.case' % (DIR, name), 'w') as f:
            f.write(text)


def main(argv):
    if len(argv) == 3 and argv[1] == 'check':
        return check(argv[2])
    if len(argv) == 2 and argv[1] == 'list':
        for c in cases():
            for a in c.argvs():
                print(' '.join(a))
        return 0
    if len(argv) == 2 and argv[1] == 'convert':
        convert()
        return 0
    sys.stderr.write('usage: tests/progtest.py check BUILD/greenvm | list | convert\n')
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
