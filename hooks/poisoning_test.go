package hooks_test

import (
	"net/http"
	"testing"

	"songcommons/songdata"
)

// TestPoisoning: one contributor repeating a song, or an outlying vector,
// does not move a song's consensus.
func TestPoisoning(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	srv := serve(t, app)
	alice := tokenFor(t, aliceID)

	// the same song three times in one request is stored once
	song := map[string]any{"artist": "Spam", "title": "Repeat", "tempo": 200, "key": "C", "scale": "major",
		"embeddings": map[string]any{"musicnn": testVector(200, 5)}}
	code, out := call(t, srv, http.MethodPost, "/api/songcommons/contribute", alice, map[string]any{"songs": []any{song, song, song}})
	if code != 200 || out["accepted"] != 1.0 || out["duplicates"] != 2.0 || len(out["songs"].([]any)) != 3 {
		t.Fatalf("duplicates in one request: %d %v", code, out)
	}
	assertCounts(1, 1)(t, app, nil)

	// identical rows sent again and again (legacy path, several requests) count once
	honest := map[string]any{"artist": "Honest", "title": "Song", "tempo": 120, "key": "A", "scale": "minor"}
	spam := map[string]any{"artist": "Honest", "title": "Song", "tempo": 150, "key": "D", "scale": "major"}
	for _, body := range []map[string]any{honest, {"artist": "Honest", "title": "Song", "tempo": 121, "key": "A", "scale": "minor"}, spam, spam, spam, spam} {
		if code, out := call(t, srv, http.MethodPost, "/api/collections/score/records", alice, body); code != 200 {
			t.Fatalf("create: %d %v", code, out)
		}
	}
	s, err := app.FindFirstRecordByData("songs", "song_key", "honest|song")
	if err != nil {
		t.Fatal(err)
	}
	// 6 rows, 3 distinct analyses: A minor 2 of 3; tempo 120-121 agree, 150 is an outlier
	if s.GetInt("contributions") != 6 || s.GetString("key") != "A" || s.GetFloat("key_agreement") != 0.67 ||
		s.GetFloat("tempo") != 120.5 || s.GetInt("outliers") != 1 {
		t.Fatalf("consensus swayed by repeats: %v", s.PublicExport())
	}

	// a vector far from the others is left out of the song's vector
	base := testVector(200, 7)
	near := func(d float64) []float64 {
		v := append([]float64(nil), base...)
		v[0] += d
		return v
	}
	opposite := make([]float64, 200)
	for i, x := range base {
		opposite[i] = -x
	}
	for _, v := range [][]float64{near(0), near(0.05), near(0.1), opposite} {
		if code, out := call(t, srv, http.MethodPost, "/api/collections/embedding/records", alice,
			map[string]any{"artist": "Vector", "title": "Poison", "embedding": v}); code != 200 {
			t.Fatalf("create: %d %v", code, out)
		}
	}
	code, out = call(t, srv, http.MethodPost, "/api/songcommons/lookup", "", map[string]any{
		"songs": []any{map[string]any{"artist": "Vector", "title": "Poison"}}, "embeddings": []string{"musicnn"}})
	if code != 200 {
		t.Fatal(code, out)
	}
	r := out["results"].([]any)[0].(map[string]any)
	got := r["embeddings"].(map[string]any)["musicnn"].([]any)
	gv := make([]float32, len(got))
	for i, x := range got {
		gv[i] = float32(x.(float64))
	}
	want, _ := songdata.ConsensusVector([][]float32{toF32(near(0)), toF32(near(0.05)), toF32(near(0.1))})
	var d float64
	for i := range gv {
		d += float64(gv[i]) * float64(want[i])
	}
	if d < 0.9999 || r["outliers"] != 1.0 {
		t.Fatalf("the outlier moved the song's vector: cosine to the honest mean %.5f, outliers %v", d, r["outliers"])
	}
}
