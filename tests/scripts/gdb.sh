#!/usr/bin/env bash
# gdb.sh: vm/greenvm-gdb.py on a live greenvm stopped in gdb (batch mode).
# programs/parked.gasm is stopped where main has called nap and every other
# goroutine waits for something different; the commands must show each.
# Usage: tests/scripts/gdb.sh BUILD_DIR.  Prints failures and a closing
# "gdb: N passed, N failed".
set -u
bin=$1/greenvm
. "$(dirname "$0")/common.bash"
# expect NAME REGEX: a line of the last gdb output matches REGEX.
expect() {
	if grep -Eq -- "$2" "$tmp/out"; then npass=$((npass + 1)); else
		echo "FAIL gdb: $1: no line matching '$2' in:"
		sed 's/^/    /' "$tmp/out" | head -30
		nfail=$((nfail + 1))
	fi
}
if ! command -v gdb >/dev/null; then
	echo "FAIL gdb: gdb is missing (./run test installs it)"
	echo "gdb: 0 passed, 1 failed"
	exit 1
fi
# LeakSanitizer cannot run under ptrace; the process is killed anyway.
export ASAN_OPTIONS=detect_leaks=0
stop() { # stop PROCS: run parked.gasm to main's second yield, run the commands
	timeout 300 gdb -batch -nx -ex 'source vm/greenvm-gdb.py' \
		-ex 'break sched_gosched' -ex 'ignore 1 1' -ex run \
		-ex 'info goroutines' -ex 'goroutine 1 bt' -ex 'goroutine 3 bt' -ex 'info ms' \
		-ex 'goroutine 99 bt' -ex kill \
		--args "$bin" run "$@" programs/parked.gasm >"$tmp/out" 2>&1 </dev/null
}

stop --sched=deterministic
expect "info goroutines: main" '^\* 1 +running +nap programs/parked.gasm:36$'
expect "info goroutines: receiver" '^  2 +waiting +chan receive +receiver programs/parked.gasm:43$'
expect "info goroutines: sender" '^  3 +waiting +chan send +sender programs/parked.gasm:53$'
expect "info goroutines: sleeper" '^  4 +waiting +sleep +sleeper programs/parked.gasm:60$'
expect "goroutine 1 bt: header" '^goroutine 1 \[running\]:$'
expect "goroutine 1 bt: nap" '^#0 +nap\(\) programs/parked.gasm:36$'
expect "goroutine 1 bt: main" '^#1 +main\(\) programs/parked.gasm:20$'
expect "goroutine 3 bt" '^goroutine 3 \[chan send\]:$'
expect "goroutine 99" 'no goroutine 99'
expect "info ms: M0" '^M0  LWP [0-9]+  g0 \[0x[0-9a-f]+, 0x[0-9a-f]+\) 16384 bytes  sp 0x[0-9a-f]+ on the M stack  P: P0  G: G1$'

# Two Ps: whatever the other M is doing, it is listed with its g0, and the
# M that hit the breakpoint runs G1 on its M stack.
stop --procs=2 --sysstack=32K
expect "info ms, two Ps: G1's M" '^M[0-9]+  LWP [0-9]+  g0 .* 32768 bytes  sp 0x[0-9a-f]+ on the M stack  P: P[01]  G: G1$'
# (M1 may still be starting: the main thread makes Ms' threads and stacks)
expect "info ms, two Ps: M1" '^M1  (LWP [0-9]+  g0 \[0x[0-9a-f]+, 0x[0-9a-f]+\) 32768 bytes|starting: its thread has not begun to run)'

echo "gdb: $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
