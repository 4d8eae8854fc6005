package testsupport

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Print is one fingerprinted file of the real-audio corpus
// (fingerprint/testdata/corpus.json, made by make_corpus.sh from Debian's
// wesnoth-1.16-music): a recording's variant as fpcalc printed it.
type Print struct {
	Recording   string  `json:"recording"`
	Variant     string  `json:"variant"` // orig, mp3_128, mp3_64_mono, aac, trim3 (3 s cut), quiet6 (6 dB quieter)
	Duration    float64 `json:"duration"`
	Fingerprint string  `json:"fingerprint"`
	Raw         []int64 `json:"raw"`
}

var corpus struct {
	sync.Once
	prints []Print
	err    error
}

// Prints returns the corpus's fingerprints, in file order.
func Prints(tb testing.TB) []Print {
	tb.Helper()
	corpus.Do(func() {
		_, here, _, _ := runtime.Caller(0)
		data, err := os.ReadFile(filepath.Join(filepath.Dir(here), "..", "..", "fingerprint", "testdata", "corpus.json"))
		if err != nil {
			corpus.err = err
			return
		}
		var c struct {
			Items []Print `json:"items"`
		}
		corpus.err = json.Unmarshal(data, &c)
		corpus.prints = c.Items
	})
	if corpus.err != nil {
		tb.Fatalf("fingerprint corpus: %v", corpus.err)
	}
	return corpus.prints
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
