package contribute

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/fingerprint"
	"songcommons/songdata"
	"songcommons/songprint"
	"songcommons/vectors"
)

// scoreColumns are the columns of a score row as songdata.Score reads them.
var scoreColumns = "song_key, " + songdata.Columns(songdata.ScoreFields())

// RefreshSong recomputes the songs row and the song_vectors rows of one
// song key from its contributions: updated, created (random id and rowid)
// or deleted.
func RefreshSong(app core.App, songKey string) error {
	w := newSongWriter(app.DB(), false)
	w.rowsGone = true
	defer w.close()
	in, err := readSong(app.DB(), songKey)
	if err != nil {
		return err
	}
	return w.write(songKey, in, true)
}

// songInput is what a song's consensus is computed from: its score rows
// and, per model, its embedding rows.
type songInput struct {
	scores []songdata.Score
	embs   map[string][]songEmb
}

type songEmb struct {
	artist, title string
	vec           []float32
}

func (in *songInput) addEmbedding(model string, e songEmb) {
	if in.embs == nil {
		in.embs = map[string][]songEmb{}
	}
	in.embs[model] = append(in.embs[model], e)
}

// readSong reads every contribution of a song.
func readSong(db dbx.Builder, songKey string) (songInput, error) {
	var in songInput
	if err := db.NewQuery("SELECT " + scoreColumns + " FROM score WHERE song_key = {:k}").
		Bind(dbx.Params{"k": songKey}).All(&in.scores); err != nil {
		return in, fmt.Errorf("songs: reading contributions: %w", err)
	}
	var embs []struct {
		Model     string `db:"model"`
		Artist    string `db:"artist"`
		Title     string `db:"title"`
		Embedding string `db:"embedding"`
	}
	if err := db.NewQuery("SELECT model, artist, title, embedding FROM embedding WHERE song_key = {:k}").
		Bind(dbx.Params{"k": songKey}).All(&embs); err != nil {
		return in, fmt.Errorf("songs: reading embeddings: %w", err)
	}
	for _, e := range embs {
		var v []float32
		if err := json.Unmarshal([]byte(e.Embedding), &v); err != nil {
			v = nil // counted, but no vector (never written by this service)
		}
		in.addEmbedding(e.Model, songEmb{e.Artist, e.Title, v})
	}
	return in, nil
}

// consensus computes the songs row and the vector per model of a song.
// One function serves RefreshSong and the bulk path, so a song reads the
// same whichever path wrote it.
func (in songInput) consensus(songKey string) (dbx.Params, map[string][]float32) {
	c := songdata.ComputeConsensus(in.scores)
	counts := map[string]int{}
	vecs := map[string][]float32{}
	models := make([]string, 0, len(in.embs))
	for model, es := range in.embs {
		models = append(models, model)
		counts[model] = len(es)
		vs := make([][]float32, 0, len(es))
		for _, e := range es {
			if e.vec != nil {
				vs = append(vs, e.vec)
			}
		}
		v, out := songdata.ConsensusVector(vs)
		c.Outliers += out
		if v != nil {
			vecs[model] = v
		}
	}
	if c.Artist == "" && len(models) > 0 {
		// a song known only by embeddings: the smallest artist and title
		// of its first model
		slices.Sort(models)
		es := in.embs[models[0]]
		c.Artist, c.Title = es[0].artist, es[0].title
		for _, e := range es[1:] {
			c.Artist, c.Title = min(c.Artist, e.artist), min(c.Title, e.title)
		}
	}
	cj, _ := json.Marshal(counts)
	return SongRowParams(songKey, c, cj), vecs
}

// songWriter writes songs and song_vectors rows, with statements prepared
// once per transaction on the bulk path.
type songWriter struct {
	db        dbx.Builder
	prepared  bool
	seqRowids bool // new songs rows take SQLite's next rowid (bulk import in dump order)
	// rowsGone: contributions of the song may have been deleted
	// (RefreshSong), so a song_fingerprints row may be left without one;
	// on the bulk path rows are only added, and a song none of whose rows
	// carries a fingerprint has no song_fingerprints row to delete
	rowsGone  bool
	stmts     map[string]*dbx.Query
	printKeys []string // songs whose song_fingerprints row was written or deleted
	// items are the decoded fingerprints of the contributions being
	// stored, by their canonical text: writePrint does not decode them again
	items map[string][]uint32
}

func newSongWriter(db dbx.Builder, prepared bool) *songWriter {
	return &songWriter{db: db, prepared: prepared, stmts: map[string]*dbx.Query{}}
}

func (w *songWriter) exec(sql string, p dbx.Params) (int64, error) {
	q := w.stmts[sql]
	if q == nil {
		q = w.db.NewQuery(sql)
		if w.prepared {
			q.Prepare()
			w.stmts[sql] = q
		}
	}
	res, err := q.Bind(p).Execute()
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return n, nil
}

func (w *songWriter) close() {
	for _, q := range w.stmts {
		q.Close()
	}
}

// The statements of songs and song_vectors rows. The INSERTs list the
// columns of SongRowParams with insertSQL, like the contributed rows.
var sqlSongUpdate, sqlSongInsert, sqlSongInsertSeq = func() (string, string, string) {
	p := SongRowParams("", songdata.Consensus{}, nil)
	var set []string
	for c := range p {
		if c != "song_key" {
			set = append(set, fmt.Sprintf("[[%s]] = {:%s}", c, c))
		}
	}
	slices.Sort(set)
	update := "UPDATE songs SET " + strings.Join(set, ", ") + " WHERE song_key = {:song_key}"
	p["id"] = ""
	seq := insertSQL("songs", p) // SQLite's next rowid (bulk import)
	p["rowid"] = 0
	return update, insertSQL("songs", p), seq
}()

const (
	// a song's fingerprint row, written only when it changes; a row of
	// another song with the same id (a hash collision) is kept
	sqlPrintUpsert = "INSERT INTO song_fingerprints (id, song_key, duration, sketch) VALUES ({:id}, {:k}, {:d}, {:s})" +
		" ON CONFLICT(id) DO UPDATE SET duration = excluded.duration, sketch = excluded.sketch" +
		" WHERE song_fingerprints.song_key = excluded.song_key AND (song_fingerprints.sketch != excluded.sketch OR song_fingerprints.duration != excluded.duration)"
	sqlPrintDelete = "DELETE FROM song_fingerprints WHERE id = {:id} AND song_key = {:k}"
	sqlVecUpsert   = "INSERT OR REPLACE INTO song_vectors (model, song_key, vec) VALUES ({:m}, {:k}, {:v})"
	sqlVecDelete   = "DELETE FROM song_vectors WHERE model = {:m} AND song_key = {:k}"
	sqlSongDelete  = "DELETE FROM songs WHERE song_key = {:k}"
)

// write stores a song's consensus: exists says whether a songs row may
// already be there (RefreshSong) or is known to be absent (a song new to
// the database on the bulk path).
func (w *songWriter) write(songKey string, in songInput, exists bool) error {
	if len(in.scores) == 0 && len(in.embs) == 0 {
		if _, err := w.exec(sqlSongDelete, dbx.Params{"k": songKey}); err != nil {
			return fmt.Errorf("songs: delete: %w", err)
		}
		for _, m := range songdata.Models() {
			if _, err := w.exec(sqlVecDelete, dbx.Params{"m": m.Name, "k": songKey}); err != nil {
				return fmt.Errorf("song_vectors: delete: %w", err)
			}
		}
		return w.writePrint(songKey, in.scores, true)
	}
	p, vecs := in.consensus(songKey)
	updated := int64(0)
	if exists {
		var err error
		if updated, err = w.exec(sqlSongUpdate, p); err != nil {
			return fmt.Errorf("songs: update: %w", err)
		}
	}
	if updated == 0 {
		p["id"] = core.GenerateDefaultRandomId()
		insert := sqlSongInsertSeq
		if !w.seqRowids {
			p["rowid"] = RandomRowid()
			insert = sqlSongInsert
		}
		if _, err := w.exec(insert, p); err != nil {
			return fmt.Errorf("songs: insert: %w", err)
		}
	}
	for _, m := range songdata.Models() {
		if v := vecs[m.Name]; v != nil {
			if _, err := w.exec(sqlVecUpsert, dbx.Params{"m": m.Name, "k": songKey, "v": vectors.EncodeBlob(v)}); err != nil {
				return fmt.Errorf("song_vectors: write: %w", err)
			}
		} else if exists {
			if _, err := w.exec(sqlVecDelete, dbx.Params{"m": m.Name, "k": songKey}); err != nil {
				return fmt.Errorf("song_vectors: delete: %w", err)
			}
		}
	}
	return w.writePrint(songKey, in.scores, exists)
}

// writePrint keeps the song's song_fingerprints row: the sketch and
// duration of the fingerprint its identity is matched against
// (songprint.Reference of its contributions'); a song without
// fingerprints has no row. The fingerprint itself stays on its score row
// only: lookups read it from there.
func (w *songWriter) writePrint(songKey string, scores []songdata.Score, exists bool) error {
	best := songprint.Reference(len(scores), func(i int) string { return scores[i].Fingerprint })
	id := songprint.ID(songKey)
	if best < 0 {
		if !exists || !w.rowsGone {
			return nil
		}
		n, err := w.exec(sqlPrintDelete, dbx.Params{"id": id, "k": songKey})
		if err != nil {
			return fmt.Errorf("song_fingerprints: delete: %w", err)
		}
		if n > 0 {
			w.printKeys = append(w.printKeys, songKey)
		}
		return nil
	}
	items := w.items[scores[best].Fingerprint]
	if items == nil {
		var err error
		if items, err = fingerprint.DecodeDefault(scores[best].Fingerprint); err != nil {
			return fmt.Errorf("song_fingerprints: the stored fingerprint of %q: %w", songKey, err)
		}
	}
	n, err := w.exec(sqlPrintUpsert, dbx.Params{"id": id, "k": songKey, "d": scores[best].Duration,
		"s": songprint.EncodeSketch(fingerprint.SketchOf(items))})
	if err != nil {
		return fmt.Errorf("song_fingerprints: write: %w", err)
	}
	if n > 0 {
		w.printKeys = append(w.printKeys, songKey)
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
		"embeddings": string(embeddingsJSON), "outliers": c.Outliers, "fingerprints": c.Fingerprints,
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
