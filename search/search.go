package search

import (
	"math/bits"
	"slices"
	"strings"
	"sync"
)

// Hit is one song found.
type Hit struct {
	Key           string // song_key
	Contributions int
	Exact         int // query words the song matches as whole words
}

// Result is one page of a search.
type Result struct {
	Hits   []Hit // best first
	Total  int   // songs matching the query (at most TotalCap when Capped)
	Capped bool  // more than TotalCap songs match
}

const (
	// MaxPerPage bounds perPage.
	MaxPerPage = 100
	// MaxDepth bounds page × perPage: pages past the first MaxDepth
	// results come back empty (with the total).
	MaxDepth = 10_000
	// TotalCap bounds the reported total ("10,000+").
	TotalCap = 10_000
)

// termMatch is a vocabulary term matching a query word.
type termMatch struct {
	id    uint32
	exact bool
}

// scratch is the reusable memory of one search.
type scratch struct {
	match [maxWords][]termMatch
	mask  []uint32 // term id → bit i: matches word i; bit 16+i: exactly
	seen  []uint64 // doc id bitmaps
	count []uint8  // doc id → whole-word matches (searchBitmaps)
	order []int
	top   topK
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// Search returns page page (from 1) of perPage songs matching query, best
// first, with the number of matches. perPage is clamped to [1, MaxPerPage].
// An empty query (or one of punctuation only) matches nothing.
func (ix *Index) Search(query string, page, perPage int) Result {
	return ix.search(query, page, perPage, planAuto)
}

// plan is how a query of several words is answered.
type plan int

const (
	planAuto    plan = iota // the cheaper of the two, by bitmapsCheaper
	planWords               // searchMany
	planBitmaps             // searchBitmaps
)

func (ix *Index) search(query string, page, perPage int, p plan) Result {
	words := parseQuery(query)
	if len(words) == 0 {
		return Result{Hits: []Hit{}}
	}
	page = max(page, 1)
	perPage = min(max(perPage, 1), MaxPerPage)
	k := 0
	if page <= MaxDepth/perPage {
		k = page * perPage
	}
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	sc.top.reset(k)

	ix.mu.RLock()
	defer ix.mu.RUnlock()
	driver, best := -1, 0
	for i, w := range words {
		sc.match[i] = ix.matchTerms(sc.match[i][:0], w)
		if w.optional {
			continue
		}
		n := 0
		for _, m := range sc.match[i] {
			n += len(ix.post[m.id])
		}
		if n == 0 {
			return Result{Hits: []Hit{}}
		}
		if driver < 0 || n < best {
			driver, best = i, n
		}
	}
	var total int
	switch {
	case len(words) == 1 && len(sc.match[0]) == 1:
		total = ix.searchOne(sc)
	case p == planBitmaps || p == planAuto && ix.bitmapsCheaper(sc, words, best):
		total = ix.searchBitmaps(sc, words)
	default:
		total = ix.searchMany(sc, words, driver)
	}
	res := Result{Total: total, Hits: sc.top.hits(ix, (page-1)*perPage)}
	if res.Total > TotalCap {
		res.Total, res.Capped = TotalCap, true
	}
	return res
}

// matchTerms appends the terms matching w: the equal term first (if any),
// then, for a prefix word, every term that begins with it.
func (ix *Index) matchTerms(dst []termMatch, w qword) []termMatch {
	exact, hasExact := ix.termID[w.term]
	if hasExact {
		dst = append(dst, termMatch{exact, true})
	}
	if !w.prefix {
		return dst
	}
	i, _ := slices.BinarySearchFunc(ix.sorted, w.term, func(id uint32, t string) int {
		return strings.Compare(ix.terms[id], t)
	})
	for _, id := range ix.sorted[i:] {
		if !strings.HasPrefix(ix.terms[id], w.term) {
			break
		}
		if id != exact || !hasExact {
			dst = append(dst, termMatch{id, false})
		}
	}
	for _, id := range ix.recent {
		if (id != exact || !hasExact) && strings.HasPrefix(ix.terms[id], w.term) {
			dst = append(dst, termMatch{id, false})
		}
	}
	return dst
}

// searchOne ranks the songs of a one-word query matching a single term.
func (ix *Index) searchOne(sc *scratch) int {
	m := sc.match[0][0]
	e := b2u(m.exact)
	p := ix.post[m.id]
	for _, d := range p {
		sc.top.offer(ix, d, e)
	}
	return len(p)
}

// searchMany ranks the songs of a query of several words: it walks the
// posting lists of the driver (the required word with the fewest
// postings) and checks each song's terms against the other words.
func (ix *Index) searchMany(sc *scratch, words []qword, driver int) int {
	if len(sc.mask) < len(ix.terms) {
		sc.mask = make([]uint32, len(ix.terms)+len(ix.terms)/8)
	}
	mask := sc.mask
	var required uint32
	for i, w := range words {
		if !w.optional {
			required |= 1 << i
		}
		for _, m := range sc.match[i] {
			mask[m.id] |= 1 << i
			if m.exact {
				mask[m.id] |= 1 << (16 + i)
			}
		}
	}
	defer func() {
		for i := range words {
			for _, m := range sc.match[i] {
				mask[m.id] = 0
			}
		}
	}()
	dbit := uint32(1) << driver
	total := 0
	for _, m := range sc.match[driver] {
		for _, d := range ix.post[m.id] {
			var got uint32
			first := true
			for _, t := range ix.fwd[ix.fwdOff[d]:][:ix.fwdLen[d]] {
				mt := mask[t]
				if mt&dbit != 0 && first {
					if t != m.id {
						got = 0 // reached through an earlier term of the driver
						break
					}
					first = false
				}
				got |= mt
			}
			if got&required != required {
				continue
			}
			total++
			sc.top.offer(ix, d, uint32(bits.OnesCount32(got>>16)))
		}
	}
	return total
}

// bitmapsCheaper reports whether a query of several words is cheaper to
// answer with searchBitmaps, which walks the posting lists of every word
// (about 1–2 ns per posting, plus a pass over a bitmap of all songs per
// word), than with searchMany, which walks those of the driver and reads
// the terms of each song found (a cache miss: about 30–50 ns per posting
// at 1M songs, BenchmarkPlans).
func (ix *Index) bitmapsCheaper(sc *scratch, words []qword, driverPostings int) bool {
	const perDriverPosting = 30 // relative to one posting of searchBitmaps
	all := 0
	for i := range words {
		for _, m := range sc.match[i] {
			if m.exact || !words[i].optional {
				all += len(ix.post[m.id])
			}
		}
	}
	bitmapWords := (len(words) + 1) * (len(ix.keys) + 63) / 64
	return all+bitmapWords < driverPostings*perDriverPosting
}

// searchBitmaps ranks the songs of a query with bitmaps of songs: the
// songs of each required word (rarest first) are ANDed into the candidates, then each candidate's whole-word
// matches are counted from the posting lists of the equal terms.
func (ix *Index) searchBitmaps(sc *scratch, words []qword) int {
	n := (len(ix.keys) + 63) / 64
	if cap(sc.seen) < 2*n {
		sc.seen = make([]uint64, 2*n+n/4)
	}
	acc, tmp := sc.seen[:n], sc.seen[n:2*n]
	if len(sc.count) < len(ix.keys) {
		sc.count = make([]uint8, len(ix.keys)+len(ix.keys)/8)
	}
	count := sc.count // zero outside a search
	order := sc.order[:0]
	for i, w := range words {
		if !w.optional {
			order = append(order, i)
		}
	}
	post := func(i int) (n int) {
		for _, m := range sc.match[i] {
			n += len(ix.post[m.id])
		}
		return n
	}
	slices.SortFunc(order, func(a, b int) int { return post(a) - post(b) })
	sc.order = order
	for k, i := range order {
		dst := acc
		if k > 0 {
			dst = tmp
		}
		clear(dst)
		for _, m := range sc.match[i] {
			for _, d := range ix.post[m.id] {
				dst[d>>6] |= 1 << (d & 63)
			}
		}
		if k > 0 {
			for j := range acc {
				acc[j] &= tmp[j]
			}
		}
	}
	for i := range words {
		for _, m := range sc.match[i] {
			if !m.exact {
				continue
			}
			for _, d := range ix.post[m.id] {
				if acc[d>>6]&(1<<(d&63)) != 0 {
					count[d]++
				}
			}
		}
	}
	total := 0
	for j, w := range acc {
		for w != 0 {
			d := uint32(j<<6 | bits.TrailingZeros64(w))
			w &= w - 1
			total++
			sc.top.offer(ix, d, uint32(count[d]))
			count[d] = 0
		}
	}
	return total
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

// cand is a ranked candidate.
type cand struct {
	exact, contrib uint32
	sk             uint64
	d              uint32
}

// topK keeps the k best candidates in a heap whose root is the worst.
type topK struct {
	k     int
	items []cand
}

func (h *topK) reset(k int) {
	h.k, h.items = k, h.items[:0]
}

// worse reports whether a ranks below b.
func (ix *Index) worse(a, b *cand) bool {
	if a.exact != b.exact {
		return a.exact < b.exact
	}
	if a.contrib != b.contrib {
		return a.contrib < b.contrib
	}
	if a.sk != b.sk {
		return a.sk > b.sk
	}
	return ix.keys[a.d] > ix.keys[b.d]
}

// offer considers document d matching exact words exactly.
func (h *topK) offer(ix *Index, d, exact uint32) {
	if h.k == 0 {
		return
	}
	c := ix.contrib[d]
	if len(h.items) == h.k {
		r := &h.items[0]
		if exact < r.exact || exact == r.exact && c < r.contrib {
			return
		}
		x := cand{exact, c, ix.sortKey[d], d}
		if !ix.worse(r, &x) {
			return
		}
		h.items[0] = x
		h.down(ix, 0)
		return
	}
	h.items = append(h.items, cand{exact, c, ix.sortKey[d], d})
	for i := len(h.items) - 1; i > 0; {
		p := (i - 1) / 2
		if !ix.worse(&h.items[i], &h.items[p]) {
			break
		}
		h.items[i], h.items[p] = h.items[p], h.items[i]
		i = p
	}
}

func (h *topK) down(ix *Index, i int) {
	n := len(h.items)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		w := l
		if r := l + 1; r < n && ix.worse(&h.items[r], &h.items[l]) {
			w = r
		}
		if !ix.worse(&h.items[w], &h.items[i]) {
			return
		}
		h.items[i], h.items[w] = h.items[w], h.items[i]
		i = w
	}
}

// hits sorts the kept candidates best first and returns those from skip on.
func (h *topK) hits(ix *Index, skip int) []Hit {
	slices.SortFunc(h.items, func(a, b cand) int {
		if ix.worse(&b, &a) {
			return -1
		}
		return 1
	})
	out := []Hit{}
	for _, c := range h.items[min(skip, len(h.items)):] {
		out = append(out, Hit{Key: ix.keys[c.d], Contributions: int(c.contrib), Exact: int(c.exact)})
	}
	return out
}
