// pipeline.go [STAGES [ITEMS [WORK]]]: the Go twin of bench/pipeline.gasm:
// a source, STAGES stages joined by channels of capacity 64, each doing
// WORK rounds of arithmetic per item, and main summing what comes out.
package main

import (
	"fmt"
	"os"
	"strconv"
)

func source(out chan<- int, items int) {
	for i := 1; i <= items; i++ {
		out <- i
	}
	close(out)
}

func stage(in <-chan int, out chan<- int, work int) {
	for v := range in {
		x := v
		for j := 0; j < work; j++ {
			x = (x*31 + j) & 0xffffff
		}
		out <- x
	}
	close(out)
}

func main() {
	stages, items, work := 2, 50000, 400
	if len(os.Args) > 1 {
		stages, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		items, _ = strconv.Atoi(os.Args[2])
	}
	if len(os.Args) > 3 {
		work, _ = strconv.Atoi(os.Args[3])
	}
	first := make(chan int, 64)
	c := first
	for i := 0; i < stages; i++ {
		out := make(chan int, 64)
		go stage(c, out, work)
		c = out
	}
	go source(first, items)
	sum := 0
	for v := range c {
		sum += v
	}
	fmt.Println(sum)
}
