#!/usr/bin/env bash
# bench/binarytrees.sh [DEPTH]: binary-trees (allocation and GC) against its
# Lua 5.4 twin.  Runs greenvm and Lua in turn (A B A B ...), BENCH_RUNS times
# each (default 5), and prints one line in bench/run's format: the median
# wall-clock seconds of each and the ratio greenvm / Lua.  Without lua5.4 (or
# greenvm) it says which is missing and exits 1, timing nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${BENCH_RUNS:-5}
DEPTH=${1:-16}
GREENVM=${GREENVM:-build/greenvm}
a=("$GREENVM" run bench/binarytrees.gasm "$DEPTH")
b=(lua5.4 bench/binarytrees.lua "$DEPTH")

# Wall-clock seconds of one run of "$@", output discarded.
seconds() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null
	t1=$(date +%s%N)
	awk -v ns="$((t1 - t0))" 'BEGIN { printf "%.6f\n", ns / 1e9 }'
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# Both must be there, and print the same, before either is timed; a
# missing one is named (bench/peers.sh) and the benchmark is not run.
. bench/peers.sh
name="binarytrees($DEPTH) vs Lua 5.4"
bench_have "$name" "${a[@]}" && bench_have "$name" "${b[@]}" || exit 1
bench_same "$name" -- "${a[@]}" -- "${b[@]}" || exit 1
ta=() tb=()
for ((i = 0; i < RUNS; i++)); do
	ta+=("$(seconds "${a[@]}")")
	tb+=("$(seconds "${b[@]}")")
done
ma=$(printf '%s\n' "${ta[@]}" | median)
mb=$(printf '%s\n' "${tb[@]}" | median)
awk -v n="$name" -v a="$ma" -v b="$mb" -v t=1.5 'BEGIN {
	printf "%-28s greenvm %8.3f s   peer %8.3f s   ratio %5.2f   (target <= %s)\n", n, a, b, a / b, t }'
