package testsupport

import (
	"testing"

	"songcommons/internal/corpus"
)

// Print is one fingerprinted file of the real-audio corpus
// (internal/corpus): a recording's variant as fpcalc printed it.
type Print = corpus.Item

// Prints returns the corpus's fingerprints, in file order.
func Prints(tb testing.TB) []Print {
	tb.Helper()
	items, err := corpus.Load()
	if err != nil {
		tb.Fatalf("fingerprint corpus: %v", err)
	}
	return items
}

// Recordings returns the corpus's recordings in file order, each with its
// variants ("orig" first): 12 recordings come in 6 variants, the others
// (different music, for negatives) as "orig" only.
func Recordings(tb testing.TB) (names []string, variants map[string][]Print) {
	variants = map[string][]Print{}
	for _, p := range Prints(tb) {
		if _, ok := variants[p.Recording]; !ok {
			names = append(names, p.Recording)
		}
		if p.Variant == "orig" {
			variants[p.Recording] = append([]Print{p}, variants[p.Recording]...)
		} else {
			variants[p.Recording] = append(variants[p.Recording], p)
		}
	}
	return names, variants
}

// Copied returns the corpus's recordings that come in all six variants
// (orig first), and those of other music (orig only, longer than a
// minute): recordings to upload and copies of them, and music never
// uploaded.
func Copied(tb testing.TB) (copied [][]Print, others []Print) {
	names, variants := Recordings(tb)
	for _, n := range names {
		switch v := variants[n]; {
		case len(v) == 6:
			copied = append(copied, v)
		case v[0].Duration > 60:
			others = append(others, v[0])
		}
	}
	return copied, others
}
