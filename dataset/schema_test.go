package dataset

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"songcommons/songdata"
)

// A dump line holds the schema's fields in the schema's order, and the
// dump's order within a song uses every field of a row, so that the same
// rows always give the same bytes.
func TestDumpFollowsTheSchema(t *testing.T) {
	t.Parallel()
	lineKeys := func(line []byte) []string {
		dec := json.NewDecoder(bytes.NewReader(line))
		if _, err := dec.Token(); err != nil { // {
			t.Fatal(err)
		}
		var keys []string
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			keys = append(keys, k.(string))
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
		}
		return keys
	}
	s := &songdata.Score{}
	if got, want := lineKeys(appendScoreJSON(nil, s)), songdata.Names(songdata.ScoreFields()); !slices.Equal(got, want) {
		t.Errorf("a score line has the keys %v, the schema %v", got, want)
	}
	e := &embeddingRow{Model: "musicnn", Vector: "[1]"}
	want := append(songdata.Names(songdata.IdentityFields()), "embeddings")
	if got := lineKeys(appendEmbeddingJSON(nil, e)); !slices.Equal(got, want) {
		t.Errorf("an embedding line has the keys %v, want %v", got, want)
	}
	if got, want := scoreCSV(s, nil), len(songdata.ScoreFields()); len(got) != want {
		t.Errorf("a CSV record has %d cells, the schema %d fields", len(got), want)
	}
	order := func(s string) []string {
		return strings.Split(strings.ReplaceAll(strings.ReplaceAll(s, " DESC", ""), " ", ""), ",")
	}
	if got, want := order(scoreOrder), append(songdata.KeyColumns(), songdata.Names(songdata.ScoreFields())...); !sameElements(got, want) {
		t.Errorf("score rows are ordered by %v, not every field of %v", got, want)
	}
	want = append(append(songdata.KeyColumns(), songdata.Names(songdata.IdentityFields())...), "model", "embedding")
	if got := order(embeddingOrder); !sameElements(got, want) {
		t.Errorf("embedding rows are ordered by %v, not every field of %v", got, want)
	}
}

func sameElements(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
