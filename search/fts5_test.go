//go:build fts5proto

package search

// The rejected alternative, measured: SQLite FTS5 in the embedded driver
// (modernc.org/sqlite, the one PocketBase v0.39.11 uses). Run with
//
//	go test ./search -tags fts5proto -run FTS5 -bench FTS5 -benchtime 1x -count 1 -timeout 60m -v
//
// The prototype stores, per song, the terms this package indexes (folded
// with songdata.FoldName, CJK as characters and bigrams) in a contentless
// FTS5 table with prefix indexes, and the song key and contributions in a
// plain table, with the service's connection pragmas (hooks/db.go).

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// the service's pragmas (hooks/db.go, sqlitePragmas)
const ftsPragmas = "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=journal_size_limit(0)" +
	"&_pragma=synchronous(FULL)&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32000)" +
	"&_pragma=secure_delete(ON)"

func openFTS(tb testing.TB, path string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", path+ftsPragmas)
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		`CREATE TABLE songs (id INTEGER PRIMARY KEY, song_key TEXT NOT NULL UNIQUE, contributions INTEGER NOT NULL)`,
		`CREATE VIRTUAL TABLE songs_fts USING fts5(terms, content='', prefix='1 2 3', tokenize='unicode61 remove_diacritics 0')`,
	} {
		if _, err := db.Exec(q); err != nil {
			tb.Fatal(err)
		}
	}
	return db
}

// ftsUpload writes songs in one transaction, as one upload would.
func ftsUpload(tb testing.TB, db *sql.DB, songs []Song, firstID int64) {
	tb.Helper()
	tx, err := db.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	var buf []string
	for i, s := range songs {
		id := firstID + int64(i)
		if _, err := tx.Exec(`INSERT INTO songs(id, song_key, contributions) VALUES (?, ?, ?)`, id, s.Key, s.Contributions); err != nil {
			tb.Fatal(err)
		}
		buf = songTerms(&s, buf)
		if _, err := tx.Exec(`INSERT INTO songs_fts(rowid, terms) VALUES (?, ?)`, id, strings.Join(buf, " ")); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

// ftsMatch is the FTS5 query for a query: every word as a prefix.
func ftsMatch(q string) string {
	var parts []string
	for _, w := range parseQuery(q) {
		if w.optional {
			continue
		}
		t := `"` + strings.ReplaceAll(w.term, `"`, `""`) + `"`
		if w.prefix {
			t += "*"
		}
		parts = append(parts, t)
	}
	return strings.Join(parts, " AND ")
}

// TestFTS5Facts: FTS5 is compiled in, and each transaction's rows go to a
// new segment that holds exactly them, so a copy of data.db taken before
// the next merge shows which songs were uploaded together.
func TestFTS5Facts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data.db")
	db := openFTS(t, path)
	defer db.Close()
	var version string
	var fts5 int
	if err := db.QueryRow(`SELECT sqlite_version(), sqlite_compileoption_used('ENABLE_FTS5')`).Scan(&version, &fts5); err != nil {
		t.Fatal(err)
	}
	t.Logf("SQLite %s, ENABLE_FTS5=%d", version, fts5)
	for _, tok := range []string{"unicode61 remove_diacritics 2", "trigram remove_diacritics 1", "porter unicode61", "ascii"} {
		_, err := db.Exec(fmt.Sprintf(`CREATE VIRTUAL TABLE IF NOT EXISTS tok_%d USING fts5(x, tokenize=%q)`, len(tok), tok))
		t.Logf("tokenizer %q: %v", tok, err)
	}
	// unicode61 on raw names: a CJK run is one token; trigram needs 3 characters
	for _, c := range []struct{ tok, name, q string }{
		{"unicode61 remove_diacritics 2", "東京事変 Beyoncé", "東京"},
		{"unicode61 remove_diacritics 2", "東京事変 Beyoncé", "東京*"},
		{"unicode61 remove_diacritics 2", "東京事変 Beyoncé", "beyonce"},
		{"trigram remove_diacritics 1", "東京事変 Beyoncé", "東京"},
		{"trigram remove_diacritics 1", "東京事変 Beyoncé", "東京事"},
		{"trigram remove_diacritics 1", "東京事変 Beyoncé", "eyon"},
	} {
		db.Exec(`DROP TABLE IF EXISTS probe`)
		if _, err := db.Exec(fmt.Sprintf(`CREATE VIRTUAL TABLE probe USING fts5(x, tokenize=%q)`, c.tok)); err != nil {
			t.Fatal(err)
		}
		db.Exec(`INSERT INTO probe(x) VALUES (?)`, c.name)
		var n int
		err := db.QueryRow(`SELECT count(*) FROM probe WHERE probe MATCH ?`, c.q).Scan(&n)
		t.Logf("%s: %q MATCH %q → %d (%v)", c.tok, c.name, c.q, n, err)
	}

	// three uploads, each with a word of its own
	var id int64 = 1
	segs := func() []int64 { // segment ids in the %_data table
		rows, err := db.Query(`SELECT DISTINCT id >> 37 FROM songs_fts_data WHERE id >> 37 > 0`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []int64
		for rows.Next() {
			var s int64
			rows.Scan(&s)
			out = append(out, s)
		}
		return out
	}
	// (the word's end is what is looked for: a term shares its beginning
	// with the term before it in a segment)
	for u, marker := range []string{"markeralpha", "markerbravo", "markercharlie"} {
		before := segs()
		var songs []Song
		for i := range 50 {
			songs = append(songs, song(fmt.Sprintf("Artist %d %s", i, marker), fmt.Sprint("Common ", i+u*50), "", 1))
		}
		ftsUpload(t, db, songs, id)
		id += 50
		var fresh []int64
		for _, s := range segs() {
			if !slices.Contains(before, s) {
				fresh = append(fresh, s)
			}
		}
		// the blocks of the new segment hold this upload's word and no other's
		for _, s := range fresh {
			var blob []byte
			var all bytes.Buffer
			rows, _ := db.Query(`SELECT block FROM songs_fts_data WHERE id >> 37 = ?`, s)
			for rows.Next() {
				rows.Scan(&blob)
				all.Write(blob)
			}
			rows.Close()
			has := func(m string) bool { return bytes.Contains(all.Bytes(), []byte(strings.TrimPrefix(m, "marker"))) }
			t.Logf("upload %d (%s): new segment %d, %d bytes, holds alpha=%v bravo=%v charlie=%v",
				u, marker, s, all.Len(), has("markeralpha"), has("markerbravo"), has("markercharlie"))
			if !has(marker) || has("markeralpha") != (u == 0) || has("markerbravo") != (u == 1) || has("markercharlie") != (u == 2) {
				t.Errorf("segment %d is not the upload's own", s)
			}
		}
		if len(fresh) != 1 {
			t.Errorf("upload %d: %d new segments", u, len(fresh))
		}
	}
}

// BenchmarkFTS5 builds the 1M-song FTS5 index in uploads of 500 songs (one
// transaction each, with the service's pragmas), then times the benchmark
// queries: the first page ranked by contributions (FTS5 cannot tell whole
// words from prefixes, so this is less than Search does) and a total
// capped at TotalCap+1 rows; then what merging every segment into one
// (the 'optimize' command) costs, the only way for a copy not to keep one
// upload's songs in a segment of their own.
func BenchmarkFTS5(b *testing.B) {
	path := filepath.Join(b.TempDir(), "data.db")
	db := openFTS(b, path)
	defer db.Close()
	const upload = 500
	t0 := time.Now()
	batch := make([]Song, 0, upload)
	for i := uint64(0); i < benchN; i++ {
		batch = append(batch, synthSong(i))
		if len(batch) == upload {
			ftsUpload(b, db, batch, int64(i)+2-upload)
			batch = batch[:0]
		}
	}
	build := time.Since(t0)
	if _, err := db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	size := func() int64 {
		st, err := os.Stat(path)
		if err != nil {
			b.Fatal(err)
		}
		return st.Size()
	}
	var ftsPages int64
	if err := db.QueryRow(`SELECT (SELECT sum(length(block)) FROM songs_fts_data) + (SELECT count(*) * 16 FROM songs_fts_idx)`).Scan(&ftsPages); err != nil {
		b.Fatal(err)
	}
	b.Logf("build: %v for %d songs in uploads of %d; data.db %d MB, FTS5 segment data ≈ %d MB", build, benchN, upload, size()>>20, ftsPages>>20)

	page := `SELECT s.song_key FROM songs_fts f JOIN songs s ON s.id = f.rowid WHERE songs_fts MATCH ? ORDER BY s.contributions DESC, s.song_key LIMIT 20`
	count := fmt.Sprintf(`SELECT count(*) FROM (SELECT 1 FROM songs_fts WHERE songs_fts MATCH ? LIMIT %d)`, TotalCap+1)
	for _, q := range benchQueries {
		m := ftsMatch(q)
		var ts []time.Duration
		var n int
		for range 15 {
			t := time.Now()
			rows, err := db.Query(page, m)
			if err != nil {
				b.Fatal(err)
			}
			for rows.Next() {
			}
			rows.Close()
			if err := db.QueryRow(count, m).Scan(&n); err != nil {
				b.Fatal(err)
			}
			ts = append(ts, time.Since(t))
		}
		slices.Sort(ts)
		b.Logf("query %-18q MATCH %-28q median %8.2f ms  max %8.2f ms  total %d", q, m, ms(ts[len(ts)/2]), ms(ts[len(ts)-1]), n)
	}
	for i := range int64(3) {
		s := synthSong(300_000_000 + uint64(i))
		ftsUpload(b, db, []Song{s}, 300_000_000+i)
		t := time.Now()
		if _, err := db.Exec(`INSERT INTO songs_fts(songs_fts) VALUES('optimize')`); err != nil {
			b.Fatal(err)
		}
		b.Logf("optimize after an upload of one song: %v", time.Since(t))
	}
	for b.Loop() {
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
