#!/usr/bin/env bash
# bench/trace_read.sh: read a large Go trace (>= 50 MB) with `greenvm trace
# stats` and with `go tool trace -d`; median of 3 runs each, one line:
#   name greenvm X s peer Y s ratio Z (target <= 1.0)
# The trace comes from tests/tools (a real Go 1.19 program) run for many
# rounds; it is made once and kept in build/go/big.trace.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=/usr/lib/go-1.19/bin/go
GREENVM=${GREENVM:-build/greenvm}
. bench/peers.sh # says which program is missing, if one is
name="trace read vs go tool trace"
bench_have "$name" "$GO" && bench_have "$name" "$GREENVM" || exit 1
top=$(pwd)
out=build/go
mkdir -p "$out"
if [ ! -x "$out/tracegen" ]; then
	(cd tests/tools && GOCACHE="$top/$out/cache" GOPATH="$top/$out/path" GOFLAGS=-mod=mod \
		"$GO" build -o "$top/$out/tracegen" .)
fi
big=$out/big.trace
rounds=3000
while [ ! -f "$big" ] || [ "$(stat -c %s "$big")" -lt $((50 << 20)) ]; do
	"$out/tracegen" "$big" "$rounds"
	rounds=$((rounds * 2))
done

secs() { # wall-clock seconds of one run of "$@", output discarded
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1
	t1=$(date +%s%N)
	awk -v d=$((t1 - t0)) 'BEGIN { printf "%.3f\n", d / 1e9 }'
}
median() { sort -g | sed -n 2p; }

a=() b=()
for _ in 1 2 3; do
	a+=("$(secs "$GREENVM" trace stats "$big")")
	b+=("$(secs "$GO" tool trace -d "$big")")
done
ma=$(printf '%s\n' "${a[@]}" | median)
mb=$(printf '%s\n' "${b[@]}" | median)
awk -v a="$ma" -v b="$mb" -v mb="$(($(stat -c %s "$big") >> 20))" 'BEGIN {
	printf "trace stats (%d MB) greenvm %.3f s peer %.3f s ratio %.2f (target <= 1.0)\n", mb, a, b, a / b }'
