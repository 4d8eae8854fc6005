package hooks

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/pocketbase/dbx"
	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/similarity"
	"songcommons/songdata"
	"songcommons/storage"
)

// MaxLookup is how many songs one lookup may ask for.
const MaxLookup = 1000

type lookupSong struct {
	Artist string `json:"artist,omitempty"`
	Title  string `json:"title,omitempty"`
	MBID   string `json:"mbid,omitempty"`
	ISRC   string `json:"isrc,omitempty"`
}

type lookupRequest struct {
	Songs      []lookupSong    `json:"songs"`
	Embeddings json.RawMessage `json:"embeddings"`
}

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

// parseModels reads the "embeddings" option: true (all models), false or
// absent (none), or a list of model names.
func parseModels(raw json.RawMessage) ([]string, error) {
	s := strings.TrimSpace(string(raw))
	switch s {
	case "", "null", "false":
		return nil, nil
	case "true":
		return songdata.ModelNames(), nil
	}
	var names []string
	if err := json.Unmarshal(raw, &names); err != nil {
		return nil, fmt.Errorf("embeddings must be true, false or a list of model names")
	}
	var out []string
	for _, n := range names {
		m, ok := songdata.LookupModel(n)
		if !ok {
			return nil, fmt.Errorf("unknown model %q: known models are %s", n, strings.Join(songdata.ModelNames(), ", "))
		}
		out = append(out, m.Name)
	}
	return out, nil
}

func lookupHandler(sim *similarity.Indexes) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		var req lookupRequest
		if err := readJSON(e, maxLookupBody, &req); err != nil {
			return err
		}
		if err := checkCount(e, "songs", len(req.Songs), MaxLookup); err != nil {
			return err
		}
		models, err := parseModels(req.Embeddings)
		if err != nil {
			return e.BadRequestError("Invalid request data.", fieldErr("embeddings", "validation_invalid_value", err.Error()))
		}

		// resolve each song to a song key
		keys := make([]string, len(req.Songs))
		var mbids, isrcs []string
		errs := validation.Errors{}
		for i, s := range req.Songs {
			p := fmt.Sprintf("songs.%d.", i)
			switch {
			case strings.TrimSpace(s.Artist) != "" && strings.TrimSpace(s.Title) != "":
				keys[i] = songdata.SongKey(s.Artist, s.Title)
			case s.MBID != "":
				req.Songs[i].MBID = strings.ToLower(strings.TrimSpace(s.MBID))
				mbids = append(mbids, req.Songs[i].MBID)
			case s.ISRC != "":
				req.Songs[i].ISRC = strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(s.ISRC))
				isrcs = append(isrcs, req.Songs[i].ISRC)
			default:
				errs[p+"artist"] = validation.NewError("validation_required", "each song needs artist and title, or mbid, or isrc")
			}
			if len(s.Artist) > 4*songdata.MaxTextLen || len(s.Title) > 4*songdata.MaxTextLen {
				errs[p+"title"] = validation.NewError("validation_too_long", "artist and title are at most 512 characters")
			}
		}
		if len(errs) > 0 {
			return e.BadRequestError("Invalid request data.", errs)
		}
		byMBID, err := keysByIdentifier(e.App, "mbid", mbids)
		if err != nil {
			return e.InternalServerError("Failed to look songs up.", err)
		}
		byISRC, err := keysByIdentifier(e.App, "isrc", isrcs)
		if err != nil {
			return e.InternalServerError("Failed to look songs up.", err)
		}
		for i, s := range req.Songs {
			if keys[i] != "" {
				continue
			}
			if s.MBID != "" {
				keys[i] = byMBID[s.MBID]
			} else {
				keys[i] = byISRC[s.ISRC]
			}
		}
		var want []string
		for _, k := range keys {
			if k != "" {
				want = append(want, k)
			}
		}
		songs, err := findSongs(e.App, want)
		if err != nil {
			return e.InternalServerError("Failed to look songs up.", err)
		}

		results := make([]SongAnswer, len(req.Songs))
		found := 0
		for i, s := range req.Songs {
			row := songs[keys[i]]
			if row == nil {
				results[i] = SongAnswer{Found: false, Artist: s.Artist, Title: s.Title, MBID: s.MBID, ISRC: s.ISRC, SongKey: keys[i]}
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
		return e.JSON(http.StatusOK, map[string]any{"results": results, "found": found, "missing": len(req.Songs) - found})
	}
}
