package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Layout maintenance keeps data.db's file layout from grouping the rows of
// one upload. Rows already get random rowids and random ids, so each
// b-tree orders them at random; what remains is where SQLite puts new
// bytes in the file:
//
//   - new pages (an embedding's overflow pages, the pages a split adds)
//     are taken from the free-page list, and from the end of the file when
//     it is empty: an upload's new pages would lie together, in upload
//     order. The service keeps a reserve of free pages, freed in random
//     order, so that new pages come from random places in the reserve;
//   - inside a page, a new row is placed below the rows already there, so
//     the rows one upload puts on the same page sit side by side. In a
//     large database an upload puts few rows on any one page; in a small
//     one it puts many. A rewrite (VACUUM: every table and index in b-tree
//     order, which is random for contributed rows) undoes that. While
//     data.db is small it is rewritten after every contribution write,
//     before the upload is acknowledged. Past rewriteBelow it is rewritten
//     in the background, at most once per rewriteDuty times the last
//     rewrite's duration (so rewrites take at most 1/(1+rewriteDuty) of
//     the writer's time), for as long as one rewrite takes at most
//     rewriteMaxPause (uploads wait for it). Past that size an upload
//     spreads over so many pages that it rarely puts two rows on one, and
//     the nightly compaction rewrites the file (README, threat model).
//
// The maintenance after an upload runs after its commit and before its WAL
// is emptied (journal.go), so no copy of the files shows the upload's own
// page allocation for longer than the upload takes; the in-page order of a
// database past rewriteBelow lasts until the next background rewrite.
type layout struct {
	mu   sync.Mutex   // one maintenance at a time
	seq  atomic.Int64 // contribution writes committed
	done int64        // seq when the last maintenance started (under mu)

	// the background rewrite past rewriteBelow (under mu)
	rewrittenSeq int64          // seq when the last rewrite started; -1: none since start-up
	rewrittenAt  time.Time      // when the last rewrite ended
	rewriteTook  time.Duration  // how long it took
	rewriteRate  float64        // bytes rewritten per second, last measured
	rewrites     int            // rewrites run (inline and background)
	maxPause     time.Duration  // rewriteMaxPause, unless a test sets another
	duty         time.Duration  // rewriteDuty, unless a test sets another
	next         *time.Timer    // the background rewrite due, if any
	due          time.Time      // when next fires
	stopped      bool           // the app is terminating
	emptying     sync.WaitGroup // a background rewrite emptying the WAL after mu (Add under mu while !stopped)
	emptyingNow  atomic.Int32   // how many are (state: not settled until the WAL is emptied)
}

const (
	// rewriteBelow: a data.db smaller than this is rewritten after every
	// contribution write (about 0.1 s at 16 MiB on a 2-core server;
	// BENCHMARKS.md).
	rewriteBelow = 16 << 20
	// rewriteDuty: past rewriteBelow, a background rewrite starts no
	// sooner than rewriteDuty times the last rewrite's duration after it
	// ended, and only when contributions were written since.
	rewriteDuty = 19
	// rewriteMaxPause: background rewrites run while one is expected to
	// take at most this long (the bytes in use over the last measured
	// rate); uploads wait for a rewrite in progress.
	rewriteMaxPause = 2 * time.Second
	// rewriteAssumedRate (bytes per second) predicts a rewrite's duration
	// until one was measured: below what a rewrite measures here, so a
	// server started on a large database does not rewrite it to find out.
	rewriteAssumedRate = 32 << 20
	// reserveLow and reserveTarget, in pages: when fewer free pages are
	// left than reserveLow, the reserve is filled up to reserveTarget. The
	// largest upload (500 songs with a musicnn and a clap vector each)
	// takes about 1,200 new pages, so every upload starts with room. A
	// top-up writes reserveTarget scratch pages, the free pages left
	// among them, so a lower reserveLow makes each gained page cheaper
	// (8,192 written for 6,144 gained, where 4,096 left gained 4,096).
	reserveLow    = 2048
	reserveTarget = 8192
	// reservePad is the size of the scratch rows that make the reserve:
	// 489 bytes stay in the leaf and the rest fills one overflow page of
	// 4 KiB exactly, so deleting a row frees one page.
	reservePad = 489 + 4092 - 16
	// reserveTable holds the scratch rows while the reserve is made.
	reserveTable = "_songcommons_reserve"
)

func layoutOf(app core.App) *layout {
	return app.Store().GetOrSet("songcommonsLayout", func() any {
		return &layout{rewrittenSeq: -1, maxPause: rewriteMaxPause, duty: rewriteDuty}
	}).(*layout)
}

// committed notes a contribution write's commit and returns its number,
// for maintainAfter.
func (l *layout) committed() int64 { return l.seq.Add(1) }

// maintainAfter runs maintain unless one that started after commit n
// (committed's number) has finished meanwhile: uploads finishing together
// share one rewrite.
func (l *layout) maintainAfter(app core.App, n int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done >= n {
		return nil
	}
	l.done = l.seq.Load()
	return l.maintain(app)
}

// maintain rewrites a small data.db, or tops up the reserve of free pages
// of a larger one and sees that a background rewrite is due (l.mu held,
// or at start-up).
func (l *layout) maintain(app core.App) error {
	size := fileSize(filepath.Join(app.DataDir(), "data.db")) + walSize(app)
	if size < rewriteBelow {
		return l.rewrite(app)
	}
	if err := topUpReserve(app); err != nil {
		return err
	}
	l.rewriteLater(app)
	return nil
}

// usedBytes is the size of data.db's pages in use (what a rewrite
// copies; free pages are dropped).
// One statement: past rewriteBelow it runs after every upload.
func usedBytes(app core.App) (int64, error) {
	var used int64
	err := app.DB().NewQuery("SELECT (p.page_count - f.freelist_count) * s.page_size" +
		" FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() s").Row(&used)
	return used, err
}

// rewrite rewrites data.db in b-tree order and notes how long it took
// (l.mu held).
func (l *layout) rewrite(app core.App) error {
	used, err := usedBytes(app)
	if err != nil {
		return err
	}
	start := time.Now()
	l.rewrittenSeq = l.seq.Load()
	if _, err := app.NonconcurrentDB().NewQuery("VACUUM").Execute(); err != nil {
		return fmt.Errorf("layout: rewriting data.db: %w", err)
	}
	l.rewrittenAt = time.Now()
	l.rewriteTook = l.rewrittenAt.Sub(start)
	if l.rewriteTook > 0 {
		l.rewriteRate = float64(used) / l.rewriteTook.Seconds()
	}
	l.rewrites++
	return nil
}

// rewriteLater schedules a background rewrite of a data.db past
// rewriteBelow, unless one is scheduled, or none would be short enough
// (l.mu held).
func (l *layout) rewriteLater(app core.App) {
	if l.next != nil || l.stopped {
		return
	}
	rate := l.rewriteRate
	if rate == 0 {
		rate = rewriteAssumedRate
	}
	if used, err := usedBytes(app); err != nil || float64(used)/rate > l.maxPause.Seconds() {
		return
	}
	l.due = l.rewrittenAt.Add(l.duty * l.rewriteTook)
	l.next = time.AfterFunc(max(time.Until(l.due), 0), func() { l.rewriteNow(app) })
}

// rewritesPaused, set in the app's store, puts background rewrites off
// (PauseRewrites).
const rewritesPaused = "songcommonsRewritesPaused"

// PauseRewrites puts the background rewrites off until resume is called
// (a test that reads the WAL index right after an upload, where a
// rewrite's frames, every page of the file, would stand beside the
// upload's; rewrites below rewriteBelow, in the upload's own step, still
// run).
func PauseRewrites(app core.App) (resume func()) {
	app.Store().Set(rewritesPaused, true)
	return func() { app.Store().Remove(rewritesPaused) }
}

// rewriteNow is the background rewrite: a contribution write of its own
// (the journal's gate keeps account writes out of its WAL), then the WAL
// is emptied. It is skipped when nothing was written since the last
// rewrite, and put off while a backup reads the database.
func (l *layout) rewriteNow(app core.App) {
	j := JournalOf(app)
	j.gate.RLock()
	defer j.gate.RUnlock()
	l.mu.Lock()
	l.next = nil
	if l.stopped {
		l.mu.Unlock()
		return
	}
	if app.Store().Has(core.StoreKeyActiveBackup) || guardOf(app).running.Load() || app.Store().Has(rewritesPaused) {
		l.due = time.Now().Add(max(l.duty*l.rewriteTook, time.Second))
		l.next = time.AfterFunc(time.Until(l.due), func() { l.rewriteNow(app) })
		l.mu.Unlock()
		return
	}
	var err error
	if l.seq.Load() != l.rewrittenSeq {
		if err = l.rewrite(app); err == nil {
			err = topUpReserve(app) // the rewrite left no free pages
		}
	}
	l.emptying.Add(1) // the terminate hook waits for it: the app's DB must stay open
	defer l.emptying.Done()
	l.emptyingNow.Add(1)
	defer l.emptyingNow.Add(-1)
	l.mu.Unlock()
	if err == nil {
		err = emptyWALWithin(app, contributionCheckpointWait)
	}
	if err != nil && !errors.Is(err, ErrWALBusy) {
		app.Logger().Warn("songcommons: background rewrite of data.db failed", slog.String("error", err.Error()))
	}
}

// layoutState is what the layout tests look at: rewrites run, and whether
// a background rewrite is scheduled, or one is still emptying the WAL
// (until then a copy of data.db and its WAL, read one after the other, may
// miss the pages the checkpoint is moving).
func (l *layout) state() (rewrites int, pending bool, took time.Duration, due time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rewrites, l.next != nil || l.emptyingNow.Load() > 0, l.rewriteTook, l.due
}

// topUpReserve refills the free-page list when it has fewer than
// reserveLow pages: reserveTarget scratch rows of one overflow page each
// (of zeroes) are written and deleted again in a random order, in one
// transaction. The inserts take the free pages left first, so afterwards
// the list holds about reserveTarget pages (plus the scratch table's leaf
// pages), all freed in a random order. secure_delete is off for the
// scratch rows only: they hold zeroes already, and writing them again
// would double the cost.
func topUpReserve(app core.App) error {
	var free int
	if err := app.DB().NewQuery("PRAGMA freelist_count").Row(&free); err != nil {
		return err
	}
	if free >= reserveLow {
		return nil
	}
	n := reserveTarget
	defer func() {
		// whatever happened: deleted content is overwritten again from here
		if _, err := app.NonconcurrentDB().NewQuery("PRAGMA secure_delete = ON").Execute(); err != nil {
			app.Logger().Error("songcommons: could not turn secure_delete back on", "error", err.Error())
		}
	}()
	return app.RunInTransaction(func(tx core.App) error {
		db := tx.DB()
		if _, err := db.NewQuery("PRAGMA secure_delete = OFF").Execute(); err != nil {
			return err
		}
		defer db.NewQuery("PRAGMA secure_delete = ON").Execute()
		if _, err := db.NewQuery("CREATE TABLE IF NOT EXISTS " + reserveTable + " (id INTEGER PRIMARY KEY, pad BLOB)").Execute(); err != nil {
			return err
		}
		ins := db.NewQuery("INSERT INTO " + reserveTable + " (id, pad) VALUES ({:id}, zeroblob({:n}))").Prepare()
		defer ins.Close()
		ids := make([]int, n)
		for i := range ids {
			ids[i] = i + 1
			if _, err := ins.Bind(dbx.Params{"id": ids[i], "n": reservePad}).Execute(); err != nil {
				return err
			}
		}
		Shuffle(ids)
		del := db.NewQuery("DELETE FROM " + reserveTable + " WHERE id = {:id}").Prepare()
		defer del.Close()
		for _, id := range ids {
			if _, err := del.Bind(dbx.Params{"id": id}).Execute(); err != nil {
				return err
			}
		}
		_, err := db.NewQuery("DROP TABLE " + reserveTable).Execute()
		return err
	})
}

// BindLayout prepares the layout when the server starts (the nightly
// compaction leaves no free pages): the first upload after a start finds
// its reserve. A database past rewriteBelow gets a background rewrite
// soon after the start (uploads before a restart are not known to have
// been rewritten). A terminating app cancels the rewrite due.
func BindLayout(app core.App) {
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		l := layoutOf(se.App)
		l.mu.Lock()
		err := l.maintain(se.App)
		l.mu.Unlock()
		if err == nil {
			err = emptyWAL(se.App)
		}
		if err != nil {
			se.App.Logger().Warn("songcommons: layout maintenance at start-up failed", "error", err.Error())
		}
		return se.Next()
	})
	app.OnTerminate().BindFunc(func(te *core.TerminateEvent) error {
		l := layoutOf(te.App)
		l.mu.Lock()
		l.stopped = true
		if l.next != nil {
			l.next.Stop()
			l.next = nil
		}
		l.mu.Unlock()
		l.emptying.Wait() // a rewrite past its stopped check still empties the WAL
		return te.Next()
	})
}
