package hooks_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/storage"
)

// walCopier copies data.db's WAL file as often as it can, as someone
// copying pb_data at an unlucky moment would, and keeps each distinct copy.
type walCopier struct {
	stop   atomic.Bool
	done   chan struct{}
	copies [][]byte
	reads  int
}

func copyWALContinuously(dataDir string) *walCopier {
	c := &walCopier{done: make(chan struct{})}
	path := filepath.Join(dataDir, "data.db-wal")
	go func() {
		defer close(c.done)
		seen := map[[32]byte]bool{}
		for !c.stop.Load() {
			b, err := os.ReadFile(path)
			c.reads++
			if err != nil || len(b) == 0 {
				continue
			}
			if h := sha256.Sum256(b); !seen[h] {
				seen[h] = true
				c.copies = append(c.copies, b)
			}
		}
	}()
	return c
}

func (c *walCopier) finish() [][]byte {
	c.stop.Store(true)
	<-c.done
	return c.copies
}

// walCommit is a commit's pages as a copy of the WAL holds them.
type walCommit struct {
	pgnos []uint32
	pages [][]byte
	size  uint32 // database size in pages after the commit; 0 when the copy ends before its commit frame
}

// rewrite reports whether the commit writes the whole database, pages 1
// to N in order, as VACUUM does (layout.go rewrites a small data.db after
// each upload). Such a commit is a copy of the database's state, the same
// as data.db itself holds, not an event.
func (c walCommit) rewrite() bool {
	for i, p := range c.pgnos {
		if p != uint32(i+1) {
			return false
		}
	}
	return len(c.pgnos) > 1 && (c.size == 0 || c.size == uint32(len(c.pgnos)))
}

// walCommits splits a copy of a WAL file into its commits, valid or stale
// (an attacker reads stale frames too): after the 32-byte header, frames
// of a 24-byte header and a page, a commit ending at a frame whose header
// gives the database size. It also returns how many frames carry other
// salts than the header: with TRUNCATE checkpoints and a zero
// journal_size_limit the file never holds frames of an earlier
// generation, so such frames mean the copy was read while the file was
// emptied and written again: a torn copy, two moments in one file.
func walCommits(t testing.TB, wal []byte) (commits []walCommit, otherSalts int) {
	t.Helper()
	if len(wal) < 32 {
		return nil, 0
	}
	pageSize := int(binary.BigEndian.Uint32(wal[8:12]))
	if pageSize < 512 || pageSize > 65536 {
		t.Fatalf("WAL copy with page size %d", pageSize)
	}
	var out []walCommit
	var cur walCommit
	for off := 32; off+24 <= len(wal); off += 24 + pageSize {
		end := min(off+24+pageSize, len(wal))
		if !bytes.Equal(wal[off+8:off+16], wal[16:24]) {
			otherSalts++
		}
		cur.pgnos = append(cur.pgnos, binary.BigEndian.Uint32(wal[off:]))
		cur.pages = append(cur.pages, wal[off+24:end])
		if size := binary.BigEndian.Uint32(wal[off+4:]); size != 0 {
			cur.size = size
			out = append(out, cur)
			cur = walCommit{}
		}
	}
	if len(cur.pgnos) > 0 {
		out = append(out, cur)
	}
	return out, otherSalts
}

// Two accounts sign up, consent, upload through every path, withdraw and
// give consent again, erase their accounts and sign up again, all at once
// and interleaved, while the WAL is copied continuously. No copy may hold
// a page of account data and a page of contributed data together: that
// would order an account event against an upload. (A commit that rewrites
// the whole database in page order, as the layout maintenance of a small
// data.db does, holds every table's state, like data.db itself, and no
// event: it is left out.)
func TestWALNeverHoldsAccountsWithUploads(t *testing.T) {
	t.Parallel()
	gh := newFakeGitHub(t, 1)
	app := newTestApp(t, gh.Configure)
	defer app.Cleanup()
	srv := serve(t, app)
	copier := copyWALContinuously(app.DataDir())

	githubIDs := []string{"913572468", "924683579"}
	var mu sync.Mutex
	var userIDs []string
	signUp := func(ghID string) string {
		code, out := call(t, srv, http.MethodPost, "/api/collections/users/auth-with-oauth2", "", map[string]any{
			"provider": "github", "code": "gh-" + ghID, "codeVerifier": "verifier-0123456789", "redirectURL": "http://127.0.0.1/redirect"})
		if code != 200 {
			t.Errorf("sign-up of %s: %d %v", ghID, code, out)
			return ""
		}
		mu.Lock()
		userIDs = append(userIDs, out["record"].(map[string]any)["id"].(string))
		mu.Unlock()
		return out["token"].(string)
	}
	consent := func(tok string, accept bool) {
		if code, out := call(t, srv, http.MethodPost, "/api/songcommons/me/consent", tok, map[string]any{"accept": accept, "version": 1}); code != 200 {
			t.Errorf("consent %v: %d %v", accept, code, out)
		}
	}
	upload := func(tok, artist string, round int) {
		songs := contributeSongs(4)
		for i := range songs {
			songs[i]["artist"] = artist
		}
		if code, out := call(t, srv, http.MethodPost, "/api/songcommons/contribute", tok, map[string]any{"songs": songs}); code != 200 {
			t.Errorf("contribute: %d %v", code, out)
		}
		lib := audioMuseLibrary(2)
		for i := range lib {
			lib[i].artist = artist
			lib[i].title = fmt.Sprintf("Batch %d %d", round, i)
		}
		if code, out := call(t, srv, http.MethodPost, "/api/batch", tok, batchRequests(lib)); code != 200 {
			t.Errorf("batch: %d %v", code, out)
		}
		if code, out := call(t, srv, http.MethodPost, "/api/collections/score/records", tok, map[string]any{
			"artist": artist, "title": fmt.Sprintf("Single %d", round), "tempo": 120, "key": "A", "scale": "minor"}); code != 200 {
			t.Errorf("record create: %d %v", code, out)
		}
	}
	var wg sync.WaitGroup
	for who, ghID := range githubIDs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for life := range 2 { // sign up, use, erase; then again
				tok := signUp(ghID)
				if tok == "" {
					return
				}
				consent(tok, true)
				for round := range 4 {
					upload(tok, fmt.Sprintf("WALTEST %c %d %d", 'A'+who, life, round), round)
					if round == 1 {
						consent(tok, false)
						consent(tok, true)
					}
				}
				if code, out := call(t, srv, http.MethodDelete, "/api/songcommons/me", tok, nil); code != 204 {
					t.Errorf("erase: %d %v", code, out)
				}
			}
		}()
	}
	wg.Wait()
	copies := copier.finish()
	if t.Failed() {
		return
	}

	accountMarkers := append(append([]string{}, githubIDs...), userIDs...)
	var withAccount, withUpload, torn int
	for i, c := range copies {
		var account, upload string
		commits, otherSalts := walCommits(t, c)
		if otherSalts > 0 {
			// read while the WAL was emptied and rewritten: like two
			// copies taken at two moments, which the threat model leaves
			// out (README); a consistent copy of any one moment is what
			// this test holds to the promise
			torn++
			continue
		}
		for _, commit := range commits {
			if commit.rewrite() {
				continue
			}
			for _, page := range commit.pages {
				for _, m := range accountMarkers {
					if account == "" && bytes.Contains(page, []byte(m)) {
						account = m
					}
				}
				if upload == "" && bytes.Contains(page, []byte("WALTEST")) {
					upload = "WALTEST"
				}
			}
		}
		if account != "" {
			withAccount++
		}
		if upload != "" {
			withUpload++
		}
		if account != "" && upload != "" {
			t.Fatalf("copy %d of the WAL (%d bytes) holds account data (%s) and contributed rows together", i, len(c), account)
		}
	}
	t.Logf("%d reads, %d distinct WAL copies (%d torn, left out): %d with account pages, %d with contributed pages, none with both",
		copier.reads, len(copies), torn, withAccount, withUpload)
	// the test proves something only if the copier saw both kinds
	if withAccount == 0 || withUpload == 0 {
		t.Fatalf("the copier never saw account pages (%d) or contributed pages (%d) in the WAL", withAccount, withUpload)
	}
	// and the data is all there: the journal delays nothing that was acknowledged
	if n := countRows(t, app, "score"); n != 2*2*4*(4+2+1) {
		t.Fatalf("score rows: %d", n)
	}
	if strings.Contains(strings.Join(userIDs, ","), ",,") {
		t.Fatal("empty user id")
	}
}

// shmPageTables returns how many page numbers data.db-shm's page tables
// hold (after the 136-byte header, each 32 KiB block starts with its
// frames' page numbers: 4,062 in the first block, 4,096 in the others).
func shmPageTables(t testing.TB, dataDir string) int {
	t.Helper()
	shm, err := os.ReadFile(filepath.Join(dataDir, "data.db-shm"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for block := 0; block*32768 < len(shm); block++ {
		start, count := block*32768, 4096
		if block == 0 {
			start, count = 136, 4062
		}
		for i := 0; i < count && start+4*i+4 <= len(shm); i++ {
			if binary.LittleEndian.Uint32(shm[start+4*i:]) != 0 {
				n++
			}
		}
	}
	return n
}

// After a write larger than a WAL-index block (as a large upload is at a
// million songs), SQLite keeps that write's page numbers in data.db-shm
// after the checkpoint, until a write as large comes. Once an upload or an
// account change is acknowledged, the page tables are empty.
func TestWALIndexForgetsPages(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	srv := serve(t, app)
	// the large writes take data.db past the size of rewrites in the
	// upload's own step: a background rewrite (every page of the file, the
	// state and no event) would put its frames in the WAL index right
	// after the upload, where this test reads it
	defer storage.PauseRewrites(app)()
	big := func() {
		if _, err := app.NonconcurrentDB().NewQuery("CREATE TABLE IF NOT EXISTS shm_test (v TEXT)").Execute(); err != nil {
			t.Fatal(err)
		}
		err := app.RunInTransaction(func(tx core.App) error {
			for range 5000 { // ~5,000 pages: past the first block of 4,062 frames
				if _, err := tx.DB().NewQuery("INSERT INTO shm_test (v) VALUES (printf('%.3000c', 'x'))").Execute(); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := shmPageTables(t, app.DataDir()); n < 4062 {
			t.Fatalf("the large write left %d page numbers: the test would prove nothing", n)
		}
	}
	big()
	if code, out := call(t, srv, http.MethodPost, "/api/songcommons/contribute", tokenFor(t, aliceID), map[string]any{"songs": contributeSongs(2)}); code != 200 {
		t.Fatalf("contribute: %d %v", code, out)
	}
	if n := shmPageTables(t, app.DataDir()); n != 0 {
		t.Fatalf("after an acknowledged upload, data.db-shm holds %d page numbers", n)
	}
	big()
	if code, out := call(t, srv, http.MethodPost, "/api/songcommons/me/consent", tokenFor(t, aliceID), map[string]any{"accept": false}); code != 200 {
		t.Fatalf("consent: %d %v", code, out)
	}
	if n := shmPageTables(t, app.DataDir()); n != 0 {
		t.Fatalf("after an account change, data.db-shm holds %d page numbers", n)
	}
}

// holdsShmLock reports whether this process holds a POSIX lock on
// data.db-shm (/proc/locks names the lock holder's pid and the file's
// inode): SQLite's shared lock there tells other processes that the WAL
// index is in use.
func holdsShmLock(t testing.TB, dataDir string) bool {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dataDir, "data.db-shm"))
	if err != nil {
		t.Fatal(err)
	}
	ino := fi.Sys().(*syscall.Stat_t).Ino
	locks, err := os.ReadFile("/proc/locks")
	if err != nil {
		t.Skip("no /proc/locks here")
	}
	pid := strconv.Itoa(os.Getpid())
	for _, line := range strings.Split(string(locks), "\n") {
		f := strings.Fields(line)
		// "1: POSIX  ADVISORY  READ 1234 fd:01:5678 128 128"
		if len(f) >= 6 && f[1] == "POSIX" && f[4] == pid && strings.HasSuffix(f[5], ":"+strconv.FormatUint(ino, 10)) {
			return true
		}
	}
	return false
}

// Zeroing the WAL index must keep SQLite's locks on it: closing any
// descriptor of the file would drop them, and the next process to open
// the database would reinitialise the index under the running server
// (SIGBUS at the next write).
func TestWALIndexScrubKeepsSQLitesLock(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	if !holdsShmLock(t, app.DataDir()) {
		t.Fatal("no lock on data.db-shm before any scrub: the test would prove nothing")
	}
	srv := serve(t, app) // the server's start-up empties the WAL too
	for range 3 {
		if code, out := call(t, srv, http.MethodPost, "/api/songcommons/contribute", tokenFor(t, aliceID), map[string]any{"songs": contributeSongs(2)}); code != 200 {
			t.Fatalf("contribute: %d %v", code, out)
		}
	}
	if !holdsShmLock(t, app.DataDir()) {
		t.Fatal("the process lost its lock on data.db-shm after the WAL index was scrubbed")
	}
}
