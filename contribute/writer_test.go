package contribute_test

import (
	"fmt"
	"slices"
	"testing"

	"songcommons/contribute"
	"songcommons/internal/testsupport"
	"songcommons/songdata"
)

func songs(t *testing.T, n int, artist string) []songdata.Contribution {
	t.Helper()
	var raw []map[string]any
	for i := range n {
		raw = append(raw, map[string]any{"artist": artist, "title": fmt.Sprintf("Song %03d", i), "tempo": 100.0 + float64(i),
			"key": "C", "scale": "major", "embeddings": map[string]any{"musicnn": testsupport.Vector(200, float64(i+1))}})
	}
	cs, errs := songdata.CheckSongs(raw, "songs.")
	if errs != nil {
		t.Fatal(errs)
	}
	return cs
}

// An upload's rows take random rowids and carry receipt tags that only the
// secret matches; an import's rows take SQLite's next rowids in input
// order, without tags. Deleting by receipt deletes exactly the rows whose
// tag matches, and the songs table follows.
func TestUploadImportAndReceipts(t *testing.T) {
	t.Parallel()
	app := testsupport.NewApp(t)
	defer app.Cleanup()
	w := contribute.New(app, nil, nil)
	secret := "writer-test-receipt-secret-0123456789"

	ids, err := w.Upload(songs(t, 40, "Uploaded"), secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Import(songs(t, 40, "Imported")); err != nil {
		t.Fatal(err)
	}
	order := func(artist string) []int64 {
		var out []int64
		if err := app.DB().NewQuery("SELECT rowid FROM score WHERE artist = {:a} ORDER BY title").
			Bind(map[string]any{"a": artist}).Column(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if up := order("Uploaded"); slices.IsSorted(up) || up[0] < 1<<32 {
		t.Errorf("uploaded rows sit in upload order, or at small rowids: %v", up[:5])
	}
	if im := order("Imported"); !slices.IsSorted(im) {
		t.Errorf("imported rows are not in input order: %v", im[:5])
	}
	for _, id := range ids.Score {
		r, err := app.FindRecordById("score", id)
		if err != nil {
			t.Fatal(err)
		}
		if r.GetString("receipt") != contribute.ReceiptTag(secret, "score", id) {
			t.Fatalf("row %s: receipt tag %q", id, r.GetString("receipt"))
		}
	}

	rows := contribute.ReceiptOf(ids).Rows
	other := append([]contribute.ReceiptRow{}, rows[:3]...)
	if n, err := w.DeleteByReceipt("another-secret-of-the-same-length-01", other); err != nil || n != 0 {
		t.Fatalf("a wrong secret deleted %d rows (%v)", n, err)
	}
	if n, err := w.DeleteByReceipt(secret, rows); err != nil || n != 80 {
		t.Fatalf("the receipt deleted %d rows, want 80 (%v)", n, err)
	}
	if n := testsupport.CountRows(t, app, "score"); n != 40 {
		t.Errorf("%d score rows left, want the 40 imported", n)
	}
	if n := testsupport.CountRows(t, app, "songs"); n != 40 {
		t.Errorf("%d songs left, want the 40 imported", n)
	}
}
