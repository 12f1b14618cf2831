#!/usr/bin/env bash
# stacks.sh: what greenvm reports about its stacks at run time.
# Usage: tests/scripts/stacks.sh BUILD_DIR.  Prints failures and a closing
# "N passed, N failed".
set -u
bin=$1/greenvm
. "$(dirname "$0")/common.bash"
check() { # check NAME CONDITION-STATUS DETAIL
	if [ "$2" -eq 0 ]; then npass=$((npass + 1)); else
		echo "FAIL stacks: $1: $3"
		nfail=$((nfail + 1))
	fi
}
debug=0
case "$1" in *debug*) debug=1 ;; esac

# --stack-stats=json is one JSON object with the M, operation and VM figures;
# with a trace, the dump is an operation of its own.
"$bin" run --procs=2 --stack-stats=json --trace="$tmp/t.trace" programs/deep_stack.gasm \
	>/dev/null 2>"$tmp/stats.json"
python3 - "$tmp/stats.json" "$debug" >"$tmp/why" 2>&1 <<'PY'
import json, sys
s = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
debug = sys.argv[2] == "1"
assert s["ms"], "no Ms"
for m in s["ms"]:
    assert m["g0_bytes"] == 16384, m
    # an M started late in a short run may never have used its stacks
    assert 0 <= m["g0_high_water"] <= m["g0_bytes"], m
    assert 0 <= m["mstack_deepest"] <= m["mstack_bytes"], m
assert any(m["g0_high_water"] > 0 for m in s["ms"]), s["ms"]
assert any(m["mstack_deepest"] > 0 for m in s["ms"]), s["ms"]
ops = s["operations"]
for op in ("schedule", "park", "trace stop", "trace stack dump"):
    assert op in ops, "operation %r missing from %s" % (op, sorted(ops))
# The seed's target: the direct dump fits in 1 KiB of g0 (release frames;
# AddressSanitizer's red zones make debug frames larger).
if not debug:
    assert ops["trace stack dump"] <= 1024, ops
    # and so does the whole stop, which runs the dump: it went to 1640 bytes
    # while the dynamic linker bound library symbols lazily, its resolver
    # running on g0 at a function's first call (SConstruct links -z now)
    assert ops["trace stop"] <= 1024, ops
assert s["vm_stacks"]["largest_bytes"] >= 512 and s["vm_stacks"]["growths"] > 0, s["vm_stacks"]
PY
check "--stack-stats=json" $? "$(tail -3 "$tmp/why")"

# The text form names the same things.
"$bin" run --stack-stats programs/hello.gasm >/dev/null 2>"$tmp/stats.txt"
grep -q '^  M 0: g0 16384 bytes, high-water [0-9]* bytes; M stack [0-9]* bytes, deepest use [0-9]* bytes$' "$tmp/stats.txt"
check "--stack-stats text" $? "$(head -3 "$tmp/stats.txt")"

# --sysstack changes every g0.
"$bin" run --sysstack=64K --stack-stats=json programs/hello.gasm >/dev/null 2>"$tmp/s64.json"
grep -q '"g0_bytes": 65536' "$tmp/s64.json"
check "--sysstack=64K" $? "$(cat "$tmp/s64.json")"

# A goroutine's VM stack is freed when the goroutine ends, and the old copy
# when a stack grows or shrinks (Go's stackfree), not left to the collector:
# an idle M's frames may still hold a stale pointer to it, which would pin
# it (several MiB here) as long as that M sleeps.  Several runs: which M
# sleeps holding what depends on the schedule.
for run in 1 2 3; do
	"$bin" run --procs=2 --gc-stats --gc-stress=1000 tests/programs/stack_release.gasm \
		>/dev/null 2>"$tmp/gc.txt"
	last=$(sed -nE 's/.*, last ([0-9.]+) MiB.*/\1/p' "$tmp/gc.txt")
	awk -v l="${last:-99}" 'BEGIN { exit !(l < 2.0) }'
	check "dead goroutine stacks freed (run $run)" $? "heap in use after the last collection: ${last:-?} MiB, want < 2: $(cat "$tmp/gc.txt")"
done

# An M-stack overflow is reported as one (debug builds have the hook).
if [ $debug -eq 1 ]; then
	"$bin" run --debug-overflow-mstack programs/hello.gasm >/dev/null 2>"$tmp/err"
	rc=$?
	[ $rc -eq 2 ] && grep -q 'fatal error: M stack overflow' "$tmp/err" &&
		grep -q 'M 0: M stack of 8388608 bytes overflowed' "$tmp/err"
	check "M stack overflow report" $? "exit $rc: $(head -2 "$tmp/err")"
fi

echo "stack checks: $npass passed, $nfail failed"
[ $nfail -eq 0 ]
