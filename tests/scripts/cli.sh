#!/usr/bin/env bash
# cli.sh: the README lists the command line that `greenvm --help` prints.
# Usage: tests/scripts/cli.sh BUILD_DIR.  Prints FAIL lines and a closing
# "N passed, N failed".
#
# Every command line of the help's usage is in the README's command block,
# every option of run is a row of its option table, and the other way round.
# (What each option does is checked by the program tests, tests/programs/cli_*.)
set -u
bin=$1/greenvm
npass=0
nfail=0
pass() { npass=$((npass + 1)); }
fail() { echo "FAIL cli: $*"; nfail=$((nfail + 1)); }

help=$("$bin" --help)
readme=$(cat README.md)

# Commands: "usage: greenvm ..." and its indented continuation lines, up to
# the two spaces before the description.
commands=$(sed -nE 's/^(usage: |       )(greenvm [^ ].*[^ ])  +[^ ].*$/\2/p; s/^(usage: |       )(greenvm --help [|] --version)$/\2/p' <<<"$help")
[ "$(wc -l <<<"$commands")" -ge 9 ] || fail "found only these commands in --help: $commands"
while IFS= read -r c; do
	if grep -qxE "$(sed 's/[][\.*^$|+?(){}]/\\&/g' <<<"$c")( .*)?" <<<"$readme"; then
		pass
	else
		fail "README's command block lacks '$c' (from greenvm --help)"
	fi
done <<<"$commands"

# Options of run: "  --name" in the help, "| `--name" rows in the README.
help_opts=$(sed -nE 's/^  (--[a-z-]+).*/\1/p' <<<"$help" | sort -u)
readme_opts=$(sed -nE 's/^\| `(--[a-z-]+).*/\1/p' <<<"$readme" | sort -u)
[ "$(wc -l <<<"$help_opts")" -ge 10 ] || fail "found only these options in --help: $help_opts"
for o in $help_opts; do
	grep -qxF -- "$o" <<<"$readme_opts" && pass || fail "README's option table lacks $o (from greenvm --help)"
done
for o in $readme_opts; do
	grep -qxF -- "$o" <<<"$help_opts" && pass || fail "greenvm --help lacks $o (in README's option table)"
done

# Two command lines the one-file program tests cannot spell: an option that
# needs a value given none, at the very end; and trace dump's stacks.
rc=0
err=$("$bin" run --procs 2>&1 >/dev/null) || rc=$?
[ $rc -eq 1 ] && grep -qF "greenvm: --procs needs a value" <<<"$err" && pass ||
	fail "run --procs: exit $rc, stderr: $err"
rc=0
out=$("$bin" trace dump --stacks tests/golden/hello.trace 2>&1) || rc=$?
[ $rc -eq 0 ] && grep -q "^    main programs/hello.gasm:" <<<"$out" && pass ||
	fail "trace dump --stacks: exit $rc, no stack lines: $(head -3 <<<"$out")"

echo "cli: $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
