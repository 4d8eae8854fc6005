package vectors

import (
	"cmp"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sync"

	"gonum.org/v1/gonum/blas/blas32"
)

// Approximate search (optional).
//
// EnableApprox attaches a 1-bit sketch to the index: for each row, the signs
// of (row − μ), where μ is the mean row when the sketch was built, packed 8
// dims per byte, plus one float32 scale per row. SearchApprox scans the
// sketch with per-byte lookup tables built from the query (25 table look-ups
// per row at d=200 instead of 200 multiply-adds), keeps the best `rerank`
// rows by estimated score, and re-ranks them, best estimate first, with exact
// float32 dot products, stopping early once the remaining estimates (plus a
// 3σ margin from the estimate errors seen so far) cannot reach the current
// k-th exact score. The returned scores are therefore exact cosines; only
// recall is approximate.
//
// The estimate of ⟨q, r⟩ (r = row − μ, s = sign(r)) is ⟨q, s⟩·‖r‖²/‖r‖₁
// (exact when all |r_j| are equal); of the per-row scales tried (this one,
// mean|r_j|, ‖r‖, none) it gave the best recall.
//
// Why 1 bit and not int8: without SIMD (pure Go, no assembly of our own) an
// int8 dot product costs about one multiply per element, which is slower
// than streaming the float32 matrix through gonum's SSE kernel; table
// look-ups over packed sign bits are not.

// sketch is the 1-bit approximation of the rows of an Index, kept in the
// same row order as Index.data.
type sketch struct {
	stride int       // bytes per row: ceil(dim/8)
	mu     []float32 // centring vector
	codes  []byte    // len(ids)*stride; bit j of row r: row[j] > mu[j]
	scale  []float32 // per-row estimator scale ‖r‖²/‖r‖₁ with r = row − μ
}

// encode writes the sign bits of (x − μ) into dst and returns the row scale.
func (sk *sketch) encode(x []float32, dst []byte) float32 {
	clear(dst)
	var l1, l2 float64
	for j, v := range x {
		r := v - sk.mu[j]
		if r > 0 {
			dst[j>>3] |= 1 << (j & 7)
		}
		l1 += math.Abs(float64(r))
		l2 += float64(r) * float64(r)
	}
	if l1 == 0 {
		return 0
	}
	return float32(l2 / l1)
}

// sketchSet (re)encodes row r of ix into the sketch; rows beyond the sketch's
// length are appended. The caller holds the write lock.
func (ix *Index) sketchSet(r int) {
	sk := ix.sk
	if r == len(sk.scale) {
		sk.codes = growRows(sk.codes, sk.stride, 1)
		sk.scale = append(sk.scale, 0)
	}
	sk.scale[r] = sk.encode(ix.data.row(r), sk.codes[r*sk.stride:(r+1)*sk.stride])
}

// sketchMove mirrors Remove's swap-with-last on the sketch.
func (ix *Index) sketchMove(dst, last int) {
	sk := ix.sk
	st := sk.stride
	if dst != last {
		copy(sk.codes[dst*st:(dst+1)*st], sk.codes[last*st:(last+1)*st])
		sk.scale[dst] = sk.scale[last]
	}
	sk.codes = sk.codes[:last*st]
	sk.scale = sk.scale[:last]
}

// EnableApprox builds (or rebuilds, re-centring on the current mean) the
// 1-bit sketch used by SearchApprox. Set and Remove keep it up to date
// afterwards. It costs ceil(dim/8)+4 bytes per row plus 4·dim bytes
// (29 B/row at d=200, 68 B/row at d=512, i.e. +3.6% / +3.3% over the
// float32 matrix). It holds the write lock for one pass over the matrix.
func (ix *Index) EnableApprox() {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	d, n := ix.dim, len(ix.ids)
	sk := &sketch{stride: (d + 7) / 8, mu: make([]float32, d)}
	if n > 0 {
		acc := make([]float64, d)
		for r := range n {
			for j, v := range ix.data.row(r) {
				acc[j] += float64(v)
			}
		}
		for j := range acc {
			sk.mu[j] = float32(acc[j] / float64(n))
		}
	}
	sk.codes = make([]byte, n*sk.stride)
	sk.scale = make([]float32, n)
	for r := range n {
		sk.scale[r] = sk.encode(ix.data.row(r), sk.codes[r*sk.stride:(r+1)*sk.stride])
	}
	ix.sk = sk
}

// ApproxEnabled reports whether EnableApprox has been called.
func (ix *Index) ApproxEnabled() bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.sk != nil
}

// DefaultRerank returns the re-rank budget SearchApprox uses for rerank <= 0:
// max(64·k, 1% of n, 2048).
func DefaultRerank(n, k int) int { return max(64*k, n/100, 2048) }

// SearchApprox is Search over the 1-bit sketch with exact float32 re-ranking
// of the best rerank candidates (rerank <= 0 selects DefaultRerank). Scores
// are exact cosines, ordering and tie rules are Search's; recall is
// approximate (see BENCH_NOTES.md). exclude is applied at the re-rank stage;
// if fewer than min(k, Len()) hits survive it (or the sketch was never
// enabled) it falls back to the exact Search.
func (ix *Index) SearchApprox(q []float32, k, rerank int, exclude func(id string) bool) ([]Hit, error) {
	qn, err := ix.prepareQuery(q, k)
	if err != nil {
		return nil, err
	}

	hits, ok := ix.searchApprox(qn, k, rerank, exclude)
	if ok {
		return hits, nil
	}
	return ix.Search(q, k, exclude)
}

// searchApprox returns ok=false when the exact path must be used.
func (ix *Index) searchApprox(qn []float32, k, rerank int, exclude func(string) bool) ([]Hit, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	sk := ix.sk
	n := len(ix.ids)
	if sk == nil {
		return nil, false
	}
	if n == 0 {
		return []Hit{}, true
	}
	k = min(k, n)
	if rerank <= 0 {
		rerank = DefaultRerank(n, k)
	}
	rerank = max(rerank, k)
	if rerank >= n {
		return nil, false // nothing to gain over the exact scan
	}

	exclude = serialized(exclude)

	lut, qsum, lscale := buildLUT(qn, sk.stride)
	// est/lscale + ⟨q, μ⟩ estimates the cosine ⟨q, row⟩.
	var qmu float64
	for j, x := range qn {
		qmu += float64(x) * float64(sk.mu[j])
	}
	workers := runtime.GOMAXPROCS(0)
	if n*sk.stride < parallelMinFloats {
		workers = 1
	}
	workers = min(workers, (n+chunkRows-1)/chunkRows)
	workers = max(workers, 1)
	heaps := make([]topK, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := n*w/workers, n*(w+1)/workers
		// Each worker keeps a share of the budget proportional to its rows.
		c := max(k, (rerank*(hi-lo)+n-1)/n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			cand := ix.sketchScan(lut, qsum, lo, hi, c)
			heaps[w] = ix.rerank(qn, cand, k, exclude, lscale, qmu)
		}()
	}
	wg.Wait()
	all := mergeTopK(heaps, k)
	if len(all) < k {
		return nil, false // exclude removed too many candidates
	}
	return all, true
}

// buildLUT returns, for each group of 8 code bytes g, byte position t in
// the group and byte value b, the fixed-point sum of qn[64g+8t+i] over the
// bits i set in b, and the fixed-point sum of all of qn. The scale is
// 2^29/‖qn‖₁, so every partial sum and 2·S−Σq stay within ±2^30 (int32-safe)
// for any dim.
func buildLUT(qn []float32, stride int) ([][8][256]int32, int32, float64) {
	var l1 float64
	for _, x := range qn {
		l1 += math.Abs(float64(x))
	}
	scale := float64(1<<29) / l1
	lut := make([][8][256]int32, (stride+7)/8)
	var qsum int64
	for i := range stride {
		t := &lut[i/8][i%8]
		var w [8]int32
		for b := range 8 {
			if j := 8*i + b; j < len(qn) {
				w[b] = int32(math.Round(float64(qn[j]) * scale))
				qsum += int64(w[b])
			}
		}
		for v := 1; v < 256; v++ {
			t[v] = t[v&(v-1)] + w[bits.TrailingZeros8(uint8(v))]
		}
	}
	return lut, int32(qsum), scale
}

// cand is a re-rank candidate: row and estimated score.
type cand struct {
	est float32
	row int32
}

var accPool = sync.Pool{New: func() any {
	b := make([]int32, chunkRows)
	return &b
}}

// addGroup adds, for each row r of a chunk, the table sums of the 8 code
// bytes codes[r*st : r*st+8]. t is a plain pointer so that every look-up
// compiles to one byte load and one add with a constant table offset.
func addGroup(acc []int32, codes []byte, st int, t *[8][256]int32) {
	for r := range acc {
		b := (*[8]byte)(codes[r*st : r*st+8])
		acc[r] += t[0][b[0]] + t[1][b[1]] + t[2][b[2]] + t[3][b[3]] +
			t[4][b[4]] + t[5][b[5]] + t[6][b[6]] + t[7][b[7]]
	}
}

// addPart is addGroup for the last n < 8 bytes of each row, split into
// fixed-size passes of 4, 2 and 1 bytes.
func addPart(acc []int32, codes []byte, st, n int, t *[8][256]int32) {
	k := 0
	if n&4 != 0 {
		t4 := (*[4][256]int32)(t[k : k+4])
		for r := range acc {
			b := (*[4]byte)(codes[r*st+k : r*st+k+4])
			acc[r] += t4[0][b[0]] + t4[1][b[1]] + t4[2][b[2]] + t4[3][b[3]]
		}
		k += 4
	}
	if n&2 != 0 {
		t2 := (*[2][256]int32)(t[k : k+2])
		for r := range acc {
			b := (*[2]byte)(codes[r*st+k : r*st+k+2])
			acc[r] += t2[0][b[0]] + t2[1][b[1]]
		}
		k += 2
	}
	if n&1 != 0 {
		t1 := &t[k]
		for r := range acc {
			acc[r] += t1[codes[r*st+k]]
		}
	}
}

// candSet collects the best c candidates by estimated score: candidates
// above the current threshold are appended, and whenever the buffer holds
// 2c of them it is cut back to the best c (quickselect) and the threshold
// raised to the c-th estimate. Amortised O(1) per offered row.
type candSet struct {
	c      int
	thresh float32
	full   bool // thresh is valid
	buf    []cand
}

func newCandSet(c int) candSet { return candSet{c: c, buf: make([]cand, 0, 2*c)} }

func (s *candSet) offer(est float32, row int32) {
	if s.full && est <= s.thresh {
		return
	}
	s.buf = append(s.buf, cand{est, row})
	if len(s.buf) == cap(s.buf) {
		s.cut()
	}
}

// cut keeps the best c candidates (unordered) and sets the threshold.
func (s *candSet) cut() {
	if len(s.buf) <= s.c {
		return
	}
	selectTop(s.buf, s.c)
	s.buf = s.buf[:s.c]
	m := s.buf[0].est
	for _, x := range s.buf[1:] {
		m = min(m, x.est)
	}
	s.thresh, s.full = m, true
}

// selectTop partially orders a so that a[:c] holds the c largest estimates
// (Hoare quickselect, median-of-three pivot).
func selectTop(a []cand, c int) {
	lo, hi := 0, len(a)-1
	for lo < hi {
		mid := lo + (hi-lo)/2
		if a[mid].est > a[lo].est {
			a[mid], a[lo] = a[lo], a[mid]
		}
		if a[hi].est > a[lo].est {
			a[hi], a[lo] = a[lo], a[hi]
		}
		if a[mid].est > a[hi].est {
			a[mid], a[hi] = a[hi], a[mid]
		}
		p := a[hi].est // median of three, descending order
		i, j := lo-1, hi+1
		for {
			for i++; a[i].est > p; i++ {
			}
			for j--; a[j].est < p; j-- {
			}
			if i >= j {
				break
			}
			a[i], a[j] = a[j], a[i]
		}
		// a[lo..j] >= p >= a[j+1..hi]
		if c-1 <= j {
			hi = j
		} else {
			lo = j + 1
		}
	}
}

// sketchScan returns up to c rows of [lo, hi) with the best estimated
// score est = scale·(2·Σ_{bits set} q − Σq) ∝ ⟨q, row − μ⟩. Rows are
// processed in chunks, one table group at a time, so a group's 8 KiB of
// tables and the chunk's accumulators stay in L1.
func (ix *Index) sketchScan(lut [][8][256]int32, qsum int32, lo, hi, c int) []cand {
	sk := ix.sk
	st := sk.stride
	groups, tail := st/8, st%8
	ap := accPool.Get().(*[]int32)
	defer accPool.Put(ap)
	cs := newCandSet(c)
	for r0 := lo; r0 < hi; r0 += chunkRows {
		n := min(chunkRows, hi-r0)
		acc := (*ap)[:n]
		clear(acc)
		codes := sk.codes[r0*st : (r0+n)*st]
		g := 0
		for ; g+4 <= groups; g += 4 {
			addGroup32(acc, codes[8*g:], st, (*[4][8][256]int32)(lut[g:g+4]))
		}
		if g+2 <= groups {
			addGroup16(acc, codes[8*g:], st, (*[2][8][256]int32)(lut[g:g+2]))
			g += 2
		}
		if g < groups {
			addGroup(acc, codes[8*g:], st, &lut[g])
		}
		if tail > 0 {
			addPart(acc, codes[8*groups:], st, tail, &lut[groups])
		}
		scale := sk.scale[r0 : r0+n]
		for r, a := range acc {
			est := scale[r] * float32(2*a-qsum)
			if cs.full && est <= cs.thresh {
				continue // inlined fast path of cs.offer
			}
			cs.offer(est, int32(r0+r))
		}
	}
	cs.cut()
	return cs.buf
}

// Early stop of the re-rank: candidates are re-ranked best estimate
// first; once at least stopMin of them are done and the heap is full, the
// scan stops when the next estimate, shifted to cosine units and raised by
// stopSigmas times the RMS estimate error observed so far, can no longer
// reach the current k-th exact score.
const (
	stopMin    = 256
	stopSigmas = 3
)

// rerank scores the candidate rows exactly (best estimate first, with the
// early stop above) and keeps the top k. A row's id is only read when its
// score could enter the heap (ids are scattered in memory, each read is a
// likely cache miss).
func (ix *Index) rerank(qn []float32, cs []cand, k int, exclude func(string) bool, lscale, qmu float64) topK {
	slices.SortFunc(cs, func(a, b cand) int { return cmp.Compare(b.est, a.est) })
	d := ix.dim
	x := blas32.Vector{N: d, Inc: 1, Data: qn}
	h := topK{k: k, h: make([]Hit, 0, k)}
	inv := 1 / lscale
	var sse float64
	for i, c := range cs {
		e := float64(c.est)*inv + qmu
		if i >= stopMin && len(h.h) == k {
			if e+stopSigmas*math.Sqrt(sse/float64(i)) < float64(h.h[0].Score) {
				break
			}
		}
		r := int(c.row)
		s := blas32.Dot(blas32.Vector{N: d, Inc: 1, Data: ix.data.row(r)}, x)
		sse += (float64(s) - e) * (float64(s) - e)
		if len(h.h) == k && s < h.h[0].Score {
			continue
		}
		id := ix.ids[r]
		if len(h.h) == k && s == h.h[0].Score && id > h.h[0].ID {
			continue
		}
		if exclude != nil && exclude(id) {
			continue
		}
		h.offer(Hit{ID: id, Score: s})
	}
	return h
}

// addGroup32 is addGroup for 32 code bytes (4 table groups) per pass.
func addGroup32(acc []int32, codes []byte, st int, t *[4][8][256]int32) {
	for r := range acc {
		b := (*[32]byte)(codes[r*st : r*st+32])
		var s0, s1 int32
		s0 += t[0][0][b[0]]
		s1 += t[0][1][b[1]]
		s0 += t[0][2][b[2]]
		s1 += t[0][3][b[3]]
		s0 += t[0][4][b[4]]
		s1 += t[0][5][b[5]]
		s0 += t[0][6][b[6]]
		s1 += t[0][7][b[7]]
		s0 += t[1][0][b[8]]
		s1 += t[1][1][b[9]]
		s0 += t[1][2][b[10]]
		s1 += t[1][3][b[11]]
		s0 += t[1][4][b[12]]
		s1 += t[1][5][b[13]]
		s0 += t[1][6][b[14]]
		s1 += t[1][7][b[15]]
		s0 += t[2][0][b[16]]
		s1 += t[2][1][b[17]]
		s0 += t[2][2][b[18]]
		s1 += t[2][3][b[19]]
		s0 += t[2][4][b[20]]
		s1 += t[2][5][b[21]]
		s0 += t[2][6][b[22]]
		s1 += t[2][7][b[23]]
		s0 += t[3][0][b[24]]
		s1 += t[3][1][b[25]]
		s0 += t[3][2][b[26]]
		s1 += t[3][3][b[27]]
		s0 += t[3][4][b[28]]
		s1 += t[3][5][b[29]]
		s0 += t[3][6][b[30]]
		s1 += t[3][7][b[31]]
		acc[r] += s0 + s1
	}
}

// addGroup16 is addGroup for 16 code bytes (2 table groups) per pass.
func addGroup16(acc []int32, codes []byte, st int, t *[2][8][256]int32) {
	for r := range acc {
		b := (*[16]byte)(codes[r*st : r*st+16])
		var s0, s1 int32
		s0 += t[0][0][b[0]]
		s1 += t[0][1][b[1]]
		s0 += t[0][2][b[2]]
		s1 += t[0][3][b[3]]
		s0 += t[0][4][b[4]]
		s1 += t[0][5][b[5]]
		s0 += t[0][6][b[6]]
		s1 += t[0][7][b[7]]
		s0 += t[1][0][b[8]]
		s1 += t[1][1][b[9]]
		s0 += t[1][2][b[10]]
		s1 += t[1][3][b[11]]
		s0 += t[1][4][b[12]]
		s1 += t[1][5][b[13]]
		s0 += t[1][6][b[14]]
		s1 += t[1][7][b[15]]
		acc[r] += s0 + s1
	}
}
