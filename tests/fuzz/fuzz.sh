#!/usr/bin/env bash
# fuzz.sh: one fuzzing session of one target (./run fuzz TARGET SECONDS runs
# it after building build/fuzz; see docs/fuzzing.md).
#
#   1. the first inputs: the target's saved corpus (tests/fuzz/corpus/TARGET),
#      the inputs that once broke it (tests/fuzz/found/TARGET, kept by hand
#      after the fix, with a note of what they found in found/README.md) and
#      fresh seeds from the tests (tests/fuzz/seeds.sh);
#   2. afl-fuzz for SECONDS on build/fuzz/tests/fuzz_TARGET (ASan, UBSan),
#      its work in build/fuzz/TARGET/out;
#   3. the queue it grew, minimized with afl-cmin, becomes the saved corpus
#      (files named by their content's hash), ready to commit;
#   4. the crashes and hangs are listed; the status is 1 if there is any.
set -euo pipefail
target=$1 secs=$2
bin=build/fuzz/tests/fuzz_$target
work=build/fuzz/$target
corpus=tests/fuzz/corpus/$target
rm -rf "$work"
mkdir -p "$work/in" "$corpus"
tests/fuzz/seeds.sh "$target" build/greenvm "$work/in"
cp -r "$corpus"/. "$work/in/"
[ -d tests/fuzz/found/$target ] && cp -r tests/fuzz/found/$target/. "$work/in/"
dict=()
if [ "$target" = asm ]; then
	# the words of the language, so that the fuzzer need not guess them
	cat programs/*.gasm tests/programs/*.gasm |
		awk '{ print $1 }' | grep -E '^\.?[a-z_]+$' | sort -u |
		awk '{ printf "w%d=\"%s\"\n", NR, $1 }' >"$work/asm.dict"
	dict=(-x "$work/asm.dict")
fi

echo "fuzz: $target for $secs s, $(ls "$work/in" | wc -l) first inputs"
# AFL_NO_AFFINITY: the machine is shared, do not pin a core.
# AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES: core dumps may go to a pipe here.
# -m none: AddressSanitizer reserves terabytes of address space.
# -t 5000: an input taking over 5 s is a hang (a normal one takes under 1 ms;
#   a million-local frame a second, and the machine is shared).
export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
rc=0
afl-fuzz -V "$secs" -m none -t 5000 "${dict[@]}" -i "$work/in" -o "$work/out" -- "$bin" \
	>"$work/afl.log" 2>&1 || rc=$?
stats=$work/out/default/fuzzer_stats
if [ ! -f "$stats" ]; then
	tail -30 "$work/afl.log" >&2
	echo "fuzz: afl-fuzz did not run (exit $rc); its log is $work/afl.log" >&2
	exit 1
fi
stat() { awk -v k="$1" '$1 == k { print $3 }' "$stats"; }

# Minimize the queue into the saved corpus.
afl-cmin -m none -t 5000 -i "$work/out/default/queue" -o "$work/cmin" -- "$bin" >"$work/cmin.log" 2>&1 || {
	tail -20 "$work/cmin.log" >&2
	echo "fuzz: afl-cmin failed; the saved corpus is unchanged" >&2
	exit 1
}
mkdir -p "$work/corpus"
for f in "$work/cmin"/*; do
	cp "$f" "$work/corpus/$(sha1sum <"$f" | cut -c1-16)"
done
rm -rf "$corpus" && mv "$work/corpus" "$corpus" # the old corpus goes at once

crashes=$(find "$work/out/default/crashes" "$work/out/default/hangs" -type f -name 'id:*' 2>/dev/null | sort)
echo "fuzz: $target: $(stat execs_done) execs in $(stat run_time) s ($(stat execs_per_sec)/s)," \
	"$(stat corpus_count) inputs in the queue, $(stat bitmap_cvg) of the map;" \
	"$(stat saved_crashes) crashes, $(stat saved_hangs) hangs"
echo "fuzz: saved corpus $corpus: $(ls "$corpus" | wc -l) inputs (git status shows what changed)"
if [ -n "$crashes" ]; then
	echo "fuzz: found (replay one with build/debug/tests/fuzz_$target FILE):"
	printf '  %s\n' $crashes
	exit 1
fi
