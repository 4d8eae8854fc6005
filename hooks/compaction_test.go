package hooks_test

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"songcommons/hooks"
)

// TestDeletedRowsLeaveNoTrace: with secure_delete, a row deleted by receipt
// or by a moderator is not left readable in the database files, and the
// compaction (VACUUM + checkpoints) empties the WAL and keeps the data.
func TestDeletedRowsLeaveNoTrace(t *testing.T) {
	t.Parallel()
	app := catalog(t)
	defer app.Cleanup()
	srv := serve(t, app)

	var on int
	if err := app.DB().NewQuery("PRAGMA secure_delete").Row(&on); err != nil || on != 1 {
		t.Fatalf("secure_delete = %d (%v)", on, err)
	}
	const marker = "Zyzzyva Quixotic Marker"
	code, out := call(t, srv, http.MethodPost, "/api/songcommons/contribute", tokenFor(t, aliceID), map[string]any{
		"receipt_secret": "secret-for-the-trace-test-0123",
		"songs": []any{map[string]any{"artist": marker, "title": marker, "tempo": 99, "key": "C", "scale": "major",
			"embeddings": map[string]any{"musicnn": testVector(200, 99)}}}})
	if code != 200 {
		t.Fatalf("contribute: %d %v", code, out)
	}
	if err := hooks.Checkpoint(app); err != nil {
		t.Fatal(err)
	}
	if found := filesContain(t, app.DataDir(), marker); len(found) == 0 {
		t.Fatal("the marker is not in the files before the delete: the test would prove nothing")
	}
	code, out = call(t, srv, http.MethodPost, "/api/songcommons/receipts/delete", "", map[string]any{
		"secret": "secret-for-the-trace-test-0123", "rows": out["receipt"].(map[string]any)["rows"]})
	if code != 200 || out["deleted"] != 2.0 {
		t.Fatalf("delete: %d %v", code, out)
	}
	// secure_delete alone (no VACUUM yet): the freed space is overwritten
	if err := hooks.Checkpoint(app); err != nil {
		t.Fatal(err)
	}
	if found := filesContain(t, app.DataDir(), marker); len(found) > 0 {
		t.Fatalf("deleted content still readable after a checkpoint: %v", found)
	}
	rowsBefore := countRows(t, app, "score")
	c := &hooks.Compactor{}
	if err := c.Compact(app); err != nil {
		t.Fatal(err)
	}
	if found := filesContain(t, app.DataDir(), marker); len(found) > 0 {
		t.Fatalf("deleted content still readable in pb_data: %v", found)
	}
	if fi, err := os.Stat(filepath.Join(app.DataDir(), "data.db-wal")); err == nil && fi.Size() != 0 {
		t.Fatalf("the WAL holds %d bytes after compaction", fi.Size())
	}
	if countRows(t, app, "score") != rowsBefore || countRows(t, app, "songs") == 0 {
		t.Fatal("compaction changed the data")
	}

	// the 15-minute checkpoint job empties the WAL too
	if code, _ := call(t, srv, http.MethodPost, "/api/collections/score/records", tokenFor(t, aliceID),
		map[string]any{"artist": "After", "title": "Compaction", "tempo": 100, "key": "C", "scale": "major"}); code != 200 {
		t.Fatal(code)
	}
	if fi, err := os.Stat(filepath.Join(app.DataDir(), "data.db-wal")); err != nil || fi.Size() == 0 {
		t.Fatal("the WAL should hold the new row before the checkpoint")
	}
	runJob(t, app, "songcommonsCheckpoint")
	if fi, err := os.Stat(filepath.Join(app.DataDir(), "data.db-wal")); err == nil && fi.Size() != 0 {
		t.Fatalf("the WAL holds %d bytes after the checkpoint job", fi.Size())
	}
	found := false
	for _, j := range app.Cron().Jobs() {
		found = found || j.Id() == "songcommonsCompaction"
	}
	if !found {
		t.Fatal("no nightly compaction job")
	}
}
