package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// The journal discipline keeps account events and contributions apart in
// every file a copy of pb_data can hold.
//
// SQLite's WAL (data.db-wal) records commits in the order they happen,
// each commit's pages together, until a checkpoint copies them into
// data.db and the file is truncated. Sign-up, consent, withdrawal and
// erasure write the users and _externalAuths tables of the same database
// as uploads, so a WAL holding both would order an account event against
// the uploads around it (and a WAL holding several uploads groups each
// one's rows). Two rules close that:
//
//   - every write that touches contributed rows empties the WAL (a TRUNCATE
//     checkpoint) before it is acknowledged, so the WAL holds at most the
//     uploads being acknowledged at that moment;
//   - an account write runs alone: it waits for the contribution writes in
//     flight, empties the WAL, writes, and empties the WAL again before any
//     contribution write may start. No WAL ever holds an account frame and
//     a contribution frame together, not even a stale one (TRUNCATE cuts
//     the file to zero bytes, and journal_size_limit(0) does the same when
//     SQLite resets the WAL by itself).
//
// Account writes are rare (a sign-up, a consent). Contribution writes
// that overlap form a commit group and share one checkpoint: once one of
// them has committed, new ones wait until the group's last member has
// committed and emptied the WAL, and every member is acknowledged after
// that checkpoint. So the WAL never holds more than the overlapping
// uploads being acknowledged together, and a checkpoint never waits for
// another upload's open transaction (BENCHMARKS.md measures the cost).
type Journal struct {
	gate sync.RWMutex
	app  core.App
	// ckpt serialises this process's checkpoints: SQLite answers a second
	// checkpoint at the same moment with "busy" at once, without waiting
	ckpt sync.Mutex

	group commitGroup
}

// commitGroup is the contribution writes one checkpoint serves.
type commitGroup struct {
	mu      sync.Mutex
	cond    sync.Cond
	writing int    // members still in their write
	closing bool   // a member has committed: new writes wait for the next group
	done    uint64 // groups finished
}

// join enters the current group, waiting while one is finishing, and
// returns its number.
func (g *commitGroup) join() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cond.L == nil {
		g.cond.L = &g.mu
	}
	for g.closing {
		g.cond.Wait()
	}
	g.writing++
	return g.done
}

// leave ends a member's write. The last member returns true and must call
// finish; the others wait until it has.
func (g *commitGroup) leave(n uint64) (last bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.writing--
	g.closing = true
	if g.writing == 0 {
		return true
	}
	for g.done == n {
		g.cond.Wait()
	}
	return false
}

// finish acknowledges the group's members and opens the next group.
func (g *commitGroup) finish() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.done++
	g.closing = false
	g.cond.Broadcast()
}

// active reports a group writing or finishing (the background
// checkpointer leaves the WAL to it).
func (g *commitGroup) active() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.writing > 0 || g.closing
}

// JournalOf returns the app's journal (one per app, shared by every hook
// and route bound to it).
func JournalOf(app core.App) *Journal {
	return app.Store().GetOrSet("songcommonsJournal", func() any { return &Journal{app: app} }).(*Journal)
}

const (
	// accountCheckpointWait is how long an account write may wait for the
	// WAL to empty (readers holding an old snapshot delay a TRUNCATE
	// checkpoint) before it is refused with 503: nothing is written.
	accountCheckpointWait = 20 * time.Second
	// contributionCheckpointWait is how long a contribution write waits
	// for the WAL to empty before it is acknowledged anyway.
	contributionCheckpointWait = 2 * time.Second
	// checkpointRetry spaces the attempts to empty the WAL.
	checkpointRetry = 50 * time.Millisecond
)

// ErrWALBusy says the WAL could not be emptied in time.
var ErrWALBusy = errors.New("the database journal could not be emptied in time")

// Contribution runs fn, a write of contributed rows, in the current
// commit group, and returns once the group's WAL frames are in data.db
// and the WAL is empty. Many run at once (SQLite still commits them one at
// a time); none runs while an account write does. fn's error is returned;
// a checkpoint that cannot finish now is left to the checkpointer, which
// retries.
func (j *Journal) Contribution(fn func() error) error {
	return j.ContributionThen(fn, nil)
}

// ContributionThen is Contribution, and once fn has returned nil it runs
// then (if not nil) at the same time as the group's work after the commit
// (layout maintenance, emptying the WAL), and returns after both. then
// may only read committed rows: the in-memory indexes following an
// upload, whose reads overlap the checkpoint's copying instead of adding
// to it (a reader of the latest snapshot lets the checkpoint copy every
// frame; it only waits for the reader before cutting the WAL).
func (j *Journal) ContributionThen(fn func() error, then func()) error {
	j.gate.RLock()
	defer j.gate.RUnlock()
	n := j.group.join()
	left := false
	defer func() {
		if !left { // fn panicked: leave the group all the same, or it never ends
			if j.group.leave(n) {
				j.endGroup()
			}
		}
	}()
	err := fn()
	var thenDone chan any // then's panic, if any, once it returned
	if err == nil {
		layoutOf(j.app).committed()
		if then != nil {
			thenDone = make(chan any, 1)
			go func() {
				defer func() { thenDone <- recover() }()
				then()
			}()
		}
	}
	left = true
	if j.group.leave(n) {
		j.endGroup()
	}
	if thenDone != nil {
		if p := <-thenDone; p != nil {
			panic(p) // on the caller's goroutine, where the request's recovery is
		}
	}
	return err
}

// endGroup is the work of a commit group's last member: the layout
// maintenance, then the checkpoint that empties the WAL (also after a
// failed write: a rolled-back transaction may have spilled pages into the
// WAL file, which truncation removes), then the members are released. A
// reader that holds an old snapshot longer than contributionCheckpointWait
// (a backup) leaves the WAL to the checkpointer goroutine.
func (j *Journal) endGroup() {
	defer j.group.finish()
	l := layoutOf(j.app)
	if lerr := l.maintainAfter(j.app, l.seq.Load()); lerr != nil {
		j.app.Logger().Warn("songcommons: layout maintenance after a contribution failed", slog.String("error", lerr.Error()))
	}
	if j.app.Store().Has(core.StoreKeyActiveBackup) {
		return // the backup's snapshot keeps the WAL from emptying until it ends
	}
	if ckErr := emptyWALWithin(j.app, contributionCheckpointWait); ckErr != nil && !errors.Is(ckErr, ErrWALBusy) {
		j.app.Logger().Warn("songcommons: checkpoint after a contribution failed", slog.String("error", ckErr.Error()))
	}
}

// Account runs fn, a write of account data, alone: after the contribution
// writes in flight, on an empty WAL, and empties the WAL again before any
// contribution write starts. It returns ErrWALBusy without running fn when
// the WAL cannot be emptied first.
func (j *Journal) Account(fn func() error) error {
	j.gate.Lock()
	defer j.gate.Unlock()
	if err := emptyWALWithin(j.app, accountCheckpointWait); err != nil {
		return err
	}
	err := fn()
	// the account frames must leave the WAL before the next upload: while
	// readers keep it busy, retry for as long as it takes (contribution
	// writes wait meanwhile); any other failure is logged and ends the wait
	for i := 0; ; i++ {
		ckErr := emptyWALWithin(j.app, accountCheckpointWait)
		if ckErr == nil {
			break
		}
		if !errors.Is(ckErr, ErrWALBusy) {
			j.app.Logger().Error("songcommons: emptying the WAL after an account change failed", slog.String("error", ckErr.Error()))
			break
		}
		j.app.Logger().Warn("songcommons: the WAL could not be emptied after an account change; uploads wait until it is",
			slog.Int("attempt", i+1), slog.String("error", ckErr.Error()))
	}
	return err
}

// emptyWAL runs one TRUNCATE checkpoint of data.db: every committed frame
// is copied into data.db and the WAL file is cut to zero bytes; then the
// WAL index is scrubbed. It returns ErrWALBusy when a reader or writer
// kept it from finishing.
func emptyWAL(app core.App) error {
	j := JournalOf(app)
	j.ckpt.Lock()
	defer j.ckpt.Unlock()
	var busy, logFrames, done int
	err := app.DB().NewQuery("PRAGMA wal_checkpoint(TRUNCATE)").Row(&busy, &logFrames, &done)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if busy != 0 {
		return ErrWALBusy
	}
	return scrubWALIndex(app)
}

// walIndexHeader is the size of the WAL index's header (SQLite's
// WALINDEX_HDR_SIZE): two copies of the index header and the checkpoint
// information. What follows are, per 4,096 frames, the page number of
// each frame and a hash table of them.
const walIndexHeader = 136

// scrubWALIndex zeroes the page tables of data.db-shm once the WAL is
// empty. SQLite leaves them as they are after a checkpoint, and clears a
// block only when the next write reaches it, so a copy of the file would
// show which pages the latest writes touched (a large upload's, beyond
// its first 4,062 frames, until another write of that size). With the
// WAL empty, no reader looks at those tables, and holding SQLite's write
// lock keeps every writer out while they are zeroed. The zeroes are
// written through SQLite's own descriptor (shmfd_linux.go).
func scrubWALIndex(app core.App) error {
	shm := filepath.Join(app.DataDir(), "data.db-shm")
	return app.RunInTransaction(func(tx core.App) error {
		// a write statement that changes nothing takes the write lock
		if _, err := tx.DB().NewQuery("UPDATE _params SET id = id WHERE 0").Execute(); err != nil {
			return fmt.Errorf("WAL index: taking the write lock: %w", err)
		}
		if walSize(app) != 0 {
			return nil // a write came first: its own checkpoint scrubs
		}
		_, err := zeroBeyondWithSQLitesFD(shm, walIndexHeader)
		if err != nil {
			return fmt.Errorf("WAL index: %w", err)
		}
		return nil
	})
}

// emptyWALWithin retries emptyWAL until it succeeds or wait has passed.
func emptyWALWithin(app core.App, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		err := emptyWAL(app)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(checkpointRetry)
	}
}

// walSize is the size of data.db's WAL file (0 when there is none).
func walSize(app core.App) int64 {
	return fileSize(filepath.Join(app.DataDir(), "data.db-wal"))
}
