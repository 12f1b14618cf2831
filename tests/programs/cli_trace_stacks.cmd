trace dump --stacks tests/golden/hello.trace
