package hooks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/config"
	"songcommons/hooks"
)

// slowRequest is a request whose body starts with a head, then comes one
// byte every tick (a slow client), for at most a minute; stop ends it.
type slowRequest struct {
	name string
	done chan answer
	stop chan struct{}
}

func startSlow(srvURL, name, path, token, head string, tick time.Duration, client *http.Client) *slowRequest {
	s := &slowRequest{name: name, done: make(chan answer, 1), stop: make(chan struct{})}
	pr, pw := io.Pipe()
	go func() {
		defer pw.Close()
		if _, err := pw.Write([]byte(head)); err != nil {
			return
		}
		for range 600 { // at most a minute of trickling
			select {
			case <-s.stop:
				return
			case <-time.After(tick):
			}
			if _, err := pw.Write([]byte(" ")); err != nil {
				return // the server answered and closed the connection
			}
		}
	}()
	go func() {
		req, _ := http.NewRequest(http.MethodPost, srvURL+path, pr)
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", token)
		}
		res, err := client.Do(req)
		if err != nil {
			s.done <- answer{err: err}
			return
		}
		defer res.Body.Close()
		a := answer{code: res.StatusCode, header: res.Header, body: map[string]any{}}
		raw, _ := io.ReadAll(res.Body)
		_ = json.Unmarshal(raw, &a.body)
		s.done <- a
	}()
	return s
}

// TestSlowClientsLoad: slow clients (bodies trickling one byte at a time)
// on every heavy route, guests and signed-in, take no slot: honest
// uploads, batches, lookups and searches sent meanwhile from the same
// address are all answered 200, never 429; the slow ones get 401 (guests
// on write routes) or a 408 JSON answer once their body is overdue.
func TestSlowClientsLoad(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(c *config.Config) {
		c.MaxPendingUploads, c.MaxConcurrentReads = 2, 2
		c.UploadWait, c.ReadWait = time.Second, time.Second
		c.BodyTimeout = 4 * time.Second
		c.RateLimits = false // every client shares 127.0.0.1
	})
	defer app.Cleanup()
	seedCatalog(t, app)
	srv := serve(t, app)
	alice, bob := tokenFor(t, aliceID), tokenFor(t, bobID)

	// N = 10 slow clients, more than every gate's slots
	slowClient := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, DisableKeepAlives: true}}
	var slow []*slowRequest
	for i := range 4 {
		slow = append(slow, startSlow(srv.URL, fmt.Sprintf("guest batch %d", i), "/api/batch", "", `{"requests":[`, 200*time.Millisecond, slowClient))
	}
	slow = append(slow,
		startSlow(srv.URL, "guest upload", "/api/songcommons/contribute", "", `{"songs":[`, 200*time.Millisecond, slowClient),
		startSlow(srv.URL, "signed-in upload", "/api/songcommons/contribute", alice, `{"songs":[`, 200*time.Millisecond, slowClient),
		startSlow(srv.URL, "signed-in batch", "/api/batch", alice, `{"requests":[`, 200*time.Millisecond, slowClient),
		startSlow(srv.URL, "lookup 1", "/api/songcommons/lookup", "", `{"songs":[`, 200*time.Millisecond, slowClient),
		startSlow(srv.URL, "lookup 2", "/api/songcommons/lookup", "", `{"songs":[`, 200*time.Millisecond, slowClient),
		startSlow(srv.URL, "search", "/api/songcommons/similar", "", `{"vector":[`, 200*time.Millisecond, slowClient),
	)
	time.Sleep(300 * time.Millisecond) // every slow request is in, sending its body

	// M = 2 honest clients, three rounds each of every heavy request
	type failure struct {
		what string
		a    answer
	}
	var mu sync.Mutex
	var failures []failure
	var wg sync.WaitGroup
	for c, tok := range []string{alice, bob} {
		wg.Go(func() {
			for round := range 3 {
				artist := fmt.Sprintf("Honest %d-%d", c, round)
				for _, r := range []struct {
					what, path string
					body       any
				}{
					{"upload", "/api/songcommons/contribute", map[string]any{"songs": songsOf(artist, 5)}},
					{"batch", "/api/batch", batchRequests(audioMuseLibrary(2))},
					{"lookup", "/api/songcommons/lookup", map[string]any{"songs": []any{map[string]any{"artist": "Daft Punk", "title": "One More Time"}}}},
					{"search", "/api/songcommons/similar", map[string]any{"vector": testVector(200, 1), "k": 3}},
				} {
					a := postJSON(srv, r.path, tok, r.body)
					if a.err != nil || a.code != 200 {
						mu.Lock()
						failures = append(failures, failure{r.what, a})
						mu.Unlock()
					}
				}
				a := send(context.Background(), srv, http.MethodGet, "/api/songcommons/similar?song="+url.QueryEscape("daft punk|one more time")+"&k=3", "", nil)
				if a.err != nil || a.code != 200 {
					mu.Lock()
					failures = append(failures, failure{"GET similar", a})
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for _, f := range failures {
		t.Errorf("honest %s while slow clients send: %d %v %v, want 200", f.what, f.a.code, f.a.body, f.a.err)
	}

	for _, s := range slow {
		a := wait(t, s.name, s.done)
		close(s.stop)
		msg, _ := a.body["message"].(string)
		switch {
		case a.err != nil:
			t.Errorf("slow %s: %v", s.name, a.err)
		case a.code == http.StatusUnauthorized && strings.HasPrefix(s.name, "guest") && msg != "":
		case a.code == http.StatusRequestTimeout && strings.HasPrefix(msg, hooks.SlowBodyMessage):
		default:
			t.Errorf("slow %s: %d %v, want 408 (or 401 for a guest upload)", s.name, a.code, a.body)
		}
	}
	if n := countArtist(t, app, "score", "Honest 0-0"); n != 5 {
		t.Errorf("%d rows of an honest upload, want 5", n)
	}
}

// TestSlotsPerClient: one client address (an IPv4 address, an IPv6 /64)
// holds at most SlotsPerClient slots of a gate; its next request is
// refused with 429 naming the reason, while another address is admitted.
func TestSlotsPerClient(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(c *config.Config) {
		c.MaxPendingUploads, c.SlotsPerClient, c.UploadWait = 8, 2, 300*time.Millisecond
	})
	defer app.Cleanup()
	// the test stands in for a proxy that names the client
	app.Settings().TrustedProxy.Headers = []string{"X-Forwarded-For"}
	h := holdSlots(app)
	srv := serve(t, app)
	alice := tokenFor(t, aliceID)
	upload := func(artist string) map[string]any { return map[string]any{"songs": songsOf(artist, 2)} }

	var held []<-chan answer
	for i, ip := range []string{"203.0.113.5", "203.0.113.5", "2001:db8:1:2::a", "2001:db8:1:2:ffff::1"} {
		held = append(held, h.hold(t, srv, fmt.Sprint("held ", i), "/api/songcommons/contribute", alice, upload(fmt.Sprint("Held ", i)), "X-Forwarded-For", ip))
	}
	for _, c := range []struct {
		ip   string
		code int
	}{
		{"203.0.113.5", 429},          // its two slots are held
		{"2001:db8:1:2:abcd::9", 429}, // the same /64
		{"203.0.113.6", 200},
		{"2001:db8:1:3::a", 200},
	} {
		a := send(context.Background(), srv, http.MethodPost, "/api/songcommons/contribute", alice,
			strings.NewReader(jsonString(upload("Other "+c.ip))), "X-Forwarded-For", c.ip)
		if a.code != c.code {
			t.Errorf("upload from %s: %d %v, want %d", c.ip, a.code, a.body, c.code)
		}
		if msg, _ := a.body["message"].(string); c.code == 429 && (!strings.HasPrefix(msg, hooks.ClientBusyMessage) || a.header.Get("Retry-After") == "") {
			t.Errorf("upload from %s: %q, Retry-After %q", c.ip, msg, a.header.Get("Retry-After"))
		}
	}
	close(h.release)
	for i, d := range held {
		if a := wait(t, "held upload", d); a.code != 200 {
			t.Errorf("held upload %d: %d %v", i, a.code, a.body)
		}
	}
}

func TestClientKey(t *testing.T) {
	t.Parallel()
	for i, c := range []struct{ ip, want string }{
		{"203.0.113.5", "203.0.113.5"},
		{"::ffff:203.0.113.5", "203.0.113.5"},
		{"2001:db8:1:2::a", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"not an address", "not an address"},
	} {
		t.Run(fmt.Sprintf("%d_%s", i, c.ip), func(t *testing.T) {
			if got := hooks.ClientKey(c.ip); got != c.want {
				t.Errorf("ClientKey(%q) = %q, want %q", c.ip, got, c.want)
			}
		})
	}
}

// routeGuard is a middleware of a route, as the router holds it.
type routeGuard struct {
	id       string
	priority int
}

// routeGuards builds the app's router as serving it does and walks its
// tree (groups and routes, as BuildMux does): each route's middlewares,
// its groups' included, in the order they run.
func routeGuards(t testing.TB, app core.App) map[string][]routeGuard {
	t.Helper()
	router, err := apis.NewRouter(app)
	if err != nil {
		t.Fatal(err)
	}
	r := &core.ServeEvent{App: app, Router: router}
	if err := app.OnServe().Trigger(r, func(*core.ServeEvent) error { return nil }); err != nil {
		t.Fatal(err)
	}
	out := map[string][]routeGuard{}
	var walk func(g reflect.Value, prefix string, inherited []routeGuard)
	mws := func(v reflect.Value) []routeGuard {
		var gs []routeGuard
		m := v.FieldByName("Middlewares")
		for i := range m.Len() {
			h := m.Index(i).Elem()
			gs = append(gs, routeGuard{h.FieldByName("Id").String(), int(h.FieldByName("Priority").Int())})
		}
		return gs
	}
	// without the middlewares a group or route unbinds (by id) from those
	// it inherits
	without := func(gs []routeGuard, v reflect.Value) []routeGuard {
		ex := v.FieldByName("excludedMiddlewares")
		return slices.DeleteFunc(slices.Clone(gs), func(g routeGuard) bool {
			return ex.Len() > 0 && ex.MapIndex(reflect.ValueOf(g.id)).IsValid()
		})
	}
	walk = func(g reflect.Value, prefix string, inherited []routeGuard) {
		prefix += g.FieldByName("Prefix").String()
		inherited = append(without(inherited, g), mws(g)...)
		children := g.FieldByName("children")
		for i := range children.Len() {
			c := children.Index(i).Elem().Elem()
			if strings.HasPrefix(c.Type().Name(), "RouterGroup[") {
				walk(c, prefix, inherited)
				continue
			}
			pattern := strings.TrimSpace(c.FieldByName("Method").String() + " " + prefix + c.FieldByName("Path").String())
			gs := append(without(inherited, c), mws(c)...)
			slices.SortStableFunc(gs, func(a, b routeGuard) int { return a.priority - b.priority })
			out[pattern] = gs
		}
	}
	walk(reflect.ValueOf(r.Router.RouterGroup).Elem(), "", nil)
	return out
}

// TestHeavyRoutesCarryGuards enumerates the router's routes: each heavy
// route carries, in this order, its check of who asks, its body read and
// its admission; no other route takes an admission slot; and every route
// reads bodies under the deadline.
func TestHeavyRoutesCarryGuards(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	routes := routeGuards(t, app)
	heavy := map[string][]string{
		"POST /api/songcommons/lookup":     {"songcommonsReadGuard", "songcommonsBody", "songcommonsReadAdmission"},
		"GET /api/songcommons/similar":     {"songcommonsReadGuard", "songcommonsReadAdmission"},
		"POST /api/songcommons/similar":    {"songcommonsReadGuard", "songcommonsBody", "songcommonsReadAdmission"},
		"GET /api/songcommons/search":      {"songcommonsReadGuard", "songcommonsSearchAdmission"},
		"POST /api/songcommons/contribute": {"songcommonsSignedIn", "songcommonsBody", "songcommonsUploadAdmission"},
		"GET /api/songcommons/export":      {"songcommonsReadGuard", "songcommonsExportAdmission"},
	}
	admissions := []string{"songcommonsReadAdmission", "songcommonsSearchAdmission", "songcommonsUploadAdmission", "songcommonsExportAdmission"}
	for pattern, want := range heavy {
		gs, ok := routes[pattern]
		if !ok {
			t.Errorf("no route %s", pattern)
			continue
		}
		var got []string
		for _, g := range gs {
			if slices.Contains(want, g.id) {
				got = append(got, g.id)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s carries %v (in the order they run), want %v", pattern, got, want)
		}
	}
	for pattern, gs := range routes {
		ids := make([]string, len(gs))
		for i, g := range gs {
			ids[i] = g.id
		}
		if !slices.Contains(ids, "songcommonsBodyDeadline") {
			t.Errorf("%s reads its body without the deadline", pattern)
		}
		if _, ok := heavy[pattern]; !ok && slices.ContainsFunc(ids, func(id string) bool { return slices.Contains(admissions, id) }) {
			t.Errorf("%s takes an admission slot but is not listed as heavy", pattern)
		}
	}
	if len(routes) < 50 {
		t.Errorf("only %d routes found: the walk missed some", len(routes))
	}
}
