package fingerprint

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sync"

	"songcommons/internal/parallel"
)

// Store gives the index the full fingerprints of its candidates: the index
// keeps only a few terms per song in memory. The service reads them from
// SQLite; MemStore keeps them in a map (tests, benchmarks).
type Store interface {
	// Fingerprints returns, for each id, its full fingerprint (the
	// sub-fingerprints as Decode gives them), or nil if the store does not
	// have it any more. It must be safe for concurrent use.
	Fingerprints(ids []int64) ([][]uint32, error)
}

// ErrNoTerms is returned by Add for a fingerprint with nothing to index:
// silence, or fewer than 2 items.
var ErrNoTerms = errors.New("fingerprint is silent or too short to identify a recording")

// Options configure an Index. The zero value gives the defaults.
type Options struct {
	// Params are the match thresholds; the zero value means DefaultParams.
	Params Params
	// ExpectedSongs sizes the term directory, fixed for the index's life
	// (about 2 bytes per expected song). Default 1<<20. An index may hold
	// many more songs; lookups then scan longer posting lists.
	ExpectedSongs int
	// MaxCandidates is the most songs fully compared per lookup, taken by
	// the number of terms they share with the query. Default 16.
	MaxCandidates int
	// MinVotes is the least number of terms a song must share with the
	// query to be compared. Default 2.
	MinVotes int
}

func (o Options) withDefaults() Options {
	if o.Params == (Params{}) {
		o.Params = DefaultParams()
	}
	if o.ExpectedSongs <= 0 {
		o.ExpectedSongs = 1 << 20
	}
	if o.MaxCandidates <= 0 {
		o.MaxCandidates = 16
	}
	if o.MinVotes <= 0 {
		o.MinVotes = 2
	}
	return o
}

// Posting layout: a song's slot in the high bits, checkBits bits of the
// term in the low bits (the bucket holds others).
const (
	checkBits = 6
	checkMask = 1<<checkBits - 1
	// MaxSongs is the most songs an index holds at once.
	MaxSongs = 1<<(32-checkBits) - 1
)

// Match is one song a lookup found, and how well it matched. Its Offset is
// where the query's audio starts in the song's (3: the query lacks the
// song's first 3 seconds).
type Match struct {
	ID int64
	Similarity
}

// Query is one fingerprint to look up, with its duration in seconds
// (0 if unknown: the duration check is then skipped).
type Query struct {
	Fingerprint []uint32
	Duration    float64
}

// Index finds, among many songs, those whose fingerprint matches a query:
// it keeps up to SketchSize terms per song in an inverted index, takes as
// candidates the songs that share the most terms with the query, fetches
// their fingerprints from the Store and compares them fully (Params.Match).
//
// Memory: 4 bytes per term (≤ SketchSize per song), a directory of 4 bytes
// per 16 expected terms, and per song its id (8), duration (2), a slot in
// the id table (≤ 8) and a dead bit. Adds go to a small hash table merged
// into the directory in the background once it holds 1/64 of the songs;
// removed songs' terms are dropped at the next merge.
//
// All methods are safe for concurrent use: lookups run beside each other
// and beside writes (which are serialised). A lookup holds the read lock
// only while it gathers candidates, not while the Store reads them.
type Index struct {
	store    Store
	p        Params
	maxCand  int
	minVotes int
	shift    uint // 32 - log2(number of buckets)

	mu         sync.RWMutex
	base       *segment
	frozen     *delta // being merged into a new base, or nil
	delta      *delta
	deltaSongs int

	ids         []int64
	durs        []uint16 // seconds, rounded, saturated
	dead        []uint64 // bit per slot: removed (or never used)
	idt         idTable
	free        []uint32 // slots no posting refers to any more
	pendingDead []uint32 // dead slots some posting still refers to
	live        int

	merging   bool
	mergeDone *sync.Cond // signalled (with mu) when a merge ends

	pool sync.Pool // *scratch
}

// New returns an empty index fetching full fingerprints from store.
func New(store Store, opt Options) *Index {
	opt = opt.withDefaults()
	terms := max(opt.ExpectedSongs, 1) * SketchSize / 16
	b := min(max(bits.Len(uint(terms-1)), 10), 26)
	ix := &Index{
		store:    store,
		p:        opt.Params,
		maxCand:  opt.MaxCandidates,
		minVotes: opt.MinVotes,
		shift:    uint(32 - b),
		delta:    newDelta(0),
	}
	ix.base = &segment{dir: make([]uint32, 1<<b+1)}
	ix.mergeDone = sync.NewCond(&ix.mu)
	return ix
}

// Params returns the thresholds the index matches with.
func (ix *Index) Params() Params { return ix.p }

// Len returns the number of songs in the index.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.live
}

// Add indexes the song id with its fingerprint and duration (seconds). An
// id already present is replaced. It returns ErrNoTerms for a silent or
// too short fingerprint (the song is then not in the index).
func (ix *Index) Add(id int64, fp []uint32, duration float64) error {
	return ix.AddSketch(id, SketchOf(fp), duration)
}

// AddSketch is Add with the song's sketch (SketchOf of its fingerprint)
// instead of the fingerprint, for callers that store sketches.
func (ix *Index) AddSketch(id int64, sketch []uint32, duration float64) error {
	if len(sketch) == 0 {
		return ErrNoTerms
	}
	if len(sketch) > SketchSize {
		return fmt.Errorf("fingerprint: sketch of %d terms, at most %d", len(sketch), SketchSize)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.removeLocked(id)
	slot, err := ix.newSlotLocked(id, duration)
	if err != nil {
		return err
	}
	for _, t := range sketch {
		ix.delta.insert(t, slot)
	}
	ix.deltaSongs++
	ix.maybeMergeLocked()
	return nil
}

func (ix *Index) newSlotLocked(id int64, duration float64) (uint32, error) {
	var slot uint32
	if n := len(ix.free); n > 0 {
		slot = ix.free[n-1]
		ix.free = ix.free[:n-1]
		ix.ids[slot], ix.durs[slot] = id, durSeconds(duration)
		ix.dead[slot/64] &^= 1 << (slot % 64)
	} else {
		if len(ix.ids) >= MaxSongs {
			return 0, fmt.Errorf("fingerprint: index full (%d songs)", MaxSongs)
		}
		slot = uint32(len(ix.ids))
		ix.ids = append(ix.ids, id)
		ix.durs = append(ix.durs, durSeconds(duration))
		if int(slot/64) >= len(ix.dead) {
			ix.dead = append(ix.dead, 0)
		}
	}
	ix.idt.insert(ix.ids, id, slot)
	ix.live++
	return slot, nil
}

// Remove takes the song id out of the index and reports whether it was
// there.
func (ix *Index) Remove(id int64) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ok := ix.removeLocked(id)
	if ok {
		ix.maybeMergeLocked()
	}
	return ok
}

func (ix *Index) removeLocked(id int64) bool {
	slot, ok := ix.idt.remove(ix.ids, id)
	if !ok {
		return false
	}
	ix.dead[slot/64] |= 1 << (slot % 64)
	ix.pendingDead = append(ix.pendingDead, slot)
	ix.live--
	return true
}

func durSeconds(d float64) uint16 {
	if !(d > 0) {
		return 0
	}
	return uint16(min(math.Round(d), math.MaxUint16))
}

func (ix *Index) maybeMergeLocked() {
	if ix.merging {
		return
	}
	if ix.deltaSongs > max(1024, ix.live/64) || len(ix.pendingDead) > max(1024, ix.live/16) {
		ix.merging = true
		go ix.merge()
	}
}

// Compact merges the recent adds into the directory and drops the terms of
// removed songs now, waiting for a merge already under way. Lookups and
// writes go on meanwhile. Tests use it; a service need not.
func (ix *Index) Compact() {
	ix.mu.Lock()
	for ix.merging {
		ix.mergeDone.Wait()
	}
	ix.merging = true
	ix.mu.Unlock()
	ix.merge()
}

// waitMerge waits for a merge under way, if any.
func (ix *Index) waitMerge() {
	ix.mu.Lock()
	for ix.merging {
		ix.mergeDone.Wait()
	}
	ix.mu.Unlock()
}

// merge builds a new base from the current one and the delta, without the
// terms of the songs removed so far, and swaps it in. ix.merging is set.
func (ix *Index) merge() {
	ix.mu.Lock()
	frozen := ix.delta
	ix.frozen, ix.delta, ix.deltaSongs = frozen, newDelta(0), 0
	dead0 := ix.pendingDead
	ix.pendingDead = nil
	old := ix.base
	gone := make([]uint64, (len(ix.ids)+63)/64)
	for _, s := range dead0 {
		gone[s/64] |= 1 << (s % 64)
	}
	ix.mu.Unlock()

	nb := mergeSegment(old, frozen, gone, ix.shift)

	ix.mu.Lock()
	ix.base, ix.frozen = nb, nil
	ix.free = append(ix.free, dead0...)
	ix.merging = false
	ix.mergeDone.Broadcast()
	ix.mu.Unlock()
}

// Lookup returns the songs whose fingerprint matches fp (of the given
// duration in seconds, 0 if unknown), best first. More than one match
// means the query is ambiguous: a caller reports them all and does not
// pick one.
func (ix *Index) Lookup(fp []uint32, duration float64) ([]Match, error) {
	res, err := ix.LookupBatch([]Query{{Fingerprint: fp, Duration: duration}})
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// LookupBatch looks up many fingerprints at once: candidates are gathered
// and compared on all cores, and their fingerprints are read with one
// Store call. The i-th result answers qs[i].
func (ix *Index) LookupBatch(qs []Query) ([][]Match, error) {
	return ix.LookupBatchWith(ix.store, qs)
}

// LookupBatchWith is LookupBatch reading the candidates' fingerprints from
// st for this call: a caller that wants more of the candidates' stored rows
// than their fingerprints (their names) keeps them as st reads them.
func (ix *Index) LookupBatchWith(st Store, qs []Query) ([][]Match, error) {
	cands := make([][]candidate, len(qs))
	parallel.For(len(qs), 0, func(i int) { cands[i] = ix.candidates(qs[i].Fingerprint, qs[i].Duration) })

	var ids []int64
	pos := make(map[int64]int)
	for _, cs := range cands {
		for _, c := range cs {
			if _, ok := pos[c.id]; !ok {
				pos[c.id] = len(ids)
				ids = append(ids, c.id)
			}
		}
	}
	res := make([][]Match, len(qs))
	if len(ids) == 0 {
		return res, nil
	}
	fps, err := st.Fingerprints(ids)
	if err != nil {
		return nil, fmt.Errorf("fingerprint: reading candidates: %w", err)
	}
	if len(fps) != len(ids) {
		return nil, fmt.Errorf("fingerprint: store returned %d fingerprints for %d ids", len(fps), len(ids))
	}
	parallel.For(len(qs), 0, func(i int) {
		var ms []Match
		for _, c := range cands[i] {
			fp := fps[pos[c.id]]
			if fp == nil {
				continue // removed since
			}
			// The song first: Offset is where the query starts in it.
			s := ix.p.Compare(fp, qs[i].Fingerprint)
			if s.Overlap > 0 && s.Score >= ix.p.MinScore {
				ms = append(ms, Match{ID: c.id, Similarity: s})
			}
		}
		slices.SortFunc(ms, func(a, b Match) int {
			if a.Score != b.Score {
				if a.Score > b.Score {
					return -1
				}
				return 1
			}
			if a.ID < b.ID {
				return -1
			}
			if a.ID > b.ID {
				return 1
			}
			return 0
		})
		res[i] = ms
	})
	return res, nil
}

// Candidates returns the ids the index would compare for fp, most shared
// terms first (the recall test measures it against comparing every pair).
func (ix *Index) Candidates(fp []uint32, duration float64) []int64 {
	cs := ix.candidates(fp, duration)
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.id
	}
	return ids
}

type candidate struct {
	id    int64
	votes int
}

type scratch struct {
	d       []uint8
	terms   []uint32
	bounds  []uint32
	hits    []uint32
	votes   []uint64
	touched uint32 // keeps the loads of the first postings
}

// maxTermSongs is how many songs a term may match before the lookup
// ignores it as too common to tell songs apart (near-silence, hum).
func maxTermSongs(live int) int { return max(256, live/1000) }

func (ix *Index) candidates(fp []uint32, duration float64) []candidate {
	sc, _ := ix.pool.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	defer ix.pool.Put(sc)
	sc.terms, sc.d = queryTerms(sc.terms, sc.d, fp)
	hits := sc.hits[:0]

	ix.mu.RLock()
	defer ix.mu.RUnlock()
	capHits := maxTermSongs(ix.live)
	base, dead := ix.base, ix.dead
	// First every term's bucket bounds, then the buckets: the loads of
	// one pass do not wait for each other, so their cache misses overlap.
	bounds := sc.bounds[:0]
	for _, t := range sc.terms {
		b := t >> ix.shift
		bounds = append(bounds, base.dir[b], base.dir[b+1])
	}
	sc.bounds = bounds
	// Then the first posting of every bucket, for the same reason: the
	// scans below find their lines in the cache.
	var touch uint32
	for k := range sc.terms {
		if lo := bounds[2*k]; lo < bounds[2*k+1] {
			touch += base.post[lo]
		}
	}
	sc.touched = touch
	for k, t := range sc.terms {
		start := len(hits)
		c := t & checkMask
		for _, p := range base.post[bounds[2*k]:bounds[2*k+1]] {
			if p&checkMask == c {
				if s := p >> checkBits; dead[s/64]&(1<<(s%64)) == 0 {
					hits = append(hits, s)
				}
			}
		}
		if ix.frozen != nil {
			hits = ix.frozen.lookup(hits, t, dead)
		}
		hits = ix.delta.lookup(hits, t, dead)
		if len(hits)-start > capHits {
			hits = hits[:start]
		}
	}
	sc.hits = hits
	if len(hits) < ix.minVotes {
		return nil
	}
	// votes per slot: an open-addressing table of slot+1 | votes<<32,
	// at most half full (sorting the hits cost twice as much: a query's
	// ~230 terms find ~380 postings at 1M songs, nearly all by chance)
	size := 64
	for size < 2*len(hits) {
		size *= 2
	}
	if cap(sc.votes) < size {
		sc.votes = make([]uint64, size)
	}
	votes := sc.votes[:size]
	clear(votes)
	mask := uint32(size - 1)
	for _, s := range hits {
		for i := (s * 0x9e3779b1) & mask; ; i = (i + 1) & mask {
			if e := votes[i]; e == 0 {
				votes[i] = uint64(s+1) | 1<<32
				break
			} else if uint32(e) == s+1 {
				votes[i] = e + 1<<32
				break
			}
		}
	}
	var cs []candidate
	for _, e := range votes {
		if v := int(e >> 32); v >= ix.minVotes {
			s := uint32(e) - 1
			if ix.p.DurationsMatch(duration, float64(ix.durs[s])) {
				cs = append(cs, candidate{id: int64(s), votes: v})
			}
		}
	}
	slices.SortFunc(cs, func(a, b candidate) int {
		if a.votes != b.votes {
			return b.votes - a.votes
		}
		return int(a.id - b.id)
	})
	if len(cs) > ix.maxCand {
		cs = cs[:ix.maxCand]
	}
	for i := range cs {
		cs[i].id = ix.ids[cs[i].id]
	}
	return cs
}

// MemoryBytes returns the bytes the index holds in memory (the capacity of
// its arrays): what the 300-bytes-per-song budget counts.
func (ix *Index) MemoryBytes() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n := 4*cap(ix.base.dir) + 4*cap(ix.base.post) + 8*cap(ix.delta.ent)
	if ix.frozen != nil {
		n += 8 * cap(ix.frozen.ent)
	}
	n += 8*cap(ix.ids) + 2*cap(ix.durs) + 8*cap(ix.dead) + 4*cap(ix.idt.slots) +
		4*cap(ix.free) + 4*cap(ix.pendingDead)
	return n
}
