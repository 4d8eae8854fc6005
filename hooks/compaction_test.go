package hooks_test

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"songcommons/config"
	"songcommons/hooks"
	"songcommons/internal/testsupport"
	"songcommons/storage"
)

// TestMain lets the test binary act as a songcommons server in a child
// process (TestCompactionRestartsTheServer), wired as main.go wires it.
func TestMain(m *testing.M) {
	testsupport.MainOrChild(m, "SONGCOMMONS_COMPACTION_CHILD", runChildServer)
}

// runChildServer is main.go's start-up (FinishCompaction before the
// databases open) plus one test route that runs the nightly job now.
func runChildServer() {
	app := pocketbase.NewWithConfig(pocketbase.Config{DefaultDev: false, DBConnect: storage.DBConnect})
	if err := storage.FinishCompaction(app.DataDir()); err != nil {
		log.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.Quiet, cfg.RateLimits, cfg.DailyQuota, cfg.BackupCron = true, false, 0, ""
	cfg.GitHubClientID, cfg.GitHubClientSecret = "test", "test"
	hooks.Register(app, cfg, nil)
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		se.Router.POST("/test/compact", func(e *core.RequestEvent) error {
			for _, j := range e.App.Cron().Jobs() {
				if j.Id() == "songcommonsCompaction" {
					go j.Run()
					return e.NoContent(http.StatusAccepted)
				}
			}
			return e.NotFoundError("no compaction job", nil)
		})
		return se.Next()
	})
	fmt.Fprintf(os.Stderr, "child pid %d serving\n", os.Getpid())
	if err := app.Start(); err != nil {
		log.Fatal(err)
	}
}

// compactAndRestart runs the nightly compaction with an Exec that stands
// for the new process. When Exec is called (snapshot and marker durable,
// write lock held), during runs; then, as main.go at start-up,
// FinishCompaction swaps the snapshot in and the data dir is opened again.
// The old app stays blocked in Exec, as if replaced, until finish: Exec
// then returns an error and Compact rolls back. finish closes the new app.
func compactAndRestart(t testing.TB, app *tests.TestApp, during func()) (next *core.BaseApp, finish func()) {
	t.Helper()
	swapped, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	c := &storage.Compactor{Exec: func() error {
		close(swapped)
		<-release
		return errors.New("test: the process was not replaced")
	}}
	go func() { done <- c.Compact(app) }()
	select {
	case <-swapped:
	case err := <-done:
		t.Fatalf("Compact returned before the restart: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("no restart within 60 s")
	}
	db := filepath.Join(app.DataDir(), "data.db")
	for _, f := range []string{db + storage.CompactSuffix, db + storage.CompactSuffix + storage.MarkerSuffix} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("at the restart: %v", err)
		}
	}
	if during != nil {
		during()
	}
	if err := storage.FinishCompaction(app.DataDir()); err != nil {
		t.Fatal(err)
	}
	next = openDataDir(t, app.DataDir())
	return next, func() {
		_ = next.ResetBootstrapState()
		close(release)
		if err := <-done; err == nil || !strings.Contains(err.Error(), "not replaced") {
			t.Errorf("Compact after a failed restart: %v", err)
		}
	}
}

func pragmaInt(t testing.TB, db dbx.Builder, q string) int {
	t.Helper()
	var n int
	if err := db.NewQuery(q).Row(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// rowids maps every contributed row's id to its rowid.
func rowids(t testing.TB, db dbx.Builder) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, tbl := range hooks.ContributedCollections {
		var rows []struct {
			ID    string `db:"id"`
			Rowid int64  `db:"r"`
		}
		if err := db.NewQuery("SELECT id, rowid AS r FROM " + tbl).All(&rows); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			out[tbl+"/"+r.ID] = r.Rowid
		}
	}
	return out
}

// TestCompactionKeepsEveryAcknowledgedWrite: a writer saves rows without
// pause while the nightly compaction runs. The snapshot is taken under
// the write lock, and the process is replaced while it is still held: no
// write is acknowledged between the snapshot and the restart, and after
// the swap every acknowledged row is there, rowids and their (random)
// order unchanged, with no free pages and no WAL.
func TestCompactionKeepsEveryAcknowledgedWrite(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	srv := serve(t, app)
	score, err := app.FindCollectionByNameOrId("score")
	if err != nil {
		t.Fatal(err)
	}
	row := func(i int) *core.Record {
		return newRecord(score, map[string]any{"artist": fmt.Sprintf("Compaction Artist %d", i%40),
			"title": fmt.Sprintf("Song %d %s", i, strings.Repeat("x", 200)), "tempo": 60 + i%100, "key": "A", "scale": "minor"})
	}
	var kept []string
	for i := range 600 {
		r := row(i)
		if err := app.Save(r); err != nil {
			t.Fatal(err)
		}
		if i%4 == 0 {
			kept = append(kept, r.Id)
		} else if err := app.Delete(r); err != nil {
			t.Fatal(err)
		}
	}
	code, out := call(t, srv, http.MethodPost, "/api/songcommons/contribute", tokenFor(t, aliceID),
		map[string]any{"songs": contributeSongs(30)})
	if code != 200 {
		t.Fatalf("contribute: %d %v", code, out)
	}
	// embeddings fill overflow pages: deleting them frees whole pages
	var embIDs []string
	if err := app.DB().NewQuery("SELECT id FROM embedding").Column(&embIDs); err != nil {
		t.Fatal(err)
	}
	for _, id := range embIDs[:20] {
		r, err := app.FindRecordById("embedding", id)
		if err != nil {
			t.Fatal(err)
		}
		if err := app.Delete(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := storage.Checkpoint(app); err != nil {
		t.Fatal(err)
	}
	if n := pragmaInt(t, app.DB(), "PRAGMA freelist_count"); n == 0 {
		t.Fatal("no free pages before the compaction: the test would prove nothing")
	}
	before := rowids(t, app.DB())

	// the writer's last commits must be in the WAL at the snapshot (what
	// the test is about): the background checkpointer waits until then
	resume := sync.OnceFunc(storage.PauseCheckpoints(app))
	defer resume()

	// a writer that never pauses; an acknowledgement is a Save that returned
	var (
		mu      sync.Mutex
		acked   []string
		stop    atomic.Bool
		replace atomic.Bool // the old process is gone: what it does no longer counts
		wg      sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1000; !stop.Load(); i++ {
			r := row(i)
			if err := app.Save(r); err == nil && !replace.Load() {
				mu.Lock()
				acked = append(acked, r.Id)
				mu.Unlock()
			}
		}
	}()
	ackedNow := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	for ackedNow() < 20 {
		time.Sleep(5 * time.Millisecond)
	}

	next, finish := compactAndRestart(t, app, func() {
		// the write lock is held: PocketBase's writes wait, other
		// connections cannot write, uploads get 503, reads go on
		n := ackedNow()
		if fi, err := os.Stat(filepath.Join(app.DataDir(), "data.db-wal")); err != nil || fi.Size() == 0 {
			t.Errorf("the last commits should be in the WAL at the snapshot (%v): the test would prove less", err)
		}
		resume()
		other, err := dbx.Open("sqlite", filepath.Join(app.DataDir(), "data.db")+"?_pragma=busy_timeout(200)")
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if _, err := other.NewQuery("CREATE TABLE other_writer (x)").Execute(); err == nil || !strings.Contains(err.Error(), "locked") {
			t.Errorf("another connection could write during the snapshot: %v", err)
		}
		code, _ := call(t, srv, http.MethodPost, "/api/songcommons/contribute", tokenFor(t, aliceID),
			map[string]any{"songs": contributeSongs(1)})
		if code != http.StatusServiceUnavailable {
			t.Errorf("an upload during the compaction: %d, want 503", code)
		}
		if code, out := call(t, srv, http.MethodPost, "/api/songcommons/lookup", "",
			map[string]any{"songs": []any{map[string]any{"artist": "Bulk Artist", "title": "Bulk 001"}}}); code != 200 || out["found"] != 1.0 {
			t.Errorf("a lookup during the compaction: %d %v", code, out)
		}
		time.Sleep(300 * time.Millisecond)
		if m := ackedNow(); m != n {
			t.Errorf("%d writes were acknowledged after the snapshot", m-n)
		}
		replace.Store(true)
	})
	defer wg.Wait() // after finish: the writer is blocked in the "replaced" process until then
	defer finish()
	stop.Store(true)

	mu.Lock()
	ackedRows := slices.Clone(acked)
	mu.Unlock()
	t.Logf("the concurrent writer had %d rows acknowledged", len(ackedRows))
	var have []string
	if err := next.DB().NewQuery("SELECT id FROM score").Column(&have); err != nil {
		t.Fatal(err)
	}
	for _, id := range append(kept, ackedRows...) {
		if !slices.Contains(have, id) {
			t.Fatalf("acknowledged row %s is missing after the compaction", id)
		}
	}
	after := rowids(t, next.DB())
	for k, r := range before {
		if after[k] != r {
			t.Fatalf("%s: rowid %d became %d", k, r, after[k])
		}
	}
	if n := pragmaInt(t, next.DB(), "PRAGMA freelist_count"); n != 0 {
		t.Errorf("%d free pages after the compaction", n)
	}
	var check string
	if err := next.DB().NewQuery("PRAGMA integrity_check").Row(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check: %q %v", check, err)
	}
	var lock int
	if err := next.DB().NewQuery("SELECT COUNT(*) FROM sqlite_master WHERE name LIKE '%compaction%'").Row(&lock); err != nil || lock != 0 {
		t.Errorf("the lock table reached the file (%d, %v)", lock, err)
	}
	dir := app.DataDir()
	for _, f := range []string{"data.db.compact", "data.db.compact.ok"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s is still there: %v", f, err)
		}
	}
	var mode string
	if err := next.DB().NewQuery("PRAGMA journal_mode").Row(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q %v", mode, err)
	}
}

// TestDeletedRowsLeaveNoTrace: with secure_delete, a row deleted by receipt
// or by a moderator is not left readable in the database files, and the
// compaction (snapshot + swap) keeps the data and leaves no WAL.
func TestDeletedRowsLeaveNoTrace(t *testing.T) {
	t.Parallel()
	app := catalogApp(t)
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
	if err := storage.Checkpoint(app); err != nil {
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
	// secure_delete alone (no compaction yet): the freed space is overwritten
	if err := storage.Checkpoint(app); err != nil {
		t.Fatal(err)
	}
	if found := filesContain(t, app.DataDir(), marker); len(found) > 0 {
		t.Fatalf("deleted content still readable after a checkpoint: %v", found)
	}

	// a contribution is acknowledged only once the WAL is empty again
	if code, _ := call(t, srv, http.MethodPost, "/api/collections/score/records", tokenFor(t, aliceID),
		map[string]any{"artist": "Before", "title": "Compaction", "tempo": 100, "key": "C", "scale": "major"}); code != 200 {
		t.Fatal(code)
	}
	if fi, err := os.Stat(filepath.Join(app.DataDir(), "data.db-wal")); err == nil && fi.Size() != 0 {
		t.Fatalf("the WAL holds %d bytes after an acknowledged contribution", fi.Size())
	}

	rowsBefore, songsBefore := countRows(t, app, "score"), countRows(t, app, "songs")
	next, finish := compactAndRestart(t, app, nil)
	defer finish()
	if found := filesContain(t, app.DataDir(), marker); len(found) > 0 {
		t.Fatalf("deleted content still readable in pb_data: %v", found)
	}
	if fi, err := os.Stat(filepath.Join(app.DataDir(), "data.db-wal")); err == nil && fi.Size() != 0 {
		t.Fatalf("the WAL holds %d bytes after compaction", fi.Size())
	}
	if countRows(t, next, "score") != rowsBefore || countRows(t, next, "songs") != songsBefore || songsBefore == 0 {
		t.Fatal("compaction changed the data")
	}
	found := false
	for _, j := range app.Cron().Jobs() {
		found = found || j.Id() == "songcommonsCompaction"
	}
	if !found {
		t.Fatal("no nightly compaction job")
	}
}

// TestCompactionNeedsTheStartupSwap: without an injected Exec, Compact
// restarts the process, which is only safe when this process ran
// FinishCompaction at start-up; otherwise it refuses before touching
// anything. A marker left by a failed attempt is removed at the next run.
func TestCompactionNeedsTheStartupSwap(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	db := filepath.Join(app.DataDir(), "data.db")
	stale := db + storage.CompactSuffix + storage.MarkerSuffix
	if err := os.WriteFile(stale, []byte("stale"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := (&storage.Compactor{}).Compact(app)
	if !errors.Is(err, storage.ErrCompactionSkipped) || !strings.Contains(err.Error(), "FinishCompaction") {
		t.Fatalf("Compact without the start-up swap: %v", err)
	}
	// with an Exec that fails, the snapshot is discarded and the data kept
	n := countRows(t, app, "users")
	err = (&storage.Compactor{Exec: func() error { return errors.New("exec failed") }}).Compact(app)
	if err == nil || !strings.Contains(err.Error(), "exec failed") {
		t.Fatalf("Compact with a failing restart: %v", err)
	}
	for _, f := range []string{stale, db + storage.CompactSuffix} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s is still there after a failed restart: %v", filepath.Base(f), err)
		}
	}
	if countRows(t, app, "users") != n {
		t.Fatal("a failed compaction changed the data")
	}
	// writes go on after a failed attempt (the lock was released)
	r := core.NewRecord(must(app.FindCollectionByNameOrId("users")))
	r.SetRandomPassword()
	if err := app.Save(r); err != nil {
		t.Fatal(err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestFinishCompactionCrashSafety puts a data dir in each state a crash
// can leave the compaction in, and checks what FinishCompaction makes of
// it, twice (a crash during FinishCompaction is a state of the list).
func TestFinishCompactionCrashSafety(t *testing.T) {
	t.Parallel()
	// a data.db whose last commits are still in its WAL, and a snapshot
	// with other content, as real SQLite files
	tmpl := t.TempDir()
	live, err := dbx.Open("sqlite", filepath.Join(tmpl, "live.db")+"?_pragma=journal_mode(WAL)&_pragma=wal_autocheckpoint(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	live.DB().SetMaxOpenConns(1)
	for _, q := range []string{"CREATE TABLE t (v TEXT)", "INSERT INTO t VALUES ('old-1')", "PRAGMA wal_checkpoint(TRUNCATE)",
		"INSERT INTO t VALUES ('old-2 in the WAL')", "VACUUM INTO '" + filepath.Join(tmpl, "other.db") + "'"} {
		if _, err := live.NewQuery(q).Execute(); err != nil {
			t.Fatal(q, err)
		}
	}
	snap, err := dbx.Open("sqlite", filepath.Join(tmpl, "other.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snap.NewQuery("UPDATE t SET v = 'compact'").Execute(); err != nil {
		t.Fatal(err)
	}
	snap.Close()
	files := map[string][]byte{}
	for name, src := range map[string]string{"old": "live.db", "old-wal": "live.db-wal", "old-shm": "live.db-shm", "compact": "other.db"} {
		if files[name], err = os.ReadFile(filepath.Join(tmpl, src)); err != nil {
			t.Fatal(err)
		}
	}
	if len(files["old-wal"]) == 0 {
		t.Fatal("the WAL is empty: the test would prove nothing")
	}
	const (
		old     = "old-1,old-2 in the WAL"
		compact = "compact,compact"
	)
	cases := []struct {
		name  string
		files map[string]string // file in the data dir → content from files
		want  string            // content of data.db afterwards ("" = error expected, nothing changed)
		left  []string          // files left (besides data.db)
	}{
		{"marker and snapshot, old data.db with WAL (crash before the swap)",
			map[string]string{"data.db": "old", "data.db-wal": "old-wal", "data.db-shm": "old-shm", "data.db.compact": "compact", "data.db.compact.ok": ""},
			compact, nil},
		{"marker and snapshot, old WAL removed (crash during the swap)",
			map[string]string{"data.db": "old", "data.db-shm": "old-shm", "data.db.compact": "compact", "data.db.compact.ok": ""},
			compact, nil},
		{"marker and snapshot, no data.db",
			map[string]string{"data.db.compact": "compact", "data.db.compact.ok": ""},
			compact, nil},
		{"marker only: renamed (crash before the marker was removed)",
			map[string]string{"data.db": "compact", "data.db.compact.ok": ""},
			compact, nil},
		{"snapshot without marker (crash during the snapshot)",
			map[string]string{"data.db": "old", "data.db-wal": "old-wal", "data.db-shm": "old-shm", "data.db.compact": "compact"},
			old, []string{"data.db-shm", "data.db-wal"}},
		{"half-written snapshot without marker",
			map[string]string{"data.db": "old", "data.db-wal": "old-wal", "data.db-shm": "old-shm", "data.db.compact": "compact:half"},
			old, []string{"data.db-shm", "data.db-wal"}},
		{"marker with a damaged snapshot: refuse, change nothing",
			map[string]string{"data.db": "old", "data.db-wal": "old-wal", "data.db-shm": "old-shm", "data.db.compact": "compact:half", "data.db.compact.ok": ""},
			"", []string{"data.db-shm", "data.db-wal", "data.db.compact", "data.db.compact.ok"}},
		{"nothing to do",
			map[string]string{"data.db": "old", "data.db-wal": "old-wal", "data.db-shm": "old-shm"},
			old, []string{"data.db-shm", "data.db-wal"}},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d_%s", i, c.name), func(t *testing.T) {
			dir := t.TempDir()
			for f, content := range c.files {
				b := files[strings.TrimSuffix(content, ":half")]
				if strings.HasSuffix(content, ":half") {
					b = b[:len(b)/2+100]
				}
				if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for range 2 {
				err := storage.FinishCompaction(dir)
				if (err != nil) != (c.want == "") {
					t.Fatalf("FinishCompaction: %v", err)
				}
			}
			var left []string
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if e.Name() != "data.db" {
					left = append(left, e.Name())
				}
			}
			if !slices.Equal(left, c.left) {
				t.Errorf("files left: %v, want %v", left, c.left)
			}
			want := c.want
			if want == "" {
				want = old
			}
			db, err := dbx.Open("sqlite", filepath.Join(dir, "data.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var got string
			if err := db.NewQuery("SELECT group_concat(v) FROM (SELECT v FROM t ORDER BY rowid)").Row(&got); err != nil || got != want {
				t.Errorf("data.db holds %q (%v), want %q", got, err, want)
			}
		})
	}
	t.Run("no data dir yet", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "pb_data")
		if err := storage.FinishCompaction(dir); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Fatalf("FinishCompaction created the data dir: %v", err)
		}
	})
}

// syncBuffer collects a child's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestCompactionRestartsTheServer runs a real server process (this test
// binary, see TestMain) with uploads going on, runs the nightly job in it,
// and checks that the process replaced itself, came back on the compacted
// file, and kept every acknowledged upload.
func TestCompactionRestartsTheServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	t.Parallel()
	app := newTestApp(t) // users and migrations
	defer app.Cleanup()
	dir := app.DataDir()
	if err := app.ResetBootstrapState(); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	url := "http://" + addr
	logs := &syncBuffer{}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SONGCOMMONS_COMPACTION_CHILD=serve --dir "+dir+" --http "+addr)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	waitUp := func(what string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case err := <-exited:
				t.Fatalf("the server exited (%v) %s:\n%s", err, what, logs)
			default:
			}
			if res, err := http.Get(url + "/api/songcommons/status"); err == nil {
				res.Body.Close()
				if res.StatusCode == 200 {
					return
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("the server is not up %s:\n%s", what, logs)
	}
	waitUp("at start")

	// uploads without pause; an acknowledgement is a 200 with the ids
	token := tokenFor(t, aliceID)
	var (
		mu              sync.Mutex
		acked           []string
		refused, broken int
		stop            atomic.Bool
		wg              sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load() && i < 5000; i++ {
			songs := contributeSongs(5)
			for j, s := range songs {
				s["title"] = fmt.Sprintf("Restart %d-%d", i, j)
			}
			code, score, _, err := testsupport.Contribute(url, token, songs)
			if err != nil && code == 0 {
				mu.Lock()
				broken++
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
				continue
			}
			mu.Lock()
			if code == 200 && err == nil {
				acked = append(acked, score...)
			} else {
				refused++
			}
			mu.Unlock()
			if code != 200 {
				time.Sleep(10 * time.Millisecond)
			}
		}
	}()
	ackedNow := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	waitAcked := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); ackedNow() < n; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("fewer than %d rows acknowledged:\n%s", n, logs)
			}
		}
	}
	waitAcked(25)
	res, err := http.Post(url+"/test/compact", "application/json", nil)
	if err != nil || res.StatusCode != http.StatusAccepted {
		t.Fatalf("trigger: %v %v", res, err)
	}
	res.Body.Close()
	started := time.Now()
	for !strings.Contains(logs.String(), "compacted data.db swapped in") {
		if time.Since(started) > 60*time.Second {
			t.Fatalf("no restart within 60 s:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	waitUp("after the compaction")
	restarted := time.Since(started)
	n := ackedNow()
	waitAcked(n + 25) // uploads work on the new file
	stop.Store(true)
	wg.Wait()

	pid := fmt.Sprintf("child pid %d serving", cmd.Process.Pid)
	if strings.Count(logs.String(), pid) != 2 {
		t.Fatalf("want the same process to serve twice (%q):\n%s", pid, logs)
	}
	// the old database handles did not survive the exec
	if fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", cmd.Process.Pid)); err == nil {
		for _, fd := range fds {
			if target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", cmd.Process.Pid, fd.Name())); strings.Contains(target, "(deleted)") {
				t.Errorf("the new process holds a deleted file: %s", target)
			}
		}
	}
	for _, f := range []string{"data.db.compact", "data.db.compact.ok"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s is still there: %v", f, err)
		}
	}
	db, err := dbx.Open("sqlite", filepath.Join(dir, "data.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var have []string
	if err := db.NewQuery("SELECT id FROM score").Column(&have); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, id := range acked {
		if !slices.Contains(have, id) {
			t.Fatalf("acknowledged row %s is missing after the restart", id)
		}
	}
	t.Logf("%d rows acknowledged, %d uploads refused (503), %d broken connections; back up %s after the trigger",
		len(acked), refused, broken, restarted.Round(time.Millisecond))
}

// TestCompactionTiming measures the compaction on a real data dir, offline:
//
//	SONGCOMMONS_COMPACTION_DIR=/path/pb_data go test ./hooks -run CompactionTiming -v -timeout 2h
//
// Each run snapshots data.db under the write lock, swaps it in as a
// start-up would, and reports the time to the restart, the swap, and the
// peak RSS of the process (reset before each run). The dir is compacted
// for real.
func TestCompactionTiming(t *testing.T) {
	dir := os.Getenv("SONGCOMMONS_COMPACTION_DIR")
	if dir == "" {
		t.Skip("set SONGCOMMONS_COMPACTION_DIR to a pb_data dir to measure")
	}
	runs := 3
	if n, err := fmt.Sscan(os.Getenv("SONGCOMMONS_COMPACTION_RUNS"), &runs); n != 1 || err != nil {
		runs = 3
	}
	rss := func(field string) int64 {
		b, _ := os.ReadFile("/proc/self/status")
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, field+":") {
				var kb int64
				fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(l, field+":"), "kB")), &kb)
				return kb << 10
			}
		}
		return 0
	}
	for run := range runs {
		_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // reset VmHWM
		app := core.NewBaseApp(core.BaseAppConfig{DataDir: dir, DBConnect: storage.DBConnect})
		if err := app.Bootstrap(); err != nil {
			t.Fatal(err)
		}
		size := func() int64 {
			var n int64
			for _, f := range []string{"data.db", "data.db-wal"} {
				if fi, err := os.Stat(filepath.Join(dir, f)); err == nil {
					n += fi.Size()
				}
			}
			return n
		}
		before, base := size(), rss("VmRSS")
		swapped, release, done := make(chan time.Time), make(chan struct{}), make(chan error, 1)
		c := &storage.Compactor{Exec: func() error { swapped <- time.Now(); <-release; return errors.New("measured") }}
		start := time.Now()
		go func() { done <- c.Compact(app) }()
		var at time.Time
		select {
		case at = <-swapped:
		case err := <-done:
			t.Fatal(err)
		}
		hwm := rss("VmHWM")
		marker, _ := os.ReadFile(filepath.Join(dir, "data.db.compact.ok"))
		s := time.Now()
		if err := storage.FinishCompaction(dir); err != nil {
			t.Fatal(err)
		}
		swap := time.Since(s)
		close(release)
		<-done
		_ = app.ResetBootstrapState()
		t.Logf("run %d: to the restart %s (%s); swap at start-up %s; %d -> %d MiB; process RSS %d MiB before, peak %d MiB",
			run+1, at.Sub(start).Round(time.Millisecond), marker, swap.Round(time.Millisecond), before>>20, size()>>20, base>>20, hwm>>20)
	}
}
