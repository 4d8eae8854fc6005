package fingerprint_test

import (
	"fmt"

	"songcommons/fingerprint"
)

// A fingerprint as fpcalc prints it decodes to its sub-fingerprints; a
// bad one gives an error that says what is wrong.
func ExampleDecodeDefault() {
	items, err := fingerprint.DecodeDefault("AQAAEwkjrUmSJQpUHflR9mjSJMdZpcO_Imdw9dCO9Clu4_wQPvhCB01w6xAtXNcAp5RASgDBhDSCGGIAcwA")
	fmt.Println(len(items), items[0], err)

	_, err = fingerprint.DecodeDefault("AQAAEwkjrUmSJQpUHflR9mjSJMdZ")
	fmt.Println(err)
	// Output:
	// 19 3707512163 <nil>
	// fingerprint is truncated: the normal bits end after 5 of 19 sub-fingerprints
}

// An index keeps a few terms per song and reads full fingerprints through
// a Store when it compares candidates.
func ExampleIndex() {
	song := make([]uint32, 900) // a fingerprint: 900 items, ~111 s
	x := uint32(0x9e3779b9)
	for i := range song {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		song[i] = x
	}
	store := fingerprint.NewMemStore()
	store.Put(42, song)
	ix := fingerprint.New(store, fingerprint.Options{ExpectedSongs: 1000})
	if err := ix.Add(42, song, 111.4); err != nil {
		panic(err)
	}

	copyOf := append([]uint32(nil), song[24:]...) // the same audio, first 3 s trimmed
	copyOf[100] ^= 0xff                           // and a few bits changed
	matches, err := ix.Lookup(copyOf, 108.4)
	if err != nil {
		panic(err)
	}
	for _, m := range matches {
		fmt.Printf("song %d: %.1f%% of bits agree over %.0f s, the copy starts %.1f s in\n",
			m.ID, 100*m.Score, m.Overlap, m.Offset)
	}
	// Output:
	// song 42: 100.0% of bits agree over 108 s, the copy starts 3.0 s in
}
