package search

import (
	"fmt"
	"iter"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// Re-measure with (BENCH_NOTES.md):
//
//	go test ./search -run '^$' -bench . -benchtime 400x -count 5 -timeout 60m
//
// The 1M-song index of the loadgen dataset is built once per process
// (lazily, outside the timers) and shared by the query benchmarks.

const benchN = 1_000_000

var benchIx struct {
	once sync.Once
	ix   *Index
}

func synthSongs(from, n uint64) iter.Seq[Song] {
	return func(yield func(Song) bool) {
		for i := from; i < from+n; i++ {
			if !yield(synthSong(i)) {
				return
			}
		}
	}
}

func bigIndex(b *testing.B) *Index {
	b.Helper()
	benchIx.once.Do(func() {
		ix, err := Build(synthSongs(0, benchN))
		if err != nil {
			b.Fatal(err)
		}
		benchIx.ix = ix
		runtime.GC()
	})
	return benchIx.ix
}

// benchQueries are the queries: one word, two words, prefixes
// (while typing), no match, and a few harder cases.
var benchQueries = []string{
	"the", "amber", "zzzq", "velvet harbor", "northern dance", "nor", "velv har",
	"n", "s", "the love", "a b", "paris circus pt",
}

// BenchmarkSearch times the first page (20 hits) and total of each query,
// and reports the median and 99th percentile of the single timings.
func BenchmarkSearch(b *testing.B) {
	ix := bigIndex(b)
	for _, q := range benchQueries {
		b.Run(fmt.Sprintf("n=%d,q=%s", benchN, q), func(b *testing.B) {
			var ts []time.Duration
			var r Result
			for b.Loop() {
				t0 := time.Now()
				r = ix.Search(q, 1, 20)
				ts = append(ts, time.Since(t0))
			}
			reportLatency(b, ts)
			b.ReportMetric(float64(r.Total), "total")
		})
	}
}

func reportLatency(b *testing.B, ts []time.Duration) {
	slices.Sort(ts)
	b.ReportMetric(float64(ts[len(ts)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(ts[len(ts)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkBuild builds the 1M index from generated songs (generation
// included; it is about as costly as reading the rows) and reports the
// heap the index holds after a GC, per song.
func BenchmarkBuild(b *testing.B) {
	for b.Loop() {
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		ix, err := Build(synthSongs(0, benchN))
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/benchN, "B/song")
		b.ReportMetric(float64(len(ix.terms)), "terms")
		b.ReportMetric(float64(len(ix.fwd))/benchN, "terms/song")
		runtime.KeepAlive(ix)
	}
}

// BenchmarkGenerate is the cost of generating the songs alone, to be
// subtracted from BenchmarkBuild.
func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		for s := range synthSongs(0, benchN) {
			_ = s
		}
	}
}

// BenchmarkWrite times, on the 1M index, adding 1,000 new songs, updating
// their contributions and names, and removing them again (per song).
func BenchmarkWrite(b *testing.B) {
	ix := bigIndex(b)
	const n = 1000
	songs := slices.Collect(synthSongs(200_000_000, n))
	renamed := slices.Clone(songs)
	for i := range renamed {
		renamed[i].Album = "Renamed Album " + fmt.Sprint(i)
	}
	var add, contrib, update, rm []time.Duration
	for b.Loop() {
		t0 := time.Now()
		for _, s := range songs {
			if err := ix.Add(s); err != nil {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		for _, s := range songs {
			ix.SetContributions(s.Key, 3)
		}
		t2 := time.Now()
		for _, s := range renamed {
			_ = ix.Add(s)
		}
		t3 := time.Now()
		for _, s := range songs {
			ix.Remove(s.Key)
		}
		t4 := time.Now()
		add = append(add, t1.Sub(t0)/n)
		contrib = append(contrib, t2.Sub(t1)/n)
		update = append(update, t3.Sub(t2)/n)
		rm = append(rm, t4.Sub(t3)/n)
	}
	for _, m := range []struct {
		name string
		ts   []time.Duration
	}{{"add-µs", add}, {"contrib-µs", contrib}, {"update-µs", update}, {"remove-µs", rm}} {
		slices.Sort(m.ts)
		b.ReportMetric(float64(m.ts[len(m.ts)/2].Nanoseconds())/1000, m.name)
	}
}

// BenchmarkPlans answers queries of several words with each plan, the
// evidence for bitmapsCheaper.
func BenchmarkPlans(b *testing.B) {
	ix := bigIndex(b)
	for _, q := range []string{"velvet harbor", "northern dance", "velv har", "the love", "a b", "paris circus pt", "velvet h", "ana almeida neon"} {
		for _, p := range []plan{planWords, planBitmaps} {
			name := map[plan]string{planWords: "words", planBitmaps: "bitmaps"}[p]
			b.Run(fmt.Sprintf("q=%s,plan=%s", q, name), func(b *testing.B) {
				var ts []time.Duration
				for b.Loop() {
					t0 := time.Now()
					ix.search(q, 1, 20, p)
					ts = append(ts, time.Since(t0))
				}
				reportLatency(b, ts)
			})
		}
	}
}
