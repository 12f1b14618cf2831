// pingpong_trace.go: the Go twin of bench/pingpong.gasm for the tracing
// benchmark: N round trips between two goroutines over unbuffered channels,
// with runtime/trace writing to the file named by the second argument (if
// any).  Run with GOMAXPROCS=1 to match greenvm --procs=1.
package main

import (
	"fmt"
	"os"
	"runtime/trace"
	"strconv"
)

func player(in <-chan int, out chan<- int, n int, done chan<- int) {
	for {
		v := <-in
		if v >= n {
			done <- v
			out <- v
			return
		}
		out <- v + 1
	}
}

func main() {
	n := 1000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		f, err := os.Create(os.Args[2])
		if err != nil {
			panic(err)
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			panic(err)
		}
		defer trace.Stop()
	}
	ping, pong, done := make(chan int), make(chan int), make(chan int)
	go player(ping, pong, n, done)
	go player(pong, ping, n, done)
	ping <- 0
	fmt.Println(<-done)
	<-done
}
