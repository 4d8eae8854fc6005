// Package testsupport is what the tests of every package share: a real
// app on a fresh data dir, opened with the service's own connection
// pragmas (storage.DBConnect: secure_delete, synchronous=FULL) and with the
// songcommons hooks bound; the app served on 127.0.0.1; seeded
// contributors with consent and tokens valid in every fresh app; a fake
// GitHub for sign-ins; vector makers and row counters.
package testsupport

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"songcommons/config"
	"songcommons/hooks"
	_ "songcommons/migrations"
	"songcommons/storage"
)

// Two contributors and a superuser with fixed ids, token keys and a fixed
// collection secret, so that their tokens are valid in every fresh app.
const (
	AliceID     = "alice0000000001"
	BobID       = "bob000000000002"
	AliceGitHub = "583231904" // long enough never to turn up by chance in a
	BobGitHub   = "991904213" // random id or receipt tag
	SuperuserID = "superuser000001"
	// TokenSecret is the auth token secret of the users and superusers
	// collections of every test app.
	TokenSecret = "songcommons-test-secret-0123456789abcdef-0123456789"
)

// Options say how NewAppWith builds an app.
type Options struct {
	// Config edits the configuration (config.Defaults, quiet).
	Config []func(*config.Config)
	// UI is the web UI to serve (pb_public), when the test needs it.
	UI fs.FS
	// NoAccounts leaves out the seeded contributors and superuser.
	NoAccounts bool
}

// NewApp is a fresh app on an empty data dir: the service's connection
// pragmas, migrations applied, the songcommons hooks bound with the
// configuration edits applied, and the contributors and the superuser
// seeded. The caller cleans it up (app.Cleanup).
func NewApp(t testing.TB, edits ...func(*config.Config)) *tests.TestApp {
	t.Helper()
	return NewAppWith(t, Options{Config: edits})
}

// NewAppWith is NewApp with more options.
func NewAppWith(t testing.TB, o Options) *tests.TestApp {
	t.Helper()
	app, err := tests.NewTestAppWithConfig(core.BaseAppConfig{DataDir: t.TempDir(), EncryptionEnv: "pb_test_env", DBConnect: storage.DBConnect})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Defaults()
	cfg.Quiet = true
	for _, e := range o.Config {
		e(&cfg)
	}
	hooks.Register(app, cfg, o.UI)
	if !o.NoAccounts {
		seedUsers(t, app)
	}
	return app
}

// OpenDataDir opens an existing (or new) data dir as the service's
// process does, without serving: the service's pragmas, PocketBase
// bootstrapped, migrations current, no hooks bound.
func OpenDataDir(t testing.TB, dir string) *core.BaseApp {
	t.Helper()
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: dir, DBConnect: storage.DBConnect})
	if err := app.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	if err := app.RunAllMigrations(); err != nil {
		t.Fatal(err)
	}
	return app
}

// FreshDataDir is an app on a new, empty data dir, opened as the
// service's process opens it (its pragmas, PocketBase bootstrapped) but
// without migrations: what a command finds on a data dir it creates.
func FreshDataDir(t testing.TB) *core.BaseApp {
	t.Helper()
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: t.TempDir(), DBConnect: storage.DBConnect})
	if err := app.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.ResetBootstrapState() })
	return app
}

func seedUsers(t testing.TB, app core.App) {
	t.Helper()
	users, err := app.FindCollectionByNameOrId("users")
	if err != nil {
		t.Fatal(err)
	}
	users.AuthToken.Secret = TokenSecret
	if err := app.Save(users); err != nil {
		t.Fatal(err)
	}
	supers, err := app.FindCollectionByNameOrId(core.CollectionNameSuperusers)
	if err != nil {
		t.Fatal(err)
	}
	supers.AuthToken.Secret = TokenSecret
	if err := app.Save(supers); err != nil {
		t.Fatal(err)
	}
	su := core.NewRecord(supers)
	su.Id = SuperuserID
	su.SetEmail("admin@songcommons.test")
	su.SetPassword("admin-password-123")
	su.SetTokenKey("tk-" + SuperuserID + "-0123456789abcdef0123456789")
	if err := app.Save(su); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ id, gh string }{{AliceID, AliceGitHub}, {BobID, BobGitHub}} {
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
		LinkGitHub(t, app, r, u.gh)
	}
}

// LinkGitHub gives a user the GitHub link a sign-in would create.
func LinkGitHub(t testing.TB, app core.App, user *core.Record, githubID string) {
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

// Token returns an auth token of a seeded account (AliceID, BobID,
// SuperuserID), valid in every app NewApp makes.
func Token(t testing.TB, id string) string {
	t.Helper()
	tokenOnce.Do(func() {
		app := NewApp(t)
		defer app.Cleanup()
		tokens = map[string]string{}
		for _, uid := range []string{AliceID, BobID, SuperuserID} {
			col := "users"
			if uid == SuperuserID {
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

// NewContributor creates a contributor account that has given consent and
// returns an auth token of it.
func NewContributor(t testing.TB, app core.App) string {
	t.Helper()
	users, err := app.FindCollectionByNameOrId("users")
	if err != nil {
		t.Fatal(err)
	}
	u := core.NewRecord(users)
	u.SetRandomPassword()
	u.SetVerified(true)
	u.Set("policy_version", 1)
	u.Set("policy_day", hooks.Today())
	if err := app.Save(u); err != nil {
		t.Fatal(err)
	}
	tok, err := u.NewAuthToken()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Serve starts the app's router on a real HTTP server on 127.0.0.1,
// closed when the test ends.
func Serve(t testing.TB, app core.App) *httptest.Server {
	t.Helper()
	return ServeWith(t, app, nil)
}

// ServeWith is Serve with the app's handler wrapped by wrap (when not nil).
func ServeWith(t testing.TB, app core.App, wrap func(http.Handler) http.Handler) *httptest.Server {
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

// MainOrChild is the TestMain of a package whose tests start the test
// binary itself as a server in a child process (to kill or restart it):
// when the environment variable env holds a command line, the process is
// that child and runs it (os.Args set to it); otherwise the tests run.
func MainOrChild(m *testing.M, env string, run func()) {
	if args := os.Getenv(env); args != "" {
		os.Args = append([]string{"songcommons"}, strings.Fields(args)...)
		run()
		return
	}
	os.Exit(m.Run())
}
