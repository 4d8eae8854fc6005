package migrations

import (
	"fmt"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"

	"songcommons/fingerprint"
	"songcommons/songprint"
)

// A fingerprint is stored once: on the score row that carried it (the
// contribution, as the record API and dumps give it). song_fingerprints
// keeps, per fingerprinted song, its key, the duration and the sketch of
// its reference fingerprint (songprint.Reference): about 150 bytes a song
// instead of a 4 KiB page with a second copy of the fingerprint, so that
// an upload of a new fingerprinted song adds one page where it added two
// (BENCHMARKS.md). Lookups read the reference from the song's score rows.
// With rows that small, the start-up reads the sketches from the table
// itself: the covering index idx_song_fingerprints_sketch would only add
// a B-tree entry to every upload of a new fingerprinted song. SQLite
// rewrites the table without the column; the freed pages stay in data.db
// until the nightly compaction.
func init() {
	m.Register(func(app core.App) error {
		for _, q := range []string{
			"DROP INDEX IF EXISTS idx_song_fingerprints_sketch",
			"ALTER TABLE song_fingerprints DROP COLUMN fp",
		} {
			if _, err := app.DB().NewQuery(q).Execute(); err != nil {
				return err
			}
		}
		return nil
	}, func(app core.App) error {
		for _, q := range []string{
			"ALTER TABLE song_fingerprints ADD COLUMN fp BLOB NOT NULL DEFAULT x''",
			"CREATE INDEX IF NOT EXISTS idx_song_fingerprints_sketch ON song_fingerprints (duration, sketch)",
		} {
			if _, err := app.DB().NewQuery(q).Execute(); err != nil {
				return err
			}
		}
		var keys []string
		if err := app.DB().Select("song_key").From(songprint.Table).Column(&keys); err != nil {
			return err
		}
		prints, err := songprint.Stored(app, keys)
		if err != nil {
			return err
		}
		for k, p := range prints {
			if _, err := app.DB().Update(songprint.Table, dbx.Params{"fp": fingerprint.EncodeBytes(p.Items, fingerprint.DefaultAlgorithm)},
				dbx.HashExp{"song_key": k}).Execute(); err != nil {
				return fmt.Errorf("song_fingerprints: restoring the fingerprint of %q: %w", k, err)
			}
		}
		return nil
	})
}
