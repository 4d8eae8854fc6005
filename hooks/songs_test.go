package hooks_test

import (
	"testing"

	"github.com/pocketbase/pocketbase/core"
)

func TestSongsTable(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	score, _ := app.FindCollectionByNameOrId("score")
	emb, _ := app.FindCollectionByNameOrId("embedding")
	save := func(col *core.Collection, data map[string]any) *core.Record {
		r := newRecord(col, data)
		if err := app.Save(r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	a := save(score, map[string]any{"artist": "Beyoncé feat. JAY-Z", "title": "Crazy in Love", "tempo": 99, "key": "D", "scale": "minor"})
	save(score, map[string]any{"artist": "Beyonce", "title": "Crazy In Love", "tempo": 198, "key": "D", "scale": "minor"})
	save(score, map[string]any{"artist": "BEYONCÉ", "title": "crazy in love", "tempo": 100, "key": "F", "scale": "major"})
	e := save(emb, map[string]any{"artist": "Beyonce", "title": "Crazy in Love", "embedding": testVector(200, 3)})

	song := func() *core.Record {
		r, err := app.FindFirstRecordByData("songs", "song_key", "beyonce|crazy in love")
		if err != nil {
			return nil
		}
		return r
	}
	s := song()
	if s == nil {
		t.Fatal("no songs row")
	}
	if n := countRows(t, app, "songs"); n != 1 {
		t.Fatalf("%d songs rows, want 1", n)
	}
	if s.GetInt("contributions") != 3 || s.GetFloat("tempo") != 99 || s.GetFloat("tempo_agreement") != 1 ||
		s.GetString("key") != "D" || s.GetString("scale") != "minor" || s.GetFloat("key_agreement") != 0.67 {
		t.Fatalf("consensus: %v", s.PublicExport())
	}
	if s.GetString("embeddings") != `{"musicnn":1}` {
		t.Fatalf("embeddings %q", s.GetString("embeddings"))
	}
	// moderation: a superuser deletes a contribution, the song follows
	if err := app.Delete(a); err != nil {
		t.Fatal(err)
	}
	if s = song(); s.GetInt("contributions") != 2 || s.GetFloat("key_agreement") != 0.5 {
		t.Fatalf("after delete: %v", s.PublicExport())
	}
	// when the last contribution goes, so does the song
	for _, tbl := range []string{"score", "embedding"} {
		rs, _ := app.FindAllRecords(tbl)
		for _, r := range rs {
			if err := app.Delete(r); err != nil {
				t.Fatal(err)
			}
		}
	}
	_ = e
	if song() != nil || countRows(t, app, "songs") != 0 {
		t.Fatal("songs row left behind")
	}
}
