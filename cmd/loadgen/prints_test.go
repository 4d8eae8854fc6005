package main

import (
	mrand "math/rand/v2"
	"testing"

	"songcommons/config"
	"songcommons/internal/synth"
	"songcommons/internal/testsupport"
)

// Songs uploaded with their fingerprints are found by noisy copies of them,
// as the lookup-fp scenario counts it, and never-stored fingerprints are not.
func TestPrintLookupFindsCopies(t *testing.T) {
	t.Parallel()
	app := testsupport.NewApp(t, func(c *config.Config) { c.RateLimits = false })
	defer app.Cleanup()
	srv := testsupport.Serve(t, app)
	const n = 40
	var songs []map[string]any
	for i := range uint64(n) {
		songs = append(songs, synth.MakeSong(i, 0).WithPrint(i).Map(nil))
	}
	code, out := testsupport.Call(t, srv, "POST", "/api/songcommons/contribute", testsupport.Token(t, testsupport.AliceID), map[string]any{"songs": songs})
	if code != 200 || out["accepted"] != float64(n) {
		t.Fatalf("contribute: %d %v", code, out)
	}
	c := &benchConfig{URL: srv.URL, Songs: n, LookupSize: 100, PrintBER: 0.03, PrintTrim: 3, PrintUnknown: 0.2, httpc: newHTTPClient()}
	body, qs := c.printLookupBody(mrand.New(mrand.NewPCG(1, 2)))
	r := c.do("POST", "/api/songcommons/lookup", body, false, true)
	if r.err != nil || r.status != 200 {
		t.Fatalf("lookup: %d %v %.300s", r.status, r.err, r.body)
	}
	var acc printAccuracy
	if err := checkPrintAnswer(r.body, qs, &acc); err != nil {
		t.Fatal(err)
	}
	if acc.Copies == 0 || acc.Unknown == 0 || acc.Right != acc.Copies || acc.False != 0 || acc.UnknownFound != 0 {
		t.Errorf("accuracy %+v", acc)
	}
}
