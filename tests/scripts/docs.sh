#!/usr/bin/env bash
# docs.sh: the commands shown in docs/ (and the README) still print what
# the pages say; see docs_check.py for the rules.  The exercises' answers
# (docs/exercises.md) are checked this way.
# Usage: tests/scripts/docs.sh BUILD_DIR.  Prints failures and a closing
# "docs: N passed, N failed".
set -u
exec python3 "$(dirname "$0")/docs_check.py" "$1" README.md docs/*.md
