package main

import (
	"testing"

	"songcommons/config"
	"songcommons/internal/synth"
	"songcommons/internal/testsupport"
)

// A served app takes the generated songs through /api/songcommons/contribute
// as they are, one row per analysis and per vector.
func TestSongsAcceptedByTheServer(t *testing.T) {
	t.Parallel()
	app := testsupport.NewApp(t, func(c *config.Config) { c.RateLimits = false })
	defer app.Cleanup()
	srv := testsupport.Serve(t, app)
	var songs []map[string]any
	for i := range uint64(50) {
		songs = append(songs, synth.MakeSong(i, 0).Map([]string{"musicnn"}))
	}
	code, out := testsupport.Call(t, srv, "POST", "/api/songcommons/contribute", testsupport.Token(t, testsupport.AliceID), map[string]any{"songs": songs})
	if code != 200 || out["accepted"] != float64(50) {
		t.Fatalf("contribute: %d %v", code, out)
	}
	if n, m := testsupport.CountRows(t, app, "score"), testsupport.CountRows(t, app, "embedding"); n != 50 || m != 50 {
		t.Errorf("stored %d score and %d embedding rows, want 50 each", n, m)
	}
}
