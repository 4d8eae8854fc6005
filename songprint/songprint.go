// Package songprint keeps the audio fingerprint index of the songs
// (fingerprint.Index) in step with the song_fingerprints table, which the
// write path (contribute) keeps in step with the contributions: built from
// the stored 96-byte sketches at start-up, refreshed per song after every
// committed change; when a lookup compares its candidates in full, their
// fingerprints are read from the songs' score rows, the one place a
// fingerprint is stored (Reference). The tables stay the source of
// truth; nothing of the index is written to disk.
package songprint

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/fingerprint"
	"songcommons/lazyindex"
	"songcommons/songdata"
	"songcommons/storage"
)

// Table is the table of the songs' fingerprints.
const Table = "song_fingerprints"

// ID is the id of a song in the index and in song_fingerprints: a hash of
// its song key (63 bits, never 0), so that it is content, stable for the
// song's life, and known without reading the table. Two keys of one hash
// (about one chance in 10^7 among a million songs) keep the first song's
// fingerprint; the second song is then identified by its tags only.
func ID(songKey string) int64 {
	h := sha256.Sum256([]byte(songKey))
	id := int64(binary.BigEndian.Uint64(h[:8]) >> 1)
	if id == 0 {
		id = 1
	}
	return id
}

// EncodeSketch is the stored form of a sketch: fingerprint.SketchVersion,
// then the terms as little-endian uint32s.
func EncodeSketch(sketch []uint32) []byte {
	b := make([]byte, 1, 1+4*len(sketch))
	b[0] = fingerprint.SketchVersion
	for _, t := range sketch {
		b = binary.LittleEndian.AppendUint32(b, t)
	}
	return b
}

// decodeSketch reads a stored sketch; ok is false for a sketch of another
// SketchVersion (or a damaged one), which is then computed again.
func decodeSketch(b []byte) ([]uint32, bool) {
	if len(b) < 1 || b[0] != fingerprint.SketchVersion || (len(b)-1)%4 != 0 {
		return nil, false
	}
	out := make([]uint32, (len(b)-1)/4)
	for i := range out {
		out[i] = binary.LittleEndian.Uint32(b[1+4*i:])
	}
	return out, true
}

// Match is a song a fingerprint matched, and how well.
type Match struct {
	SongKey string `json:"song_key"`
	fingerprint.Similarity
}

// Index is the fingerprint index of one app's songs.
type Index struct {
	held lazyindex.Holder[fingerprint.Index, *fingerprint.Index]
}

// New returns an index that is not loaded yet: the first lookup loads it
// (Load at start-up does it ahead of the first lookup).
func New() *Index { return &Index{} }

// store reads full fingerprints: song_fingerprints gives each id's song,
// the song's score rows its fingerprint (Reference). A store made for one
// lookup (keys not nil) also keeps the song keys of the rows it read.
type store struct {
	app  core.App
	keys map[int64]string
}

func (s *store) Fingerprints(ids []int64) ([][]uint32, error) {
	out := make([][]uint32, len(ids))
	at := make(map[int64][]int, len(ids))
	for i, id := range ids {
		at[id] = append(at[id], i)
	}
	err := readPrints(s.app, ids, func(r printRow, items []uint32) {
		for _, i := range at[r.ID] {
			out[i] = items
		}
		if s.keys != nil {
			s.keys[r.ID] = r.Key
		}
	})
	if err != nil {
		return nil, fmt.Errorf("fingerprints: reading candidates: %w", err)
	}
	return out, nil
}

// printRow is a fingerprinted song as readPrints reads it: its id, key,
// and the duration of its reference fingerprint.
type printRow struct {
	ID       int64   `db:"id"`
	Key      string  `db:"song_key"`
	Duration float64 `db:"duration"`
}

// scorePrint is a score row's fingerprint.
type scorePrint struct {
	Key      string  `db:"song_key"`
	Text     string  `db:"fingerprint"`
	Duration float64 `db:"duration"`
}

// Reference is which of a song's contributions' fingerprint texts (n of
// them, text(i) the i-th; "" for none) the song's identity is matched
// against: the longest (the most audio), the smallest text among equals;
// -1 when none has one. The write path (the song_fingerprints row's
// sketch and duration) and the reads here use it both.
func Reference(n int, text func(i int) string) int {
	best := -1
	for i := range n {
		f := text(i)
		if f == "" {
			continue
		}
		if best < 0 {
			best = i
			continue
		}
		if b := text(best); len(f) > len(b) || len(f) == len(b) && f < b {
			best = i
		}
	}
	return best
}

// references reads the reference fingerprints of the songs with the
// given keys from their score rows (each song's Reference), decoded; a
// fingerprint this service did not write is left out.
func references(db dbx.Builder, keys []any) (map[string]Print, error) {
	var rows []scorePrint
	if err := db.Select("song_key", "fingerprint", "duration").From(songdata.ScoreCollection).
		Where(dbx.And(dbx.In("song_key", keys...), dbx.NewExp("fingerprint != ''"))).All(&rows); err != nil {
		return nil, err
	}
	bySong := map[string][]scorePrint{}
	for _, r := range rows {
		bySong[r.Key] = append(bySong[r.Key], r)
	}
	out := make(map[string]Print, len(bySong))
	for k, ps := range bySong {
		best := ps[Reference(len(ps), func(i int) string { return ps[i].Text })]
		if items, err := fingerprint.DecodeDefault(best.Text); err == nil {
			out[k] = Print{Items: items, Duration: best.Duration}
		}
	}
	return out, nil
}

// readPrints reads the songs of the given ids and calls fn, one song at a
// time, with its reference fingerprint decoded. Many ids are read and
// decoded in chunks on several connections at once (storage.ReadChunks).
func readPrints(app core.App, ids []int64, fn func(r printRow, items []uint32)) error {
	type read struct {
		rows  []printRow
		items [][]uint32
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	return storage.ReadChunks(app, ids, func(args []any) (read, error) {
		var r read
		if err := app.DB().Select("id", "song_key").From(Table).Where(dbx.In("id", args...)).All(&r.rows); err != nil {
			return r, err
		}
		keys := make([]any, len(r.rows))
		for i, row := range r.rows {
			keys[i] = row.Key
		}
		prints, err := references(app.DB(), keys)
		if err != nil {
			return r, err
		}
		r.items = make([][]uint32, len(r.rows))
		for i, row := range r.rows {
			if p, ok := prints[row.Key]; ok {
				r.items[i], r.rows[i].Duration = p.Items, p.Duration
			}
		}
		return r, nil
	}, func(r read) {
		for i, row := range r.rows {
			if r.items[i] != nil {
				fn(row, r.items[i])
			}
		}
	})
}

// Print is a song's reference fingerprint.
type Print struct {
	Items    []uint32
	Duration float64
}

// Stored returns the reference fingerprints of the songs with the given
// keys that have one, read from their score rows.
func Stored(app core.App, keys []string) (map[string]Print, error) {
	out := make(map[string]Print, len(keys))
	err := storage.InChunks(keys, func(_ []string, args []any) error {
		prints, err := references(app.DB(), args)
		for k, p := range prints {
			out[k] = p
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("fingerprints: reading songs' fingerprints: %w", err)
	}
	return out, nil
}

// Load builds the index from song_fingerprints, replacing any index held.
func (x *Index) Load(app core.App) error {
	return x.held.Load(func() (*fingerprint.Index, error) { return build(app) })
}

func build(app core.App) (*fingerprint.Index, error) {
	var n int
	if err := app.DB().Select("count(*)").From(Table).Row(&n); err != nil {
		return nil, fmt.Errorf("fingerprints: counting: %w", err)
	}
	st := &store{app: app}
	b := fingerprint.NewBuilder(st, fingerprint.Options{}, n)
	rows, err := SketchQuery(app.DB()).Rows()
	if err != nil {
		return nil, fmt.Errorf("fingerprints: reading: %w", err)
	}
	defer rows.Close()
	var redo []int64
	var redoDur []float64
	for rows.Next() {
		var id int64
		var sketch []byte
		var dur float64
		if err := rows.Scan(&id, &sketch, &dur); err != nil {
			return nil, fmt.Errorf("fingerprints: reading: %w", err)
		}
		if s, ok := decodeSketch(sketch); ok {
			_ = b.AddSketch(id, s, dur)
			continue
		}
		redo, redoDur = append(redo, id), append(redoDur, dur)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("fingerprints: reading: %w", err)
	}
	rows.Close()
	// sketches of another version: from the whole fingerprints
	for len(redo) > 0 {
		k := min(len(redo), 1000)
		fps, err := st.Fingerprints(redo[:k])
		if err != nil {
			return nil, err
		}
		for i, items := range fps {
			if items != nil {
				_ = b.Add(redo[i], items, redoDur[i]) // a silent fingerprint is not indexed
			}
		}
		redo, redoDur = redo[k:], redoDur[k:]
	}
	return b.Build(), nil
}

// SketchQuery reads every song's sketch and duration, the start-up's only
// read (song_fingerprints rows are ~150 bytes a song: the whole table is
// read in a scan).
func SketchQuery(db dbx.Builder) *dbx.SelectQuery {
	return db.Select("id", "sketch", "duration").From(Table)
}

// Warm builds the index unless it is built (a server's start-up, in the
// background).
func (x *Index) Warm(app core.App) error {
	_, err := x.held.Get(func() (*fingerprint.Index, error) { return build(app) })
	return err
}

// Ready reports whether the index is built.
func (x *Index) Ready() bool { return x.held.Ready() }

// Len is the number of fingerprinted songs in the index (0 when it is not
// loaded).
func (x *Index) Len() int { return x.held.Len() }

// MemoryBytes is the memory the index holds (0 when it is not loaded).
func (x *Index) MemoryBytes() int {
	if ix := x.held.Current(); ix != nil {
		return ix.MemoryBytes()
	}
	return 0
}

// Lookup finds the songs each fingerprint matches, best first: more than
// one is an ambiguity the caller reports.
func (x *Index) Lookup(app core.App, qs []fingerprint.Query) ([][]Match, error) {
	out := make([][]Match, len(qs))
	if len(qs) == 0 {
		return out, nil
	}
	ix, err := x.held.Get(func() (*fingerprint.Index, error) { return build(app) })
	if err != nil {
		return nil, err
	}
	// the candidates' rows give their song keys too
	st := &store{app: app, keys: map[int64]string{}}
	found, err := ix.LookupBatchWith(st, qs)
	if err != nil {
		return nil, err
	}
	keys := st.keys
	for i, ms := range found {
		for _, m := range ms {
			if k, ok := keys[m.ID]; ok {
				out[i] = append(out[i], Match{SongKey: k, Similarity: m.Similarity})
			}
		}
	}
	return out, nil
}

// RefreshKeys sets the given songs from the committed song_fingerprints
// rows: a song with a row is added (or replaced), a song without one
// leaves the index. An index not loaded yet is left alone (its load reads
// the change).
func (x *Index) RefreshKeys(app core.App, keys []string) error {
	return x.held.Refresh(func(ix *fingerprint.Index) error { return refresh(app, ix, keys) })
}

func refresh(app core.App, ix *fingerprint.Index, keys []string) error {
	var ids []int64
	for _, k := range keys {
		if k != "" {
			ids = append(ids, ID(k))
		}
	}
	type sketchRow struct {
		ID       int64   `db:"id"`
		Key      string  `db:"song_key"`
		Duration float64 `db:"duration"`
		Sketch   []byte  `db:"sketch"`
	}
	type read struct {
		ids  []any
		rows []sketchRow
	}
	var addErr error // the first failed add: the chunks after it are left alone
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	err := storage.ReadChunks(app, ids, func(args []any) (read, error) {
		r := read{ids: args}
		if err := app.DB().Select("id", "song_key", "duration", "sketch").From(Table).
			Where(dbx.In("id", args...)).All(&r.rows); err != nil {
			return r, fmt.Errorf("fingerprints: reading: %w", err)
		}
		return r, nil
	}, func(r read) {
		if addErr != nil {
			return
		}
		present := make(map[int64]bool, len(r.rows))
		for _, row := range r.rows {
			if s, ok := decodeSketch(row.Sketch); ok && len(s) > 0 {
				present[row.ID] = true
				if err := ix.AddSketch(row.ID, s, row.Duration); err != nil {
					addErr = fmt.Errorf("fingerprints: song %q: %w", row.Key, err)
					return
				}
			}
		}
		for _, v := range r.ids {
			if id := v.(int64); !present[id] {
				ix.Remove(id)
			}
		}
	})
	return cmp.Or(err, addErr)
}
