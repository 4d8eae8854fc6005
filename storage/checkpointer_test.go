package storage_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"songcommons/internal/testsupport"
	"songcommons/storage"

	"github.com/pocketbase/dbx"
)

// With the background checkpointer, the writing connection no longer
// checkpoints by itself, and committed pages still reach data.db: the
// goroutine copies them there.
func TestBackgroundCheckpoints(t *testing.T) {
	t.Parallel()
	app := testsupport.NewApp(t)
	defer app.Cleanup()
	stop := storage.StartCheckpointer(app)
	var auto int
	if err := app.NonconcurrentDB().NewQuery("PRAGMA wal_autocheckpoint").Row(&auto); err != nil || auto != 0 {
		t.Fatalf("writer's wal_autocheckpoint = %d (%v), want 0", auto, err)
	}
	dataDB := filepath.Join(app.DataDir(), "data.db")
	size := func() int64 {
		fi, err := os.Stat(dataDB)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	if _, err := app.NonconcurrentDB().NewQuery("CREATE TABLE ckpt_test (v TEXT)").Execute(); err != nil {
		t.Fatal(err)
	}
	blob := strings.Repeat("x", 4000)
	for i := 0; i < 3000; i++ { // ~12 MB through the WAL, in small commits
		if _, err := app.NonconcurrentDB().NewQuery("INSERT INTO ckpt_test (v) VALUES ({:v})").Bind(dbx.Params{"v": blob}).Execute(); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for size() < before+10<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("data.db is %d bytes (%d before): the committed pages were not checkpointed", size(), before)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
}

// A reader holding an old snapshot keeps the WAL from being emptied; the
// checkpointer does not give up (SQLite answers "busy", not an error): once
// the reader is gone, the WAL is emptied.
func TestCheckpointerRetriesWhileBusy(t *testing.T) {
	t.Parallel()
	app := testsupport.NewApp(t)
	defer app.Cleanup()
	stop := storage.StartCheckpointer(app)
	defer stop()
	wal := filepath.Join(app.DataDir(), "data.db-wal")
	walSize := func() int64 {
		fi, err := os.Stat(wal)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	// a reader on a connection of its own, inside a read transaction
	reader, err := storage.DBConnect(filepath.Join(app.DataDir(), "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	tx, err := reader.Begin()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.NewQuery("SELECT COUNT(*) FROM _params").Row(&n); err != nil {
		t.Fatal(err)
	}
	if _, err := app.NonconcurrentDB().NewQuery("CREATE TABLE ckpt_busy (v TEXT)").Execute(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // several rounds of the checkpointer, all busy
	if walSize() == 0 {
		t.Fatal("the WAL was emptied under a reader's old snapshot: the test would prove nothing")
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for walSize() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the WAL still holds %d bytes after the reader left", walSize())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
