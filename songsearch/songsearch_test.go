package songsearch_test

import (
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/internal/testsupport"
	"songcommons/songsearch"
)

// An index that was never loaded (or is missing) is built from the songs
// table by its first search; refreshes before that leave it alone.
func TestSearchLoadsAMissingIndex(t *testing.T) {
	app := testsupport.NewApp(t)
	defer app.Cleanup()
	score, err := app.FindCollectionByNameOrId("score")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Velvet Harbor", "Northern Dance"} {
		r := newScore(score, name)
		if err := app.Save(r); err != nil {
			t.Fatal(err)
		}
	}
	ix := songsearch.New()
	if err := ix.RefreshKeys(app, []string{"velvet harbor|song"}); err != nil || ix.Len() != 0 {
		t.Fatalf("refresh of an index not loaded: %v, %d songs", err, ix.Len())
	}
	res, err := ix.Search(app, "velv", 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 1 || len(res.Hits) != 1 || ix.Len() != 2 {
		t.Fatalf("first search: %+v, %d songs", res, ix.Len())
	}
	// a song gone from the table leaves the index on refresh
	if _, err := app.DB().NewQuery("DELETE FROM songs WHERE song_key = {:k}").Bind(dbx.Params{"k": res.Hits[0].Key}).Execute(); err != nil {
		t.Fatal(err)
	}
	if err := ix.RefreshKeys(app, []string{res.Hits[0].Key, ""}); err != nil {
		t.Fatal(err)
	}
	if res, _ := ix.Search(app, "velv", 1, 10); res.Total != 0 || ix.Len() != 1 {
		t.Fatalf("after the refresh: %+v, %d songs", res, ix.Len())
	}
}

func newScore(col *core.Collection, artist string) *core.Record {
	r := core.NewRecord(col)
	r.Load(map[string]any{"artist": artist, "title": "Song", "tempo": 100, "key": "A", "scale": "minor"})
	return r
}
