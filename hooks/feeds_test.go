package hooks_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/hooks"
)

// realtimeClient opens PocketBase's realtime stream and returns its client
// id; the stream stays open until the test ends.
func realtimeClient(t testing.TB, srv *httptest.Server) string {
	t.Helper()
	res, err := srv.Client().Get(srv.URL + "/api/realtime")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data:"); ok {
			var msg struct {
				ClientID string `json:"clientId"`
			}
			if err := json.Unmarshal([]byte(data), &msg); err == nil && msg.ClientID != "" {
				return msg.ClientID
			}
		}
	}
	t.Fatal("no PB_CONNECT event on /api/realtime")
	return ""
}

// Live feeds of the dataset are refused to guests and contributors (a feed
// delivers new rows as they are written, one request's rows together);
// superusers, and feeds of anything else, are unaffected.
func TestRealtimeRefusesDatasetFeeds(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	srv := serve(t, app)
	score, _ := app.FindCollectionByNameOrId("score")
	cases := []struct {
		name, token string
		topics      []string
		want        int
	}{
		{"guest, score", "", []string{"score/*"}, 403},
		{"guest, one score row", "", []string{"score/abcdefghijklmno"}, 403},
		{"guest, score by collection id", "", []string{score.Id + "/*"}, 403},
		{"guest, embedding with options", "", []string{`embedding/*?options={"query":{}}`}, 403},
		{"guest, songs", "", []string{"songs/*"}, 403},
		{"guest, song_vectors", "", []string{"song_vectors/*"}, 403},
		{"regular user, score among others", tokenFor(t, aliceID), []string{"users/" + aliceID, "SCORE/*"}, 403},
		{"regular user, own account", tokenFor(t, aliceID), []string{"users/" + aliceID}, 204},
		{"superuser, score", tokenFor(t, superuserID), []string{"score/*", "songs/*"}, 204},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id := realtimeClient(t, srv)
			code, out := call(t, srv, http.MethodPost, "/api/realtime", c.token, map[string]any{"clientId": id, "subscriptions": c.topics})
			if code != c.want {
				t.Fatalf("%v: %d %v, want %d", c.topics, code, out, c.want)
			}
			if c.want == 403 && !strings.Contains(out["message"].(string), "Live feeds of the dataset are off") {
				t.Fatalf("message: %v", out)
			}
		})
	}
}

// The e-mail and password routes of PocketBase are closed for contributor
// accounts before they read what was typed; superusers keep theirs.
func TestEmailRoutesClosed(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	srv := serve(t, app)
	users, _ := app.FindCollectionByNameOrId("users")
	for _, route := range []string{"request-verification", "confirm-verification", "request-email-change",
		"confirm-email-change", "request-password-reset", "confirm-password-reset", "request-otp",
		"auth-with-otp", "auth-with-password"} {
		for _, col := range []string{"users", users.Id} {
			code, out := call(t, srv, http.MethodPost, "/api/collections/"+col+"/"+route, tokenFor(t, aliceID),
				map[string]any{"email": "typed@mail.example", "newEmail": "new@mail.example", "identity": "typed@mail.example", "password": "x"})
			if code != 404 || out["message"] != hooks.EmailRouteClosedMessage {
				t.Errorf("%s on %s: %d %v", route, col, code, out)
			}
		}
	}
	// superusers still reset their password by e-mail (the dashboard)
	if code, out := call(t, srv, http.MethodPost, "/api/collections/"+core.CollectionNameSuperusers+"/request-password-reset", "",
		map[string]any{"email": "admin@songcommons.test"}); code != 204 {
		t.Fatalf("superuser password reset: %d %v", code, out)
	}
}

// Request logs hold neither record ids of accounts in paths nor what a
// user typed into a refused request.
func TestLogsHoldNoIdsOrTypedInput(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	app.Settings().Logs.MaxDays = 3
	srv := serve(t, app)
	su := tokenFor(t, superuserID)
	typed := "typed.address@mail.example"
	if code, out := call(t, srv, http.MethodPost, "/api/collections/users/impersonate/"+aliceID, su, map[string]any{"duration": 60}); code != 200 {
		t.Fatalf("impersonate: %d %v", code, out)
	}
	if code, out := call(t, srv, http.MethodGet, "/api/collections/users/records/"+aliceID, su, nil); code != 200 {
		t.Fatalf("view: %d %v", code, out)
	}
	if code, out := call(t, srv, http.MethodDelete, "/api/collections/users/records/"+bobID, su, nil); code != 204 {
		t.Fatalf("delete: %d %v", code, out)
	}
	// a superuser route that looks the typed address up and logs it in its error
	if code, _ := call(t, srv, http.MethodPost, "/api/collections/_superusers/request-password-reset", "", map[string]any{"email": typed}); code != 204 {
		t.Fatal(code)
	}
	// a validation error that repeats the typed value
	if code, _ := call(t, srv, http.MethodPost, "/api/songcommons/me/consent", tokenFor(t, aliceID), map[string]any{"accept": "yes " + typed}); code != 400 {
		t.Fatal(code)
	}
	waitForLogs(t, app)
	var logs []struct {
		Message string `db:"message"`
		Data    string `db:"data"`
	}
	if err := app.AuxDB().NewQuery("SELECT message, data FROM _logs").All(&logs); err != nil {
		t.Fatal(err)
	}
	var sawIDPlaceholder bool
	for _, l := range logs {
		all := l.Message + " " + l.Data
		for _, leak := range []string{aliceID, bobID, typed, "typed.address"} {
			if strings.Contains(all, leak) {
				t.Errorf("a log entry holds %q: %s", leak, all)
			}
		}
		sawIDPlaceholder = sawIDPlaceholder || strings.Contains(l.Message, "/users/records/:id") || strings.Contains(l.Message, "/impersonate/:id")
	}
	if !sawIDPlaceholder || len(logs) < 5 {
		t.Fatalf("expected the requests to be logged with :id in their paths: %v", logs)
	}
}
