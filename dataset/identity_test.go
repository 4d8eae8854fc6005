package dataset_test

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/contribute"
	"songcommons/dataset"
	"songcommons/internal/testsupport"
	"songcommons/songdata"
	"songcommons/songprint"
)

// A dump keeps what fingerprints decided: songs whose copies joined them
// under other tags (the copy's tags sorting first), a recording under
// another's tags, and rows without a fingerprint filed under an alias come
// back into the same songs when the dump is imported into an empty
// database, and export again to the same bytes.
func TestDumpKeepsIdentityByFingerprint(t *testing.T) {
	t.Parallel()
	src := newTestApp(t)
	copied, others := testsupport.Copied(t)
	song := func(artist, title string, p testsupport.Print, tempo float64) map[string]any {
		s := map[string]any{"artist": artist, "title": title, "tempo": tempo, "key": "A", "scale": "minor", "duration": p.Duration}
		if p.Fingerprint != "" {
			s["fingerprint"] = p.Fingerprint
		}
		return s
	}
	uploads := [][]map[string]any{
		{song("Zed", "Battle", copied[0][0], 140)},
		{song("Aaa", "Battle (remaster)", copied[0][3], 70), song("Zed", "Revelation", copied[1][0], 100)},
		// another recording under recording 0's tags; a row without a
		// fingerprint under an alias
		{song("Zed", "Battle", others[0], 90), song("Aaa", "Battle (remaster)", testsupport.Print{Duration: 74}, 141)},
	}
	w := contribute.New(src, nil, nil).WithPrints(songprint.New())
	for _, u := range uploads {
		cs, errs := songdata.CheckSongs(u, "")
		if errs != nil {
			t.Fatal(errs)
		}
		if _, err := w.Upload(cs, ""); err != nil {
			t.Fatal(err)
		}
	}
	srcSongs := testsupport.Column(t, src, "songs", "song_key")
	slices.Sort(srcSongs)
	if len(srcSongs) != 3 {
		t.Fatalf("source songs %v, want 3 (recording 0 with its copy and the aliased row, recording 1, the other recording)", srcSongs)
	}
	d := dump(t, src, dataset.JSONL)

	dst := newTestApp(t)
	sum, err := dataset.Import(context.Background(), dst, bytes.NewReader(d), dataset.ImportOptions{Chunk: 1})
	if err != nil || sum.Rejected != 0 {
		t.Fatalf("import: %+v %v", sum, err)
	}
	dstSongs := testsupport.Column(t, dst, "songs", "song_key")
	slices.Sort(dstSongs)
	if !slices.Equal(srcSongs, dstSongs) {
		t.Errorf("songs after import %v, before %v", dstSongs, srcSongs)
	}
	for _, tbl := range []string{"score", "songs", "song_fingerprints"} {
		if a, b := tableRows(t, src, tbl), tableRows(t, dst, tbl); !slices.Equal(a, b) {
			t.Errorf("%s rows differ after the round trip (song_key, tags_key):\n%v\n%v", tbl, keyColumns(t, src, tbl), keyColumns(t, dst, tbl))
		}
	}
	if again := dump(t, dst, dataset.JSONL); !bytes.Equal(again, d) {
		t.Errorf("export → import → export differs (%d and %d bytes)", len(d), len(again))
	}
}

// keyColumns are the song keys (and tags keys) of a table's rows, sorted:
// what a failure shows instead of whole rows with their fingerprints.
func keyColumns(t *testing.T, app core.App, tbl string) []string {
	cols := "song_key"
	if tbl == "score" {
		cols = "song_key || ' / ' || tags_key"
	}
	var out []string
	if err := app.DB().NewQuery("SELECT " + cols + " FROM " + tbl + " ORDER BY 1").Column(&out); err != nil {
		t.Fatal(err)
	}
	return out
}
