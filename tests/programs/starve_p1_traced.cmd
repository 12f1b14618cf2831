run --procs=1 --trace=/dev/null tests/programs/starve.gasm
