package main

import (
	"fmt"
	mrand "math/rand/v2"
	"runtime"
	"runtime/debug"
	"strconv"
	"time"

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
	sinkU64 += vectors.ScanFloor(data) // warm up
	for range reps {
		t := time.Now()
		sinkU64 += vectors.ScanFloor(data)
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
