trace json tests/golden/hello.trace
