package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Compaction closes what SQLite's file layout could reveal between two
// uploads. Contributed rows already have random rowids, so a table's
// b-tree order is unrelated to uploads; but the pages an upload wrote, the
// overflow pages holding its embeddings and the WAL frames of its commit
// were allocated together. Once a night the service writes a fresh copy of
// data.db (VACUUM INTO: every table in b-tree order, random for contributed
// rows, no free pages, no WAL) and restarts on it. secure_delete (see db.go)
// zeroes deleted content in the meantime.
//
// The copy has to hold every acknowledged write, and nothing may commit
// after it is taken, or that write would be lost with the old file. So the
// job takes PocketBase's single write connection and SQLite's write lock,
// takes the snapshot on another connection, makes it durable with a marker
// file, and replaces the process while still holding the lock: writers
// that were waiting never committed, so their clients never got an answer.
// FinishCompaction, called at start-up before the databases open, moves
// the copy over data.db.
//
// An in-place VACUUM would need none of this, but in WAL mode it rewrites
// the whole database as one WAL transaction: with the pure-Go SQLite it
// failed at 5.9 GB (SQLITE_IOERR_SHMMAP after 1.5 min and ~11.5 GB of RAM),
// where VACUUM INTO took 2 min 23 s and 145 MB (BENCHMARKS.md).
type Compactor struct {
	// Exec replaces the process once the snapshot and its marker are
	// durable. It is called while the write lock is held and returns only
	// when the process was not replaced; the snapshot is then discarded and
	// Compact returns an error. nil re-executes the binary with the same
	// arguments and environment (os.Args, os.Environ), which needs
	// FinishCompaction at start-up (main.go) to complete the swap. Tests set
	// it to observe the moment of the swap without replacing themselves.
	Exec func() error
}

// compactionGuard is an app's compaction state, shared by its write guard
// and every Compactor run on it (the nightly job's, or a test's).
type compactionGuard struct {
	running atomic.Bool
	writes  atomic.Int64 // write requests past the guard, still running
}

func guardOf(app core.App) *compactionGuard {
	return app.Store().GetOrSet("songcommonsCompactionGuard", func() any { return &compactionGuard{} }).(*compactionGuard)
}

const (
	// CompactSuffix names the snapshot next to data.db.
	CompactSuffix = ".compact"
	// MarkerSuffix names the file, next to the snapshot, whose existence
	// says the snapshot is complete and durable and must replace data.db.
	MarkerSuffix = ".ok"

	// compactionDrain is how long the job waits for write requests that
	// passed the guard before it started; later ones wait for the lock and
	// are never acknowledged.
	compactionDrain = 60 * time.Second
	// compactionLockTable is created and written in the transaction that
	// holds the write lock. That transaction never commits (the process is
	// replaced, or it rolls back), so the table never reaches the file.
	compactionLockTable = "_songcommons_compaction"
)

// ErrCompactionSkipped wraps the reasons a compaction did not start
// (not enough disk space, no swap at start-up): nothing was changed.
var ErrCompactionSkipped = errors.New("compaction skipped")

// Compact compacts auxiliary.db in place, then data.db by snapshot and
// restart. Write requests are answered 503 (Retry-After) while it runs.
// It returns only on failure or when it was skipped (ErrCompactionSkipped):
// on success the process has been replaced.
func (c *Compactor) Compact(app core.App) error {
	g := guardOf(app)
	if !g.running.CompareAndSwap(false, true) {
		return fmt.Errorf("a compaction is already running")
	}
	defer g.running.Store(false)
	exec := c.Exec
	if exec == nil {
		if !compactionFinished(app.DataDir()) {
			return fmt.Errorf("%w: the compacted data.db is swapped in at the next start-up, and this process did not call storage.FinishCompaction(%q) before opening its databases",
				ErrCompactionSkipped, app.DataDir())
		}
		exec = restartProcess
	}
	dbPath := filepath.Join(app.DataDir(), "data.db")
	// a marker while the database is open and writable would swap in a
	// stale copy at the next start: remove any left by a failed attempt
	if err := discardSnapshot(dbPath); err != nil {
		return err
	}
	if err := checkFreeSpace(dbPath); err != nil {
		return err
	}

	// the guard is on: wait for writes that passed it before, so that
	// their clients get an answer rather than a closed connection
	deadline := time.Now().Add(compactionDrain)
	for g.writes.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for _, q := range []string{"PRAGMA wal_checkpoint(TRUNCATE)", "VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"} {
		if _, err := app.AuxNonconcurrentDB().NewQuery(q).Execute(); err != nil {
			return fmt.Errorf("compaction of auxiliary.db (%s): %w", q, err)
		}
	}
	return snapshotAndSwap(app, dbPath, exec)
}

// snapshotAndSwap holds the write lock of data.db while it writes the
// snapshot and its marker, then calls exec.
func snapshotAndSwap(app core.App, dbPath string, exec func() error) error {
	// the snapshot is read on a connection of its own: PocketBase's read
	// pool stays free for requests
	src, err := DBConnect(dbPath)
	if err != nil {
		return err
	}
	defer src.Close()
	src.DB().SetMaxOpenConns(1)
	if err := src.DB().Ping(); err != nil {
		return err
	}
	out := dbPath + CompactSuffix
	start := time.Now()
	before := fileSize(dbPath) + fileSize(dbPath+"-wal")

	// RunInTransaction takes PocketBase's only write connection: every
	// other PocketBase write waits for it in Go. The write below takes
	// SQLite's write lock, so nothing can commit on another connection
	// either (they get SQLITE_BUSY).
	return app.RunInTransaction(func(tx core.App) error {
		for _, q := range []string{
			"CREATE TABLE IF NOT EXISTS " + compactionLockTable + " (id INTEGER PRIMARY KEY)",
			"INSERT OR REPLACE INTO " + compactionLockTable + " (id) VALUES (1)",
		} {
			if _, err := tx.DB().NewQuery(q).Execute(); err != nil {
				return fmt.Errorf("compaction: taking the write lock: %w", err)
			}
		}
		locked := time.Now()
		// every committed transaction is in the file or its WAL, and
		// nothing can commit until the process is replaced
		if _, err := src.NewQuery("VACUUM INTO {:out}").Bind(dbx.Params{"out": out}).Execute(); err != nil {
			abandonSnapshot(dbPath, err)
			return fmt.Errorf("compaction: VACUUM INTO %s: %w", out, err)
		}
		note := fmt.Sprintf("started %s, write lock after %s, snapshot %s, data.db %d MiB -> %d MiB",
			start.UTC().Format(time.RFC3339), locked.Sub(start).Round(time.Millisecond),
			time.Since(locked).Round(time.Millisecond), before>>20, fileSize(out)>>20)
		if err := commitSnapshot(dbPath, note); err != nil {
			abandonSnapshot(dbPath, err)
			return fmt.Errorf("compaction: %w", err)
		}
		err := exec()
		// still here: the process was not replaced, and writes will commit
		// again once this transaction ends, so the snapshot must go first
		abandonSnapshot(dbPath, err)
		if err == nil {
			err = errors.New("the process was not replaced")
		}
		return fmt.Errorf("compaction: restart: %w (snapshot discarded, data.db unchanged)", err)
	})
}

// abandonSnapshot removes the snapshot and its marker before the write
// lock is released. If the marker cannot be removed, writes must not
// commit again (the next start-up would swap in the snapshot without
// them): the process ends, still holding the lock, and the snapshot, which
// holds every committed write, is swapped in when it is started again.
func abandonSnapshot(dbPath string, cause error) {
	marker := dbPath + CompactSuffix + MarkerSuffix
	err := os.Remove(marker)
	if err == nil {
		err = syncDir(filepath.Dir(dbPath))
	}
	if err != nil && !isNotExist(err) {
		slog.Error("songcommons: compaction failed and its marker cannot be removed; exiting so that no write is lost (the snapshot is swapped in at the next start)",
			"cause", fmt.Sprint(cause), "error", err.Error())
		os.Exit(1)
	}
	for _, f := range compactFiles(dbPath) {
		_ = os.Remove(f) // without the marker, the next start-up removes it anyway
	}
}

// restartProcess replaces the process with a new run of the same binary.
// Go opens every file and socket close-on-exec, so the new process starts
// without the old database handles and listener (PocketBase's own
// app.Restart does the same, after closing the databases).
func restartProcess() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	return syscall.Exec(exe, os.Args, os.Environ())
}

// freeSpace returns the bytes available to this process in dir, when the
// platform says (compaction_swap.go).
var freeSpace = func(dir string) (int64, bool) { return 0, false }

// checkFreeSpace skips the compaction when the data dir cannot hold a
// second copy of data.db (plus a margin).
func checkFreeSpace(dbPath string) error {
	need := fileSize(dbPath) + fileSize(dbPath+"-wal")
	need += max(need/50, 64<<20)
	free, ok := freeSpace(filepath.Dir(dbPath))
	if ok && free < need {
		return fmt.Errorf("%w: the snapshot of data.db needs about %d MiB free in %s, and %d MiB are",
			ErrCompactionSkipped, need>>20, filepath.Dir(dbPath), free>>20)
	}
	return nil
}

func fileSize(p string) int64 {
	if fi, err := os.Stat(p); err == nil {
		return fi.Size()
	}
	return 0
}

// Checkpoint empties the WALs (run often: it bounds how much recent
// commit grouping a copy of pb_data can show).
func Checkpoint(app core.App) error {
	if err := emptyWAL(app); err != nil {
		return err
	}
	_, err := app.AuxNonconcurrentDB().NewQuery("PRAGMA wal_checkpoint(TRUNCATE)").Execute()
	return err
}

// TrackWrite counts a request that may write to data.db until done is
// called: Compact, once it has begun refusing writes, waits for those
// counted before. compacting reports whether a compaction runs, in which
// case the request must be refused (it would wait for the write lock and
// lose its connection at the restart). Counted before the check: Compact
// sets running, then waits for the count, so no write slips past unseen.
func TrackWrite(app core.App) (compacting bool, done func()) {
	g := guardOf(app)
	g.writes.Add(1)
	return g.running.Load(), func() { g.writes.Add(-1) }
}

// BindCompaction schedules the nightly compaction (04:17 UTC) and the
// WAL checkpoints every 15 minutes, and logs at start-up the compaction
// that FinishCompaction swapped in.
func BindCompaction(app core.App, c *Compactor) {
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		if note := finishedNote(se.App.DataDir()); note != "" {
			se.App.Logger().Info("songcommons: compacted data.db swapped in at start-up", "compaction", note)
		}
		// daily compaction at a quiet hour; WAL checkpoints every 15 minutes
		se.App.Cron().MustAdd("songcommonsCompaction", "17 4 * * *", func() {
			err := c.Compact(se.App)
			if errors.Is(err, ErrCompactionSkipped) {
				se.App.Logger().Warn("songcommons: compaction skipped", "reason", err.Error())
			} else if err != nil {
				se.App.Logger().Error("songcommons: compaction failed", "error", err.Error())
			}
		})
		se.App.Cron().MustAdd("songcommonsCheckpoint", "*/15 * * * *", func() {
			if err := Checkpoint(se.App); err != nil {
				se.App.Logger().Warn("songcommons: checkpoint failed", "error", err.Error())
			}
		})
		return se.Next()
	})
}

// compactFiles lists what a compaction may leave next to data.db besides
// the marker: the snapshot and any journal of it.
func compactFiles(dbPath string) []string {
	files := []string{dbPath + CompactSuffix}
	extra, _ := filepath.Glob(dbPath + CompactSuffix + "-*")
	return append(files, extra...)
}

// isNotExist is os.IsNotExist for errors.Is chains.
func isNotExist(err error) bool { return err != nil && errors.Is(err, os.ErrNotExist) }

// FinishCompaction completes or discards, at start-up, a compaction of
// dataDir/data.db that replaced the process. Call it before the app opens
// its databases (main.go). Every step can be interrupted by a crash and
// redone:
//   - marker and snapshot: the snapshot holds every committed write and
//     nothing committed after it. The WAL and shared-memory files of the
//     old data.db are removed (made durable before the rename, or SQLite
//     would replay the old WAL onto the new file), the snapshot is renamed
//     over data.db, then the marker is removed;
//   - marker alone: the rename happened before a crash; the marker goes;
//   - snapshot alone: an attempt that did not finish; it goes, data.db and
//     its WAL stay as they are.
//
// An error means data.db was left as it was, or is the snapshot with the
// marker still there; the server must not start until it is resolved.
func FinishCompaction(dataDir string) error {
	dbPath := filepath.Join(dataDir, "data.db")
	out, marker := dbPath+CompactSuffix, dbPath+CompactSuffix+MarkerSuffix
	note, err := os.ReadFile(marker)
	switch {
	case isNotExist(err):
		removed := 0
		for _, f := range compactFiles(dbPath) {
			if rerr := os.Remove(f); rerr == nil {
				removed++
			} else if !isNotExist(rerr) {
				return fmt.Errorf("removing the unfinished compaction snapshot: %w", rerr)
			}
		}
		if removed > 0 {
			logFinish("songcommons: removed an unfinished compaction snapshot; data.db is unchanged", "file", out)
		}
	case err != nil:
		return fmt.Errorf("reading the compaction marker: %w", err)
	default:
		msg := "songcommons: compacted data.db swapped in"
		if _, serr := os.Stat(out); isNotExist(serr) {
			msg = "songcommons: compacted data.db was already swapped in; removing its marker"
		} else if serr != nil {
			return fmt.Errorf("compaction snapshot: %w", serr)
		} else {
			if err := checkSQLiteFile(out); err != nil {
				return fmt.Errorf("the compaction snapshot %s is marked complete but is not a valid database (%w): "+
					"remove %s to keep the current data.db", out, err, marker)
			}
			for _, f := range []string{dbPath + "-wal", dbPath + "-shm"} {
				if err := os.Remove(f); err != nil && !isNotExist(err) {
					return fmt.Errorf("compaction swap: %w", err)
				}
			}
			if err := syncDir(dataDir); err != nil {
				return fmt.Errorf("compaction swap: %w", err)
			}
			if err := os.Rename(out, dbPath); err != nil {
				return fmt.Errorf("compaction swap: %w", err)
			}
			if err := syncDir(dataDir); err != nil {
				return fmt.Errorf("compaction swap: %w", err)
			}
		}
		if err := os.Remove(marker); err != nil && !isNotExist(err) {
			return fmt.Errorf("compaction swap: removing the marker: %w", err)
		}
		if err := syncDir(dataDir); err != nil {
			return fmt.Errorf("compaction swap: %w", err)
		}
		logFinish(msg, "compaction", string(note))
		finished.notes.Store(absDir(dataDir), string(note))
	}
	finished.dirs.Store(absDir(dataDir), true)
	return nil
}

// commitSnapshot makes the snapshot durable, then its marker: from the
// marker on, the next start-up swaps the snapshot in.
func commitSnapshot(dbPath, note string) error {
	out := dbPath + CompactSuffix
	if err := checkSQLiteFile(out); err != nil {
		return fmt.Errorf("the snapshot is not a valid database: %w", err)
	}
	if err := syncFile(out); err != nil {
		return err
	}
	f, err := os.OpenFile(out+MarkerSuffix, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(note)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return syncDir(filepath.Dir(dbPath))
}

// discardSnapshot removes the marker (first, durably), then the snapshot.
func discardSnapshot(dbPath string) error {
	marker := dbPath + CompactSuffix + MarkerSuffix
	if err := os.Remove(marker); err != nil && !isNotExist(err) {
		return fmt.Errorf("removing the compaction marker: %w", err)
	} else if err == nil {
		if err := syncDir(filepath.Dir(dbPath)); err != nil {
			return err
		}
	}
	for _, f := range compactFiles(dbPath) {
		if err := os.Remove(f); err != nil && !isNotExist(err) {
			return fmt.Errorf("removing the compaction snapshot: %w", err)
		}
	}
	return nil
}

// checkSQLiteFile checks a database file's header: the magic string, a
// page size, and a length that is the page count the header gives.
func checkSQLiteFile(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	var h [100]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if string(h[:16]) != "SQLite format 3\x00" {
		return errors.New("not an SQLite database")
	}
	page := int64(binary.BigEndian.Uint16(h[16:18]))
	if page == 1 {
		page = 65536
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if page < 512 || fi.Size()%page != 0 {
		return fmt.Errorf("size %d is not a whole number of %d-byte pages", fi.Size(), page)
	}
	// the in-header page count is valid when its change counter matches
	if n := int64(binary.BigEndian.Uint32(h[28:32])); n != 0 && binary.BigEndian.Uint32(h[24:28]) == binary.BigEndian.Uint32(h[92:96]) && n*page != fi.Size() {
		return fmt.Errorf("size %d, but the header says %d pages of %d bytes", fi.Size(), n, page)
	}
	return nil
}

func syncFile(p string) error {
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes renames, creations and removals in dir durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for syncing there
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// finished records the data dirs FinishCompaction ran on in this process
// (a compaction that restarts the process needs it) and what it did.
var finished struct{ dirs, notes sync.Map }

func absDir(dir string) string {
	if a, err := filepath.Abs(dir); err == nil {
		return a
	}
	return filepath.Clean(dir)
}

func compactionFinished(dir string) bool {
	_, ok := finished.dirs.Load(absDir(dir))
	return ok
}

// finishedNote is the marker text of the compaction swapped in at start-up
// (it is logged again once the app's logger is up).
func finishedNote(dir string) string {
	if v, ok := finished.notes.LoadAndDelete(absDir(dir)); ok {
		return v.(string)
	}
	return ""
}

// logFinish logs before the app is bootstrapped, to the process output.
func logFinish(msg string, args ...any) { slog.Info(msg, args...) }
