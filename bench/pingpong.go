// pingpong.go N: the Go twin of bench/pingpong.gasm: N round trips between
// main and an echo goroutine over two unbuffered channels; prints N.
package main

import (
	"fmt"
	"os"
	"strconv"
)

func echo(ping <-chan int, pong chan<- int) {
	for {
		pong <- <-ping + 1
	}
}

func main() {
	n := 1000000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	ping, pong := make(chan int), make(chan int)
	go echo(ping, pong)
	v := 0
	for i := 0; i < n; i++ {
		ping <- v
		v = <-pong
	}
	fmt.Println(v)
}
