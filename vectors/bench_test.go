package vectors

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Re-measure with:
//
//	go test ./vectors -run '^$' -bench . -benchtime 20x -count 5
//
// The big matrices are built once per process (lazily, outside the timers)
// and shared by all benchmarks.

type benchShape struct{ n, d int }

var benchShapes = []benchShape{{1_000_000, 200}, {100_000, 512}}

var benchCache struct {
	mu sync.Mutex
	m  map[benchShape]*Index
}

// benchIndex returns the shared seeded random index of shape s, built with
// a Builder (exact size hint) the first time it is asked for.
func benchIndex(b *testing.B, s benchShape) *Index {
	b.Helper()
	benchCache.mu.Lock()
	defer benchCache.mu.Unlock()
	if ix, ok := benchCache.m[s]; ok {
		return ix
	}
	if benchCache.m == nil {
		benchCache.m = map[benchShape]*Index{}
	}
	rng := rand.New(rand.NewPCG(uint64(s.n), uint64(s.d)))
	bl := NewBuilder(s.d, s.n)
	v := make([]float32, s.d)
	for i := range s.n {
		for j := range v {
			v[j] = rng.Float32()*2 - 1
		}
		if err := bl.Accumulate("song:"+strconv.Itoa(i), v); err != nil {
			b.Fatal(err)
		}
	}
	ix := bl.Build()
	benchCache.m[s] = ix
	runtime.GC()
	return ix
}

func benchQueries(d, count int) [][]float32 {
	rng := rand.New(rand.NewPCG(7, uint64(d)))
	qs := make([][]float32, count)
	for i := range qs {
		qs[i] = make([]float32, d)
		for j := range qs[i] {
			qs[i][j] = rng.Float32()*2 - 1
		}
	}
	return qs
}

var sink uint64

// floorNs is the median wall time of a few ScanFloor passes over data.
func floorNs(data ...[]float32) float64 {
	const passes = 5
	ts := make([]float64, passes)
	for i := range ts {
		t0 := time.Now()
		sink += ScanFloor(data...)
		ts[i] = float64(time.Since(t0).Nanoseconds())
	}
	slices.Sort(ts)
	return ts[passes/2]
}

func BenchmarkScanBandwidth(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(fmt.Sprintf("n=%d,d=%d", s.n, s.d), func(b *testing.B) {
			ix := benchIndex(b, s)
			b.SetBytes(int64(s.n * s.d * 4))
			sink += ScanFloor(ix.data.blocks...) // warm up
			b.ResetTimer()
			for range b.N {
				sink += ScanFloor(ix.data.blocks...)
			}
		})
	}
}

func BenchmarkSearch(b *testing.B) {
	const k = 10
	for _, s := range benchShapes {
		b.Run(fmt.Sprintf("n=%d,d=%d,k=%d", s.n, s.d, k), func(b *testing.B) {
			ix := benchIndex(b, s)
			qs := benchQueries(s.d, 64)
			b.SetBytes(int64(s.n * s.d * 4))
			floor := floorNs(ix.data.blocks...)
			if _, err := ix.Search(qs[0], k, nil); err != nil { // warm up
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				hs, err := ix.Search(qs[i%len(qs)], k, nil)
				if err != nil || len(hs) != k {
					b.Fatal(err, len(hs))
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/floor, "x-floor")
		})
	}
}

// naiveSearch is the reference we beat: one goroutine, a plain Go
// dot-product loop per row, and the same bounded heap.
func naiveSearch(ix *Index, q []float32, k int) []Hit {
	qn := slices.Clone(q)
	if err := Normalize(qn); err != nil {
		panic(err)
	}
	h := topK{k: k}
	for r, id := range ix.ids {
		row := ix.data.row(r)
		var s float32
		for j, x := range row {
			s += x * qn[j]
		}
		h.offer(Hit{ID: id, Score: s})
	}
	return h.sorted()
}

func BenchmarkNaiveLoop(b *testing.B) {
	const k = 10
	s := benchShapes[0]
	b.Run(fmt.Sprintf("n=%d,d=%d,k=%d", s.n, s.d, k), func(b *testing.B) {
		ix := benchIndex(b, s)
		qs := benchQueries(s.d, 64)
		b.SetBytes(int64(s.n * s.d * 4))
		floor := floorNs(ix.data.blocks...)
		b.ResetTimer()
		for i := range b.N {
			if hs := naiveSearch(ix, qs[i%len(qs)], k); len(hs) != k {
				b.Fatal(len(hs))
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/floor, "x-floor")
	})
}

var clusteredCache struct {
	mu sync.Mutex
	m  map[benchShape]*Index
	g  map[benchShape]*clusterGen
}

// benchClustered returns a shared seeded random-but-clustered index
// (n/1000 clusters, spread 1, offset 1) with the sketch enabled, and its
// generator (for queries from the same distribution).
func benchClustered(b *testing.B, s benchShape) (*Index, *clusterGen) {
	b.Helper()
	clusteredCache.mu.Lock()
	defer clusteredCache.mu.Unlock()
	if ix, ok := clusteredCache.m[s]; ok {
		return ix, clusteredCache.g[s]
	}
	if clusteredCache.m == nil {
		clusteredCache.m = map[benchShape]*Index{}
		clusteredCache.g = map[benchShape]*clusterGen{}
	}
	g := newClusterGen(uint64(s.n+s.d), s.d, max(1, s.n/1000), 1, 1)
	bl := NewBuilder(s.d, s.n)
	v := make([]float32, s.d)
	for i := range s.n {
		g.next(v)
		if err := bl.Accumulate("song:"+strconv.Itoa(i), v); err != nil {
			b.Fatal(err)
		}
	}
	ix := bl.Build()
	ix.EnableApprox()
	clusteredCache.m[s] = ix
	clusteredCache.g[s] = g
	runtime.GC()
	return ix, g
}

// BenchmarkSearchApprox measures SearchApprox (1-bit sketch scan + exact
// float32 re-rank of DefaultRerank(n, k) candidates) on seeded
// random-but-clustered data (1000 clusters) and on the uniform data of
// BenchmarkSearch. recall@10 is measured against the exact Search on 50
// queries from the same distribution, outside the timer; x-floor is
// relative to the float32 ScanBandwidth floor of the same shape.
func BenchmarkSearchApprox(b *testing.B) {
	const k, nq = 10, 50
	s := benchShapes[0]
	for _, data := range []string{"clustered", "uniform"} {
		b.Run(fmt.Sprintf("%s,n=%d,d=%d,k=%d", data, s.n, s.d, k), func(b *testing.B) {
			var ix *Index
			var qs [][]float32
			if data == "uniform" {
				ix = benchIndex(b, s)
				benchCache.mu.Lock()
				if !ix.ApproxEnabled() {
					ix.EnableApprox()
				}
				benchCache.mu.Unlock()
				qs = benchQueries(s.d, nq)
			} else {
				var g *clusterGen
				ix, g = benchClustered(b, s)
				clusteredCache.mu.Lock()
				for range nq {
					q := make([]float32, s.d)
					g.next(q)
					qs = append(qs, q)
				}
				clusteredCache.mu.Unlock()
			}
			var rec float64
			for _, q := range qs {
				ex, err := ix.Search(q, k, nil)
				if err != nil {
					b.Fatal(err)
				}
				ap, err := ix.SearchApprox(q, k, 0, nil)
				if err != nil {
					b.Fatal(err)
				}
				rec += recallAt(ex, ap)
			}
			b.SetBytes(int64(s.n * s.d * 4))
			floor := floorNs(ix.data.blocks...)
			b.ResetTimer()
			for i := range b.N {
				hs, err := ix.SearchApprox(qs[i%len(qs)], k, 0, nil)
				if err != nil || len(hs) != k {
					b.Fatal(err, len(hs))
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/floor, "x-floor")
			b.ReportMetric(rec/nq, "recall@10")
		})
	}
}

func BenchmarkDecodeBlob(b *testing.B) {
	for _, d := range []int{200, 512} {
		b.Run(fmt.Sprintf("d=%d", d), func(b *testing.B) {
			blob := EncodeBlob(benchQueries(d, 1)[0])
			dst := make([]float32, d)
			b.SetBytes(int64(len(blob)))
			for range b.N {
				var err error
				if dst, err = DecodeBlob(blob, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGrowPause adds 20,000 new ids to a 1M×200 index built at its
// exact size, as the service does after start-up, and reports the longest
// single Set ("max-set-ms"): Set holds the write lock, so that is how long
// every search waits. The median Set is given for reference.
func BenchmarkGrowPause(b *testing.B) {
	const n, d, add = 1_000_000, 200, 20_000
	for range b.N {
		b.StopTimer()
		rng := rand.New(rand.NewPCG(3, 4))
		bl := NewBuilder(d, n)
		v := make([]float32, d)
		for i := range n {
			for j := range v {
				v[j] = rng.Float32()*2 - 1
			}
			if err := bl.Accumulate("song:"+strconv.Itoa(i), v); err != nil {
				b.Fatal(err)
			}
		}
		ix := bl.Build()
		runtime.GC()
		b.StartTimer()
		ts := make([]float64, add)
		for i := range add {
			for j := range v {
				v[j] = rng.Float32()*2 - 1
			}
			t0 := time.Now()
			if err := ix.Set("new:"+strconv.Itoa(i), v); err != nil {
				b.Fatal(err)
			}
			ts[i] = float64(time.Since(t0).Nanoseconds()) / 1e6
		}
		slices.Sort(ts)
		b.ReportMetric(ts[len(ts)-1], "max-set-ms")
		b.ReportMetric(ts[len(ts)/2]*1000, "median-set-µs")
	}
}
