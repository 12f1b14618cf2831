#!/usr/bin/env bash
# trace_overhead.sh: what tracing costs, greenvm beside Go 1.19.
# Ping-pong with and without a trace at one P; the marginal nanoseconds per
# event are (time traced - time untraced) / events, and the bytes per event
# are the trace's size / events, with events counted by go tool trace -d
# for both.  Medians of RUNS runs each, in turn.  greenvm makes N round
# trips, Go GO_N (fewer: its traced run is some 30 times slower); a
# million round trips keep greenvm's difference well above the noise.
# Then the tracer at 2 Ps against 1 P: its CPU cost per event with one
# ping-pong pair on one P and with two pairs on two Ps (bench/pairs.gasm),
# each P writing its own events: the figure shows whether the Ps slow each
# other's tracing down (shared cache lines, locks).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${BENCH_RUNS:-5}
N=${TRACE_BENCH_N:-1000000}
GO_N=${TRACE_BENCH_GO_N:-200000}
GO=/usr/lib/go-1.19/bin/go
. bench/peers.sh # says which program is missing, if one is
name="trace overhead vs Go"
bench_have "$name" "$GO" && bench_have "$name" build/greenvm || exit 1
out=build/bench
mkdir -p "$out"
export GOCACHE=$PWD/build/gocache GOPATH=$PWD/build/gopath GOFLAGS=-mod=mod
"$GO" build -o "$out/pingpong_trace" bench/pingpong_trace.go

secs() { # wall seconds of "$@"
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

gv=(build/greenvm run --procs=1 bench/pingpong.gasm "$N")
[ -f bench/pingpong.gasm ] || gv=(build/greenvm run --procs=1 programs/pingpong.gasm "$N")
gvt=(build/greenvm run --procs=1 --trace="$out/gv.trace" "${gv[@]:3}")
gov=(env GOMAXPROCS=1 "$out/pingpong_trace" "$GO_N")
got=(env GOMAXPROCS=1 "$out/pingpong_trace" "$GO_N" "$out/go.trace")

a=() b=() c=() d=()
"${gvt[@]}" >/dev/null
"${got[@]}" >/dev/null # warm-up, and the traces whose events we count
for ((i = 0; i < RUNS; i++)); do
	a+=("$(secs "${gv[@]}")")
	b+=("$(secs "${gvt[@]}")")
	c+=("$(secs "${gov[@]}")")
	d+=("$(secs "${got[@]}")")
done
ev_gv=$("$GO" tool trace -d "$out/gv.trace" 2>/dev/null | grep -c .)
ev_go=$("$GO" tool trace -d "$out/go.trace" 2>/dev/null | grep -c .)
sz_gv=$(stat -c %s "$out/gv.trace")
sz_go=$(stat -c %s "$out/go.trace")
ma=$(printf '%s\n' "${a[@]}" | median)
mb=$(printf '%s\n' "${b[@]}" | median)
mc=$(printf '%s\n' "${c[@]}" | median)
md=$(printf '%s\n' "${d[@]}" | median)
awk -v ma="$ma" -v mb="$mb" -v mc="$mc" -v md="$md" -v eg="$ev_gv" -v eo="$ev_go" \
	-v sg="$sz_gv" -v so="$sz_go" 'BEGIN {
	nsg = (mb - ma) * 1000 / eg; nso = (md - mc) * 1000 / eo
	printf "tracing ping-pong: greenvm %.1f ns/event, %.2f bytes/event (%d events); Go %.1f ns/event, %.2f bytes/event (%d events)\n", nsg, sg / eg, eg, nso, so / eo, eo
	printf "%-28s greenvm %8.1f ns  peer %8.1f ns   ratio %5.2f   (target <= 25 ns per event)\n", "trace cost per event", nsg, nso, nsg / nso
	printf "%-28s greenvm %8.2f B   peer %8.2f B    ratio %5.2f   (target <= Go)\n", "trace bytes per event", sg / eg, so / eo, (sg / eg) / (so / eo)
}'

# ---- the tracer at 2 Ps against 1 P
# CPU seconds (user + sys) rather than wall: two Ps do twice the work in the
# same time, and what matters is what each event costs the P writing it.
# Marginal CPU ns per event = (CPU traced - CPU untraced) / events, with
# the events counted by greenvm trace stats.
PAIRS_N=${TRACE_BENCH_PAIRS_N:-3000000}
# CPU microseconds (user + sys) of "$@", from getrusage: GNU time prints
# hundredths of a second, too coarse for a difference of some 0.2 s.
cpu_us() {
	python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(round((r.ru_utime + r.ru_stime) * 1e6))' "$@"
}
p1=(build/greenvm run --procs=1 bench/pairs.gasm 1 "$PAIRS_N")
p1t=(build/greenvm run --procs=1 --trace="$out/p1.trace" bench/pairs.gasm 1 "$PAIRS_N")
p2=(build/greenvm run --procs=2 bench/pairs.gasm 2 "$PAIRS_N")
p2t=(build/greenvm run --procs=2 --trace="$out/p2.trace" bench/pairs.gasm 2 "$PAIRS_N")
e=() f=() g=() h=() n1=() n2=()
for ((i = 0; i < RUNS; i++)); do
	e+=("$(cpu_us "${p1[@]}")")
	f+=("$(cpu_us "${p1t[@]}")")
	n1+=("$(build/greenvm trace stats "$out/p1.trace" | awk 'NR == 1 { print $3 }')")
	g+=("$(cpu_us "${p2[@]}")")
	h+=("$(cpu_us "${p2t[@]}")")
	n2+=("$(build/greenvm trace stats "$out/p2.trace" | awk 'NR == 1 { print $3 }')")
done
me=$(printf '%s\n' "${e[@]}" | median)
mf=$(printf '%s\n' "${f[@]}" | median)
mg=$(printf '%s\n' "${g[@]}" | median)
mh=$(printf '%s\n' "${h[@]}" | median)
ev1=$(printf '%s\n' "${n1[@]}" | median)
ev2=$(printf '%s\n' "${n2[@]}" | median)
awk -v e="$me" -v f="$mf" -v g="$mg" -v h="$mh" -v n1="$ev1" -v n2="$ev2" 'BEGIN {
	c1 = (f - e) * 1000 / n1; c2 = (h - g) * 1000 / n2
	printf "%-28s 1 P %6.1f ns (%d events)   2 Ps %6.1f ns (%d events)   ratio %5.2f   (target <= 1.20)\n", "trace CPU per event, 1->2 Ps", c1, n1, c2, n2, c2 / c1
}'
