package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// songs loses its title and key_agreement indexes. No query of the service
// uses them: the web UI's search filters with LIKE '%word%' (a scan either
// way) and sorts by artist, title (idx_songs_artist gives the order); the
// songs_low_agreement view tests three columns with OR, which no single
// index serves. Every new song paid for them on each upload: two more
// random B-tree pages per song of the ~17 an upload writes (BENCHMARKS.md,
// "Analyses"). An admin sorting the whole dashboard list by title now waits
// for a sort of the table instead.
func init() {
	m.Register(func(app core.App) error {
		c, err := app.FindCollectionByNameOrId("songs")
		if err != nil {
			return err
		}
		c.RemoveIndex("idx_songs_title")
		c.RemoveIndex("idx_songs_key_agreement")
		return app.Save(c)
	}, func(app core.App) error {
		c, err := app.FindCollectionByNameOrId("songs")
		if err != nil {
			return err
		}
		c.AddIndex("idx_songs_title", false, "title", "")
		c.AddIndex("idx_songs_key_agreement", false, "key_agreement", "")
		return app.Save(c)
	})
}
