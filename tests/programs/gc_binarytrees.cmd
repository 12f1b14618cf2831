run programs/binarytrees.gasm 10
