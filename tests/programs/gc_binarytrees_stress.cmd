run --gc-stress programs/binarytrees.gasm 8
