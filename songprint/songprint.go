// Package songprint keeps the audio fingerprint index of the songs
// (fingerprint.Index) in step with the song_fingerprints table, which the
// write path (contribute) keeps in step with the contributions: built from
// the stored 96-byte sketches at start-up, refreshed per song after every
// committed change; when a lookup compares its candidates in full, their
// fingerprints are read from the songs' score rows, the one place a
// fingerprint is stored (Reference), by the song keys the index keeps
// beside the sketches. The tables stay the source of truth; nothing of
// the index is written to disk.
package songprint

import (
	"cmp"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"sync"

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
	held lazyindex.Holder[loaded, *loaded]
}

// loaded is an index built: the fingerprint index, and the song key of
// each of its ids, so that a lookup reads its candidates' score rows
// without first reading their song_fingerprints rows.
type loaded struct {
	ix   *fingerprint.Index
	keys *keyTable
}

func (l *loaded) Len() int { return l.ix.Len() }

// keyTable maps the ids of the index to their song keys. Refreshes write
// it (one at a time: lazyindex serialises them), lookups read it. The
// load's keys lie end to end in one slab, their ids sorted beside it (a
// lookup searches them: no map of a million entries to fill at start-up,
// and no pointers for the garbage collector to walk); later changes go to
// a small map over it, folded in once it holds an eighth as many.
type keyTable struct {
	mu   sync.RWMutex
	ids  []int64  // sorted
	at   []uint64 // of ids[i]: offset in slab << 16 | length
	slab []byte
	over map[int64]uint64 // changes since: a place in slab, or gone
	live int              // bytes of slab that a key still uses
}

// maxKeyLen is the longest key the table holds (a song key is at most a
// few hundred bytes; a song of a longer one is not found by fingerprint).
const maxKeyLen = 1<<16 - 1

// gone marks a removed id in keyTable.over.
const gone = ^uint64(0)

// newKeyTable returns a table sized for n keys of a usual length.
func newKeyTable(n int) *keyTable {
	return &keyTable{ids: make([]int64, 0, n), at: make([]uint64, 0, n), slab: make([]byte, 0, 40*n),
		over: map[int64]uint64{}}
}

// load appends the key of an id larger than every id loaded before (the
// load reads song_fingerprints in id order); key is copied. It is not
// safe beside other calls.
func (t *keyTable) load(id int64, key []byte) {
	if len(key) > maxKeyLen {
		return
	}
	if n := len(t.ids); n > 0 && id <= t.ids[n-1] {
		t.set(id, key) // out of order: a change over the load
		return
	}
	t.ids = append(t.ids, id)
	t.at = append(t.at, t.place(key))
}

// place appends key to the slab and returns where it is.
func (t *keyTable) place(key []byte) uint64 {
	v := uint64(len(t.slab))<<16 | uint64(len(key))
	t.slab = append(t.slab, key...)
	t.live += len(key)
	return v
}

// lookupLocked returns where id's key is, and whether it has one.
func (t *keyTable) lookupLocked(id int64) (uint64, bool) {
	if v, ok := t.over[id]; ok {
		return v, v != gone
	}
	if i, ok := slices.BinarySearch(t.ids, id); ok && t.at[i] != gone {
		return t.at[i], true
	}
	return 0, false
}

// set gives id the key; key is copied.
func (t *keyTable) set(id int64, key []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v := gone
	if len(key) <= maxKeyLen {
		v = t.place(key)
	}
	t.change(id, v)
}

func (t *keyTable) remove(id int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.change(id, gone)
}

// change records id's new place (gone: removed), then folds the changes
// into the sorted ids, and the keys into a new slab, once there are many.
func (t *keyTable) change(id int64, v uint64) {
	if old, ok := t.lookupLocked(id); ok {
		t.live -= int(old & maxKeyLen)
	}
	t.over[id] = v
	if len(t.over) > max(1024, len(t.ids)/8) {
		t.fold()
	}
}

func (t *keyTable) fold() {
	n := len(t.ids) + len(t.over)
	ids, at, slab := make([]int64, 0, n), make([]uint64, 0, n), make([]byte, 0, t.live+t.live/8)
	keep := func(id int64, v uint64) {
		if v == gone {
			return
		}
		o, l := v>>16, v&maxKeyLen
		ids = append(ids, id)
		at = append(at, uint64(len(slab))<<16|l)
		slab = append(slab, t.slab[o:o+l]...)
	}
	over := slices.Sorted(maps.Keys(t.over))
	i := 0
	for _, id := range over {
		for ; i < len(t.ids) && t.ids[i] < id; i++ {
			keep(t.ids[i], t.at[i])
		}
		if i < len(t.ids) && t.ids[i] == id {
			i++ // replaced or removed
		}
		keep(id, t.over[id])
	}
	for ; i < len(t.ids); i++ {
		keep(t.ids[i], t.at[i])
	}
	t.ids, t.at, t.slab, t.over = ids, at, slab, map[int64]uint64{}
}

// get returns the keys of ids ("" for an id it does not have).
func (t *keyTable) get(ids []int64) []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]string, len(ids))
	for i, id := range ids {
		if v, ok := t.lookupLocked(id); ok {
			o := v >> 16
			out[i] = string(t.slab[o : o+v&maxKeyLen])
		}
	}
	return out
}

// memoryBytes is the table's memory: its arrays, and per change since the
// load the map's slot (16 bytes, at most 7/8 full, and a control byte).
func (t *keyTable) memoryBytes() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return 8*cap(t.ids) + 8*cap(t.at) + cap(t.slab) + len(t.over)*(16*8/7+2)
}

// New returns an index that is not loaded yet: the first lookup loads it
// (Load at start-up does it ahead of the first lookup).
func New() *Index { return &Index{} }

// store reads full fingerprints: the key table gives each id's song, the
// song's score rows its fingerprint (Reference). A store made for one
// lookup (found not nil) also keeps the song keys of the songs it read.
type store struct {
	app   core.App
	keys  *keyTable
	found map[int64]string
}

func (s *store) Fingerprints(ids []int64) ([][]uint32, error) {
	out := make([][]uint32, len(ids))
	keys := s.keys.get(ids)
	at := make(map[string][]int, len(ids))
	for i, k := range keys {
		if k != "" {
			at[k] = append(at[k], i)
		}
	}
	err := readPrints(s.app, slices.Collect(maps.Keys(at)), func(key string, p Print) {
		for _, i := range at[key] {
			out[i] = p.Items
			if s.found != nil {
				s.found[ids[i]] = key
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("fingerprints: reading candidates: %w", err)
	}
	return out, nil
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

// readPrints reads the reference fingerprints of the songs with the
// given keys and calls fn, one song at a time, with each decoded (a song
// without one is left out). Many keys are read and decoded in chunks on
// several connections at once (storage.ReadChunks; one after the other in
// a transaction).
func readPrints(app core.App, keys []string, fn func(key string, p Print)) error {
	return storage.ReadChunks(app, slices.Sorted(slices.Values(keys)), func(args []any) (map[string]Print, error) {
		return references(app.DB(), args)
	}, func(prints map[string]Print) {
		for k, p := range prints {
			fn(k, p)
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
	err := readPrints(app, keys, func(k string, p Print) { out[k] = p })
	if err != nil {
		return nil, fmt.Errorf("fingerprints: reading songs' fingerprints: %w", err)
	}
	return out, nil
}

// Load builds the index from song_fingerprints, replacing any index held.
func (x *Index) Load(app core.App) error {
	return x.held.Load(func() (*loaded, error) { return build(app) })
}

func build(app core.App) (*loaded, error) {
	var n int
	if err := app.DB().Select("count(*)").From(Table).Row(&n); err != nil {
		return nil, fmt.Errorf("fingerprints: counting: %w", err)
	}
	keys := newKeyTable(n)
	st := &store{app: app, keys: keys}
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
		var key sql.RawBytes // copied by set
		var sketch []byte
		var dur float64
		if err := rows.Scan(&id, &key, &sketch, &dur); err != nil {
			return nil, fmt.Errorf("fingerprints: reading: %w", err)
		}
		keys.load(id, key)
		if s, ok := decodeSketch(sketch); ok {
			if b.AddSketch(id, s, dur) != nil {
				keys.remove(id) // not indexed: silent
			}
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
			// a silent fingerprint is not indexed
			if items == nil || b.Add(redo[i], items, redoDur[i]) != nil {
				keys.remove(redo[i])
			}
		}
		redo, redoDur = redo[k:], redoDur[k:]
	}
	return &loaded{ix: b.Build(), keys: keys}, nil
}

// SketchQuery reads every song's id, key, sketch and duration, the
// start-up's only read (song_fingerprints rows are ~150 bytes a song: the
// whole table is read in a scan).
func SketchQuery(db dbx.Builder) *dbx.SelectQuery {
	return db.Select("id", "song_key", "sketch", "duration").From(Table).OrderBy("id") // the table's order
}

// Warm builds the index unless it is built (a server's start-up, in the
// background).
func (x *Index) Warm(app core.App) error {
	_, err := x.held.Get(func() (*loaded, error) { return build(app) })
	return err
}

// Ready reports whether the index is built.
func (x *Index) Ready() bool { return x.held.Ready() }

// Len is the number of fingerprinted songs in the index (0 when it is not
// loaded).
func (x *Index) Len() int { return x.held.Len() }

// MemoryBytes is the memory the index holds (0 when it is not loaded).
func (x *Index) MemoryBytes() int {
	if l := x.held.Current(); l != nil {
		return l.ix.MemoryBytes() + l.keys.memoryBytes()
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
	l, err := x.held.Get(func() (*loaded, error) { return build(app) })
	if err != nil {
		return nil, err
	}
	// the songs whose fingerprints were read, by id
	st := &store{app: app, keys: l.keys, found: map[int64]string{}}
	found, err := l.ix.LookupBatchWith(st, qs)
	if err != nil {
		return nil, err
	}
	keys := st.found
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
	return x.held.Refresh(func(l *loaded) error { return refresh(app, l, keys) })
}

func refresh(app core.App, l *loaded, keys []string) error {
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
				l.keys.set(row.ID, []byte(row.Key))
				if err := l.ix.AddSketch(row.ID, s, row.Duration); err != nil {
					addErr = fmt.Errorf("fingerprints: song %q: %w", row.Key, err)
					return
				}
			}
		}
		for _, v := range r.ids {
			if id := v.(int64); !present[id] {
				l.ix.Remove(id)
				l.keys.remove(id)
			}
		}
	})
	return cmp.Or(err, addErr)
}
