package vectors

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"sync"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
)

const (
	// chunkRows is the number of rows scored per Gemv call; the score
	// buffer (16 KiB) stays in L1/L2 while it is scanned into the heap.
	chunkRows = 4096
	// parallelMinFloats: below this many matrix elements a search runs on
	// the calling goroutine only (goroutine start-up would dominate).
	parallelMinFloats = 1 << 18
)

var scorePool = sync.Pool{New: func() any {
	b := make([]float32, chunkRows)
	return &b
}}

// Search returns the k stored vectors most similar to q (exact cosine
// similarity), sorted by score descending, ties broken by id ascending.
// q is normalised internally (a copy; q is not modified). If k exceeds the
// number of eligible rows, all of them are returned.
//
// exclude, if non-nil, is called only for rows that would otherwise enter
// the current top-k; rows for which it returns true are skipped. Calls to
// exclude are serialised (it need not be safe for concurrent use) but it
// runs while the index read lock is held, so it must not call methods of
// the same Index.
//
// Errors: ErrK for k <= 0, ErrDim, ErrZero or ErrNonFinite for a bad q.
func (ix *Index) Search(q []float32, k int, exclude func(id string) bool) ([]Hit, error) {
	qn, err := ix.prepareQuery(q, k)
	if err != nil {
		return nil, err
	}

	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n := len(ix.ids)
	if n == 0 {
		return []Hit{}, nil
	}
	k = min(k, n)

	exclude = serialized(exclude)

	workers := runtime.GOMAXPROCS(0)
	if n*ix.dim < parallelMinFloats {
		workers = 1
	}
	workers = min(workers, (n+chunkRows-1)/chunkRows)
	if workers <= 1 {
		h := ix.scan(qn, 0, n, k, exclude)
		return h.sorted(), nil
	}

	// Contiguous row blocks aligned to chunkRows, one per worker.
	chunks := (n + chunkRows - 1) / chunkRows
	heaps := make([]topK, workers)
	var wg sync.WaitGroup
	c0 := 0
	for w := range workers {
		c1 := c0 + (chunks-c0)/(workers-w)
		lo, hi := c0*chunkRows, min(c1*chunkRows, n)
		c0 = c1
		wg.Add(1)
		go func() {
			defer wg.Done()
			heaps[w] = ix.scan(qn, lo, hi, k, exclude)
		}()
	}
	wg.Wait()
	return mergeTopK(heaps, k), nil
}

// mergeTopK merges the workers' top-k lists into the best k, best first.
func mergeTopK(heaps []topK, k int) []Hit {
	all := heaps[0].h
	for _, h := range heaps[1:] {
		all = append(all, h.h...)
	}
	slices.SortFunc(all, cmpHit)
	if len(all) > k {
		all = all[:k]
	}
	return all
}

// scan scores rows [lo, hi) against the unit query qn in chunks of
// chunkRows with one Gemv per chunk and returns the top-k of the block.
// The caller holds the read lock.
func (ix *Index) scan(qn []float32, lo, hi, k int, exclude func(string) bool) topK {
	bp := scorePool.Get().(*[]float32)
	defer scorePool.Put(bp)
	buf := *bp
	d := ix.dim
	h := topK{k: k, h: make([]Hit, 0, min(k, hi-lo))}
	x := blas32.Vector{N: d, Inc: 1, Data: qn}
	for r0 := lo; r0 < hi; r0 += chunkRows {
		c := min(chunkRows, hi-r0)
		a := blas32.General{Rows: c, Cols: d, Stride: d, Data: ix.data.span(r0, c)}
		blas32.Gemv(blas.NoTrans, 1, a, x, 0, blas32.Vector{N: c, Inc: 1, Data: buf[:c]})
		ids := ix.ids[r0 : r0+c]
		for i, s := range buf[:c] {
			if len(h.h) == h.k {
				// Fast reject: strictly worse than the current k-th.
				w := h.h[0]
				if s < w.Score || (s == w.Score && ids[i] > w.ID) {
					continue
				}
			}
			if exclude != nil && exclude(ids[i]) {
				continue
			}
			h.offer(Hit{ID: ids[i], Score: s})
		}
	}
	return h
}

// cmpHit orders hits best first: score descending, then id ascending.
func cmpHit(a, b Hit) int {
	if a.Score != b.Score {
		if a.Score > b.Score {
			return -1
		}
		return 1
	}
	return cmp.Compare(a.ID, b.ID)
}

// worse reports whether a ranks after b.
func worse(a, b Hit) bool {
	if a.Score != b.Score {
		return a.Score < b.Score
	}
	return a.ID > b.ID
}

// topK is a bounded min-heap keeping the k best hits; h[0] is the worst
// kept hit.
type topK struct {
	k int
	h []Hit
}

// offer inserts x if the heap is not full or x beats the worst kept hit.
func (t *topK) offer(x Hit) {
	if len(t.h) < t.k {
		t.h = append(t.h, x)
		t.up(len(t.h) - 1)
		return
	}
	if !worse(t.h[0], x) {
		return
	}
	t.h[0] = x
	t.down(0)
}

func (t *topK) up(i int) {
	h := t.h
	for i > 0 {
		p := (i - 1) / 2
		if !worse(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (t *topK) down(i int) {
	h := t.h
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && worse(h[r], h[l]) {
			m = r
		}
		if !worse(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// sorted returns the kept hits best first (consumes the heap).
func (t *topK) sorted() []Hit {
	slices.SortFunc(t.h, cmpHit)
	return t.h
}

// prepareQuery checks k and q and returns unit(q) (a copy).
func (ix *Index) prepareQuery(q []float32, k int) ([]float32, error) {
	if k <= 0 {
		return nil, fmt.Errorf("%w: got %d", ErrK, k)
	}
	if len(q) != ix.dim {
		return nil, fmt.Errorf("%w: query has %d, want %d", ErrDim, len(q), ix.dim)
	}
	inv, err := invNorm(q)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	qn := make([]float32, len(q))
	for i, x := range q {
		qn[i] = x * inv
	}
	return qn, nil
}

// serialized makes a caller's exclude function safe for the scan's
// workers, which call it at once: one call at a time (nil stays nil).
func serialized(exclude func(string) bool) func(string) bool {
	if exclude == nil {
		return nil
	}
	var mu sync.Mutex
	return func(id string) bool {
		mu.Lock()
		defer mu.Unlock()
		return exclude(id)
	}
}
