// park.go N: the Go twin of bench/park.gasm: N goroutines park on one
// channel until main, once all have started, closes it; prints N.
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
)

func child(gate <-chan int, parked, done *sync.WaitGroup) {
	parked.Done()
	<-gate
	done.Done()
}

func main() {
	n := 100000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	gate := make(chan int)
	var parked, done sync.WaitGroup
	parked.Add(n)
	done.Add(n)
	for i := 0; i < n; i++ {
		go child(gate, &parked, &done)
	}
	parked.Wait()
	close(gate)
	done.Wait()
	fmt.Println(n)
}
