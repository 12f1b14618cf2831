#!/usr/bin/env bash
# stack_report.sh: the static stack report's verdict and targets as tests
# (tests/stackrep/stack_report.py, docs/stack-frames.md).
# Usage: tests/scripts/stack_report.sh BUILD_DIR.  Prints failures and a
# closing "N passed, N failed".  One test for the verdict (every
# system-stack entry's worst case plus the signal reserve fits g0), one per
# target note: the direct dump within 1 KiB, every entry within 4 KiB except
# the legacy dump, which must NOT fit 4 KiB (the point of the comparison).
set -u
dir=$1
case "$dir" in
*debug*)
	echo "stack report: not run for $dir: its AddressSanitizer frames are not the release frames the report checks"
	echo "stack report: 0 passed, 0 failed"
	exit 0
	;;
esac
. "$(dirname "$0")/common.bash"
check() { # check NAME OK(0/1) DETAIL
	if [ "$2" -eq 0 ]; then npass=$((npass + 1)); else
		echo "FAIL stack report: $1: $3"
		nfail=$((nfail + 1))
	fi
}

# The release build with GCC's call graph beside each object, as
# ./run stack-report builds it, then the report on it.
if ! scons -Q -j"$(nproc)" stackreport=1 build="$dir/stackreport" "$dir/stackreport/lib" \
	>"$tmp/scons.log" 2>&1; then
	tail -20 "$tmp/scons.log"
	echo "FAIL stack report: the build with -fcallgraph-info failed"
	echo "stack report: 0 passed, 1 failed"
	exit 1
fi
reserve=$("$dir/greenvm" run --stack-stats programs/hello.gasm 2>&1 >/dev/null |
	sed -n 's/.*signal reserve on g0: \([0-9]*\) bytes.*/\1/p')
python3 tests/stackrep/stack_report.py --ci-dir "$dir/stackreport/obj" --no-frames \
	${reserve:+--reserve "$reserve"} \
	--json "$dir/stackreport/stack-report.json" >"$tmp/report.txt" 2>&1
rc=$?

# The verdict: exit 0 and its closing line.
if [ $rc -eq 0 ] && grep -q '^verdict: every entry fits' "$tmp/report.txt"; then
	check verdict 0 ""
else
	grep -E 'DOES NOT FIT|UNBOUNDED|^verdict|Traceback|Error' "$tmp/report.txt" | head -20
	check verdict 1 "exit $rc (./run stack-report prints the whole report)"
fi

# The release build's SCHED_G0_STATIC_WORST (the line after #else).
static_worst=$(sed -n 's/^#define SCHED_G0_STATIC_WORST \([0-9]*\)u$/\1/p' scheduler/runtime.h)

# The targets, one note a line: "  pass|FAIL  what: bytes <= limit".
sed -n '/^== Targets/,/^verdict/p' "$tmp/report.txt" | grep -E '^  (pass|FAIL)  ' >"$tmp/targets"
ndirect=0
nlegacy=0
while read -r res what; do
	case "$what" in
	"direct stack dump "*)
		ndirect=$((ndirect + 1))
		[ "$res" = pass ]
		check "$what" $? "over the 1 KiB target"
		;;
	"entry "*"(legacy dump)"*)
		# expected over 4 KiB: "legacy dump does not fit 4 KiB"
		nlegacy=$((nlegacy + 1))
		[ "$res" = FAIL ]
		check "legacy dump does not fit 4 KiB: $what" $? "it fits: the comparison lost its point"
		;;
	*)
		[ "$res" = pass ]
		check "$what" $? "over the 4 KiB target"
		# and within the figure the runtime's smallest g0 is computed
		# from (SCHED_G0_STATIC_WORST, scheduler/runtime.h)
		bytes=$(sed -E 's/.*: ([0-9]+) <= .*/\1/' <<<"$what")
		[ "$bytes" -le "$static_worst" ]
		check "$what within SCHED_G0_STATIC_WORST" $? "$bytes > $static_worst: raise it in scheduler/runtime.h"
		;;
	esac
done <"$tmp/targets"
# Both kinds of note must be there, or the report changed its shape.
if [ $ndirect -eq 0 ] || [ $nlegacy -eq 0 ]; then
	check "target notes" 1 "found $ndirect direct-dump and $nlegacy legacy-dump notes, want both"
fi

echo "stack report: $npass passed, $nfail failed"
[ $nfail -eq 0 ]
