# common.bash: what every tests/scripts/*.sh starts with (sourced, not run):
# a temporary folder removed at exit, and the pass and fail counters each
# script prints as its closing "N passed, N failed".
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npass=0
nfail=0
