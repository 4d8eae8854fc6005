package storage_test

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase/dbx"

	"songcommons/internal/testsupport"
	"songcommons/storage"
)

// Contribution writes that overlap form one commit group: one checkpoint
// serves them all, each returns only once the WAL holding their frames
// was emptied, and a write arriving while a group finishes waits for the
// next group.
func TestContributionsShareOneCheckpoint(t *testing.T) {
	t.Parallel()
	app := testsupport.NewApp(t)
	defer app.Cleanup()
	if _, err := app.NonconcurrentDB().NewQuery("CREATE TABLE group_test (v TEXT)").Execute(); err != nil {
		t.Fatal(err)
	}
	j := storage.JournalOf(app)
	before := storage.CommitGroups(j)
	const writers = 4
	var inside, wg sync.WaitGroup
	inside.Add(writers)
	wal := filepath.Join(app.DataDir(), "data.db-wal")
	walAfter := make([]int64, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := j.Contribution(func() error {
				inside.Done()
				inside.Wait() // every writer is in the group before any commits
				_, err := app.NonconcurrentDB().NewQuery("INSERT INTO group_test (v) VALUES ({:v})").Bind(dbx.Params{"v": "row"}).Execute()
				return err
			})
			if err != nil {
				t.Error(err)
			}
			if fi, err := os.Stat(wal); err == nil {
				walAfter[i] = fi.Size()
			}
		}()
	}
	wg.Wait()
	if n := storage.CommitGroups(j) - before; n != 1 {
		t.Fatalf("%d overlapping writes finished %d commit groups, want 1", writers, n)
	}
	for i, n := range walAfter {
		if n != 0 {
			t.Fatalf("writer %d returned with %d bytes in the WAL", i, n)
		}
	}

	// a write that starts while a group is finishing (one member has
	// committed, another still writes) waits for the next group
	bIn, release := make(chan struct{}), make(chan struct{})
	var order []string
	var mu sync.Mutex
	note := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
	wg.Add(3)
	go func() {
		defer wg.Done()
		_ = j.Contribution(func() error { close(bIn); <-release; note("b wrote"); return nil })
	}()
	<-bIn
	go func() {
		defer wg.Done()
		_ = j.Contribution(func() error { note("a wrote"); return nil })
		note("a returned")
	}()
	for !storage.GroupClosing(j) {
		runtime.Gosched()
	}
	go func() {
		defer wg.Done()
		_ = j.Contribution(func() error { note("c wrote"); return nil })
	}()
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	early := slices.Contains(order, "c wrote") || slices.Contains(order, "a returned")
	mu.Unlock()
	if early {
		t.Fatalf("order %v: c wrote, or a returned, while b was still writing", order)
	}
	close(release)
	wg.Wait()
	if i, k := slices.Index(order, "b wrote"), slices.Index(order, "c wrote"); i < 0 || k < i {
		t.Fatalf("order %v: c wrote before b's group finished", order)
	}
}

// ContributionThen runs then after the commit, at the same time as the
// group's checkpoint (a then that waits for the WAL to be emptied sees
// it emptied; run before the checkpoint, it would wait forever), and
// returns only once then has; then does not run after a failed write,
// and a panic in then reaches the caller.
func TestContributionThenOverlapsTheCheckpoint(t *testing.T) {
	t.Parallel()
	app := testsupport.NewApp(t)
	defer app.Cleanup()
	if _, err := app.NonconcurrentDB().NewQuery("CREATE TABLE then_test (v TEXT)").Execute(); err != nil {
		t.Fatal(err)
	}
	j := storage.JournalOf(app)
	wal := filepath.Join(app.DataDir(), "data.db-wal")
	walSize := func() int64 {
		fi, err := os.Stat(wal)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	emptied, thenDone := false, false
	err := j.ContributionThen(func() error {
		_, err := app.NonconcurrentDB().NewQuery("INSERT INTO then_test (v) VALUES ('row')").Execute()
		return err
	}, func() {
		// waits for the checkpoint: only one that runs beside then ends
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if walSize() == 0 {
				emptied = true
				break
			}
		}
		var n int
		if err := app.DB().NewQuery("SELECT count(*) FROM then_test").Row(&n); err != nil || n != 1 {
			t.Errorf("then read %d rows (%v), want the committed 1", n, err)
		}
		thenDone = true
	})
	if err != nil {
		t.Fatal(err)
	}
	if !emptied {
		t.Fatal("the WAL was not emptied while then ran: then held up the checkpoint")
	}
	if !thenDone {
		t.Fatal("ContributionThen returned before then did")
	}

	ran := false
	if err := j.ContributionThen(func() error { return os.ErrInvalid }, func() { ran = true }); err != os.ErrInvalid || ran {
		t.Fatalf("a failed write: error %v, then ran %v; want the write's error and no then", err, ran)
	}

	func() {
		defer func() {
			if p := recover(); p != "then panicked" {
				t.Errorf("recovered %v, want then's panic", p)
			}
		}()
		_ = j.ContributionThen(func() error { return nil }, func() { panic("then panicked") })
		t.Error("a panic in then did not reach the caller")
	}()
	done := make(chan error, 1)
	go func() { done <- j.Contribution(func() error { return nil }) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the write after a panicking then never returned")
	}
}

// A write that panics still leaves its group: the next write is not
// left waiting for it.
func TestContributionPanicLeavesTheGroup(t *testing.T) {
	t.Parallel()
	app := testsupport.NewApp(t)
	defer app.Cleanup()
	j := storage.JournalOf(app)
	func() {
		defer func() { _ = recover() }()
		_ = j.Contribution(func() error { panic("a hook panicked") })
	}()
	done := make(chan error, 1)
	go func() { done <- j.Contribution(func() error { return nil }) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the write after a panicking one never returned")
	}
}
