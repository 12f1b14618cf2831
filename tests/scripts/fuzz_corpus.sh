#!/usr/bin/env bash
# fuzz_corpus.sh: replay each fuzz target's saved corpus (tests/fuzz/corpus/)
# through this build's harness (BUILD_DIR/tests/fuzz_*): every input the
# fuzzer kept must still pass the harness's checks, with no crash (and, in
# the debug build, no AddressSanitizer or UBSan report).  No fuzzing here:
# that is ./run fuzz (docs/fuzzing.md).
# tests/fuzz/found/TARGET/, the inputs that broke a target once, are
# replayed too.
# Usage: tests/scripts/fuzz_corpus.sh BUILD_DIR
set -u
dir=$1
npass=0
nfail=0
for t in asm gbc reader; do
	bin=$dir/tests/fuzz_$t
	corpus=tests/fuzz/corpus/$t
	n=$(find "$corpus" -maxdepth 1 -type f 2>/dev/null | wc -l)
	if [ "$n" -lt 10 ]; then
		echo "FAIL fuzz corpus $t: $corpus holds $n inputs, want at least 10"
		nfail=$((nfail + 1))
		continue
	fi
	# and the inputs that once broke the target (fixed since)
	found=()
	if [ -d tests/fuzz/found/$t ]; then
		found=(tests/fuzz/found/$t)
		n=$((n + $(find tests/fuzz/found/$t -maxdepth 1 -type f | wc -l)))
	fi
	rc=0
	out=$(timeout 600 "$bin" "$corpus" "${found[@]}" 2>&1) || rc=$?
	if [ $rc -eq 0 ] && grep -q ": $n inputs ran" <<<"$out"; then
		npass=$((npass + 1))
	else
		echo "FAIL fuzz corpus $t: $bin $corpus: exit $rc: $(tail -c 1500 <<<"$out")"
		nfail=$((nfail + 1))
	fi
done
echo "fuzz corpus replay: $npass passed, $nfail failed"
[ $nfail -eq 0 ]
