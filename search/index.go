package search

import (
	"errors"
	"slices"
	"strings"
	"sync"
)

// ErrNoKey is returned for a song without a song key.
var ErrNoKey = errors.New("search: song without a key")

// Song is what the index holds of one song: its identity and the names that
// are searched. Album may be empty.
type Song struct {
	Key                  string // song_key
	Artist, Title, Album string
	Contributions        int // ranks songs that match equally well
}

// Index is an in-memory search index over the names of songs. The zero
// value is not usable: make one with New or Build.
type Index struct {
	mu sync.RWMutex

	// vocabulary: term id → term and posting list (doc ids, ascending)
	terms  []string
	termID map[string]uint32
	post   [][]uint32
	// term ids in term order (for prefix ranges), and the ids of terms
	// added since that order was last rebuilt
	sorted, recent []uint32

	// documents: doc id → song
	keys    []string // "" for a free id
	docID   map[string]uint32
	contrib []uint32
	sortKey []uint64 // the key's first 8 bytes, big-endian: most ties end here
	fwdOff  []uint32 // the doc's term ids are fwd[fwdOff[d]:][:fwdLen[d]], ascending
	fwdLen  []uint16
	fwd     []uint32
	garbage int      // entries of fwd no document uses
	free    []uint32 // free doc ids
}

// recentMax is how many new terms are kept outside the sorted order (and
// scanned by every prefix query) before the order is rebuilt.
const recentMax = 1024

// maxTerms bounds the distinct terms of one song (fwdLen is a uint16); the
// service's 512-character names give at most a few thousand.
const maxTerms = 1<<16 - 1

// New returns an empty index.
func New() *Index {
	return &Index{termID: map[string]uint32{}, docID: map[string]uint32{}}
}

// Len returns the number of songs in the index.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.docID)
}

// Add adds a song, or replaces the names and contributions of the song with
// the same key (Add is also Update).
func (ix *Index) Add(s Song) error {
	if s.Key == "" {
		return ErrNoKey
	}
	terms := songTerms(&s, nil)
	if len(terms) > maxTerms {
		terms = terms[:maxTerms]
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ids := make([]uint32, len(terms))
	for i, t := range terms {
		ids[i] = ix.term(t)
	}
	slices.Sort(ids)
	d, ok := ix.docID[s.Key]
	if ok {
		old := ix.fwd[ix.fwdOff[d]:][:ix.fwdLen[d]]
		if !slices.Equal(old, ids) {
			for _, t := range old {
				if _, found := slices.BinarySearch(ids, t); !found {
					ix.post[t] = remove(ix.post[t], d)
				}
			}
			for _, t := range ids {
				if _, found := slices.BinarySearch(old, t); !found {
					ix.post[t] = insert(ix.post[t], d)
				}
			}
			ix.setFwd(d, ids)
		}
	} else {
		d = ix.newDoc(s.Key)
		for _, t := range ids {
			ix.post[t] = insert(ix.post[t], d)
		}
		ix.setFwd(d, ids)
	}
	ix.contrib[d] = clampContrib(s.Contributions)
	return nil
}

// Remove removes the song with this key and reports whether it was there.
func (ix *Index) Remove(key string) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	d, ok := ix.docID[key]
	if !ok {
		return false
	}
	for _, t := range ix.fwd[ix.fwdOff[d]:][:ix.fwdLen[d]] {
		ix.post[t] = remove(ix.post[t], d)
	}
	ix.setFwd(d, nil)
	delete(ix.docID, key)
	ix.keys[d], ix.contrib[d], ix.sortKey[d] = "", 0, 0
	ix.free = append(ix.free, d)
	return true
}

// SetContributions sets the number of contributions of the song with this
// key and reports whether it was there.
func (ix *Index) SetContributions(key string, n int) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	d, ok := ix.docID[key]
	if ok {
		ix.contrib[d] = clampContrib(n)
	}
	return ok
}

func clampContrib(n int) uint32 {
	return uint32(min(max(n, 0), 1<<32-1))
}

// term returns the id of a term, adding it to the vocabulary if needed.
func (ix *Index) term(t string) uint32 {
	if id, ok := ix.termID[t]; ok {
		return id
	}
	t = strings.Clone(t) // not a slice of a caller's string
	id := uint32(len(ix.terms))
	ix.terms = append(ix.terms, t)
	ix.post = append(ix.post, nil)
	ix.termID[t] = id
	ix.recent = append(ix.recent, id)
	if len(ix.recent) > recentMax {
		ix.sortTerms()
	}
	return id
}

// sortTerms merges the recent terms into the sorted order.
func (ix *Index) sortTerms() {
	cmp := func(a, b uint32) int { return strings.Compare(ix.terms[a], ix.terms[b]) }
	slices.SortFunc(ix.recent, cmp)
	merged := make([]uint32, 0, len(ix.sorted)+len(ix.recent))
	i, j := 0, 0
	for i < len(ix.sorted) && j < len(ix.recent) {
		if cmp(ix.sorted[i], ix.recent[j]) < 0 {
			merged = append(merged, ix.sorted[i])
			i++
		} else {
			merged = append(merged, ix.recent[j])
			j++
		}
	}
	merged = append(merged, ix.sorted[i:]...)
	merged = append(merged, ix.recent[j:]...)
	ix.sorted, ix.recent = merged, ix.recent[:0]
}

// newDoc gives a key a doc id: a free one if any, else a new one.
func (ix *Index) newDoc(key string) uint32 {
	var d uint32
	if n := len(ix.free); n > 0 {
		d = ix.free[n-1]
		ix.free = ix.free[:n-1]
		ix.keys[d], ix.sortKey[d] = key, sortKeyOf(key)
	} else {
		d = uint32(len(ix.keys))
		ix.keys = append(ix.keys, key)
		ix.sortKey = append(ix.sortKey, sortKeyOf(key))
		ix.contrib = append(ix.contrib, 0)
		ix.fwdOff = append(ix.fwdOff, 0)
		ix.fwdLen = append(ix.fwdLen, 0)
	}
	ix.docID[key] = d
	return d
}

// setFwd replaces the term ids of document d, appending them to fwd; the
// space of the old ones is reclaimed when garbage reaches half of fwd.
func (ix *Index) setFwd(d uint32, ids []uint32) {
	ix.garbage += int(ix.fwdLen[d])
	ix.fwdOff[d], ix.fwdLen[d] = uint32(len(ix.fwd)), uint16(len(ids))
	ix.fwd = append(ix.fwd, ids...)
	if ix.garbage > 1<<16 && ix.garbage > len(ix.fwd)/2 {
		ix.compactFwd()
	}
}

// compactFwd rewrites fwd without its garbage.
func (ix *Index) compactFwd() {
	out := make([]uint32, 0, len(ix.fwd)-ix.garbage+len(ix.fwd)/8)
	for d := range ix.keys {
		n := ix.fwdLen[d]
		off := uint32(len(out))
		out = append(out, ix.fwd[ix.fwdOff[d]:][:n]...)
		ix.fwdOff[d] = off
	}
	ix.fwd, ix.garbage = out, 0
}

// sortKeyOf is the big-endian value of the key's first 8 bytes (zero
// padded), so that comparing two of them orders keys as strings do, up to
// ties.
func sortKeyOf(key string) uint64 {
	var v uint64
	for i := range 8 {
		v <<= 8
		if i < len(key) {
			v |= uint64(key[i])
		}
	}
	return v
}

// insert adds d to the ascending list p (appending in the common case of a
// new highest id).
func insert(p []uint32, d uint32) []uint32 {
	if n := len(p); n == 0 || p[n-1] < d {
		return append(p, d)
	}
	i, found := slices.BinarySearch(p, d)
	if found {
		return p
	}
	return slices.Insert(p, i, d)
}

// remove deletes d from the ascending list p.
func remove(p []uint32, d uint32) []uint32 {
	i, found := slices.BinarySearch(p, d)
	if !found {
		return p
	}
	return slices.Delete(p, i, i+1)
}
