package dataset_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"songcommons/contribute"
	"songcommons/dataset"
	"songcommons/internal/testsupport"
	"songcommons/songdata"
)

// Export A, import into a fresh B, export B: the same bytes, and the same
// rows in score, embedding (vectors bit for bit, hidden vec included) and
// songs (the consensus).
func TestRoundTripIsExact(t *testing.T) {
	t.Parallel()
	a := seededApp(t)
	dumpA := dump(t, a, dataset.JSONL)

	b := newTestApp(t)
	sum, err := dataset.Import(context.Background(), b, bytes.NewReader(dumpA), dataset.ImportOptions{Chunk: 7})
	if err != nil {
		t.Fatal(err)
	}
	lines := int64(bytes.Count(dumpA, []byte("\n")))
	if sum.Read != lines || sum.Imported != lines || sum.Rejected != 0 {
		t.Fatalf("summary %+v, want %d lines read and imported, none rejected", sum, lines)
	}
	if want := int64(testsupport.CountRows(t, a, "score")); sum.Score != want {
		t.Errorf("imported %d score rows, want %d", sum.Score, want)
	}
	if want := int64(testsupport.CountRows(t, a, "embedding")); sum.Embedding != want {
		t.Errorf("imported %d embedding rows, want %d", sum.Embedding, want)
	}

	dumpB := dump(t, b, dataset.JSONL)
	if !bytes.Equal(dumpA, dumpB) {
		t.Fatalf("export → import → export changed the dump:\nA:\n%s\nB:\n%s", dumpA, dumpB)
	}
	for _, table := range []string{"score", "embedding", "songs"} {
		ra, rb := tableRows(t, a, table), tableRows(t, b, table)
		if !slices.Equal(ra, rb) {
			t.Errorf("%s rows differ after the round trip:\nA: %q\nB: %q", table, ra, rb)
		}
	}

	// the CSV of the score rows round-trips too
	csvA := dump(t, a, dataset.CSV)
	c := newTestApp(t)
	if _, err := dataset.Import(context.Background(), c, bytes.NewReader(csvA), dataset.ImportOptions{Format: dataset.CSV}); err != nil {
		t.Fatal(err)
	}
	if csvC := dump(t, c, dataset.CSV); !bytes.Equal(csvA, csvC) {
		t.Fatalf("CSV export → import → export changed the dump:\nA:\n%s\nC:\n%s", csvA, csvC)
	}
	if ra, rc := tableRows(t, a, "score"), tableRows(t, c, "score"); !slices.Equal(ra, rc) {
		t.Errorf("score rows differ after the CSV round trip:\nA: %q\nC: %q", ra, rc)
	}
}

// Every dump line is a /contribute song: it validates, and it holds one
// row, in the row's stored (canonical) values.
func TestDumpLinesAreContributions(t *testing.T) {
	t.Parallel()
	app := seededApp(t)
	d := dump(t, app, dataset.JSONL)
	sc := bufio.NewScanner(bytes.NewReader(d))
	sc.Buffer(nil, 1<<20)
	var keys []string
	n := 0
	for sc.Scan() {
		n++
		var song map[string]any
		if err := json.Unmarshal(sc.Bytes(), &song); err != nil {
			t.Fatalf("line %d is not JSON: %v", n, err)
		}
		cs, errs := songdata.CheckSongs([]map[string]any{song}, "")
		if errs != nil {
			t.Fatalf("line %d does not validate: %v\n%s", n, errs, sc.Text())
		}
		c := cs[0]
		rows := len(c.Embeddings)
		key := ""
		if c.Score != nil {
			rows++
			key = c.Score.SongKey
			if c.Score.Key != song["key"] || c.Score.MoodVector != song["mood_vector"] {
				t.Errorf("line %d is not in canonical form: %s", n, sc.Text())
			}
		} else {
			key = c.Embeddings[0].SongKey
			// the vector is written exactly as the canonical form stores it
			raw := json.RawMessage(nil)
			var m struct {
				Embeddings map[string]json.RawMessage `json:"embeddings"`
			}
			_ = json.Unmarshal(sc.Bytes(), &m)
			for _, v := range m.Embeddings {
				raw = v
			}
			if want := songdata.VectorJSON(c.Embeddings[0].Vector); !bytes.Equal(raw, want) {
				t.Errorf("line %d: vector is not in float32 shortest form", n)
			}
		}
		if rows != 1 {
			t.Errorf("line %d holds %d rows, want 1: %s", n, rows, sc.Text())
		}
		keys = append(keys, key)
	}
	if want := testsupport.CountRows(t, app, "score") + testsupport.CountRows(t, app, "embedding"); n != want {
		t.Errorf("dump has %d lines, want one per row (%d)", n, want)
	}
	if !slices.IsSorted(keys) {
		t.Errorf("dump is not ordered by song key: %q", keys)
	}
}

// A dump says nothing the database keeps private: no ids, rowids,
// receipt tags, nor the derived song key.
func TestDumpHoldsNoIdsOrReceipts(t *testing.T) {
	t.Parallel()
	app := seededApp(t)
	for _, f := range []dataset.Format{dataset.JSONL, dataset.CSV} {
		d := string(dump(t, app, f))
		for _, bad := range []string{`"id"`, `"receipt"`, `"vec"`, `"song_key"`, `"rowid"`, "receipt", "song_key"} {
			if strings.Contains(d, bad) {
				t.Errorf("%s dump contains %s", f, bad)
			}
		}
		for _, table := range []string{"score", "embedding"} {
			for _, col := range []string{"id", "receipt", "rowid"} {
				for _, v := range testsupport.Column(t, app, table, col) {
					if strings.Contains(d, v) {
						t.Fatalf("%s dump contains the %s.%s value %q", f, table, col, v)
					}
				}
			}
		}
	}
	if len(testsupport.Column(t, app, "score", "receipt")) == 0 {
		t.Fatal("the seed should have stored receipt tags (else this test proves nothing)")
	}
}

// The dump's order follows content only: the same rows stored in another
// order (other ids, rowids, transactions) give the same bytes.
func TestDumpOrderIgnoresInsertion(t *testing.T) {
	t.Parallel()
	a := seededApp(t)
	b := newTestApp(t)
	songs := seedSongs()
	slices.Reverse(songs)
	for _, s := range songs { // one transaction per song, reversed
		cs, errs := songdata.CheckSongs([]map[string]any{s}, "")
		if errs != nil {
			t.Fatal(errs)
		}
		if _, err := contribute.New(b, nil, nil).Upload(cs, ""); err != nil {
			t.Fatal(err)
		}
	}
	// the records of seed() (the same values, through the bulk path)
	extra := `{"artist":"Only Vectors","title":"Clap Song","embeddings":{"clap":` + string(vec32JSON(testsupport.VariedVector(512, 8))) + `}}
{"artist":"Daft Punk","title":"One More Time","embeddings":{"musicnn":` + string(vec32JSON(testsupport.VariedVector(200, 7))) + `}}
{"artist":"Daft Punk","title":"One More Time","tempo":122.9,"key":"F#","scale":"minor","mood_vector":"house:0.71,electronic:0.55","energy":0.61,"analyzer":"dashboard"}
`
	if _, err := dataset.Import(context.Background(), b, strings.NewReader(extra), dataset.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if da, db := dump(t, a, dataset.JSONL), dump(t, b, dataset.JSONL); !bytes.Equal(da, db) {
		t.Fatalf("same rows, different dumps:\nA:\n%s\nB:\n%s", da, db)
	}
}

func vec32JSON(v []float64) []byte {
	f := make([]float32, len(v))
	for i, x := range v {
		f[i] = float32(x)
	}
	return songdata.VectorJSON(f)
}
