package dataset_test

import (
	"bytes"
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/contribute"
	"songcommons/dataset"
	"songcommons/similarity"
	"songcommons/songdata"
	"songcommons/vectors"
)

// The bulk path (the write path: consensus of new songs computed
// from the upload in memory, of known songs read back) leaves exactly the
// songs and song_vectors rows that recomputing every song from the database
// (contribute.RefreshSong) gives: songs spread over several chunks, second
// contributions, vector-only songs spelt several ways in one chunk, and
// outliers included.
func TestBulkStoreMatchesRefreshSong(t *testing.T) {
	t.Parallel()
	var dump bytes.Buffer
	if err := dataset.WriteSynthetic(&dump, 150); err != nil {
		t.Fatal(err)
	}
	// the same songs again, other values: second contributions of each song
	var again bytes.Buffer
	if err := dataset.WriteSynthetic(&again, 60); err != nil {
		t.Fatal(err)
	}
	in := dump.String() + strings.ReplaceAll(again.String(), `"analyzer":"bench/1"`, `"analyzer":"bench/2"`)
	// four vectors each for two songs: three alike and an outlier
	vec := func(i int) string {
		v := make([]float32, 200)
		v[0], v[1+i] = 1, 0.05
		if i == 3 {
			v[0] = -1
		}
		return string(songdata.VectorJSON(v))
	}
	for i, id := range []string{`"artist":"zeta","title":"Only Vectors"`, `"artist":"Zeta","title":"only vectors"`,
		`"artist":"Zeta","title":"Only Vectors!"`, `"artist":"ZETA","title":"Only  vectors"`} {
		in += `{` + id + `,"embeddings":{"musicnn":` + vec(i) + `}}` + "\n"
	}
	for i := range 4 {
		in += `{"artist":"SYNTHETIC ARTIST 0","title":"track 0 of the benchmark","embeddings":{"musicnn":` + vec(i) + "}}\n"
	}

	app := newTestApp(t)
	sim := similarity.New()
	sum, err := dataset.Import(context.Background(), app, strings.NewReader(in), dataset.ImportOptions{Chunk: 37, Sim: sim})
	if err != nil || sum.Rejected != 0 {
		t.Fatalf("%+v %v", sum, err)
	}
	for _, k := range []string{songdata.SongKey("zeta", "only vectors"), songdata.SongKey("Synthetic Artist 0", "Track 0 of the benchmark")} {
		var out int
		if err := app.DB().NewQuery("SELECT outliers FROM songs WHERE song_key = {:k}").Bind(dbx.Params{"k": k}).Row(&out); err != nil || out < 1 {
			t.Errorf("%s: %d outliers (%v), want the outlying vectors counted", k, out, err)
		}
	}
	bulkSongs, bulkVecs := tableRows(t, app, "songs"), songVectors(t, app)
	if len(bulkSongs) != 151 || len(bulkVecs) != 151 {
		t.Fatalf("%d songs rows, %d song_vectors rows, want 151", len(bulkSongs), len(bulkVecs))
	}
	// the index the upload refreshed holds the stored vectors
	for k, v := range bulkVecs {
		got, ok := sim.Index("musicnn").Get(k)
		if !ok || !closeVec(got, v) {
			t.Fatalf("index vector of %s differs from song_vectors", k)
		}
	}

	var keys []string
	if err := app.DB().NewQuery("SELECT song_key FROM songs").Column(&keys); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if err := contribute.RefreshSong(app, k); err != nil {
			t.Fatal(err)
		}
	}
	if got := tableRows(t, app, "songs"); !slices.Equal(got, bulkSongs) {
		t.Errorf("songs rows of the bulk path differ from RefreshSong's")
	}
	for k, v := range songVectors(t, app) {
		if !closeVec(v, bulkVecs[k]) {
			t.Errorf("song_vectors of %s: the bulk path differs from RefreshSong's", k)
		}
	}
	var rowids []int64
	_ = app.DB().NewQuery("SELECT rowid FROM score").Column(&rowids)
	if slices.IsSorted(rowids) && len(rowids) > 2 && rowids[len(rowids)-1] < 1000 {
		t.Error("rowids are not random")
	}
}

func songVectors(t testing.TB, app core.App) map[string][]float32 {
	var rows []struct {
		Model string `db:"model"`
		Key   string `db:"song_key"`
		Vec   []byte `db:"vec"`
	}
	if err := app.DB().NewQuery("SELECT model, song_key, vec FROM song_vectors").All(&rows); err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for _, r := range rows {
		v, err := vectors.DecodeBlob(r.Vec, nil)
		if err != nil || r.Model != "musicnn" {
			t.Fatalf("song_vectors row %s/%s: %v", r.Model, r.Key, err)
		}
		out[r.Key] = v
	}
	return out
}

// closeVec: the same mean, summed in another order, may differ in the
// last bit of a float32.
func closeVec(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-6 {
			return false
		}
	}
	return true
}
