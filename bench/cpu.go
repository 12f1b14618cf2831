// cpu.go [G [N [TRACE]]]: the Go twin of bench/cpu.gasm: G goroutines
// (default 2), each summing 1..N (default 30,000,000) with locals and add
// only, then sending its sum; main prints the total.  With TRACE, the run
// is traced to that file (runtime/trace), for the scaling row under a
// trace.
package main

import (
	"fmt"
	"os"
	"runtime/trace"
	"strconv"
)

func sum(s, n int, res chan<- int) {
	for i := 1; i <= n; i++ {
		s += i
	}
	res <- s
}

func main() {
	g, n := 2, 30000000
	if len(os.Args) > 1 {
		g, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		n, _ = strconv.Atoi(os.Args[2])
	}
	if len(os.Args) > 3 {
		f, err := os.Create(os.Args[3])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer trace.Stop()
	}
	res := make(chan int, g)
	for i := 0; i < g; i++ {
		go sum(0, n, res)
	}
	total := 0
	for i := 0; i < g; i++ {
		total += <-res
	}
	fmt.Println(total)
}
