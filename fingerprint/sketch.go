package fingerprint

import (
	"math/bits"
	"slices"
)

// SketchSize is the most terms the index keeps per song.
const SketchSize = 24

// SketchVersion changes whenever SketchOf would give other terms for the
// same fingerprint: a caller that stores sketches (to build the index at
// start-up without reading whole fingerprints) recomputes them then.
const SketchVersion = 1

// termMask keeps the 24 bits of a sub-fingerprint that survive re-encoding
// best. Measured on the corpus (all variants against their original at the
// best alignment), bits 4, 5, 12, 13, 16, 17 (three of Chromaprint's 16
// classifiers, two bits each), 8 and 22 flip 1.4–2.4% of the time, the
// others 0.3–1.3%. Without them an item of the original is found exactly in
// a 3-second-trimmed copy 69% of the time, against 55% for the top 24 bits
// and 45% for AcoustID's top 28.
const termMask = ^uint32(1<<4 | 1<<5 | 1<<8 | 1<<12 | 1<<13 | 1<<16 | 1<<17 | 1<<22)

// term is the index term of sub-fingerprint x: its stable bits, mixed
// (murmur3's finaliser, a bijection) so that the bucket and check bits the
// index takes from it are evenly spread whatever the music.
func term(x uint32) uint32 {
	x &= termMask
	x ^= x >> 16
	x *= 0x85ebca6b
	x ^= x >> 13
	x *= 0xc2b2ae35
	x ^= x >> 16
	return x
}

// sketchEdge is how many items at each end of a fingerprint SketchOf skips
// (10 s, the largest shift Compare tries): a copy trimmed at the start, or
// fingerprinted over a window that ends elsewhere (fpcalc reads the first
// 120 s), still holds the audio of the items it picks.
const sketchEdge = 80

// SketchOf returns the terms the index keeps for a fingerprint: up to
// SketchSize distinct terms, one from each of SketchSize equal windows
// between the edges. In each window it takes the item whose stable bits
// differ least from its neighbours': such items sit where the sound holds
// still, so a copy whose frames fall a fraction of an item later (a trimmed
// copy) still has them. On the corpus, items equal to both neighbours on
// those bits are found exactly in the trimmed copy 99.6% of the time,
// items differing by 4 bits 65%, by 8 bits 34%. Silent items are never
// terms. The result is empty for silence and for fingerprints of under 2
// items.
func SketchOf(fp []uint32) []uint32 {
	n := len(fp)
	edge := min(sketchEdge, n/6)
	lo, hi := edge, n-edge
	out := make([]uint32, 0, SketchSize)
	for k := range SketchSize {
		wlo, whi := lo+k*(hi-lo)/SketchSize, lo+(k+1)*(hi-lo)/SketchSize
		best, bestD := uint32(0), 1<<30
		for i := wlo; i < whi; i++ {
			x := fp[i]
			if x == SilenceItem {
				continue
			}
			d := 32
			if i > 0 && i+1 < n {
				d = bits.OnesCount32((x^fp[i-1])&termMask) + bits.OnesCount32((x^fp[i+1])&termMask)
			}
			if d >= bestD {
				continue
			}
			t := term(x)
			if slices.Contains(out, t) {
				continue
			}
			best, bestD = t, d
		}
		if bestD < 1<<30 {
			out = append(out, best)
		}
	}
	return out
}

// queryShare is the share of a query's items whose terms a lookup takes:
// the stillest ones. A song's sketch holds the stillest item of each of its
// windows, so its copy in the query is among the query's stillest too.
// Each term costs the lookup a bucket scan (two cache misses at 1M songs).
// Measured: with half of it (0.15) every corpus copy is still found
// (BenchmarkCorpusRecall 460/460) and so are all 700 synthetic copies at
// 1M songs; 0.3 keeps that margin and takes a quarter fewer terms than the
// 0.4 used before (CPU per 1,000 lookups 61 → 53 ms).
const queryShare = 0.3

// queryTerms appends to dst the distinct terms of the stillest
// queryShare of fp's non-silent items (by the same measure as SketchOf),
// sorted. d is scratch space.
func queryTerms(dst []uint32, d []uint8, fp []uint32) ([]uint32, []uint8) {
	dst, d = dst[:0], d[:0]
	var hist [66]int
	for i, x := range fp {
		v := 64 // silent: never taken
		if x != SilenceItem {
			v = 32
			if i > 0 && i+1 < len(fp) {
				v = bits.OnesCount32((x^fp[i-1])&termMask) + bits.OnesCount32((x^fp[i+1])&termMask)
			}
		}
		d = append(d, uint8(v))
		hist[v]++
	}
	want := int(queryShare*float64(len(fp))) + 1
	limit, n := 0, 0
	for limit = 0; limit < 64; limit++ {
		if n += hist[limit]; n >= want {
			break
		}
	}
	for i, x := range fp {
		if int(d[i]) <= limit {
			dst = append(dst, term(x))
		}
	}
	slices.Sort(dst)
	return slices.Compact(dst), d
}
