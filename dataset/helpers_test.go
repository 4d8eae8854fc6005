package dataset_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"songcommons/config"
	"songcommons/contribute"
	"songcommons/dataset"
	"songcommons/internal/testsupport"
	_ "songcommons/migrations"
	"songcommons/songdata"
)

// receiptSecret tags the seeded rows, so that tests can check that no
// receipt tag leaves the server.
const receiptSecret = "dataset-test-receipt-secret-0123456789"

// newTestApp is a fresh app (internal/testsupport), cleaned up when the
// test ends.
func newTestApp(t testing.TB, edits ...func(*config.Config)) *tests.TestApp {
	t.Helper()
	app := testsupport.NewApp(t, edits...)
	t.Cleanup(app.Cleanup)
	return app
}

// tableRows lists a table's rows without the columns that differ between
// two copies of the same data (ids, receipts).
func tableRows(t testing.TB, app core.App, table string) []string {
	t.Helper()
	return testsupport.TableRows(t, app, table, "id", "receipt")
}

// seededApp is a test app holding the songs of seedSongs, stored through
// both write paths: the bulk path (the write path, as
// /contribute) and PocketBase records (as the record API and dashboard).
func seededApp(t testing.TB, edits ...func(*config.Config)) *tests.TestApp {
	t.Helper()
	app := newTestApp(t, edits...)
	seed(t, app)
	return app
}

func seed(t testing.TB, app core.App) {
	t.Helper()
	cs, errs := songdata.CheckSongs(seedSongs(), "songs.")
	if errs != nil {
		t.Fatalf("seed songs do not validate: %v", errs)
	}
	if _, err := contribute.New(app, nil, nil).Upload(cs, receiptSecret); err != nil {
		t.Fatal(err)
	}
	for _, rec := range []struct {
		col  string
		data map[string]any
	}{
		{"score", map[string]any{"artist": "Daft Punk", "title": "One More Time", "tempo": 122.9, "key": "f#", "scale": "MINOR",
			"mood_vector": "house:0.71, electronic:0.55", "energy": 0.61, "analyzer": "dashboard"}},
		{"embedding", map[string]any{"artist": "Daft Punk", "title": "One More Time", "embedding": jsonVector(testsupport.VariedVector(200, 7)), "model": ""}},
		{"embedding", map[string]any{"artist": "Only Vectors", "title": "Clap Song", "model": "clap", "embedding": testsupport.VariedVector(512, 8)}},
	} {
		col, err := app.FindCollectionByNameOrId(rec.col)
		if err != nil {
			t.Fatal(err)
		}
		r := core.NewRecord(col)
		r.Load(rec.data)
		if err := app.Save(r); err != nil {
			t.Fatalf("seeding a %s record: %v", rec.col, err)
		}
	}
}

// seedSongs are contributions with every kind of value a dump must carry
// exactly: escapes, commas and quotes, non-ASCII text, U+2028, flats
// (stored as sharps), unknown energy, identifiers, both models, a vector
// sent as a JSON string, extreme float32 values, the same contribution
// twice, several spellings of one song, score-only and vector-only songs.
func seedSongs() []map[string]any {
	songs := []map[string]any{
		{"artist": "Daft Punk", "title": "One More Time", "tempo": 123.0, "key": "F#", "scale": "minor",
			"mood_vector": "house:0.7,electronic:0.5", "energy": 0.6, "other_features": "danceable:0.93,happy:0.4",
			"album": "Discovery", "duration": 320.4, "mbid": "5B11F4CE-A62D-471E-81FC-A69A8278C7DA", "isrc": "gb-dup-00-00001",
			"analyzer": "audiomuse-ai/0.7", "embeddings": map[string]any{"musicnn": testsupport.VariedVector(200, 1), "clap": testsupport.VariedVector(512, 2)}},
		{"artist": "daft punk", "title": "One more time!", "tempo": 61.5, "key": "Gb", "scale": "Minor",
			"mood_vector": "house:0.6", "embeddings": map[string]any{"musicnn": testsupport.VariedVector(200, 3)}},
		{"artist": `Say "Hi", \ Bye`, "title": "Commas, \"quotes\" and <tags> & more", "tempo": 99.99, "key": "Db", "scale": "major",
			"album": "A, B \"C\"", "energy": nil, "other_features": "", "duration": 0.5},
		{"artist": "Beyoncé feat. JAY-Z", "title": "Crazy in Love 🎵", "tempo": 99.0, "key": "D", "scale": "minor",
			"mood_vector": "rnb:0.0000001,pop:1", "energy": 1000.0},
		{"artist": "Line\u2028Separator", "title": "Para\u2029graph", "tempo": 0.001, "key": "B", "scale": "major"},
		{"artist": "Strings", "title": "Legacy vector", "embeddings": map[string]any{"musicnn": jsonVector(testsupport.VariedVector(200, 4))}},
		{"artist": "Extremes", "title": "Floats", "tempo": 400.0, "key": "Cb", "scale": "major",
			"embeddings": map[string]any{"musicnn": extremeVector()}},
	}
	// the same contribution twice: a dump keeps both
	twice := map[string]any{"artist": "Twice", "title": "Same", "tempo": 128.0, "key": "A", "scale": "minor",
		"embeddings": map[string]any{"musicnn": testsupport.VariedVector(200, 5)}}
	songs = append(songs, twice, twice)
	for i := range 20 {
		songs = append(songs, map[string]any{"artist": fmt.Sprintf("Artist %02d", i%6), "title": fmt.Sprintf("Song %02d", i),
			"tempo": 80.0 + float64(i)*3.7, "key": []string{"C", "D#", "G", "A#"}[i%4], "scale": []string{"major", "minor"}[i%2],
			"mood_vector": fmt.Sprintf("rock:%g,pop:%g", float64(i%10)/10, float64(i%7)/7), "energy": float64(i) / 20,
			"embeddings": map[string]any{"musicnn": testsupport.VariedVector(200, float64(10+i))}})
	}
	return songs
}

func extremeVector() []float64 {
	v := testsupport.VariedVector(200, 99)
	v[0], v[1], v[2], v[3] = math.MaxFloat32, -math.SmallestNonzeroFloat32, 1e-38, 3.4e38
	v[4], v[5] = 0, 1.0/3
	return v
}

func jsonVector(v []float64) string {
	parts := make([]string, len(v))
	for i, f := range v {
		parts[i] = fmt.Sprint(f)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// dump exports app to bytes.
func dump(t testing.TB, app core.App, f dataset.Format) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := dataset.Export(context.Background(), app, &b, f, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
