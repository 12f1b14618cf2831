// tracegen: a small Go program that records an execution trace of itself,
// for greenvm's trace reader tests.  It exercises goroutines, channels, a
// mutex, sleep, a syscall and user tasks, regions and logs.
//
//	tracegen OUT.trace [rounds]
//
// More rounds make a longer trace (the benchmark uses many).
package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/trace"
	"strconv"
	"sync"
	"time"
)

// worker receives numbers, adds them under the mutex and answers on out.
func worker(in <-chan int, out chan<- int, mu *sync.Mutex, total *int) {
	for v := range in {
		mu.Lock()
		*total += v
		mu.Unlock()
		out <- v * 2
	}
}

// sleeper sleeps a little, then writes to a file (a syscall).
func sleeper(wg *sync.WaitGroup, f *os.File) {
	defer wg.Done()
	time.Sleep(2 * time.Millisecond)
	f.Write([]byte("x"))
}

func round(ctx context.Context, f *os.File) {
	ctx, task := trace.NewTask(ctx, "round")
	defer task.End()
	in, out := make(chan int), make(chan int)
	var mu sync.Mutex
	total := 0
	trace.WithRegion(ctx, "start workers", func() {
		for i := 0; i < 4; i++ {
			go worker(in, out, &mu, &total)
		}
	})
	var wg sync.WaitGroup
	wg.Add(1)
	go sleeper(&wg, f)
	go func() {
		for i := 0; i < 40; i++ {
			in <- i
		}
		close(in)
	}()
	sum := 0
	for i := 0; i < 40; i++ {
		select {
		case v := <-out:
			sum += v
		case <-time.After(time.Second):
			panic("stuck")
		}
	}
	wg.Wait()
	runtime.GC() // GCStart, GCDone, STW, heap events
	trace.Log(ctx, "sum", strconv.Itoa(sum))
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: tracegen OUT.trace [rounds]")
		os.Exit(2)
	}
	rounds := 3
	if len(os.Args) > 2 {
		rounds, _ = strconv.Atoi(os.Args[2])
	}
	out, err := os.Create(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	f, err := os.CreateTemp("", "tracegen")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer os.Remove(f.Name())
	if err := trace.Start(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx := context.Background()
	for r := 0; r < rounds; r++ {
		round(ctx, f)
	}
	trace.Stop()
	out.Close()
}
