package audiomuse_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"songcommons/hooks"
	_ "songcommons/migrations"
)

// songcommons is a real songcommons server on 127.0.0.1 (the service's
// own hooks and DBConnect), with one contributor who gave consent, and a
// record of every request it received.
type songcommons struct {
	app   *tests.TestApp
	url   string
	token string

	mu       sync.Mutex
	received []receivedRequest
}

type receivedRequest struct {
	method, url string
	header      http.Header
	body        []byte
}

func newSongcommons(t testing.TB) *songcommons {
	t.Helper()
	app, err := tests.NewTestAppWithConfig(core.BaseAppConfig{DataDir: t.TempDir(), EncryptionEnv: "pb_test_env", DBConnect: hooks.DBConnect})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Cleanup)
	cfg := hooks.Defaults()
	cfg.Quiet = true
	cfg.RateLimits = false
	hooks.Register(app, cfg, nil)
	users, err := app.FindCollectionByNameOrId("users")
	if err != nil {
		t.Fatal(err)
	}
	u := core.NewRecord(users)
	u.Set("policy_version", 1) // consent given
	u.Set("policy_day", hooks.Today())
	u.SetRandomPassword()
	u.SetVerified(true)
	if err := app.Save(u); err != nil {
		t.Fatal(err)
	}
	ea := core.NewExternalAuth(app)
	ea.SetCollectionRef(users.Id)
	ea.SetRecordRef(u.Id)
	ea.SetProvider("github")
	ea.SetProviderId("4711")
	if err := app.Save(ea); err != nil {
		t.Fatal(err)
	}
	token, err := u.NewAuthToken()
	if err != nil {
		t.Fatal(err)
	}
	sc := &songcommons{app: app, token: token}
	r, err := apis.NewRouter(app)
	if err != nil {
		t.Fatal(err)
	}
	err = app.OnServe().Trigger(&core.ServeEvent{App: app, Router: r}, func(e *core.ServeEvent) error {
		mux, err := e.Router.BuildMux()
		if err != nil {
			return err
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			body, _ := io.ReadAll(req.Body)
			sc.mu.Lock()
			sc.received = append(sc.received, receivedRequest{req.Method, req.URL.String(), req.Header.Clone(), body})
			sc.mu.Unlock()
			req.Body = io.NopCloser(bytes.NewReader(body))
			mux.ServeHTTP(w, req)
		}))
		t.Cleanup(srv.Close)
		sc.url = srv.URL
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// requests returns the requests received so far and forgets them.
func (s *songcommons) requests() []receivedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.received
	s.received = nil
	return out
}
