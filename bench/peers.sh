# bench/peers.sh: sourced by the bench scripts.  A benchmark compares
# greenvm with a peer (Lua 5.4, a Go program); when one of the two is
# missing or fails, say so plainly and skip that benchmark, instead of
# timing nothing or calling the outputs "different".  ./run bench installs
# the peers; a script run by hand on a machine without them says what to
# install.

bench_skipped=0 # benchmarks skipped for a missing program

# The program a command line runs: its first word after `env` and VAR=VALUE.
bench_prog() {
	while [ $# -gt 0 ]; do
		case "$1" in
		env | *=*) shift ;;
		*) echo "$1"; return ;;
		esac
	done
}

# Where a missing program comes from, for the message.
bench_origin() {
	case "$1" in
	lua5.4) echo "Debian package lua5.4" ;;
	*/go-1.19/bin/go) echo "Debian package golang-1.19-go" ;;
	build/bench/*) echo "built from bench/$(basename "$1").go by bench/run with Go 1.19" ;;
	*greenvm) echo "build it with ./run build" ;;
	/usr/bin/time) echo "Debian package time" ;;
	*) echo "not installed" ;;
	esac
}

# bench_have NAME COMMAND...: 0 when COMMAND's program can be run; else
# print "bench NAME: SKIPPED: PROGRAM is missing (...)", count it, 1.
bench_have() {
	local name=$1 prog
	shift
	prog=$(bench_prog "$@")
	if [[ $prog == */* ]] && [ -x "$prog" ] && [ -f "$prog" ]; then
		return 0
	elif [[ $prog != */* ]] && command -v "$prog" >/dev/null 2>&1; then
		return 0
	fi
	echo "bench $name: SKIPPED: $prog is missing ($(bench_origin "$prog"))" >&2
	bench_skipped=$((bench_skipped + 1))
	return 1
}

# bench_same NAME -- A... -- B...: run greenvm's command A and the peer's B
# once; 0 when both succeed and print the same.  Otherwise print which
# failed (with its status and the end of its stderr) or that the outputs
# differ (with both), and return 1.
bench_same() {
	local name=$1
	shift 2
	local a=() b=()
	while [ "$1" != "--" ]; do a+=("$1"); shift; done
	shift
	b=("$@")
	local oa ob ea eb ra=0 rb=0
	ea=$(mktemp) eb=$(mktemp)
	oa=$("${a[@]}" 2>"$ea") || ra=$?
	ob=$("${b[@]}" 2>"$eb") || rb=$?
	local why=""
	if [ $ra -ne 0 ]; then
		why="greenvm failed (exit $ra): $(tail -c 300 "$ea")"
	elif [ $rb -ne 0 ]; then
		why="the peer $(bench_prog "${b[@]}") failed (exit $rb): $(tail -c 300 "$eb")"
	elif [ "$oa" != "$ob" ]; then
		why="greenvm and the peer print different results: greenvm '${oa:0:200}', peer '${ob:0:200}'"
	fi
	rm -f "$ea" "$eb"
	[ -z "$why" ] && return 0
	echo "bench $name: FAILED: $why" >&2
	return 1
}
