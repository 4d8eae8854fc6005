package fingerprint

import (
	"encoding/base64"
	"sync"
	"testing"

	"songcommons/internal/corpus"
)

// corpusItem is one fingerprinted file of testdata/corpus.json (built by
// testdata/make_corpus.sh from real recordings), decoded.
type corpusItem struct {
	corpus.Item
	items []uint32 // decoded Fingerprint
}

var corpusOnce struct {
	sync.Once
	items []corpusItem
	err   error
}

// loadCorpus returns the corpus with every fingerprint decoded.
func loadCorpus(tb testing.TB) []corpusItem {
	tb.Helper()
	corpusOnce.Do(func() {
		all, err := corpus.Load()
		if err != nil {
			corpusOnce.err = err
			return
		}
		items := make([]corpusItem, len(all))
		for i, it := range all {
			items[i].Item = it
			if items[i].items, err = DecodeDefault(it.Fingerprint); err != nil {
				corpusOnce.err = err
				return
			}
		}
		corpusOnce.items = items
	})
	if corpusOnce.err != nil {
		tb.Fatalf("corpus: %v", corpusOnce.err)
	}
	return corpusOnce.items
}

func TestCorpusDecodesAsFpcalcPrinted(t *testing.T) {
	t.Parallel()
	c := loadCorpus(t)
	if len(c) < 60 {
		t.Fatalf("corpus has %d items", len(c))
	}
	signed := 0
	var dec Decoder // reused across fingerprints of different lengths
	for _, it := range c {
		bin, _ := base64.RawURLEncoding.DecodeString(it.Fingerprint)
		if _, got, err := dec.DecodeBytes(bin); err != nil || !equalItems(got, it.items) {
			t.Fatalf("%s/%s: Decoder differs from Decode: %v", it.Recording, it.Variant, err)
		}
		raw, err := FromRaw(it.Raw)
		if err != nil {
			t.Fatalf("%s/%s raw: %v", it.Recording, it.Variant, err)
		}
		if !equalItems(raw, it.items) {
			t.Fatalf("%s/%s: compressed and raw forms differ (%d vs %d items)", it.Recording, it.Variant, len(it.items), len(raw))
		}
		if it.RawSigned != nil {
			s, err := FromRaw(it.RawSigned)
			if err != nil || !equalItems(s, it.items) {
				t.Fatalf("%s/%s: signed raw form differs: %v", it.Recording, it.Variant, err)
			}
			signed++
		}
		if got := Encode(it.items, DefaultAlgorithm); got != it.Fingerprint {
			t.Fatalf("%s/%s: Encode differs from fpcalc's output", it.Recording, it.Variant)
		}
	}
	if signed == 0 {
		t.Fatal("no signed raw fingerprints in the corpus")
	}
}

func equalItems(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
