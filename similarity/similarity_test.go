package similarity_test

import (
	"fmt"
	"maps"
	"math"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/internal/testsupport"
	"songcommons/similarity"
	"songcommons/songdata"
	"songcommons/vectors"
)

// vec is a deterministic test vector of a model's dimension.
func vec(dim int, seed float64) []float32 {
	v := testsupport.VariedVector(dim, seed)
	out := make([]float32, dim)
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// put writes a song_vectors row as the write path does; blob nil deletes it.
func put(t *testing.T, app core.App, model, key string, blob []byte) {
	t.Helper()
	q := app.DB().NewQuery("INSERT OR REPLACE INTO song_vectors (model, song_key, vec) VALUES ({:m}, {:k}, {:v})")
	if blob == nil {
		q = app.DB().NewQuery("DELETE FROM song_vectors WHERE model = {:m} AND song_key = {:k}")
	}
	if _, err := q.Bind(dbx.Params{"m": model, "k": key, "v": blob}).Execute(); err != nil {
		t.Fatal(err)
	}
}

// cosine of two vectors.
func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

// holds checks that the model's index holds exactly want (song key →
// vector, up to scale: the index keeps unit vectors).
func holds(t *testing.T, s *similarity.Indexes, model string, want map[string][]float32) {
	t.Helper()
	ix := s.Index(model)
	if ix.Len() != len(want) {
		t.Errorf("%s: %d songs %v, want %d", model, ix.Len(), ix.IDs(), len(want))
	}
	for k, v := range want {
		got, ok := ix.Get(k)
		if !ok {
			t.Errorf("%s: %q is missing", model, k)
			continue
		}
		if c := cosine(got, v); c < 0.99999 {
			t.Errorf("%s: %q holds another vector (cosine %.5f to the stored one)", model, k, c)
		}
		hits, err := ix.Search(v, 1, nil)
		if err != nil || len(hits) != 1 || hits[0].ID != k {
			t.Errorf("%s: searching %q's own vector finds %v (%v)", model, k, hits, err)
		}
	}
}

func TestNewHasAnEmptyIndexPerModel(t *testing.T) {
	t.Parallel()
	s := similarity.New()
	sizes := s.Sizes()
	if len(sizes) != len(songdata.Models()) {
		t.Errorf("sizes %v, want one per model %v", sizes, songdata.Models())
	}
	for i, m := range songdata.Models() {
		t.Run(fmt.Sprintf("%d_%s", i, m.Name), func(t *testing.T) {
			ix := s.Index(m.Name)
			if ix == nil || ix.Dim() != m.Dim || ix.Len() != 0 {
				t.Fatalf("index %v", ix)
			}
			if n, ok := sizes[m.Name]; !ok || n != 0 {
				t.Errorf("size %d, %v", n, ok)
			}
		})
	}
	if s.Index("no-such-model") != nil {
		t.Error("an unknown model has an index")
	}
}

// Load builds each model's index from song_vectors alone: every readable
// row of the model, nothing of another model, and nothing the index held
// before; an unreadable row (a blob that is no float32 array, or a vector
// of another dimension) is skipped.
func TestLoad(t *testing.T) {
	t.Parallel()
	app := testsupport.NewApp(t)
	defer app.Cleanup()
	musicnn, clap := songdata.Models()[1], songdata.Models()[0]
	if musicnn.Name != "musicnn" || clap.Name != "clap" {
		t.Fatalf("models %v", songdata.Models())
	}
	want := map[string]map[string][]float32{"musicnn": {}, "clap": {}}
	for i, k := range []string{"a|one", "b|two", "c|three"} {
		want["musicnn"][k] = vec(musicnn.Dim, float64(i+1))
		put(t, app, "musicnn", k, vectors.EncodeBlob(want["musicnn"][k]))
	}
	for i, k := range []string{"b|two", "d|four"} {
		want["clap"][k] = vec(clap.Dim, float64(i+10))
		put(t, app, "clap", k, vectors.EncodeBlob(want["clap"][k]))
	}
	put(t, app, "musicnn", "e|odd bytes", []byte{1, 2, 3, 4, 5, 6, 7})
	put(t, app, "musicnn", "f|wrong dimension", vectors.EncodeBlob(vec(10, 1)))
	put(t, app, "no-such-model", "g|unknown model", vectors.EncodeBlob(vec(musicnn.Dim, 5)))

	s := similarity.New()
	if err := s.Index("musicnn").Set("stale|song", vec(musicnn.Dim, 99)); err != nil {
		t.Fatal(err)
	}
	if err := s.Load(app); err != nil {
		t.Fatal(err)
	}
	for model, w := range want {
		holds(t, s, model, w)
	}
	if got := s.Sizes(); !maps.Equal(got, map[string]int{"musicnn": 3, "clap": 2}) {
		t.Errorf("sizes %v", got)
	}
}

// RefreshKeys makes the listed songs of each model what song_vectors holds
// after a change, and leaves every other song and model as it was.
func TestRefreshKeys(t *testing.T) {
	t.Parallel()
	dim := 200 // musicnn
	v1, v2, v3 := vec(dim, 1), vec(dim, 2), vec(dim, 3)
	clapV := vec(512, 4)
	// every case starts from: musicnn a → v1, b → v2 and clap a, loaded
	scenarios := []struct {
		name    string
		change  func(t *testing.T, app core.App)
		refresh map[string][]string
		wantErr bool
		musicnn map[string][]float32
		clap    map[string][]float32
	}{
		{
			name:    "a new song is added",
			change:  func(t *testing.T, app core.App) { put(t, app, "musicnn", "c", vectors.EncodeBlob(v3)) },
			refresh: map[string][]string{"musicnn": {"c"}},
			musicnn: map[string][]float32{"a": v1, "b": v2, "c": v3},
		},
		{
			name:    "a changed vector replaces the song's",
			change:  func(t *testing.T, app core.App) { put(t, app, "musicnn", "a", vectors.EncodeBlob(v3)) },
			refresh: map[string][]string{"musicnn": {"a"}},
			musicnn: map[string][]float32{"a": v3, "b": v2},
		},
		{
			name:    "a song without a row leaves the index",
			change:  func(t *testing.T, app core.App) { put(t, app, "musicnn", "b", nil) },
			refresh: map[string][]string{"musicnn": {"b"}},
			musicnn: map[string][]float32{"a": v1},
		},
		{
			name: "only the listed songs follow the table",
			change: func(t *testing.T, app core.App) {
				put(t, app, "musicnn", "c", vectors.EncodeBlob(v3))
				put(t, app, "musicnn", "a", nil)
			},
			refresh: map[string][]string{"musicnn": {"c"}},
			musicnn: map[string][]float32{"a": v1, "b": v2, "c": v3},
		},
		{
			name: "a song is refreshed per model",
			change: func(t *testing.T, app core.App) {
				put(t, app, "clap", "a", nil)
				put(t, app, "musicnn", "a", nil)
			},
			refresh: map[string][]string{"clap": {"a"}},
			musicnn: map[string][]float32{"a": v1, "b": v2},
			clap:    map[string][]float32{},
		},
		{
			name:    "an unknown model and empty keys are ignored",
			change:  func(t *testing.T, app core.App) { put(t, app, "musicnn", "", vectors.EncodeBlob(v3)) },
			refresh: map[string][]string{"no-such-model": {"a"}, "musicnn": {""}},
			musicnn: map[string][]float32{"a": v1, "b": v2},
		},
		{
			name:    "an unreadable vector is an error",
			change:  func(t *testing.T, app core.App) { put(t, app, "musicnn", "c", vectors.EncodeBlob(vec(10, 1))) },
			refresh: map[string][]string{"musicnn": {"c"}},
			wantErr: true,
			musicnn: map[string][]float32{"a": v1, "b": v2},
		},
	}
	for i, s := range scenarios {
		t.Run(fmt.Sprintf("%d_%s", i, s.name), func(t *testing.T) {
			t.Parallel()
			app := testsupport.NewApp(t)
			defer app.Cleanup()
			put(t, app, "musicnn", "a", vectors.EncodeBlob(v1))
			put(t, app, "musicnn", "b", vectors.EncodeBlob(v2))
			put(t, app, "clap", "a", vectors.EncodeBlob(clapV))
			ix := similarity.New()
			if err := ix.Load(app); err != nil {
				t.Fatal(err)
			}
			s.change(t, app)
			if err := ix.RefreshKeys(app, s.refresh); (err != nil) != s.wantErr {
				t.Fatalf("error %v, want one: %v", err, s.wantErr)
			}
			holds(t, ix, "musicnn", s.musicnn)
			wantClap := s.clap
			if wantClap == nil {
				wantClap = map[string][]float32{"a": clapV}
			}
			holds(t, ix, "clap", wantClap)
		})
	}
}

// Refresh is RefreshKeys of one song, and many songs at once are read in
// several queries (more keys than one IN list holds) without losing any.
func TestRefreshManySongs(t *testing.T) {
	t.Parallel()
	app := testsupport.NewApp(t)
	defer app.Cleanup()
	s := similarity.New()
	if err := s.Load(app); err != nil {
		t.Fatal(err)
	}
	const n = 1201
	want := map[string][]float32{}
	var keys []string
	for i := range n {
		k := fmt.Sprintf("artist %d|title", i)
		want[k] = vec(200, float64(i+1))
		put(t, app, "musicnn", k, vectors.EncodeBlob(want[k]))
		keys = append(keys, k)
	}
	if err := s.RefreshKeys(app, map[string][]string{"musicnn": keys}); err != nil {
		t.Fatal(err)
	}
	holds(t, s, "musicnn", want)

	put(t, app, "musicnn", keys[7], nil)
	if err := s.Refresh(app, "musicnn", keys[7]); err != nil {
		t.Fatal(err)
	}
	delete(want, keys[7])
	holds(t, s, "musicnn", want)
}

// EnableApprox turns the approximate search on for every model, and songs
// set afterwards are found by it.
func TestEnableApprox(t *testing.T) {
	t.Parallel()
	app := testsupport.NewApp(t)
	defer app.Cleanup()
	for i := range 50 {
		put(t, app, "musicnn", fmt.Sprintf("song %02d", i), vectors.EncodeBlob(vec(200, float64(i+1))))
	}
	s := similarity.New()
	if err := s.Load(app); err != nil {
		t.Fatal(err)
	}
	s.EnableApprox()
	for _, m := range songdata.Models() {
		if !s.Index(m.Name).ApproxEnabled() {
			t.Errorf("%s: approximate search is off", m.Name)
		}
	}
	late := vec(200, 1000)
	put(t, app, "musicnn", "late song", vectors.EncodeBlob(late))
	if err := s.Refresh(app, "musicnn", "late song"); err != nil {
		t.Fatal(err)
	}
	hits, err := s.Index("musicnn").SearchApprox(late, 1, 0, nil)
	if err != nil || len(hits) != 1 || hits[0].ID != "late song" || hits[0].Score < 0.9999 {
		t.Errorf("the approximate search finds %v (%v)", hits, err)
	}
}
