#!/usr/bin/env bash
# sched.sh: the scheduler as users break it: many short FFI calls with and
# without --trace at 1 to 8 Ps (more Ps than cores), many runs; signals
# arriving; a g0 at the smallest size accepted, with the collector running.
# Usage: tests/scripts/sched.sh BUILD_DIR.  Prints failures and a closing
# "sched: N passed, N failed".
set -u
dir=$1
bin=$dir/greenvm
go=/usr/lib/go-1.19/bin/go
. "$(dirname "$0")/common.bash"
pass() { npass=$((npass + 1)); }
fail() { echo "FAIL sched: $*"; nfail=$((nfail + 1)); }

# The debug build is several times slower: fewer repetitions there.
reps=2 untraced=60
case "$dir" in *debug*) reps=1 untraced=20 ;; esac

# 1. Traced programs with many short FFI calls finish at every --procs from
# 1 to 8, every run, and Go's parser accepts every trace.  (They once hung:
# an M took its P back after sysmon had given it to another M that was in a
# syscall on it, and the other M then waited for ever.)
for p in 1 2 3 4 5 6 7 8; do
	for prog in ffi_many ffi_eight; do
		n=$reps
		[ $prog = ffi_eight ] && n=1
		for i in $(seq $n); do
			t=$tmp/$prog.trace
			rm -f "$t"
			rc=0
			timeout 60 "$bin" run --procs=$p --trace="$t" tests/programs/$prog.gasm \
				>"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
			if [ $rc -ne 0 ]; then
				fail "$prog --procs=$p --trace (run $i): exit $rc $(head -2 "$tmp/err" | tr '\n' ' ')"
			elif ! "$go" tool trace -d "$t" >/dev/null 2>"$tmp/goerr"; then
				fail "$prog --procs=$p (run $i): go tool trace -d: $(grep -v Parsing "$tmp/goerr" | head -2)"
			else
				pass
			fi
		done
	done
done

# 2. Untraced at one P, many runs: no false deadlock, no crash.  (Once one
# run in a hundred reported a deadlock while sysmon held a P it had taken
# from a syscall, then crashed scheduling without a P.)
bad=0
for i in $(seq $untraced); do
	rc=0
	timeout 60 "$bin" run --procs=1 tests/programs/ffi_many.gasm >"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
	if [ $rc -ne 0 ] || [ "$(cat "$tmp/out")" != ok ]; then
		bad=$((bad + 1))
		[ $bad -eq 1 ] && echo "  first failure: exit $rc: $(head -3 "$tmp/err" | tr '\n' ' ')"
	fi
done
[ $bad -eq 0 ] && pass || fail "ffi_many --procs=1: $bad of $untraced runs failed"

# 3. Signals.  spin.gasm prints a line, parks a goroutine and loops.
# SIGTERM and SIGINT: exit 128+signal, the line is not lost, the trace is
# finished (Go's parser reads it).  SIGQUIT: exit 2 with every goroutine
# and each M and P on stderr.
start_spin() { # start_spin TRACE: runs spin.gasm in the background
	rm -f "$1"
	"$bin" run --procs=2 --trace="$1" tests/programs/spin.gasm >"$tmp/out" 2>"$tmp/err" </dev/null &
	spin=$!
	# The trace file exists once the handlers are in place (sched_init);
	# a slow start (the debug build on a loaded machine) must not lose
	# the signal.  Then let it run a little.
	for _ in $(seq 200); do [ -e "$1" ] && break; sleep 0.1; done
	sleep 0.3
}
stop_spin() { # stop_spin SIG: send it, wait at most 60 s; sets rc
	kill -"$1" $spin
	for _ in $(seq 600); do kill -0 $spin 2>/dev/null || break; sleep 0.1; done
	if kill -0 $spin 2>/dev/null; then
		kill -9 $spin
		echo "  SIG$1 did not end the program in 60 s" >>"$tmp/err"
	fi
	rc=0
	wait $spin || rc=$?
}
for sig in TERM INT; do
	want=143
	[ $sig = INT ] && want=130
	start_spin "$tmp/sig.trace"
	stop_spin $sig
	if [ $rc -ne $want ]; then
		fail "SIG$sig: exit $rc, want $want: $(head -2 "$tmp/err" | tr '\n' ' ')"
	elif [ "$(cat "$tmp/out")" != started ]; then
		fail "SIG$sig: the program's output was lost: '$(cat "$tmp/out")'"
	elif ! "$go" tool trace -d "$tmp/sig.trace" >/dev/null 2>"$tmp/goerr"; then
		fail "SIG$sig: go tool trace -d: $(grep -v Parsing "$tmp/goerr" | head -2)"
	else
		pass
	fi
done
start_spin "$tmp/quit.trace"
stop_spin QUIT
missing=""
for want in 'SIGQUIT: quit' 'goroutine 1 [running]:' 'stack unavailable' 'goroutine 2 [chan receive]:' 'waiter()' \
	'spin.gasm:' 'SCHED ' '  P0: status=' '  P1: status=' '  M0: '; do
	grep -qF -- "$want" "$tmp/err" || missing="$missing '$want'"
done
if [ $rc -ne 2 ] || [ -n "$missing" ]; then
	fail "SIGQUIT: exit $rc (want 2), stderr lacks$missing"
elif ! "$go" tool trace -d "$tmp/quit.trace" >/dev/null 2>&1; then
	fail "SIGQUIT: the trace is not finished"
else
	pass
fi

# 4. In deterministic mode, with the real trace clock, a 300 ms C call
# shows as 300 ms in the trace (the virtual scheduler clock stands still
# while a goroutine runs; the trace must not measure with it).
"$bin" run --sched=deterministic --trace="$tmp/det.trace" programs/ffi_sleep.gasm >/dev/null 2>&1
ms=$("$bin" trace stats "$tmp/det.trace" 2>/dev/null | sed -n '1s/.* events, \([0-9]*\)\.[0-9]* ms.*/\1/p')
if [ -n "$ms" ] && [ "$ms" -ge 300 ] && [ "$ms" -lt 3000 ]; then
	pass
else
	fail "deterministic ffi_sleep: the trace lasts '${ms}' ms, want 300 or more"
fi

# 5. The smallest g0 greenvm accepts (measured signal frame + the static
# worst case) holds the collector's signals at several Ps: programs that
# park and wake Ms all the time, with the collector stopping them.
min=$("$bin" run --stack-stats programs/hello.gasm 2>&1 >/dev/null |
	sed -n 's/.*smallest --sysstack accepted: \([0-9]*\) bytes.*/\1/p')
if [ -z "$min" ]; then
	fail "--stack-stats does not print the smallest --sysstack accepted"
else
	pass
	rc=0
	"$bin" run --sysstack=$((min - 4096)) programs/hello.gasm >/dev/null 2>"$tmp/err" || rc=$?
	[ $rc -eq 1 ] && grep -q "is too small" "$tmp/err" && pass ||
		fail "--sysstack=$((min - 4096)) (below $min): exit $rc, $(head -1 "$tmp/err")"
	progs=("ring.gasm" "spawn_many.gasm 100000" "pingpong.gasm 2000" "gcstress_chan.gasm" "workers.gasm")
	# the debug build is many times slower: smaller runs there
	case "$dir" in *debug*) progs=("ring.gasm 2000" "spawn_many.gasm 1000" "pingpong.gasm 500" "workers.gasm") ;; esac
	for prog in "${progs[@]}"; do
		read -r -a a <<<"$prog"
		bad=""
		for p in 2 4; do
			for gs in "" --gc-stress=20; do
				rc=0
				timeout 120 "$bin" run --procs=$p --sysstack=$min $gs "programs/${a[0]}" "${a[@]:1}" \
					>/dev/null 2>"$tmp/err" </dev/null || rc=$?
				if [ $rc -ne 0 ]; then
					bad="$bad [--procs=$p $gs: exit $rc $(head -2 "$tmp/err" | tr '\n' ' ')]"
				fi
			done
		done
		[ -z "$bad" ] && pass || fail "$prog at --sysstack=$min:$bad"
	done
fi

# 6. sysmon backs off while it only preempts.  A CPU-bound goroutine is
# asked to yield every 10 ms; that must not keep sysmon on its 20 µs
# period.  It did (preempting counted as "did something", which Go's
# retake does not count): some 5,000 wake-ups a second, each one taking
# a core from a running M, and two CPU-bound goroutines at 2 Ps ran 1.5x
# as fast as at 1 P instead of 1.9x.  Every sysmon sleep is a voluntary
# context switch of the process: at its 10 ms back-off, about 100 a
# second, some 500 with the start (5,000 before the fix); the bound
# leaves room for both.
read -r secs nvcsw < <(python3 -c 'import resource, subprocess, sys, time
t = time.monotonic()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
print(time.monotonic() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_nvcsw)' \
	"$bin" run --procs=1 bench/cpu.gasm 1)
rate=$(awk -v s="$secs" -v n="$nvcsw" 'BEGIN { printf "%d", n / s }')
[ "${rate:-99999}" -lt 1000 ] && pass ||
	fail "a CPU-bound goroutine at 1 P: $nvcsw voluntary context switches in $secs s ($rate a second; sysmon does not back off)"

echo "sched: $npass passed, $nfail failed"
[ $nfail -eq 0 ]
