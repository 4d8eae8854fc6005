package fingerprint

import (
	"fmt"
	"sync"
)

// Builder builds an Index from a stream of songs at start-up, faster and
// in less memory than Adds: the terms go straight into the directory, with
// no delta and no merge. Add and AddSketch may be called from several
// goroutines (Add computes the sketch before taking the lock).
type Builder struct {
	mu    sync.Mutex
	store Store
	opt   Options
	ids   []int64
	durs  []uint16
	terms []uint32 // the sketches, one after the other
	ends  []uint32 // ends[i]: end of song i's terms in terms
}

// NewBuilder starts a build; sizeHint is the expected number of songs (0
// if unknown). opt.ExpectedSongs defaults to sizeHint.
func NewBuilder(store Store, opt Options, sizeHint int) *Builder {
	if opt.ExpectedSongs <= 0 {
		opt.ExpectedSongs = sizeHint
	}
	sizeHint = max(sizeHint, 0)
	return &Builder{
		store: store,
		opt:   opt,
		ids:   make([]int64, 0, sizeHint),
		durs:  make([]uint16, 0, sizeHint),
		terms: make([]uint32, 0, sizeHint*SketchSize),
		ends:  make([]uint32, 0, sizeHint),
	}
}

// Add adds a song; a later Add of the same id replaces it. It returns
// ErrNoTerms for a silent or too short fingerprint (the song is skipped).
func (b *Builder) Add(id int64, fp []uint32, duration float64) error {
	return b.AddSketch(id, SketchOf(fp), duration)
}

// AddSketch is Add with the song's sketch (SketchOf of its fingerprint).
func (b *Builder) AddSketch(id int64, sketch []uint32, duration float64) error {
	if len(sketch) == 0 {
		return ErrNoTerms
	}
	if len(sketch) > SketchSize {
		return fmt.Errorf("fingerprint: sketch of %d terms, at most %d", len(sketch), SketchSize)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.ids) >= MaxSongs {
		return fmt.Errorf("fingerprint: index full (%d songs)", MaxSongs)
	}
	b.ids = append(b.ids, id)
	b.durs = append(b.durs, durSeconds(duration))
	b.terms = append(b.terms, sketch...)
	b.ends = append(b.ends, uint32(len(b.terms)))
	return nil
}

// Build returns the index. The Builder must not be used afterwards.
func (b *Builder) Build() *Index {
	b.mu.Lock()
	defer b.mu.Unlock()
	ix := New(b.store, b.opt)
	n := len(b.ids)
	ix.ids, ix.durs = b.ids, b.durs
	ix.dead = make([]uint64, (n+63)/64)
	ix.idt.reserve(n)
	for s := range n {
		id := b.ids[s]
		if old, ok := ix.idt.remove(ix.ids, id); ok { // replaced by a later Add
			ix.dead[old/64] |= 1 << (old % 64)
			ix.free = append(ix.free, old)
			ix.live--
		}
		ix.idt.insert(ix.ids, id, uint32(s))
		ix.live++
	}

	// Counting sort of the postings by bucket.
	dir := ix.base.dir
	nb := len(dir) - 1
	start := uint32(0)
	for s, end := range b.ends {
		if ix.dead[s/64]&(1<<(s%64)) == 0 {
			for _, t := range b.terms[start:end] {
				dir[t>>ix.shift+1]++
			}
		}
		start = end
	}
	for i := 1; i <= nb; i++ {
		dir[i] += dir[i-1]
	}
	post := make([]uint32, dir[nb])
	cur := make([]uint32, nb)
	copy(cur, dir[:nb])
	start = 0
	for s, end := range b.ends {
		if ix.dead[s/64]&(1<<(s%64)) == 0 {
			for _, t := range b.terms[start:end] {
				bk := t >> ix.shift
				post[cur[bk]] = uint32(s)<<checkBits | t&checkMask
				cur[bk]++
			}
		}
		start = end
	}
	ix.base.post = post
	b.ids, b.durs, b.terms, b.ends = nil, nil, nil, nil
	return ix
}
