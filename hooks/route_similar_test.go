package hooks_test

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/tests"

	"songcommons/catalog"
	"songcommons/config"
	"songcommons/similarity"
)

func unit(v []float64) []float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = x / math.Sqrt(s)
	}
	return out
}

func TestSimilar(t *testing.T) {
	t.Parallel()
	factory := func(t testing.TB) *tests.TestApp { return catalogApp(t) }
	dpKey := url.QueryEscape("daft punk|one more time")
	scenarios := []tests.ApiScenario{
		{
			Name: "guest, by song key: ranked, itself excluded, identity and consensus included", Method: http.MethodGet,
			URL: "/api/songcommons/similar?song=" + dpKey + "&model=musicnn&k=3", TestAppFactory: factory,
			ExpectedStatus: 200, ExpectedContent: []string{`"model":"musicnn"`, `"song_key":"neighbour`, `"artist":"Neighbour`},
			NotExpectedContent: []string{`"song_key":"daft punk|one more time"`},
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
				var out struct {
					Results []catalog.SimilarHit `json:"results"`
				}
				_ = json.NewDecoder(res.Body).Decode(&out)
				if len(out.Results) != 3 {
					t.Fatalf("%d results", len(out.Results))
				}
				// exact: compare with a float64 brute force over the seeded vectors
				q := unit(testVector(200, 1))
				type sc struct {
					key string
					s   float64
				}
				var want []sc
				for i := range 6 {
					v := unit(testVector(200, float64(10+i)))
					var d float64
					for j := range v {
						d += v[j] * q[j]
					}
					want = append(want, sc{fmt.Sprintf("neighbour %d|song", i), d})
				}
				sort.Slice(want, func(i, j int) bool { return want[i].s > want[j].s })
				for i, r := range out.Results {
					if r.SongKey != want[i].key || math.Abs(r.Score-want[i].s) > 1e-3 {
						t.Errorf("hit %d = %s %.4f, want %s %.4f", i, r.SongKey, r.Score, want[i].key, want[i].s)
					}
				}
			},
		},
		{
			Name: "guest, clap by song key with a score row → tempo and key", Method: http.MethodGet,
			URL: "/api/songcommons/similar?song=" + dpKey + "&model=clap", TestAppFactory: factory,
			ExpectedStatus: 200, ExpectedContent: []string{`"model":"clap"`, `"results":[]`},
		},
		{
			Name: "guest, unknown song → 400", Method: http.MethodGet,
			URL: "/api/songcommons/similar?song=" + url.QueryEscape("nobody|nothing"), TestAppFactory: factory,
			ExpectedStatus: 400, ExpectedContent: []string{`"song":{"code":"validation_unknown_song"`},
		},
		{
			Name: "guest, missing song → 400", Method: http.MethodGet, URL: "/api/songcommons/similar", TestAppFactory: factory,
			ExpectedStatus: 400, ExpectedContent: []string{`"song":{"code":"validation_required"`},
		},
		{
			Name: "guest, song without that model → 404", Method: http.MethodGet,
			URL: "/api/songcommons/similar?model=clap&song=" + url.QueryEscape("sigur ros|hoppipolla"), TestAppFactory: factory,
			ExpectedStatus: 404, ExpectedContent: []string{"no clap embedding"},
		},
		{
			Name: "guest, unknown model → 400", Method: http.MethodGet,
			URL: "/api/songcommons/similar?model=openl3&song=" + dpKey, TestAppFactory: factory,
			ExpectedStatus: 400, ExpectedContent: []string{`"model":{"code":"validation_unknown_model"`},
		},
		{
			Name: "guest, k=101 → 400", Method: http.MethodGet, URL: "/api/songcommons/similar?k=101&song=" + dpKey, TestAppFactory: factory,
			ExpectedStatus: 400, ExpectedContent: []string{`"k":{"code":"validation_out_of_range"`},
		},
		{
			Name: "guest, k=abc → 400", Method: http.MethodGet, URL: "/api/songcommons/similar?k=abc&song=" + dpKey, TestAppFactory: factory,
			ExpectedStatus: 400, ExpectedContent: []string{`"k":{"code":"validation_not_a_number"`},
		},
		{
			Name: "guest, raw vector with exclude", Method: http.MethodPost, URL: "/api/songcommons/similar",
			Body: strings.NewReader(jsonString(map[string]any{"vector": testVector(200, 10), "model": "musicnn", "k": 2,
				"exclude": []string{"neighbour 0|song"}})),
			TestAppFactory: factory, ExpectedStatus: 200, ExpectedContent: []string{`"k":2`},
			NotExpectedContent: []string{`"song_key":"neighbour 0|song"`},
		},
		{
			Name: "guest, raw vector of wrong dimension → 400", Method: http.MethodPost, URL: "/api/songcommons/similar",
			Body:           strings.NewReader(jsonString(map[string]any{"vector": testVector(200, 10), "model": "clap"})),
			TestAppFactory: factory, ExpectedStatus: 400, ExpectedContent: []string{`"vector":{"code":"validation_wrong_dimension"`},
		},
		{
			Name: "guest, zero vector → 400", Method: http.MethodPost, URL: "/api/songcommons/similar",
			Body:           strings.NewReader(jsonString(map[string]any{"vector": make([]float64, 200)})),
			TestAppFactory: factory, ExpectedStatus: 400, ExpectedContent: []string{`"vector":{"code":"validation_invalid_embedding"`, "all zeros"},
		},
		{
			Name: "guest, non-finite vector → 400", Method: http.MethodPost, URL: "/api/songcommons/similar",
			Body:           strings.NewReader(`{"vector":[1e999,` + strings.Repeat("0.1,", 198) + `0.1]}`),
			TestAppFactory: factory, ExpectedStatus: 400, ExpectedContent: []string{`"status":400`},
		},
		{
			Name: "guest, k=0 → 400", Method: http.MethodPost, URL: "/api/songcommons/similar",
			Body:           strings.NewReader(jsonString(map[string]any{"vector": testVector(200, 10), "k": 0})),
			TestAppFactory: factory, ExpectedStatus: 400, ExpectedContent: []string{`"k":{"code":"validation_out_of_range"`},
		},
	}
	for _, s := range scenarios {
		s.Test(t)
	}
}

// TestSimilarityWiring: create → findable, delete → gone, rolled-back
// batch → absent, restart → same answers.
func TestSimilarityWiring(t *testing.T) {
	t.Parallel()
	app := catalogApp(t)
	defer app.Cleanup()
	srv := serve(t, app)
	alice, admin := tokenFor(t, aliceID), tokenFor(t, superuserID)
	similar := func() []string {
		code, out := call(t, srv, http.MethodPost, "/api/songcommons/similar", "", map[string]any{"vector": testVector(200, 42), "k": 100})
		if code != 200 {
			t.Fatalf("similar: %d %v", code, out)
		}
		var keys []string
		for _, r := range out["results"].([]any) {
			keys = append(keys, r.(map[string]any)["song_key"].(string))
		}
		return keys
	}
	has := func(key string) bool {
		for _, k := range similar() {
			if k == key {
				return true
			}
		}
		return false
	}

	// create → findable
	code, created := call(t, srv, http.MethodPost, "/api/collections/embedding/records", alice,
		map[string]any{"artist": "Fresh", "title": "Upload", "embedding": testVector(200, 42)})
	if code != 200 {
		t.Fatalf("create: %d %v", code, created)
	}
	if got := similar(); len(got) == 0 || got[0] != "fresh|upload" {
		t.Fatalf("a new song is not the best match for its own vector: %v", got)
	}
	// rolled-back batch → absent
	code, _ = call(t, srv, http.MethodPost, "/api/batch", alice, map[string]any{"requests": []any{
		map[string]any{"method": "POST", "url": "/api/collections/embedding/records",
			"body": map[string]any{"artist": "Rolled", "title": "Back", "embedding": jsonString(testVector(200, 43))}},
		map[string]any{"method": "POST", "url": "/api/collections/score/records",
			"body": map[string]any{"artist": "Rolled", "title": "Back", "tempo": -1, "key": "C", "scale": "major"}},
	}})
	if code != 400 || has("rolled|back") {
		t.Fatalf("rolled-back batch: %d, in index: %v", code, has("rolled|back"))
	}
	// restart → same answers
	before := similar()
	fresh := similarity.New()
	if err := fresh.Load(app); err != nil {
		t.Fatal(err)
	}
	hits, err := fresh.Index("musicnn").Search(toF32(testVector(200, 42)), 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != len(before) {
		t.Fatalf("restart: %d hits, before %d", len(hits), len(before))
	}
	for i, h := range hits {
		if h.ID != before[i] {
			t.Fatalf("restart: hit %d %s, before %s", i, h.ID, before[i])
		}
	}
	// delete by a superuser → gone
	code, _ = call(t, srv, http.MethodDelete, "/api/collections/embedding/records/"+created["id"].(string), admin, nil)
	if code != 204 || has("fresh|upload") {
		t.Fatalf("delete: %d, still in index: %v", code, has("fresh|upload"))
	}
}

func toF32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// TestSimilarApprox: the approximate mode is off unless the server enables
// it, and then re-ranks exactly (the same answer on a small catalog).
func TestSimilarApprox(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{false, true} {
		app := catalogApp(t)
		if on {
			app.Cleanup()
			app = newTestApp(t, func(c *config.Config) { c.ApproxSimilar = true })
			seedCatalog(t, app)
		}
		srv := serve(t, app)
		q := map[string]any{"vector": testVector(200, 12), "k": 3}
		_, exact := call(t, srv, http.MethodPost, "/api/songcommons/similar", "", q)
		q["approx"] = true
		code, approx := call(t, srv, http.MethodPost, "/api/songcommons/similar", "", q)
		if code != 200 || approx["approx"] != on {
			t.Fatalf("approx enabled=%v: %d %v", on, code, approx)
		}
		if jsonString(exact["results"]) != jsonString(approx["results"]) {
			t.Fatalf("approx answer differs on a small catalog:\n%v\n%v", exact["results"], approx["results"])
		}
		app.Cleanup()
	}
}
