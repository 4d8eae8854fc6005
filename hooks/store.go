package hooks

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"

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
// receipt tag when a secret is given, and the songs table is refreshed;
// after the commit, the similarity index follows. The record API path gets
// the same treatment from record hooks; this path writes rows directly
// because it is the fast one (import and /contribute).
func StoreContributions(app core.App, sim *Similarity, songs []Contribution, secret string) (StoredIDs, error) {
	ids := StoredIDs{Score: []string{}, Embedding: []string{}, Songs: make([]StoredSongIDs, len(songs))}
	var rows []pendingRow
	keys := map[string]bool{}
	type mk struct{ model, key string }
	var vecKeys []mk
	for i, c := range songs {
		if c.Score != nil {
			id := core.GenerateDefaultRandomId()
			p := dbx.Params(c.Score.Values())
			p["id"] = id
			rows = append(rows, pendingRow{"score", p})
			ids.Score = append(ids.Score, id)
			ids.Songs[i].Score = id
			keys[c.Score.SongKey] = true
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
			keys[e.SongKey] = true
			vecKeys = append(vecKeys, mk{e.Model, e.SongKey})
		}
	}
	shuffle(rows)
	for _, r := range rows {
		r.params["rowid"] = RandomRowid()
		r.params["receipt"] = ""
		if secret != "" {
			r.params["receipt"] = ReceiptTag(secret, r.table, r.params["id"].(string))
		}
	}
	err := app.RunInTransaction(func(tx core.App) error {
		for _, r := range rows {
			if _, err := tx.DB().Insert(r.table, r.params).Execute(); err != nil {
				return fmt.Errorf("storing a %s row: %w", r.table, err)
			}
		}
		for k := range keys {
			if err := RefreshSong(tx, k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return StoredIDs{}, err
	}
	if sim != nil {
		seen := map[mk]bool{}
		for _, v := range vecKeys {
			if seen[v] {
				continue
			}
			seen[v] = true
			if err := sim.Refresh(app, v.model, v.key); err != nil {
				app.Logger().Error("songcommons: similarity refresh failed", "error", err.Error())
			}
		}
	}
	return ids, nil
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
