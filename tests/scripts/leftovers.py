#!/usr/bin/env python3
"""leftovers.py MARK: the processes a test run left running (./run test).

Every process the suite starts inherits GREENVM_TEST_RUN=MARK.  Print one
line "PID COMMAND" for each live process that carries it, other than this
one's ancestors (./run itself, waiting for this), kill each, and exit 0.
Run it without the variable itself (env -u GREENVM_TEST_RUN), so that it
does not find itself."""
import os, signal, sys

def ancestors():
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            with open("/proc/%d/stat" % pid) as f:
                pid = int(f.read().rsplit(")", 1)[1].split()[1])  # field 4: ppid
        except (OSError, ValueError, IndexError):
            break
    return pids

def main():
    want = b"GREENVM_TEST_RUN=" + sys.argv[1].encode()
    skip = ancestors()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in skip:
            continue
        pid = int(name)
        try:
            with open("/proc/%d/environ" % pid, "rb") as f:
                if want not in f.read().split(b"\0"):
                    continue
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:  # gone meanwhile, a zombie, or not ours to read
            continue
        if not cmd:  # a zombie has no command line: it is not running
            continue
        print("  %d %s" % (pid, cmd[:200]))
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return 0

sys.exit(main())
