module greenvm/tracegen

go 1.19
