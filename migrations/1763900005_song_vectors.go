package migrations

import (
	"fmt"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"

	"songcommons/songdata"
	"songcommons/vectors"
)

// song_vectors: one consensus vector per song and model, as a float32
// BLOB, maintained by the service (contribute/songs.go) in the same transaction
// as every contribution. The similarity index is built from it at start-up:
// one narrow row per song, read in key order, instead of every
// contribution's JSON. It is derived data like "songs": no id, no rowid
// (WITHOUT ROWID, ordered by model and song key, not by upload), no time.
//
// It replaces the hidden base64 "vec" column of embedding, which doubled
// what every upload wrote, and the two (song_key) and (model, song_key)
// indexes of embedding become one (song_key, model).
func init() {
	m.Register(func(app core.App) error {
		if _, err := app.DB().NewQuery(`CREATE TABLE IF NOT EXISTS song_vectors (
			model TEXT NOT NULL, song_key TEXT NOT NULL, vec BLOB NOT NULL,
			PRIMARY KEY (model, song_key)) WITHOUT ROWID`).Execute(); err != nil {
			return err
		}
		c, err := app.FindCollectionByNameOrId("embedding")
		if err != nil {
			return err
		}
		if c.Fields.GetByName("vec") != nil {
			if err := backfillSongVectors(app); err != nil {
				return err
			}
			c.Fields.RemoveByName("vec")
		}
		c.RemoveIndex("idx_embedding_song_key")
		c.RemoveIndex("idx_embedding_model_song_key")
		c.AddIndex("idx_embedding_song_key_model", false, "song_key, model", "")
		return app.Save(c)
	}, func(app core.App) error {
		c, err := app.FindCollectionByNameOrId("embedding")
		if err != nil {
			return err
		}
		c.RemoveIndex("idx_embedding_song_key_model")
		c.AddIndex("idx_embedding_song_key", false, "song_key", "")
		c.AddIndex("idx_embedding_model_song_key", false, "model, song_key", "")
		if err := app.Save(c); err != nil {
			return err
		}
		_, err = app.DB().NewQuery("DROP TABLE IF EXISTS song_vectors").Execute()
		return err
	})
}

// backfillSongVectors fills song_vectors from the base64 "vec" column of a
// database created before this migration.
func backfillSongVectors(app core.App) error {
	rows, err := app.DB().NewQuery("SELECT model, song_key, vec FROM embedding ORDER BY model, song_key").Rows()
	if err != nil {
		return fmt.Errorf("song_vectors: reading embeddings: %w", err)
	}
	defer rows.Close()
	ins := app.DB().NewQuery("INSERT OR REPLACE INTO song_vectors (model, song_key, vec) VALUES ({:m}, {:k}, {:v})").Prepare()
	defer ins.Close()
	var curModel, curKey string
	var group [][]float32
	flush := func() error {
		if len(group) == 0 {
			return nil
		}
		v, _ := songdata.ConsensusVector(group)
		group = group[:0]
		if v == nil {
			return nil
		}
		_, err := ins.Bind(dbx.Params{"m": curModel, "k": curKey, "v": vectors.EncodeBlob(v)}).Execute()
		return err
	}
	for rows.Next() {
		var model, key, enc string
		if err := rows.Scan(&model, &key, &enc); err != nil {
			return err
		}
		if model != curModel || key != curKey {
			if err := flush(); err != nil {
				return err
			}
			curModel, curKey = model, key
		}
		if v, err := songdata.DecodeVec(enc, nil); err == nil {
			group = append(group, v)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return flush()
}
