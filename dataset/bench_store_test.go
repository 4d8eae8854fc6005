package dataset

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/hooks"
	"songcommons/songdata"
)

// proposedStore is the bulk storage path BENCH_NOTES.md proposes for
// hooks.StoreContributions, kept here (test code only) to measure it and to
// prove it stores the same rows. It writes exactly what StoreContributions
// writes (random ids and rowids, rows in a random order, no receipt, the
// songs table refreshed in the same transaction) with three changes:
//
//  1. the INSERTs are prepared once per transaction (dbx's builder and
//     SQLite's parser ran for every row);
//  2. the songs rows of all the chunk's keys are refreshed together: one
//     read of their score rows and one of their embedding counts (instead
//     of two queries per key), for the keys that already had rows;
//  3. each songs row is written by one prepared UPSERT (instead of an
//     UPDATE, then an INSERT when the song is new);
//  4. a song new in this chunk (no songs row yet, the common case of an
//     import) gets its consensus from the chunk in memory, without
//     reading back the rows just written.
func proposedStore(app core.App, _ *hooks.Similarity, songs []hooks.Contribution) error {
	type row struct {
		table string
		p     dbx.Params
	}
	var rows []row
	keys := map[string]bool{}
	for _, c := range songs {
		if c.Score != nil {
			p := dbx.Params(c.Score.Values())
			rows = append(rows, row{"score", p})
			keys[c.Score.SongKey] = true
		}
		for _, e := range c.Embeddings {
			p := dbx.Params(e.Values())
			p["embedding"] = string(p["embedding"].(json.RawMessage))
			rows = append(rows, row{"embedding", p})
			keys[e.SongKey] = true
		}
	}
	var seed [32]byte
	_, _ = crand.Read(seed[:])
	rng := rand.New(rand.NewChaCha8(seed))
	rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	for _, r := range rows {
		r.p["id"] = core.GenerateDefaultRandomId()
		r.p["rowid"] = hooks.RandomRowid()
		r.p["receipt"] = ""
	}
	return app.RunInTransaction(func(tx core.App) error {
		stmts := map[string]*dbx.Query{}
		defer func() {
			for _, q := range stmts {
				q.Close()
			}
		}()
		for _, r := range rows {
			q := stmts[r.table]
			if q == nil {
				q = tx.DB().NewQuery(insertSQL(r.table, r.p, "")).Prepare()
				stmts[r.table] = q
			}
			if _, err := q.Bind(r.p).Execute(); err != nil {
				return fmt.Errorf("storing a %s row: %w", r.table, err)
			}
		}
		return refreshSongs(tx, keys, songs)
	})
}

// insertSQL is "INSERT INTO t (cols) VALUES ({:cols}) <tail>" for the
// columns of p, in a fixed order.
func insertSQL(table string, p dbx.Params, tail string) string {
	cols := make([]string, 0, len(p))
	for c := range p {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	var names, vals []string
	for _, c := range cols {
		names = append(names, "[["+c+"]]")
		vals = append(vals, "{:"+c+"}")
	}
	return "INSERT INTO {{" + table + "}} (" + strings.Join(names, ", ") + ") VALUES (" + strings.Join(vals, ", ") + ")" + tail
}

// refreshSongs is hooks.RefreshSong for many keys at once (same values).
// A key without a songs row had no contributions before this chunk: its
// consensus is computed from the chunk in memory, without reading back
// the rows just written (the common case of an import); the other keys are
// read back with two queries for all of them.
func refreshSongs(tx core.App, keys map[string]bool, chunk []hooks.Contribution) error {
	all := make([]string, 0, len(keys))
	for k := range keys {
		all = append(all, k)
	}
	sort.Strings(all)
	inList := func(list []string) (string, dbx.Params) {
		params := dbx.Params{}
		ph := make([]string, len(list))
		for i, k := range list {
			name := fmt.Sprintf("k%d", i)
			params[name] = k
			ph[i] = "{:" + name + "}"
		}
		return "(" + strings.Join(ph, ",") + ")", params
	}
	in, params := inList(all)
	var known []string
	if err := tx.DB().NewQuery("SELECT song_key FROM songs WHERE song_key IN " + in).Bind(params).Column(&known); err != nil {
		return err
	}
	isKnown := map[string]bool{}
	for _, k := range known {
		isKnown[k] = true
	}
	type emb struct {
		model, artist, title string
		n                    int
	}
	byKey := map[string][]songdata.ScoreRow{}
	embs := map[string][]emb{}
	// new keys: from the chunk
	embAt := map[[2]string]int{}
	vecs := map[[2]string][][]float32{} // (key, model) → vectors, for the outlier count
	for _, c := range chunk {
		if s := c.Score; s != nil && !isKnown[s.SongKey] {
			byKey[s.SongKey] = append(byKey[s.SongKey], songdata.ScoreRow{Artist: s.Artist, Title: s.Title, Tempo: s.Tempo, Key: s.Key, Scale: s.Scale,
				Energy: s.Energy, MoodVector: s.MoodVector, OtherFeatures: s.OtherFeatures, Album: s.Album, Duration: s.Duration, MBID: s.MBID, ISRC: s.ISRC})
		}
		for _, e := range c.Embeddings {
			if isKnown[e.SongKey] {
				continue
			}
			mk := [2]string{e.SongKey, e.Model}
			i, ok := embAt[mk]
			if !ok {
				i = len(embs[e.SongKey])
				embAt[mk] = i
				embs[e.SongKey] = append(embs[e.SongKey], emb{model: e.Model, artist: e.Artist, title: e.Title})
			}
			x := &embs[e.SongKey][i]
			x.n++
			x.artist, x.title = min(x.artist, e.Artist), min(x.title, e.Title)
			vecs[mk] = append(vecs[mk], e.Vector)
		}
	}
	for _, es := range embs {
		sort.Slice(es, func(i, j int) bool { return es[i].model < es[j].model })
	}
	if len(known) > 0 {
		in, params := inList(known)
		type scoreDB struct {
			SongKey       string  `db:"song_key"`
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
		var srows []scoreDB
		if err := tx.DB().NewQuery("SELECT song_key, artist, title, tempo, key, scale, energy, mood_vector, other_features, album, duration, mbid, isrc FROM score WHERE song_key IN " + in).
			Bind(params).All(&srows); err != nil {
			return err
		}
		for _, r := range srows {
			byKey[r.SongKey] = append(byKey[r.SongKey], songdata.ScoreRow{Artist: r.Artist, Title: r.Title, Tempo: r.Tempo, Key: r.Key, Scale: r.Scale,
				Energy: r.Energy, MoodVector: r.MoodVector, OtherFeatures: r.OtherFeatures, Album: r.Album, Duration: r.Duration, MBID: r.MBID, ISRC: r.ISRC})
		}
		var erows []struct {
			SongKey string `db:"song_key"`
			Model   string `db:"model"`
			N       int    `db:"n"`
			Artist  string `db:"artist"`
			Title   string `db:"title"`
		}
		if err := tx.DB().NewQuery("SELECT song_key, model, COUNT(*) AS n, MIN(artist) AS artist, MIN(title) AS title FROM embedding WHERE song_key IN " + in + " GROUP BY song_key, model").
			Bind(params).All(&erows); err != nil {
			return err
		}
		var many []string
		for _, e := range erows {
			embs[e.SongKey] = append(embs[e.SongKey], emb{e.Model, e.Artist, e.Title, e.N})
			if e.N >= songdata.MinForOutliers && (len(many) == 0 || many[len(many)-1] != e.SongKey) {
				many = append(many, e.SongKey)
			}
		}
		if len(many) > 0 {
			in, params := inList(many)
			var vrows []struct {
				SongKey string `db:"song_key"`
				Model   string `db:"model"`
				Vec     string `db:"vec"`
			}
			if err := tx.DB().NewQuery("SELECT song_key, model, vec FROM embedding WHERE song_key IN " + in).Bind(params).All(&vrows); err != nil {
				return err
			}
			for _, r := range vrows {
				if v, err := songdata.DecodeVec(r.Vec, nil); err == nil {
					mk := [2]string{r.SongKey, r.Model}
					vecs[mk] = append(vecs[mk], v)
				}
			}
		}
	}

	var upsert *dbx.Query
	defer func() {
		if upsert != nil {
			upsert.Close()
		}
	}()
	for _, k := range all {
		rows, es := byKey[k], embs[k]
		if len(rows) == 0 && len(es) == 0 {
			if _, err := tx.DB().NewQuery("DELETE FROM songs WHERE song_key = {:k}").Bind(dbx.Params{"k": k}).Execute(); err != nil {
				return err
			}
			continue
		}
		c := songdata.ComputeConsensus(rows)
		counts := map[string]int{}
		for _, e := range es {
			counts[e.model] = e.n
			if e.n >= songdata.MinForOutliers {
				_, out := songdata.ConsensusVector(vecs[[2]string{k, e.model}])
				c.Outliers += out
			}
		}
		if c.Artist == "" && len(es) > 0 {
			c.Artist, c.Title = es[0].artist, es[0].title
		}
		cj, _ := json.Marshal(counts)
		p := hooks.SongRowParams(k, c, cj)
		if upsert == nil {
			var set []string
			for col := range p {
				if col != "song_key" {
					set = append(set, "[["+col+"]] = excluded.[["+col+"]]")
				}
			}
			sort.Strings(set)
			withIDs := dbx.Params{"id": "", "rowid": 0}
			for col, v := range p {
				withIDs[col] = v
			}
			upsert = tx.DB().NewQuery(insertSQL("songs", withIDs, " ON CONFLICT (song_key) DO UPDATE SET "+strings.Join(set, ", "))).Prepare()
		}
		p["id"] = core.GenerateDefaultRandomId()
		p["rowid"] = hooks.RandomRowid()
		if _, err := upsert.Bind(p).Execute(); err != nil {
			return fmt.Errorf("songs: upsert: %w", err)
		}
	}
	return nil
}

// The proposed path stores what StoreContributions stores: same rows in
// score, embedding and songs (ids, rowids and receipts aside), songs of a
// key spread over several chunks included.
func TestProposedStoreMatchesStoreContributions(t *testing.T) {
	t.Parallel()
	var dump bytes.Buffer
	if err := writeSynthetic(&dump, 150); err != nil {
		t.Fatal(err)
	}
	// the same songs again, other values: second contributions of each song
	var again bytes.Buffer
	if err := writeSynthetic(&again, 60); err != nil {
		t.Fatal(err)
	}
	in := dump.String() + strings.ReplaceAll(again.String(), `"analyzer":"bench/1"`, `"analyzer":"bench/2"`)
	// vector-only songs, spelt two ways in one chunk, and another spelling
	// of a known song
	// (four vectors each: three alike and an outlier, for the outlier count)
	vec := func(i int) string {
		v := make([]float32, 200)
		v[0], v[1+i] = 1, 0.05
		if i == 3 {
			v[0] = -1
		}
		return string(songdata.VectorJSON(v))
	}
	for i, id := range []string{`"artist":"zeta","title":"Only Vectors"`, `"artist":"Zeta","title":"only vectors"`,
		`"artist":"Zeta","title":"Only Vectors!"`, `"artist":"ZETA","title":"Only  vectors"`} {
		in += `{` + id + `,"embeddings":{"musicnn":` + vec(i) + `}}` + "\n"
	}
	known := strings.Repeat(`{"artist":"SYNTHETIC ARTIST 0","title":"track 0 of the benchmark","embeddings":{"musicnn":VEC}}`+"\n", 1)
	for i := range 4 {
		in += strings.Replace(known, "VEC", vec(i), 1)
	}

	tables := map[string][]string{}
	for _, store := range []func(core.App, *hooks.Similarity, []hooks.Contribution) error{nil, proposedStore} {
		app := core.NewBaseApp(core.BaseAppConfig{DataDir: t.TempDir()})
		if err := app.Bootstrap(); err != nil {
			t.Fatal(err)
		}
		if err := app.RunAllMigrations(); err != nil {
			t.Fatal(err)
		}
		sum, err := Import(context.Background(), app, strings.NewReader(in), ImportOptions{Chunk: 37, store: store})
		if err != nil || sum.Rejected != 0 {
			t.Fatalf("%+v %v", sum, err)
		}
		for _, table := range []string{"score", "embedding", "songs"} {
			got := contentRows(t, app, table)
			if want, ok := tables[table]; ok && !slices.Equal(got, want) {
				t.Errorf("%s: the proposed store differs from StoreContributions", table)
			}
			tables[table] = got
		}
		for _, k := range []string{songdata.SongKey("zeta", "only vectors"), songdata.SongKey("Synthetic Artist 0", "Track 0 of the benchmark")} {
			var out int
			if err := app.DB().NewQuery("SELECT outliers FROM songs WHERE song_key = {:k}").Bind(dbx.Params{"k": k}).Row(&out); err != nil || out < 1 {
				t.Errorf("%s: %d outliers (%v), want the outlying vectors counted", k, out, err)
			}
		}
		var rowids []int64
		_ = app.DB().NewQuery("SELECT rowid FROM score").Column(&rowids)
		if slices.IsSorted(rowids) && len(rowids) > 2 && rowids[len(rowids)-1] < 1000 {
			t.Error("rowids are not random")
		}
		_ = app.ResetBootstrapState()
	}
}

func contentRows(t testing.TB, app core.App, table string) []string {
	rows, err := app.DB().NewQuery("SELECT * FROM " + table).Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i, c := range cols {
			if c != "id" && c != "receipt" {
				fmt.Fprintf(&b, "%s=%v|", c, vals[i])
			}
		}
		out = append(out, b.String())
	}
	sort.Strings(out)
	return out
}
