package hooks_test

import (
	"net/http"
	"strings"
	"testing"

	"songcommons/config"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

func withoutConsent(t testing.TB, app *tests.TestApp) {
	u, err := app.FindRecordById("users", aliceID)
	if err != nil {
		t.Fatal(err)
	}
	u.Set("policy_version", 0)
	if err := app.Save(u); err != nil {
		t.Fatal(err)
	}
}

func TestMe(t *testing.T) {
	t.Parallel()
	alice := tokenFor(t, aliceID)
	factory := func(t testing.TB) *tests.TestApp { return newTestApp(t) }
	scenarios := []tests.ApiScenario{
		{
			Name: "guest → 401", Method: http.MethodGet, URL: "/api/songcommons/me", TestAppFactory: factory,
			ExpectedStatus: 401, ExpectedContent: []string{"Sign in with GitHub"},
		},
		{
			Name: "regular user → everything held, as a download", Method: http.MethodGet, URL: "/api/songcommons/me",
			Headers: map[string]string{"Authorization": alice}, TestAppFactory: factory, ExpectedStatus: 200,
			ExpectedContent: []string{`"github_id":"` + aliceGH + `"`, `"id":"` + aliceID + `"`, `"current_version":1`,
				`"uploads_enabled":true`, `"daily_limit":150000`, "not linked to this account", "Nothing personal here is editable"},
			NotExpectedContent: []string{bobID, "email", "password", "tokenKey"},
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
				if !strings.Contains(res.Header.Get("Content-Disposition"), "attachment") {
					t.Errorf("not a download: %q", res.Header.Get("Content-Disposition"))
				}
			},
		},
		{
			Name: "regular user deletes the account: user and GitHub link gone, contributions stay", Method: http.MethodDelete,
			URL: "/api/songcommons/me", Headers: map[string]string{"Authorization": alice},
			TestAppFactory: func(t testing.TB) *tests.TestApp { return seeded(t) }, ExpectedStatus: 204,
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
				if _, err := app.FindRecordById("users", aliceID); err == nil {
					t.Error("user still there")
				}
				var n int
				_ = app.DB().NewQuery("SELECT COUNT(*) FROM _externalAuths WHERE providerId = '" + aliceGH + "'").Row(&n)
				if n != 0 {
					t.Error("GitHub link still there")
				}
				assertCounts(1, 0)(t, app, res)
				if _, err := app.FindRecordById("users", bobID); err != nil {
					t.Error("another user was deleted")
				}
			},
		},
		{
			Name: "privacy request (signed in) → 201, stored without the account", Method: http.MethodPost,
			URL:     "/api/songcommons/privacy-requests",
			Body:    strings.NewReader(`{"text":"I think row abc is my data","contact":"me@mail.example"}`),
			Headers: map[string]string{"Authorization": alice}, TestAppFactory: factory, ExpectedStatus: 201,
			ExpectedContent: []string{`"received":true`},
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
				rows := allRows(t, app.DB(), "data.db")
				found := false
				for _, r := range rows {
					if r.table != "privacy_requests" {
						continue
					}
					found = true
					for c, v := range r.values {
						if strings.Contains(v, aliceID) || strings.Contains(v, aliceGH) {
							t.Errorf("privacy_requests.%s holds the account", c)
						}
					}
					if r.values["text"] != "I think row abc is my data" || r.values["contact"] != "me@mail.example" ||
						!strings.HasSuffix(r.values["day"], "00:00:00.000Z") {
						t.Errorf("stored %v", r.values)
					}
				}
				if !found {
					t.Error("not stored")
				}
			},
		},
		{
			Name: "privacy request without text → 400", Method: http.MethodPost, URL: "/api/songcommons/privacy-requests",
			Body: strings.NewReader(`{"text":"  "}`), TestAppFactory: factory, ExpectedStatus: 400,
			ExpectedContent: []string{`"text":{"code":"validation_required"`},
		},
		{
			Name: "regular user lists privacy requests → 403", Method: http.MethodGet, URL: "/api/collections/privacy_requests/records",
			Headers: map[string]string{"Authorization": alice}, TestAppFactory: factory, ExpectedStatus: 403,
			ExpectedContent: []string{`"status":403`},
		},
	}
	for _, s := range scenarios {
		s.Test(t)
	}
}

func TestConsentAndQuota(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(c *config.Config) { c.DailyQuota = 10 })
	defer app.Cleanup()
	withoutConsent(t, app)
	srv := serve(t, app)
	alice := tokenFor(t, aliceID)
	songs := func(n int) map[string]any { return map[string]any{"songs": contributeSongs(n)} }

	// no consent: every upload path refuses, with a message that says how
	for _, c := range []struct {
		path string
		body any
	}{
		{"/api/songcommons/contribute", songs(1)},
		{"/api/batch", batchRequests(audioMuseLibrary(1))},
		{"/api/collections/score/records", map[string]any{"artist": "a", "title": "b", "tempo": 100, "key": "C", "scale": "major"}},
	} {
		code, out := call(t, srv, http.MethodPost, c.path, alice, c.body)
		if code != 403 || !strings.Contains(out["message"].(string), "Accept the privacy policy (version 1)") {
			t.Fatalf("%s without consent: %d %v", c.path, code, out)
		}
	}
	assertCounts(0, 0)(t, app, nil)

	// consent: the current version only
	if code, out := call(t, srv, http.MethodPost, "/api/songcommons/me/consent", alice, map[string]any{"accept": true, "version": 7}); code != 400 {
		t.Fatalf("wrong version: %d %v", code, out)
	}
	code, out := call(t, srv, http.MethodPost, "/api/songcommons/me/consent", alice, map[string]any{"accept": true, "version": 1})
	if code != 200 || out["consent"].(map[string]any)["uploads_enabled"] != true {
		t.Fatalf("consent: %d %v", code, out)
	}
	u, _ := app.FindRecordById("users", aliceID)
	if d := u.GetDateTime("policy_day").Time(); d.Hour()+d.Minute()+d.Second()+d.Nanosecond() != 0 {
		t.Fatalf("consent recorded finer than a day: %v", d)
	}

	// quota of 10 rows a day (each test song is a score row and an
	// embedding row): 6 (contribute) + 2 (legacy batch) pass, then 4 more
	// are refused
	if code, out := call(t, srv, http.MethodPost, "/api/songcommons/contribute", alice, songs(3)); code != 200 {
		t.Fatalf("contribute: %d %v", code, out)
	}
	if code, out := call(t, srv, http.MethodPost, "/api/batch", alice, batchRequests(audioMuseLibrary(1))); code != 200 {
		t.Fatalf("batch: %d %v", code, out)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/songcommons/contribute", strings.NewReader(jsonString(songs(2))))
	req.Header.Set("Authorization", alice)
	req.Header.Set("Content-Type", "application/json")
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("over quota: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	code, out = call(t, srv, http.MethodPost, "/api/songcommons/contribute", alice, songs(2))
	if code != 429 || !strings.Contains(out["message"].(string), "resets at 00:00 UTC") {
		t.Fatalf("over quota: %d %v", code, out)
	}
	assertCounts(4, 4)(t, app, nil)
	// a rejected upload does not use quota: one more song (2 rows) fits
	if code, _ := call(t, srv, http.MethodPost, "/api/songcommons/contribute", alice, map[string]any{"songs": []any{map[string]any{"artist": "x"}}}); code != 400 {
		t.Fatal("bad upload accepted")
	}
	if code, out := call(t, srv, http.MethodPost, "/api/songcommons/contribute", alice, songs(1)); code != 200 {
		t.Fatalf("last song of the quota: %d %v", code, out)
	}

	// the counter is in memory only: /me reports it, the account row has no
	// column for it
	if _, me := call(t, srv, http.MethodGet, "/api/songcommons/me", alice, nil); me["quota"].(map[string]any)["uploaded"] != float64(10) {
		t.Fatalf("/me quota: %v", me["quota"])
	}
	cols, err := app.TableColumns("users")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cols {
		if strings.HasPrefix(c, "uploads_") && c != "uploads_paused" {
			t.Fatalf("users has an upload counter column %q", c)
		}
	}

	// withdrawing consent pauses uploads
	if code, _ := call(t, srv, http.MethodPost, "/api/songcommons/me/consent", alice, map[string]any{"accept": false}); code != 200 {
		t.Fatal(code)
	}
	code, out = call(t, srv, http.MethodPost, "/api/songcommons/contribute", tokenFor(t, aliceID), songs(1))
	if code != 403 || !strings.Contains(out["message"].(string), "paused") {
		t.Fatalf("after withdrawal: %d %v", code, out)
	}
}

// The quota counts every stored row, whatever the path (a batch of many
// rows of one song counts each), and follows the GitHub account: erasing
// the account and signing in again with the same GitHub id finds the same
// counter.
func TestQuotaCountsRowsAndSurvivesErasure(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(c *config.Config) { c.DailyQuota = 12 })
	defer app.Cleanup()
	srv := serve(t, app)
	alice := tokenFor(t, aliceID)
	one := audioMuseLibrary(1)
	var same []audioMuseSong
	for range 5 {
		same = append(same, one...) // 5 × (score + embedding) of the same song
	}
	if code, out := call(t, srv, http.MethodPost, "/api/batch", alice, batchRequests(same)); code != 200 {
		t.Fatalf("batch: %d %v", code, out)
	}
	if _, me := call(t, srv, http.MethodGet, "/api/songcommons/me", alice, nil); me["quota"].(map[string]any)["uploaded"] != float64(10) {
		t.Fatalf("a batch of 10 rows of one song counted as %v", me["quota"])
	}

	// erase the account, then "sign in again": a new account with the same
	// GitHub id (what the OAuth2 sign-in creates)
	if code, out := call(t, srv, http.MethodDelete, "/api/songcommons/me", alice, nil); code != 204 {
		t.Fatalf("erase: %d %v", code, out)
	}
	users, _ := app.FindCollectionByNameOrId("users")
	again := core.NewRecord(users)
	again.Set("policy_version", 1)
	again.SetRandomPassword()
	if err := app.Save(again); err != nil {
		t.Fatal(err)
	}
	linkGitHub(t, app, again, aliceGH)
	tok, err := again.NewAuthToken()
	if err != nil {
		t.Fatal(err)
	}
	code, out := call(t, srv, http.MethodPost, "/api/songcommons/contribute", tok, map[string]any{"songs": contributeSongs(2)})
	if code != 429 || !strings.Contains(out["message"].(string), "10 of 12 rows") {
		t.Fatalf("after erasure and a new sign-in, 4 more rows: %d %v (want 429 at 10 of 12)", code, out)
	}
	if code, out := call(t, srv, http.MethodPost, "/api/songcommons/contribute", tok, map[string]any{"songs": contributeSongs(1)}); code != 200 {
		t.Fatalf("the last 2 rows of the day: %d %v", code, out)
	}
	// another GitHub account has its own counter
	if code, out := call(t, srv, http.MethodPost, "/api/songcommons/contribute", tokenFor(t, bobID), map[string]any{"songs": contributeSongs(6)}); code != 200 {
		t.Fatalf("bob: %d %v", code, out)
	}
}

func runJob(t testing.TB, app core.App, id string) {
	t.Helper()
	for _, j := range app.Cron().Jobs() {
		if j.Id() == id {
			j.Run()
			return
		}
	}
	t.Fatalf("no job %s", id)
}
