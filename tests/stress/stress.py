#!/usr/bin/env python3
"""stress.py: run every bundled and test program again and again under random
scheduler conditions, and keep what is needed to reproduce any failure.

Usage: tests/stress/stress.py [SECONDS] [--seed N] [--greenvm PATH] [--out DIR]

Each run picks, from this runner's own generator (seeded by --seed, printed at
the start, so a whole stress run can be repeated):
  - a program (every case once per round, in a shuffled order),
  - --procs from 1 to 8 (not for --sched=deterministic programs),
  - --sysstack at or above the smallest size greenvm accepts (--stack-stats),
  - --trace or not, --gc-stress or not,
  - a chaos seed, passed as GREENVM_SCHED_CHAOS.
Its exit status and stdout must be what the program test expects (for a
bundled program: what a plain run printed), and its trace must pass
`go tool trace -d`.  A run longer than 10x its usual time is a hang: it gets
SIGQUIT (greenvm prints every goroutine) and is then killed.  Each failure
leaves build/stress/failures/N/ with the command (repro.sh), its stdout,
stderr (the goroutine dump, for a hang), the trace and why it failed.
Ends with "N runs, N failures"; exits 1 on any failure.  docs/stress.md.
"""
import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GO = "/usr/lib/go-1.19/bin/go"

# Bundled programs run with their default arguments, except these: the
# defaults of the first two are benchmark-sized (a million goroutines), which
# chaos mode makes minutes long; the third writes the trace file it is given
# (OUT: the runner's output folder).
# Bundled programs whose output lines come in the schedule's order (the
# exercises' spin.gasm and order.gasm): any order of the same lines passes.
ANY_ORDER = {"spin", "order"}
# Bundled programs whose output depends on the schedule by design (parked.gasm,
# for gdb: main may end before the receiver prints): stdout is not checked.
OUTPUT_RACES = {"parked"}

BUNDLED_ARGS = {
    "spawn_many": ["20000"],
    "spawn_test": ["10000"],
    "trace_startstop": ["OUT/trace_startstop.trace"],
}

HANG_FACTOR = 10       # a run over 10x its usual time is a hang
HANG_FLOOR = 30.0      # seconds: never call a run shorter than this a hang (chaos
                       # alone makes one seed's run 100x another's: mutex.gasm
                       # took 0.06 s and 7 s, both fine)
FIRST_RUN_CAP = 300.0  # seconds: the cap of a class's first (calibrating) run
PLAIN_CAP = 120.0      # seconds: the cap of a plain run (./run test's timeout)
QUIT_GRACE = 20.0      # seconds the goroutine dump may take after SIGQUIT


class Case:
    """One program to run: greenvm run's options and arguments as the test
    gives them, and what a run must produce."""

    def __init__(self, name, args, status=0, out=None, err_lines=()):
        self.name = name
        self.args = args              # after "run": options, FILE, program args
        self.status = status          # wanted exit status
        self.out = out                # wanted stdout (bytes), None: not checked
        # its lines may come in any order (the order is the schedule's)
        self.any_order = False
        self.check_out = True
        self.err_lines = list(err_lines)  # each must appear in stderr
        self.deterministic = "--sched=deterministic" in args
        # A program that starts a trace itself (tracestart) is never given
        # --trace: like Go's trace.Start, its start fails if one is running.
        self.traces_itself = any(uses_tracestart(a) for a in args if a.endswith(".gasm"))


def uses_tracestart(gasm):
    try:
        with open(os.path.join(TOP, gasm)) as fh:
            return any(l.split(";")[0].split()[:1] == ["tracestart"] for l in fh)
    except OSError:
        return False


def test_cases():
    """The program tests that use `run`, read through tests/progtest.py, the
    one place that knows the layout of tests/programs.  A case run with and
    without --sched=deterministic gives one Case each.  The command-line
    tests (cli_*, and any that expect exit status 1, a usage error) are left
    out: the options the stress runner adds would change what they test."""
    sys.path.insert(0, os.path.join(TOP, "tests"))
    import progtest
    cwd = os.getcwd()
    os.chdir(TOP)
    try:
        found = progtest.cases()
    finally:
        os.chdir(cwd)
    cases = []
    for c in found:
        if c.subcommand != "run" or c.name.startswith("cli_") or c.status == 1:
            continue
        seen = set()
        for argv in c.argvs():
            args = argv[1:]  # after "run"
            det = "--sched=deterministic" in args
            if det in seen:
                continue
            seen.add(det)
            # the runner chooses --procs itself
            args = [a for a in args if not a.startswith("--procs=")]
            cases.append(Case("test:" + c.name + (":det" if det else ""), args, c.status,
                              c.out, c.stderr))
    return cases


def bundled_cases(out):
    """Every programs/*.gasm; what a plain run does is what it must do."""
    cases = []
    for f in sorted(os.listdir(os.path.join(TOP, "programs"))):
        if f.endswith(".gasm"):
            name = f[:-5]
            args = [a.replace("OUT", os.path.relpath(out, TOP)) for a in BUNDLED_ARGS.get(name, [])]
            c = Case("prog:" + name, ["programs/" + f] + args)
            c.any_order = name in ANY_ORDER
            c.check_out = name not in OUTPUT_RACES
            cases.append(c)
    return cases


def split_options(args):
    """greenvm run's options (the leading --words) and the rest."""
    i = 0
    while i < len(args) and args[i].startswith("--"):
        i += 1
    return args[:i], args[i:]


def has_opt(opts, name):
    return any(o == name or o.startswith(name + "=") for o in opts)


def smallest_sysstack(greenvm):
    p = subprocess.run([greenvm, "run", "--stack-stats", "programs/hello.gasm"],
                       cwd=TOP, capture_output=True, text=True, timeout=120)
    m = re.search(r"smallest --sysstack accepted: (\d+) bytes", p.stderr + p.stdout)
    if not m:
        sys.exit("stress: --stack-stats printed no smallest --sysstack:\n" + p.stderr)
    return int(m.group(1))


def shell_quote(w):
    if re.fullmatch(r"[A-Za-z0-9_./=:,+-]+", w):
        return w
    return "'" + w.replace("'", "'\\''") + "'"


class Runner:
    def __init__(self, opts):
        self.greenvm = opts.greenvm
        self.out = opts.out
        self.rng = random.Random(opts.seed)
        self.runs = 0
        self.failures = 0
        # (case name, --gc-stress?, --trace?) -> the longest passing run's seconds
        self.usual = {}
        self.log = open(os.path.join(self.out, "runs.log"), "w")
        self.work = os.path.join(self.out, "run")
        os.makedirs(self.work, exist_ok=True)
        self.min_sysstack = smallest_sysstack(self.greenvm)
        self.page = os.sysconf("SC_PAGE_SIZE")

    # ------------------------------------------------------------ one run
    def execute(self, argv, env_extra, cap):
        """Run greenvm; SIGQUIT it after cap seconds.  Returns (status,
        seconds, hung); stdout and stderr are in the work folder."""
        env = dict(os.environ)
        env.pop("GREENVM_SCHED_CHAOS", None)
        env.update(env_extra)
        t0 = time.monotonic()
        with open(os.path.join(self.work, "stdout"), "wb") as so, \
                open(os.path.join(self.work, "stderr"), "wb") as se:
            p = subprocess.Popen(argv, cwd=TOP, env=env, stdin=subprocess.DEVNULL,
                                 stdout=so, stderr=se, start_new_session=True)
            hung = False
            try:
                p.wait(timeout=cap)
            except KeyboardInterrupt:
                os.killpg(p.pid, signal.SIGKILL)
                raise
            except subprocess.TimeoutExpired:
                hung = True
                p.send_signal(signal.SIGQUIT)
                try:
                    p.wait(timeout=QUIT_GRACE)
                except subprocess.TimeoutExpired:
                    se.write(b"\nstress: no exit %gs after SIGQUIT: SIGKILL\n" % QUIT_GRACE)
                    se.flush()
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        return p.returncode, time.monotonic() - t0, hung

    def read(self, name):
        with open(os.path.join(self.work, name), "rb") as fh:
            return fh.read()

    def check(self, case, status, trace):
        """Why this run is wrong, or None."""
        if status != case.status:
            if status < 0:
                return "killed by signal %d, want exit %d" % (-status, case.status)
            return "exit status %d, want %d" % (status, case.status)
        out = self.read("stdout")
        if case.out is not None and case.check_out and out != case.out and not (
                case.any_order and sorted(out.splitlines()) == sorted(case.out.splitlines())):
            return "stdout differs: got %r, want %r" % (out[:200], case.out[:200])
        err = self.read("stderr").decode("utf-8", "replace")
        for line in case.err_lines:
            if line not in err:
                return "stderr lacks %r" % line
        if trace and case.status != 1:   # status 1: refused before running
            if not os.path.exists(trace):
                return "no trace written"
            p = subprocess.run([GO, "tool", "trace", "-d", trace], cwd=TOP,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if p.returncode != 0:
                msg = [l for l in p.stderr.splitlines() if not l.startswith("Parsing")]
                return "go tool trace -d: " + " ".join(msg[:3])
        return None

    def keep(self, argv, env_extra, why, trace):
        """Keep a failure: build/stress/failures/N/."""
        self.failures += 1
        d = os.path.join(self.out, "failures", str(self.failures))
        os.makedirs(d, exist_ok=True)
        for f in ("stdout", "stderr"):
            shutil.copy(os.path.join(self.work, f), os.path.join(d, f))
        argv = list(argv)
        if trace:
            kept = os.path.join(os.path.relpath(d, TOP), "trace")
            if os.path.exists(trace):
                shutil.copy(trace, os.path.join(TOP, kept))
            argv = [("--trace=" + kept if a == "--trace=" + trace else a) for a in argv]
        cmd = " ".join(["%s=%s" % kv for kv in env_extra.items()] + [shell_quote(a) for a in argv])
        with open(os.path.join(d, "repro.sh"), "w") as fh:
            fh.write("#!/bin/sh\n# %s\ncd %s || exit 1\n%s\n" % (why, shell_quote(TOP), cmd))
        os.chmod(os.path.join(d, "repro.sh"), 0o755)
        with open(os.path.join(d, "why"), "w") as fh:
            fh.write(why + "\n")
        print("FAIL stress #%d: %s\n  %s\n  kept in %s" % (self.failures, why, cmd,
                                                         os.path.relpath(d, TOP)), flush=True)

    # ------------------------------------------------------------ phases
    def plain(self, case):
        """A bundled program's plain run (no chaos, default options) sets
        what every run of it must do: its exit status and stdout."""
        argv = [self.greenvm, "run"] + case.args
        status, secs, hung = self.execute(argv, {}, PLAIN_CAP)
        self.runs += 1
        self.log.write("%.2fs plain %s\n" % (secs, " ".join(argv)))
        if case.name.startswith("prog:") and not hung:
            case.status = status
            case.out = self.read("stdout")
            return
        why = "hung (SIGQUIT after %gs)" % PLAIN_CAP if hung else self.check(case, status, None)
        if why:
            self.keep(argv, {}, "plain run: " + why, None)

    def stress(self, case):
        r = self.rng
        opts, rest = split_options(case.args)
        new = []
        if not case.deterministic:
            opts = [o for o in opts if not has_opt([o], "--procs")]
            new.append("--procs=%d" % r.randint(1, 8))
        if not has_opt(opts, "--sysstack"):
            if r.random() < 0.3:
                size = self.min_sysstack
            else:
                size = self.min_sysstack + self.page * r.randint(0, (65536 - self.min_sysstack) // self.page)
            new.append("--sysstack=%d" % size)
        trace = None
        if r.random() < 0.5 and not case.traces_itself:
            trace = os.path.join(os.path.relpath(self.work, TOP), "trace")
            if os.path.exists(os.path.join(TOP, trace)):
                os.remove(os.path.join(TOP, trace))
            opts = [o for o in opts if not has_opt([o], "--trace")]
            new.append("--trace=" + trace)
        gc = has_opt(opts, "--gc-stress")
        if not gc and r.random() < 0.5:
            new.append("--gc-stress")
            gc = True
        chaos = r.randint(1, 2**32 - 1)
        env_extra = {"GREENVM_SCHED_CHAOS": str(chaos)}
        argv = [self.greenvm, "run"] + opts + new + rest

        key = (case.name, gc, trace is not None)
        usual = self.usual.get(key)
        cap = FIRST_RUN_CAP if usual is None else max(HANG_FLOOR, HANG_FACTOR * usual)
        status, secs, hung = self.execute(argv, env_extra, cap)
        self.runs += 1
        self.log.write("%.2fs GREENVM_SCHED_CHAOS=%d %s\n" % (secs, chaos, " ".join(argv)))
        self.log.flush()
        if hung:
            why = "hang: over %.1fs (%s), SIGQUIT; exit %d" % (
                cap, "first run of its kind" if usual is None else "10x its usual %.2fs" % usual, status)
        else:
            why = self.check(case, status, os.path.join(TOP, trace) if trace else None)
        if why:
            self.keep(argv, env_extra, why, os.path.join(TOP, trace) if trace else None)
        elif usual is None or secs > usual:
            self.usual[key] = secs


def main():
    ap = argparse.ArgumentParser(description="greenvm's scheduler stress runner (docs/stress.md)")
    ap.add_argument("seconds", nargs="?", type=float, default=300)
    ap.add_argument("--seed", type=int, default=None,
                    help="seed of the runner's own choices (default: from the clock)")
    ap.add_argument("--greenvm", default="build/greenvm")
    ap.add_argument("--out", default="build/stress")
    opts = ap.parse_args()
    if opts.seed is None:
        opts.seed = int(time.time() * 1000) % 1000000007
    opts.out = os.path.join(TOP, opts.out)
    shutil.rmtree(opts.out, ignore_errors=True)
    os.makedirs(opts.out)

    t_end = time.monotonic() + opts.seconds
    runner = Runner(opts)
    cases = bundled_cases(opts.out) + test_cases()
    print("stress: seed %d, %gs, %d programs, %s, smallest --sysstack %d (repeat: "
          "tests/stress/stress.py %g --seed %d)" % (opts.seed, opts.seconds, len(cases),
                                                   opts.greenvm, runner.min_sysstack,
                                                   opts.seconds, opts.seed), flush=True)
    for c in cases:
        if c.name.startswith("prog:"):
            runner.plain(c)
    rounds = 0
    while time.monotonic() < t_end:
        order = list(cases)
        runner.rng.shuffle(order)
        for c in order:
            if time.monotonic() >= t_end:
                break
            runner.stress(c)
        else:
            rounds += 1
    runner.log.close()
    print("stress: %d full rounds over %d programs, log in %s" % (
        rounds, len(cases), os.path.relpath(os.path.join(opts.out, "runs.log"), TOP)))
    print("%d runs, %d failures" % (runner.runs, runner.failures), flush=True)
    return 1 if runner.failures else 0


if __name__ == "__main__":
    sys.exit(main())
