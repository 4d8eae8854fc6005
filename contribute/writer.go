// Package contribute stores contributions: it is the one write path of
// the service. PocketBase's record routes and /api/batch (through the
// record hooks and the batch fast path), /api/songcommons/contribute and
// the import command all reach the score and embedding tables through it,
// so that each privacy step is written once: the validator's hand-off
// (songdata), server-chosen random ids, random rowids, the rows of one
// upload written in a random order, receipt tags, the songs table's
// consensus and the similarity indexes kept in step, and uploads run under
// the journal discipline (no copy of the files orders account events
// against uploads).
package contribute

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/internal/parallel"
	"songcommons/similarity"
	"songcommons/songdata"
	"songcommons/songprint"
	"songcommons/songsearch"
	"songcommons/storage"
)

// Journal is the discipline contribution writes run under: the WAL is
// emptied before a contribution write is acknowledged, and account
// writes never run at the same time.
type Journal interface {
	// ContributionThen runs fn, then (after a nil error) then, which
	// may overlap the journal's own work after the commit.
	ContributionThen(fn func() error, then func()) error
}

// Writer stores contributions in one app.
type Writer struct {
	app     core.App
	index   *similarity.Indexes // nil: no index to keep in step (offline)
	search  *songsearch.Index   // nil: no search index to keep in step (offline)
	prints  *songprint.Index    // nil: no fingerprint index (offline: identity by the stored rows only)
	journal Journal             // nil: writes run as they are (offline)

	// printsMu is held by an upload carrying fingerprints from the moment
	// it decides its songs' identity until the fingerprint index holds
	// what it stored: two uploads of one new recording under different
	// tags otherwise both find no match and make two songs.
	printsMu sync.Mutex
}

// New returns the write path of app: index (may be nil) is kept in step
// with the stored embeddings, and uploads run under journal (may be nil
// for an offline process that no request writes to).
func New(app core.App, index *similarity.Indexes, journal Journal) *Writer {
	return &Writer{app: app, index: index, journal: journal}
}

// WithSearch makes the write path keep the search index ix in step with
// the songs table too, and returns w.
func (w *Writer) WithSearch(ix *songsearch.Index) *Writer {
	w.search = ix
	return w
}

// WithPrints makes the write path decide identity with the fingerprint
// index ix and keep it in step with song_fingerprints, and returns w.
func (w *Writer) WithPrints(ix *songprint.Index) *Writer {
	w.prints = ix
	return w
}

// StoredIDs are the row ids an upload created, in request order.
type StoredIDs struct {
	Score     []string        `json:"score"`
	Embedding []string        `json:"embedding"`
	Songs     []StoredSongIDs `json:"songs"`
	// Timing is how long the upload's phases took (the route's
	// Server-Timing).
	Timing Timing `json:"-"`
}

// Timing is how long the phases of an upload took: deciding the songs'
// identity, the transaction that writes the rows, the in-memory indexes
// following the commit, and the journal's work after it (layout
// maintenance and emptying the WAL, which the index refresh overlaps),
// and all of Upload.
type Timing struct {
	Identity, Write, Indexes, Total time.Duration
}

// StoredSongIDs are the row ids of one song of the upload, and the song
// they were filed under.
type StoredSongIDs struct {
	Score     string            `json:"score,omitempty"`
	Embedding map[string]string `json:"embedding,omitempty"`
	Identity  *Resolution       `json:"identity,omitempty"`
}

// Upload stores a contributor's validated contributions in one
// transaction, all or nothing, under the journal's Contribution
// discipline: rows get random ids and random rowids, are inserted in a
// random order (so the file layout does not follow the request), carry a
// receipt tag when a secret is given, and the songs and song_vectors rows
// follow; after the commit, the similarity index follows. Statements are
// prepared once per transaction, one query finds which songs exist, and
// the consensus of a song new to the database is computed from the upload
// itself instead of being read back.
//
// The in-memory indexes follow the commit while the journal empties the
// WAL (both only read or copy what is committed), and Upload returns once
// both are done: an acknowledged upload is in the indexes.
func (w *Writer) Upload(songs []songdata.Contribution, secret string) (StoredIDs, error) {
	t0 := time.Now()
	var ids StoredIDs
	var refresh func()
	write := func() (err error) {
		ids, refresh, err = w.write(songs, secret, false)
		return err
	}
	then := func() {
		t := time.Now()
		refresh()
		ids.Timing.Indexes = time.Since(t)
	}
	err := w.underJournal(write, then)
	ids.Timing.Total = time.Since(t0)
	return ids, err
}

// underJournal runs fn, a write of contributed rows, under the journal's
// Contribution discipline, and then (if not nil) after it succeeded,
// overlapping the journal's work after the commit (without a journal:
// one after the other).
func (w *Writer) underJournal(fn func() error, then func()) error {
	if w.journal != nil {
		return w.journal.ContributionThen(fn, then)
	}
	err := fn()
	if err == nil && then != nil {
		then()
	}
	return err
}

// Store is Upload for a caller that runs under the journal's
// Contribution discipline already (a batch request, which the journal's
// request hook encloses; the journal is not re-entrant).
func (w *Writer) Store(songs []songdata.Contribution, secret string) (StoredIDs, error) {
	return w.store(songs, secret, false)
}

// Import stores an operator's bulk import of a dump: like Upload, but the
// rows are written in input order with SQLite's next rowids instead of in
// a random order with random rowids, and without the journal (an offline
// process). A dump is ordered by song key (content, never by upload or
// account), so its order is public; written in that order, every b-tree
// keyed by song key or rowid grows at its end, which makes a large import
// several times faster. Contributions from users never take this path.
func (w *Writer) Import(songs []songdata.Contribution) (StoredIDs, error) {
	return w.store(songs, "", true)
}

// store writes the rows, then makes the indexes follow.
func (w *Writer) store(songs []songdata.Contribution, secret string, inOrder bool) (StoredIDs, error) {
	ids, refresh, err := w.write(songs, secret, inOrder)
	if err != nil {
		return StoredIDs{}, err
	}
	refresh()
	return ids, nil
}

type pendingRow struct {
	table  string
	params dbx.Params
}

// write decides the songs' identity and commits the rows in one
// transaction; refresh, to be called once after a nil error, makes the
// in-memory indexes follow the commit.
func (w *Writer) write(songs []songdata.Contribution, secret string, inOrder bool) (_ StoredIDs, refresh func(), err error) {
	app := w.app
	unlock := func() {}
	if w.prints != nil && slices.ContainsFunc(songs, func(c songdata.Contribution) bool { return c.Fingerprint != nil }) {
		// identity, the write and the index refresh, one such upload at a
		// time (the write is one at a time anyway: SQLite has one writer)
		w.printsMu.Lock()
		unlock = w.printsMu.Unlock
	}
	defer func() {
		if err != nil {
			unlock()
		}
	}()
	t0 := time.Now()
	ids := StoredIDs{Score: []string{}, Embedding: []string{}, Songs: make([]StoredSongIDs, len(songs))}
	resolved, err := w.Resolve(songs)
	if err != nil {
		return StoredIDs{}, nil, err
	}
	ids.Timing.Identity = time.Since(t0)
	for i := range resolved {
		if resolved[i].SongKey != "" {
			ids.Songs[i].Identity = &resolved[i]
		}
	}
	var rows []pendingRow
	inputs := map[string]*songInput{}
	var keys []string
	input := func(k string) *songInput {
		in := inputs[k]
		if in == nil {
			in = &songInput{}
			inputs[k] = in
			keys = append(keys, k)
		}
		return in
	}
	vecKeys := map[string][]string{}
	for i, c := range songs {
		if s := c.Score; s != nil {
			id := core.GenerateDefaultRandomId()
			p := dbx.Params(s.Values())
			p["id"] = id
			rows = append(rows, pendingRow{songdata.ScoreCollection, p})
			ids.Score = append(ids.Score, id)
			ids.Songs[i].Score = id
			in := input(s.SongKey)
			in.scores = append(in.scores, *s)
		}
		for _, e := range c.Embeddings {
			id := core.GenerateDefaultRandomId()
			p := dbx.Params(e.Values())
			p["id"] = id
			p["embedding"] = string(p["embedding"].(json.RawMessage))
			rows = append(rows, pendingRow{songdata.EmbeddingCollection, p})
			ids.Embedding = append(ids.Embedding, id)
			if ids.Songs[i].Embedding == nil {
				ids.Songs[i].Embedding = map[string]string{}
			}
			ids.Songs[i].Embedding[e.Model] = id
			input(e.SongKey).addEmbedding(e.Model, songEmb{e.Artist, e.Title, e.Vector})
			vecKeys[e.Model] = append(vecKeys[e.Model], e.SongKey)
		}
	}
	if !inOrder {
		storage.Shuffle(rows)
	}
	for _, r := range rows {
		if !inOrder {
			r.params["rowid"] = RandomRowid()
		}
		r.params["receipt"] = ""
		if secret != "" {
			r.params["receipt"] = ReceiptTag(secret, r.table, r.params["id"].(string))
		}
	}
	var printKeys []string
	t1 := time.Now()
	err = app.RunInTransaction(func(tx core.App) error {
		existing, err := existingSongs(tx.DB(), keys)
		if err != nil {
			return err
		}
		ins := map[string]*dbx.Query{}
		defer func() {
			for _, q := range ins {
				q.Close()
			}
		}()
		for _, r := range rows {
			q := ins[r.table]
			if q == nil {
				q = tx.DB().NewQuery(insertSQL(r.table, r.params)).Prepare()
				ins[r.table] = q
			}
			if _, err := q.Bind(r.params).Execute(); err != nil {
				return fmt.Errorf("storing a %s row: %w", r.table, err)
			}
		}
		sw := newSongWriter(tx.DB(), true)
		sw.seqRowids = inOrder
		for _, c := range songs {
			if c.Score != nil && c.Score.Fingerprint != "" && c.Fingerprint != nil {
				if sw.items == nil {
					sw.items = map[string][]uint32{}
				}
				sw.items[c.Score.Fingerprint] = c.Fingerprint
			}
		}
		defer sw.close()
		for _, k := range keys {
			in := *inputs[k]
			if existing[k] {
				if in, err = readSong(tx.DB(), k); err != nil {
					return err
				}
			}
			if err := sw.write(k, in, existing[k]); err != nil {
				return err
			}
		}
		printKeys = sw.printKeys
		return nil
	})
	if err != nil {
		return StoredIDs{}, nil, err
	}
	ids.Timing.Write = time.Since(t1)
	return ids, func() {
		defer unlock()
		w.refreshIndexes(app, vecKeys, keys, printKeys)
	}, nil
}

// refreshIndexes is the one place where the in-memory indexes follow a
// committed change of songs: the similarity index's vectors of the given
// songs per model from the committed song_vectors rows, the search
// index's songs from the committed songs rows, and the fingerprint index's
// songs (printKeys: those whose song_fingerprints row changed) from the
// committed song_fingerprints rows. The three read and update at the same
// time (each index has its own lock, each read its own connection), so an
// upload waits for the slowest rather than for their sum. A failure is
// logged (the index catches up at the next change of the song, or at the
// next start).
func (w *Writer) refreshIndexes(app core.App, vecKeys map[string][]string, songKeys, printKeys []string) {
	var refreshes []func()
	if w.index != nil && len(vecKeys) > 0 {
		refreshes = append(refreshes, func() {
			if err := w.index.RefreshKeys(app, vecKeys); err != nil {
				app.Logger().Error("songcommons: similarity refresh failed", "error", err.Error())
			}
		})
	}
	if w.search != nil && len(songKeys) > 0 {
		refreshes = append(refreshes, func() {
			if err := w.search.RefreshKeys(app, songKeys); err != nil {
				app.Logger().Error("songcommons: search refresh failed", "error", err.Error())
			}
		})
	}
	if w.prints != nil && len(printKeys) > 0 {
		refreshes = append(refreshes, func() {
			if err := w.prints.RefreshKeys(app, printKeys); err != nil {
				app.Logger().Error("songcommons: fingerprint refresh failed", "error", err.Error())
			}
		})
	}
	workers := len(refreshes)
	if app.IsTransactional() {
		workers = 1
	}
	parallel.For(len(refreshes), workers, func(i int) { refreshes[i]() })
}

// insertSQL is the INSERT of a row with the given columns, in a fixed
// order so that one prepared statement serves every row of a table.
func insertSQL(table string, p dbx.Params) string {
	cols := make([]string, 0, len(p))
	for c := range p {
		cols = append(cols, c)
	}
	slices.Sort(cols)
	names := make([]string, len(cols))
	vals := make([]string, len(cols))
	for i, c := range cols {
		names[i], vals[i] = "[["+c+"]]", "{:"+c+"}"
	}
	return "INSERT INTO {{" + table + "}} (" + strings.Join(names, ", ") + ") VALUES (" + strings.Join(vals, ", ") + ")"
}

// existingSongs returns which of the song keys have a songs row.
func existingSongs(db dbx.Builder, keys []string) (map[string]bool, error) {
	out := map[string]bool{}
	err := storage.InChunks(keys, func(_ []string, args []any) error {
		var found []string
		if err := db.Select("song_key").From("songs").Where(dbx.In("song_key", args...)).Column(&found); err != nil {
			return fmt.Errorf("songs: finding existing songs: %w", err)
		}
		for _, k := range found {
			out[k] = true
		}
		return nil
	})
	return out, err
}
