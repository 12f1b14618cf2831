#!/usr/bin/env python3
"""gotooltrace.py TRACE: start `go tool trace` on TRACE on a loopback port and
fetch its pages, as a person opening it in a browser would.  Exit 0 when the
server starts and every page answers 200; else print why and exit 1.

`go tool trace` is two processes: the `go` command runs the `trace` tool as
its child, and the child is the server.  Killing `go` alone leaves the server
listening, reparented to init; so the server gets a process group of its
own, and the whole group is killed at the end."""
import os, signal, socket, subprocess, sys, time, urllib.request

GO = "/usr/lib/go-1.19/bin/go"
PAGES = ["/", "/goroutines", "/trace", "/jsontrace", "/io", "/block", "/syscall",
         "/sched", "/usertasks", "/userregions", "/mmu"]

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

def main():
    trace = sys.argv[1]
    port = free_port()
    env = dict(os.environ, BROWSER="true")
    srv = subprocess.Popen([GO, "tool", "trace", "-http=127.0.0.1:%d" % port, trace],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                           start_new_session=True)
    try:
        base = "http://127.0.0.1:%d" % port
        for _ in range(200):  # up to 20 s to parse and split the trace
            if srv.poll() is not None:
                print("go tool trace exited: " + srv.stdout.read().decode()[-600:])
                return 1
            try:
                urllib.request.urlopen(base + "/", timeout=5).read()
                break
            except OSError:
                time.sleep(0.1)
        for page in PAGES:
            try:
                r = urllib.request.urlopen(base + page, timeout=30)
                r.read()
                if r.status != 200:
                    print("%s: HTTP %d" % (page, r.status))
                    return 1
            except Exception as e:
                print("%s: %s" % (page, e))
                return 1
        return 0
    finally:
        try:
            os.killpg(srv.pid, signal.SIGKILL)  # `go` and its `trace` child
        except ProcessLookupError:
            pass
        srv.wait()

sys.exit(main())
