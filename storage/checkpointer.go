package storage

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// The writing connection never checkpoints inside a commit (that was a
// quarter of an upload's time at 1M songs, BENCHMARKS.md). Instead the
// journal discipline (journal.go) empties the WAL after every contribution
// write and around every account write, and this goroutine empties it
// whenever anything else left frames behind (a checkpoint that readers
// kept from finishing, an admin's write in the dashboard). Durability is
// unchanged: a commit is acknowledged after its WAL frames are synced; a
// checkpoint only copies committed pages into data.db.
const (
	// checkpointEvery is how often the goroutine looks at the WAL.
	checkpointEvery = 200 * time.Millisecond
	// checkpointWarnAfter: a WAL that stays non-empty this long (readers
	// holding an old snapshot) is logged, then every such interval again:
	// until it is emptied, a copy of it groups the commits it holds.
	checkpointWarnAfter = time.Minute
)

// StartCheckpointer turns off the automatic checkpoint of the writing
// connection and empties data.db's WAL from a goroutine whenever it holds
// frames. The returned stop func ends it (after one last attempt). If
// PocketBase reopens the writing connection (idle for minutes), the new
// connection checkpoints by itself again, as SQLite does by default: never
// worse than without the checkpointer.
func StartCheckpointer(app core.App) (stop func()) { return startCheckpointer(app, false) }

// StartBulkCheckpointer is StartCheckpointer for an offline bulk writer
// (import of a dump, whose order is public; no accounts change meanwhile):
// it copies committed pages into data.db with PASSIVE checkpoints once the
// WAL has grown past bulkCheckpointAbove, which never block the writer,
// and empties the WAL when stopped.
func StartBulkCheckpointer(app core.App) (stop func()) { return startCheckpointer(app, true) }

// bulkCheckpointAbove: a smaller WAL is left alone by the bulk checkpointer.
const bulkCheckpointAbove = 4 << 20

func startCheckpointer(app core.App, bulk bool) (stop func()) {
	if _, err := app.NonconcurrentDB().NewQuery("PRAGMA wal_autocheckpoint = 0").Execute(); err != nil {
		app.Logger().Warn("songcommons: background checkpoints off", slog.String("error", err.Error()))
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		var since, warned time.Time // when the WAL was first seen non-empty, last warning
		for {
			select {
			case <-done:
				_ = emptyWAL(app)
				return
			case <-t.C:
			}
			if walSize(app) == 0 {
				since = time.Time{}
				continue
			}
			if !bulk && JournalOf(app).group.active() {
				continue // the uploads in flight empty it when their group ends
			}
			if app.Store().Has(checkpointsPaused) {
				continue
			}
			if bulk {
				if walSize(app) > bulkCheckpointAbove {
					if _, err := app.DB().NewQuery("PRAGMA wal_checkpoint(PASSIVE)").Execute(); err != nil {
						app.Logger().Warn("songcommons: background checkpoint failed", slog.String("error", err.Error()))
					}
				}
				continue
			}
			if since.IsZero() {
				since = time.Now()
			}
			err := emptyWAL(app)
			if err == nil {
				since = time.Time{}
				continue
			}
			if !errors.Is(err, ErrWALBusy) || (time.Since(since) > checkpointWarnAfter && time.Since(warned) > checkpointWarnAfter) {
				warned = time.Now()
				app.Logger().Warn("songcommons: data.db's WAL cannot be emptied (a reader holds an old snapshot?); retrying",
					slog.Duration("nonEmptyFor", time.Since(since).Round(time.Second)), slog.String("error", err.Error()))
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
		})
	}
}

// BindCheckpointer runs the background checkpoints while the server runs.
func BindCheckpointer(app core.App) {
	var mu sync.Mutex
	var stops []func()
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		mu.Lock()
		stops = append(stops, StartCheckpointer(se.App))
		mu.Unlock()
		return se.Next()
	})
	app.OnTerminate().BindFunc(func(e *core.TerminateEvent) error {
		mu.Lock()
		for _, stop := range stops {
			stop()
		}
		stops = nil
		mu.Unlock()
		return e.Next()
	})
}

// checkpointsPaused, while set in the app's store, keeps the background
// checkpointer from running.
const checkpointsPaused = "songcommonsCheckpointsPaused"

// PauseCheckpoints stops the background checkpointer from emptying the
// WAL until resume is called (a test that needs commits to stay in the
// WAL; the journal's own checkpoints still run).
func PauseCheckpoints(app core.App) (resume func()) {
	app.Store().Set(checkpointsPaused, true)
	return func() { app.Store().Remove(checkpointsPaused) }
}
