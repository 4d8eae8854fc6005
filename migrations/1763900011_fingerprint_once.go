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
// a B-tree entry to every upload of a new fingerprinted song.
//
// The table is rebuilt without the column in chunks (dropFingerprintCopies):
// ALTER TABLE ... DROP COLUMN rewrites every row in one statement, whose
// statement journal holds the original of every page it touches in memory
// (temp_store=MEMORY), and at 1M fingerprinted songs (~4 GB of pages) it
// failed with "out of memory". The freed pages stay in data.db, overwritten
// (secure_delete), until the nightly compaction.
func init() {
	m.Register(func(app core.App) error {
		return dropFingerprintCopies(app.DB(), 2000)
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

// dropFingerprintCopies rebuilds song_fingerprints without its fp column,
// chunk rows at a time: each chunk is copied to the new table in id order
// and then deleted from the old one, so that no statement touches more
// than a few thousand pages.
func dropFingerprintCopies(db dbx.Builder, chunk int) error {
	for _, q := range []string{
		"DROP INDEX IF EXISTS idx_song_fingerprints_sketch",
		`CREATE TABLE song_fingerprints_once (
			id INTEGER PRIMARY KEY, song_key TEXT NOT NULL, duration REAL NOT NULL, sketch BLOB NOT NULL)`,
	} {
		if _, err := db.NewQuery(q).Execute(); err != nil {
			return err
		}
	}
	copyChunk := db.NewQuery(`INSERT INTO song_fingerprints_once (id, song_key, duration, sketch)
		SELECT id, song_key, duration, sketch FROM song_fingerprints ORDER BY id LIMIT {:n}`).Bind(dbx.Params{"n": chunk})
	dropChunk := db.NewQuery("DELETE FROM song_fingerprints WHERE id <= (SELECT max(id) FROM song_fingerprints_once)")
	for {
		res, err := copyChunk.Execute()
		if err != nil {
			return fmt.Errorf("song_fingerprints: copying a chunk: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			break
		}
		if _, err := dropChunk.Execute(); err != nil {
			return fmt.Errorf("song_fingerprints: deleting a copied chunk: %w", err)
		}
	}
	for _, q := range []string{
		"DROP TABLE song_fingerprints",
		"ALTER TABLE song_fingerprints_once RENAME TO song_fingerprints",
	} {
		if _, err := db.NewQuery(q).Execute(); err != nil {
			return err
		}
	}
	return nil
}
