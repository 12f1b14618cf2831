trace stats -s tests/golden/hello.trace
