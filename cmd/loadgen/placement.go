package main

import (
	"crypto/rand"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/storage"
)

// cmdPlacement measures what one row costs SQLite's single writer on this
// machine, by where the row lands in a B-tree of N entries: appended after
// the last one, or at a random place (as a random rowid, a random
// PocketBase id or a song key put it). It works on a scratch database of
// its own with the service's pragmas, not on a service's data.
//
// A new song uploaded to the service enters 4 tables and about 11 indexes,
// each at a random place (BENCHMARKS.md, "Random placement: the upload
// floor"); the random figures weighted so are therefore a floor under the
// writer's time per uploaded song, whatever the code around them does.
// With --row-sizes uniform, every row is --row-bytes long and every key 15
// characters, smaller than the service's, so that floor is generous. With
// --row-sizes service, a song writes what an upload stores (serviceSong): rows
// and keys of the sizes the service's tables hold, each tree apart.
//
// Two disciplines say what follows each transaction. "background" is the
// design before the privacy work: the WAL checkpoint ran in a goroutine,
// so it is timed apart, once per run. "privacy" is what the journal and
// layout maintenance require before an upload is acknowledged
// (hooks/journal.go, hooks/layout.go): new pages come from a reserve of
// free pages freed in random order, topped up by the service's own code
// (storage.TopUpReserve) when it runs low, and every transaction is followed
// by a wal_checkpoint(TRUNCATE), both timed in. The service's WAL-index
// scrub is not part of this floor.
func cmdPlacement(args []string) error {
	fs := flag.NewFlagSet("placement", flag.ExitOnError)
	dir := fs.String("dir", "", "scratch directory (a placement/ data dir is created in it and deleted at the end)")
	n := fs.Int("rows", 1_000_000, "entries in each B-tree before the measured inserts")
	rowBytes := fs.Int("row-bytes", 400, "payload of a table row (a score row is about 400 bytes)")
	inserts := fs.Int("inserts", 20_000, "measured inserts per run of each per-tree variant")
	txs := fs.String("tx", "500,5000", "rows per transaction of the per-tree variants, comma-separated (ignored with --song-tx)")
	songTx := fs.String("song-tx", "", "songs per transaction, comma-separated (500,25: a /contribute and an /api/batch request): times whole songs, and each tree in transactions of the entries that many songs put in it")
	songs := fs.Int("songs", 2_000, "measured songs per run of the whole-song variant (--song-tx)")
	runs := fs.Int("runs", 3, "repetitions of each variant (median)")
	tables := fs.Float64("tables", 4, "row-holding B-trees a new song enters: score, embedding, songs, song_vectors (for the floor printed at the end)")
	indexes := fs.Float64("indexes", 10.7, "index B-trees a new song enters: per score and embedding row its id, song_key, artist, MBID (1/2 of songs), ISRC (1/3); per songs row its id, song_key, artist")
	fill := fs.String("fill", "ordered", "how the trees are filled: ordered (full pages, as after an import or a compaction) or random (pages about 70% full, as after many uploads); rowids spread over the range the measured rows are drawn from. import: ordered, with the rowids 1…N an import gives, and the measured rows at random 63-bit rowids as the service's uploads (beyond the imported rows)")
	disciplines := fs.String("discipline", "background", "what follows each transaction, comma-separated to measure several on the same trees: background (one checkpoint per run, timed apart) or privacy (reserve top-up when low + wal_checkpoint(TRUNCATE) after every transaction, timed in)")
	perTree := fs.Bool("per-tree", true, "with --song-tx: also time each tree alone (off: whole songs only, a shorter run)")
	ckptConn := fs.String("checkpoint-on", "reader", "the connection that runs the checkpoints: reader (one of the read pool, as hooks/journal.go does) or writer (the connection that wrote the transaction)")
	rowsLike := fs.String("row-sizes", "uniform", "the trees and rows: uniform (one table of --row-bytes rows and one index of 15-character keys) or service (a tree per table and index kind, rows and keys sized as the service stores them; whole songs only)")
	keep := fs.Bool("keep", false, "keep the filled scratch data dir, and measure on it again if it is there (the trees grow by the measured songs, as a service's do)")
	prints := fs.Bool("fingerprints", false, "with --row-sizes service: every song also stores an audio fingerprint as the service does (withFingerprints); use a --dir of its own")
	copies := fs.Int("fingerprint-copies", 1, "with --fingerprints: 1 stores the fingerprint as the service does, once (the score row's text; song_fingerprints holds the song's sketch); 2 as it did before (also the song_fingerprints row's bytes, and a sketch-index entry); use a --dir of its own")
	fs.Parse(args)
	if *rowsLike != "uniform" && *rowsLike != "service" {
		return fmt.Errorf("--row-sizes: %q is neither uniform nor service", *rowsLike)
	}
	service := *rowsLike == "service"
	if service && (*songTx == "" || *perTree) {
		return errors.New("--row-sizes service times whole songs only: give --song-tx and --per-tree=false")
	}
	if *prints {
		if !service {
			return errors.New("--fingerprints needs --row-sizes service")
		}
		if *copies != 1 && *copies != 2 {
			return fmt.Errorf("--fingerprint-copies: %d is neither 1 nor 2", *copies)
		}
		serviceTables, serviceKeys = withFingerprints(serviceTables, serviceKeys, *copies)
	}
	if *ckptConn != "reader" && *ckptConn != "writer" {
		return fmt.Errorf("--checkpoint-on: %q is neither reader nor writer", *ckptConn)
	}
	if *dir == "" {
		return errors.New("--dir is required")
	}
	if *fill != "ordered" && *fill != "random" && *fill != "import" {
		return fmt.Errorf("--fill: %q is not ordered, random or import", *fill)
	}
	sizes, err := positiveInts("--tx", *txs)
	if err != nil {
		return err
	}
	var songSizes []int
	if *songTx != "" {
		if songSizes, err = positiveInts("--song-tx", *songTx); err != nil {
			return err
		}
	}
	var discs []string
	for _, d := range strings.Split(*disciplines, ",") {
		d = strings.TrimSpace(d)
		if d != "background" && d != "privacy" {
			return fmt.Errorf("--discipline: %q is neither background nor privacy", d)
		}
		discs = append(discs, d)
	}

	// a data dir of its own: the service's pragmas (storage.DBConnect) and
	// a PocketBase app, which the reserve code works on
	dataDir := filepath.Join(*dir, "placement")
	reuse := false
	if *keep {
		_, err := os.Stat(filepath.Join(dataDir, "filled"))
		reuse = err == nil
	}
	if !reuse {
		os.RemoveAll(dataDir)
	}
	if !*keep {
		defer os.RemoveAll(dataDir)
	}
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: dataDir, DBConnect: storage.DBConnect})
	if err := app.Bootstrap(); err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	defer app.ResetBootstrapState()
	writer, ok := app.NonconcurrentDB().(*dbx.DB)
	if !ok {
		return errors.New("the writing connection is not a *dbx.DB")
	}
	db := writer.DB() // the single writing connection
	path := filepath.Join(dataDir, "data.db")
	exec := func(q string, args ...any) error {
		_, err := db.Exec(q, args...)
		return err
	}

	// the trees, filled in key order (fast, and compact as after an import)
	// or in a random order (pages left part-full by splits, as after uploads)
	t0 := time.Now()
	payload := make([]byte, *rowBytes)
	rand.Read(payload)
	if reuse {
		st, _ := os.Stat(path)
		fmt.Printf("placement: the trees of a previous run in %s (%.0f MiB), rows %s\n", path, float64(st.Size())/(1<<20), *rowsLike)
	} else if err := fillTrees(db, *n, *fill, service, payload); err != nil {
		return err
	} else {
		if err := exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			return err
		}
		os.WriteFile(filepath.Join(dataDir, "filled"), nil, 0o600)
		st, _ := os.Stat(path)
		if service {
			fmt.Printf("placement: %d songs' rows and keys sized as the service stores them (serviceSong), filled in %s order in %s; %s %.0f MiB\n",
				*n, *fill, time.Since(t0).Round(time.Millisecond), path, float64(st.Size())/(1<<20))
		} else {
			fmt.Printf("placement: %d rows of %d bytes in table r and %d 15-character keys in k, filled in %s order in %s; %s %.0f MiB\n",
				*n, *rowBytes, *n, *fill, time.Since(t0).Round(time.Millisecond), path, float64(st.Size())/(1<<20))
		}
	}
	fmt.Printf("service pragmas (synchronous FULL, WAL, journal_size_limit 0, secure_delete, 32 MB cache), automatic checkpoints off\n")
	if err := exec("PRAGMA wal_autocheckpoint=0"); err != nil {
		return err
	}

	b := &placementBench{app: app, db: db, n: *n, payload: payload, next: int64(*n) << 20, importRowids: *fill == "import",
		tables: *tables, indexes: *indexes, ckptOnWriter: *ckptConn == "writer", service: service,
		rng: mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 7))}
	if service {
		b.tables, b.indexes = float64(len(serviceTables)+1), float64(len(serviceKeys)) // +1: song_vectors
	}
	return b.measureAll(discs, sizes, songSizes, *inserts, *songs, *runs, *perTree)
}

// fillTrees creates and fills the scratch trees with n entries each.
func fillTrees(db *sql.DB, n int, fill string, service bool, payload []byte) error {
	exec := func(q string, args ...any) error {
		_, err := db.Exec(q, args...)
		return err
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	if fill == "random" {
		mrand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	for _, q := range schema(service) {
		if err := exec(q); err != nil {
			return err
		}
	}
	const fillTx = 50_000
	for i := 0; i < n; i += fillTx {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		st, err := prepare(tx, service)
		if err != nil {
			tx.Rollback()
			return err
		}
		for _, j := range order[i:min(i+fillTx, n)] {
			// rowids and keys spread over the whole range, so that the
			// random inserts below fall between existing entries
			if err := fillEntry(st, service, fill == "import", j, n, payload); err != nil {
				st.close()
				tx.Rollback()
				return err
			}
		}
		st.close()
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// fillEntry puts the j-th of n entries in every tree: at rowids spread
// over the range the measured rows are drawn from, or (imported) at the
// small rowids an import gives.
func fillEntry(st stmts, service, imported bool, j, n int, payload []byte) error {
	rowid := int64(j) << 20
	if imported {
		rowid = int64(j+1) << 4 // room for a song's entries of one tree (+e below)
	}
	if !service {
		if _, err := st[insRow].Exec(rowid, payload); err != nil {
			return err
		}
		_, err := st[insKey].Exec(spreadKey(uint64(j), uint64(n)))
		return err
	}
	for _, t := range serviceTables {
		if _, err := st[t.insert()].Exec(rowid, serviceBlob(t.bytes)); err != nil {
			return err
		}
	}
	if _, err := st[insVector].Exec(padKey(spreadKey(uint64(j), uint64(n)), songKeyLen), serviceBlob(vectorRowBytes)); err != nil {
		return err
	}
	for e, k := range serviceKeys { // a tree holds several of a song's entries: distinct rowids
		if _, err := st[k.insert()].Exec(k.key(spreadKey(uint64(j), uint64(n))), rowid+int64(e)); err != nil {
			return err
		}
	}
	return nil
}

// measureAll runs every discipline's variants.
func (b *placementBench) measureAll(discs []string, sizes, songSizes []int, inserts, songs, runs int, perTree bool) error {
	for _, d := range discs {
		b.privacy = d == "privacy"
		if b.privacy {
			// as the service at start-up (bindLayout): the reserve first
			if err := storage.TopUpReserve(b.app); err != nil {
				return fmt.Errorf("reserve: %w", err)
			}
			if err := b.checkpoint(); err != nil {
				return err
			}
			fmt.Printf("\ndiscipline privacy: after every transaction a reserve top-up when fewer free pages are left than the service allows (storage.TopUpReserve), then wal_checkpoint(TRUNCATE); both timed in. Free pages at the start: %d\n", b.freePages())
		} else {
			fmt.Printf("\ndiscipline background: checkpoints off while timing, then one TRUNCATE checkpoint per run, timed apart\n")
		}
		if songSizes == nil {
			if err := b.perTree(d, sizes, inserts, runs); err != nil {
				return err
			}
			continue
		}
		for _, s := range songSizes {
			if err := b.wholeSongs(d, s, songs, inserts, runs, perTree); err != nil {
				return err
			}
		}
	}
	return nil
}

const insRow, insKey = "INSERT INTO r (rowid, v) VALUES (?, ?)", "INSERT INTO k (id) VALUES (?)"

// What one new song stores in the service (--row-sizes service), as measured on
// a 1M-song data dir of synthetic songs (loadgen dump, imported): a score
// row of about 292 bytes of column values, an embedding row of 2,480 (the
// 200-d vector as JSON text: one row per 4 KiB page), a songs row of 305,
// and a song_vectors row of 843 (the vector as a float32 blob) in its
// WITHOUT ROWID tree keyed by model and song key. Each table row sits at a
// random rowid. The indexes get 13 entries: score and embedding index their
// id (15 characters), song key (about 35; embedding's with the model),
// artist (about 14), MBID and ISRC (empty: the entry is ordered by rowid,
// at a random place among the others); songs indexes its id, song key and
// artist.
type serviceTable struct {
	name  string
	bytes int
}

func (t serviceTable) insert() string {
	return "INSERT INTO " + t.name + " (rowid, v) VALUES (?, ?)"
}

var serviceTables = []serviceTable{{"score", 292}, {"embedding", 2480}, {"songs", 305}}

const (
	vectorRowBytes = 843
	songKeyLen     = 35
	insVector      = "INSERT INTO song_vectors (k, v) VALUES (?, ?)"
)

// withFingerprints are the tables and index entries of a new song that
// carries an audio fingerprint (--fingerprints), as measured on the 1M
// fingerprinted data dir (synthetic 120 s fingerprints): the score row
// holds the fingerprint's 3,612-character text besides its 292 bytes, and
// the song's song_fingerprints row (its id a hash of the song key: a
// random rowid) its song key, duration and 97-byte sketch, 148 bytes.
// With copies 2, the layout before the fingerprint was stored once: the
// song_fingerprints row also held the 2,708-byte fingerprint (2,856
// bytes), and idx_song_fingerprints_sketch got an entry of the duration
// and the sketch (about 110 bytes).
func withFingerprints(tables []serviceTable, keys []serviceKey, copies int) ([]serviceTable, []serviceKey) {
	tables = slices.Clone(tables)
	for i := range tables {
		if tables[i].name == "score" {
			tables[i].bytes += 3612
		}
	}
	if copies == 1 {
		return append(tables, serviceTable{"song_fingerprints", 148}), keys
	}
	tables = append(tables, serviceTable{"song_fingerprints", 2856})
	return tables, append(slices.Clone(keys), serviceKey{"ix_sketch", 110})
}

// serviceKey is one index entry a song adds: its tree, and the length of
// its key (0: an empty key, ordered by rowid).
type serviceKey struct {
	tree string
	len  int
}

func (k serviceKey) insert() string {
	return "INSERT INTO " + k.tree + " (k, r) VALUES (?, ?)"
}

// key is the entry's key from a 15-character sortable prefix.
func (k serviceKey) key(prefix string) string {
	if k.len == 0 {
		return ""
	}
	return padKey(prefix, k.len)
}

var serviceKeys = func() []serviceKey {
	var out []serviceKey
	for range 2 { // score, embedding
		out = append(out, serviceKey{"ix_id", 15}, serviceKey{"ix_song_key", songKeyLen}, serviceKey{"ix_artist", 14},
			serviceKey{"ix_mbid", 0}, serviceKey{"ix_isrc", 0})
	}
	return append(out, serviceKey{"ix_id", 15}, serviceKey{"ix_song_key", songKeyLen}, serviceKey{"ix_artist", 14})
}()

// padKey pads a sortable prefix to n characters (the order stays the
// prefix's).
func padKey(prefix string, n int) string {
	if len(prefix) >= n {
		return prefix[:n]
	}
	return prefix + strings.Repeat("~", n-len(prefix))
}

// serviceBlob is a row of n random bytes (SQLite stores them as they
// are: only the size matters).
func serviceBlob(n int) []byte { return blobBytes[:n] }

var blobBytes = func() []byte {
	b := make([]byte, 4096)
	rand.Read(b)
	return b
}()

// schema is the scratch trees.
func schema(service bool) []string {
	if !service {
		return []string{"CREATE TABLE r (v BLOB NOT NULL)", "CREATE TABLE k (id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID"}
	}
	var out []string
	for _, t := range serviceTables {
		out = append(out, "CREATE TABLE "+t.name+" (v BLOB NOT NULL)")
	}
	out = append(out, "CREATE TABLE song_vectors (k TEXT PRIMARY KEY NOT NULL, v BLOB NOT NULL) WITHOUT ROWID")
	seen := map[string]bool{}
	for _, k := range serviceKeys {
		if !seen[k.tree] {
			seen[k.tree] = true
			out = append(out, "CREATE TABLE "+k.tree+" (k TEXT NOT NULL, r INTEGER NOT NULL, PRIMARY KEY (k, r)) WITHOUT ROWID")
		}
	}
	return out
}

// stmts are a transaction's prepared inserts, by SQL.
type stmts map[string]*sql.Stmt

func (s stmts) close() {
	for _, st := range s {
		st.Close()
	}
}

// prepare prepares the inserts of the scratch trees in tx.
func prepare(tx *sql.Tx, service bool) (stmts, error) {
	qs := []string{insRow, insKey}
	if service {
		qs = []string{insVector}
		for _, t := range serviceTables {
			qs = append(qs, t.insert())
		}
		for _, k := range serviceKeys {
			qs = append(qs, k.insert())
		}
	}
	out := stmts{}
	for _, q := range qs {
		if out[q] != nil {
			continue
		}
		st, err := tx.Prepare(q)
		if err != nil {
			out.close()
			return nil, err
		}
		out[q] = st
	}
	return out, nil
}

// placementBench is the scratch database and what the variants share.
type placementBench struct {
	app             core.App
	db              *sql.DB // the writing connection
	n               int
	payload         []byte
	next            int64 // the next appended rowid
	rng             *mrand.Rand
	tables, indexes float64
	privacy         bool
	ckptOnWriter    bool
	service         bool // --row-sizes service
	importRowids    bool // --fill import
}

// unit inserts one measured unit (an entry, or a whole song) in a transaction.
type unit func(st stmts) error

func (b *placementBench) appendRow(st stmts) error {
	b.next++
	_, err := st[insRow].Exec(b.next, b.payload)
	return err
}

// randomRowid is a measured row's rowid: among the filled rows, or (after
// an import fill) anywhere in the positive 63-bit range, as
// contribute.RandomRowid draws it.
func (b *placementBench) randomRowid() int64 {
	if b.importRowids {
		return b.rng.Int64() | 1
	}
	return b.rng.Int64N(int64(b.n)<<20) | 1
}

func (b *placementBench) randomRow(st stmts) error {
	return ignoreUnique(st[insRow].Exec(b.randomRowid(), b.payload))
}

func (b *placementBench) randomKey(st stmts) error {
	return ignoreUnique(st[insKey].Exec(randomKey(b.rng)))
}

// song inserts what one new song puts in the trees: b.tables rows and
// b.indexes keys (a fraction as a chance), each at a random place; with
// --row-sizes service, serviceSong.
func (b *placementBench) song(st stmts) error {
	if b.service {
		return b.serviceSong(st)
	}
	for range int(b.tables) + b.chance(b.tables) {
		if err := b.randomRow(st); err != nil {
			return err
		}
	}
	for range int(b.indexes) + b.chance(b.indexes) {
		if err := b.randomKey(st); err != nil {
			return err
		}
	}
	return nil
}

// serviceSong inserts what an upload stores for one new song (with a
// musicnn vector): a row in each table at a random rowid, its song_vectors
// row and its 13 index entries, each at a random place.
func (b *placementBench) serviceSong(st stmts) error {
	for _, t := range serviceTables {
		if err := ignoreUnique(st[t.insert()].Exec(b.randomRowid(), serviceBlob(t.bytes))); err != nil {
			return err
		}
	}
	if err := ignoreUnique(st[insVector].Exec(padKey(randomKey(b.rng), songKeyLen), serviceBlob(vectorRowBytes))); err != nil {
		return err
	}
	for _, k := range serviceKeys {
		if err := ignoreUnique(st[k.insert()].Exec(k.key(randomKey(b.rng)), b.randomRowid())); err != nil {
			return err
		}
	}
	return nil
}

// chance is 1 with the probability of x's fractional part.
func (b *placementBench) chance(x float64) int {
	if b.rng.Float64() < x-math.Floor(x) {
		return 1
	}
	return 0
}

func ignoreUnique(_ sql.Result, err error) error {
	if err != nil && strings.Contains(err.Error(), "UNIQUE") {
		return nil
	}
	return err
}

// spent is one run's time by part, and the reserve's use.
type spent struct {
	write, topUp, checkpoint time.Duration // write: inserts and commit
	topUps, pagesTaken       int
}

func (s spent) total() time.Duration { return s.write + s.topUp + s.checkpoint }

// run inserts units of fn in transactions of perTx units, with the
// discipline's work after each transaction (privacy) or after the run
// (background).
func (b *placementBench) run(perTx, units int, fn unit) (spent, error) {
	var s spent
	for done := 0; done < units; done += perTx {
		free := 0
		if b.privacy {
			free = b.freePages()
		}
		start := time.Now()
		tx, err := b.db.Begin()
		if err != nil {
			return s, err
		}
		st, err := prepare(tx, b.service)
		if err != nil {
			tx.Rollback()
			return s, err
		}
		for range min(perTx, units-done) {
			if err := fn(st); err != nil {
				st.close()
				tx.Rollback()
				return s, err
			}
		}
		st.close()
		if err := tx.Commit(); err != nil {
			return s, err
		}
		s.write += time.Since(start)
		if !b.privacy {
			continue
		}
		left := b.freePages()
		s.pagesTaken += free - left
		t := time.Now()
		if err := storage.TopUpReserve(b.app); err != nil {
			return s, fmt.Errorf("reserve: %w", err)
		}
		s.topUp += time.Since(t)
		if b.freePages() > left {
			s.topUps++
		}
		t = time.Now()
		if err := b.checkpoint(); err != nil {
			return s, err
		}
		s.checkpoint += time.Since(t)
	}
	if !b.privacy {
		t := time.Now()
		if err := b.checkpoint(); err != nil {
			return s, err
		}
		s.checkpoint = time.Since(t)
	}
	return s, nil
}

// checkpoint empties the WAL as the service does (hooks/journal.go,
// without the WAL-index scrub), on a connection of the read pool or, with
// --checkpoint-on writer, on the writing connection.
func (b *placementBench) checkpoint() error {
	var busy, logFrames, done int
	const q = "PRAGMA wal_checkpoint(TRUNCATE)"
	var err error
	if b.ckptOnWriter {
		err = b.db.QueryRow(q).Scan(&busy, &logFrames, &done)
	} else {
		err = b.app.DB().NewQuery(q).Row(&busy, &logFrames, &done)
	}
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if busy != 0 {
		return errors.New("checkpoint: busy")
	}
	return nil
}

func (b *placementBench) freePages() int {
	var n int
	b.app.DB().NewQuery("PRAGMA freelist_count").Row(&n)
	return n
}

// measured is the median over runs of each part, in µs per unit.
type measured struct {
	total, write, topUp, checkpoint, topUps, pages float64
	cpu                                            float64 // this process's CPU time (all threads), µs per unit
	runs                                           []float64
}

func (b *placementBench) measure(perTx, units, runs int, fn unit) (measured, error) {
	var tot, w, tu, c, n, p, cpu []float64
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(units) }
	for range runs {
		cpu0 := selfCPU()
		s, err := b.run(perTx, units, fn)
		if err != nil {
			return measured{}, err
		}
		cpu = append(cpu, us(selfCPU()-cpu0))
		tot, w, tu, c = append(tot, us(s.total())), append(w, us(s.write)), append(tu, us(s.topUp)), append(c, us(s.checkpoint))
		n, p = append(n, float64(s.topUps)), append(p, float64(s.pagesTaken)/float64(units))
	}
	return measured{median(tot), median(w), median(tu), median(c), median(n), median(p), median(cpu), tot}, nil
}

func (m measured) String() string {
	return fmt.Sprintf("%7.1f µs = write %6.1f + top-ups %5.1f + checkpoint %5.1f; CPU %6.1f µs  (runs: %s)",
		m.total, m.write, m.topUp, m.checkpoint, m.cpu, fmtRuns(m.runs))
}

// perTree times each tree alone in transactions of the given sizes, and
// weighs the random ones into a floor per song.
func (b *placementBench) perTree(disc string, sizes []int, inserts, runs int) error {
	variants := []struct {
		name string
		fn   unit
	}{
		{"append to table (next rowid)", b.appendRow},
		{"table at a random rowid", b.randomRow},
		{"index at a random key (a PocketBase id)", b.randomKey},
	}
	results := map[int][]float64{}
	for _, size := range sizes {
		for _, v := range variants {
			m, err := b.measure(size, inserts, runs, v.fn)
			if err != nil {
				return err
			}
			results[size] = append(results[size], m.total)
			fmt.Printf("  %5d rows/tx  %-40s %s\n", size, v.name, m)
		}
	}
	for _, size := range sizes {
		r, k := results[size][1], results[size][2]
		per := b.tables*r + b.indexes*k
		fmt.Printf("%s floor at %d rows/tx: %.1f table rows x %.1f µs + %.1f index entries x %.1f µs = %.0f µs per song = at most %.0f songs/s from one writer\n",
			disc, size, b.tables, r, b.indexes, k, per, 1e6/per)
	}
	return nil
}

// wholeSongs times transactions of songsPerTx whole songs (the floor), and
// each tree alone in transactions of the entries those songs put in it.
func (b *placementBench) wholeSongs(disc string, songsPerTx, songs, inserts, runs int, perTree bool) error {
	rowsTx := max(1, int(math.Round(b.tables*float64(songsPerTx))))
	keysTx := max(1, int(math.Round(b.indexes*float64(songsPerTx))))
	fmt.Printf("  %d songs per transaction:\n", songsPerTx)
	var r, k measured
	var err error
	if perTree {
		if r, err = b.measure(rowsTx, inserts, runs, b.randomRow); err != nil {
			return err
		}
		fmt.Printf("    %5d rows/tx  %-32s %s\n", rowsTx, "table at a random rowid", r)
		if k, err = b.measure(keysTx, inserts, runs, b.randomKey); err != nil {
			return err
		}
		fmt.Printf("    %5d keys/tx  %-32s %s\n", keysTx, "index at a random key", k)
	}
	s, err := b.measure(songsPerTx, songs, runs, b.song)
	if err != nil {
		return err
	}
	fmt.Printf("    %5d songs/tx %-32s %s\n", songsPerTx, "whole songs, µs per song", s)
	if b.privacy {
		fmt.Printf("    reserve: %.2f pages taken per song, %.0f top-ups per run of %d songs (medians)\n", s.pages, s.topUps, songs)
	}
	fmt.Printf("%s floor at %d songs/tx: %.0f µs per song = at most %.0f songs/s from one writer (whole songs); CPU %.0f µs per song\n", disc, songsPerTx, s.total, 1e6/s.total, s.cpu)
	if !perTree {
		return nil
	}
	per := b.tables*r.total + b.indexes*k.total
	fmt.Printf("%s floor at %d songs/tx, per tree: "+
		"%.1f x %.1f + %.1f x %.1f = %.0f µs (%.0f songs/s; counts each transaction's commit and checkpoint once per tree)\n",
		disc, songsPerTx, b.tables, r.total, b.indexes, k.total, per, 1e6/per)
	return nil
}

func positiveInts(flagName, list string) ([]int, error) {
	var out []int
	for _, s := range strings.Split(list, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%s: %q is not a positive number", flagName, s)
		}
		out = append(out, v)
	}
	return out, nil
}

// spreadKey is the i-th of n 15-character keys in sorted order, spread
// over the key space of randomKey.
func spreadKey(i, n uint64) string {
	return fmt.Sprintf("%015x", i*(1<<60/n))
}

// randomKey is a random key of the same shape as spreadKey's.
func randomKey(r *mrand.Rand) string {
	return fmt.Sprintf("%015x", r.Uint64N(1<<60))
}

func fmtRuns(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strings.Join(s, ", ")
}
