#!/usr/bin/env python3
"""docs_check.py: the commands the docs show still do what the docs say.

Usage: docs_check.py BUILD_DIR DOC.md...  (run from the top of the tree;
tests/scripts/docs.sh calls it).  Prints a FAIL line per broken command and
a closing "docs: N passed, N failed".

A fenced block marked ```console is a transcript: each line that starts with
"$ " is a command (a line ending in a backslash continues on the next), and
the lines after it, up to the next command, are its output (stdout and
stderr together).  The output must match line by line, except that a line
holding only "..." stands for any number of lines, and "..." inside a line
for any text in that line (a figure that depends on the machine: the rest
of the line is still checked).  A command's exit status
need not be 0 (a deadlock's is 2): the output says what happened.

A fenced block marked ```sh holds commands only: each must exit with 0,
every command of a pipe included (bash's pipefail), except that a writer
killed by SIGPIPE (status 141: its reader, `head` say, stopped early) is
not a failure.

An HTML comment on the line before a block changes how it is checked:
  <!-- docs-test: skip -->     not run (the text says why)
  <!-- docs-test: release -->  run only on the release build (the figures
                               are frame sizes, which ASan's build doubles)

Citations are checked too: "NAME file.c:LINE" or "NAME (file.c:LINE)" (a
function and where it is, as the stack report prints them) must name a file
of the tree whose line LINE holds NAME (for a .gasm, only that the line
exists: its functions' names are not on their lines); a table row "| `NAME` | `file.c` |"
and "`NAME` (`file.c`)" (C and assembly files) must name a file that defines NAME (a line that
starts a function, macro, struct or label of that name); a bare
"file.c:LINE" must name a line the file has.

In the commands, build/greenvm becomes BUILD_DIR/greenvm, and /tmp/ a fresh
directory of the test's own, so that runs of the test do not share files
(in what a command prints, that directory is /tmp/ again).
"""
import os
import re
import signal
import subprocess
import sys
import tempfile

TIMEOUT = 120  # seconds for one command


def blocks(path):
    """(kind, marker, first line number, lines) of each checked fenced block."""
    lines = open(path, encoding="utf-8").read().split("\n")
    out = []
    i = 0
    while i < len(lines):
        m = re.match(r"^```(console|sh)\s*$", lines[i])
        if not m:
            i += 1
            continue
        marker = ""
        if i > 0:
            mm = re.match(r"^<!-- docs-test: (\w+) -->$", lines[i - 1].strip())
            if mm:
                marker = mm.group(1)
        j = i + 1
        while j < len(lines) and not lines[j].startswith("```"):
            j += 1
        out.append((m.group(1), marker, i + 2, lines[i + 1:j]))
        i = j + 1
    return out


def commands(kind, body):
    """(command, expected output lines or None) pairs of a block."""
    cmds = []
    k = 0
    while k < len(body):
        line = body[k]
        if kind == "console" and not line.startswith("$ "):
            k += 1  # text before the first command: none expected
            continue
        cmd = line[2:] if kind == "console" else line
        k += 1
        while cmd.endswith("\\") and k < len(body):
            cmd = cmd + "\n" + body[k]  # bash reads the backslash-newline
            k += 1
        if kind == "sh":
            if cmd.strip() and not cmd.lstrip().startswith("#"):
                cmds.append((cmd, None))
            continue
        want = []
        while k < len(body) and not body[k].startswith("$ "):
            want.append(body[k])
            k += 1
        cmds.append((cmd, want))
    return cmds


def line_matches(w, g):
    """One line: equal, or with each "..." in w standing for any text."""
    if "..." not in w:
        return w == g
    return re.fullmatch(".*".join(re.escape(part) for part in w.split("...")), g, re.S) is not None


def matches(want, got):
    """want (with "..." lines) matches got exactly."""
    # reach[j]: want[:i] can match got[:j]
    reach = [True] + [False] * len(got)
    for w in want:
        if w == "...":
            for j in range(1, len(got) + 1):
                reach[j] = reach[j] or reach[j - 1]
        else:
            reach = [False] + [reach[j] and line_matches(w, got[j]) for j in range(len(got))]
    return reach[len(got)]


SRC = r"((?:vm|scheduler|trace|gc|tests|bench|programs)/[\w/.-]+\.(?:c|h|S|py|sh|gasm))"


def defines(path, name):
    """Does the file at path define name (function, macro, type, label)?"""
    pat = re.compile(r"^(?:[A-Za-z_].*[\s*])?%s\s*\(|^#define %s\b|^(?:typedef )?struct %s\b|"
                     r"^\s*\.?globl\s+%s\b|^%s:|^\.func %s\b|^\w.*\b%s\s*=" % ((re.escape(name),) * 7), re.M)
    return bool(pat.search(open(path, encoding="utf-8", errors="replace").read()))


def citations(doc):
    """(line number, what is wrong) of each citation of doc that is false."""
    bad = []
    for n, line in enumerate(open(doc, encoding="utf-8").read().split("\n"), 1):
        named = set()
        for m in re.finditer(r"`?([A-Za-z_][\w.]*)`?\s+\(?" + SRC + r":(\d+)\)?", line):
            name, path, ln = m.group(1), m.group(2), int(m.group(3))
            named.add(m.start(2))
            if not os.path.isfile(path):
                bad.append((n, "%s: no such file" % path))
                continue
            text = open(path, encoding="utf-8", errors="replace").read().split("\n")
            if name in ("at", "in", "see", "by", "from", "of") or not re.search(r"\.[chS]$", path):
                if ln > len(text):
                    bad.append((n, "%s:%d: the file has %d lines" % (path, ln, len(text))))
                continue
            base = re.sub(r"\.(part|isra|constprop|cold)\.\d+$", "", name)
            # The stack report's "indirect: `x` in FUNC (file:line)": the
            # line is a call site inside FUNC, which the file must define.
            if re.match(r"\s*indirect:", line) and ln <= len(text):
                if not defines(path, base):
                    bad.append((n, "%s does not define %s" % (path, base)))
                continue
            if ln > len(text) or base not in text[ln - 1]:
                bad.append((n, "%s:%d does not name %s" % (path, ln, base)))
        for m in re.finditer(SRC + r":(\d+)", line):
            if m.start(1) in named:
                continue
            path, ln = m.group(1), int(m.group(2))
            if not os.path.isfile(path):
                bad.append((n, "%s: no such file" % path))
            elif ln > len(open(path, encoding="utf-8", errors="replace").read().split("\n")):
                bad.append((n, "%s:%d: past the end of the file" % (path, ln)))
        pairs = re.findall(r"^\|[^|]*\|\s*`(\w+)`[^|]*\|\s*`" + SRC + r"`", line)
        pairs += re.findall(r"`(\w+)` \(`" + SRC + r"`\)", line)
        for name, path in pairs:
            if not re.search(r"\.[chS]$", path):
                continue
            if not os.path.isfile(path):
                bad.append((n, "%s: no such file" % path))
            elif not defines(path, name):
                bad.append((n, "%s does not define %s" % (path, name)))
    return bad


def run_cmd(cmd, env):
    """Run cmd with bash in the top folder, in a process group of its own
    that is killed whole on a timeout (so no server or child is left)."""
    p = subprocess.Popen(["bash", "-o", "pipefail", "-c", cmd], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         env=env, start_new_session=True)
    try:
        out, _ = p.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        return ["(timed out after %d s)" % TIMEOUT], -1
    return out.decode("utf-8", "replace").split("\n"), p.returncode


def main():
    build = sys.argv[1].rstrip("/")
    release = os.path.basename(os.path.abspath(build)) != "debug"
    tmp = tempfile.mkdtemp(prefix="docs_check.")
    env = dict(os.environ, LC_ALL="C")
    npass = nfail = 0
    for doc in sys.argv[2:]:
        for kind, marker, lineno, body in blocks(doc):
            if marker == "skip" or (marker == "release" and not release):
                continue
            for cmd, want in commands(kind, body):
                run = cmd.replace("build/greenvm", build + "/greenvm").replace("/tmp/", tmp + "/")
                got, rc = run_cmd(run, env)
                got = [l.replace(tmp + "/", "/tmp/") for l in got]
                if got and got[-1] == "":
                    got.pop()
                if want is None:
                    # 141: killed by SIGPIPE, a reader like head that
                    # stopped early; any other failure in a pipe counts
                    ok = rc in (0, 141)
                    why = "exit status %d: %s" % (rc, " | ".join(got[-3:]))
                else:
                    while want and want[-1] == "":
                        want.pop()
                    ok = matches(want, got)
                    why = "output differs; it printed:\n      " + "\n      ".join(got[:20])
                if ok:
                    npass += 1
                else:
                    nfail += 1
                    print("FAIL docs: %s:%d: $ %s\n    %s" % (doc, lineno, cmd, why))
        for n, why in citations(doc):
            nfail += 1
            print("FAIL docs: %s:%d: %s" % (doc, n, why))
        npass += 1
    subprocess.run(["rm", "-rf", tmp])
    print("docs: %d passed, %d failed" % (npass, nfail))
    return 1 if nfail else 0


if __name__ == "__main__":
    sys.exit(main())
