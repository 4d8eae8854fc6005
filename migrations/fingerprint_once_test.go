package migrations

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/pocketbase/dbx"

	"songcommons/storage"
)

// dropFingerprintCopies rebuilds song_fingerprints without the fp column,
// chunk by chunk, keeping every row whole (ids at both ends of the range
// included) and dropping the old sketch index.
func TestDropFingerprintCopies(t *testing.T) {
	t.Parallel()
	db, err := storage.DBConnect(filepath.Join(t.TempDir(), "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`CREATE TABLE song_fingerprints (id INTEGER PRIMARY KEY, song_key TEXT NOT NULL, duration REAL NOT NULL,
			sketch BLOB NOT NULL, fp BLOB NOT NULL)`,
		"CREATE INDEX idx_song_fingerprints_sketch ON song_fingerprints (duration, sketch)",
	} {
		if _, err := db.NewQuery(q).Execute(); err != nil {
			t.Fatal(err)
		}
	}
	type row struct {
		ID       int64   `db:"id"`
		Key      string  `db:"song_key"`
		Duration float64 `db:"duration"`
		Sketch   []byte  `db:"sketch"`
	}
	var want []row
	for i, id := range []int64{math.MinInt64, -7, 0, 3, 42, 1 << 40, math.MaxInt64} {
		r := row{id, "song " + string(rune('a'+i)), 100 + float64(i), []byte{1, byte(i)}}
		want = append(want, r)
		if _, err := db.Insert("song_fingerprints", dbx.Params{"id": r.ID, "song_key": r.Key, "duration": r.Duration,
			"sketch": r.Sketch, "fp": make([]byte, 2700)}).Execute(); err != nil {
			t.Fatal(err)
		}
	}
	err = db.Transactional(func(tx *dbx.Tx) error { return dropFingerprintCopies(tx, 3) })
	if err != nil {
		t.Fatal(err)
	}
	var got []row
	if err := db.Select("*").From("song_fingerprints").OrderBy("id").All(&got); err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(got, want, func(a, b row) bool {
		return a.ID == b.ID && a.Key == b.Key && a.Duration == b.Duration && string(a.Sketch) == string(b.Sketch)
	}) {
		t.Errorf("rows after the rebuild:\n%+v\nwant\n%+v", got, want)
	}
	var cols []string
	if err := db.NewQuery("SELECT name FROM pragma_table_info('song_fingerprints') ORDER BY cid").Column(&cols); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cols, []string{"id", "song_key", "duration", "sketch"}) {
		t.Errorf("columns %v", cols)
	}
	var others []string
	if err := db.NewQuery("SELECT name FROM sqlite_master WHERE name LIKE '%song_fingerprints%' ORDER BY name").Column(&others); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(others, []string{"song_fingerprints"}) {
		t.Errorf("schema objects %v, want only the table", others)
	}
}
