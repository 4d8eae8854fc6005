package hooks

import (
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// Checkpoints of data.db's WAL run in the background, on another
// connection (and so on another core), instead of inside the commit of
// whichever write filled the WAL: at 1M songs that checkpoint was a quarter
// of an upload's time on the single writer (BENCHMARKS.md). Durability is
// unchanged: a commit is acknowledged after its WAL frames are synced, as
// before; a checkpoint only copies committed pages into data.db.
const (
	checkpointEvery = 200 * time.Millisecond
	// checkpointAbove: a WAL file smaller than this is left alone (SQLite's
	// own threshold is 1,000 pages). Once grown, the file keeps its size
	// (up to journal_size_limit) until the 15-minute TRUNCATE empties it,
	// so this mostly spares an idle server the checkpoint calls.
	checkpointAbove = 4 << 20
	// checkpointForceAbove: a WAL that passive checkpoints cannot shrink
	// (long readers, a writer that never pauses) is reset with a TRUNCATE
	// checkpoint, which waits for the writer like SQLite's own would.
	checkpointForceAbove = 512 << 20
)

// StartCheckpointer turns off the automatic checkpoint of the writing
// connection and checkpoints data.db from a goroutine instead. The returned
// stop func ends it (after one last passive checkpoint). If PocketBase
// reopens the writing connection (idle for minutes), the new connection
// checkpoints by itself again, as SQLite does by default: never worse than
// without the checkpointer.
func StartCheckpointer(app core.App) (stop func()) {
	if _, err := app.NonconcurrentDB().NewQuery("PRAGMA wal_autocheckpoint = 0").Execute(); err != nil {
		app.Logger().Warn("songcommons: background checkpoints off", slog.String("error", err.Error()))
		return func() {}
	}
	wal := filepath.Join(app.DataDir(), "data.db-wal")
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				_, _ = app.DB().NewQuery("PRAGMA wal_checkpoint(PASSIVE)").Execute()
				return
			case <-t.C:
			}
			fi, err := os.Stat(wal)
			if err != nil || fi.Size() < checkpointAbove {
				continue
			}
			mode := "PASSIVE"
			if fi.Size() > checkpointForceAbove {
				mode = "TRUNCATE"
			}
			if _, err := app.DB().NewQuery("PRAGMA wal_checkpoint(" + mode + ")").Execute(); err != nil {
				app.Logger().Warn("songcommons: background checkpoint failed", slog.String("mode", mode), slog.String("error", err.Error()))
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

// bindCheckpointer runs the background checkpoints while the server runs.
func bindCheckpointer(app core.App) {
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
