package hooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"

	"songcommons/config"
	"songcommons/hooks"
)

// answer is a response read in full.
type answer struct {
	code   int
	header http.Header
	body   map[string]any
	err    error
}

// post sends a POST with a raw body (a string, or a reader such as a pipe).
func post(ctx context.Context, srv *httptest.Server, path, token string, body io.Reader) answer {
	return send(ctx, srv, http.MethodPost, path, token, body)
}

func postJSON(srv *httptest.Server, path, token string, body any) answer {
	return post(context.Background(), srv, path, token, strings.NewReader(jsonString(body)))
}

// holder keeps requests that carry the header X-Test-Hold inside their
// slot until the test lets them go: a middleware that runs right after
// the admission guards of the service routes.
type holder struct {
	started chan string
	release chan struct{}
}

func holdSlots(app core.App) *holder {
	h := &holder{started: make(chan string, 16), release: make(chan struct{})}
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		se.Router.Bind(&hook.Handler[*core.RequestEvent]{
			Id:       "testHold",
			Priority: hooks.AdmissionPriority + 1,
			Func: func(e *core.RequestEvent) error {
				name := e.Request.Header.Get("X-Test-Hold")
				if name == "" {
					return e.Next()
				}
				h.started <- name
				select {
				case <-h.release:
				case <-e.Request.Context().Done():
				}
				return e.Next()
			},
		})
		return se.Next()
	})
	return h
}

// hold sends a request that stays in its slot until h.release is closed,
// once its slot is taken; the answer comes on the channel.
func (h *holder) hold(t testing.TB, srv *httptest.Server, name, path, token string, body any, headers ...string) <-chan answer {
	t.Helper()
	done := make(chan answer, 1)
	go func() {
		done <- send(context.Background(), srv, http.MethodPost, path, token, strings.NewReader(jsonString(body)),
			append([]string{"X-Test-Hold", name}, headers...)...)
	}()
	select {
	case got := <-h.started:
		if got != name {
			t.Fatalf("held %q, want %q", got, name)
		}
	case a := <-done:
		t.Fatalf("%s ended before it was held: %d %v %v", name, a.code, a.body, a.err)
	case <-time.After(30 * time.Second):
		t.Fatalf("%s never took a slot", name)
	}
	return done
}

// send is post with any method and extra header pairs.
func send(ctx context.Context, srv *httptest.Server, method, path, token string, body io.Reader, headers ...string) answer {
	req, err := http.NewRequestWithContext(ctx, method, srv.URL+path, body)
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer res.Body.Close()
	out := map[string]any{}
	raw, err := io.ReadAll(res.Body)
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &out)
	}
	return answer{code: res.StatusCode, header: res.Header, body: out, err: err}
}

func wait(t testing.TB, what string, done <-chan answer) answer {
	t.Helper()
	select {
	case a := <-done:
		return a
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not finish", what)
	}
	return answer{}
}

// assertBusy checks a 429 refusal: Retry-After in whole seconds and a
// PocketBase-shaped JSON error naming the reason.
func assertBusy(t testing.TB, what string, a answer) {
	t.Helper()
	if a.err != nil {
		t.Fatalf("%s: %v", what, a.err)
	}
	if a.code != http.StatusTooManyRequests {
		t.Fatalf("%s: %d %v, want 429", what, a.code, a.body)
	}
	retry, err := strconv.Atoi(a.header.Get("Retry-After"))
	if err != nil || retry < 1 || retry > 90 {
		t.Errorf("%s: Retry-After %q", what, a.header.Get("Retry-After"))
	}
	msg, _ := a.body["message"].(string)
	if a.body["status"] != 429.0 || !strings.HasPrefix(msg, hooks.BusyMessage) ||
		!strings.Contains(msg, fmt.Sprintf("retry after %d s", retry)) || !strings.Contains(msg, "Nothing of this request") {
		t.Errorf("%s: body %v", what, a.body)
	}
	if d, ok := a.body["data"].(map[string]any); !ok || len(d) != 0 {
		t.Errorf("%s: data %v, want {}", what, a.body["data"])
	}
}

func songsOf(artist string, n int) []map[string]any {
	songs := contributeSongs(n)
	for _, s := range songs {
		s["artist"] = artist
	}
	return songs
}

func countArtist(t testing.TB, app core.App, table, artist string) int {
	t.Helper()
	var n int
	if err := app.DB().NewQuery("SELECT COUNT(*) FROM " + table + " WHERE artist = {:a}").Bind(map[string]any{"a": artist}).Row(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAdmissionBusy: with the one upload slot held, other heavy writes
// (an upload, a batch, a record create) are refused with 429 +
// Retry-After and store nothing, reads still answer, and once the upload
// is done a retry is stored.
func TestAdmissionBusy(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(c *config.Config) { c.MaxPendingUploads = 1; c.UploadWait = 500 * time.Millisecond })
	defer app.Cleanup()
	seedCatalog(t, app)
	h := holdSlots(app)
	srv := serve(t, app)
	alice, bob := tokenFor(t, aliceID), tokenFor(t, bobID)

	held := h.hold(t, srv, "upload", "/api/songcommons/contribute", alice, map[string]any{"songs": songsOf("Held Upload", 20)})
	refused := map[string]any{"songs": songsOf("Refused Upload", 300)}
	assertBusy(t, "1 MiB upload", postJSON(srv, "/api/songcommons/contribute", bob, refused))
	assertBusy(t, "batch", postJSON(srv, "/api/batch", bob, batchRequests(audioMuseLibrary(2))))
	assertBusy(t, "record create", postJSON(srv, "/api/collections/score/records", bob,
		map[string]any{"artist": "Refused Single", "title": "S", "tempo": 120, "key": "A", "scale": "minor"}))
	if n := countArtist(t, app, "score", "Refused Upload") + countArtist(t, app, "score", "Refused Single"); n != 0 {
		t.Fatalf("%d rows of refused writes were stored", n)
	}

	// reads do not take upload slots
	reads := []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, "/api/songcommons/lookup", map[string]any{"songs": []any{map[string]any{"artist": "Daft Punk", "title": "One More Time"}}}},
		{http.MethodGet, "/api/songcommons/similar?song=" + url.QueryEscape("daft punk|one more time") + "&k=3", nil},
		{http.MethodPost, "/api/songcommons/similar", map[string]any{"vector": testVector(200, 1), "k": 3}},
		{http.MethodGet, "/api/collections/score/records?perPage=5", nil},
		{http.MethodGet, "/api/songcommons/status", nil},
	}
	for _, r := range reads {
		if code, out := call(t, srv, r.method, r.path, "", r.body); code != 200 {
			t.Errorf("%s %s while the slot is taken: %d %v", r.method, r.path, code, out)
		}
	}

	close(h.release)
	if a := wait(t, "held upload", held); a.err != nil || a.code != 200 || a.body["accepted"] != 20.0 {
		t.Fatalf("held upload: %d %v %v", a.code, a.body, a.err)
	}
	if a := postJSON(srv, "/api/songcommons/contribute", bob, refused); a.code != 200 || a.body["accepted"] != 300.0 {
		t.Fatalf("retry after the held upload: %d %v", a.code, a.body)
	}
	if n := countArtist(t, app, "score", "Refused Upload"); n != 300 {
		t.Fatalf("%d rows stored by the retry, want 300", n)
	}
}

// TestAdmissionReleasesSlots: with one slot, every way a heavy write can
// end (refusals, bad input, a body too large, a panic in a hook, success)
// gives the slot back, so the next write is admitted.
func TestAdmissionReleasesSlots(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(c *config.Config) { c.MaxPendingUploads = 1 }) // default 2 s wait: a leaked slot means 429
	defer app.Cleanup()
	app.OnRecordCreateRequest("score").BindFunc(func(e *core.RecordRequestEvent) error {
		if e.Record.GetString("artist") == "Panic In A Hook" {
			panic("test panic")
		}
		return e.Next()
	})
	srv := serve(t, app)
	alice, admin := tokenFor(t, aliceID), tokenFor(t, superuserID)
	badSongs := songsOf("Bad", 3)
	badSongs[1]["tempo"] = 0
	bad := []struct {
		name, path, token, body string
		code                    int
	}{
		{"guest upload", "/api/songcommons/contribute", "", jsonString(map[string]any{"songs": songsOf("Guest", 2)}), 401},
		{"superuser upload", "/api/songcommons/contribute", admin, jsonString(map[string]any{"songs": songsOf("Admin", 2)}), 403},
		{"malformed JSON", "/api/songcommons/contribute", alice, `{"songs":[{"artist":`, 400},
		{"unknown field", "/api/songcommons/contribute", alice, `{"tracks":[]}`, 400},
		{"no songs", "/api/songcommons/contribute", alice, `{"songs":[]}`, 400},
		{"a bad song", "/api/songcommons/contribute", alice, jsonString(map[string]any{"songs": badSongs}), 400},
		{"body over 8 MiB", "/api/songcommons/contribute", alice, `{"songs":[` + strings.Repeat(" ", 9<<20) + `]}`, 413},
		{"bad receipt secret", "/api/songcommons/contribute", alice, jsonString(map[string]any{"songs": songsOf("Receipt", 1), "receipt_secret": "x"}), 400},
		{"bad record create", "/api/collections/score/records", alice, `{"artist":"Bad","title":"Create","tempo":0,"key":"A","scale":"minor"}`, 400},
		{"record create with an id", "/api/collections/embedding/records", alice, `{"id":"abcdefghijklmno","artist":"A","title":"B","embedding":[1]}`, 400},
		{"panic in a record hook", "/api/collections/score/records", alice, `{"artist":"Panic In A Hook","title":"P","tempo":100,"key":"A","scale":"minor"}`, 500},
		{"empty batch", "/api/batch", alice, `{"requests":[]}`, 400},
		{"batch with a bad song", "/api/batch", alice, jsonString(map[string]any{"requests": []any{
			map[string]any{"method": "POST", "url": "/api/collections/score/records", "body": map[string]any{"artist": "Bad", "title": "Batch", "tempo": -1}}}}), 400},
		{"guest batch", "/api/batch", "", jsonString(batchRequests(audioMuseLibrary(2))), 401},
	}
	for i, b := range bad {
		t.Run(fmt.Sprintf("%d_%s", i, b.name), func(t *testing.T) {
			a := post(context.Background(), srv, b.path, b.token, strings.NewReader(b.body))
			if a.err != nil || a.code != b.code {
				t.Fatalf("%d %v %v, want %d", a.code, a.body, a.err, b.code)
			}
		})
	}
	assertCounts(0, 0)(t, app, nil)

	// every good write is admitted after them, one at a time
	if a := postJSON(srv, "/api/songcommons/contribute", alice, map[string]any{"songs": songsOf("Good Upload", 3)}); a.code != 200 {
		t.Fatalf("good upload: %d %v", a.code, a.body)
	}
	if a := postJSON(srv, "/api/batch", alice, batchRequests(audioMuseLibrary(2))); a.code != 200 {
		t.Fatalf("good batch: %d %v", a.code, a.body)
	}
	if a := postJSON(srv, "/api/collections/score/records", alice,
		map[string]any{"artist": "Good Single", "title": "S", "tempo": 120, "key": "A", "scale": "minor"}); a.code != 200 {
		t.Fatalf("good record create: %d %v", a.code, a.body)
	}
	assertCounts(3+2+1, 3+2)(t, app, nil)
}

// TestAdmissionClientGone: an upload whose client goes away while it
// holds its slot gives the slot back.
func TestAdmissionClientGone(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(c *config.Config) { c.MaxPendingUploads = 1; c.UploadWait = 300 * time.Millisecond })
	defer app.Cleanup()
	h := holdSlots(app)
	srv := serve(t, app)
	alice := tokenFor(t, aliceID)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan answer, 1)
	go func() {
		done <- send(ctx, srv, http.MethodPost, "/api/songcommons/contribute", alice,
			strings.NewReader(jsonString(map[string]any{"songs": songsOf("Gone", 50)})), "X-Test-Hold", "gone")
	}()
	<-h.started
	cancel() // the client goes away while its upload holds the slot
	if a := wait(t, "cancelled upload", done); a.err == nil {
		t.Fatalf("the cancelled upload got an answer: %d %v", a.code, a.body)
	}

	// the server sees the connection close a moment later; then the slot is free
	deadline := time.Now().Add(20 * time.Second)
	for {
		a := postJSON(srv, "/api/songcommons/contribute", alice, map[string]any{"songs": songsOf("After", 2)})
		if a.code == 200 {
			break
		}
		if a.code != http.StatusTooManyRequests || time.Now().After(deadline) {
			t.Fatalf("upload after a client left: %d %v", a.code, a.body)
		}
	}
}

// TestReadAdmission: lookups and similarity searches are answered a few at
// a time; with the one slot held by a lookup, another lookup and a search
// wait, then get 429 with Retry-After naming the reason, while uploads
// and other reads are unaffected; once the held lookup is answered,
// lookups are served again.
func TestReadAdmission(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(c *config.Config) { c.MaxConcurrentReads = 1; c.ReadWait = 300 * time.Millisecond })
	defer app.Cleanup()
	seedCatalog(t, app)
	h := holdSlots(app)
	srv := serve(t, app)
	alice := tokenFor(t, aliceID)

	lookup := map[string]any{"songs": []any{map[string]any{"artist": "Daft Punk", "title": "One More Time"}}}
	held := h.hold(t, srv, "lookup", "/api/songcommons/lookup", "", lookup)

	refused := postJSON(srv, "/api/songcommons/similar", "", map[string]any{"vector": testVector(200, 1), "k": 3})
	if refused.code != http.StatusTooManyRequests || refused.header.Get("Retry-After") == "" {
		t.Fatalf("search while the read slot is held: %d %v, want 429 with Retry-After", refused.code, refused.header)
	}
	if msg, _ := refused.body["message"].(string); !strings.HasPrefix(msg, hooks.ReadBusyMessage) {
		t.Errorf("message %q", msg)
	}
	if code, _ := call(t, srv, http.MethodGet, "/api/songcommons/similar?song=x", "", nil); code != http.StatusTooManyRequests {
		t.Errorf("GET similar while the slot is held: %d", code)
	}
	if a := postJSON(srv, "/api/songcommons/lookup", "", map[string]any{"songs": []any{}}); a.code != http.StatusTooManyRequests {
		t.Errorf("second lookup while the slot is held: %d", a.code)
	}
	// writes and record reads do not wait for read slots
	if a := postJSON(srv, "/api/songcommons/contribute", alice, map[string]any{"songs": songsOf("During Reads", 3)}); a.code != 200 {
		t.Errorf("upload while the read slot is held: %d %v", a.code, a.body)
	}
	if code, _ := call(t, srv, http.MethodGet, "/api/collections/score/records?perPage=5", "", nil); code != 200 {
		t.Errorf("record list while the read slot is held: %d", code)
	}

	close(h.release)
	if a := wait(t, "held lookup", held); a.code != 200 {
		t.Fatalf("held lookup: %d %v", a.code, a.body)
	}
	if a := postJSON(srv, "/api/songcommons/lookup", "", lookup); a.code != 200 {
		t.Errorf("lookup after the slot came free: %d %v", a.code, a.body)
	}
}
