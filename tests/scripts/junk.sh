#!/usr/bin/env bash
# junk.sh: tens of megabytes of bad input: greenvm refuses it with a message
# naming the file, exit status 1, quickly (linear time), never a crash.
# Usage: tests/scripts/junk.sh BUILD_DIR
set -u
bin=$1/greenvm
. "$(dirname "$0")/common.bash"
expect() { # expect NAME FILE PATTERN
	local rc=0
	timeout 60 "$bin" verify "$2" >/dev/null 2>"$tmp/err" || rc=$?
	if [ $rc -eq 1 ] && grep -q -- "$3" "$tmp/err"; then
		npass=$((npass + 1))
	else
		echo "FAIL junk: $1: exit $rc, stderr: $(head -c 300 "$tmp/err")"
		nfail=$((nfail + 1))
	fi
}
# 24 MB of random bytes (fixed seed: the same bytes every run)
python3 -c 'import random,sys; r=random.Random(7); sys.stdout.buffer.write(r.randbytes(24<<20))' >"$tmp/random.gasm"
expect "24 MB of random bytes" "$tmp/random.gasm" "^$tmp/random.gasm:[0-9]*: "
# the same with the .gbc magic in front: a binary that lies about itself
{ printf '\177GBC'; head -c $((24 << 20)) "$tmp/random.gasm"; } >"$tmp/random.gbc"
expect "24 MB behind a .gbc magic" "$tmp/random.gbc" "^$tmp/random.gbc: offset 0x"
# 20 MB of one long line
head -c $((20 << 20)) /dev/zero | tr '\0' 'a' >"$tmp/long.gasm"
expect "a 20 MB line" "$tmp/long.gasm" "^$tmp/long.gasm:1: "
# a million instructions outside any function
yes '    add' | head -n 1000000 >"$tmp/many.gasm"
expect "a million stray instructions" "$tmp/many.gasm" "^$tmp/many.gasm:1: instruction outside a function"
# an empty file
: >"$tmp/empty.gasm"
expect "an empty file" "$tmp/empty.gasm" "no function main"
echo "junk input: $npass passed, $nfail failed"
[ $nfail -eq 0 ]
