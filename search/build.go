package search

import (
	"fmt"
	"iter"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// Build makes an index of a stream of songs (the songs table at start-up).
// A key seen twice keeps its last song. The songs are read on the caller's
// goroutine, their names folded on all cores, and the posting lists laid
// out at the end in one pass, each at its exact length.
func Build(songs iter.Seq[Song]) (*Index, error) {
	const batchLen = 512
	work := make(chan *batch)
	ordered := make(chan *batch, 4*runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for b := range work {
				b.terms = make([][]string, len(b.songs))
				for i := range b.songs {
					b.terms[i] = songTerms(&b.songs[i], nil)
				}
				close(b.done)
			}
		})
	}
	built := make(chan *Index)
	go func() { built <- assemble(ordered) }()

	var err error
	b := &batch{done: make(chan struct{})}
	flush := func() {
		ordered <- b
		work <- b
		b = &batch{done: make(chan struct{})}
	}
	for s := range songs {
		if s.Key == "" {
			err = fmt.Errorf("%w (%q / %q)", ErrNoKey, s.Artist, s.Title)
			break
		}
		b.songs = append(b.songs, s)
		if len(b.songs) == batchLen {
			flush()
		}
	}
	if len(b.songs) > 0 {
		flush()
	}
	close(work)
	close(ordered)
	ix := <-built
	wg.Wait()
	if err != nil {
		return nil, err
	}
	return ix, nil
}

// batch is a run of songs and their terms, folded by a worker.
type batch struct {
	songs []Song
	terms [][]string
	done  chan struct{} // closed when terms is set
}

// assemble numbers the songs of the batches in order and lays out the index.
func assemble(ordered <-chan *batch) *Index {
	ix := New()
	counts := []uint32{} // term id → postings
	var ids []uint32
	for b := range ordered {
		<-b.done
		for i, s := range b.songs {
			if d, dup := ix.docID[s.Key]; dup {
				for _, t := range ix.fwd[ix.fwdOff[d]:][:ix.fwdLen[d]] {
					counts[t]--
				}
				ix.garbage += int(ix.fwdLen[d])
				ix.fwdLen[d] = 0
				delete(ix.docID, s.Key)
				ix.free = append(ix.free, d) // taken again just below
			}
			terms := b.terms[i]
			if len(terms) > maxTerms {
				terms = terms[:maxTerms]
			}
			ids = ids[:0]
			for _, t := range terms {
				id, ok := ix.termID[t]
				if !ok {
					t = strings.Clone(t)
					id = uint32(len(ix.terms))
					ix.terms = append(ix.terms, t)
					ix.termID[t] = id
					counts = append(counts, 0)
				}
				counts[id]++
				ids = append(ids, id)
			}
			slices.Sort(ids)
			d := ix.newDoc(s.Key)
			ix.contrib[d] = clampContrib(s.Contributions)
			ix.fwdOff[d], ix.fwdLen[d] = uint32(len(ix.fwd)), uint16(len(ids))
			ix.fwd = append(ix.fwd, ids...)
		}
	}
	if ix.garbage > 0 {
		ix.compactFwd()
	}
	ix.fwd = slices.Clip(ix.fwd)
	// posting lists: one allocation, each list at its exact length (an
	// append later moves that list alone), filled in doc order
	var sum int
	for _, c := range counts {
		sum += int(c)
	}
	all := make([]uint32, sum)
	ix.post = make([][]uint32, len(ix.terms))
	off := 0
	for t, c := range counts {
		ix.post[t] = all[off : off : off+int(c)]
		off += int(c)
	}
	for d := range ix.keys {
		for _, t := range ix.fwd[ix.fwdOff[d]:][:ix.fwdLen[d]] {
			ix.post[t] = append(ix.post[t], uint32(d))
		}
	}
	ix.recent = make([]uint32, len(ix.terms))
	for i := range ix.recent {
		ix.recent[i] = uint32(i)
	}
	ix.sortTerms()
	ix.recent = nil
	return ix
}
