package songprint_test

import (
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/fingerprint"
	"songcommons/internal/testsupport"
	"songcommons/songprint"
)

// The index is built from song_fingerprints, follows the table through
// RefreshKeys (a row written, replaced or deleted) and answers with song
// keys, comparing in full with the fingerprints of the songs' score rows;
// a sketch of another version is computed again from the stored
// fingerprint.
func TestIndexFollowsTheTable(t *testing.T) {
	t.Parallel()
	app := testsupport.NewApp(t)
	defer app.Cleanup()
	recs, _ := testsupport.Copied(t)
	items := func(p testsupport.Print) []uint32 {
		fp, err := fingerprint.DecodeDefault(p.Fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		return fp
	}
	// put files a contribution with fingerprint p under key, alone (as the
	// write path would after deleting the song's other rows)
	put := func(key string, p testsupport.Print, sketch []byte) {
		fp := items(p)
		if sketch == nil {
			sketch = songprint.EncodeSketch(fingerprint.SketchOf(fp))
		}
		if _, err := app.DB().Delete("score", dbx.HashExp{"song_key": key}).Execute(); err != nil {
			t.Fatal(err)
		}
		if _, err := app.DB().Insert("score", dbx.Params{"id": core.GenerateDefaultRandomId(), "song_key": key,
			"fingerprint": fingerprint.Encode(fp, fingerprint.DefaultAlgorithm), "duration": p.Duration}).Execute(); err != nil {
			t.Fatal(err)
		}
		if _, err := app.DB().NewQuery("INSERT OR REPLACE INTO song_fingerprints (id, song_key, duration, sketch) VALUES ({:id}, {:k}, {:d}, {:s})").
			Bind(dbx.Params{"id": songprint.ID(key), "k": key, "d": p.Duration, "s": sketch}).Execute(); err != nil {
			t.Fatal(err)
		}
	}
	put("a|one", recs[0][0], nil)
	put("b|two", recs[1][0], []byte{99, 1, 2, 3, 4}) // a sketch of another version
	ix := songprint.New()
	if err := ix.Load(app); err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 2 || ix.MemoryBytes() == 0 {
		t.Fatalf("index of %d songs, %d bytes", ix.Len(), ix.MemoryBytes())
	}
	query := func(p testsupport.Print) []songprint.Match {
		ms, err := ix.Lookup(app, []fingerprint.Query{{Fingerprint: items(p), Duration: p.Duration}})
		if err != nil {
			t.Fatal(err)
		}
		return ms[0]
	}
	if ms := query(recs[0][3]); len(ms) != 1 || ms[0].SongKey != "a|one" || ms[0].Score < 0.9 {
		t.Errorf("copy of recording 0: %+v", ms)
	}
	if ms := query(recs[1][4]); len(ms) != 1 || ms[0].SongKey != "b|two" {
		t.Errorf("copy of recording 1 (stored with an old sketch): %+v", ms)
	}

	// recording 2 replaces "a|one"'s fingerprint; "b|two" is deleted
	put("a|one", recs[2][0], nil)
	if _, err := app.DB().NewQuery("DELETE FROM song_fingerprints WHERE song_key = 'b|two'").Execute(); err != nil {
		t.Fatal(err)
	}
	if err := ix.RefreshKeys(app, []string{"a|one", "b|two"}); err != nil {
		t.Fatal(err)
	}
	if ms := query(recs[0][3]); len(ms) != 0 {
		t.Errorf("recording 0 after its song's fingerprint was replaced: %+v", ms)
	}
	if ms := query(recs[2][1]); len(ms) != 1 || ms[0].SongKey != "a|one" {
		t.Errorf("recording 2: %+v", ms)
	}
	if ms := query(recs[1][0]); len(ms) != 0 || ix.Len() != 1 {
		t.Errorf("after the delete: %+v, %d songs", ms, ix.Len())
	}

	// a song new since the load: the index learns its key too
	put("c|three", recs[3][0], nil)
	if err := ix.RefreshKeys(app, []string{"c|three"}); err != nil {
		t.Fatal(err)
	}
	if ms := query(recs[3][2]); len(ms) != 1 || ms[0].SongKey != "c|three" || ix.Len() != 2 {
		t.Errorf("recording 3, added after the load: %+v, %d songs", ms, ix.Len())
	}
}

// IDs are content: the same key gives the same id, never 0 or negative.
func TestIDIsAHashOfTheSongKey(t *testing.T) {
	t.Parallel()
	seen := map[int64]string{}
	for _, k := range []string{"", "a|b", "a|c", "b|a", "daft punk|one more time"} {
		id := songprint.ID(k)
		if id <= 0 || id != songprint.ID(k) {
			t.Errorf("ID(%q) = %d", k, id)
		}
		if o, dup := seen[id]; dup {
			t.Errorf("ID(%q) = ID(%q)", k, o)
		}
		seen[id] = k
	}
}

// A song's reference fingerprint is its longest, the smallest text among
// equals; none without a fingerprint.
func TestReference(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		texts []string
		want  int
	}{
		{nil, -1},
		{[]string{"", ""}, -1},
		{[]string{"", "AQAB"}, 1},
		{[]string{"AQAB", "AQADtN", "AQAC"}, 1},
		{[]string{"AQAC", "AQAB", ""}, 1},
	} {
		if got := songprint.Reference(len(c.texts), func(i int) string { return c.texts[i] }); got != c.want {
			t.Errorf("Reference(%q) = %d, want %d", c.texts, got, c.want)
		}
	}
}
