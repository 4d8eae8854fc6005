package hooks

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"

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
//     one it puts many, so while data.db is small it is rewritten (VACUUM:
//     every table in b-tree order) after every contribution write.
//
// Both run after the contribution's commit and before its WAL is emptied
// (journal.go), so no copy of the files shows the upload's own layout for
// longer than the upload takes.
type layout struct {
	mu   sync.Mutex   // one maintenance at a time
	seq  atomic.Int64 // contribution writes committed
	done int64        // seq when the last maintenance started (under mu)
}

const (
	// rewriteBelow: a data.db smaller than this is rewritten after every
	// contribution write (about 0.1 s per MiB on a 2-core server;
	// BENCHMARKS.md).
	rewriteBelow = 16 << 20
	// reserveLow and reserveTarget, in pages: when fewer free pages are
	// left than reserveLow, the reserve is filled up to reserveTarget. The
	// largest upload (500 songs with a musicnn and a clap vector each)
	// takes about 1,200 new pages.
	reserveLow    = 4096
	reserveTarget = 8192
	// reservePad is the size of the scratch rows that make the reserve:
	// 489 bytes stay in the leaf and the rest fills one overflow page of
	// 4 KiB exactly, so deleting a row frees one page.
	reservePad = 489 + 4092 - 16
	// reserveTable holds the scratch rows while the reserve is made.
	reserveTable = "_songcommons_reserve"
)

func layoutOf(app core.App) *layout {
	return app.Store().GetOrSet("songcommonsLayout", func() any { return &layout{} }).(*layout)
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
// of a larger one (l.mu held, or at start-up).
func (l *layout) maintain(app core.App) error {
	if fileSize(filepath.Join(app.DataDir(), "data.db"))+walSize(app) < rewriteBelow {
		if _, err := app.NonconcurrentDB().NewQuery("VACUUM").Execute(); err != nil {
			return fmt.Errorf("layout: rewriting data.db: %w", err)
		}
		return nil
	}
	return topUpReserve(app)
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
		shuffle(ids)
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

// bindLayout prepares the layout when the server starts (the nightly
// compaction leaves no free pages): the first upload after a start finds
// its reserve.
func bindLayout(app core.App) {
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
}
