run --bogus programs/hello.gasm
