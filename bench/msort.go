// msort.go [N [CUTOFF]]: the Go twin of bench/msort.gasm, a fork/join
// parallel merge sort of N pseudo-random ints (the same generator), with
// ranges longer than CUTOFF sorting their left half in a new goroutine.
// Prints 1 if sorted, then a checksum.
package main

import (
	"fmt"
	"os"
	"strconv"
)

func msort(a, tmp []int, lo, hi, cutoff int, done chan<- int) {
	sort(a, tmp, lo, hi, cutoff)
	done <- 0
}

func sort(a, tmp []int, lo, hi, cutoff int) {
	if hi-lo < 2 {
		return
	}
	mid := (lo + hi) / 2
	if hi-lo > cutoff {
		child := make(chan int, 1)
		go msort(a, tmp, lo, mid, cutoff, child)
		sort(a, tmp, mid, hi, cutoff)
		<-child
	} else {
		sort(a, tmp, lo, mid, cutoff)
		sort(a, tmp, mid, hi, cutoff)
	}
	merge(a, tmp, lo, mid, hi)
}

func merge(a, tmp []int, lo, mid, hi int) {
	i, j, k := lo, mid, lo
	for i < mid && j < hi {
		if a[j] < a[i] {
			tmp[k] = a[j]
			j++
		} else {
			tmp[k] = a[i]
			i++
		}
		k++
	}
	for ; i < mid; i, k = i+1, k+1 {
		tmp[k] = a[i]
	}
	for ; j < hi; j, k = j+1, k+1 {
		tmp[k] = a[j]
	}
	copy(a[lo:hi], tmp[lo:hi])
}

func main() {
	n, cutoff := 300000, 16384
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		cutoff, _ = strconv.Atoi(os.Args[2])
	}
	a, tmp := make([]int, n), make([]int, n)
	x := 12345
	for i := range a {
		x = (x*1103515245 + 12345) & 2147483647
		a[i] = x
	}
	done := make(chan int, 1)
	go msort(a, tmp, 0, n, cutoff, done)
	<-done
	sorted := 1
	for i := 1; i < n; i++ {
		if a[i-1] > a[i] {
			sorted = 0
		}
	}
	fmt.Println(sorted)
	fmt.Println(a[0] + a[n/2] + a[n-1])
}
