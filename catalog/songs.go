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
	"fmt"
	"slices"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/fingerprint"
	"songcommons/similarity"
	"songcommons/songdata"
	"songcommons/songprint"
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
	// Fingerprints counts the contributions that carried an audio
	// fingerprint: the song is identified by its audio when it is > 0.
	Fingerprints int `json:"fingerprints"`
	// MatchedBy is the identifier that found the song: fingerprint,
	// artist_title, mbid or isrc.
	MatchedBy string `json:"matched_by,omitempty"`
	// PrintMatch says how well the fingerprint matched.
	PrintMatch *PrintMatch `json:"fingerprint_match,omitempty"`
	// Alias is set when artist and title found the song as the tags of a
	// contribution it holds by fingerprint, not as its own.
	Alias bool `json:"alias,omitempty"`
	// Candidates are the songs an ambiguous query matched (found is
	// false: none is picked).
	Candidates []Candidate `json:"candidates,omitempty"`
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
	Fingerprints   int     `db:"fingerprints"`
}

const songColumns = "song_key, artist, title, contributions, tempo, tempo_agreement, key, scale, key_agreement, energy, mood_vector, other_features, album, duration, mbid, isrc, embeddings, outliers, fingerprints"

func (r *songRow) answer() SongAnswer {
	a := SongAnswer{Found: true, SongKey: r.SongKey, Artist: r.Artist, Title: r.Title, MBID: r.MBID, ISRC: r.ISRC,
		Contributions: r.Contributions, Album: r.Album, Duration: r.Duration, Outliers: r.Outliers, MoodVector: r.MoodVector,
		Fingerprints: r.Fingerprints}
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
	err := storage.ReadChunks(app, keys, func(args []any) ([]*songRow, error) {
		var rows []*songRow
		err := app.DB().Select(strings.Split(songColumns, ", ")...).From("songs").
			Where(dbx.In("song_key", args...)).All(&rows)
		return rows, err
	}, func(rows []*songRow) {
		for _, r := range rows {
			out[r.SongKey] = r
		}
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

// Query is one song asked for, by any of its identifiers: its audio
// fingerprint (sub-fingerprints and duration), its song key (from artist
// and title), its MBID (lower case), its ISRC (upper case, no dashes).
// Artist and title are answered back when the song is not found.
type Query struct {
	Key, Artist, Title, MBID, ISRC string
	Fingerprint                    []uint32
	Duration                       float64
}

// Identifiers a song was found by (SongAnswer.MatchedBy), in the order
// they are tried.
const (
	ByFingerprint = "fingerprint"
	ByArtistTitle = "artist_title"
	ByMBID        = "mbid"
	ByISRC        = "isrc"
)

// PrintMatch says how well a fingerprint matched the song it found.
type PrintMatch struct {
	Score   float64 `json:"score"`   // share of agreeing bits at the best alignment
	Overlap float64 `json:"overlap"` // seconds of audio compared
	Offset  float64 `json:"offset"`  // where the query's audio starts in the song's, seconds
}

// Candidate is one of the songs an ambiguous query matched.
type Candidate struct {
	SongKey string      `json:"song_key"`
	Artist  string      `json:"artist,omitempty"`
	Title   string      `json:"title,omitempty"`
	Match   *PrintMatch `json:"fingerprint_match,omitempty"`
}

// Lookup answers each query, in order: the song's consensus and its
// vectors of the given models, or found:false. Each query's identifiers
// are tried in turn: the fingerprint, then artist and title (the song of
// that key, else the one song that has them as an alias), then the MBID,
// then the ISRC; the answer says which one found the song (matched_by).
// An identifier that matches more than one song stops the search: the
// answer is found:false with the candidates, none picked. It returns how
// many were found.
func Lookup(app core.App, sim *similarity.Indexes, prints *songprint.Index, qs []Query, models []string) ([]SongAnswer, int, error) {
	n := len(qs)
	keys, by := make([]string, n), make([]string, n)
	matches := make([]*PrintMatch, n)
	alias := make([]bool, n)
	ambiguous := make([][]Candidate, n)
	open := func(i int) bool { return keys[i] == "" && ambiguous[i] == nil }

	// the fingerprint
	var fq []fingerprint.Query
	var fi []int
	for i, q := range qs {
		if q.Fingerprint != nil {
			fq = append(fq, fingerprint.Query{Fingerprint: q.Fingerprint, Duration: q.Duration})
			fi = append(fi, i)
		}
	}
	if len(fq) > 0 && prints != nil {
		found, err := prints.Lookup(app, fq)
		if err != nil {
			return nil, 0, err
		}
		for j, ms := range found {
			i := fi[j]
			switch {
			case len(ms) == 1:
				keys[i], by[i], matches[i] = ms[0].SongKey, ByFingerprint, printMatch(ms[0].Similarity)
			case len(ms) > 1:
				for _, m := range ms {
					ambiguous[i] = append(ambiguous[i], Candidate{SongKey: m.SongKey, Match: printMatch(m.Similarity)})
				}
				by[i] = ByFingerprint
			}
		}
	}

	// artist and title: the song of the key, else the one song with them
	// as an alias
	var tagKeys []string
	for i, q := range qs {
		if open(i) && q.Key != "" {
			tagKeys = append(tagKeys, q.Key)
		}
	}
	exact, err := findSongs(app, tagKeys)
	if err != nil {
		return nil, 0, err
	}
	var unknown []string
	for _, k := range tagKeys {
		if exact[k] == nil {
			unknown = append(unknown, k)
		}
	}
	aliases, err := AliasTargets(app.DB(), unknown)
	if err != nil {
		return nil, 0, err
	}
	for i, q := range qs {
		if !open(i) || q.Key == "" {
			continue
		}
		switch targets := aliases[q.Key]; {
		case exact[q.Key] != nil:
			keys[i], by[i] = q.Key, ByArtistTitle
		case len(targets) == 1:
			keys[i], by[i], alias[i] = targets[0], ByArtistTitle, true
		case len(targets) > 1:
			for _, k := range targets {
				ambiguous[i] = append(ambiguous[i], Candidate{SongKey: k})
			}
			by[i] = ByArtistTitle
		}
	}

	// the MBID, then the ISRC
	for _, id := range []struct{ column, matchedBy string }{{"mbid", ByMBID}, {"isrc", ByISRC}} {
		value := func(q Query) string {
			if id.column == "mbid" {
				return q.MBID
			}
			return q.ISRC
		}
		var values []string
		for i, q := range qs {
			if open(i) && value(q) != "" {
				values = append(values, value(q))
			}
		}
		found, err := keysByIdentifier(app, id.column, values)
		if err != nil {
			return nil, 0, err
		}
		for i, q := range qs {
			if k := found[value(q)]; open(i) && k != "" {
				keys[i], by[i] = k, id.matchedBy
			}
		}
	}

	want := slices.Clone(keys)
	for _, cs := range ambiguous {
		for _, c := range cs {
			want = append(want, c.SongKey)
		}
	}
	want = slices.DeleteFunc(want, func(k string) bool { return k == "" })
	songs, err := findSongs(app, want)
	if err != nil {
		return nil, 0, err
	}
	results := make([]SongAnswer, n)
	found := 0
	for i, q := range qs {
		row := songs[keys[i]]
		if row == nil {
			a := SongAnswer{Found: false, Artist: q.Artist, Title: q.Title, MBID: q.MBID, ISRC: q.ISRC, SongKey: q.Key}
			if ambiguous[i] != nil {
				a.MatchedBy, a.Candidates = by[i], ambiguous[i]
				for j := range a.Candidates {
					if r := songs[a.Candidates[j].SongKey]; r != nil {
						a.Candidates[j].Artist, a.Candidates[j].Title = r.Artist, r.Title
					}
				}
			}
			results[i] = a
			continue
		}
		found++
		a := row.answer()
		a.MatchedBy, a.PrintMatch, a.Alias = by[i], matches[i], alias[i]
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

// aliasQuery finds the songs holding contributions whose tags' key is one
// of keys; "tags_key != ”" lets SQLite use the partial index (only rows
// filed by fingerprint under another song are in it).
func aliasQuery(db dbx.Builder, tbl string, keys []any) *dbx.SelectQuery {
	return db.Select("tags_key", "song_key").Distinct(true).From(tbl).
		Where(dbx.And(dbx.In("tags_key", keys...), dbx.NewExp("tags_key != ''")))
}

func printMatch(s fingerprint.Similarity) *PrintMatch {
	r := s.Rounded()
	return &PrintMatch{Score: r.Score, Overlap: r.Overlap, Offset: r.Offset}
}

// AliasTargets maps tags' keys to the songs that hold contributions filed
// under them by their fingerprint (Identity.TagsKey): sorted, distinct.
func AliasTargets(db dbx.Builder, keys []string) (map[string][]string, error) {
	out := map[string][]string{}
	err := storage.InChunks(keys, func(_ []string, args []any) error {
		for _, tbl := range songdata.Collections() {
			var rows []struct {
				Tags string `db:"tags_key"`
				Key  string `db:"song_key"`
			}
			if err := aliasQuery(db, tbl, args).All(&rows); err != nil {
				return fmt.Errorf("%s: reading aliases: %w", tbl, err)
			}
			for _, r := range rows {
				if !slices.Contains(out[r.Tags], r.Key) {
					out[r.Tags] = append(out[r.Tags], r.Key)
				}
			}
		}
		return nil
	})
	for k := range out {
		slices.Sort(out[k])
	}
	return out, err
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
