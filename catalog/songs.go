// Package catalog reads the dataset as the service routes answer it:
// songs found by song key, MBID or ISRC with their consensus (and, on
// request, their vectors), the songs behind a similarity search, the
// statistics and the counts. It writes nothing: contributions are stored
// by the write path (contribute/).
package catalog

import (
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/similarity"
	"songcommons/songdata"
	"songcommons/storage"
)

// SongAnswer is the consensus of one song as routes return it.
type SongAnswer struct {
	Found         bool                 `json:"found"`
	SongKey       string               `json:"song_key,omitempty"`
	Artist        string               `json:"artist,omitempty"`
	Title         string               `json:"title,omitempty"`
	MBID          string               `json:"mbid,omitempty"`
	ISRC          string               `json:"isrc,omitempty"`
	Contributions int                  `json:"contributions"`
	Tempo         *songdata.Agreed     `json:"tempo,omitempty"`
	Key           *songdata.AgreedKey  `json:"key,omitempty"`
	Energy        *float64             `json:"energy,omitempty"`
	Moods         map[string]float64   `json:"moods,omitempty"`
	MoodVector    string               `json:"mood_vector,omitempty"`
	OtherFeatures map[string]float64   `json:"other_features,omitempty"`
	Album         string               `json:"album,omitempty"`
	Duration      float64              `json:"duration,omitempty"`
	Outliers      int                  `json:"outliers,omitempty"`
	Embeddings    map[string][]float32 `json:"embeddings,omitempty"`
	EmbeddingRows map[string]int       `json:"embedding_contributions,omitempty"`
}

// songRow is a row of the songs table.
type songRow struct {
	SongKey        string  `db:"song_key"`
	Artist         string  `db:"artist"`
	Title          string  `db:"title"`
	Contributions  int     `db:"contributions"`
	Tempo          float64 `db:"tempo"`
	TempoAgreement float64 `db:"tempo_agreement"`
	Key            string  `db:"key"`
	Scale          string  `db:"scale"`
	KeyAgreement   float64 `db:"key_agreement"`
	Energy         float64 `db:"energy"`
	MoodVector     string  `db:"mood_vector"`
	OtherFeatures  string  `db:"other_features"`
	Album          string  `db:"album"`
	Duration       float64 `db:"duration"`
	MBID           string  `db:"mbid"`
	ISRC           string  `db:"isrc"`
	Embeddings     string  `db:"embeddings"`
	Outliers       int     `db:"outliers"`
}

const songColumns = "song_key, artist, title, contributions, tempo, tempo_agreement, key, scale, key_agreement, energy, mood_vector, other_features, album, duration, mbid, isrc, embeddings, outliers"

func (r *songRow) answer() SongAnswer {
	a := SongAnswer{Found: true, SongKey: r.SongKey, Artist: r.Artist, Title: r.Title, MBID: r.MBID, ISRC: r.ISRC,
		Contributions: r.Contributions, Album: r.Album, Duration: r.Duration, Outliers: r.Outliers, MoodVector: r.MoodVector}
	if r.Contributions > 0 {
		a.Tempo = &songdata.Agreed{Value: r.Tempo, Agreement: r.TempoAgreement}
		a.Key = &songdata.AgreedKey{Value: r.Key, Scale: r.Scale, Agreement: r.KeyAgreement}
	}
	if r.Energy > 0 {
		e := r.Energy
		a.Energy = &e
	}
	if ls, err := songdata.ParseLabels(r.MoodVector); err == nil && len(ls) > 0 {
		a.Moods = songdata.LabelMap(ls)
	}
	if ls, err := songdata.ParseLabels(r.OtherFeatures); err == nil && len(ls) > 0 {
		a.OtherFeatures = songdata.LabelMap(ls)
	}
	_ = json.Unmarshal([]byte(r.Embeddings), &a.EmbeddingRows)
	return a
}

// findSongs reads the songs rows of the given keys.
func findSongs(app core.App, keys []string) (map[string]*songRow, error) {
	out := make(map[string]*songRow, len(keys))
	err := storage.InChunks(keys, func(_ []string, args []any) error {
		var rows []*songRow
		if err := app.DB().Select(strings.Split(songColumns, ", ")...).From("songs").
			Where(dbx.In("song_key", args...)).All(&rows); err != nil {
			return err
		}
		for _, r := range rows {
			out[r.SongKey] = r
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// identifierQuery finds the song keys of rows with one of the MBIDs or
// ISRCs. Their indexes are partial (WHERE column is not empty): SQLite uses
// a partial index only when the query's WHERE implies the index's, which
// "column IN (...)" alone does not, so the query says it too (without it,
// every MBID or ISRC lookup scanned both tables).
func identifierQuery(db dbx.Builder, tbl, column string, values []any) *dbx.SelectQuery {
	return db.Select(column+" AS v", "song_key AS k").Distinct(true).From(tbl).
		Where(dbx.And(dbx.In(column, values...), dbx.NewExp(column+" != ''")))
}

// keysByIdentifier maps MBIDs or ISRCs to song keys through the
// contributions that carry them.
func keysByIdentifier(app core.App, column string, values []string) (map[string]string, error) {
	out := map[string]string{}
	if len(values) == 0 {
		return out, nil
	}
	for _, tbl := range []string{"score", "embedding"} {
		// embedding is asked only for what score did not answer
		var args []any
		for _, v := range values {
			if _, ok := out[v]; !ok {
				args = append(args, v)
			}
		}
		if len(args) == 0 {
			break
		}
		var rows []struct {
			V string `db:"v"`
			K string `db:"k"`
		}
		if err := identifierQuery(app.DB(), tbl, column, args).All(&rows); err != nil {
			return nil, err
		}
		for _, r := range rows {
			if _, ok := out[r.V]; !ok {
				out[r.V] = r.K
			}
		}
	}
	return out, nil
}

// Query is one song asked for: by its song key (from artist and title),
// else by its MBID (lower case), else by its ISRC (upper case, no dashes).
// Artist and title are answered back when the song is not found.
type Query struct {
	Key, Artist, Title, MBID, ISRC string
}

// Lookup answers each query, in order: the song's consensus and its
// vectors of the given models, or found:false. It returns how many were
// found.
func Lookup(app core.App, sim *similarity.Indexes, qs []Query, models []string) ([]SongAnswer, int, error) {
	keys := make([]string, len(qs))
	var mbids, isrcs []string
	for i, q := range qs {
		switch {
		case q.Key != "":
			keys[i] = q.Key
		case q.MBID != "":
			mbids = append(mbids, q.MBID)
		case q.ISRC != "":
			isrcs = append(isrcs, q.ISRC)
		}
	}
	byMBID, err := keysByIdentifier(app, "mbid", mbids)
	if err != nil {
		return nil, 0, err
	}
	byISRC, err := keysByIdentifier(app, "isrc", isrcs)
	if err != nil {
		return nil, 0, err
	}
	for i, q := range qs {
		if keys[i] != "" {
			continue
		}
		if q.MBID != "" {
			keys[i] = byMBID[q.MBID]
		} else {
			keys[i] = byISRC[q.ISRC]
		}
	}
	var want []string
	for _, k := range keys {
		if k != "" {
			want = append(want, k)
		}
	}
	songs, err := findSongs(app, want)
	if err != nil {
		return nil, 0, err
	}
	results := make([]SongAnswer, len(qs))
	found := 0
	for i, q := range qs {
		row := songs[keys[i]]
		if row == nil {
			results[i] = SongAnswer{Found: false, Artist: q.Artist, Title: q.Title, MBID: q.MBID, ISRC: q.ISRC, SongKey: keys[i]}
			continue
		}
		found++
		a := row.answer()
		for _, m := range models {
			if v, ok := sim.Index(m).Get(row.SongKey); ok {
				if a.Embeddings == nil {
					a.Embeddings = map[string][]float32{}
				}
				a.Embeddings[m] = v
			}
		}
		results[i] = a
	}
	return results, found, nil
}

// ResolveSong turns a song key or a record id (of score, embedding or
// songs) into a song key.
func ResolveSong(app core.App, ref string) (string, error) {
	ref = strings.TrimSpace(ref)
	if strings.Contains(ref, songdata.SongKeySeparator) {
		var k string
		err := app.DB().Select("song_key").From("songs").Where(dbx.HashExp{"song_key": ref}).Limit(1).Row(&k)
		return k, err
	}
	for _, tbl := range []string{"songs", "embedding", "score"} {
		var k string
		err := app.DB().Select("song_key").From(tbl).Where(dbx.HashExp{"id": ref}).Limit(1).Row(&k)
		if err == nil {
			return k, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return "", err
		}
	}
	return "", sql.ErrNoRows
}
