package hooks_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"

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
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+path, body)
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
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

func postJSON(srv *httptest.Server, path, token string, body any) answer {
	return post(context.Background(), srv, path, token, strings.NewReader(jsonString(body)))
}

// slowUpload is a /contribute request whose body arrives only when the
// test says so: it holds an admission slot while the handler waits for it.
type slowUpload struct {
	pw     *io.PipeWriter
	rest   string
	cancel context.CancelFunc
	done   chan answer
}

func startSlowUpload(srv *httptest.Server, token string, body string) *slowUpload {
	pr, pw := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	u := &slowUpload{pw: pw, rest: body[len(body)/2:], cancel: cancel, done: make(chan answer, 1)}
	go func() { u.done <- post(ctx, srv, "/api/songcommons/contribute", token, pr) }()
	go func() { _, _ = pw.Write([]byte(body[:len(body)/2])) }() // the first half only
	return u
}

// finish sends the rest of the body and returns the answer.
func (u *slowUpload) finish(t testing.TB) answer {
	t.Helper()
	go func() {
		_, _ = u.pw.Write([]byte(u.rest))
		_ = u.pw.Close()
	}()
	select {
	case a := <-u.done:
		return a
	case <-time.After(30 * time.Second):
		t.Fatal("the held upload did not finish")
	}
	return answer{}
}

// waitBusy returns once the held upload has the only slot and heavy
// writes are refused: an empty batch is a probe that stores nothing (400
// when admitted, 429 when no slot is free).
func waitBusy(t testing.TB, srv *httptest.Server, token string, held *slowUpload) answer {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case a := <-held.done:
			t.Fatalf("the held upload ended before its body was sent: %d %v %v", a.code, a.body, a.err)
		default:
		}
		a := postJSON(srv, "/api/batch", token, map[string]any{"requests": []any{}})
		if a.err != nil {
			t.Fatal(a.err)
		}
		if a.code == http.StatusTooManyRequests {
			return a
		}
		if a.code != http.StatusBadRequest {
			t.Fatalf("probe batch: %d %v", a.code, a.body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the held upload never took the admission slot")
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

// TestAdmissionBusy: with one slot taken by an upload whose body is still
// arriving, other heavy writes are refused with 429 + Retry-After before
// their body is read and store nothing, reads still answer, and once the
// upload is done a retry is stored.
func TestAdmissionBusy(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(c *hooks.Config) { c.MaxPendingUploads = 1; c.UploadWait = 500 * time.Millisecond })
	defer app.Cleanup()
	seedCatalog(t, app)
	srv := serve(t, app)
	alice, bob := tokenFor(t, aliceID), tokenFor(t, bobID)

	held := startSlowUpload(srv, alice, jsonString(map[string]any{"songs": songsOf("Held Upload", 20)}))
	assertBusy(t, "batch while the slot is taken", waitBusy(t, srv, bob, held))

	// a refused 2 MiB upload whose body never comes: the answer needs none
	// of it (Go's server reads at most 256 KiB of an unread body to keep the
	// connection, and none when the declared length is larger: it closes)
	pr, pw := io.Pipe()
	defer pw.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/songcommons/contribute", pr)
	req.ContentLength = 2 << 20
	req.Header.Set("Authorization", bob)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	unsent := answer{code: res.StatusCode, header: res.Header, body: map[string]any{}}
	_ = json.NewDecoder(res.Body).Decode(&unsent.body)
	res.Body.Close()
	assertBusy(t, "upload whose body is never sent", unsent)

	// a refused 1 MiB upload, sent in full by the client
	refused := map[string]any{"songs": songsOf("Refused Upload", 300)}
	assertBusy(t, "1 MiB upload", postJSON(srv, "/api/songcommons/contribute", bob, refused))
	assertBusy(t, "record create", postJSON(srv, "/api/collections/score/records", bob,
		map[string]any{"artist": "Refused Single", "title": "S", "tempo": 120, "key": "A", "scale": "minor"}))
	if n := countArtist(t, app, "score", "Refused Upload") + countArtist(t, app, "score", "Refused Single"); n != 0 {
		t.Fatalf("%d rows of refused writes were stored", n)
	}

	// reads are not admission-controlled
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

	if a := held.finish(t); a.err != nil || a.code != 200 || a.body["accepted"] != 20.0 {
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
	app := newTestApp(t, func(c *hooks.Config) { c.MaxPendingUploads = 1 }) // default 2 s wait: a leaked slot means 429
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

// TestAdmissionClientGone: an upload whose client disconnects halfway
// through its body gives its slot back.
func TestAdmissionClientGone(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(c *hooks.Config) { c.MaxPendingUploads = 1; c.UploadWait = 300 * time.Millisecond })
	defer app.Cleanup()
	srv := serve(t, app)
	alice := tokenFor(t, aliceID)

	held := startSlowUpload(srv, alice, jsonString(map[string]any{"songs": songsOf("Gone", 50)}))
	waitBusy(t, srv, alice, held)
	held.cancel() // the client goes away with half its body sent
	_ = held.pw.CloseWithError(errors.New("client gone"))
	if a := <-held.done; a.err == nil {
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
	if n := countArtist(t, app, "score", "Gone"); n != 0 {
		t.Fatalf("%d rows of the abandoned upload were stored", n)
	}
}

func TestConfigAdmissionAndMemoryLimit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		env     map[string]string
		pending int
		limit   int64
		gomem   string
		err     string
	}{
		{"defaults", nil, hooks.DefaultMaxPendingUploads, 0, "", ""},
		{"pending 1", map[string]string{"SONGCOMMONS_MAX_PENDING_UPLOADS": "1"}, 1, 0, "", ""},
		{"pending 32", map[string]string{"SONGCOMMONS_MAX_PENDING_UPLOADS": " 32 "}, 32, 0, "", ""},
		{"pending 0", map[string]string{"SONGCOMMONS_MAX_PENDING_UPLOADS": "0"}, 0, 0, "", `SONGCOMMONS_MAX_PENDING_UPLOADS="0": use a whole number of at least 1`},
		{"pending negative", map[string]string{"SONGCOMMONS_MAX_PENDING_UPLOADS": "-3"}, 0, 0, "", "at least 1"},
		{"pending word", map[string]string{"SONGCOMMONS_MAX_PENDING_UPLOADS": "many"}, 0, 0, "", `SONGCOMMONS_MAX_PENDING_UPLOADS="many"`},
		{"limit GiB", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "4GiB"}, 8, 4 << 30, "", ""},
		{"limit MiB lower case", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "512mib"}, 8, 512 << 20, "", ""},
		{"limit GB", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "3GB"}, 8, 3e9, "", ""},
		{"limit g as Docker", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "4g"}, 8, 4 << 30, "", ""},
		{"limit bytes", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "1073741824"}, 8, 1 << 30, "", ""},
		{"limit off", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "off"}, 8, 0, "", ""},
		{"limit 0", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "0"}, 8, 0, "", ""},
		{"limit no number", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "GiB"}, 0, 0, "", `SONGCOMMONS_MEMORY_LIMIT: "GiB" is not a size such as 3GiB`},
		{"limit unknown unit", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "4 gigs"}, 0, 0, "", "is not a size"},
		{"limit fraction", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "1.5GiB"}, 0, 0, "", "is not a size"},
		{"limit negative", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "-1GiB"}, 0, 0, "", "is not a size"},
		{"limit overflow", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "99999999999TiB"}, 0, 0, "", "is not a size"},
		{"limit too small", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "64MiB"}, 0, 0, "", "below the minimum of 128MiB"},
		{"GOMEMLIMIT is kept", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "4GiB", "GOMEMLIMIT": "2GiB"}, 8, 4 << 30, "2GiB", ""},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d_%s", i, c.name), func(t *testing.T) {
			cfg, err := hooks.ConfigFrom(func(k string) string { return c.env[k] })
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MaxPendingUploads != c.pending || cfg.MemoryLimit != c.limit || cfg.GoMemLimit != c.gomem {
				t.Fatalf("pending %d, limit %d, GOMEMLIMIT %q", cfg.MaxPendingUploads, cfg.MemoryLimit, cfg.GoMemLimit)
			}
		})
	}
}

// TestApplyMemoryLimit sets a (harmlessly large) process-wide limit and
// restores the previous one; it is not parallel for that reason.
func TestApplyMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(prev)
	if prev != math.MaxInt64 {
		t.Skip("GOMEMLIMIT is set for this test run")
	}
	if hooks.ApplyMemoryLimit(hooks.Defaults()) || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Fatal("a limit was set by default")
	}
	if s := hooks.MemoryLimitSummary(hooks.Defaults()); !strings.HasPrefix(s, "none") {
		t.Errorf("summary %q", s)
	}

	cfg := hooks.Defaults()
	cfg.MemoryLimit = 64 << 30
	cfg.GoMemLimit = "48GiB" // the runtime applied it: left alone
	if hooks.ApplyMemoryLimit(cfg) || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Fatal("SONGCOMMONS_MEMORY_LIMIT overrode GOMEMLIMIT")
	}
	if s := hooks.MemoryLimitSummary(cfg); !strings.Contains(s, "GOMEMLIMIT=48GiB") || !strings.Contains(s, "SONGCOMMONS_MEMORY_LIMIT=64GiB ignored") {
		t.Errorf("summary %q", s)
	}

	cfg.GoMemLimit = ""
	if !hooks.ApplyMemoryLimit(cfg) || debug.SetMemoryLimit(-1) != 64<<30 {
		t.Fatalf("limit in force %d, want 64 GiB", debug.SetMemoryLimit(-1))
	}
	if s := hooks.MemoryLimitSummary(cfg); s != "64GiB (SONGCOMMONS_MEMORY_LIMIT)" {
		t.Errorf("summary %q", s)
	}
	if s := hooks.FormatBytes(1536 << 20); s != "1.5GiB" {
		t.Errorf("FormatBytes %q", s)
	}
}

// TestReadAdmission: lookups and similarity searches are answered a few at
// a time; with the one slot held by a lookup whose body is still arriving,
// another lookup and a search wait, then get 429 with Retry-After naming
// the reason, while uploads and other reads are unaffected; once the held
// lookup is answered, lookups are served again.
func TestReadAdmission(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(c *hooks.Config) { c.MaxConcurrentReads = 1; c.ReadWait = 300 * time.Millisecond })
	defer app.Cleanup()
	seedCatalog(t, app)
	srv := serve(t, app)
	alice := tokenFor(t, aliceID)

	lookup := jsonString(map[string]any{"songs": []any{map[string]any{"artist": "Daft Punk", "title": "One More Time"}}})
	pr, pw := io.Pipe()
	held := make(chan answer, 1)
	go func() { held <- post(context.Background(), srv, "/api/songcommons/lookup", "", pr) }()
	go func() { _, _ = pw.Write([]byte(lookup[:10])) }()

	// the held lookup takes the slot as soon as its headers arrive
	var refused answer
	deadline := time.Now().Add(20 * time.Second)
	for {
		refused = postJSON(srv, "/api/songcommons/similar", "", map[string]any{"vector": testVector(200, 1), "k": 3})
		if refused.code == http.StatusTooManyRequests || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if refused.code != http.StatusTooManyRequests || refused.header.Get("Retry-After") == "" {
		t.Fatalf("search while the read slot is held: %d %v, want 429 with Retry-After", refused.code, refused.header)
	}
	if msg, _ := refused.body["message"].(string); !strings.HasPrefix(msg, hooks.ReadBusyMessage) {
		t.Errorf("message %q", msg)
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

	go func() {
		_, _ = pw.Write([]byte(lookup[10:]))
		_ = pw.Close()
	}()
	select {
	case a := <-held:
		if a.code != 200 {
			t.Fatalf("held lookup: %d %v", a.code, a.body)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the held lookup did not finish")
	}
	if a := postJSON(srv, "/api/songcommons/lookup", "", map[string]any{"songs": []any{map[string]any{"artist": "Daft Punk", "title": "One More Time"}}}); a.code != 200 {
		t.Errorf("lookup after the slot came free: %d %v", a.code, a.body)
	}
}
