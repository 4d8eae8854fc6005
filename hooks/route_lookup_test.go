package hooks_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/tests"

	"songcommons/internal/synth"
)

// catalogApp seeds a small dataset through the app (hooks fire as for API
// writes): Daft Punk with three contributions (octave error, one clap
// vector), an MBID-only-known song and an ISRC-only-known song.
func catalogApp(t testing.TB) *tests.TestApp {
	app := newTestApp(t)
	seedCatalog(t, app)
	return app
}

func seedCatalog(t testing.TB, app *tests.TestApp) {
	score, _ := app.FindCollectionByNameOrId("score")
	emb, _ := app.FindCollectionByNameOrId("embedding")
	save := func(col string, data map[string]any) {
		c := score
		if col == "embedding" {
			c = emb
		}
		if err := app.Save(newRecord(c, data)); err != nil {
			t.Fatal(err)
		}
	}
	dp := map[string]any{"artist": "Daft Punk", "title": "One More Time", "key": "F#", "scale": "minor",
		"mood_vector": "house:0.8,electronic:0.6", "energy": 0.6, "other_features": "danceable:0.9,happy:0.4"}
	for _, tp := range []float64{122.9, 61.5, 123.1} {
		d := map[string]any{"tempo": tp}
		for k, v := range dp {
			d[k] = v
		}
		save("score", d)
	}
	save("embedding", map[string]any{"artist": "Daft Punk", "title": "One More Time", "embedding": testVector(200, 1)})
	save("embedding", map[string]any{"artist": "daft punk", "title": "one more time", "model": "clap", "embedding": testVector(512, 2)})
	save("score", map[string]any{"artist": "Sigur Rós", "title": "Hoppípolla", "tempo": 70, "key": "C", "scale": "major",
		"mbid": "5b11f4ce-a62d-471e-81fc-a69a8278c7da"})
	save("score", map[string]any{"artist": "Beyoncé feat. JAY-Z", "title": "Crazy in Love", "tempo": 99, "key": "D", "scale": "minor",
		"isrc": "USSM10303360"})
	for i := range 6 {
		save("embedding", map[string]any{"artist": fmt.Sprintf("Neighbour %d", i), "title": "Song", "embedding": testVector(200, float64(10+i))})
	}
}

func lookupBody(songs ...map[string]any) *strings.Reader {
	return strings.NewReader(jsonString(map[string]any{"songs": songs}))
}

func TestLookup(t *testing.T) {
	t.Parallel()
	factory := func(t testing.TB) *tests.TestApp { return catalogApp(t) }
	many := make([]map[string]any, 1001)
	for i := range many {
		many[i] = map[string]any{"artist": "A", "title": fmt.Sprint(i)}
	}
	hundred := make([]map[string]any, 100)
	for i := range hundred {
		hundred[i] = map[string]any{"artist": "A", "title": fmt.Sprint(i)}
		if i%50 == 0 {
			hundred[i] = map[string]any{"artist": "Daft Punk", "title": "One More Time"}
		}
	}
	bogus := strings.Replace(jsonString(map[string]any{"songs": hundred}), `"title":"70"`, `"title":"70","bogus":1`, 1)
	scenarios := []tests.ApiScenario{
		{
			// 100 songs are decoded on all cores (decodeSplit)
			Name: "guest, 100 songs, order kept", Method: http.MethodPost, URL: "/api/songcommons/lookup",
			Body: lookupBody(hundred...), TestAppFactory: factory, ExpectedStatus: 200,
			ExpectedContent: []string{`"found":2`, `"missing":98`},
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
				var out struct {
					Results []map[string]any `json:"results"`
				}
				if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
					t.Fatal(err)
				}
				for i, r := range out.Results {
					want := fmt.Sprintf("a|%d", i)
					if i%50 == 0 {
						want = "daft punk|one more time"
					}
					if r["song_key"] != want {
						t.Errorf("result %d song_key %v, want %v", i, r["song_key"], want)
					}
				}
			},
		},
		{
			Name: "guest, 100 songs, an unknown field in the 71st → 400 naming it", Method: http.MethodPost, URL: "/api/songcommons/lookup",
			Body: strings.NewReader(bogus), TestAppFactory: factory, ExpectedStatus: 400,
			ExpectedContent: []string{`"bogus":{"code":"validation_unknown_field"`},
		},
		{
			Name: "guest, every identifier kind, order kept", Method: http.MethodPost, URL: "/api/songcommons/lookup",
			Body: lookupBody(
				map[string]any{"artist": "DAFT PUNK", "title": "One More Time"},
				map[string]any{"artist": "Nobody", "title": "Unknown Song"},
				map[string]any{"mbid": "5B11F4CE-A62D-471E-81FC-A69A8278C7DA"},
				map[string]any{"isrc": "US-SM1-03-03360"},
				map[string]any{"artist": "Beyonce", "title": "Crazy In Love (feat. Jay-Z)"},
				map[string]any{"artist": "Daft Punk", "title": "One More Time"},
			),
			TestAppFactory: factory, ExpectedStatus: 200,
			ExpectedContent: []string{`"found":5`, `"missing":1`},
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
				if st := res.Header.Get("Server-Timing"); !regexp.MustCompile(`^request;dur=[0-9.]+, songs;dur=[0-9.]+, total;dur=[0-9.]+$`).MatchString(st) {
					t.Errorf("Server-Timing %q", st)
				}
				var out struct {
					Results []map[string]any `json:"results"`
				}
				if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
					t.Fatal(err)
				}
				want := []string{"daft punk|one more time", "nobody|unknown song", "sigur ros|hoppipolla",
					"beyonce|crazy in love", "beyonce|crazy in love", "daft punk|one more time"}
				for i, r := range out.Results {
					if r["song_key"] != want[i] {
						t.Errorf("result %d song_key %v, want %v", i, r["song_key"], want[i])
					}
				}
				if out.Results[1]["found"] != false || out.Results[1]["artist"] != "Nobody" {
					t.Errorf("missing song answer %v", out.Results[1])
				}
				dp := out.Results[0]
				if dp["contributions"] != 3.0 || dp["embeddings"] != nil {
					t.Errorf("daft punk %v", dp)
				}
				tempo := dp["tempo"].(map[string]any)
				if tempo["value"] != 123.0 || tempo["agreement"] != 1.0 {
					t.Errorf("tempo %v", tempo)
				}
				key := dp["key"].(map[string]any)
				if key["value"] != "F#" || key["scale"] != "minor" || key["agreement"] != 1.0 {
					t.Errorf("key %v", key)
				}
				// "house" was sent; AudioMuse-AI's label list spells it "House"
				if dp["mood_vector"] != "House:0.800,electronic:0.600" || dp["moods"].(map[string]any)["House"] != 0.8 ||
					dp["other_features"].(map[string]any)["danceable"] != 0.9 || dp["energy"] != 0.6 {
					t.Errorf("moods/features/energy %v", dp)
				}
			},
		},
		{
			Name: "guest, embeddings true → every model", Method: http.MethodPost, URL: "/api/songcommons/lookup",
			Body:           strings.NewReader(`{"songs":[{"artist":"Daft Punk","title":"One More Time"}],"embeddings":true}`),
			TestAppFactory: factory, ExpectedStatus: 200,
			ExpectedContent: []string{`"embeddings":{`, `"musicnn":[`, `"clap":[`},
		},
		{
			Name: "guest, embeddings [clap] → clap only", Method: http.MethodPost, URL: "/api/songcommons/lookup",
			Body:           strings.NewReader(`{"songs":[{"artist":"Daft Punk","title":"One More Time"}],"embeddings":["clap"]}`),
			TestAppFactory: factory, ExpectedStatus: 200,
			ExpectedContent: []string{`"clap":[`}, NotExpectedContent: []string{`"musicnn":[`},
		},
		{
			Name: "guest, unknown model → 400", Method: http.MethodPost, URL: "/api/songcommons/lookup",
			Body:           strings.NewReader(`{"songs":[{"artist":"a","title":"b"}],"embeddings":["openl3"]}`),
			TestAppFactory: factory, ExpectedStatus: 400, ExpectedContent: []string{`"embeddings":{"code":"validation_invalid_value"`},
		},
		{
			Name: "guest, 1,001 songs → 400", Method: http.MethodPost, URL: "/api/songcommons/lookup",
			Body: lookupBody(many...), TestAppFactory: factory, ExpectedStatus: 400,
			ExpectedContent: []string{`"songs":{"code":"validation_too_many"`, "at most 1000"},
		},
		{
			Name: "guest, no songs → 400", Method: http.MethodPost, URL: "/api/songcommons/lookup",
			Body: strings.NewReader(`{"songs":[]}`), TestAppFactory: factory, ExpectedStatus: 400,
			ExpectedContent: []string{`"songs":{"code":"validation_required"`},
		},
		{
			Name: "guest, song without identifier → 400 naming it", Method: http.MethodPost, URL: "/api/songcommons/lookup",
			Body: strings.NewReader(`{"songs":[{"artist":"a","title":"b"},{"artist":"only artist"}]}`), TestAppFactory: factory,
			ExpectedStatus: 400, ExpectedContent: []string{`"songs.1.artist":{"code":"validation_required"`},
		},
		{
			Name: "guest, unknown field → 400 naming it", Method: http.MethodPost, URL: "/api/songcommons/lookup",
			Body: strings.NewReader(`{"songs":[{"artist":"a","title":"b","bpm":3}]}`), TestAppFactory: factory,
			ExpectedStatus: 400, ExpectedContent: []string{`"bpm":{"code":"validation_unknown_field"`},
		},
		{
			Name: "guest, wrong type → 400 naming the field", Method: http.MethodPost, URL: "/api/songcommons/lookup",
			Body: strings.NewReader(`{"songs":[{"artist":1,"title":"b"}]}`), TestAppFactory: factory,
			ExpectedStatus: 400, ExpectedContent: []string{`artist":{"code":"validation_invalid_type"`},
		},
		{
			Name: "guest, malformed JSON → 400", Method: http.MethodPost, URL: "/api/songcommons/lookup",
			Body: strings.NewReader(`{"songs":[{"artist":"a",}]}`), TestAppFactory: factory,
			ExpectedStatus: 400, ExpectedContent: []string{"not valid JSON"},
		},
		{
			// fpcalc's 120 s fingerprints are ~3.6 KB: a full request is ~3.7 MB
			Name: "guest, 1,000 fingerprints of 120 s → 200", Method: http.MethodPost, URL: "/api/songcommons/lookup",
			Body: strings.NewReader(thousandPrints()), TestAppFactory: factory,
			ExpectedStatus: 200, ExpectedContent: []string{`"found":0`, `"missing":1000`},
		},
		{
			Name: "guest, 9 MB body → 413", Method: http.MethodPost, URL: "/api/songcommons/lookup",
			Body: strings.NewReader(`{"songs":[{"artist":"` + strings.Repeat("x", 9<<20) + `","title":"b"}]}`), TestAppFactory: factory,
			ExpectedStatus: 413, ExpectedContent: []string{"too large"},
		},
	}
	for _, s := range scenarios {
		s.Test(t)
	}
}

// thousandPrints is a lookup of 1,000 synthetic 120 s fingerprints of songs
// the dataset does not hold.
func thousandPrints() string {
	songs := make([]map[string]any, 1000)
	for i := range songs {
		songs[i] = map[string]any{"fingerprint": synth.PrintOf(uint64(900_000_000 + i)), "duration": 200.0}
	}
	b, _ := json.Marshal(map[string]any{"songs": songs})
	return string(b)
}
