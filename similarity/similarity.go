// Package similarity keeps the in-memory cosine indexes of the songs'
// consensus vectors, one per embedding model, in step with the
// song_vectors table: built from it at start-up, refreshed from it per
// song after every committed change.
package similarity

import (
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/songdata"
	"songcommons/storage"
	"songcommons/vectors"
)

// Indexes holds one in-memory cosine index per embedding model. Each
// song is one row: the normalised mean of the unit vectors of its
// contributions for that model (its consensus vector), so several
// contributions of a song collapse into one hit, and an outlying
// contribution moves the song's vector only by its share. SQLite stays the
// source of truth: the index is built from it at start-up and refreshed
// from it, per song, after every committed change.
type Indexes struct {
	refreshMu sync.Mutex // serialises refreshes so a stale read never wins
	byModel   map[string]*vectors.Index
}

// New returns empty indexes for the known models.
func New() *Indexes {
	s := &Indexes{byModel: map[string]*vectors.Index{}}
	for _, m := range songdata.Models() {
		s.byModel[m.Name] = vectors.New(m.Dim)
	}
	return s
}

// Index returns the index of a model, or nil for an unknown model.
func (s *Indexes) Index(model string) *vectors.Index { return s.byModel[model] }

// Load builds every model's index from song_vectors: one consensus vector
// per song, read in key order (sequential in the file after a compaction).
func (s *Indexes) Load(app core.App) error {
	for _, m := range songdata.Models() {
		var n int
		if err := app.DB().NewQuery("SELECT COUNT(*) FROM song_vectors WHERE model = {:m}").
			Bind(dbx.Params{"m": m.Name}).Row(&n); err != nil {
			return fmt.Errorf("similarity: counting %s songs: %w", m.Name, err)
		}
		b := vectors.NewBuilder(m.Dim, n)
		rows, err := app.DB().NewQuery("SELECT song_key, vec FROM song_vectors WHERE model = {:m}").
			Bind(dbx.Params{"m": m.Name}).Rows()
		if err != nil {
			return fmt.Errorf("similarity: reading %s vectors: %w", m.Name, err)
		}
		var key string
		var blob []byte
		buf := make([]float32, m.Dim)
		for rows.Next() {
			if err := rows.Scan(&key, &blob); err != nil {
				rows.Close()
				return err
			}
			v, err := vectors.DecodeBlob(blob, buf)
			if err == nil {
				err = b.Accumulate(key, v)
			}
			if err != nil {
				app.Logger().Warn("similarity: skipping an unreadable vector", slog.String("model", m.Name), slog.String("error", err.Error()))
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		s.byModel[m.Name] = b.Build()
	}
	return nil
}

// Refresh sets one song's vector for one model from the database.
func (s *Indexes) Refresh(app core.App, model, songKey string) error {
	return s.RefreshKeys(app, map[string][]string{model: {songKey}})
}

// RefreshKeys sets the vectors of the given songs per model from
// song_vectors (a song without a row there leaves the index). Refreshes are
// serialised and read the committed state, so a stale read never wins.
func (s *Indexes) RefreshKeys(app core.App, keys map[string][]string) error {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	for model, ks := range keys {
		ix := s.byModel[model]
		if ix == nil {
			continue
		}
		ks = slices.DeleteFunc(slices.Clone(ks), func(k string) bool { return k == "" })
		err := storage.InChunks(ks, func(chunk []string, args []any) error {
			var rows []struct {
				Key string `db:"song_key"`
				Vec []byte `db:"vec"`
			}
			if err := app.DB().Select("song_key", "vec").From("song_vectors").
				Where(dbx.And(dbx.HashExp{"model": model}, dbx.In("song_key", args...))).All(&rows); err != nil {
				return fmt.Errorf("similarity: reading %s vectors: %w", model, err)
			}
			found := map[string]bool{}
			for _, r := range rows {
				v, err := vectors.DecodeBlob(r.Vec, nil)
				if err == nil {
					err = ix.Set(r.Key, v)
				}
				if err != nil {
					return fmt.Errorf("similarity: %s vector of %q: %w", model, r.Key, err)
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
		if err != nil {
			return err
		}
	}
	return nil
}

// Sizes reports the number of songs per model.
func (s *Indexes) Sizes() map[string]int {
	out := map[string]int{}
	for m, ix := range s.byModel {
		out[m] = ix.Len()
	}
	return out
}

// EnableApprox builds every model's 1-bit sketches, so that searches may
// ask for approximate answers (vectors.Index.EnableApprox).
func (s *Indexes) EnableApprox() {
	for _, ix := range s.byModel {
		ix.EnableApprox()
	}
}
