package search

import (
	"fmt"
	"iter"
	"runtime"
	"slices"
	"sync"
	"syscall"
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

// BenchmarkBuild builds the 1M index from songs generated beforehand
// (outside the timer: the service reads them from the songs table) and
// reports the CPU time of the build, and the heap the index holds after a
// GC, per song, song keys included (the generated names are dropped first).
func BenchmarkBuild(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		songs := slices.Collect(synthSongs(0, benchN))
		b.StartTimer()
		c0 := cpuTime()
		ix, err := Build(slices.Values(songs))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(cpuTime()-c0, "cpu-s")
		b.StopTimer()
		songs = nil
		runtime.GC()
		runtime.ReadMemStats(&m1)
		b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/benchN, "B/song")
		b.ReportMetric(float64(len(ix.terms)), "terms")
		b.ReportMetric(float64(len(ix.fwd))/benchN, "terms/song")
		runtime.KeepAlive(ix)
		b.StartTimer()
	}
}

// cpuTime is the process's user + system CPU time in seconds: on a shared
// machine it varies less than wall time.
func cpuTime() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// BenchmarkFold is the folding of the names of 1,000 loadgen songs, the
// largest part of Build and Add.
func BenchmarkFold(b *testing.B) {
	songs := slices.Collect(synthSongs(0, 1000))
	var buf []string
	for b.Loop() {
		for i := range songs {
			buf = songTerms(&songs[i], buf)
		}
	}
}

// BenchmarkWrite times writes on the 1M index, per song (medians over the
// iterations): adding 1,000 new songs (new ids: appends to the posting
// lists), setting their contributions, changing their album, removing
// them; then removing 1,000 seeded songs spread over the whole index and
// adding them back (their freed ids are reused, so both move the tails of
// long posting lists such as "the").
func BenchmarkWrite(b *testing.B) {
	ix := bigIndex(b)
	const n = 1000
	fresh := slices.Collect(synthSongs(200_000_000, n))
	renamed := slices.Clone(fresh)
	for i := range renamed {
		renamed[i].Album = "Renamed Album " + fmt.Sprint(i)
	}
	old := make([]Song, n)
	for i := range old {
		old[i] = synthSong(uint64(i) * (benchN / n))
	}
	steps := []struct {
		name string
		do   func(s Song)
		on   []Song
		ts   []time.Duration
	}{
		{name: "add-µs", on: fresh, do: func(s Song) { _ = ix.Add(s) }},
		{name: "contrib-µs", on: fresh, do: func(s Song) { ix.SetContributions(s.Key, 3) }},
		{name: "update-µs", on: renamed, do: func(s Song) { _ = ix.Add(s) }},
		{name: "remove-µs", on: fresh, do: func(s Song) { ix.Remove(s.Key) }},
		{name: "remove-old-µs", on: old, do: func(s Song) { ix.Remove(s.Key) }},
		{name: "readd-old-µs", on: old, do: func(s Song) { _ = ix.Add(s) }},
	}
	for b.Loop() {
		for i := range steps {
			st := &steps[i]
			t0 := time.Now()
			for _, s := range st.on {
				st.do(s)
			}
			st.ts = append(st.ts, time.Since(t0)/n)
		}
	}
	for _, st := range steps {
		slices.Sort(st.ts)
		b.ReportMetric(float64(st.ts[len(st.ts)/2].Nanoseconds())/1000, st.name)
	}
}

// BenchmarkPlans answers queries of several words with each plan, the
// evidence for bitmapsCheaper.
func BenchmarkPlans(b *testing.B) {
	ix := bigIndex(b)
	for _, q := range []string{"velvet harbor", "northern dance", "velv har", "the love", "a b", "paris circus pt", "velvet h", "ana almeida neon", "amber the", "zimmerman 12 the"} {
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
