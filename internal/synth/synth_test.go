package synth

import (
	"testing"

	"songcommons/songdata"
)

// The synthetic songs have distinct song keys (the benchmarks count on
// one songs row per seeded song) and pass the service's validation.
func TestSongKeysUnique(t *testing.T) {
	n := uint64(200_000)
	if testing.Short() {
		n = 20_000
	}
	seen := make(map[string]uint64, n+1000)
	check := func(i uint64) {
		k := SongKeyOf(i)
		if j, dup := seen[k]; dup {
			a1, t1 := SongID(i)
			a2, t2 := SongID(j)
			t.Fatalf("songs %d and %d share the key %q (%q/%q, %q/%q)", i, j, k, a1, t1, a2, t2)
		}
		seen[k] = i
	}
	for i := range n {
		check(i)
	}
	base := NextNew(1000)
	for i := range uint64(1000) {
		check(base + i)
	}
}

func TestSongsValid(t *testing.T) {
	var raw []map[string]any
	for i := range uint64(2000) {
		raw = append(raw, MakeSong(i, int(i%3)).Map([]string{"musicnn", "clap"}))
	}
	if _, errs := songdata.CheckSongs(raw, "songs."); errs != nil {
		t.Fatal(errs)
	}
}

// Album is the album MakeSong makes.
func TestAlbum(t *testing.T) {
	t.Parallel()
	for i := range uint64(2000) {
		if a, want := Album(i*7919), MakeSong(i*7919, 0).Album; a != want {
			t.Fatalf("Album(%d) = %q, MakeSong has %q", i*7919, a, want)
		}
	}
}

// The names of a few songs, as benchmarks measured on them: the
// generator must not change them (BENCHMARKS.md figures name seeded songs
// by index).
func TestNames(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		i                    uint64
		artist, title, album string
	}{
		{0, "The Velvet Harbor", "Paris Circus Pt. II", "Detroit Satellites"},
		{1, "The Velvet Harbor", "Satellite Groove", "Holy Elephants"},
		{7, "The Velvet Harbor", "Stolen Heart (Acoustic)", "Heavy Rockets"},
		{8, "Ana Almeida", "Neon Ghost", "Tokyo Comets"},
		{1000, "Freya Almeida", "Bright Storm", ""},
		{123457, "The Paper Tigers", "Atlantic Garden", "Always Thieves"},
		{999999, "Zara & the Monks 9", "Morning Road (Remastered 2011)", ""},
		{100000000, "The Ancient Giants 676", "Always Tears", "Lazy Horses"},
	} {
		artist, title := SongID(c.i)
		if album := Album(c.i); artist != c.artist || title != c.title || album != c.album {
			t.Errorf("song %d: %q / %q / %q, want %q / %q / %q", c.i, artist, title, album, c.artist, c.title, c.album)
		}
		if s := MakeSong(c.i, 0); s.Artist != c.artist || s.Title != c.title || s.Album != c.album {
			t.Errorf("MakeSong(%d, 0): %q / %q / %q", c.i, s.Artist, s.Title, s.Album)
		}
	}
}
