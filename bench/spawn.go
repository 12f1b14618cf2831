// spawn.go N: the Go twin of bench/spawn.gasm: start N goroutines that each
// call Done on a wait group and exit; main waits and prints N.
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
)

func child(wg *sync.WaitGroup) {
	wg.Done()
}

func main() {
	n := 1000000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		go child(&wg)
	}
	wg.Wait()
	fmt.Println(n)
}
