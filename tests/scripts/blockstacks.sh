#!/usr/bin/env bash
# blockstacks.sh: a blocking event's stack names the instruction that blocked.
# Usage: tests/scripts/blockstacks.sh BUILD_DIR.  Prints FAIL lines and a
# closing "N passed, N failed".
#
# Every bundled program (programs/*.gasm) runs with --trace, on two Ps and
# deterministically; in `greenvm trace dump -s`, the innermost frame of each
# event a goroutine blocks with must be a line holding an instruction that
# blocks that way (the disassembly lists each line's instructions).  Go's
# blocking profile charges that frame's line, so the line after (a `pop`
# after the `recv`) is wrong.
set -u
bin=$1/greenvm
. "$(dirname "$0")/common.bash"
pass() { npass=$((npass + 1)); }
fail() { echo "FAIL blockstacks: $*"; nfail=$((nfail + 1)); }

# The arguments a program needs to do its work quickly.
args_of() {
	case $1 in
	binarytrees) echo 6 ;;
	fib) echo 15 ;;
	gcstress_chan) echo 50 ;;
	pingpong) echo 200 ;;
	ring) echo 1000 ;;
	sieve) echo 25 ;;
	spawn_many) echo 2000 100 ;;
	spawn_test) echo 1000 ;;
	trace_startstop) echo "$tmp/inner.trace" ;;
	esac
}

seen=""
for prog in programs/*.gasm; do
	name=$(basename "$prog" .gasm)
	read -r -a a <<<"$(args_of "$name")"
	# "LINE MNEMONIC" for every instruction, from the disassembly's comments
	"$bin" disasm "$prog" |
		sed -nE 's/^    ([a-z_0-9]+) .*; pc [0-9]+, line ([0-9]+)$/\2 \1/p' >"$tmp/ops"
	if [ ! -s "$tmp/ops" ]; then
		fail "$prog: greenvm disasm listed no instruction"
		continue
	fi
	# (the virtual clock: with the real one the reader finds time stamps
	# out of order in some multi-M traces, a fault of its own)
	for mode in --procs=2 --sched=deterministic; do
		rm -f "$tmp/t.trace"
		timeout 120 "$bin" run "$mode" --trace-clock=virtual --trace="$tmp/t.trace" "$prog" "${a[@]}" \
			>/dev/null 2>&1 </dev/null
		if ! "$bin" trace dump -s "$tmp/t.trace" >"$tmp/dump" 2>"$tmp/err"; then
			fail "$prog $mode: trace dump: $(head -1 "$tmp/err")"
			continue
		fi
		# Each blocking event and the instructions that may emit it; the
		# event line is followed by its frames, innermost first.
		out=$(awk -v file="$prog" '
			FNR == NR { ops[$1] = ops[$1] " " $2 " "; next }
			BEGIN {
				want["GoBlockSend"] = " send "
				want["GoBlockRecv"] = " recv "
				want["GoBlockSelect"] = " select "
				want["GoBlockSync"] = " lock wgwait "
				want["GoBlockCond"] = " "
				want["GoBlock"] = " send recv select lock wgwait "
				want["GoSleep"] = " sleep "
				want["GoSysCall"] = " ffi "
				# yield; and, as its last event, a G that ends the
				# program stops its trace where it is (trace_finish)
				want["GoSched"] = " yield "
			}
			/^[0-9]+ / {
				# a G that runs again after a suspect GoSched: that
				# GoSched was a yield, and named another line
				g = $4
				if (g in sched) {
					print "bad", sched[g]
					delete sched[g]
				}
				ev = ($2 in want) ? $2 : ""
				next
			}
			ev != "" {
				split($2, w, ":")
				line = w[2]
				ok = 0
				n = split(want[ev], m, " ")
				for (i = 1; i <= n; i++)
					if (index(ops[line], " " m[i] " "))
						ok = 1
				what = ev " " $2 " holds" (line in ops ? ops[line] : " nothing")
				if (ok)
					print "ok", ev
				else if (ev == "GoSched")
					sched[g] = what
				else
					print "bad", what
				ev = ""
			}' "$tmp/ops" "$tmp/dump")
		bad=$(grep -c '^bad' <<<"$out")
		if [ "$bad" -ne 0 ]; then
			fail "$prog $mode: $bad blocking events name another line, e.g. $(grep -m1 '^bad' <<<"$out" | cut -d' ' -f2-)"
		else
			pass
		fi
		seen="$seen $(grep '^ok' <<<"$out" | cut -d' ' -f2 | sort -u | tr '\n' ' ')"
	done
done

# The programs block in every way that has an instruction: had the dump lost
# its stacks, nothing above would have been checked.
for ev in GoBlockSend GoBlockRecv GoBlockSelect GoBlockSync GoSleep GoSysCall GoSched; do
	case " $seen " in
	*" $ev "*) pass ;;
	*) fail "no $ev event with a stack in any program's trace" ;;
	esac
done
echo "blockstacks: $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
