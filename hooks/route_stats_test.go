package hooks_test

import (
	"fmt"
	"net/http"
	"testing"
)

// The statistics count a mood once whatever the case of its label, and
// name it as the dataset spells it.
func TestStatsMoodsIgnoreCase(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	srv := serve(t, app)
	var songs []any
	for i, m := range []string{"house:0.9", "House:0.8", "LoFi:0.7", "lofi:0.5", "LoFi:0.6"} {
		songs = append(songs, map[string]any{"artist": "A", "title": fmt.Sprint("T", i), "tempo": 120, "key": "C",
			"scale": "major", "mood_vector": m})
	}
	if code, out := call(t, srv, http.MethodPost, "/api/songcommons/contribute", tokenFor(t, aliceID), map[string]any{"songs": songs}); code != 200 {
		t.Fatalf("contribute: %d %v", code, out)
	}
	code, out := call(t, srv, http.MethodGet, "/api/songcommons/stats", "", nil)
	if code != 200 {
		t.Fatalf("stats: %d %v", code, out)
	}
	got := fmt.Sprint(out["moods"])
	if want := "[map[label:LoFi mean:0.6 songs:3] map[label:House mean:0.85 songs:2]]"; got != want {
		t.Errorf("moods %s, want %s", got, want)
	}
}
