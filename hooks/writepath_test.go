package hooks_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/tests"

	"songcommons/dataset"
	"songcommons/fingerprint"
	"songcommons/internal/testsupport"
	"songcommons/songprint"
)

// Every entry point reaches the tables through the one write path: the
// same songs sent through PocketBase's record API (one create per row),
// /api/batch (the fast path), /api/songcommons/contribute and the import
// command store the same rows in score, embedding, songs, song_vectors
// and song_fingerprints (random ids and rowids aside), a copy of a
// recording under other tags joins it by fingerprint on each, and the
// similarity index holds the same songs.
func TestEntryPointsStoreTheSameRows(t *testing.T) {
	t.Parallel()
	vec := func(n int, seed float64) []float64 {
		v := testVector(n, seed)
		for i := range v {
			v[i] = float64(float32(v[i])) // what a model sends
		}
		return v
	}
	songs := []map[string]any{
		{"artist": "Daft Punk", "title": "One More Time", "tempo": 122.9, "key": "Gb", "scale": "Minor",
			"mood_vector": "house:0.71, electronic:0.55", "energy": 0.61, "other_features": "danceable:0.93,happy:0.4",
			"album": " Discovery ", "duration": 320.4, "mbid": "5B11F4CE-A62D-471E-81FC-A69A8278C7DA", "isrc": "gb-dup-00-00001",
			"analyzer": "audiomuse-ai/0.7", "embeddings": map[string]any{"musicnn": vec(200, 1), "clap": vec(512, 2)}},
		{"artist": "daft punk", "title": "One more time!", "tempo": 61.5, "key": "F#", "scale": "minor",
			"mood_vector": "House:0.6", "embeddings": map[string]any{"musicnn": vec(200, 3)}},
		{"artist": "Air", "title": "La Femme d'Argent", "tempo": 92, "key": "A", "scale": "minor"},
		{"artist": "Only", "title": "Vectors", "embeddings": map[string]any{"clap": vec(512, 4)}},
	}
	// a real recording, then a re-encoded copy of it under other tags
	// (joins it by fingerprint), with and without an embedding
	_, rec := testsupport.Recordings(t)
	orig, aac := rec["battle-epic"][0], rec["battle-epic"][3]
	songs = append(songs,
		map[string]any{"artist": "Wesnoth", "title": "Battle Epic", "tempo": 140, "key": "D", "scale": "minor",
			"duration": orig.Duration, "fingerprint": orig.Fingerprint, "embeddings": map[string]any{"musicnn": vec(200, 5)}},
		map[string]any{"artist": "Wesnoth Orchestra", "title": "Battle (Epic Remaster)", "tempo": 70.2, "key": "D", "scale": "minor",
			"duration": aac.Duration, "fingerprint": aac.Fingerprint})
	for i := range 6 {
		songs = append(songs, map[string]any{"artist": fmt.Sprintf("Artist %d", i%2), "title": fmt.Sprintf("Song %d", i),
			"tempo": 80 + float64(i)*7.5, "key": "C", "scale": "major", "energy": float64(i) / 10,
			"embeddings": map[string]any{"musicnn": vec(200, float64(10+i))}})
	}
	// the rows of the songs as record creates: a score row per analysis,
	// an embedding row per vector
	type create struct {
		collection string
		body       map[string]any
	}
	var creates []create
	for _, s := range songs {
		score, ident := map[string]any{}, map[string]any{}
		for k, v := range s {
			switch k {
			case "embeddings":
			case "artist", "title", "album", "duration", "mbid", "isrc", "analyzer":
				ident[k], score[k] = v, v
			default:
				score[k] = v
			}
		}
		if _, ok := s["tempo"]; ok {
			creates = append(creates, create{"score", score})
		}
		embs, _ := s["embeddings"].(map[string]any)
		for _, m := range []string{"clap", "musicnn"} {
			if v, ok := embs[m]; ok {
				body := map[string]any{"model": m, "embedding": v}
				for k, x := range ident {
					body[k] = x
				}
				creates = append(creates, create{"embedding", body})
			}
		}
	}

	entryPoints := map[string]func(t *testing.T) map[string][]string{
		"record API": func(t *testing.T) map[string][]string {
			app := newTestApp(t)
			defer app.Cleanup()
			srv := serve(t, app)
			for _, c := range creates {
				if code, out := call(t, srv, http.MethodPost, "/api/collections/"+c.collection+"/records", tokenFor(t, aliceID), c.body); code != 200 {
					t.Fatalf("%s create: %d %v", c.collection, code, out)
				}
			}
			return storedRows(t, app, srv)
		},
		"batch": func(t *testing.T) map[string][]string {
			app := newTestApp(t)
			defer app.Cleanup()
			srv := serve(t, app)
			var reqs []map[string]any
			for _, c := range creates {
				reqs = append(reqs, map[string]any{"method": "POST", "url": "/api/collections/" + c.collection + "/records", "body": c.body})
			}
			if code, out := call(t, srv, http.MethodPost, "/api/batch", tokenFor(t, aliceID), map[string]any{"requests": reqs}); code != 200 {
				t.Fatalf("batch: %d %v", code, out)
			}
			return storedRows(t, app, srv)
		},
		"contribute": func(t *testing.T) map[string][]string {
			app := newTestApp(t)
			defer app.Cleanup()
			srv := serve(t, app)
			if code, out := call(t, srv, http.MethodPost, "/api/songcommons/contribute", tokenFor(t, aliceID), map[string]any{"songs": songs}); code != 200 {
				t.Fatalf("contribute: %d %v", code, out)
			}
			return storedRows(t, app, srv)
		},
		"import": func(t *testing.T) map[string][]string {
			app := newTestApp(t)
			defer app.Cleanup()
			var lines strings.Builder
			for _, s := range songs {
				lines.WriteString(jsonString(s) + "\n")
			}
			sum, err := dataset.Import(context.Background(), app, strings.NewReader(lines.String()), dataset.ImportOptions{})
			if err != nil || sum.Rejected != 0 {
				t.Fatalf("import: %+v, %v", sum, err)
			}
			return storedRows(t, app, serve(t, app)) // the server's index is built from the tables
		},
	}
	results := map[string]map[string][]string{}
	for name, run := range entryPoints {
		t.Run(name, func(t *testing.T) { results[name] = run(t) })
	}
	want := results["contribute"]
	if len(want["score"]) != 11 || len(want["embedding"]) != 11 || len(want["songs"]) != 10 || len(want["song_fingerprints"]) != 1 {
		t.Fatalf("contribute stored %d score, %d embedding, %d songs and %d song_fingerprints rows; want 11, 11, 10 (the copy joined its recording) and 1",
			len(want["score"]), len(want["embedding"]), len(want["songs"]), len(want["song_fingerprints"]))
	}
	for name, got := range results {
		for table, rows := range want {
			if strings.Join(got[table], "\n") != strings.Join(rows, "\n") {
				t.Errorf("%s: %s rows differ from /contribute's:\n%s\nwant\n%s", name, table,
					strings.Join(got[table], "\n"), strings.Join(rows, "\n"))
			}
		}
	}
}

// storedRows are the rows of the contributed and derived tables without
// their random ids, and the similarity index's size per model as the
// served app reports it.
func storedRows(t testing.TB, app *tests.TestApp, srv *httptest.Server) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range []string{"score", "embedding", "songs", "song_vectors"} {
		out[table] = testsupport.TableRows(t, app, table, "id")
	}
	out["song_fingerprints"] = testsupport.TableRows(t, app, "song_fingerprints") // its id is a hash of the song key
	// a song's row holds the sketch and duration of its reference
	// fingerprint, the longest of its score rows' (the fingerprint itself
	// is stored there only)
	var prints []struct {
		Key      string  `db:"song_key"`
		Duration float64 `db:"duration"`
		Sketch   []byte  `db:"sketch"`
	}
	if err := app.DB().Select("song_key", "duration", "sketch").From("song_fingerprints").All(&prints); err != nil {
		t.Fatal(err)
	}
	for _, p := range prints {
		var rows []struct {
			Text     string  `db:"fingerprint"`
			Duration float64 `db:"duration"`
		}
		if err := app.DB().Select("fingerprint", "duration").From("score").Where(dbx.HashExp{"song_key": p.Key}).All(&rows); err != nil {
			t.Fatal(err)
		}
		best := songprint.Reference(len(rows), func(i int) string { return rows[i].Text })
		if best < 0 {
			t.Errorf("song_fingerprints of %q: none of its score rows has a fingerprint", p.Key)
			continue
		}
		items, err := fingerprint.DecodeDefault(rows[best].Text)
		if err != nil || !bytes.Equal(songprint.EncodeSketch(fingerprint.SketchOf(items)), p.Sketch) || rows[best].Duration != p.Duration {
			t.Errorf("song_fingerprints of %q: not the sketch and duration of its longest score row's fingerprint (%v)", p.Key, err)
		}
	}
	code, st := call(t, srv, http.MethodGet, "/api/songcommons/status", "", nil)
	if code != 200 {
		t.Fatalf("status: %d", code)
	}
	out["index"] = []string{jsonString(st["indexSongs"])}
	return out
}
