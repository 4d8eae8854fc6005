package vectors

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

func randVec(rng *rand.Rand, d int) []float32 {
	v := make([]float32, d)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// model is a float64 reference: id → original (un-normalised) vector.
type model map[string][]float32

func cos64(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		ab += x * y
		aa += x * x
		bb += y * y
	}
	return ab / math.Sqrt(aa*bb)
}

type ref struct {
	id    string
	score float64
}

// brute is the float64 brute-force top-k (score desc, id asc).
func (m model) brute(q []float32, k int, exclude func(string) bool) []ref {
	var all []ref
	for id, v := range m {
		if exclude != nil && exclude(id) {
			continue
		}
		all = append(all, ref{id, cos64(q, v)})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].score != all[j].score {
			return all[i].score > all[j].score
		}
		return all[i].id < all[j].id
	})
	if len(all) > k {
		all = all[:k]
	}
	return all
}

const scoreTol = 2e-5

// checkExact compares got with the float64 brute force: same length, each
// rank's score within scoreTol of the reference rank's score, and the same id
// unless the two ids' reference scores are within scoreTol (a near tie that
// float32 rounding may order either way). Exact tie order is tested by the
// table cases with exactly representable vectors.
func checkExact(t *testing.T, m model, q []float32, k int, exclude func(string) bool, got []Hit) {
	t.Helper()
	want := m.brute(q, k, exclude)
	if len(got) != len(want) {
		t.Fatalf("len(got)=%d, want %d", len(got), len(want))
	}
	seen := map[string]bool{}
	for i, h := range got {
		if seen[h.ID] {
			t.Fatalf("duplicate id %q in results", h.ID)
		}
		seen[h.ID] = true
		if i > 0 && cmpHit(got[i-1], h) >= 0 {
			t.Fatalf("results not sorted at %d: %+v then %+v", i, got[i-1], h)
		}
		v, ok := m[h.ID]
		if !ok {
			t.Fatalf("unknown id %q", h.ID)
		}
		if exclude != nil && exclude(h.ID) {
			t.Fatalf("excluded id %q returned", h.ID)
		}
		if d := math.Abs(float64(h.Score) - cos64(q, v)); d > scoreTol {
			t.Fatalf("score of %q = %v, true %v", h.ID, h.Score, cos64(q, v))
		}
		if d := math.Abs(float64(h.Score) - want[i].score); d > scoreTol {
			t.Fatalf("rank %d: score %v, want %v", i, h.Score, want[i].score)
		}
		if h.ID != want[i].id && math.Abs(cos64(q, v)-want[i].score) > scoreTol {
			t.Fatalf("rank %d: id %q (true score %v), want %q (score %v)", i, h.ID, cos64(q, v), want[i].id, want[i].score)
		}
	}
}

func ids(hs []Hit) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.ID
	}
	return out
}

func TestSearchExactRandom(t *testing.T) {
	cases := []struct {
		name    string
		n, d, k int
		seed    uint64
	}{
		{"tiny", 7, 3, 3, 1},
		{"small", 500, 16, 10, 2},
		{"k1", 500, 16, 1, 3},
		{"odd_dim", 777, 37, 17, 4},
		// n*d above parallelMinFloats and n > chunkRows: parallel path.
		{"parallel", 9000, 32, 25, 5},
		{"parallel_bigk", 9000, 32, 700, 6},
		{"d512", 600, 512, 10, 7},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d_%s", i, c.name), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(c.seed, 99))
			ix := New(c.d)
			m := model{}
			for j := range c.n {
				id := "s" + strconv.Itoa(j)
				v := randVec(rng, c.d)
				if err := ix.Set(id, v); err != nil {
					t.Fatal(err)
				}
				m[id] = v
			}
			for range 5 {
				q := randVec(rng, c.d)
				got, err := ix.Search(q, c.k, nil)
				if err != nil {
					t.Fatal(err)
				}
				checkExact(t, m, q, c.k, nil, got)
			}
			// A stored vector is its own best match.
			q := m["s3"]
			got, err := ix.Search(q, 1, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got[0].ID != "s3" || math.Abs(float64(got[0].Score)-1) > 1e-5 {
				t.Fatalf("self search: %+v", got)
			}
		})
	}
}

// op mutates an index and its reference model.
type op func(t *testing.T, ix *Index, m model)

func set(id string, v ...float32) op {
	return func(t *testing.T, ix *Index, m model) {
		t.Helper()
		if err := ix.Set(id, v); err != nil {
			t.Fatal(err)
		}
		m[id] = v
	}
}

func remove(id string, want bool) op {
	return func(t *testing.T, ix *Index, m model) {
		t.Helper()
		if got := ix.Remove(id); got != want {
			t.Fatalf("Remove(%q)=%v, want %v", id, got, want)
		}
		delete(m, id)
	}
}

// fill adds n random rows "r0".."r{n-1}" of dim d.
func fill(n, d int, seed uint64) op {
	return func(t *testing.T, ix *Index, m model) {
		rng := rand.New(rand.NewPCG(seed, 1))
		for j := range n {
			id := "r" + strconv.Itoa(j)
			v := randVec(rng, d)
			if err := ix.Set(id, v); err != nil {
				t.Fatal(err)
			}
			m[id] = v
		}
	}
}

func TestSearchTable(t *testing.T) {
	exclOdd := func(id string) bool {
		n, _ := strconv.Atoi(id[1:])
		return n%2 == 1
	}
	cases := []struct {
		name    string
		dim     int
		ops     []op
		q       []float32
		k       int
		exclude func(string) bool
		want    []string // exact expected ids; nil means compare with brute force
		wantLen int      // expected Len() after ops (-1: don't check)
	}{
		{
			name: "ties_by_id", dim: 2,
			ops: []op{set("b", 1, 0), set("c", 2, 0), set("a", 3, 0), set("d", 0, 1)},
			q:   []float32{1, 0}, k: 3, want: []string{"a", "b", "c"}, wantLen: 4,
		},
		{
			name: "ties_cut_at_k", dim: 2,
			ops: []op{set("z", 1, 1), set("y", 1, 1), set("x", 1, 1), set("w", 1, 1)},
			q:   []float32{1, 1}, k: 2, want: []string{"w", "x"}, wantLen: 4,
		},
		{
			name: "k_gt_n", dim: 3,
			ops: []op{set("a", 1, 0, 0), set("b", 0, 1, 0), set("c", 0, 0, 1)},
			q:   []float32{1, 2, 3}, k: 10, want: []string{"c", "b", "a"}, wantLen: 3,
		},
		{
			name: "k_eq_n", dim: 3,
			ops: []op{set("a", 1, 0, 0), set("b", 0, 1, 0), set("c", 0, 0, 1)},
			q:   []float32{3, 2, 1}, k: 3, want: []string{"a", "b", "c"}, wantLen: 3,
		},
		{
			name: "negative_scores", dim: 2,
			ops: []op{set("a", -1, 0), set("b", 0, -1), set("c", -1, -1)},
			q:   []float32{1, 0}, k: 3, want: []string{"b", "c", "a"}, wantLen: 3,
		},
		{
			name: "duplicates", dim: 4,
			ops: []op{fill(50, 4, 1), set("dup2", 1, 2, 3, 4), set("dup1", 2, 4, 6, 8), set("dup3", 0.5, 1, 1.5, 2)},
			q:   []float32{1, 2, 3, 4}, k: 3, want: []string{"dup1", "dup2", "dup3"}, wantLen: 53,
		},
		{
			name: "removed_ids", dim: 8,
			ops: []op{fill(200, 8, 2), remove("r0", true), remove("r199", true), remove("r57", true),
				remove("nope", false), remove("r57", false)},
			q: []float32{1, 2, 3, 4, 5, 6, 7, 8}, k: 200, wantLen: 197,
		},
		{
			name: "remove_all_then_add", dim: 2,
			ops: []op{set("a", 1, 0), set("b", 0, 1), remove("a", true), remove("b", true), set("c", 1, 1)},
			q:   []float32{1, 0}, k: 5, want: []string{"c"}, wantLen: 1,
		},
		{
			name: "removed_best", dim: 2,
			ops: []op{set("a", 1, 0), set("b", 1, 0.1), set("c", 1, 0.2), remove("a", true)},
			q:   []float32{1, 0}, k: 1, want: []string{"b"}, wantLen: 2,
		},
		{
			name: "replaced_ids", dim: 2,
			ops: []op{set("a", 1, 0), set("b", 0, 1), set("a", 0, 1), set("b", 1, 0)},
			q:   []float32{1, 0.01}, k: 2, want: []string{"b", "a"}, wantLen: 2,
		},
		{
			name: "replaced_random", dim: 16,
			ops: []op{fill(300, 16, 3), fill(100, 16, 4)}, // r0..r99 replaced
			q:   []float32{1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1}, k: 20, wantLen: 300,
		},
		{
			name: "exclude_filter", dim: 2,
			ops: []op{set("a", 1, 0), set("b", 1, 0.1), set("c", 1, 0.2), set("d", 1, 0.3)},
			q:   []float32{1, 0}, k: 2, exclude: func(id string) bool { return id == "a" || id == "c" },
			want: []string{"b", "d"}, wantLen: 4,
		},
		{
			name: "exclude_all", dim: 2,
			ops: []op{set("a", 1, 0), set("b", 0, 1)},
			q:   []float32{1, 0}, k: 2, exclude: func(string) bool { return true },
			want: []string{}, wantLen: 2,
		},
		{
			name: "exclude_random", dim: 8,
			ops: []op{fill(1000, 8, 5)},
			q:   []float32{1, 0, 0, 0, 0, 0, 0, 1}, k: 30, exclude: exclOdd, wantLen: 1000,
		},
		{
			name: "empty_index", dim: 3,
			q: []float32{1, 0, 0}, k: 3, want: []string{}, wantLen: 0,
		},
		{
			name: "parallel_ties_across_blocks", dim: 32,
			ops: func() []op {
				v := make([]float32, 32)
				v[0] = 1
				ops := []op{set("zz", v...), fill(9000, 32, 6)}
				ops = append(ops, set("aa", v...))
				return ops
			}(),
			q: func() []float32 { v := make([]float32, 32); v[0] = 1; return v }(),
			k: 2, want: []string{"aa", "zz"}, wantLen: 9002,
		},
		{
			name: "parallel_exclude_removed", dim: 32,
			ops: []op{fill(9000, 32, 7), remove("r4100", true), remove("r8999", true), remove("r1", true)},
			q:   func() []float32 { v := make([]float32, 32); v[3] = 1; v[9] = -2; return v }(),
			k:   40, exclude: exclOdd, wantLen: 8997,
		},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d_%s", i, c.name), func(t *testing.T) {
			ix := New(c.dim)
			m := model{}
			for _, o := range c.ops {
				o(t, ix, m)
			}
			if c.wantLen >= 0 && ix.Len() != c.wantLen {
				t.Fatalf("Len()=%d, want %d", ix.Len(), c.wantLen)
			}
			if ix.Len() != len(m) {
				t.Fatalf("Len()=%d, model %d", ix.Len(), len(m))
			}
			for id := range m {
				if !ix.Has(id) {
					t.Fatalf("Has(%q)=false", id)
				}
			}
			got, err := ix.Search(c.q, c.k, c.exclude)
			if err != nil {
				t.Fatal(err)
			}
			if c.want != nil {
				if !slices.Equal(ids(got), c.want) {
					t.Fatalf("got %v (%+v), want %v", ids(got), got, c.want)
				}
			}
			checkExact(t, m, c.q, c.k, c.exclude, got)
			// Every stored vector is a unit copy of what was set.
			for id, v := range m {
				g, ok := ix.Get(id)
				if !ok {
					t.Fatalf("Get(%q) missing", id)
				}
				if c := cos64(g, v); math.Abs(c-1) > 1e-6 {
					t.Fatalf("Get(%q) not parallel to set vector: cos=%v", id, c)
				}
				var nn float64
				for _, x := range g {
					nn += float64(x) * float64(x)
				}
				if math.Abs(nn-1) > 1e-5 {
					t.Fatalf("Get(%q) norm² %v", id, nn)
				}
			}
		})
	}
}

func TestExcludeCalledOnlyForCandidates(t *testing.T) {
	ix := New(16)
	rng := rand.New(rand.NewPCG(11, 12))
	const n = 20000
	for j := range n {
		if err := ix.Set(strconv.Itoa(j), randVec(rng, 16)); err != nil {
			t.Fatal(err)
		}
	}
	var calls atomic.Int64
	_, err := ix.Search(randVec(rng, 16), 5, func(string) bool { calls.Add(1); return false })
	if err != nil {
		t.Fatal(err)
	}
	if c := calls.Load(); c >= n/4 {
		t.Fatalf("exclude called %d times for n=%d, k=5", c, n)
	}
}

func TestErrors(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	ix := New(3)
	if err := ix.Set("ok", []float32{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		fn   func() error
		want error
	}{
		{"set_short", func() error { return ix.Set("x", []float32{1, 2}) }, ErrDim},
		{"set_long", func() error { return ix.Set("x", []float32{1, 2, 3, 4}) }, ErrDim},
		{"set_nil", func() error { return ix.Set("x", nil) }, ErrDim},
		{"set_zero", func() error { return ix.Set("x", []float32{0, 0, 0}) }, ErrZero},
		{"set_nan", func() error { return ix.Set("x", []float32{1, nan, 0}) }, ErrNonFinite},
		{"set_inf", func() error { return ix.Set("x", []float32{1, 0, -inf}) }, ErrNonFinite},
		{"replace_nan_keeps_old", func() error { return ix.Set("ok", []float32{nan, 0, 0}) }, ErrNonFinite},
		{"search_dim", func() error { _, err := ix.Search([]float32{1}, 1, nil); return err }, ErrDim},
		{"search_zero", func() error { _, err := ix.Search([]float32{0, 0, 0}, 1, nil); return err }, ErrZero},
		{"search_nan", func() error { _, err := ix.Search([]float32{nan, 1, 1}, 1, nil); return err }, ErrNonFinite},
		{"search_inf", func() error { _, err := ix.Search([]float32{inf, 1, 1}, 1, nil); return err }, ErrNonFinite},
		{"search_k0", func() error { _, err := ix.Search([]float32{1, 1, 1}, 0, nil); return err }, ErrK},
		{"search_kneg", func() error { _, err := ix.Search([]float32{1, 1, 1}, -3, nil); return err }, ErrK},
		{"normalize_zero", func() error { return Normalize([]float32{0, 0}) }, ErrZero},
		{"normalize_nan", func() error { return Normalize([]float32{nan}) }, ErrNonFinite},
		{"normalize_empty", func() error { return Normalize(nil) }, ErrZero},
		{"builder_dim", func() error { return NewBuilder(3, 0).Accumulate("a", []float32{1}) }, ErrDim},
		{"builder_zero", func() error { return NewBuilder(3, 0).Accumulate("a", make([]float32, 3)) }, ErrZero},
		{"builder_inf", func() error { return NewBuilder(3, 0).Accumulate("a", []float32{inf, 0, 0}) }, ErrNonFinite},
		{"blob_len", func() error { _, err := DecodeBlob([]byte{1, 2, 3}, nil); return err }, ErrBlob},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d_%s", i, c.name), func(t *testing.T) {
			if err := c.fn(); !errors.Is(err, c.want) {
				t.Fatalf("err=%v, want %v", err, c.want)
			}
		})
	}
	if ix.Len() != 1 || ix.Has("x") {
		t.Fatalf("failed Sets changed the index: Len=%d", ix.Len())
	}
	if g, _ := ix.Get("ok"); math.Abs(float64(g[2])-3/math.Sqrt(14)) > 1e-6 {
		t.Fatalf("failed replace changed the vector: %v", g)
	}
}

func TestBuilder(t *testing.T) {
	type contrib struct {
		id string
		v  []float32
	}
	rng := rand.New(rand.NewPCG(21, 22))
	var many []contrib
	for j := range 3000 {
		many = append(many, contrib{"m" + strconv.Itoa(j%701), randVec(rng, 24)})
	}
	cases := []struct {
		name     string
		dim      int
		hint     int
		contribs []contrib
		dropped  []string
	}{
		{"single", 2, 1, []contrib{{"a", []float32{3, 4}}}, nil},
		{"mean_of_units", 2, 2, []contrib{
			{"a", []float32{10, 0}}, {"a", []float32{0, 0.5}}, {"b", []float32{1, 1}},
			{"a", []float32{0, 7}},
		}, nil},
		{"zero_sum_dropped", 2, 3, []contrib{
			{"a", []float32{1, 0}}, {"x", []float32{2, 0}}, {"b", []float32{0, 1}},
			{"x", []float32{-5, 0}}, {"c", []float32{1, 1}},
		}, []string{"x"}},
		{"hint_too_small", 24, 10, many, nil},
		{"hint_too_big", 24, 5000, many, nil},
		{"hint_exact", 24, 701, many, nil},
		{"no_hint", 24, 0, many, nil},
		{"empty", 4, 10, nil, nil},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d_%s", i, c.name), func(t *testing.T) {
			b := NewBuilder(c.dim, c.hint)
			sums := map[string][]float64{}
			var order []string
			for _, ct := range c.contribs {
				if err := b.Accumulate(ct.id, ct.v); err != nil {
					t.Fatal(err)
				}
				s, ok := sums[ct.id]
				if !ok {
					s = make([]float64, c.dim)
					sums[ct.id] = s
					order = append(order, ct.id)
				}
				var nn float64
				for _, x := range ct.v {
					nn += float64(x) * float64(x)
				}
				for j, x := range ct.v {
					s[j] += float64(x) / math.Sqrt(nn)
				}
			}
			ix := b.Build()
			if want := len(sums) - len(c.dropped); ix.Len() != want {
				t.Fatalf("Len()=%d, want %d", ix.Len(), want)
			}
			if ix.data.capFloats() != ix.Len()*ix.dim || cap(ix.ids) != len(ix.ids) {
				t.Fatalf("Build not exact: data %d/%d ids %d/%d", ix.Len()*ix.dim, ix.data.capFloats(), len(ix.ids), cap(ix.ids))
			}
			for _, id := range c.dropped {
				if ix.Has(id) {
					t.Fatalf("zero-sum id %q kept", id)
				}
			}
			var kept []string
			for _, id := range order {
				if slices.Contains(c.dropped, id) {
					continue
				}
				kept = append(kept, id)
				s := sums[id]
				var nn float64
				for _, x := range s {
					nn += x * x
				}
				g, ok := ix.Get(id)
				if !ok {
					t.Fatalf("missing %q", id)
				}
				for j := range s {
					if want := s[j] / math.Sqrt(nn); math.Abs(float64(g[j])-want) > 1e-5 {
						t.Fatalf("%q[%d]=%v, want %v", id, j, g[j], want)
					}
				}
				// Search finds it as its own best match.
				q := make([]float32, c.dim)
				copy(q, g)
				hs, err := ix.Search(q, 1, nil)
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(float64(hs[0].Score)-1) > 1e-5 {
					t.Fatalf("self score %v", hs[0].Score)
				}
			}
			// Order is insertion order, compacted.
			if !slices.Equal(ix.IDs(), kept) {
				t.Fatalf("ids %v, want %v", ix.IDs(), kept)
			}
			// The index built is writable.
			v := make([]float32, c.dim)
			v[0] = 1
			if err := ix.Set("new", v); err != nil || !ix.Has("new") {
				t.Fatalf("Set after Build: %v", err)
			}
			// The builder is reusable.
			if err := b.Accumulate("again", v); err != nil || b.Len() != 1 {
				t.Fatalf("reuse: %v len %d", err, b.Len())
			}
		})
	}
}

func TestBlob(t *testing.T) {
	cases := []struct {
		name string
		v    []float32
	}{
		{"empty", []float32{}},
		{"one", []float32{1.5}},
		{"specials", []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
			math.MaxFloat32, math.SmallestNonzeroFloat32, -3.25e-20}},
		{"random200", randVec(rand.New(rand.NewPCG(1, 2)), 200)},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d_%s", i, c.name), func(t *testing.T) {
			b := EncodeBlob(c.v)
			if len(b) != 4*len(c.v) {
				t.Fatalf("len %d", len(b))
			}
			for _, dst := range [][]float32{nil, make([]float32, 0, 1000), make([]float32, 3)} {
				got, err := DecodeBlob(b, dst)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(c.v) {
					t.Fatalf("len %d want %d", len(got), len(c.v))
				}
				for j := range got {
					if math.Float32bits(got[j]) != math.Float32bits(c.v[j]) {
						t.Fatalf("[%d] %v != %v", j, got[j], c.v[j])
					}
				}
			}
		})
	}
	// Little-endian layout, fixed.
	if b := EncodeBlob([]float32{1}); !slices.Equal(b, []byte{0, 0, 0x80, 0x3f}) {
		t.Fatalf("layout %x", b)
	}
	nanBits := uint32(0x7fc00001)
	got, _ := DecodeBlob([]byte{1, 0, 0xc0, 0x7f}, nil)
	if math.Float32bits(got[0]) != nanBits {
		t.Fatalf("NaN payload %x", math.Float32bits(got[0]))
	}
}

func TestNormalize(t *testing.T) {
	v := []float32{3, 4}
	if err := Normalize(v); err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(v[0])-0.6) > 1e-7 || math.Abs(float64(v[1])-0.8) > 1e-7 {
		t.Fatalf("%v", v)
	}
	tiny := []float32{1e-30, 0}
	if err := Normalize(tiny); err != nil || tiny[0] != 1 {
		t.Fatalf("tiny: %v %v", tiny, err)
	}
	big := []float32{3e38, 3e38}
	if err := Normalize(big); err != nil || math.Abs(float64(big[0])-math.Sqrt(0.5)) > 1e-6 {
		t.Fatalf("big: %v %v", big, err)
	}
}

func TestMemory(t *testing.T) {
	const d, n = 32, 20000
	rng := rand.New(rand.NewPCG(5, 5))
	ix := New(d)
	for j := range n {
		if err := ix.Set(strconv.Itoa(j), randVec(rng, d)); err != nil {
			t.Fatal(err)
		}
	}
	raw := float64(n * d * 4)
	// only the last block has spare room, at most as much as it holds
	if c := ix.data.capFloats(); c > 2*n*d || c < n*d {
		t.Fatalf("matrix holds %d floats for %d rows of %d after incremental Sets", c, n, d)
	}
	by := ix.Bytes()
	if float64(by) < raw || float64(by) > 2*raw+n*100 {
		t.Fatalf("Bytes()=%d, raw %v", by, raw)
	}
	b := NewBuilder(d, 0)
	for j := range n {
		if err := b.Accumulate(strconv.Itoa(j), randVec(rng, d)); err != nil {
			t.Fatal(err)
		}
	}
	bx := b.Build()
	if c := bx.data.capFloats(); c != n*d {
		t.Fatalf("Build slack: %d floats for %d", c, n*d)
	}
}

// TestBlocks crosses block boundaries: searches, Get and Remove stay exact
// over several blocks, growing adds whole blocks without moving the others,
// and a block emptied by Removes is released.
func TestBlocks(t *testing.T) {
	const d = 4
	n := 2*blockRows + 123
	rng := rand.New(rand.NewPCG(9, 9))
	ix := New(d)
	want := map[string][]float32{}
	var first *float32
	for j := range n {
		id := "r" + strconv.Itoa(j)
		v := randVec(rng, d)
		if err := ix.Set(id, v); err != nil {
			t.Fatal(err)
		}
		want[id] = unitCopy(v)
		if j == blockRows { // the first block is full: it must not move again
			first = &ix.data.row(0)[0]
		}
	}
	if len(ix.data.blocks) != 3 {
		t.Fatalf("%d rows in %d blocks", n, len(ix.data.blocks))
	}
	if &ix.data.row(0)[0] != first {
		t.Fatal("growing moved the first block once it was full")
	}
	for i := range 2 {
		if c := cap(ix.data.blocks[i]); c != blockRows*d {
			t.Fatalf("block %d: capacity %d, want %d", i, c, blockRows*d)
		}
	}
	check := func(stage string) {
		t.Helper()
		for q := range 5 {
			qv := randVec(rng, d)
			got, err := ix.Search(qv, 10, nil)
			if err != nil {
				t.Fatal(err)
			}
			exp := bruteForce(want, qv, 10)
			for i := range exp {
				if got[i].ID != exp[i].ID {
					t.Fatalf("%s, query %d, hit %d: got %v, want %v", stage, q, i, got[i], exp[i])
				}
			}
		}
		for id, v := range want {
			g, ok := ix.Get(id)
			if !ok || !closeVec(g, v, 1e-6) {
				t.Fatalf("%s: Get(%s) = %v %v, want %v", stage, id, g, ok, v)
			}
		}
	}
	check("3 blocks")
	// remove rows of the first block until the third block is empty
	for j := 0; ix.Len() > 2*blockRows; j += 3 {
		id := "r" + strconv.Itoa(j)
		if !ix.Remove(id) {
			t.Fatalf("Remove(%s) = false", id)
		}
		delete(want, id)
	}
	if len(ix.data.blocks) != 2 || ix.data.capFloats() != 2*blockRows*d {
		t.Fatalf("after removes: %d blocks, %d floats", len(ix.data.blocks), ix.data.capFloats())
	}
	check("2 blocks after removes")
	// and the Builder: no hint, then an exact one
	for _, hint := range []int{0, n} {
		b := NewBuilder(d, hint)
		for j := range n {
			if err := b.Accumulate("b"+strconv.Itoa(j), randVec(rng, d)); err != nil {
				t.Fatal(err)
			}
		}
		bx := b.Build()
		if bx.Len() != n || bx.data.capFloats() != n*d || len(bx.data.blocks) != 3 {
			t.Fatalf("hint %d: Build gave %d rows, %d floats, %d blocks", hint, bx.Len(), bx.data.capFloats(), len(bx.data.blocks))
		}
	}
}

func unitCopy(v []float32) []float32 {
	out := slices.Clone(v)
	if err := Normalize(out); err != nil {
		panic(err)
	}
	return out
}

func closeVec(a, b []float32, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > tol {
			return false
		}
	}
	return true
}

// bruteForce ranks want by float64 cosine similarity to q (ties by id).
func bruteForce(want map[string][]float32, q []float32, k int) []Hit {
	qn := unitCopy(q)
	hs := make([]Hit, 0, len(want))
	for id, v := range want {
		var s float64
		for i := range v {
			s += float64(v[i]) * float64(qn[i])
		}
		hs = append(hs, Hit{ID: id, Score: float32(s)})
	}
	slices.SortFunc(hs, cmpHit)
	return hs[:k]
}

func TestConcurrent(t *testing.T) {
	// n*d above parallelMinFloats so searches take the parallel path.
	const d, nBase = 32, 10000
	ix := New(d)
	rng := rand.New(rand.NewPCG(31, 32))
	for j := range nBase {
		if err := ix.Set("base"+strconv.Itoa(j), randVec(rng, d)); err != nil {
			t.Fatal(err)
		}
	}
	ix.EnableApprox()
	var writers, readers sync.WaitGroup
	stop := make(chan struct{})
	errc := make(chan error, 16)
	report := func(err error) {
		select {
		case errc <- err:
		default:
		}
	}
	for w := range 2 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("w%d_%d", w, j%200)
				if w == 0 && j%500 == 499 {
					ix.EnableApprox() // rebuild the sketch under load
				}
				if j%3 == 2 {
					ix.Remove(id)
				} else if err := ix.Set(id, randVec(rng, d)); err != nil {
					report(err)
					return
				}
				ix.Remove("base" + strconv.Itoa(rng.IntN(nBase)))
			}
		}()
	}
	for r := range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 8))
			for range 200 {
				k := 1 + rng.IntN(20)
				search := ix.Search
				if r%2 == 1 {
					search = func(q []float32, k int, ex func(string) bool) ([]Hit, error) {
						return ix.SearchApprox(q, k, 0, ex)
					}
				}
				hs, err := search(randVec(rng, d), k, func(id string) bool { return id[0] == 'w' && len(id)%2 == 0 })
				if err != nil {
					report(err)
					return
				}
				if len(hs) > k {
					report(fmt.Errorf("got %d > k=%d", len(hs), k))
					return
				}
				for i, h := range hs {
					if h.ID[0] == 'w' && len(h.ID)%2 == 0 {
						report(fmt.Errorf("excluded %q returned", h.ID))
						return
					}
					if i > 0 && cmpHit(hs[i-1], h) >= 0 {
						report(fmt.Errorf("unsorted at %d", i))
						return
					}
				}
				_ = ix.Len()
				_ = ix.Bytes()
				ix.Has("w0_1")
				ix.Get("w1_3")
			}
		}()
	}
	readers.Wait()
	close(stop)
	writers.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	// Index consistency after the storm.
	floats := 0
	for _, b := range ix.data.blocks {
		floats += len(b)
	}
	if len(ix.ids)*d != floats || ix.data.n != len(ix.ids) || len(ix.pos) != len(ix.ids) {
		t.Fatalf("inconsistent: ids %d data %d floats, %d rows, pos %d", len(ix.ids), floats, ix.data.n, len(ix.pos))
	}
	for i, id := range ix.ids {
		if ix.pos[id] != int32(i) {
			t.Fatalf("pos[%q]=%d, want %d", id, ix.pos[id], i)
		}
	}
	checkSketch(t, ix)
}
