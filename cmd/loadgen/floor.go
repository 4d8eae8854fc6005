package main

import (
	"fmt"
	mrand "math/rand/v2"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"songcommons/vectors"
)

// floorResult is the reference for similarity search, measured in the
// load generator's own process on the same machine in the same run: the
// time to stream an n×d float32 matrix once (parallel sum over all cores,
// the physical limit of an exact scan), and vectors.Index.Search (k=10) on
// an n×d random index (the scan without HTTP, SQLite or JSON).
type floorResult struct {
	N        int     `json:"n"`
	Dim      int     `json:"dim"`
	MiB      float64 `json:"matrix_mib"`
	StreamMS float64 `json:"stream_ms"`
	GBps     float64 `json:"gb_per_s"`
	SearchMS float64 `json:"search_ms"`
}

func (f floorResult) String() string {
	return fmt.Sprintf("streaming %d×%d float32 (%.0f MiB) takes %.1f ms (%.1f GB/s); vectors.Index.Search k=10 in-process %.1f ms (x%.2f the floor)",
		f.N, f.Dim, f.MiB, f.StreamMS, f.GBps, f.SearchMS, f.SearchMS/f.StreamMS)
}

var sinkU64 uint64

// streamSum reads every byte of data once, split across GOMAXPROCS
// goroutines, summing 64-bit words into 4 accumulators, 16 words per
// bounds check: the same floor as vectors/bench_test.go (scanFloor), i.e.
// memory bandwidth, not arithmetic, is the limit.
func streamSum(data []float32) {
	words := unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(data))), len(data)/2)
	w := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	parts := make([]uint64, w)
	for i := range w {
		lo, hi := len(words)*i/w, len(words)*(i+1)/w
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := words[lo:hi]
			var a0, a1, a2, a3 uint64
			n := len(p) &^ 15
			for j := 0; j < n; j += 16 {
				q := (*[16]uint64)(p[j : j+16])
				a0 += q[0] + q[4] + q[8] + q[12]
				a1 += q[1] + q[5] + q[9] + q[13]
				a2 += q[2] + q[6] + q[10] + q[14]
				a3 += q[3] + q[7] + q[11] + q[15]
			}
			for _, x := range p[n:] {
				a0 += x
			}
			parts[i] = a0 + a1 + a2 + a3
		}()
	}
	wg.Wait()
	for _, p := range parts {
		sinkU64 += p
	}
}

// measureFloor builds an n×d random index and times reps streams and reps
// searches (medians).
func measureFloor(n, d, reps int) floorResult {
	if n <= 0 {
		return floorResult{}
	}
	rng := mrand.New(mrand.NewPCG(42, uint64(n)))
	b := vectors.NewBuilder(d, n)
	v := make([]float32, d)
	for i := range n {
		for j := range v {
			v[j] = rng.Float32()*2 - 1
		}
		_ = b.Accumulate("song:"+strconv.Itoa(i), v)
	}
	ix := b.Build()
	b = nil
	runtime.GC()
	// the matrix itself is private to the index: stream a same-sized copy
	data := make([]float32, n*d)
	for i := range data {
		data[i] = float32(i & 1023)
	}
	var streams, searches []float64
	streamSum(data) // warm up
	for range reps {
		t := time.Now()
		streamSum(data)
		streams = append(streams, float64(time.Since(t).Microseconds())/1000)
		for j := range v {
			v[j] = rng.Float32()*2 - 1
		}
		t = time.Now()
		_, _ = ix.Search(v, 10, nil)
		searches = append(searches, float64(time.Since(t).Microseconds())/1000)
	}
	f := floorResult{N: n, Dim: d, MiB: float64(n*d*4) / (1 << 20), StreamMS: median(streams), SearchMS: median(searches)}
	f.GBps = float64(n*d*4) / 1e9 / (f.StreamMS / 1000)
	data, ix = nil, nil
	runtime.GC()
	debug.FreeOSMemory()
	return f
}
