#!/usr/bin/env bash
# timeline.sh: the views of `greenvm trace html|json` that issue 15 added:
# one goroutine followed on click (here through the page's #g=N address),
# virtual-clock times in ticks, and a 2.4 M-event trace that still gives an
# html page under 20 MB that Chromium opens without errors, and json in
# parts that each parse.
# Usage: tests/scripts/timeline.sh BUILD_DIR.  Prints failures and a
# closing "timeline: N passed, N failed".
set -u
bin=$1/greenvm
. "$(dirname "$0")/common.bash"
check() { # check NAME STATUS DETAIL
	if [ "$2" -eq 0 ]; then npass=$((npass + 1)); else
		echo "FAIL timeline: $1: $3"
		nfail=$((nfail + 1))
	fi
}
# open PAGE.html[#...]: Chromium's DOM after the scripts ran, in $tmp/dom,
# its log in $tmp/log; status 0 if it printed no console error.
open_page() {
	local d
	d=$(mktemp -d)
	timeout 180 /usr/bin/chromium --headless --no-sandbox --disable-gpu \
		--disable-background-networking --disable-component-update --disable-sync \
		--no-first-run --enable-logging=stderr --v=0 --window-size=1400,900 \
		--user-data-dir="$d" --dump-dom "file://$1" >"$tmp/dom" 2>"$tmp/log"
	local rc=$?
	rm -rf "$d"
	[ $rc -eq 0 ] && ! grep -qE 'Uncaught|:CONSOLE\(' "$tmp/log"
}
det=(--sched=deterministic --trace-clock=virtual)

# 1. programs/life.gasm: goroutine 2 is followed: its GoCreate and the
# GoUnblock it writes are its two flows; the header counts ticks.
"$bin" run "${det[@]}" --trace="$tmp/life.trace" programs/life.gasm >/dev/null
"$bin" trace html "$tmp/life.trace" -o "$tmp/life.html"
grep -q '11 events, 11 ticks, 2 goroutines, 1 Ps' "$tmp/life.html"
check "virtual clock in ticks" $? "$(grep -o '[0-9]* events, [^.]*' "$tmp/life.html")"
open_page "$tmp/life.html#g=2"
check "life page opens" $? "$(grep -E 'Uncaught|CONSOLE' "$tmp/log" | head -3)"
grep -q 'data-focus="2" data-flows="2"' "$tmp/dom"
check "follow G2" $? "$(grep -o '<body[^>]*>' "$tmp/dom")"
open_page "$tmp/life.html"
grep -q 'data-focus="" data-flows="0"' "$tmp/dom"
check "no goroutine followed" $? "$(grep -o '<body[^>]*>' "$tmp/dom")"

# 2. Goroutine colours keep away from the state colours' hues (blue 217,
# amber 43, red 0, purple 255): the page's own gcol, for G1..G5000.
python3 - "$tmp/life.html" >"$tmp/why" 2>&1 <<'PY'
import re, sys
page = open(sys.argv[1]).read()
m = re.search(r"function gcol\(g\)\{const k=\(g\*([0-9.]+)\)%1,band=k<([0-9.]+)\?([0-9.]+)\+k/\2\*([0-9.]+):([0-9.]+)\+\(k-\2\)/([0-9.]+)\*([0-9.]+);", page)
assert m, "gcol not found"
mul, cut, a0, aw, b0, bden, bw = map(float, m.groups())
for g in range(1, 5001):
    k = (g * mul) % 1
    h = a0 + k / cut * aw if k < cut else b0 + (k - cut) / bden * bw
    for state in (0, 43, 217, 255, 360):
        assert abs(h - state) >= 25, (g, h, state)
PY
check "goroutine hues apart from state hues" $? "$(cat "$tmp/why")"

# 3. 2.4 M events: pingpong 800000.
"$bin" run "${det[@]}" --trace="$tmp/big.trace" programs/pingpong.gasm 800000 >/dev/null
"$bin" trace html "$tmp/big.trace" -o "$tmp/big.html"
size=$(stat -c %s "$tmp/big.html")
grep -q '2400181 events' "$tmp/big.html" && [ "$size" -lt $((20 * 1024 * 1024)) ]
check "2.4 M events: html under 20 MB" $? "$size bytes"
# (the release build only: the page is the same, and Chromium takes a
# minute or more on a shared machine)
case "$1" in *debug*) ;; *)
	open_page "$tmp/big.html#g=2"
	check "2.4 M events: Chromium opens the page" $? "$(grep -E 'Uncaught|CONSOLE' "$tmp/log" | head -3)"
	grep -q 'data-lanes-p="1" data-lanes-g="3" data-drawn="yes" data-focus="2"' "$tmp/dom"
	check "2.4 M events: lanes drawn" $? "$(grep -o '<body[^>]*>' "$tmp/dom")"
	;;
esac
"$bin" trace json "$tmp/big.trace" -o "$tmp/big.json" 2>"$tmp/parts"
check "2.4 M events: json written" $? "$(cat "$tmp/parts")"
python3 - "$tmp" >"$tmp/why" 2>&1 <<'PY'
import glob, json, os, sys
files = sorted(glob.glob(sys.argv[1] + "/big*.json"))
assert len(files) == 10, files
n = 0
for f in files:
    assert os.path.getsize(f) < 64 << 20, (f, os.path.getsize(f))
    d = json.load(open(f))
    n += sum(1 for e in d["traceEvents"] if e.get("cat") == "goroutine")
assert n == 800086, n  # every running slice (GoStart), once
PY
check "2.4 M events: json in parts" $? "$(cat "$tmp/why")"

echo "timeline: $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
