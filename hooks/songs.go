package hooks

import (
	"encoding/json"
	"fmt"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/songdata"
)

// bindSongs keeps the "songs" table (one consensus row per song) in step
// with every create, update and delete of a contribution, inside the same
// transaction.
func bindSongs(app core.App) {
	refresh := func(e *core.RecordEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		keys := []string{e.Record.GetString("song_key")}
		if o := e.Record.Original(); o != nil && o.GetString("song_key") != keys[0] {
			keys = append(keys, o.GetString("song_key"))
		}
		for _, k := range keys {
			if k == "" {
				continue
			}
			if err := RefreshSong(e.App, k); err != nil {
				return err
			}
		}
		return nil
	}
	app.OnRecordCreateExecute(ContributedCollections...).BindFunc(refresh)
	app.OnRecordUpdateExecute(ContributedCollections...).BindFunc(refresh)
	app.OnRecordDeleteExecute(ContributedCollections...).BindFunc(refresh)
}

// scoreRowColumns are the score columns consensus reads.
const scoreRowColumns = "artist, title, tempo, key, scale, energy, mood_vector, other_features, album, duration, mbid, isrc"

type scoreRowDB struct {
	Artist        string  `db:"artist"`
	Title         string  `db:"title"`
	Tempo         float64 `db:"tempo"`
	Key           string  `db:"key"`
	Scale         string  `db:"scale"`
	Energy        float64 `db:"energy"`
	MoodVector    string  `db:"mood_vector"`
	OtherFeatures string  `db:"other_features"`
	Album         string  `db:"album"`
	Duration      float64 `db:"duration"`
	MBID          string  `db:"mbid"`
	ISRC          string  `db:"isrc"`
}

func (r scoreRowDB) row() songdata.ScoreRow {
	return songdata.ScoreRow{Artist: r.Artist, Title: r.Title, Tempo: r.Tempo, Key: r.Key, Scale: r.Scale,
		Energy: r.Energy, MoodVector: r.MoodVector, OtherFeatures: r.OtherFeatures, Album: r.Album,
		Duration: r.Duration, MBID: r.MBID, ISRC: r.ISRC}
}

// RefreshSong recomputes the songs row of one song key from its
// contributions: updated, created (random id and rowid) or deleted.
func RefreshSong(app core.App, songKey string) error {
	var rows []scoreRowDB
	if err := app.DB().NewQuery("SELECT " + scoreRowColumns + " FROM score WHERE song_key = {:k}").
		Bind(dbx.Params{"k": songKey}).All(&rows); err != nil {
		return fmt.Errorf("songs: reading contributions: %w", err)
	}
	var embs []struct {
		Model  string `db:"model"`
		N      int    `db:"n"`
		Artist string `db:"artist"`
		Title  string `db:"title"`
	}
	if err := app.DB().NewQuery("SELECT model, COUNT(*) AS n, MIN(artist) AS artist, MIN(title) AS title FROM embedding WHERE song_key = {:k} GROUP BY model").
		Bind(dbx.Params{"k": songKey}).All(&embs); err != nil {
		return fmt.Errorf("songs: reading embeddings: %w", err)
	}
	if len(rows) == 0 && len(embs) == 0 {
		_, err := app.DB().NewQuery("DELETE FROM songs WHERE song_key = {:k}").Bind(dbx.Params{"k": songKey}).Execute()
		return err
	}
	srows := make([]songdata.ScoreRow, len(rows))
	for i, r := range rows {
		srows[i] = r.row()
	}
	c := songdata.ComputeConsensus(srows)
	counts := map[string]int{}
	for _, e := range embs {
		counts[e.Model] = e.N
		if e.N >= songdata.MinForOutliers {
			var encs []string
			if err := app.DB().NewQuery("SELECT vec FROM embedding WHERE song_key = {:k} AND model = {:m}").
				Bind(dbx.Params{"k": songKey, "m": e.Model}).Column(&encs); err != nil {
				return err
			}
			vecs := make([][]float32, 0, len(encs))
			for _, enc := range encs {
				if v, err := songdata.DecodeVec(enc, nil); err == nil {
					vecs = append(vecs, v)
				}
			}
			_, out := songdata.ConsensusVector(vecs)
			c.Outliers += out
		}
	}
	if c.Artist == "" && len(embs) > 0 {
		c.Artist, c.Title = embs[0].Artist, embs[0].Title
	}
	cj, _ := json.Marshal(counts)
	p := SongRowParams(songKey, c, cj)
	res, err := app.DB().Update("songs", p, dbx.HashExp{"song_key": songKey}).Execute()
	if err != nil {
		return fmt.Errorf("songs: update: %w", err)
	}
	if n, _ := res.RowsAffected(); n > 0 {
		return nil
	}
	p["id"] = core.GenerateDefaultRandomId()
	p["rowid"] = RandomRowid()
	if _, err := app.DB().Insert("songs", p).Execute(); err != nil {
		return fmt.Errorf("songs: insert: %w", err)
	}
	return nil
}

// SongRowParams are the column values of a songs row: a song key, its
// consensus, and its embedding counts per model as JSON.
func SongRowParams(songKey string, c songdata.Consensus, embeddingsJSON []byte) dbx.Params {
	p := dbx.Params{
		"song_key": songKey, "artist": c.Artist, "title": c.Title, "contributions": c.Contributions,
		"tempo": 0.0, "tempo_agreement": 0.0, "key": "", "scale": "", "key_agreement": 0.0, "energy": 0.0,
		"mood_vector": songdata.FormatLabels3(c.Moods), "other_features": songdata.FormatLabels3(c.OtherFeatures),
		"album": c.Album, "duration": c.Duration, "mbid": c.MBID, "isrc": c.ISRC,
		"embeddings": string(embeddingsJSON), "outliers": c.Outliers,
	}
	if c.Tempo != nil {
		p["tempo"], p["tempo_agreement"] = c.Tempo.Value, c.Tempo.Agreement
	}
	if c.Key != nil {
		p["key"], p["scale"], p["key_agreement"] = c.Key.Value, c.Key.Scale, c.Key.Agreement
	}
	if c.Energy != nil {
		p["energy"] = *c.Energy
	}
	return p
}
