package vectors

import (
	"runtime"
	"sync"
	"unsafe"
)

// ScanFloor reads every byte of data once, split across GOMAXPROCS
// goroutines by contiguous blocks, summing 64-bit words into 4 independent
// accumulators per goroutine, 16 words per bounds check (no arithmetic
// bottleneck: it runs at the same speed as touching one word per cache
// line). It is the memory
// bandwidth floor for one pass over the matrix: the reference the
// benchmarks (and cmd/loadgen) compare Search with.
// The matrix of an index is in blocks: pass them all (ScanFloor(blocks...)).
func ScanFloor(blocks ...[]float32) uint64 {
	var s uint64
	for _, b := range blocks {
		s += scanFloor(b)
	}
	return s
}

func scanFloor(data []float32) uint64 {
	words := unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(data))), len(data)/2)
	workers := runtime.GOMAXPROCS(0)
	sums := make([]uint64, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := len(words)*w/workers, len(words)*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := words[lo:hi]
			var a0, a1, a2, a3 uint64
			n := len(p) &^ 15
			for i := 0; i < n; i += 16 {
				q := (*[16]uint64)(p[i : i+16]) // one bounds check per 128 bytes
				a0 += q[0] + q[4] + q[8] + q[12]
				a1 += q[1] + q[5] + q[9] + q[13]
				a2 += q[2] + q[6] + q[10] + q[14]
				a3 += q[3] + q[7] + q[11] + q[15]
			}
			for _, x := range p[n:] {
				a0 += x
			}
			sums[w] = a0 + a1 + a2 + a3
		}()
	}
	wg.Wait()
	var s uint64
	for _, x := range sums {
		s += x
	}
	return s
}
