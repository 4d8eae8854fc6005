// Package corpus reads the real-audio fingerprint corpus that tests share
// (fingerprint/testdata/corpus.json, made by make_corpus.sh from Debian's
// wesnoth-1.16-music with ffmpeg and fpcalc): each recording's variants as
// libraries hold them, as fpcalc printed them. It depends on nothing of
// the service, so the fingerprint library's own tests can use it.
package corpus

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"sync"
)

// Item is one fingerprinted file: a variant of a recording.
type Item struct {
	Recording string `json:"recording"`
	// Variant is orig, mp3_128, mp3_64_mono, aac, trim3 (the first 3 s
	// cut) or quiet6 (6 dB quieter); 12 recordings come in all six, the
	// others (different music, for negatives) as orig only.
	Variant     string  `json:"variant"`
	Duration    float64 `json:"duration"`
	Fingerprint string  `json:"fingerprint"` // fpcalc's compressed form
	Raw         []int64 `json:"raw"`         // fpcalc -raw
	RawSigned   []int64 `json:"raw_signed"`  // fpcalc -raw -signed, when recorded
}

var loaded struct {
	sync.Once
	items []Item
	err   error
}

// Load returns the corpus's items, in file order. The caller must not
// change them.
func Load() ([]Item, error) {
	loaded.Do(func() {
		_, here, _, _ := runtime.Caller(0)
		data, err := os.ReadFile(filepath.Join(filepath.Dir(here), "..", "..", "fingerprint", "testdata", "corpus.json"))
		if err != nil {
			loaded.err = err
			return
		}
		var c struct {
			Items []Item `json:"items"`
		}
		loaded.err = json.Unmarshal(data, &c)
		loaded.items = c.Items
	})
	return loaded.items, loaded.err
}
