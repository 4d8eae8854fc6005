package dataset_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
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
		// embeddings only, with a copy's fingerprint, under tags of their
		// own: they join recording 1, and their row carries no fingerprint
		{embeddingsOnly("Bbb", "Revelation (radio)", copied[1][2])},
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
	if n := len(testsupport.Column(t, src, "embedding", "song_key")); n != 1 {
		t.Fatalf("%d embedding rows, want 1", n)
	}
	if k := testsupport.Column(t, src, "embedding", "song_key")[0]; k != songdata.SongKey("Zed", "Revelation") {
		t.Fatalf("the embeddings joined %q, want recording 1's song", k)
	}
	for _, tbl := range []string{"score", "embedding", "songs", "song_fingerprints"} {
		if a, b := tableRows(t, src, tbl), tableRows(t, dst, tbl); !slices.Equal(a, b) {
			t.Errorf("%s rows differ after the round trip (song_key, tags_key):\n%v\n%v", tbl, keyColumns(t, src, tbl), keyColumns(t, dst, tbl))
		}
	}
	if again := dump(t, dst, dataset.JSONL); !bytes.Equal(again, d) {
		t.Errorf("export → import → export differs (%d and %d bytes)", len(d), len(again))
	}
}

// embeddingsOnly is a /contribute song of a musicnn vector and a
// fingerprint, without an analysis.
func embeddingsOnly(artist, title string, p testsupport.Print) map[string]any {
	vec := make([]any, 200)
	for i := range vec {
		vec[i] = float64(i%7) / 8
	}
	return map[string]any{"artist": artist, "title": title, "duration": p.Duration, "fingerprint": p.Fingerprint,
		"embeddings": map[string]any{"musicnn": vec}}
}

// keyColumns are the song keys (and tags keys) of a table's rows, sorted:
// what a failure shows instead of whole rows with their fingerprints.
func keyColumns(t *testing.T, app core.App, tbl string) []string {
	cols := "song_key"
	if tbl == "score" || tbl == "embedding" {
		cols = "song_key || ' / ' || tags_key"
	}
	var out []string
	if err := app.DB().NewQuery("SELECT " + cols + " FROM " + tbl + " ORDER BY 1").Column(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// A dump line's song_key files its row under that song on import; a bad
// one is refused with its reason; the upload validator (/contribute)
// takes a dump line with its song_key but ignores it: a client does not
// pick songs.
func TestImportSongKey(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	lines := strings.Join([]string{
		`{"song_key":"zed|battle","artist":"Aaa","title":"Battle (remaster)","tempo":120,"key":"A","scale":"minor"}`,
		`{"song_key":42,"artist":"A","title":"B","tempo":120,"key":"A","scale":"minor"}`,
		`{"song_key":"no separator","artist":"A","title":"B","tempo":120,"key":"A","scale":"minor"}`,
	}, "\n")
	sum, err := dataset.Import(context.Background(), app, strings.NewReader(lines), dataset.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Imported != 1 || sum.Rejected != 2 || sum.Reasons["song_key: validation_invalid_value"] != 2 {
		t.Errorf("summary %+v, want 1 imported and 2 refused for their song_key", sum)
	}
	if got := keyColumns(t, app, "score"); !slices.Equal(got, []string{"zed|battle / aaa|battle remaster"}) {
		t.Errorf("score rows (song_key / tags_key) %v", got)
	}
	cs, errs := songdata.CheckSongs([]map[string]any{{"song_key": "zed|battle", "artist": "A", "title": "B", "tempo": 120.0, "key": "A", "scale": "minor"}}, "songs.")
	if errs != nil {
		t.Fatalf("the upload validator on a dump line with its song_key: %v", errs)
	}
	if cs[0].Song != "" || cs[0].Score.SongKey != "a|b" {
		t.Errorf("the upload validator on a song_key: song %q, key %q; want it ignored", cs[0].Song, cs[0].Score.SongKey)
	}
}
