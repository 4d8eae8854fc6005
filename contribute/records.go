package contribute

import (
	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/songdata"
)

// The steps of the write path for a contributed record saved through
// PocketBase's record pipeline (the record API, a batch that is not
// stored by the fast path, the dashboard, a deletion by receipt). The
// binding calls them from the record hooks: Canonicalise when the record
// is validated, TagRecord before it is created, PlaceRecord and
// RefreshSongsOf in the transaction of the change, RefreshIndexOf after
// its commit.

var recordFields = map[string][]string{
	songdata.ScoreCollection:     songdata.Names(songdata.ScoreFields()),
	songdata.EmbeddingCollection: songdata.Names(songdata.EmbeddingFields()),
}

// RecordFields are the fields a client may give on a contributed
// collection (nil for any other collection).
func RecordFields(collection string) []string { return recordFields[collection] }

// recordInput gives the validator the record's values of the named fields.
func recordInput(r *core.Record, fields []string) map[string]any {
	in := make(map[string]any, len(fields))
	for _, f := range fields {
		v := r.Get(f)
		switch x := v.(type) {
		case string:
			if x == "" {
				continue // unset text field
			}
		case float64:
			if x == 0 {
				continue // unset number field (PocketBase stores 0)
			}
		}
		in[f] = v
	}
	return in
}

// CheckRecord runs the one validator on a score or embedding record's
// fields: the canonical column values and the contribution they make.
func CheckRecord(r *core.Record) (songdata.Contribution, map[string]any, validation.Errors) {
	name := r.Collection().Name
	in := recordInput(r, RecordFields(name))
	if name == songdata.EmbeddingCollection {
		emb, errs := songdata.CheckEmbedding(in, "")
		if errs != nil {
			return songdata.Contribution{}, nil, errs
		}
		return songdata.Contribution{Embeddings: []*songdata.Embedding{emb}}, emb.Values(), nil
	}
	sc, items, errs := songdata.CheckScoreWithPrint(in, "")
	if errs != nil {
		return songdata.Contribution{}, nil, errs
	}
	return songdata.Contribution{Score: sc, Fingerprint: items}, sc.Values(), nil
}

// Canonicalise validates a contributed record, decides its song (Resolve)
// and gives it the canonical values (or returns the field errors).
func (w *Writer) Canonicalise(r *core.Record) error {
	c, _, errs := CheckRecord(r)
	if errs != nil {
		return errs
	}
	if _, err := w.Resolve([]songdata.Contribution{c}); err != nil {
		return err
	}
	var values map[string]any
	if c.Score != nil {
		values = c.Score.Values()
	} else {
		values = c.Embeddings[0].Values()
	}
	for k, v := range values {
		r.Set(k, v)
	}
	return nil
}

// RefreshSongsOf recomputes the songs and song_vectors rows of a changed
// contributed record's song (and of its song before the change, when an
// update moved it to another).
func RefreshSongsOf(app core.App, r *core.Record) error {
	for _, k := range changedKeys(r, "song_key") {
		if err := RefreshSong(app, k); err != nil {
			return err
		}
	}
	return nil
}

// RefreshIndexOf sets the indexes of a changed contributed (or songs)
// record's song, and of its song before the change, from the committed
// rows: the similarity index for an embedding record (its song and model
// before and after), the search index for every record. A failure is
// logged.
func (w *Writer) RefreshIndexOf(app core.App, r *core.Record) {
	vecKeys := map[string][]string{}
	if r.Collection().Name == songdata.EmbeddingCollection {
		for _, rec := range []*core.Record{r, r.Original()} {
			if rec != nil {
				m := rec.GetString("model")
				vecKeys[m] = append(vecKeys[m], rec.GetString("song_key"))
			}
		}
	}
	keys := changedKeys(r, "song_key")
	w.refreshIndexes(app, vecKeys, keys, keys)
}

// changedKeys are the values of field in r and, when it differs, in r's
// original; never "".
func changedKeys(r *core.Record, field string) []string {
	var keys []string
	if k := r.GetString(field); k != "" {
		keys = append(keys, k)
	}
	if o := r.Original(); o != nil {
		if k := o.GetString(field); k != "" && (len(keys) == 0 || k != keys[0]) {
			keys = append(keys, k)
		}
	}
	return keys
}

// DeleteSong deletes every contribution of a song (moderation: a
// superuser deletes the song's songs row), as records, so the index
// follows.
func DeleteSong(app core.App, songKey string) error {
	for _, tbl := range songdata.Collections() {
		var ids []string
		if err := app.DB().Select("id").From(tbl).Where(dbx.HashExp{"song_key": songKey}).Column(&ids); err != nil {
			return err
		}
		for _, id := range ids {
			r, err := app.FindRecordById(tbl, id)
			if err != nil {
				return err
			}
			if err := app.Delete(r); err != nil {
				return err
			}
		}
	}
	return nil
}
