package synth

import (
	"testing"

	"songcommons/fingerprint"
)

// A song's fingerprint is its own, the same every time, decodes to its
// items, and matches no other song's.
func TestPrintOf(t *testing.T) {
	a, b := PrintOf(7), PrintOf(8)
	if a != PrintOf(7) || a == b {
		t.Fatal("fingerprints are not a pure function of the song")
	}
	items, err := fingerprint.DecodeDefault(a)
	if err != nil || len(items) != PrintItems {
		t.Fatalf("decode: %d items, %v", len(items), err)
	}
	if s, ok := fingerprint.DefaultParams().Match(PrintItemsOf(7), 200, PrintItemsOf(8), 200); ok {
		t.Fatalf("songs 7 and 8 match: %+v", s)
	}
	t.Logf("%d items, %d characters", len(items), len(a))
}
