#!/usr/bin/env bash
# switch.sh: the stack switches of scheduler/switch_*.S, alone, on this
# machine's CPU and on the other one greenvm supports.
# Usage: tests/scripts/switch.sh BUILD_DIR.  Prints failures and a closing
# "N passed, N failed".
#
# tests/switch/switch_test.c is built with the switch file of its CPU and
# nothing else of greenvm.  On x86-64 it is also cross-built for aarch64
# (gcc-aarch64-linux-gnu, static) and run under qemu-user, so the aarch64
# switch is tested on every run, not only on aarch64 machines.  The release
# build's run compiles it with -O2, the debug build's with -O0: the
# compiler keeps values in registers differently at each level.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/scripts/common.bash
opt=-O2
case "$1" in *debug*) opt="-O0 -g" ;; esac
# shellcheck disable=SC2206
flags=(-std=gnu11 $opt -Wall -Wextra -Werror -D_GNU_SOURCE -fno-omit-frame-pointer -iquote .)

# run NAME CMD...: run one test binary; add up its "N passed, N failed".
run() {
	local name=$1 out rc=0
	shift
	out=$(timeout 120 "$@" 2>&1) || rc=$?
	local line
	line=$(grep -E '[0-9]+ passed, [0-9]+ failed' <<<"$out" | tail -n 1)
	grep '^FAIL' <<<"$out"
	if [ -z "$line" ]; then
		echo "FAIL switch: $name: no result (exit $rc): $(tail -n 2 <<<"$out" | tr '\n' ' ')"
		nfail=$((nfail + 1))
		return
	fi
	npass=$((npass + $(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$line")))
	nfail=$((nfail + $(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")))
	if [ $rc -ne 0 ] && ! grep -q '^FAIL' <<<"$out"; then
		echo "FAIL switch: $name: exit $rc"
		nfail=$((nfail + 1))
	fi
}

# build NAME CC SWITCH.S EXTRA...: build the test; a build failure is a failure.
build() {
	local name=$1 cc=$2 asm=$3
	shift 3
	if ! "$cc" "${flags[@]}" "$@" tests/switch/switch_test.c "$asm" -o "$tmp/$name" 2>"$tmp/$name.err"; then
		echo "FAIL switch: $name: does not build: $(head -n 3 "$tmp/$name.err" | tr '\n' ' ')"
		nfail=$((nfail + 1))
		return 1
	fi
}

case "$(uname -m)" in
x86_64)
	build native gcc scheduler/switch_amd64.S && run "x86-64" "$tmp/native"
	if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null; then
		echo "FAIL switch: aarch64: needs gcc-aarch64-linux-gnu and qemu-user (./run test installs them)"
		nfail=$((nfail + 1))
	else
		build arm64 aarch64-linux-gnu-gcc scheduler/switch_arm64.S -static &&
			run "aarch64 under qemu" qemu-aarch64 "$tmp/arm64"
	fi
	;;
aarch64)
	build native gcc scheduler/switch_arm64.S && run "aarch64" "$tmp/native"
	;;
*)
	echo "FAIL switch: greenvm switches stacks only on x86-64 and aarch64, not $(uname -m)"
	nfail=$((nfail + 1))
	;;
esac

echo "switch checks: $npass passed, $nfail failed"
