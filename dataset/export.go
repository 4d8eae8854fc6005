package dataset

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/songdata"
)

// The dump is ordered by song key, then by content: nothing in it follows
// the rows' ids, rowids or insertion order, and the same rows always give
// the same bytes. Ids, receipt tags and the hidden vec column are never
// read. {{where}} selects one page of song keys.
var (
	scoreQuery = "SELECT song_key, " + songdata.Columns(scoreFields) + ", tags_key FROM score WHERE {{where}}" +
		" ORDER BY " + scoreOrder
	embeddingQuery = "SELECT song_key, " + songdata.Columns(identityFields) + ", tags_key, model, embedding" +
		" FROM embedding WHERE {{where}} ORDER BY " + embeddingOrder
)

// The dump's order within a song: by content, every field of a row (a
// test checks that no field is left out), the rows filed under their own
// tags first (tags_key ""), and among rows of the same tags those with a
// fingerprint first: an import then makes the song from them, the rows
// that joined it by fingerprint under other tags join it again, and those
// without one follow their tags' alias.
const (
	scoreOrder = "song_key, tags_key, fingerprint DESC, artist, title, album, duration, mbid, isrc, analyzer," +
		" tempo, key, scale, energy, mood_vector, other_features"
	embeddingOrder = "song_key, tags_key, model, artist, title, album, duration, mbid, isrc, analyzer, embedding"
)

// PageSongs is how many songs an export reads per read transaction. Each
// page is a consistent snapshot of its songs, read into memory in one
// short transaction and written out after it ends: a slow download never
// holds a snapshot (and so never keeps a checkpoint from emptying the WAL).
const PageSongs = 1000

// ExportStats counts the rows an export wrote.
type ExportStats struct {
	Score     int64 `json:"score"`
	Embedding int64 `json:"embedding"`
}

// Rows is the number of rows (lines) written.
func (s ExportStats) Rows() int64 { return s.Score + s.Embedding }

// CountRows returns how many rows an export of format f writes.
func CountRows(app core.App, f Format) (int64, error) {
	tables := []string{"score", "embedding"}
	if f == CSV {
		tables = tables[:1]
	}
	var total int64
	for _, t := range tables {
		var n int64
		if err := app.ConcurrentDB().NewQuery("SELECT COUNT(*) FROM {{" + t + "}}").Row(&n); err != nil {
			return 0, fmt.Errorf("counting %s rows: %w", t, err)
		}
		total += n
	}
	return total, nil
}

// Export writes the whole dataset to w in format f, a page of PageSongs
// songs at a time: each page is read in its own read transaction into
// memory (a song's rows always come from one snapshot), and written to w
// once that transaction has ended, so memory holds one page and a slow w
// holds no snapshot. progress, when not nil, is called with the number of
// rows written so far, every few thousand rows and at the end.
func Export(ctx context.Context, app core.App, w io.Writer, f Format, progress func(rows int64)) (ExportStats, error) {
	return export(ctx, app, w, f, progress, PageSongs)
}

func export(ctx context.Context, app core.App, w io.Writer, f Format, progress func(rows int64), pageSongs int) (ExportStats, error) {
	var st ExportStats
	var buf bytes.Buffer
	report := func() {
		if progress != nil {
			progress(st.Rows())
		}
	}
	var cw *csv.Writer
	if f == CSV {
		cw = csv.NewWriter(&buf)
		if err := cw.Write(scoreColumns); err != nil {
			return st, err
		}
	}
	p := page{first: true, size: pageSongs}
	for {
		if err := p.next(ctx, app); err != nil {
			return st, err
		}
		err := readSnapshot(ctx, app, func(db dbx.Builder) error {
			if f == CSV {
				if err := exportCSV(ctx, db, p, cw, &st, report); err != nil {
					return err
				}
				cw.Flush()
				return cw.Error()
			}
			return exportJSONL(ctx, db, p, &buf, &st, report)
		})
		if err != nil {
			return st, err
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return st, err
		}
		buf.Reset()
		if p.last {
			break
		}
	}
	report()
	return st, nil
}

// page is a range of song keys: (lower, upper], without a lower bound on
// the first page and without an upper bound on the last. The ranges of an
// export follow each other, so every row is in exactly one page.
type page struct {
	size         int
	first, last  bool
	lower, upper string
	bounded      bool // upper is set
}

// next moves to the next p.size songs (the songs table has one row per
// song key, indexed).
func (p *page) next(ctx context.Context, app core.App) error {
	if p.bounded {
		p.lower, p.first = p.upper, false
	}
	q := "SELECT song_key FROM songs ORDER BY song_key LIMIT 1 OFFSET {:n}"
	if !p.first {
		q = "SELECT song_key FROM songs WHERE song_key > {:lo} ORDER BY song_key LIMIT 1 OFFSET {:n}"
	}
	var keys []string
	if err := app.ConcurrentDB().NewQuery(q).WithContext(ctx).
		Bind(dbx.Params{"lo": p.lower, "n": max(p.size, 1) - 1}).Column(&keys); err != nil {
		return fmt.Errorf("paging the export: %w", err)
	}
	if len(keys) == 0 {
		p.last = true
	} else {
		p.upper, p.bounded = keys[0], true
	}
	return nil
}

// where is the page's condition on song_key.
func (p page) where() (string, dbx.Params) {
	// (song_key >= '' is every key; written out, it keeps SQLite on the
	// song_key index instead of sorting a whole table)
	switch {
	case p.first && p.last:
		return "song_key >= ''", nil
	case p.first:
		return "song_key >= '' AND song_key <= {:hi}", dbx.Params{"hi": p.upper}
	case p.last:
		return "song_key > {:lo}", dbx.Params{"lo": p.lower}
	}
	return "song_key > {:lo} AND song_key <= {:hi}", dbx.Params{"lo": p.lower, "hi": p.upper}
}

// readSnapshot runs read in a read transaction on the concurrent (read)
// pool, so that the score and embedding cursors of a page see the same
// state of the data.
func readSnapshot(ctx context.Context, app core.App, read func(dbx.Builder) error) error {
	b := app.ConcurrentDB()
	db, ok := b.(*dbx.DB)
	if !ok { // already inside a transaction
		return read(b)
	}
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("starting an export transaction: %w", err)
	}
	defer tx.Rollback()
	return read(tx)
}

// scanTargets are the scan destinations of a row's columns, by the kind
// of each field (a NULL, which no write path stores, reads as empty or 0),
// and set copies them into the row.
type scanTargets struct {
	dst   []any
	names []string
}

func newScanTargets(fs []songdata.Field, extra ...string) *scanTargets {
	t := &scanTargets{}
	for _, n := range append([]string{"song_key"}, songdata.Names(fs)...) {
		t.names = append(t.names, n)
		if f, ok := songdata.FieldByName(n); ok && f.Kind == songdata.Number {
			t.dst = append(t.dst, &sql.NullFloat64{})
		} else {
			t.dst = append(t.dst, &sql.NullString{})
		}
	}
	for _, n := range extra {
		t.names = append(t.names, n)
		t.dst = append(t.dst, &sql.NullString{})
	}
	return t
}

// set stores each scanned value where ref(name) points.
func (t *scanTargets) set(ref func(name string) any) {
	for i, n := range t.names {
		switch p := ref(n).(type) {
		case *string:
			*p = t.dst[i].(*sql.NullString).String
		case *float64:
			*p = t.dst[i].(*sql.NullFloat64).Float64
		}
	}
}

// cursor reads the rows of one table in dump order, one at a time into
// row: ok says whether row holds one, err why the reading stopped early.
type cursor[R any] struct {
	rows *dbx.Rows
	row  R
	ok   bool
	err  error
	what string
	scan *scanTargets
	ref  func(r *R, name string) any // where each column's value goes
}

func openCursor[R any](ctx context.Context, db dbx.Builder, p page, query, what string, scan *scanTargets, ref func(*R, string) any) (*cursor[R], error) {
	where, params := p.where()
	rows, err := db.NewQuery(strings.Replace(query, "{{where}}", where, 1)).Bind(params).WithContext(ctx).Rows()
	if err != nil {
		return nil, fmt.Errorf("reading %s rows: %w", what, err)
	}
	c := &cursor[R]{rows: rows, what: what, scan: scan, ref: ref}
	c.next()
	return c, c.err
}

func (c *cursor[R]) next() {
	c.ok = false
	if c.err != nil || !c.rows.Next() {
		if c.err == nil {
			c.err = c.rows.Err()
		}
		return
	}
	if err := c.rows.Scan(c.scan.dst...); err != nil {
		c.err = fmt.Errorf("reading a %s row: %w", c.what, err)
		return
	}
	var zero R
	c.row = zero
	c.scan.set(func(name string) any { return c.ref(&c.row, name) })
	c.ok = true
}

func (c *cursor[R]) close() { _ = c.rows.Close() }

// openScores reads a page's score rows in dump order.
func openScores(ctx context.Context, db dbx.Builder, p page) (*cursor[songdata.Score], error) {
	return openCursor(ctx, db, p, scoreQuery, "score", newScanTargets(scoreFields, "tags_key"),
		func(r *songdata.Score, name string) any {
			switch name {
			case "song_key":
				return &r.SongKey
			case "tags_key":
				return &r.TagsKey
			}
			return r.Ref(name)
		})
}

// openEmbeddings reads a page's embedding rows in dump order.
func openEmbeddings(ctx context.Context, db dbx.Builder, p page) (*cursor[embeddingRow], error) {
	return openCursor(ctx, db, p, embeddingQuery, "embedding", newScanTargets(identityFields, "tags_key", "model", "embedding"),
		func(r *embeddingRow, name string) any {
			switch name {
			case "song_key":
				return &r.SongKey
			case "tags_key":
				return &r.TagsKey
			case "model":
				return &r.Model
			case "embedding":
				return &r.Vector
			}
			return r.Identity.Ref(name)
		})
}

// progressEvery is how many rows pass between two progress calls.
const progressEvery = 4096

// exportJSONL merges the two ordered cursors: for each song key, its score
// rows, then its embedding rows.
func exportJSONL(ctx context.Context, db dbx.Builder, p page, w *bytes.Buffer, st *ExportStats, report func()) error {
	sc, err := openScores(ctx, db, p)
	if err != nil {
		return err
	}
	defer sc.close()
	ec, err := openEmbeddings(ctx, db, p)
	if err != nil {
		return err
	}
	defer ec.close()

	buf := make([]byte, 0, 8<<10)
	for sc.ok || ec.ok {
		if sc.ok && (!ec.ok || sc.row.SongKey <= ec.row.SongKey) {
			buf = appendScoreJSON(buf[:0], &sc.row)
			st.Score++
			sc.next()
		} else {
			buf = appendEmbeddingJSON(buf[:0], &ec.row)
			st.Embedding++
			ec.next()
		}
		w.Write(buf)
		if st.Rows()%progressEvery == 0 {
			report()
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	if sc.err != nil {
		return sc.err
	}
	return ec.err
}

// exportCSV writes the score rows of a page as CSV records.
func exportCSV(ctx context.Context, db dbx.Builder, p page, cw *csv.Writer, st *ExportStats, report func()) error {
	sc, err := openScores(ctx, db, p)
	if err != nil {
		return err
	}
	defer sc.close()
	rec := make([]string, 0, len(scoreFields))
	for ; sc.ok; sc.next() {
		rec = scoreCSV(&sc.row, rec)
		if err := cw.Write(rec); err != nil {
			return err
		}
		st.Score++
		if st.Score%progressEvery == 0 {
			report()
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	return sc.err
}
