// Package songsearch keeps the in-memory search index of the songs' names
// (search.Index) in step with the songs table: built from it at start-up,
// refreshed from it per song after every committed change. Nothing of it
// is written to disk, so no copy of the data directory can group songs by
// the upload that added them through it; the cost is a rebuild at every
// start (about 4 CPU-seconds and 200 MB of RAM at 1M songs,
// search/BENCH_NOTES.md).
package songsearch

import (
	"fmt"
	"slices"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/lazyindex"
	"songcommons/search"
	"songcommons/storage"
)

// Index is the search index of one app's songs table.
type Index struct {
	held lazyindex.Holder[search.Index, *search.Index]
}

// New returns an index that is not loaded yet: the first search loads it
// (Load at start-up does it ahead of the first search).
func New() *Index { return &Index{} }

// Load builds the index from the songs table, replacing any index held.
func (x *Index) Load(app core.App) error {
	return x.held.Load(func() (*search.Index, error) { return build(app) })
}

func build(app core.App) (*search.Index, error) {
	rows, err := app.DB().NewQuery("SELECT song_key, artist, title, album, contributions FROM songs").Rows()
	if err != nil {
		return nil, fmt.Errorf("search: reading songs: %w", err)
	}
	defer rows.Close()
	var scanErr error
	ix, err := search.Build(func(yield func(search.Song) bool) {
		for rows.Next() {
			var s search.Song
			if scanErr = rows.Scan(&s.Key, &s.Artist, &s.Title, &s.Album, &s.Contributions); scanErr != nil {
				return
			}
			if s.Key == "" {
				continue
			}
			if !yield(s) {
				return
			}
		}
		scanErr = rows.Err()
	})
	if err == nil {
		err = scanErr
	}
	if err != nil {
		return nil, fmt.Errorf("search: building the index: %w", err)
	}
	return ix, nil
}

// Warm builds the index unless it is built (a server's start-up, in the
// background).
func (x *Index) Warm(app core.App) error {
	_, err := x.held.Get(func() (*search.Index, error) { return build(app) })
	return err
}

// Ready reports whether the index is built.
func (x *Index) Ready() bool { return x.held.Ready() }

// Len is the number of songs in the index (0 when it is not loaded).
func (x *Index) Len() int { return x.held.Len() }

// Search answers one page of a query (search.Index.Search), loading the
// index first if it is missing.
func (x *Index) Search(app core.App, q string, page, perPage int) (search.Result, error) {
	ix, err := x.held.Get(func() (*search.Index, error) { return build(app) })
	if err != nil {
		return search.Result{}, err
	}
	return ix.Search(q, page, perPage), nil
}

// RefreshKeys sets the given songs from the committed songs table: a song
// with a row is added (or updated), a song without one leaves the index.
// Refreshes are serialised and read the committed state, so a stale read
// never wins. An index not loaded yet is left alone (its load reads the
// change).
func (x *Index) RefreshKeys(app core.App, keys []string) error {
	return x.held.Refresh(func(ix *search.Index) error { return refresh(app, ix, keys) })
}

func refresh(app core.App, ix *search.Index, keys []string) error {
	keys = slices.Compact(slices.Sorted(slices.Values(slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return k == "" }))))
	return storage.InChunks(keys, func(chunk []string, args []any) error {
		var rows []struct {
			Key           string `db:"song_key"`
			Artist        string `db:"artist"`
			Title         string `db:"title"`
			Album         string `db:"album"`
			Contributions int    `db:"contributions"`
		}
		if err := app.DB().Select("song_key", "artist", "title", "album", "contributions").From("songs").
			Where(dbx.In("song_key", args...)).All(&rows); err != nil {
			return fmt.Errorf("search: reading songs: %w", err)
		}
		found := make(map[string]bool, len(rows))
		for _, r := range rows {
			if err := ix.Add(search.Song{Key: r.Key, Artist: r.Artist, Title: r.Title, Album: r.Album, Contributions: r.Contributions}); err != nil {
				return fmt.Errorf("search: song %q: %w", r.Key, err)
			}
			found[r.Key] = true
		}
		for _, k := range chunk {
			if !found[k] {
				ix.Remove(k)
			}
		}
		return nil
	})
}
