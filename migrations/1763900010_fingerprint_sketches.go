package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// The fingerprint index is built at start-up from every song's sketch and
// duration (songprint.SketchQuery). A row of song_fingerprints also holds
// the whole fingerprint (~2.7 KB for 120 s), so the table takes about a
// 4 KiB page per song and a scan of it reads ~4 GB at 1M songs; this
// covering index holds (duration, sketch, id), ~110 bytes a song, and the
// scan reads it alone. It is ordered by duration and sketch (content),
// never by upload order.
func init() {
	m.Register(func(app core.App) error {
		_, err := app.DB().NewQuery("CREATE INDEX IF NOT EXISTS idx_song_fingerprints_sketch ON song_fingerprints (duration, sketch)").Execute()
		return err
	}, func(app core.App) error {
		_, err := app.DB().NewQuery("DROP INDEX IF EXISTS idx_song_fingerprints_sketch").Execute()
		return err
	})
}
