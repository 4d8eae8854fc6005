package hooks_test

import (
	"archive/zip"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"songcommons/config"
	"songcommons/storage"
)

func TestRateLimits(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	srv := serve(t, app)
	var last *http.Response
	for i := range 6 {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/songcommons/privacy-requests",
			strings.NewReader(`{"text":"request number `+string(rune('0'+i))+`"}`))
		req.Header.Set("Content-Type", "application/json")
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if i < 5 && res.StatusCode != 201 {
			t.Fatalf("request %d: %d %s", i, res.StatusCode, body)
		}
		if i == 5 {
			last = res
			if res.StatusCode != 429 || !strings.Contains(string(body), "slow down") {
				t.Fatalf("6th request: %d %s", res.StatusCode, body)
			}
		}
	}
	if last.Header.Get("Retry-After") != "3600" {
		t.Fatalf("Retry-After %q", last.Header.Get("Retry-After"))
	}
	// off for a run when asked (load tests)
	app2 := newTestApp(t, func(c *config.Config) { c.RateLimits = false })
	defer app2.Cleanup()
	srv2 := serve(t, app2)
	for range 7 {
		if code, out := call(t, srv2, http.MethodPost, "/api/songcommons/privacy-requests", "", map[string]any{"text": "x"}); code != 201 {
			t.Fatalf("with rate limits off: %d %v", code, out)
		}
	}
}

// TestBackupRestore: a backup holds the dataset and accounts but not the
// request logs; restoring it (unzip into an empty data dir) gives the
// same dataset.
func TestBackupRestore(t *testing.T) {
	t.Parallel()
	app := catalogApp(t)
	defer app.Cleanup()
	saveLog(t, app, "request", timeNow())
	// deleted rows leave free pages in the live file; the backup is a
	// compacted copy without them (and without a WAL)
	if _, err := app.DB().NewQuery("DELETE FROM embedding WHERE rowid IN (SELECT rowid FROM embedding ORDER BY rowid LIMIT (SELECT COUNT(*) / 2 FROM embedding))").Execute(); err != nil {
		t.Fatal(err)
	}
	if err := storage.Checkpoint(app); err != nil {
		t.Fatal(err)
	}
	var free int
	if err := app.DB().NewQuery("PRAGMA freelist_count").Row(&free); err != nil || free == 0 {
		t.Fatalf("the live data.db should have free pages after the deletes: %d %v", free, err)
	}
	if err := app.CreateBackup(context.Background(), "test_backup.zip"); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(filepath.Join(app.DataDir(), core.LocalBackupsDirName, "test_backup.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	dir := t.TempDir()
	names := map[string]bool{}
	for _, f := range zr.File {
		names[f.Name] = true
		if strings.HasPrefix(f.Name, "auxiliary.db") {
			t.Errorf("the backup holds the request logs (%s)", f.Name)
		}
		if f.FileInfo().IsDir() {
			continue
		}
		rc, _ := f.Open()
		p := filepath.Join(dir, f.Name)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		out, _ := os.Create(p)
		_, _ = io.Copy(out, rc)
		out.Close()
		rc.Close()
	}
	if !names["data.db"] || names["data.db-wal"] || names["data.db-shm"] {
		t.Fatalf("the backup should hold data.db without WAL or shared memory: %v", names)
	}
	restored, err := tests.NewTestAppWithConfig(core.BaseAppConfig{DataDir: dir, EncryptionEnv: "pb_test_env", DBConnect: storage.DBConnect})
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Cleanup()
	for _, tbl := range []string{"score", "embedding", "songs", "users"} {
		if a, b := countRows(t, app, tbl), countRows(t, restored, tbl); a != b || a == 0 {
			t.Errorf("%s: %d rows, restored %d", tbl, a, b)
		}
	}
	if err := restored.DB().NewQuery("PRAGMA freelist_count").Row(&free); err != nil || free != 0 {
		t.Fatalf("the backup's data.db has %d free pages (%v): it is not a compacted copy", free, err)
	}
}

func TestModeration(t *testing.T) {
	t.Parallel()
	app := catalogApp(t)
	defer app.Cleanup()
	score, _ := app.FindCollectionByNameOrId("score")
	for _, k := range []string{"C", "G"} {
		if err := app.Save(newRecord(score, map[string]any{"artist": "Split", "title": "Opinions", "tempo": 100, "key": k, "scale": "major"})); err != nil {
			t.Fatal(err)
		}
	}
	srv := serve(t, app)
	admin, alice := tokenFor(t, superuserID), tokenFor(t, aliceID)

	// the low-agreement view is for superusers
	if code, _ := call(t, srv, http.MethodGet, "/api/collections/songs_low_agreement/records", "", nil); code != 403 {
		t.Fatalf("guest on the moderation view: %d", code)
	}
	code, out := call(t, srv, http.MethodGet, "/api/collections/songs_low_agreement/records", admin, nil)
	if code != 200 || out["totalItems"] != 1.0 || out["items"].([]any)[0].(map[string]any)["song_key"] != "split|opinions" {
		t.Fatalf("moderation view: %d %v", code, out)
	}

	song, err := app.FindFirstRecordByData("songs", "song_key", "daft punk|one more time")
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := call(t, srv, http.MethodDelete, "/api/collections/songs/records/"+song.Id, alice, nil); code != 403 {
		t.Fatalf("a regular user deleted a song: %d", code)
	}
	if code, out := call(t, srv, http.MethodDelete, "/api/collections/songs/records/"+song.Id, admin, nil); code != 204 {
		t.Fatalf("superuser delete: %d %v", code, out)
	}
	for _, tbl := range []string{"score", "embedding", "songs"} {
		var n int
		_ = app.DB().NewQuery("SELECT COUNT(*) FROM " + tbl + " WHERE song_key = 'daft punk|one more time'").Row(&n)
		if n != 0 {
			t.Errorf("%d %s rows left", n, tbl)
		}
	}
	code, out = call(t, srv, http.MethodGet, "/api/songcommons/similar?song="+url.QueryEscape("neighbour 0|song")+"&k=100", "", nil)
	if code != 200 || strings.Contains(jsonString(out), "daft punk") {
		t.Fatalf("the index still has the deleted song: %d %v", code, out)
	}
}
