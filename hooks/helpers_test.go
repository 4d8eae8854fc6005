package hooks_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"songcommons/config"
	"songcommons/hooks"
	_ "songcommons/migrations"
)

// Two contributors with fixed ids, token keys and a fixed collection
// secret, so that their tokens are valid in every fresh test app.
const (
	aliceID     = "alice0000000001"
	bobID       = "bob000000000002"
	aliceGH     = "583231904" // long enough never to turn up by chance in a
	bobGH       = "991904213" // random id or receipt tag (TestNoAttribution)
	superuserID = "superuser000001"
	testSecret  = "songcommons-test-secret-0123456789abcdef-0123456789"
)

// newTestApp is a fresh app on an empty data dir: migrations applied,
// songcommons hooks registered, and the two contributors created.
func newTestApp(t testing.TB, edits ...func(*config.Config)) *tests.TestApp {
	t.Helper()
	app, err := tests.NewTestAppWithConfig(core.BaseAppConfig{DataDir: t.TempDir(), EncryptionEnv: "pb_test_env", DBConnect: hooks.DBConnect})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.Quiet = true
	for _, e := range edits {
		e(&cfg)
	}
	hooks.Register(app, cfg, nil)
	seedUsers(t, app)
	return app
}

func seedUsers(t testing.TB, app core.App) {
	t.Helper()
	users, err := app.FindCollectionByNameOrId("users")
	if err != nil {
		t.Fatal(err)
	}
	users.AuthToken.Secret = testSecret
	if err := app.Save(users); err != nil {
		t.Fatal(err)
	}
	supers, err := app.FindCollectionByNameOrId(core.CollectionNameSuperusers)
	if err != nil {
		t.Fatal(err)
	}
	supers.AuthToken.Secret = testSecret
	if err := app.Save(supers); err != nil {
		t.Fatal(err)
	}
	su := core.NewRecord(supers)
	su.Id = superuserID
	su.SetEmail("admin@songcommons.test")
	su.SetPassword("admin-password-123")
	su.SetTokenKey("tk-" + superuserID + "-0123456789abcdef0123456789")
	if err := app.Save(su); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ id, gh string }{{aliceID, aliceGH}, {bobID, bobGH}} {
		r := core.NewRecord(users)
		r.Id = u.id
		r.Set("policy_version", 1) // consent given
		r.Set("policy_day", hooks.Today())
		r.SetRandomPassword() // (regenerates the token key: set it after)
		r.SetTokenKey("tk-" + u.id + "-0123456789abcdef0123456789")
		r.SetVerified(true)
		if err := app.Save(r); err != nil {
			t.Fatal(err)
		}
		linkGitHub(t, app, r, u.gh)
	}
}

// linkGitHub gives a user the GitHub link a sign-in would create.
func linkGitHub(t testing.TB, app core.App, user *core.Record, githubID string) {
	t.Helper()
	ea := core.NewExternalAuth(app)
	ea.SetCollectionRef(user.Collection().Id)
	ea.SetRecordRef(user.Id)
	ea.SetProvider("github")
	ea.SetProviderId(githubID)
	if err := app.Save(ea); err != nil {
		t.Fatal(err)
	}
}

var (
	tokenOnce sync.Once
	tokens    map[string]string
)

// tokenFor returns an auth token of a seeded contributor.
func tokenFor(t testing.TB, id string) string {
	t.Helper()
	tokenOnce.Do(func() {
		app := newTestApp(t)
		defer app.Cleanup()
		tokens = map[string]string{}
		for _, uid := range []string{aliceID, bobID, superuserID} {
			col := "users"
			if uid == superuserID {
				col = core.CollectionNameSuperusers
			}
			r, err := app.FindRecordById(col, uid)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := r.NewAuthToken()
			if err != nil {
				t.Fatal(err)
			}
			tokens[uid] = tok
		}
	})
	return tokens[id]
}

// serve starts the app's router on a real HTTP server on 127.0.0.1.
func serve(t testing.TB, app *tests.TestApp) *httptest.Server {
	t.Helper()
	return serveWith(t, app, nil)
}

// serveWith is serve with the app's handler wrapped by wrap (when not nil).
func serveWith(t testing.TB, app *tests.TestApp, wrap func(http.Handler) http.Handler) *httptest.Server {
	t.Helper()
	r, err := apis.NewRouter(app)
	if err != nil {
		t.Fatal(err)
	}
	se := &core.ServeEvent{App: app, Router: r}
	var srv *httptest.Server
	err = app.OnServe().Trigger(se, func(e *core.ServeEvent) error {
		mux, err := e.Router.BuildMux()
		if err != nil {
			return err
		}
		var h http.Handler = mux
		if wrap != nil {
			h = wrap(mux)
		}
		srv = httptest.NewServer(h)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// call sends a JSON request and decodes the JSON answer.
func call(t testing.TB, srv *httptest.Server, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	return callWithHeader(t, srv, method, path, token, body, "", "")
}

func newRecord(col *core.Collection, data map[string]any) *core.Record {
	r := core.NewRecord(col)
	r.Load(data)
	return r
}

func countRows(t testing.TB, app core.App, table string) int {
	t.Helper()
	var n int
	if err := app.DB().NewQuery(fmt.Sprintf("SELECT COUNT(*) FROM %q", table)).Row(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func testVector(n int, seed float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(int((seed*7919+float64(i)*104729))%1000)/1000 + 0.0001
	}
	return v
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// waitForLogs flushes the request logs PocketBase writes in the background
// (every 3 s) by waiting for them to appear in auxiliary.db.
func waitForLogs(t testing.TB, app core.App) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		_ = app.AuxDB().NewQuery("SELECT COUNT(*) FROM _logs").Row(&n)
		if n > 0 {
			time.Sleep(3500 * time.Millisecond) // one more flush period for stragglers
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("no request logs were written within 10 s")
}

func callWithHeader(t testing.TB, srv *httptest.Server, method, path, token string, body any, hk, hv string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader = http.NoBody
	if body != nil {
		rd = strings.NewReader(jsonString(body))
	}
	req, err := http.NewRequest(method, srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if hk != "" {
		req.Header.Set(hk, hv)
	}
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

func timeNow() time.Time { return time.Now() }
