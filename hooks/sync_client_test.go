package hooks_test

import (
	"fmt"
	"net/http"
	"testing"
)

// TestSyncLibrary is a sync client end to end: a 2,000-song library, of
// which the community already has 700 (other spellings included), looks
// itself up 1,000 songs at a time, uploads what is missing 500 songs at a
// time, and finds everything on a second lookup.
func TestSyncLibrary(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	srv := serve(t, app)
	alice, bob := tokenFor(t, aliceID), tokenFor(t, bobID)

	type track struct{ artist, title string }
	library := make([]track, 2000)
	for i := range library {
		library[i] = track{fmt.Sprintf("Artist %03d", i/10), fmt.Sprintf("Title %04d", i)}
	}
	song := func(tr track, i int) map[string]any {
		return map[string]any{"artist": tr.artist, "title": tr.title, "tempo": 80 + float64(i%100), "key": "G", "scale": "major",
			"mood_vector": "pop:0.4", "energy": 0.2, "embeddings": map[string]any{"musicnn": testVector(200, float64(i))}}
	}
	// bob contributed 700 of them earlier, spelled in upper case
	var known []any
	for i := 0; i < 1400; i += 2 {
		s := song(library[i], i)
		s["artist"] = fmt.Sprintf("ARTIST %03d", i/10)
		known = append(known, s)
	}
	for i := 0; i < len(known); i += 500 {
		if code, out := call(t, srv, http.MethodPost, "/api/songcommons/contribute", bob, map[string]any{"songs": known[i:min(i+500, len(known))]}); code != 200 {
			t.Fatalf("seed: %d %v", code, out)
		}
	}

	lookup := func() (missing []int) {
		for off := 0; off < len(library); off += 1000 {
			var q []any
			for _, tr := range library[off : off+1000] {
				q = append(q, map[string]any{"artist": tr.artist, "title": tr.title})
			}
			code, out := call(t, srv, http.MethodPost, "/api/songcommons/lookup", alice, map[string]any{"songs": q, "embeddings": []string{"musicnn"}})
			if code != 200 {
				t.Fatalf("lookup: %d %v", code, out)
			}
			for i, r := range out["results"].([]any) {
				res := r.(map[string]any)
				if res["found"] != true {
					missing = append(missing, off+i)
					continue
				}
				if res["embeddings"].(map[string]any)["musicnn"] == nil || res["tempo"] == nil {
					t.Fatalf("found song %d without analysis: %v", off+i, res)
				}
			}
		}
		return missing
	}
	missing := lookup()
	if len(missing) != 1300 {
		t.Fatalf("%d missing, want 1300", len(missing))
	}
	for i := 0; i < len(missing); i += 500 {
		var up []any
		for _, j := range missing[i:min(i+500, len(missing))] {
			up = append(up, song(library[j], j))
		}
		if code, out := call(t, srv, http.MethodPost, "/api/songcommons/contribute", alice, map[string]any{"songs": up}); code != 200 {
			t.Fatalf("upload: %d %v", code, out)
		}
	}
	if again := lookup(); len(again) != 0 {
		t.Fatalf("%d songs still missing after the upload", len(again))
	}
	if n := countRows(t, app, "songs"); n != 2000 {
		t.Fatalf("%d songs, want 2000", n)
	}
}
