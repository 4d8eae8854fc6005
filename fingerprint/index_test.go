package fingerprint

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// corpusIndex indexes the given corpus items (id = position in the corpus).
func corpusIndex(t *testing.T, c []corpusItem, keep func(corpusItem) bool) *Index {
	t.Helper()
	st := NewMemStore()
	ix := New(st, Options{ExpectedSongs: len(c)})
	for i, it := range c {
		if !keep(it) {
			continue
		}
		st.Put(int64(i), it.items)
		if err := ix.Add(int64(i), it.items, it.Duration); err != nil {
			if it.Recording == "silence" && err == ErrNoTerms {
				continue // 10 s of digital silence: nothing to identify
			}
			t.Fatalf("Add %s/%s: %v", it.Recording, it.Variant, err)
		}
	}
	return ix
}

func TestCorpusEveryVariantFoundAsItsRecording(t *testing.T) {
	t.Parallel()
	c := loadCorpus(t)
	ix := corpusIndex(t, c, func(it corpusItem) bool { return it.Variant == "orig" })
	variants := 0
	for _, q := range c {
		ms, err := ix.Lookup(q.items, q.Duration)
		if err != nil {
			t.Fatal(err)
		}
		if q.Recording == "silence" {
			if len(ms) != 0 {
				t.Fatalf("silence matched %v", ms)
			}
			continue
		}
		if len(ms) != 1 || c[ms[0].ID].Recording != q.Recording {
			var got []string
			for _, m := range ms {
				got = append(got, fmt.Sprintf("%s (%.3f)", c[m.ID].Recording, m.Score))
			}
			t.Fatalf("%s/%s found as %v", q.Recording, q.Variant, got)
		}
		if q.Variant != "orig" {
			variants++
		}
		if q.Variant == "trim3" && (ms[0].Offset < 2.8 || ms[0].Offset > 3.2) {
			t.Fatalf("%s/trim3 found at offset %.2f s, want 3", q.Recording, ms[0].Offset)
		}
	}
	if variants < 50 {
		t.Fatalf("only %d variants in the corpus", variants)
	}
}

// With every variant indexed, a lookup is ambiguous on purpose: it must
// report every copy of its recording, and nothing else.
func TestCorpusLookupReportsEveryCopy(t *testing.T) {
	t.Parallel()
	c := loadCorpus(t)
	ix := corpusIndex(t, c, func(corpusItem) bool { return true })
	for _, q := range c {
		if q.Recording == "silence" {
			continue
		}
		ms, err := ix.Lookup(q.items, q.Duration)
		if err != nil {
			t.Fatal(err)
		}
		var got, want []int64
		for _, m := range ms {
			got = append(got, m.ID)
		}
		for i, it := range c {
			if it.Recording == q.Recording {
				want = append(want, int64(i))
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("%s/%s: found %v, want %v", q.Recording, q.Variant, got, want)
		}
	}
}

// pairStats compares every pair of corpus items exhaustively.
type pairStats struct {
	worstSame, bestOther       float64 // scores
	worstSameName, bestOthName string
	same, other                int
}

func corpusPairs(t *testing.T, c []corpusItem, p Params, f func(i, j int, ex Similarity, match bool)) pairStats {
	st := pairStats{worstSame: 1}
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			a, b := c[i], c[j]
			ex := p.CompareExhaustive(a.items, b.items)
			match := p.DurationsMatch(a.Duration, b.Duration) && ex.Overlap > 0 && ex.Score >= p.MinScore
			name := a.Recording + "/" + a.Variant + " vs " + b.Recording + "/" + b.Variant
			if a.Recording == b.Recording {
				st.same++
				if ex.Score < st.worstSame {
					st.worstSame, st.worstSameName = ex.Score, name
				}
			} else if p.DurationsMatch(a.Duration, b.Duration) {
				st.other++
				if ex.Score > st.bestOther {
					st.bestOther, st.bestOthName = ex.Score, name
				}
			}
			f(i, j, ex, match)
		}
	}
	return st
}

// The thresholds keep a wide margin on both sides on the real corpus, and
// Compare (sampled scan, then exact at the best shifts) decides every pair
// as the exhaustive comparison does.
func TestCorpusThresholdsAndCompare(t *testing.T) {
	t.Parallel()
	c := loadCorpus(t)
	p := DefaultParams()
	st := corpusPairs(t, c, p, func(i, j int, ex Similarity, match bool) {
		fast := p.Compare(c[i].items, c[j].items)
		_, fastMatch := p.Match(c[i].items, c[i].Duration, c[j].items, c[j].Duration)
		if fastMatch != match {
			t.Errorf("%s/%s vs %s/%s: Match %v, exhaustive %v", c[i].Recording, c[i].Variant, c[j].Recording, c[j].Variant, fastMatch, match)
		}
		if match != (c[i].Recording == c[j].Recording) {
			t.Errorf("%s/%s vs %s/%s: match %v (score %.3f)", c[i].Recording, c[i].Variant, c[j].Recording, c[j].Variant, match, ex.Score)
		}
		if c[i].Recording == c[j].Recording && fast != ex {
			t.Errorf("%s/%s vs %s/%s: Compare %+v, exhaustive %+v", c[i].Recording, c[i].Variant, c[j].Recording, c[j].Variant, fast, ex)
		}
		if fast.Score > ex.Score+1e-12 {
			t.Errorf("Compare found a better alignment than the exhaustive scan")
		}
	})
	t.Logf("%d pairs of copies: worst score %.4f (%s)", st.same, st.worstSame, st.worstSameName)
	t.Logf("%d pairs of different recordings with close durations: best score %.4f (%s)", st.other, st.bestOther, st.bestOthName)
	if st.worstSame < p.MinScore+0.1 || st.bestOther > p.MinScore-0.1 {
		t.Fatalf("threshold %.2f has less than 0.1 of margin: copies ≥ %.4f, others ≤ %.4f", p.MinScore, st.worstSame, st.bestOther)
	}
}

// Index recall: every pair the exhaustive comparison matches, the index
// finds among the candidates of a lookup of either side.
func TestCorpusIndexRecall(t *testing.T) {
	t.Parallel()
	c := loadCorpus(t)
	ix := corpusIndex(t, c, func(corpusItem) bool { return true })
	cands := make([][]int64, len(c))
	for i, q := range c {
		cands[i] = ix.Candidates(q.items, q.Duration)
	}
	var found, pairs int
	corpusPairs(t, c, DefaultParams(), func(i, j int, _ Similarity, match bool) {
		if !match {
			return
		}
		for _, d := range [][2]int{{i, j}, {j, i}} {
			pairs++
			if slices.Contains(cands[d[0]], int64(d[1])) {
				found++
			} else {
				t.Errorf("lookup of %s/%s misses %s/%s", c[d[0]].Recording, c[d[0]].Variant, c[d[1]].Recording, c[d[1]].Variant)
			}
		}
	})
	t.Logf("index recall: %d of %d matching (query, song) pairs", found, pairs)
}

// The exact-hash scheme (SHA-256 of the fingerprint string) finds almost
// no copy of a recording: the motivation for fuzzy matching.
func TestCorpusExactHashMissesCopies(t *testing.T) {
	t.Parallel()
	c := loadCorpus(t)
	orig := map[string][32]byte{}
	for _, it := range c {
		if it.Variant == "orig" {
			orig[it.Recording] = sha256.Sum256([]byte(it.Fingerprint))
		}
	}
	var hits, variants int
	for _, it := range c {
		if it.Variant == "orig" {
			continue
		}
		variants++
		if sha256.Sum256([]byte(it.Fingerprint)) == orig[it.Recording] {
			hits++
		}
	}
	t.Logf("exact hash: %d of %d variants match their recording", hits, variants)
	if hits > variants/10 {
		t.Fatalf("exact hash matched %d of %d variants", hits, variants)
	}
}

// Synthetic negatives: random fingerprints with Chromaprint-like structure
// match neither the corpus nor each other.
func TestSyntheticNegatives(t *testing.T) {
	t.Parallel()
	c := loadCorpus(t)
	rng := rand.New(rand.NewPCG(3, 4))
	p := DefaultParams()
	best := 0.0
	for range 200 {
		fp := synthFP(rng, 950)
		for _, it := range c {
			s, ok := p.Match(fp, 0, it.items, 0)
			if ok {
				t.Fatalf("synthetic fingerprint matches %s/%s: %+v", it.Recording, it.Variant, s)
			}
			best = max(best, s.Score)
		}
	}
	t.Logf("best score of 200 synthetic fingerprints against the corpus: %.4f", best)
}

// synthIndex returns an index and store of n synthetic songs (ids 0..n-1,
// durations 120–300 s) and their fingerprints.
func synthIndex(rng *rand.Rand, n int, build bool) (*Index, *MemStore, [][]uint32, []float64) {
	st := NewMemStore()
	fps := make([][]uint32, n)
	durs := make([]float64, n)
	var b *Builder
	var ix *Index
	if build {
		b = NewBuilder(st, Options{}, n)
	} else {
		ix = New(st, Options{ExpectedSongs: n})
	}
	for i := range n {
		fps[i] = synthFP(rng, 300+rng.IntN(650))
		durs[i] = 120 + 180*rng.Float64()
		st.Put(int64(i), fps[i])
		var err error
		if build {
			err = b.Add(int64(i), fps[i], durs[i])
		} else {
			err = ix.Add(int64(i), fps[i], durs[i])
		}
		if err != nil {
			panic(err)
		}
	}
	if build {
		ix = b.Build()
	}
	return ix, st, fps, durs
}

// The index gives what a naive scan of every song with Params.Match gives,
// for noisy trimmed copies (3% of bits flipped, up to 3 s trimmed) and for
// unknown fingerprints, through Builder and through Add.
func TestIndexAgreesWithNaiveScan(t *testing.T) {
	t.Parallel()
	for _, build := range []bool{true, false} {
		rng := rand.New(rand.NewPCG(5, 6))
		ix, _, fps, durs := synthIndex(rng, 3000, build)
		p := ix.Params()
		for q := range 150 {
			var fp []uint32
			dur := 120 + 180*rng.Float64()
			if q%3 == 2 {
				fp = synthFP(rng, 900) // not in the index
			} else {
				k := rng.IntN(len(fps))
				fp, dur = noisy(rng, fps[k], 0.03, rng.IntN(25)), durs[k]-rng.Float64()*3
			}
			var want []int64
			for i := range fps {
				if _, ok := p.Match(fps[i], durs[i], fp, dur); ok {
					want = append(want, int64(i))
				}
			}
			ms, err := ix.Lookup(fp, dur)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, m := range ms {
				got = append(got, m.ID)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("build=%v query %d: index %v, naive %v", build, q, got, want)
			}
		}
	}
}

func TestIndexAddRemoveReplace(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 8))
	st := NewMemStore()
	ix := New(st, Options{ExpectedSongs: 100})
	a, b := synthFP(rng, 900), synthFP(rng, 900)
	st.Put(1, a)
	st.Put(2, a) // two songs with the same audio: a lookup reports both
	st.Put(3, b)
	for id, fp := range map[int64][]uint32{1: a, 2: a, 3: b} {
		if err := ix.Add(id, fp, 200); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(fp []uint32, dur float64) []int64 {
		ms, err := ix.Lookup(fp, dur)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	if got := ids(a, 201); !slices.Equal(got, []int64{1, 2}) {
		t.Fatalf("ambiguous lookup found %v, want [1 2]", got)
	}
	if got := ids(a, 260); len(got) != 0 {
		t.Fatalf("lookup with a duration 60 s off found %v", got)
	}
	if got := ids(a, 0); !slices.Equal(got, []int64{1, 2}) {
		t.Fatalf("lookup without duration found %v", got)
	}
	if !ix.Remove(2) || ix.Remove(2) || ix.Len() != 2 {
		t.Fatal("Remove(2) twice did not report true then false")
	}
	if got := ids(a, 200); !slices.Equal(got, []int64{1}) {
		t.Fatalf("after Remove(2) found %v", got)
	}
	// Replace song 1 by b's audio.
	st.Put(1, b)
	if err := ix.Add(1, b, 200); err != nil {
		t.Fatal(err)
	}
	if got := ids(b, 200); !slices.Equal(got, []int64{1, 3}) || ix.Len() != 2 {
		t.Fatalf("after replacing 1 found %v, len %d", got, ix.Len())
	}
	ix.Compact()
	if got := ids(a, 200); len(got) != 0 {
		t.Fatalf("after Compact, a found %v", got)
	}
	if got := ids(b, 200); !slices.Equal(got, []int64{1, 3}) {
		t.Fatalf("after Compact, b found %v", got)
	}
	if err := ix.Add(9, make([]uint32, 500), 200); err != nil { // zeros are not silence: allowed
		t.Fatal(err)
	}
	silence := make([]uint32, 500)
	for i := range silence {
		silence[i] = SilenceItem
	}
	if err := ix.Add(10, silence, 60); err != ErrNoTerms {
		t.Fatalf("Add(silence) = %v, want ErrNoTerms", err)
	}
}

// Lookups run beside adds, removes and background merges (run with -race).
func TestIndexConcurrent(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(9, 10))
	const n = 4000
	fps := make([][]uint32, n)
	for i := range fps {
		fps[i] = synthFP(rng, 400)
	}
	st := NewMemStore()
	ix := New(st, Options{ExpectedSongs: n})
	for i := range n / 2 {
		st.Put(int64(i), fps[i])
		if err := ix.Add(int64(i), fps[i], 100); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // writer: add the second half, remove every 4th of the first
		defer wg.Done()
		for i := n / 2; i < n; i++ {
			st.Put(int64(i), fps[i])
			if err := ix.Add(int64(i), fps[i], 100); err != nil {
				t.Error(err)
				return
			}
			if i%2 == 0 {
				j := int64(i - n/2) // even ids of the first half
				ix.Remove(j)
				st.Delete(j)
			}
		}
	}()
	for r := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := r; k < n/4; k += 2 {
				id := int64(1 + 2*k) // odd ids of the first half: never removed
				ms, err := ix.Lookup(fps[id], 100)
				if err != nil || len(ms) != 1 || ms[0].ID != id {
					t.Errorf("lookup of %d during writes: %v, %v", id, ms, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	ix.Compact()
	if want := n - n/4; ix.Len() != want {
		t.Fatalf("Len = %d, want %d", ix.Len(), want)
	}
	for i := range n {
		ms, _ := ix.Lookup(fps[i], 100)
		removed := i < n/2 && i%2 == 0
		if removed != (len(ms) == 0) || (!removed && ms[0].ID != int64(i)) {
			t.Fatalf("song %d (removed %v): lookup %v", i, removed, ms)
		}
	}
}

// A Builder fed from several goroutines, with an id given twice (the later
// one wins), builds the same answers as Adds.
func TestBuilderConcurrentAdds(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(11, 12))
	const n = 2000
	fps := make([][]uint32, n)
	st := NewMemStore()
	for i := range fps {
		fps[i] = synthFP(rng, 500)
		st.Put(int64(i), fps[i])
	}
	b := NewBuilder(st, Options{}, n)
	if err := b.Add(7, fps[8], 100); err != nil { // replaced below
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				if err := b.Add(int64(i), fps[i], 100); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	ix := b.Build()
	if ix.Len() != n {
		t.Fatalf("Len = %d, want %d", ix.Len(), n)
	}
	for i := range n {
		ms, err := ix.Lookup(fps[i], 100)
		if err != nil || len(ms) != 1 || ms[0].ID != int64(i) {
			t.Fatalf("song %d: %v, %v", i, ms, err)
		}
	}
}

// Index recall on synthetic copies by share of flipped bits: every copy the
// full comparison accepts is found up to 5% (real copies: at most 4.1%).
func TestSyntheticRecallByNoise(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	ix, _, fps, durs := synthIndex(rng, 20000, true)
	for _, ber := range []float64{0.03, 0.05, 0.08, 0.10} {
		found, matchable := 0, 0
		for range 300 {
			k := rng.IntN(len(fps))
			fp := noisy(rng, fps[k], ber, rng.IntN(25))
			if _, ok := ix.Params().Match(fps[k], durs[k], fp, durs[k]); !ok {
				continue
			}
			matchable++
			ms, err := ix.Lookup(fp, durs[k])
			if err != nil {
				t.Fatal(err)
			}
			if slices.ContainsFunc(ms, func(m Match) bool { return m.ID == int64(k) }) {
				found++
			}
		}
		t.Logf("%.0f%% of bits flipped: index found %d of the %d copies the full comparison accepts", 100*ber, found, matchable)
		if ber <= 0.05 && found != matchable {
			t.Errorf("%.0f%% of bits flipped: found %d of %d", 100*ber, found, matchable)
		}
	}
}
