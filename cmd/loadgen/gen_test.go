package main

import (
	"testing"

	"songcommons/config"
	"songcommons/internal/testsupport"
	"songcommons/songdata"
)

// The synthetic songs must have distinct song keys (the benchmarks count
// on one songs row per seeded song) and pass the service's validation.
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

// A served app takes the generated songs through /api/songcommons/contribute
// as they are, one row per analysis and per vector.
func TestSongsAcceptedByTheServer(t *testing.T) {
	t.Parallel()
	app := testsupport.NewApp(t, func(c *config.Config) { c.RateLimits = false })
	defer app.Cleanup()
	srv := testsupport.Serve(t, app)
	var songs []map[string]any
	for i := range uint64(50) {
		songs = append(songs, MakeSong(i, 0).Map([]string{"musicnn"}))
	}
	code, out := testsupport.Call(t, srv, "POST", "/api/songcommons/contribute", testsupport.Token(t, testsupport.AliceID), map[string]any{"songs": songs})
	if code != 200 || out["accepted"] != float64(50) {
		t.Fatalf("contribute: %d %v", code, out)
	}
	if n, m := testsupport.CountRows(t, app, "score"), testsupport.CountRows(t, app, "embedding"); n != 50 || m != 50 {
		t.Errorf("stored %d score and %d embedding rows, want 50 each", n, m)
	}
}
