package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"

	"songcommons/songdata"
)

// Identity by audio fingerprint (contribute/identity.go):
//   - score.fingerprint: the contribution's Chromaprint fingerprint, in
//     fpcalc's compressed form, like the rest of its analysis;
//   - score.tags_key, embedding.tags_key: the song key of the row's own
//     artist and title when its fingerprint filed it under another song
//     (an alias, found by lookups through a partial index: only such rows
//     are in it);
//   - songs.fingerprints: how many of the song's contributions carried a
//     fingerprint;
//   - song_fingerprints: derived, like song_vectors: per fingerprinted song
//     the fingerprint its identity is matched against, its 96-byte sketch
//     (the fingerprint index is built from these at start-up) and its
//     duration. Its id is a hash of the song key (songprint.ID): content,
//     never an upload's order; no time, no account.
func init() {
	m.Register(func(app core.App) error {
		for _, name := range songdata.Collections() {
			c, err := app.FindCollectionByNameOrId(name)
			if err != nil {
				return err
			}
			if name == songdata.ScoreCollection {
				c.Fields.Add(&core.TextField{Name: "fingerprint", Max: songdata.MaxFingerprintLen})
			}
			c.Fields.Add(&core.TextField{Name: "tags_key", Max: 2048})
			c.AddIndex("idx_"+name+"_tags_key", false, "tags_key", "tags_key != ''")
			if err := app.Save(c); err != nil {
				return err
			}
		}
		songs, err := app.FindCollectionByNameOrId("songs")
		if err != nil {
			return err
		}
		songs.Fields.Add(&core.NumberField{Name: "fingerprints", OnlyInt: true})
		if err := app.Save(songs); err != nil {
			return err
		}
		_, err = app.DB().NewQuery(`CREATE TABLE IF NOT EXISTS song_fingerprints (
			id INTEGER PRIMARY KEY, song_key TEXT NOT NULL, duration REAL NOT NULL,
			sketch BLOB NOT NULL, fp BLOB NOT NULL)`).Execute()
		return err
	}, func(app core.App) error {
		if _, err := app.DB().NewQuery("DROP TABLE IF EXISTS song_fingerprints").Execute(); err != nil {
			return err
		}
		if songs, err := app.FindCollectionByNameOrId("songs"); err == nil {
			songs.Fields.RemoveByName("fingerprints")
			if err := app.Save(songs); err != nil {
				return err
			}
		}
		for _, name := range songdata.Collections() {
			c, err := app.FindCollectionByNameOrId(name)
			if err != nil {
				continue
			}
			c.RemoveIndex("idx_" + name + "_tags_key")
			c.Fields.RemoveByName("fingerprint")
			c.Fields.RemoveByName("tags_key")
			if err := app.Save(c); err != nil {
				return err
			}
		}
		return nil
	})
}
