package hooks

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/songdata"
)

// Contribution is one validated song of a bulk upload: its analysis
// and/or its embeddings.
type Contribution struct {
	Score      *songdata.Score
	Embeddings []*songdata.Embedding
}

// StoredIDs are the row ids a bulk upload created, in request order.
type StoredIDs struct {
	Score     []string        `json:"score"`
	Embedding []string        `json:"embedding"`
	Songs     []StoredSongIDs `json:"songs"`
}

// StoredSongIDs are the row ids of one song of the upload.
type StoredSongIDs struct {
	Score     string            `json:"score,omitempty"`
	Embedding map[string]string `json:"embedding,omitempty"`
}

type pendingRow struct {
	table  string
	params dbx.Params
}

// StoreContributions writes validated contributions in one transaction,
// all or nothing: rows get random ids and random rowids, are inserted in a
// random order (so the file layout does not follow the request), carry a
// receipt tag when a secret is given, and the songs and song_vectors rows
// follow; after the commit, the similarity index follows. The record API
// path gets the same treatment from record hooks; this path writes rows
// directly because it is the fast one (import and /contribute): statements
// are prepared once per transaction, one query finds which songs exist, and
// the consensus of a song new to the database is computed from the upload
// itself instead of being read back.
func StoreContributions(app core.App, sim *Similarity, songs []Contribution, secret string) (StoredIDs, error) {
	return storeContributions(app, sim, songs, secret, false)
}

// StoreContributionsInOrder is StoreContributions for an operator's bulk
// import of a dump: rows are written in input order with SQLite's next
// rowids instead of in a random order with random rowids. A dump is
// ordered by song key (content, never by upload or account), so its order
// is public; written in that order, every b-tree keyed by song key or
// rowid grows at its end, which makes a large import several times faster.
// Contributions from users never take this path.
func StoreContributionsInOrder(app core.App, sim *Similarity, songs []Contribution) (StoredIDs, error) {
	return storeContributions(app, sim, songs, "", true)
}

func storeContributions(app core.App, sim *Similarity, songs []Contribution, secret string, inOrder bool) (StoredIDs, error) {
	ids := StoredIDs{Score: []string{}, Embedding: []string{}, Songs: make([]StoredSongIDs, len(songs))}
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
			rows = append(rows, pendingRow{"score", p})
			ids.Score = append(ids.Score, id)
			ids.Songs[i].Score = id
			in := input(s.SongKey)
			in.scores = append(in.scores, songdata.ScoreRow{Artist: s.Artist, Title: s.Title, Tempo: s.Tempo,
				Key: s.Key, Scale: s.Scale, Energy: s.Energy, MoodVector: s.MoodVector, OtherFeatures: s.OtherFeatures,
				Album: s.Album, Duration: s.Duration, MBID: s.MBID, ISRC: s.ISRC})
		}
		for _, e := range c.Embeddings {
			id := core.GenerateDefaultRandomId()
			p := dbx.Params(e.Values())
			p["id"] = id
			p["embedding"] = string(p["embedding"].(json.RawMessage))
			rows = append(rows, pendingRow{"embedding", p})
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
		shuffle(rows)
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
	err := app.RunInTransaction(func(tx core.App) error {
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
		w := newSongWriter(tx.DB(), true)
		w.seqRowids = inOrder
		defer w.close()
		for _, k := range keys {
			in := *inputs[k]
			if existing[k] {
				if in, err = readSong(tx.DB(), k); err != nil {
					return err
				}
			}
			if err := w.write(k, in, existing[k]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return StoredIDs{}, err
	}
	if sim != nil {
		if err := sim.RefreshKeys(app, vecKeys); err != nil {
			app.Logger().Error("songcommons: similarity refresh failed", "error", err.Error())
		}
	}
	return ids, nil
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
	err := inChunks(keys, func(_ []string, args []any) error {
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

// maxInArgs bounds the values of one "IN (…)" query: SQLite allows far
// more, but one statement per few hundred keys keeps each small.
const maxInArgs = 500

// inChunks calls fn for consecutive chunks of at most maxInArgs keys,
// with the chunk also as query arguments for dbx.In.
func inChunks(keys []string, fn func(chunk []string, args []any) error) error {
	for len(keys) > 0 {
		chunk := keys[:min(len(keys), maxInArgs)]
		keys = keys[len(chunk):]
		args := make([]any, len(chunk))
		for i, k := range chunk {
			args[i] = k
		}
		if err := fn(chunk, args); err != nil {
			return err
		}
	}
	return nil
}

// shuffle is a Fisher–Yates shuffle driven by crypto/rand.
func shuffle[T any](s []T) {
	var b [8]byte
	for i := len(s) - 1; i > 0; i-- {
		_, _ = rand.Read(b[:])
		j := int(binary.LittleEndian.Uint64(b[:]) % uint64(i+1))
		s[i], s[j] = s[j], s[i]
	}
}
