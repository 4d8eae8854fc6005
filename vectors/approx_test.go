package vectors

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// clusterGen draws "random but clustered" vectors: a random unit centre
// among nc, plus isotropic Gaussian noise of total norm ≈ spread, plus a
// shared offset (real embeddings are rarely zero-mean).
type clusterGen struct {
	rng     *rand.Rand
	centres [][]float32
	offset  []float32
	spread  float64
}

func newClusterGen(seed uint64, d, nc int, spread, offset float64) *clusterGen {
	rng := rand.New(rand.NewPCG(seed, 0xc1))
	g := &clusterGen{rng: rng, spread: spread, offset: make([]float32, d)}
	for j := range g.offset {
		g.offset[j] = float32(offset * rng.Float64() / math.Sqrt(float64(d)))
	}
	for range nc {
		c := randVec(rng, d)
		if err := Normalize(c); err != nil {
			panic(err)
		}
		g.centres = append(g.centres, c)
	}
	return g
}

// next fills v with a new point (not normalised).
func (g *clusterGen) next(v []float32) {
	c := g.centres[g.rng.IntN(len(g.centres))]
	s := g.spread / math.Sqrt(float64(len(v)))
	for j := range v {
		v[j] = c[j] + g.offset[j] + float32(s*g.rng.NormFloat64())
	}
}

// recallAt is |approx ∩ exact| / len(exact).
func recallAt(exact, approx []Hit) float64 {
	if len(exact) == 0 {
		return 1
	}
	in := map[string]bool{}
	for _, h := range exact {
		in[h.ID] = true
	}
	got := 0
	for _, h := range approx {
		if in[h.ID] {
			got++
		}
	}
	return float64(got) / float64(len(exact))
}

func TestApproxRecall(t *testing.T) {
	cases := []struct {
		name      string
		n, d, nc  int
		spread    float64
		offset    float64
		rerank    int
		minRecall float64
	}{
		{"clustered_d64", 20000, 64, 200, 1.0, 0, 0, 0.99},
		{"clustered_offset_d64", 20000, 64, 200, 1.0, 3, 0, 0.99},
		{"clustered_d200_small_budget", 8000, 200, 80, 1.0, 1, 400, 0.99},
		{"clustered_d512", 3000, 512, 30, 1.2, 0, 0, 0.99},
		// Unclustered uniform-random data is the hard case (all neighbours
		// are nearly orthogonal); with the default budget recall is lower.
		{"uniform_d64", 20000, 64, 20000, 0, 0, 0, 0.9},
	}
	const k, queries = 10, 40
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d_%s", i, c.name), func(t *testing.T) {
			g := newClusterGen(uint64(i+1), c.d, c.nc, c.spread, c.offset)
			b := NewBuilder(c.d, c.n)
			v := make([]float32, c.d)
			for j := range c.n {
				g.next(v)
				if err := b.Accumulate("s"+strconv.Itoa(j), v); err != nil {
					t.Fatal(err)
				}
			}
			ix := b.Build()
			ix.EnableApprox()
			var sum float64
			for range queries {
				g.next(v)
				ex, err := ix.Search(v, k, nil)
				if err != nil {
					t.Fatal(err)
				}
				ap, err := ix.SearchApprox(v, k, c.rerank, nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(ap) != k {
					t.Fatalf("len %d", len(ap))
				}
				sum += recallAt(ex, ap)
				// Returned scores are exact (same kernel as Search).
				exact := map[string]float32{}
				for _, h := range ex {
					exact[h.ID] = h.Score
				}
				for j, h := range ap {
					if s, ok := exact[h.ID]; ok && s != h.Score {
						t.Fatalf("score of %q: approx %v exact %v", h.ID, h.Score, s)
					}
					if j > 0 && cmpHit(ap[j-1], h) >= 0 {
						t.Fatalf("unsorted at %d", j)
					}
				}
			}
			rec := sum / queries
			t.Logf("recall@%d = %.4f (n=%d d=%d rerank=%d)", k, rec, c.n, c.d, max(c.rerank, DefaultRerank(c.n, k)*boolInt(c.rerank <= 0)))
			if rec < c.minRecall {
				t.Fatalf("recall@%d = %.4f < %.2f", k, rec, c.minRecall)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkSketch verifies the sketch matches a fresh encoding of every row.
func checkSketch(t *testing.T, ix *Index) {
	t.Helper()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	sk := ix.sk
	n, st := len(ix.ids), sk.stride
	if len(sk.codes) != n*st || len(sk.scale) != n {
		t.Fatalf("sketch sizes: codes %d scale %d, n %d", len(sk.codes), len(sk.scale), n)
	}
	buf := make([]byte, st)
	for r := range n {
		s := sk.encode(ix.data.row(r), buf)
		if !slices.Equal(buf, sk.codes[r*st:(r+1)*st]) || s != sk.scale[r] {
			t.Fatalf("row %d (%s): sketch out of date", r, ix.ids[r])
		}
	}
}

func TestApproxBehaviour(t *testing.T) {
	const d = 40
	setup := func() (*Index, *clusterGen) {
		g := newClusterGen(9, d, 50, 1, 1)
		ix := New(d)
		v := make([]float32, d)
		for j := range 6000 {
			g.next(v)
			if err := ix.Set("s"+strconv.Itoa(j), v); err != nil {
				t.Fatal(err)
			}
		}
		return ix, g
	}
	cases := []struct {
		name string
		run  func(t *testing.T, ix *Index, g *clusterGen)
	}{
		{"not_enabled_equals_exact", func(t *testing.T, ix *Index, g *clusterGen) {
			q := make([]float32, d)
			g.next(q)
			ex, _ := ix.Search(q, 7, nil)
			ap, err := ix.SearchApprox(q, 7, 0, nil)
			if err != nil || !slices.Equal(ex, ap) || ix.ApproxEnabled() {
				t.Fatalf("err %v\nexact %v\napprox %v", err, ex, ap)
			}
		}},
		{"sync_with_set_remove", func(t *testing.T, ix *Index, g *clusterGen) {
			ix.EnableApprox()
			checkSketch(t, ix)
			v := make([]float32, d)
			for j := range 500 {
				g.next(v)
				if err := ix.Set("n"+strconv.Itoa(j), v); err != nil { // new rows
					t.Fatal(err)
				}
				g.next(v)
				if err := ix.Set("s"+strconv.Itoa(j), v); err != nil { // replaced
					t.Fatal(err)
				}
				ix.Remove("s" + strconv.Itoa(1000+j)) // middle rows
				ix.Remove("n" + strconv.Itoa(j/2))    // recent rows
				ix.Remove("s" + strconv.Itoa(5999-j)) // last rows
			}
			checkSketch(t, ix)
			// A freshly set vector is its own best match.
			g.next(v)
			if err := ix.Set("fresh", v); err != nil {
				t.Fatal(err)
			}
			hs, err := ix.SearchApprox(v, 3, 0, nil)
			if err != nil || hs[0].ID != "fresh" {
				t.Fatalf("%v %v", hs, err)
			}
			for _, h := range hs {
				if !ix.Has(h.ID) {
					t.Fatalf("removed id %q returned", h.ID)
				}
			}
		}},
		{"exclude_and_fallback", func(t *testing.T, ix *Index, g *clusterGen) {
			ix.EnableApprox()
			q := make([]float32, d)
			g.next(q)
			odd := func(id string) bool { n, _ := strconv.Atoi(id[1:]); return n%2 == 1 }
			ap, err := ix.SearchApprox(q, 10, 0, odd)
			if err != nil || len(ap) != 10 {
				t.Fatalf("%v %v", ap, err)
			}
			for _, h := range ap {
				if odd(h.ID) {
					t.Fatalf("excluded %q", h.ID)
				}
			}
			// Exclude everything but 3 ids far away from q: the re-rank
			// pool holds too few, so it falls back to the exact scan.
			keep := map[string]bool{"s1": true, "s2": true, "s3": true}
			ap, err = ix.SearchApprox(q, 10, 0, func(id string) bool { return !keep[id] })
			if err != nil || len(ap) != 3 {
				t.Fatalf("fallback: %v %v", ap, err)
			}
			ex, _ := ix.Search(q, 10, func(id string) bool { return !keep[id] })
			if !slices.Equal(ex, ap) {
				t.Fatalf("fallback %v != exact %v", ap, ex)
			}
		}},
		{"budget_ge_n_is_exact", func(t *testing.T, ix *Index, g *clusterGen) {
			ix.EnableApprox()
			q := make([]float32, d)
			g.next(q)
			ex, _ := ix.Search(q, 10, nil)
			ap, err := ix.SearchApprox(q, 10, 1<<30, nil)
			if err != nil || !slices.Equal(ex, ap) {
				t.Fatalf("%v\n%v", ex, ap)
			}
		}},
		{"errors", func(t *testing.T, ix *Index, g *clusterGen) {
			ix.EnableApprox()
			if _, err := ix.SearchApprox(make([]float32, d), 1, 0, nil); err == nil {
				t.Fatal("zero query accepted")
			}
			if _, err := ix.SearchApprox(make([]float32, d+1), 1, 0, nil); err == nil {
				t.Fatal("wrong dim accepted")
			}
			if _, err := ix.SearchApprox([]float32{1}, 0, 0, nil); err == nil {
				t.Fatal("k=0 accepted")
			}
		}},
		{"bytes_include_sketch", func(t *testing.T, ix *Index, g *clusterGen) {
			before := ix.Bytes()
			ix.EnableApprox()
			extra := ix.Bytes() - before
			n := int64(ix.Len())
			if want := n*int64((d+7)/8+4) + 4*d; extra != want {
				t.Fatalf("sketch bytes %d, want %d", extra, want)
			}
		}},
		{"empty_index", func(t *testing.T, _ *Index, g *clusterGen) {
			ix := New(d)
			ix.EnableApprox()
			q := make([]float32, d)
			g.next(q)
			hs, err := ix.SearchApprox(q, 5, 0, nil)
			if err != nil || len(hs) != 0 {
				t.Fatalf("%v %v", hs, err)
			}
			if err := ix.Set("a", q); err != nil {
				t.Fatal(err)
			}
			checkSketch(t, ix)
		}},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d_%s", i, c.name), func(t *testing.T) {
			ix, g := setup()
			c.run(t, ix, g)
		})
	}
}

func TestLUT(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, d := range []int{1, 7, 8, 9, 200, 512} {
		q := randVec(rng, d)
		if err := Normalize(q); err != nil {
			t.Fatal(err)
		}
		st := (d + 7) / 8
		lut, qsum, _ := buildLUT(q, st)
		code := make([]byte, st)
		for range 20 {
			for i := range code {
				code[i] = byte(rng.IntN(256))
			}
			var s int32
			var want float64
			for i, b := range code {
				s += lut[i/8][i%8][b]
				for bit := range 8 {
					if j := 8*i + bit; j < d && b&(1<<bit) != 0 {
						want += float64(q[j])
					}
				}
			}
			var l1 float64
			for _, x := range q {
				l1 += math.Abs(float64(x))
			}
			got := float64(s) * l1 / (1 << 29)
			if math.Abs(got-want) > 1e-6*float64(d) {
				t.Fatalf("d=%d: table sum %v, want %v", d, got, want)
			}
			if math.Abs(float64(qsum)*l1/(1<<29)-sumF(q)) > 1e-6*float64(d) {
				t.Fatalf("d=%d: qsum", d)
			}
		}
	}
}

func sumF(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x)
	}
	return s
}

func TestSelectTop(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for i, n := range []int{1, 2, 3, 5, 10, 100, 1000} {
		for _, distinct := range []int{1, 2, 3, 1 << 30} {
			t.Run(fmt.Sprintf("%d_n%d_distinct%d", i, n, distinct), func(t *testing.T) {
				for c := 1; c <= n; c += 1 + n/7 {
					a := make([]cand, n)
					for j := range a {
						a[j] = cand{float32(rng.IntN(distinct)), int32(j)}
					}
					want := slices.Clone(a)
					slices.SortFunc(want, func(x, y cand) int { return -cmpF(x.est, y.est) })
					selectTop(a, c)
					got := slices.Clone(a[:c])
					slices.SortFunc(got, func(x, y cand) int { return -cmpF(x.est, y.est) })
					for j := range c {
						if got[j].est != want[j].est {
							t.Fatalf("c=%d: got %v, want %v", c, got, want[:c])
						}
					}
					// a[c:] holds the rest (a permutation).
					seen := map[int32]bool{}
					for _, x := range a {
						seen[x.row] = true
					}
					if len(seen) != n {
						t.Fatalf("not a permutation")
					}
				}
			})
		}
	}
}

func cmpF(a, b float32) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestSketchEstimates checks the table-driven scan kernels (32/16/8-byte
// passes and the 4/2/1-byte tail) against a float64 evaluation of the
// estimator from the stored bits, for dims covering every pass combination.
func TestSketchEstimates(t *testing.T) {
	dims := []int{1, 7, 8, 9, 40, 63, 64, 65, 130, 200, 256, 300, 448, 512, 520}
	for i, d := range dims {
		t.Run(fmt.Sprintf("%d_d%d", i, d), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(d), 5))
			ix := New(d)
			const n = 70
			for j := range n {
				if err := ix.Set(strconv.Itoa(j), randVec(rng, d)); err != nil {
					t.Fatal(err)
				}
			}
			ix.EnableApprox()
			q := randVec(rng, d)
			if err := Normalize(q); err != nil {
				t.Fatal(err)
			}
			sk := ix.sk
			lut, qsum, lscale := buildLUT(q, sk.stride)
			cs := ix.sketchScan(lut, qsum, 0, n, n)
			if len(cs) != n {
				t.Fatalf("got %d candidates", len(cs))
			}
			for _, c := range cs {
				r := int(c.row)
				var dot float64
				for j := range d {
					s := -1.0
					if sk.codes[r*sk.stride+j/8]&(1<<(j%8)) != 0 {
						s = 1
					}
					dot += s * float64(q[j])
				}
				want := float64(sk.scale[r]) * dot
				got := float64(c.est) / lscale
				if math.Abs(got-want) > 1e-5*(1+math.Abs(want)) {
					t.Fatalf("row %d: est %v, want %v", r, got, want)
				}
			}
		})
	}
}
