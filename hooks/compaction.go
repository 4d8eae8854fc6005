package hooks

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// Compaction closes what SQLite's file layout could reveal between two
// uploads. Contributed rows already have random rowids, so a table's
// b-tree order is unrelated to uploads; but the pages an upload wrote, the
// overflow pages holding its embeddings and the WAL frames of its commit
// were allocated together. VACUUM rewrites the whole file in b-tree order
// (random for contributed rows), drops free pages, and the TRUNCATE
// checkpoints empty the WAL. secure_delete (see db.go) zeroes deleted
// content in the meantime.
type Compactor struct {
	running atomic.Bool
	last    atomic.Value // time.Time
	took    atomic.Int64 // last run, milliseconds
}

// MaxInPlaceVacuum is the largest data.db the nightly job vacuums in
// place. Beyond it SQLite's in-place VACUUM (which copies the whole file
// through the WAL) fails on this platform (SQLITE_IOERR_SHMMAP at 5.9 GB,
// holding ~11 GB of RAM; BENCHMARKS.md), so the job skips it and says so
// rather than blocking uploads for nothing. Random rowids and
// secure_delete still apply; what a copy can show grows to "pages recently
// allocated together" (see the README's threat model).
const MaxInPlaceVacuum = 2 << 30

// Compact checkpoints and vacuums data.db and auxiliary.db. Writes are
// answered 503 (Retry-After) while it runs, so no acknowledged upload
// ever waits in memory for it.
func (c *Compactor) Compact(app core.App) error {
	if fi, err := os.Stat(filepath.Join(app.DataDir(), "data.db")); err == nil && fi.Size() > MaxInPlaceVacuum {
		if err := Checkpoint(app); err != nil {
			return err
		}
		return fmt.Errorf("data.db is %d MiB, over the %d MiB in-place VACUUM limit: compaction skipped (WALs emptied)",
			fi.Size()>>20, MaxInPlaceVacuum>>20)
	}
	if !c.running.CompareAndSwap(false, true) {
		return fmt.Errorf("a compaction is already running")
	}
	defer c.running.Store(false)
	start := time.Now()
	for _, db := range []struct {
		name string
		exec func(string) error
	}{
		{"data.db", func(q string) error { _, err := app.NonconcurrentDB().NewQuery(q).Execute(); return err }},
		{"auxiliary.db", func(q string) error { _, err := app.AuxNonconcurrentDB().NewQuery(q).Execute(); return err }},
	} {
		for _, q := range []string{"PRAGMA wal_checkpoint(TRUNCATE)", "VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"} {
			if err := db.exec(q); err != nil {
				return fmt.Errorf("compaction of %s (%s): %w", db.name, q, err)
			}
		}
	}
	c.last.Store(time.Now())
	c.took.Store(time.Since(start).Milliseconds())
	return nil
}

// Checkpoint empties the WALs (run often: it bounds how much recent
// commit grouping a copy of pb_data can show).
func Checkpoint(app core.App) error {
	if _, err := app.NonconcurrentDB().NewQuery("PRAGMA wal_checkpoint(TRUNCATE)").Execute(); err != nil {
		return err
	}
	_, err := app.AuxNonconcurrentDB().NewQuery("PRAGMA wal_checkpoint(TRUNCATE)").Execute()
	return err
}

func isWrite(r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
		return false
	}
	p := r.URL.Path
	return p == "/api/batch" || strings.HasPrefix(p, "/api/songcommons/contribute") ||
		strings.HasPrefix(p, "/api/songcommons/receipts") || recordsPathCollection(p) != ""
}

func bindCompaction(app core.App, c *Compactor) {
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		se.Router.Bind(&hook.Handler[*core.RequestEvent]{
			Id:       "songcommonsCompactionGuard",
			Priority: -900,
			Func: func(e *core.RequestEvent) error {
				if c.running.Load() && isWrite(e.Request) {
					e.Response.Header().Set("Retry-After", "120")
					return e.Error(http.StatusServiceUnavailable,
						"The database is being compacted (a daily privacy measure). Retry in a couple of minutes; nothing of this request was stored.", nil)
				}
				return e.Next()
			},
		})
		// daily compaction at a quiet hour; WAL checkpoints every 15 minutes
		se.App.Cron().MustAdd("songcommonsCompaction", "17 4 * * *", func() {
			if err := c.Compact(se.App); err != nil {
				se.App.Logger().Error("songcommons: compaction failed", "error", err.Error())
				return
			}
			se.App.Logger().Info("songcommons: compaction done", "took_ms", c.took.Load())
		})
		se.App.Cron().MustAdd("songcommonsCheckpoint", "*/15 * * * *", func() {
			if err := Checkpoint(se.App); err != nil {
				se.App.Logger().Warn("songcommons: checkpoint failed", "error", err.Error())
			}
		})
		return se.Next()
	})
}
