package hooks_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"songcommons/internal/testsupport"

	"github.com/pocketbase/pocketbase/core"
)

// filesContain reports which needles occur in any file of the data dir
// (data.db, auxiliary.db and their -wal/-shm files, storage, backups).
func filesContain(t testing.TB, dir string, needles ...string) []string {
	t.Helper()
	var found []string
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range needles {
			if bytes.Contains(bytes.ToLower(b), bytes.ToLower([]byte(n))) {
				found = append(found, n+" in "+filepath.Base(p))
			}
		}
		return nil
	})
	return found
}

func TestGitHubSignIn(t *testing.T) {
	t.Parallel()
	gh := newFakeGitHub(t, 7654321)
	app := newTestApp(t, gh.Configure)
	defer app.Cleanup()
	app.Settings().Logs.MaxDays = 3 // let the request logs be written, and searched
	srv := serve(t, app)

	// the sign-in methods offer GitHub, asking for no scope (no e-mail)
	code, methods := call(t, srv, http.MethodGet, "/api/collections/users/auth-methods", "", nil)
	if code != 200 {
		t.Fatalf("auth-methods: %d %v", code, methods)
	}
	raw, _ := json.Marshal(methods)
	if !strings.Contains(string(raw), `"name":"github"`) || strings.Contains(string(raw), "user%3Aemail") || strings.Contains(string(raw), "read%3Auser") {
		t.Fatalf("auth methods: %s", raw)
	}
	if strings.Contains(string(raw), `"password":{"enabled":true`) {
		t.Fatalf("password sign-in must be off: %s", raw)
	}

	signIn := func(code string) (int, map[string]any, string) {
		body := map[string]any{"provider": "github", "code": code, "codeVerifier": "verifier-0123456789",
			"redirectURL": "http://127.0.0.1/redirect",
			// sign-up data a client might try to slip in is ignored
			"createData": map[string]any{"email": "sneaky@mail.example", "emailVisibility": true}}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/collections/users/auth-with-oauth2", strings.NewReader(jsonString(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0")
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(res.Body)
		out := map[string]any{}
		_ = json.Unmarshal(buf.Bytes(), &out)
		return res.StatusCode, out, buf.String()
	}

	code, out, rawRes := signIn("good-code")
	if code != 200 {
		t.Fatalf("sign-in: %d %s", code, rawRes)
	}
	for _, leak := range []string{testsupport.GitHubLogin, testsupport.GitHubName, testsupport.GitHubEmail, "sneaky", "avatar", testsupport.GitHubAccessToken, "octavia"} {
		if strings.Contains(strings.ToLower(rawRes), strings.ToLower(leak)) {
			t.Errorf("sign-in response leaks %q: %s", leak, rawRes)
		}
	}
	if meta, _ := json.Marshal(out["meta"]); string(meta) != `{"isNew":true}` {
		t.Errorf("meta = %s, want only isNew", meta)
	}
	token, _ := out["token"].(string)
	record, _ := out["record"].(map[string]any)
	userID, _ := record["id"].(string)
	if token == "" || userID == "" {
		t.Fatalf("no token or record: %s", rawRes)
	}

	// signing in again finds the same account
	code, out2, _ := signIn("good-code")
	if code != 200 || out2["record"].(map[string]any)["id"] != userID {
		t.Fatalf("second sign-in: %d %v", code, out2)
	}
	// a bad code is refused
	if code, _, _ := signIn("bad-code"); code != 400 {
		t.Fatalf("bad code: %d", code)
	}

	// a new account must accept the policy before it can upload
	code, created := call(t, srv, http.MethodPost, "/api/collections/score/records", token, map[string]any{
		"artist": "Artist", "title": "Title", "tempo": 120, "key": "A", "scale": "minor"})
	if code != 403 {
		t.Fatalf("upload before consent: %d %v", code, created)
	}
	if code, out := call(t, srv, http.MethodPost, "/api/songcommons/me/consent", token, map[string]any{"accept": true, "version": 1}); code != 200 {
		t.Fatalf("consent: %d %v", code, out)
	}
	// the token works for contributing
	code, created = call(t, srv, http.MethodPost, "/api/collections/score/records", token, map[string]any{
		"artist": "Artist", "title": "Title", "tempo": 120, "key": "A", "scale": "minor"})
	if code != 200 {
		t.Fatalf("contribute with the new token: %d %v", code, created)
	}

	if n := gh.EmailCalls.Load(); n != 0 {
		t.Errorf("the GitHub e-mail endpoint was called %d times", n)
	}
	if n := gh.AvatarHits.Load(); n != 0 {
		t.Errorf("the avatar was fetched %d times", n)
	}

	// what was stored: the GitHub id in _externalAuths, nothing else from GitHub
	user, err := app.FindRecordById("users", userID)
	if err != nil {
		t.Fatal(err)
	}
	if user.Email() != "" {
		t.Errorf("e-mail stored: %q", user.Email())
	}
	for _, f := range user.Collection().Fields {
		if n := f.GetName(); n == "name" || n == "avatar" || n == "username" {
			t.Errorf("users has a %q field", n)
		}
	}
	if c := user.GetDateTime("created").Time(); c.Hour() != 0 || c.Minute() != 0 || c.Second() != 0 || c.Nanosecond() != 0 {
		t.Errorf("users.created is finer than a day: %v", c)
	}
	links, err := app.FindAllExternalAuthsByRecord(user)
	if err != nil || len(links) != 1 || links[0].ProviderId() != "7654321" || links[0].Provider() != "github" {
		t.Fatalf("external auth: %v %v", links, err)
	}
	var exCreated, exUpdated string
	_ = app.DB().NewQuery("SELECT created, updated FROM _externalAuths WHERE id = {:id}").
		Bind(map[string]any{"id": links[0].Id}).Row(&exCreated, &exUpdated)
	if !strings.HasSuffix(exCreated, " 00:00:00.000Z") || !strings.HasSuffix(exUpdated, " 00:00:00.000Z") {
		t.Errorf("_externalAuths timestamps finer than a day: %q %q", exCreated, exUpdated)
	}
	if n := countRows(t, app, core.CollectionNameAuthOrigins); n != 0 {
		t.Errorf("%d _authOrigins fingerprints stored", n)
	}

	// nowhere in pb_data: not in data.db, auxiliary.db (logs), WAL files or storage
	waitForLogs(t, app)
	if found := filesContain(t, app.DataDir(), testsupport.GitHubLogin, testsupport.GitHubName, testsupport.GitHubEmail, testsupport.GitHubAccessToken, "/avatars/", "sneaky@"); len(found) > 0 {
		t.Errorf("GitHub data found in pb_data: %v", found)
	}
}

func TestSignInOff(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	srv := serve(t, app)
	code, st := call(t, srv, http.MethodGet, "/api/songcommons/status", "", nil)
	if code != 200 || st["signIn"] != false || !strings.Contains(st["signInMessage"].(string), "not configured") {
		t.Fatalf("status: %d %v", code, st)
	}
	code, out := call(t, srv, http.MethodPost, "/api/collections/users/auth-with-oauth2", "",
		map[string]any{"provider": "github", "code": "x"})
	if code != 400 {
		t.Fatalf("sign-in while off: %d %v", code, out)
	}
	code, _ = call(t, srv, http.MethodPost, "/api/collections/users/records", "",
		map[string]any{"password": "12345678secret", "passwordConfirm": "12345678secret"})
	if code < 400 || countRows(t, app, "users") != 2 {
		t.Fatalf("password sign-up must be closed: %d", code)
	}
	code, _ = call(t, srv, http.MethodPost, "/api/collections/users/auth-with-password", "",
		map[string]any{"identity": "x@y.z", "password": "12345678secret"})
	if code < 400 {
		t.Fatalf("password sign-in must be closed: %d", code)
	}
}
