tests/programs/args.gasm one two 'three'
