package fingerprint

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Re-measure with (see BENCHMARKS.md in this directory):
//
//	go test ./fingerprint -run '^$' -bench 'Lookup1000|Build|Add' -benchtime 3x -count 5 -timeout 60m
//	go test ./fingerprint -run '^$' -bench 'Decode|Sketch|Compare|CorpusRecall' -count 5
//
// The 1M synthetic songs are generated once per process (outside all
// timers, ~1 min on 2 cores), stored compressed in memory (compStore: test
// support, not index memory), and shared by the benchmarks.

// benchSongs is the number of synthetic songs: 1M, or $FP_BENCH_SONGS.
var benchSongs = func() int {
	if n, err := strconv.Atoi(os.Getenv("FP_BENCH_SONGS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}()

// compStore is a Store over compressed fingerprints (as fpcalc prints them,
// without base64) in one arena: it decodes on every read, as a service
// reading them from SQLite would.
type compStore struct {
	data []byte
	off  []uint64 // song i: data[off[i]:off[i+1]]
}

func (s *compStore) Fingerprints(ids []int64) ([][]uint32, error) {
	out := make([][]uint32, len(ids))
	for i, id := range ids {
		if id < 0 || int(id)+1 >= len(s.off) {
			continue
		}
		_, fp, err := DecodeBytes(s.data[s.off[id]:s.off[id+1]])
		if err != nil {
			return nil, err
		}
		out[i] = fp
	}
	return out, nil
}

type benchSet struct {
	store    *compStore
	sketches [][]uint32 // per song
	durs     []float64
	hashes   map[[32]byte]int64 // the exact-hash scheme: SHA-256 of the fingerprint string → song
	queries  []Query
	qStrings []string // the queries as fpcalc prints them
	qSong    []int64  // the song a query is a copy of, or -1
}

var benchOnce struct {
	sync.Once
	s *benchSet
}

// benchData generates n synthetic songs of 300–950 items (fpcalc reads at
// most 120 s: ~950 items), and 1,000 queries: 700 copies of random songs
// with 3% of their bits flipped and up to 3 s trimmed (the worst real copy
// in the corpus differs by 4.1%), 300 fingerprints of songs not indexed.
func benchData() *benchSet {
	benchOnce.Do(func() {
		n := benchSongs
		s := &benchSet{sketches: make([][]uint32, n), durs: make([]float64, n), hashes: make(map[[32]byte]int64, n)}
		comp := make([][]byte, n)
		sums := make([][32]byte, n)
		workers := runtime.GOMAXPROCS(0)
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += workers {
					rng := rand.New(rand.NewPCG(uint64(i), 11))
					fp := synthFP(rng, 300+rng.IntN(651))
					s.durs[i] = float64(len(fp))/ItemsPerSecond + 60*rng.Float64()
					s.sketches[i] = SketchOf(fp)
					comp[i] = EncodeBytes(fp, DefaultAlgorithm)
					sums[i] = sha256.Sum256([]byte(Encode(fp, DefaultAlgorithm)))
				}
			}()
		}
		wg.Wait()
		st := &compStore{off: make([]uint64, 1, n+1)}
		for i, c := range comp {
			st.data = append(st.data, c...)
			st.off = append(st.off, uint64(len(st.data)))
			s.hashes[sums[i]] = int64(i)
		}
		s.store = st
		rng := rand.New(rand.NewPCG(12, 13))
		for q := range 1000 {
			var fp []uint32
			var dur float64
			song := int64(-1)
			if q%10 < 7 {
				song = rng.Int64N(int64(n))
				orig, _ := st.Fingerprints([]int64{song})
				trim := rng.IntN(25)
				fp, dur = noisy(rng, orig[0], 0.03, trim), s.durs[song]-float64(trim)/ItemsPerSecond
			} else {
				fp = synthFP(rng, 300+rng.IntN(651))
				dur = float64(len(fp))/ItemsPerSecond + 60*rng.Float64()
			}
			s.queries = append(s.queries, Query{Fingerprint: fp, Duration: dur})
			s.qStrings = append(s.qStrings, Encode(fp, DefaultAlgorithm))
			s.qSong = append(s.qSong, song)
		}
		benchOnce.s = s
		runtime.GC()
	})
	return benchOnce.s
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// buildBench builds the index of the bench songs from their sketches and
// returns it with the heap bytes it added (after GC).
func buildBench(s *benchSet) (*Index, uint64) {
	before := heapInUse()
	b := NewBuilder(s.store, Options{}, len(s.sketches))
	for i, sk := range s.sketches {
		if err := b.AddSketch(int64(i), sk, s.durs[i]); err != nil {
			panic(err)
		}
	}
	ix := b.Build()
	return ix, heapInUse() - before
}

var benchIndex struct {
	sync.Once
	ix    *Index
	bytes uint64
}

func sharedIndex(s *benchSet) *Index {
	benchIndex.Do(func() { benchIndex.ix, benchIndex.bytes = buildBench(s) })
	return benchIndex.ix
}

// BenchmarkLookup1000 times one LookupBatch of the 1,000 queries against
// 1M songs (candidates from the index, their fingerprints decoded from
// compStore, compared), and in the same process the exact-hash scheme on
// the same 1,000 fingerprint strings (SHA-256 + map lookup): x-hash is the
// ratio. found and false count the copies found as their song and the
// queries that matched another song.
func BenchmarkLookup1000(b *testing.B) {
	s := benchData()
	ix := sharedIndex(s)
	b.Run(fmt.Sprintf("n=%d", len(s.sketches)), func(b *testing.B) {
		hashTime := func() time.Duration {
			var ts []time.Duration
			for range 5 {
				t0 := time.Now()
				hits := 0
				for _, q := range s.qStrings {
					if _, ok := s.hashes[sha256.Sum256([]byte(q))]; ok {
						hits++
					}
				}
				ts = append(ts, time.Since(t0))
				if hits != 0 {
					panic("exact hash found a noisy copy")
				}
			}
			slices.Sort(ts)
			return ts[2]
		}
		ref := hashTime()
		var res [][]Match
		cpu0 := cpuTime()
		for b.Loop() {
			var err error
			if res, err = ix.LookupBatch(s.queries); err != nil {
				b.Fatal(err)
			}
		}
		per := b.Elapsed() / time.Duration(b.N)
		cpu := (cpuTime() - cpu0) / time.Duration(b.N)
		found, wrong := 0, 0
		for i, ms := range res {
			for _, m := range ms {
				if m.ID == s.qSong[i] {
					found++
				} else {
					wrong++
				}
			}
		}
		b.ReportMetric(float64(per.Microseconds())/1000, "ms/1000")
		b.ReportMetric(float64(cpu.Microseconds())/1000, "cpu-ms/1000")
		b.ReportMetric(float64(ref.Microseconds())/1000, "hash-ms/1000")
		b.ReportMetric(float64(per)/float64(ref), "x-hash")
		b.ReportMetric(float64(found), "found/700")
		b.ReportMetric(float64(wrong), "false")
	})
}

// BenchmarkLookupOne times a single Lookup (one goroutine), cycling
// through the queries.
func BenchmarkLookupOne(b *testing.B) {
	s := benchData()
	ix := sharedIndex(s)
	b.Run(fmt.Sprintf("n=%d", len(s.sketches)), func(b *testing.B) {
		i := 0
		cpu0 := cpuTime()
		for b.Loop() {
			q := s.queries[i%len(s.queries)]
			if _, err := ix.Lookup(q.Fingerprint, q.Duration); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N)/1000, "cpu-µs/op")
	})
}

// cpuTime is the CPU time (user + system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBuild times a Builder fed the 1M songs' sketches (as a service
// storing them would read them at start-up) and reports the heap bytes
// per song the index holds (runtime.MemStats after GC; compStore and the
// sketches are allocated before and not counted).
func BenchmarkBuild(b *testing.B) {
	s := benchData()
	b.Run(fmt.Sprintf("n=%d", len(s.sketches)), func(b *testing.B) {
		var bytes uint64
		var ix *Index
		for b.Loop() {
			ix, bytes = buildBench(s)
		}
		n := float64(len(s.sketches))
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/build")
		b.ReportMetric(float64(bytes)/n, "heap-B/song")
		b.ReportMetric(float64(ix.MemoryBytes())/n, "B/song")
	})
}

// BenchmarkBuildFromFingerprints times a start-up from full fingerprints:
// GOMAXPROCS goroutines decode the 1M compressed fingerprints of compStore
// (a Decoder each) and Add them to one Builder.
func BenchmarkBuildFromFingerprints(b *testing.B) {
	s := benchData()
	b.Run(fmt.Sprintf("n=%d", len(s.sketches)), func(b *testing.B) {
		n := len(s.sketches)
		for b.Loop() {
			bl := NewBuilder(s.store, Options{}, n)
			workers := runtime.GOMAXPROCS(0)
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var dec Decoder
					for i := w; i < n; i += workers {
						_, fp, err := dec.DecodeBytes(s.store.data[s.store.off[i]:s.store.off[i+1]])
						if err != nil {
							panic(err)
						}
						if err := bl.Add(int64(i), fp, s.durs[i]); err != nil {
							panic(err)
						}
					}
				}()
			}
			wg.Wait()
			bl.Build()
		}
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/build")
	})
}

// BenchmarkSketch times SketchOf on a 120 s fingerprint: the work a
// start-up from full fingerprints adds per song.
func BenchmarkSketch(b *testing.B) {
	fp := synthFP(rand.New(rand.NewPCG(1, 1)), 950)
	for b.Loop() {
		SketchOf(fp)
	}
}

// BenchmarkDecode times Decode of a 120 s fingerprint string.
func BenchmarkDecode(b *testing.B) {
	s := Encode(synthFP(rand.New(rand.NewPCG(1, 1)), 950), DefaultAlgorithm)
	for b.Loop() {
		if _, _, err := Decode(s); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompare times Compare and CompareExhaustive of a 120 s
// fingerprint with a noisy copy.
func BenchmarkCompare(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	a := synthFP(rng, 950)
	q := noisy(rng, a, 0.03, 24)
	p := DefaultParams()
	b.Run("sampled", func(b *testing.B) {
		for b.Loop() {
			p.Compare(a, q)
		}
	})
	b.Run("exhaustive", func(b *testing.B) {
		for b.Loop() {
			p.CompareExhaustive(a, q)
		}
	})
}

// BenchmarkCorpusRecall reports the index's recall on the real corpus: of
// the (query, song) pairs the exhaustive comparison matches, the share the
// index returns from Lookup.
func BenchmarkCorpusRecall(b *testing.B) {
	c := loadCorpus(b)
	st := NewMemStore()
	ix := New(st, Options{ExpectedSongs: len(c)})
	for i, it := range c {
		st.Put(int64(i), it.items)
		ix.Add(int64(i), it.items, it.Duration) // silence: ErrNoTerms
	}
	p := DefaultParams()
	var pairs, found int
	for b.Loop() {
		pairs, found = 0, 0
		for i, q := range c {
			ms, _ := ix.Lookup(q.items, q.Duration)
			for j, it := range c {
				if _, ok := p.Match(it.items, it.Duration, q.items, q.Duration); ok {
					pairs++
					if slices.ContainsFunc(ms, func(m Match) bool { return m.ID == int64(j) }) {
						found++
					}
				}
			}
			_ = i
		}
	}
	b.ReportMetric(float64(found)/float64(pairs), "recall")
	b.ReportMetric(float64(pairs), "pairs")
}

var addNext struct {
	sync.Mutex
	id int64
}

// BenchmarkAdd times Index.AddSketch of new songs into the 1M-song index,
// background merges included: one op is 16,384 adds, more than the 1/64 of
// the songs that start a merge, and waits for the merge under way at its
// end.
func BenchmarkAdd(b *testing.B) {
	s := benchData()
	ix := sharedIndex(s)
	b.Run(fmt.Sprintf("n=%d", len(s.sketches)), func(b *testing.B) {
		const perOp = 16384
		rng := rand.New(rand.NewPCG(14, 15))
		sks := make([][]uint32, 4096)
		for i := range sks {
			sks[i] = SketchOf(synthFP(rng, 950))
		}
		addNext.Lock()
		defer addNext.Unlock()
		if addNext.id == 0 {
			addNext.id = int64(len(s.sketches))
		}
		cpu0 := cpuTime()
		for b.Loop() {
			for i := range perOp {
				if err := ix.AddSketch(addNext.id, sks[i%len(sks)], 200); err != nil {
					b.Fatal(err)
				}
				addNext.id++
			}
			ix.waitMerge()
		}
		adds := float64(b.N * perOp)
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/adds/1000, "µs/add")
		b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/adds/1000, "cpu-µs/add")
	})
}
