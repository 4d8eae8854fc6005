package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
	"github.com/pocketbase/pocketbase/tools/types"
)

// songs: one row per song with the consensus of its contributions,
// maintained by the service (contribute/songs.go) in the same transaction as
// every contribution, so admins and clients see the dataset as songs.
// Nobody writes it through the API; it is derived and carries no link to
// any account (random ids and rowids, no timestamps).
func init() {
	m.Register(func(app core.App) error {
		c := core.NewBaseCollection("songs")
		c.ListRule = types.Pointer("")
		c.ViewRule = types.Pointer("")
		c.CreateRule, c.UpdateRule, c.DeleteRule = nil, nil, nil
		c.Fields.Add(
			&core.TextField{Name: "song_key", Required: true, Max: 2048},
			&core.TextField{Name: "artist", Max: 512},
			&core.TextField{Name: "title", Max: 512},
			&core.NumberField{Name: "contributions", OnlyInt: true},
			&core.NumberField{Name: "tempo"},
			&core.NumberField{Name: "tempo_agreement"},
			&core.TextField{Name: "key", Max: 2},
			&core.TextField{Name: "scale", Max: 5},
			&core.NumberField{Name: "key_agreement"},
			&core.NumberField{Name: "energy"},
			&core.TextField{Name: "mood_vector", Max: 4096},
			&core.TextField{Name: "other_features", Max: 4096},
			&core.TextField{Name: "album", Max: 512},
			&core.NumberField{Name: "duration"},
			&core.TextField{Name: "mbid", Max: 64},
			&core.TextField{Name: "isrc", Max: 32},
			&core.JSONField{Name: "embeddings", MaxSize: 4096},
			&core.NumberField{Name: "outliers", OnlyInt: true},
		)
		c.AddIndex("idx_songs_song_key", true, "song_key", "")
		c.AddIndex("idx_songs_artist", false, "artist", "")
		c.AddIndex("idx_songs_title", false, "title", "")
		c.AddIndex("idx_songs_key_agreement", false, "key_agreement", "")
		return app.Save(c)
	}, func(app core.App) error {
		c, err := app.FindCollectionByNameOrId("songs")
		if err != nil {
			return nil
		}
		return app.Delete(c)
	})
}
