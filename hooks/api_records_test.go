package hooks_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"songcommons/config"

	"github.com/pocketbase/pocketbase/tests"
)

const goodScore = `{"artist":"Daft Punk","title":"One More Time","tempo":122.9,"key":"Gb","scale":"Minor",
 "mood_vector":"house:0.710,electronic:0.550","energy":0.61,"other_features":"danceable:0.93,happy:0.40"}`

func assertCounts(score, embedding int) func(testing.TB, *tests.TestApp, *http.Response) {
	return func(t testing.TB, app *tests.TestApp, _ *http.Response) {
		if n := countRows(t, app, "score"); n != score {
			t.Errorf("score rows = %d, want %d", n, score)
		}
		if n := countRows(t, app, "embedding"); n != embedding {
			t.Errorf("embedding rows = %d, want %d", n, embedding)
		}
	}
}

func TestScoreCreate(t *testing.T) {
	t.Parallel()
	alice := tokenFor(t, aliceID)
	scenarios := []tests.ApiScenario{
		{
			Name: "guest → 401 asking to sign in with GitHub", Method: http.MethodPost,
			URL: "/api/collections/score/records", Body: strings.NewReader(goodScore),
			TestAppFactory: func(t testing.TB) *tests.TestApp { return newTestApp(t) },
			ExpectedStatus: 401, ExpectedContent: []string{`"status":401`, "Sign in with GitHub"},
			ExpectedEvents: map[string]int{"*": 0}, AfterTestFunc: assertCounts(0, 0),
		},
		{
			Name: "regular user → 200, values canonical, no user or timestamp field", Method: http.MethodPost,
			URL: "/api/collections/score/records", Body: strings.NewReader(goodScore),
			Headers:        map[string]string{"Authorization": alice},
			TestAppFactory: func(t testing.TB) *tests.TestApp { return newTestApp(t) },
			ExpectedStatus: 200,
			ExpectedContent: []string{`"key":"F#"`, `"scale":"minor"`, `"song_key":"daft punk|one more time"`,
				`"mood_vector":"House:0.71,electronic:0.55"`, `"other_features":"danceable:0.93,happy:0.4"`, `"tempo":122.9`},
			NotExpectedContent: []string{aliceID, `"user"`, `"created"`, `"updated"`, `"owner"`},
			AfterTestFunc:      assertCounts(1, 0),
		},
		{
			Name: "regular user, client song_key ignored", Method: http.MethodPost,
			URL:            "/api/collections/score/records",
			Body:           strings.NewReader(strings.Replace(goodScore, `"artist"`, `"song_key":"forged","artist"`, 1)),
			Headers:        map[string]string{"Authorization": alice},
			TestAppFactory: func(t testing.TB) *tests.TestApp { return newTestApp(t) },
			ExpectedStatus: 200, ExpectedContent: []string{`"song_key":"daft punk|one more time"`},
			NotExpectedContent: []string{"forged"},
		},
		{
			Name: "regular user, client id → 400 naming id, nothing stored", Method: http.MethodPost,
			URL:            "/api/collections/score/records",
			Body:           strings.NewReader(strings.Replace(goodScore, `"artist"`, `"id":"aaaaaaaaaaaaaaa","artist"`, 1)),
			Headers:        map[string]string{"Authorization": alice},
			TestAppFactory: func(t testing.TB) *tests.TestApp { return newTestApp(t) },
			ExpectedStatus: 400, ExpectedContent: []string{`"id":{"code":"validation_not_allowed"`},
			AfterTestFunc: assertCounts(0, 0),
		},
		{
			Name: "regular user, bad fields → 400 naming each field, nothing stored", Method: http.MethodPost,
			URL: "/api/collections/score/records",
			Body: strings.NewReader(`{"artist":"  ","title":"x","tempo":500,"key":"H","scale":"dorian",
				"mood_vector":"rock=1","energy":-2,"other_features":"a:7","mbid":"nope"}`),
			Headers:        map[string]string{"Authorization": alice},
			TestAppFactory: func(t testing.TB) *tests.TestApp { return newTestApp(t) },
			ExpectedStatus: 400,
			ExpectedContent: []string{`"artist":{"code":"validation_required"`, `"tempo":{"code":"validation_out_of_range"`,
				`"key":{"code":"validation_invalid_key"`, `"scale":{"code":"validation_invalid_scale"`,
				`"mood_vector":{"code":"validation_invalid_labels"`, `"energy":{"code":"validation_out_of_range"`,
				`"other_features":{"code":"validation_invalid_labels"`, `"mbid":{"code":"validation_invalid_value"`},
			AfterTestFunc: assertCounts(0, 0),
		},
		{
			Name: "regular user, 2 MB body → 413", Method: http.MethodPost,
			URL:            "/api/collections/score/records",
			Body:           strings.NewReader(`{"artist":"` + strings.Repeat("a", 2<<20) + `"}`),
			Headers:        map[string]string{"Authorization": alice},
			TestAppFactory: func(t testing.TB) *tests.TestApp { return newTestApp(t) },
			ExpectedStatus: 413, ExpectedContent: []string{"too large"},
			AfterTestFunc: assertCounts(0, 0),
		},
	}
	for _, s := range scenarios {
		s.Test(t)
	}
}

func TestEmbeddingCreate(t *testing.T) {
	t.Parallel()
	alice := tokenFor(t, aliceID)
	vec200 := jsonString(testVector(200, 1))
	scenarios := []tests.ApiScenario{
		{
			Name: "regular user, 200 floats as a JSON string, no model → musicnn", Method: http.MethodPost,
			URL:            "/api/collections/embedding/records",
			Body:           strings.NewReader(`{"artist":"A","title":"B","embedding":` + jsonString(vec200) + `}`),
			Headers:        map[string]string{"Authorization": alice},
			TestAppFactory: func(t testing.TB) *tests.TestApp { return newTestApp(t) },
			ExpectedStatus: 200, ExpectedContent: []string{`"model":"musicnn"`, `"embedding":[`},
			AfterTestFunc: assertCounts(0, 1),
		},
		{
			Name: "regular user, wrong dimension → 400", Method: http.MethodPost,
			URL:            "/api/collections/embedding/records",
			Body:           strings.NewReader(`{"artist":"A","title":"B","model":"clap","embedding":` + vec200 + `}`),
			Headers:        map[string]string{"Authorization": alice},
			TestAppFactory: func(t testing.TB) *tests.TestApp { return newTestApp(t) },
			ExpectedStatus: 400, ExpectedContent: []string{`"embedding":{"code":"validation_wrong_dimension"`, "needs 512"},
			AfterTestFunc: assertCounts(0, 0),
		},
		{
			Name: "regular user, unknown model → 400", Method: http.MethodPost,
			URL:            "/api/collections/embedding/records",
			Body:           strings.NewReader(`{"artist":"A","title":"B","model":"openl3","embedding":` + vec200 + `}`),
			Headers:        map[string]string{"Authorization": alice},
			TestAppFactory: func(t testing.TB) *tests.TestApp { return newTestApp(t) },
			ExpectedStatus: 400, ExpectedContent: []string{`"model":{"code":"validation_unknown_model"`, "musicnn (200)"},
			AfterTestFunc: assertCounts(0, 0),
		},
		{
			Name: "regular user, non-numeric element → 400", Method: http.MethodPost,
			URL:            "/api/collections/embedding/records",
			Body:           strings.NewReader(`{"artist":"A","title":"B","embedding":"[0.1,\"x\"]"}`),
			Headers:        map[string]string{"Authorization": alice},
			TestAppFactory: func(t testing.TB) *tests.TestApp { return newTestApp(t) },
			ExpectedStatus: 400, ExpectedContent: []string{`"embedding":{"code":"validation_invalid_embedding"`},
			AfterTestFunc: assertCounts(0, 0),
		},
	}
	for _, s := range scenarios {
		s.Test(t)
	}
}

// seeded makes a test app holding one score row created by alice.
func seeded(t testing.TB, edits ...func(*config.Config)) *tests.TestApp {
	app := newTestApp(t, edits...)
	col, _ := app.FindCollectionByNameOrId("score")
	r := newRecord(col, map[string]any{"artist": "Daft Punk", "title": "One More Time", "tempo": 123.0, "key": "A", "scale": "minor"})
	r.Id = "seededscore0001"
	if err := app.Save(r); err != nil {
		t.Fatal(err)
	}
	return app
}

func TestContributedRowsReadOnly(t *testing.T) {
	t.Parallel()
	alice := tokenFor(t, aliceID)
	factory := func(t testing.TB) *tests.TestApp { return seeded(t) }
	scenarios := []tests.ApiScenario{
		{
			Name: "guest list with filter → 200", Method: http.MethodGet,
			URL:            "/api/collections/score/records?perPage=1000&filter=" + url.QueryEscape(`(artist="Daft Punk" || artist="Other")`),
			TestAppFactory: factory, ExpectedStatus: 200,
			ExpectedContent: []string{`"totalItems":1`, `"perPage":1000`, `"artist":"Daft Punk"`},
		},
		{
			Name: "guest view → 200", Method: http.MethodGet, URL: "/api/collections/score/records/seededscore0001",
			TestAppFactory: factory, ExpectedStatus: 200, ExpectedContent: []string{`"id":"seededscore0001"`},
		},
		{
			Name: "regular user update → 403", Method: http.MethodPatch, URL: "/api/collections/score/records/seededscore0001",
			Body: strings.NewReader(`{"tempo":99}`), Headers: map[string]string{"Authorization": alice},
			TestAppFactory: factory, ExpectedStatus: 403, ExpectedContent: []string{`"status":403`},
		},
		{
			Name: "regular user delete → 403", Method: http.MethodDelete, URL: "/api/collections/score/records/seededscore0001",
			Headers: map[string]string{"Authorization": alice}, TestAppFactory: factory,
			ExpectedStatus: 403, ExpectedContent: []string{`"status":403`}, AfterTestFunc: assertCounts(1, 0),
		},
		{
			Name: "guest delete → 403", Method: http.MethodDelete, URL: "/api/collections/score/records/seededscore0001",
			TestAppFactory: factory, ExpectedStatus: 403, ExpectedContent: []string{`"status":403`},
			AfterTestFunc: assertCounts(1, 0),
		},
		{
			Name: "superuser delete → 204", Method: http.MethodDelete, URL: "/api/collections/score/records/seededscore0001",
			Headers: map[string]string{"Authorization": tokenFor(t, superuserID)}, TestAppFactory: factory,
			ExpectedStatus: 204, AfterTestFunc: assertCounts(0, 0),
			ExpectedEvents: map[string]int{"OnRecordDeleteRequest": 1},
		},
		{
			Name: "signed-in-only reads: guest list → 401", Method: http.MethodGet,
			URL:            "/api/collections/score/records",
			TestAppFactory: func(t testing.TB) *tests.TestApp { return seeded(t, func(c *config.Config) { c.PublicRead = false }) },
			ExpectedStatus: 401, ExpectedContent: []string{"signed-in users"},
		},
		{
			Name: "signed-in-only reads: regular user list → 200", Method: http.MethodGet,
			URL:            "/api/collections/score/records",
			Headers:        map[string]string{"Authorization": alice},
			TestAppFactory: func(t testing.TB) *tests.TestApp { return seeded(t, func(c *config.Config) { c.PublicRead = false }) },
			ExpectedStatus: 200, ExpectedContent: []string{`"totalItems":1`},
		},
	}
	for _, s := range scenarios {
		s.Test(t)
	}
}
