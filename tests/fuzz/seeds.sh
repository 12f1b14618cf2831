#!/usr/bin/env bash
# seeds.sh: the first inputs of a fuzz target, made from the tests.
# Usage: tests/fuzz/seeds.sh TARGET GREENVM OUTDIR   (from the repo root)
#   asm     the .gasm files of programs/, bench/, tests/programs/, tests/bad/
#   gbc     those that assemble, as .gbc; and tests/bad/*.gbc.hex as bytes
#   reader  tests/golden/*.trace, and deterministic traces of small programs
# ./run fuzz adds them to the target's saved corpus (tests/fuzz/corpus/TARGET).
set -euo pipefail
target=$1 greenvm=$2 out=$3
mkdir -p "$out"
gasm=(programs/*.gasm bench/*.gasm tests/programs/*.gasm tests/bad/*.gasm)
case "$target" in
asm)
	for f in "${gasm[@]}"; do
		n=${f//\//_}
		cp "$f" "$out/$n"
	done
	;;
gbc)
	for f in "${gasm[@]}"; do
		n=${f//\//_}
		"$greenvm" asm "$f" -o "$out/${n%.gasm}.gbc" 2>/dev/null || rm -f "$out/${n%.gasm}.gbc"
	done
	for f in tests/bad/*.gbc.hex; do
		n=${f//\//_}
		# hex bytes, '#' comments to the end of the line (as test_verify.c reads them)
		python3 -c 'import re,sys; sys.stdout.buffer.write(bytes.fromhex(re.sub(r"#.*", "", open(sys.argv[1]).read())))' "$f" >"$out/${n%.hex}"
	done
	;;
reader)
	cp tests/golden/*.trace "$out/"
	opts=(run --sched=deterministic --trace-clock=virtual)
	for p in hello select mutex ring sieve trace_annotations trace_startstop workers; do
		"$greenvm" "${opts[@]}" --trace="$out/$p.trace" "programs/$p.gasm" >/dev/null 2>&1 </dev/null || true
	done
	"$greenvm" run --procs=2 --trace="$out/pingpong_2p.trace" programs/pingpong.gasm 20 >/dev/null 2>&1 </dev/null || true
	;;
*)
	echo "seeds.sh: unknown target $target (asm, gbc, reader)" >&2
	exit 2
	;;
esac
# AFL++ wants small seeds (each mutation is a run): drop the large ones
find "$out" -type f -size +32k -delete
