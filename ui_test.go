package main

// Browser tests of the web UI (pb_public): Debian's headless Chromium,
// driven with chromedp, against a test server with seeded data and a fake
// GitHub. Every request of every page is recorded and must stay on the test
// server's origin; the one expected exception is the sign-in navigation to
// the (fake) GitHub authorize page.
//
// Without Chromium the tests skip with a loud message, and fail under
// CI=true (.ci/run installs Chromium). Screenshots of every page, at
// desktop and phone width, go to out/screenshots (or $SONGCOMMONS_SCREENSHOTS).

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"

	"songcommons/config"
	"songcommons/contribute"
	"songcommons/internal/testsupport"
	"songcommons/songdata"
)

// ---- Chromium ----

// chromiumPath finds Debian's Chromium, or skips (fails under CI=true).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("SONGCOMMONS_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	msg := "Chromium was not found at /usr/bin/chromium, so the browser tests of the web UI did not run. " +
		"Install it with: apt-get update && apt-get install -y chromium (.ci/run does this)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	banner := strings.Repeat("!", 78)
	fmt.Fprintf(os.Stderr, "\n%s\n!!! SKIPPED: %s\n%s\n\n", banner, msg, banner)
	t.Skip("SKIPPED (no Chromium): " + msg)
	return ""
}

// newBrowser starts headless Chromium with the flags that work on this
// machine's closed network, and returns its root context.
func newBrowser(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		t.Fatalf("starting Chromium: %v", err)
	}
	return bctx
}

// ---- request recording ----

type seenRequest struct {
	url, typ string
}

// netLog records every request a tab makes, and the JavaScript errors
// its pages throw.
type netLog struct {
	mu         sync.Mutex
	reqs       []seenRequest
	exceptions []string
}

func (n *netLog) listen(t *testing.T, ctx context.Context) {
	t.Helper()
	err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			n.mu.Lock()
			n.reqs = append(n.reqs, seenRequest{e.Request.URL, string(e.Type)})
			n.mu.Unlock()
		case *network.EventWebSocketCreated:
			n.mu.Lock()
			n.reqs = append(n.reqs, seenRequest{e.URL, "WebSocket"})
			n.mu.Unlock()
		case *runtime.EventExceptionThrown:
			d := e.ExceptionDetails
			if d == nil {
				return
			}
			msg := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				msg += " " + d.Exception.Description
			}
			n.mu.Lock()
			n.exceptions = append(n.exceptions, fmt.Sprintf("%s:%d %s", d.URL, d.LineNumber+1, msg))
			n.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// noExceptions fails for every uncaught JavaScript error seen.
func (n *netLog) noExceptions(t *testing.T) {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, e := range n.exceptions {
		t.Errorf("uncaught JavaScript error: %s", e)
	}
}

func (n *netLog) all() []seenRequest {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]seenRequest(nil), n.reqs...)
}

// checkOrigin fails for every request whose host is not origin's, except
// those allow accepts; it returns the allowed ones.
func (n *netLog) checkOrigin(t *testing.T, origin string, allow func(u *url.URL, typ string) bool) []seenRequest {
	t.Helper()
	o, err := url.Parse(origin)
	if err != nil {
		t.Fatal(err)
	}
	var allowed []seenRequest
	for _, r := range n.all() {
		u, err := url.Parse(r.url)
		if err != nil {
			t.Errorf("request to an unreadable URL %q", r.url)
			continue
		}
		switch u.Scheme {
		case "data", "blob", "about":
			continue // in-page content, not a request to a host
		}
		if (u.Scheme == "http" || u.Scheme == "https") && u.Host == o.Host {
			continue
		}
		if allow != nil && allow(u, r.typ) {
			allowed = append(allowed, r)
			continue
		}
		t.Errorf("a page requested another origin: %s %s", r.typ, r.url)
	}
	return allowed
}

// ---- test server ----

// newUIServer builds the app as main.go does (the embedded pb_public; no
// seeded accounts) and serves it on 127.0.0.1.
func newUIServer(t *testing.T, edits ...func(*config.Config)) (*tests.TestApp, *httptest.Server) {
	t.Helper()
	app := newUIApp(t, edits...)
	return app, testsupport.Serve(t, app)
}

// newUIApp is newUIServer's app, not served yet.
func newUIApp(t *testing.T, edits ...func(*config.Config)) *tests.TestApp {
	t.Helper()
	ui, err := fs.Sub(public, "pb_public")
	if err != nil {
		t.Fatal(err)
	}
	app := testsupport.NewAppWith(t, testsupport.Options{Config: edits, UI: ui, NoAccounts: true})
	t.Cleanup(app.Cleanup)
	return app
}

// seedCatalog saves contributions through the app (hooks compute the song
// keys, the songs table and the similarity index).
func seedCatalog(t *testing.T, app core.App) {
	t.Helper()
	score, err := app.FindCollectionByNameOrId("score")
	if err != nil {
		t.Fatal(err)
	}
	emb, err := app.FindCollectionByNameOrId("embedding")
	if err != nil {
		t.Fatal(err)
	}
	save := func(c *core.Collection, data map[string]any) {
		r := core.NewRecord(c)
		r.Load(data)
		if err := app.Save(r); err != nil {
			t.Fatalf("seed %v: %v", data["title"], err)
		}
	}
	base := testsupport.Vector(200, 1)
	baseClap := testsupport.Vector(512, 2)
	for i, tp := range []float64{122.9, 61.5, 123.1} {
		row := map[string]any{"artist": "Daft Punk", "title": "One More Time", "tempo": tp, "key": "F#", "scale": "minor",
			"mood_vector": "house:0.8,electronic:0.6,dance:0.5", "energy": 0.61, "other_features": "danceable:0.93,happy:0.4,party:0.35",
			"album": "Discovery", "duration": 320.4, "mbid": "5b11f4ce-a62d-471e-81fc-a69a8278c7da"}
		if i == 0 { // one analysis came with the audio's fingerprint (a real one, of a 318 s track)
			row["fingerprint"] = printOf(t, "battle").Fingerprint
		}
		save(score, row)
	}
	save(emb, map[string]any{"artist": "Daft Punk", "title": "One More Time", "embedding": base})
	save(emb, map[string]any{"artist": "Daft Punk", "title": "One More Time", "model": "clap", "embedding": baseClap})
	save(score, map[string]any{"artist": "Daft Punk", "title": "Digital Love", "tempo": 125, "key": "A", "scale": "major",
		"mood_vector": "electronic:0.7,pop:0.5", "energy": 0.5})
	save(score, map[string]any{"artist": "Daft Punk", "title": "Around the World", "tempo": 121.3, "key": "G", "scale": "minor",
		"mood_vector": "house:0.75,electronic:0.7", "energy": 0.55})
	save(score, map[string]any{"artist": "Beyoncé feat. JAY-Z", "title": "Crazy in Love", "tempo": 99, "key": "D", "scale": "minor",
		"mood_vector": "rnb:0.8,pop:0.6,dance:0.4", "energy": 0.7, "isrc": "USSM10303360"})

	artists := []string{"Aurora Lane", "The Velvet Hours", "Kinetic Bloom", "Mira Solace", "Northbound Echo", "Paper Satellites",
		"Lumen Drive", "Cobalt Fields", "The Quiet Engines", "Saffron Tide", "Glass Harbor", "Night Orchard"}
	titles := []string{"Slow Light", "Paper Moons", "Undertow", "Signal Fire", "Static Bloom", "Harbour Lights", "Afterglow", "Low Tide"}
	keys := []string{"C", "G", "D", "A", "E", "B", "F#", "C#", "G#", "D#", "A#", "F"}
	moods := []string{"rock", "pop", "electronic", "indie", "ambient", "jazz", "chillout", "folk", "hip-hop", "soul"}
	for i := range 32 {
		artist := artists[i%len(artists)]
		title := titles[(i*5+i/len(artists))%len(titles)]
		tempo := 70 + math.Mod(float64(i)*37.3, 105) // 70..175
		mood := moods[(i*i+i/3)%len(moods)]
		second := moods[(i+3)%len(moods)]
		if second == mood {
			second = "dance"
		}
		scale := "major"
		if i%3 == 1 {
			scale = "minor"
		}
		save(score, map[string]any{"artist": artist, "title": title, "tempo": math.Round(tempo*10) / 10,
			"key": keys[(i*7+i/5)%len(keys)], "scale": scale,
			"mood_vector": fmt.Sprintf("%s:0.%d,%s:0.3", mood, 55+i%40, second), "energy": 0.2 + float64(i%7)/10,
			"other_features": fmt.Sprintf("danceable:0.%d,aggressive:0.1%d,relaxed:0.%d", 30+i%60, i%10, 20+i%50)})
		if i < 14 {
			save(emb, map[string]any{"artist": artist, "title": title, "embedding": testsupport.Near(base, float64(10+i), 0.1+float64(i)*0.05)})
		}
		if i < 5 {
			save(emb, map[string]any{"artist": artist, "title": title, "model": "clap", "embedding": testsupport.Near(baseClap, float64(30+i), 0.2+float64(i)*0.1)})
		}
	}
}

// ---- page helpers ----

type page struct {
	t     *testing.T
	ctx   context.Context
	shots string
}

func (p *page) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("browser: %v\n%s", err, p.bodyText())
	}
}

func (p *page) nav(u string) {
	p.t.Helper()
	p.do(chromedp.Navigate(u))
}

// eval runs an expression and decodes its result.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// wait polls a JavaScript condition until it is true (errors while a page
// loads count as false) and fails with the page's text after 15 s.
func (p *page) wait(what, cond string) {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(p.ctx, 3*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf("(() => { try { return !!(%s) } catch (e) { return false } })()", cond)))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("timed out waiting for %s (%s); last error: %v\npage %s:\n%s", what, cond, err, p.location(), p.bodyText())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *page) location() string {
	ctx, cancel := context.WithTimeout(p.ctx, 3*time.Second)
	defer cancel()
	l, _ := chromedp.Run(ctx, chromedp.Location())
	return l
}

func (p *page) bodyText() string {
	ctx, cancel := context.WithTimeout(p.ctx, 3*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
	if err != nil {
		return "(no page text: " + err.Error() + ")"
	}
	if len(s) > 3000 {
		s = s[:3000] + "…"
	}
	return s
}

func (p *page) text(css string) string {
	p.t.Helper()
	b, _ := json.Marshal(css)
	return eval[string](p, fmt.Sprintf(`(document.querySelector(%s) || {}).innerText || ''`, b))
}

// noRawJSON fails when the page shows an API answer as JSON.
func (p *page) noRawJSON() {
	p.t.Helper()
	body := p.bodyText()
	for _, raw := range []string{`{"status"`, `"message":`, `{"code"`, "[object Object]", "undefined", "NaN"} {
		if strings.Contains(body, raw) {
			p.t.Errorf("page %s shows %q:\n%s", p.location(), raw, body)
		}
	}
}

// shot saves full-page screenshots at desktop and phone width.
func (p *page) shot(name string) {
	p.t.Helper()
	if p.shots == "" {
		return
	}
	save := func(file string) {
		ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
		defer cancel()
		// two frames, so that the layout of the new viewport is painted
		_, _ = chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))`, chromedp.EvalAwaitPromise))
		buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			p.t.Fatalf("screenshot %s: %v", file, err)
		}
		if err := os.WriteFile(filepath.Join(p.shots, file), buf, 0o644); err != nil {
			p.t.Fatal(err)
		}
	}
	save(name + "-desktop.png")
	p.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	// nothing is wider than a phone's screen
	if wide := eval[string](p, `(() => { const w = document.documentElement.clientWidth; const r = [];
		for (const e of document.querySelectorAll('body *')) { const b = e.getBoundingClientRect();
		  if (b.right > w + 1 && !e.closest('pre, .table-wrap')) r.push(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : '')); }
		return document.documentElement.scrollWidth > w ? 'page is ' + document.documentElement.scrollWidth + 'px wide: ' + r.slice(0, 5).join(', ') : ''; })()`); wide != "" {
		p.t.Errorf("%s at phone width: %s", name, wide)
	}
	save(name + "-phone.png")
	p.do(chromedp.EmulateViewport(1280, 900))
}

// waitFile waits for a finished JSON download named like pattern.
func waitFile(t *testing.T, dir, pattern string) string {
	t.Helper()
	return waitDownload(t, dir, pattern, json.Valid)
}

// waitDownload waits for a finished download named like pattern whose
// content passes ok.
func waitDownload(t *testing.T, dir, pattern string, ok func([]byte) bool) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		matches, _ := filepath.Glob(filepath.Join(dir, pattern))
		for _, m := range matches {
			if !strings.HasSuffix(m, ".crdownload") {
				if b, err := os.ReadFile(m); err == nil && len(b) > 0 && ok(b) {
					return m
				}
			}
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Fatalf("no download %s in %s (has %v)", pattern, dir, names)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func screenshotDir(t *testing.T) string {
	dir := os.Getenv("SONGCOMMONS_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("out", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("no screenshots: %v", err)
		return ""
	}
	return dir
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// ---- the tests ----

// TestUI drives every page in a real browser against one seeded server
// with a fake GitHub.
func TestUI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 110*time.Second)
	defer cancel()
	bctx := newBrowser(t, ctx)

	gh := testsupport.NewFakeGitHub(t, 583231)
	app, srv := newUIServer(t, gh.Configure)
	seedCatalog(t, app)
	downloads := t.TempDir()
	keepDir := t.TempDir() // files that outlive one subtest
	shots := screenshotDir(t)

	tab, cancelTab := chromedp.NewContext(bctx)
	defer cancelTab()
	net := &netLog{}
	if err := chromedp.Do(tab); err != nil {
		t.Fatal(err)
	}
	net.listen(t, tab)
	if _, err := chromedp.CallBrowser(tab, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads}); err != nil {
		t.Fatalf("download behaviour: %v", err)
	}
	p := &page{t: t, ctx: tab, shots: shots}
	songs := testsupport.CountRows(t, app, "songs")

	var exportPath string
	t.Run("home shows counts and charts", func(t *testing.T) {
		p.t = t
		p.nav(srv.URL + "/")
		p.wait("the song count", fmt.Sprintf(`document.querySelector('#count-songs .value')?.textContent === %s`, jsString(fmt.Sprint(songs))))
		p.wait("the contribution count", fmt.Sprintf(`document.querySelector('#count-contributions .value')?.textContent === %s`, jsString(fmt.Sprint(testsupport.CountRows(t, app, "score")))))
		p.wait("the musicnn count", `document.querySelector('#count-emb-musicnn .value')?.textContent === '15'`)
		p.wait("the tempo histogram", `document.querySelectorAll('#chart-tempo svg rect.bar').length >= 10`)
		p.wait("the circle of fifths", `document.querySelectorAll('#chart-keys svg path.fifths-seg').length === 24`)
		p.wait("the mood bars", `document.querySelectorAll('#chart-moods .bars li').length >= 5`)
		if got := p.text("#stats-note"); !strings.Contains(got, fmt.Sprintf("all %d songs", songs)) {
			t.Errorf("stats note %q", got)
		}
		if got := p.text("#ex-lookup"); !strings.Contains(got, srv.URL+"/api/songcommons/lookup") {
			t.Errorf("the lookup example does not name this server: %q", got)
		}
		// keyboard: the first Tab reaches the skip link, and it is visible then
		p.do(chromedp.KeyEvent("\t"))
		if cls := eval[string](p, `document.activeElement.className`); cls != "skip" {
			t.Errorf("first Tab focuses %q, want the skip link", cls)
		}
		p.noRawJSON()
		p.do(chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`))
		p.shot("01-home")

		// the dataset download, kept for the contribute test
		p.do(chromedp.Click(chromedp.CSS("#dl-jsonl")))
		exportPath = waitDownload(t, downloads, "songcommons-*.jsonl.gz", func(b []byte) bool {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return false
			}
			_, err = io.ReadAll(zr)
			return err == nil
		})
		kept := filepath.Join(keepDir, filepath.Base(exportPath))
		if err := os.Rename(exportPath, kept); err != nil {
			t.Fatal(err)
		}
		exportPath = kept
	})

	t.Run("search finds a seeded song and opens it", func(t *testing.T) {
		p.t = t
		p.nav(srv.URL + "/search.html")
		p.wait("browsing every song", fmt.Sprintf(`document.querySelector('#result-count').textContent.startsWith('%d songs')`, songs))
		p.wait("a pager", `!document.querySelector('#pager').hidden && document.querySelectorAll('#results li').length === 20`)
		p.do(chromedp.Click(chromedp.CSS("#next")))
		p.wait("page 2", `document.querySelector('#page-info').textContent === 'Page 2 of 2' && document.querySelector('#next').disabled`)
		p.shot("02-browse")
		before := len(net.all())
		p.do(chromedp.SendKeys(chromedp.CSS("#q"), "one more"))
		p.wait("one result", `document.querySelectorAll('#results li').length === 1 && document.querySelector('#results li .title').textContent === 'One More Time'`)
		if loc := p.location(); !strings.Contains(loc, "q=one+more") && !strings.Contains(loc, "q=one%20more") {
			t.Errorf("the search is not in the address: %s", loc)
		}
		p.noRawJSON()
		p.shot("02-search")
		// typing asks the search route, never the record API with a filter
		searched := false
		for _, r := range net.all()[before:] {
			if strings.Contains(r.url, "/api/songcommons/search?") && strings.Contains(r.url, "q=one") {
				searched = true
			}
			if strings.Contains(r.url, "/api/collections/songs/records") && strings.Contains(r.url, "filter=") {
				t.Errorf("the search page scanned the songs through the record API: %s", r.url)
			}
		}
		if !searched {
			t.Error("typing did not ask /api/songcommons/search")
		}
		// more than a page of matches (added for this step, and deleted
		// after it, so the other steps see the seeded catalog): ranked pages
		// with the route's total
		score, err := app.FindCollectionByNameOrId("score")
		if err != nil {
			t.Fatal(err)
		}
		var extra []*core.Record
		for i := range 25 {
			r := core.NewRecord(score)
			r.Load(map[string]any{"artist": "Pager Test", "title": fmt.Sprintf("Page Filler %02d", i), "tempo": 100, "key": "C", "scale": "major"})
			if err := app.Save(r); err != nil {
				t.Fatal(err)
			}
			extra = append(extra, r)
		}
		p.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('#q').value = ''`), chromedp.SendKeys(chromedp.CSS("#q"), "pager fill"))
		p.wait("the total and a pager", `document.querySelector('#result-count').textContent.startsWith('25 songs match “pager fill”') && !document.querySelector('#pager').hidden && document.querySelectorAll('#results li').length === 20`)
		p.do(chromedp.Click(chromedp.CSS("#next")))
		p.wait("page 2 of the search", `document.querySelector('#page-info').textContent === 'Page 2 of 2' && document.querySelector('#next').disabled && document.querySelectorAll('#results li').length === 5`)
		if loc := p.location(); !strings.Contains(loc, "q=pager+fill") || !strings.Contains(loc, "page=2") {
			t.Errorf("the search page is not in the address: %s", loc)
		}
		for _, r := range extra {
			if err := app.Delete(r); err != nil {
				t.Fatal(err)
			}
		}
		p.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('#q').value = ''`), chromedp.SendKeys(chromedp.CSS("#q"), "pager"))
		p.wait("the deleted songs gone", `document.querySelector('#result-count').textContent.startsWith('No song matches “pager”')`)
		// accents: "beyonce" finds "Beyoncé"
		p.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('#q').value = ''`), chromedp.SendKeys(chromedp.CSS("#q"), "beyonce"))
		p.wait("the accent-free match", `document.querySelector('#results li .artist')?.textContent.includes('Beyoncé')`)
		p.do(chromedp.Evaluate[chromedp.Void](`document.querySelector('#q').value = ''`), chromedp.SendKeys(chromedp.CSS("#q"), "one more"))
		p.wait("one result again", `document.querySelector('#results li .title')?.textContent === 'One More Time'`)
		p.do(chromedp.Click(chromedp.CSS("#results li a")))
		p.wait("the song page", `location.pathname === '/song.html' && document.querySelector('#song-title').textContent === 'One More Time'`)
	})

	t.Run("song page shows consensus and similar songs", func(t *testing.T) {
		p.t = t
		if loc := p.location(); !strings.Contains(loc, "key=daft%20punk%7Cone%20more%20time") {
			t.Errorf("song address %s", loc)
		}
		p.wait("the facts", `document.querySelectorAll('.facts-grid .fact').length === 5`)
		facts := p.text(".facts-grid")
		for _, want := range []string{"123", "BPM", "F♯ minor", "Contributions\n3", "of the analyses agree",
			"Identified by\nits audio", "1 contribution carried an audio fingerprint"} {
			if !strings.Contains(facts, want) {
				t.Errorf("facts lack %q:\n%s", want, facts)
			}
		}
		p.wait("mood bars", `document.querySelectorAll('#song-body .bars li').length >= 5`)
		p.wait("musicnn neighbours", `document.querySelectorAll('[data-model="musicnn"] ol.similar li a').length === 10`)
		p.wait("clap neighbours", `document.querySelectorAll('[data-model="clap"] ol.similar li a').length === 5`)
		first := eval[string](p, `document.querySelector('[data-model="musicnn"] ol.similar li a').getAttribute('href')`)
		if !strings.HasPrefix(first, "song.html?key=") {
			t.Errorf("similar link %q", first)
		}
		score := p.text(`[data-model="musicnn"] ol.similar li .score`)
		if score == "" || !strings.HasPrefix(score, "0.") && score != "1" {
			t.Errorf("similar score %q", score)
		}
		p.noRawJSON()
		p.shot("03-song")
		p.do(chromedp.Click(chromedp.CSS(`[data-model="musicnn"] ol.similar li a`)))
		p.wait("the neighbour's page", `location.pathname === '/song.html' && document.querySelector('#song-title').textContent !== 'One More Time' && document.querySelectorAll('[data-model="musicnn"] ol.similar li a').length > 0`)
		if got := p.text("#song-identity"); !strings.Contains(got, "no contribution carried an audio fingerprint") {
			t.Errorf("a song without fingerprints says %q", got)
		}
	})

	t.Run("errors are shown in words", func(t *testing.T) {
		p.t = t
		p.nav(srv.URL + "/song.html?key=" + url.QueryEscape("nobody|nothing"))
		p.wait("not found", `!document.querySelector('#song-error').hidden && document.querySelector('#song-error').textContent.includes('No song with this key')`)
		if got := p.text("#song-title"); got != "Song not found" {
			t.Errorf("title %q", got)
		}
		p.noRawJSON()
		// a 400 of the API, with its field message
		bad := filepath.Join(t.TempDir(), "bad-receipt.json")
		secret := strings.Repeat("x", 300)
		_ = os.WriteFile(bad, []byte(`{"scheme":"songcommons-receipt-v1","secret":"`+secret+`","rows":[{"collection":"score","id":"abc"}]}`), 0o644)
		p.nav(srv.URL + "/mydata.html")
		p.wait("the page", `document.body.dataset.ready === 'true'`)
		p.do(chromedp.SetUploadFiles(chromedp.CSS("#receipt-file"), []string{bad}))
		p.wait("the receipt read", `!document.querySelector('#receipt-delete').disabled`)
		p.do(chromedp.Click(chromedp.CSS("#receipt-delete")))
		p.wait("the error", `document.querySelector('#receipt-result .error')?.textContent.toLowerCase().includes('receipt secret must be 16 to 256 characters')`)
		p.noRawJSON()
		p.shot("04-error")
	})

	var receiptPath string
	t.Run("contribute: sign in, consent, check, upload, receipt", func(t *testing.T) {
		p.t = t
		scoresBefore, embBefore := testsupport.CountRows(t, app, "score"), testsupport.CountRows(t, app, "embedding")
		p.nav(srv.URL + "/contribute.html")
		p.wait("the page", `document.body.dataset.ready === 'true' && !document.querySelector('#signed-out').hidden`)
		p.noRawJSON()
		p.shot("05-contribute-signed-out")

		p.do(chromedp.Click(chromedp.CSS("#signin")))
		p.wait("the sign-in", `location.pathname === '/contribute.html' && !location.search.includes('code=') && document.body.dataset.ready === 'true' && !document.querySelector('#signed-in').hidden`)
		if n := gh.AuthorizeHits.Load(); n != 1 {
			t.Fatalf("the GitHub authorize page was opened %d times", n)
		}
		if got, _ := gh.LastRedirect.Load().(string); got != srv.URL+"/contribute.html" {
			t.Errorf("redirect_uri = %q", got)
		}
		if got := testsupport.CountRows(t, app, "users"); got != 1 {
			t.Fatalf("%d accounts after the sign-in", got)
		}
		p.wait("the consent form", `!document.querySelector('#consent-form').hidden`)
		p.do(chromedp.Click(chromedp.CSS("#consent-check")), chromedp.Click(chromedp.CSS("#consent-btn")))
		p.wait("the consent", `!document.querySelector('#consent-done').hidden`)
		if got := p.text("#consent-done"); !strings.Contains(got, "version 1") {
			t.Errorf("consent text %q", got)
		}

		vec, _ := json.Marshal(testsupport.Vector(200, 99))
		file := filepath.Join(t.TempDir(), "my-library.jsonl")
		lines := []string{
			`{"artist":"Test Upload","title":"First Song","tempo":128,"key":"Db","scale":"major","mood_vector":"dance:0.7,pop:0.4","energy":0.5}`,
			`{"artist":"Test Upload","title":"Broken Song","tempo":900,"key":"A","scale":"minor"}`,
			`{"artist":"Test Upload","title":"Third Song","tempo":90,"key":"A","scale":"minor","embeddings":{"musicnn":` + string(vec) + `}}`,
		}
		if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		p.do(chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{file}))
		p.wait("the row error", `document.querySelector('.row-errors')?.textContent.includes('tempo must be greater than 0 and at most 400')`)
		errs := p.text(".row-errors")
		if !strings.Contains(errs, "line 2") || !strings.Contains(errs, "Broken Song") || strings.Contains(errs, "First Song") {
			t.Errorf("row errors:\n%s", errs)
		}
		if got := p.text("#upload-btn"); !strings.Contains(got, "Upload the 2 valid songs") {
			t.Errorf("upload button %q", got)
		}
		if testsupport.CountRows(t, app, "score") != scoresBefore {
			t.Fatal("something was stored before the upload")
		}
		p.noRawJSON()
		p.shot("06-contribute-checked")

		p.do(chromedp.Click(chromedp.CSS("#upload-btn")))
		p.wait("the receipt", `document.querySelector('#receipt-again') !== null`)
		if got := p.text("#progress-text"); !strings.Contains(got, "2 of 2 songs sent") {
			t.Errorf("progress %q", got)
		}
		receiptPath = waitFile(t, downloads, "songcommons-receipt-*.json")
		var receipt struct {
			Scheme, Secret, Created string
			Rows                    []struct{ Collection, ID string }
		}
		b, _ := os.ReadFile(receiptPath)
		if err := json.Unmarshal(b, &receipt); err != nil {
			t.Fatal(err)
		}
		if receipt.Scheme != "songcommons-receipt-v1" || len(receipt.Secret) != 64 || len(receipt.Rows) != 3 || receipt.Created != time.Now().UTC().Format("2006-01-02") {
			t.Errorf("receipt: %s", b)
		}
		if got := testsupport.CountRows(t, app, "score"); got != scoresBefore+2 {
			t.Errorf("score rows %d, want %d", got, scoresBefore+2)
		}
		if got := testsupport.CountRows(t, app, "embedding"); got != embBefore+1 {
			t.Errorf("embedding rows %d, want %d", got, embBefore+1)
		}
		p.noRawJSON()
		p.shot("07-contribute-done")

		// keep this receipt apart, for the next test
		kept := filepath.Join(keepDir, filepath.Base(receiptPath))
		if err := os.Rename(receiptPath, kept); err != nil {
			t.Fatal(err)
		}
		receiptPath = kept

		// a large CSV goes up in requests of 500 songs, with one receipt
		var csv strings.Builder
		csv.WriteString("artist,title,tempo,key,scale,mood_vector,energy\n")
		for i := range 1100 {
			fmt.Fprintf(&csv, "Bulk Artist %d,\"Bulk, Song %d\",%d,%s,minor,\"rock:0.5,pop:0.25\",0.5\n", i%37, i, 60+i%140, []string{"C", "Eb", "G#"}[i%3])
		}
		big := filepath.Join(t.TempDir(), "big-library.csv")
		if err := os.WriteFile(big, []byte(csv.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		scoresBefore = testsupport.CountRows(t, app, "score")
		p.do(chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{big}))
		p.wait("the big file read", `document.querySelector('#upload-btn').textContent === 'Upload 1,100 songs' && !document.querySelector('#upload-btn').disabled`)
		p.do(chromedp.Click(chromedp.CSS("#upload-btn")))
		p.wait("the three requests", `document.querySelector('#progress-text').textContent.includes('1,100 of 1,100 songs sent (request 3 of 3)') && document.querySelector('#receipt-again') !== null`)
		if got := eval[float64](p, `document.querySelector('#progress').value`); got != 1100 {
			t.Errorf("progress bar at %v", got)
		}
		bigReceipt := waitFile(t, downloads, "songcommons-receipt-*.json")
		var r2 struct {
			Secret string
			Rows   []struct{ Collection, ID string }
		}
		b, _ = os.ReadFile(bigReceipt)
		if err := json.Unmarshal(b, &r2); err != nil || len(r2.Rows) != 1100 || r2.Secret == receipt.Secret {
			t.Errorf("big receipt: %d rows, err %v", len(r2.Rows), err)
		}
		if got := testsupport.CountRows(t, app, "score"); got != scoresBefore+1100 {
			t.Errorf("score rows %d, want %d", got, scoresBefore+1100)
		}
		if err := os.Remove(bigReceipt); err != nil {
			t.Fatal(err)
		}

		// the dataset's own export (JSONL, gzip) reads back without a problem
		if exportPath == "" {
			t.Fatal("no export: the home test failed")
		}
		exported := 38 + 21 // the seeded score and embedding rows
		p.do(chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{exportPath}))
		p.wait("the export read", fmt.Sprintf(`document.querySelector('#upload-btn').textContent === 'Upload %d songs' && document.querySelector('#file-summary').textContent.includes('(JSONL)')`, exported))
		if got := p.text("#row-errors"); !strings.Contains(got, "Every song in the file passed the checks") {
			t.Errorf("export problems:\n%s", got)
		}
		scoresBefore, embBefore = testsupport.CountRows(t, app, "score"), testsupport.CountRows(t, app, "embedding")
		p.do(chromedp.Click(chromedp.CSS("#upload-btn")))
		p.wait("the export stored", fmt.Sprintf(`document.querySelector('#progress-text').textContent.includes('%d of %d songs sent') && document.querySelector('#receipt-again') !== null`, exported, exported))
		if got, want := testsupport.CountRows(t, app, "score")-scoresBefore, 38; got != want {
			t.Errorf("%d score rows from the export, want %d", got, want)
		}
		if got, want := testsupport.CountRows(t, app, "embedding")-embBefore, 21; got != want {
			t.Errorf("%d embedding rows from the export, want %d", got, want)
		}
		_ = os.Remove(waitFile(t, downloads, "songcommons-receipt-*.json"))
	})

	t.Run("my data: download, delete by receipt, delete account", func(t *testing.T) {
		p.t = t
		if receiptPath == "" {
			t.Skip("no receipt: the contribute test failed")
		}
		scores := testsupport.CountRows(t, app, "score")
		p.nav(srv.URL + "/mydata.html")
		p.wait("the account", `document.body.dataset.ready === 'true' && !document.querySelector('#signed-in').hidden`)
		if got := p.text("#account-facts"); !strings.Contains(got, "583231") || !strings.Contains(got, "version 1") {
			t.Errorf("account facts:\n%s", got)
		}
		p.do(chromedp.Click(chromedp.CSS("#download-me")))
		mine := waitFile(t, downloads, "songcommons-my-data*.json")
		b, _ := os.ReadFile(mine)
		if !strings.Contains(string(b), `"github_id": "583231"`) {
			t.Errorf("my data: %s", b)
		}
		p.noRawJSON()
		p.shot("08-mydata")

		p.do(chromedp.SetUploadFiles(chromedp.CSS("#receipt-file"), []string{receiptPath}))
		p.wait("the receipt summary", `document.querySelector('#receipt-summary').textContent.includes('3 rows')`)
		p.do(chromedp.Click(chromedp.CSS("#receipt-delete")))
		p.wait("the deletion", `document.querySelector('#receipt-result .success')?.textContent.includes('Deleted 3 rows')`)
		if got := testsupport.CountRows(t, app, "score"); got != scores-2 {
			t.Errorf("score rows %d after the deletion, want %d", got, scores-2)
		}

		p.do(chromedp.Click(chromedp.CSS("#delete-me")))
		p.wait("the confirmation", `!document.querySelector('#delete-confirm').hidden`)
		p.do(chromedp.Click(chromedp.CSS("#delete-yes")))
		p.wait("the account deleted", `document.querySelector('#account-msg .success')?.textContent.includes('were deleted') && !document.querySelector('#signed-out').hidden`)
		if got := testsupport.CountRows(t, app, "users"); got != 0 {
			t.Errorf("%d accounts after deleting the account", got)
		}
		p.noRawJSON()

		// signing in from My data goes through the Contribute page (the
		// one callback URL) and comes back here, with a new, empty account
		p.do(chromedp.Click(chromedp.CSS("#signin")))
		p.wait("back on My data, signed in", `location.pathname === '/mydata.html' && document.body.dataset.ready === 'true' && !document.querySelector('#signed-in').hidden`)
		if got := p.text("#account-facts"); !strings.Contains(got, "not yet") {
			t.Errorf("the new account's facts:\n%s", got)
		}
		if got, _ := gh.LastRedirect.Load().(string); got != srv.URL+"/contribute.html" {
			t.Errorf("redirect_uri = %q", got)
		}
		if got := testsupport.CountRows(t, app, "users"); got != 1 {
			t.Errorf("%d accounts after signing in again", got)
		}
	})

	t.Run("API page shows every route of the OpenAPI document", func(t *testing.T) {
		p.t = t
		code, doc := testsupport.Call(t, srv, http.MethodGet, "/api/songcommons/openapi.json", "", nil)
		if code != 200 {
			t.Fatalf("openapi.json: %d", code)
		}
		var ops []string
		for path, methods := range doc["paths"].(map[string]any) {
			for method := range methods.(map[string]any) {
				ops = append(ops, strings.ToUpper(method)+" "+path)
			}
		}
		p.nav(srv.URL + "/")
		p.do(chromedp.Click(chromedp.CSS(`.site-nav a[href="api.html"]`)))
		p.wait("the routes", `document.body.dataset.ready === 'true'`)
		if got := eval[int](p, `document.querySelectorAll('#operations .operation').length`); got != len(ops) {
			t.Errorf("%d routes shown, the document has %d", got, len(ops))
		}
		body := p.bodyText()
		for _, op := range ops {
			if !strings.Contains(body, op) {
				t.Errorf("the API page does not show %s", op)
			}
		}
		for _, want := range []string{"receipt_secret", "Song", "at most 500 items", "Signed in"} {
			if !strings.Contains(body, want) {
				t.Errorf("the API page lacks %q", want)
			}
		}
		p.shot("api")
	})

	t.Run("privacy page shows live settings and takes requests", func(t *testing.T) {
		p.t = t
		p.nav(srv.URL + "/privacy.html")
		p.wait("the settings", `document.querySelector('#settings') !== null`)
		settings := p.text("#settings")
		for _, want := range []string{"72 hours", "shortened", "everyone", "configured", "Privacy policy version\t1"} {
			if !strings.Contains(settings, want) {
				t.Errorf("settings lack %q:\n%s", want, settings)
			}
		}
		body := p.bodyText()
		for _, want := range []string{"public numeric user id", "watching live traffic", "Can see who uploads what, as it happens", "Cannot attribute rows", "the last 72 hours (3 days)"} {
			if !strings.Contains(body, want) {
				t.Errorf("the policy lacks %q", want)
			}
		}
		p.do(chromedp.SendKeys(chromedp.CSS("#req-text"), "Please tell me what you hold about me."),
			chromedp.Click(chromedp.CSS("#req-send")))
		p.wait("the request sent", `document.querySelector('#request-result .success') !== null`)
		if got := testsupport.CountRows(t, app, "privacy_requests"); got != 1 {
			t.Errorf("%d privacy requests stored", got)
		}
		p.noRawJSON()
		p.shot("09-privacy")
	})

	t.Run("no request left the origin, no script error", func(t *testing.T) {
		net.noExceptions(t)
		gho, _ := url.Parse(gh.URL())
		allowed := net.checkOrigin(t, srv.URL, func(u *url.URL, typ string) bool {
			// the one expected navigation: the sign-in page of the (fake) GitHub
			return u.Host == gho.Host && u.Path == "/login/oauth/authorize" && typ == string(network.ResourceTypeDocument)
		})
		if want := int(gh.AuthorizeHits.Load()); len(allowed) != want || want != 2 {
			t.Errorf("%d navigations to GitHub, want exactly the %d sign-ins (2): %v", len(allowed), want, allowed)
		}
		// the log is not empty: the recorder saw the pages' own requests
		seen := map[string]bool{}
		for _, r := range net.all() {
			if u, err := url.Parse(r.url); err == nil {
				seen[u.Path] = true
			}
		}
		for _, want := range []string{"/", "/assets/style.css", "/vendor/pocketbase/pocketbase.es.mjs", "/api/songcommons/status",
			"/api/songcommons/stats", "/api/songcommons/similar", "/api/collections/songs/records", "/api/songcommons/contribute",
			"/api/songcommons/receipts/delete", "/privacy.html"} {
			if !seen[want] {
				t.Errorf("the recorder saw no request to %s", want)
			}
		}
	})

	t.Run("sign-in not configured", func(t *testing.T) {
		_, off := newUIServer(t)
		tab2, cancel2 := chromedp.NewContext(bctx)
		defer cancel2()
		if err := chromedp.Do(tab2); err != nil {
			t.Fatal(err)
		}
		net2 := &netLog{}
		net2.listen(t, tab2)
		p2 := &page{t: t, ctx: tab2, shots: shots}
		p2.nav(off.URL + "/contribute.html")
		p2.wait("the notice", `document.body.dataset.ready === 'true' && !document.querySelector('#signin-off').hidden`)
		if got := p2.text("#signin-off"); !strings.Contains(got, "not configured") {
			t.Errorf("notice %q", got)
		}
		if !eval[bool](p2, `document.querySelector('#signin').disabled && document.querySelector('#upload-btn').disabled`) {
			t.Error("sign-in or upload is enabled while sign-in is off")
		}
		p2.noRawJSON()
		p2.shot("10-contribute-signin-off")
		p2.nav(off.URL + "/")
		p2.wait("empty charts", `document.querySelector('#chart-tempo .chart-empty') !== null && document.querySelector('#count-songs .value')?.textContent === '0'`)
		p2.noRawJSON()
		p2.shot("11-home-empty")
		net2.checkOrigin(t, off.URL, nil)
		net2.noExceptions(t)
	})

	t.Run("search past 10,000 matches shows a capped total", func(t *testing.T) {
		// an operator's import (the write path of "songcommons import") of
		// more songs matching one word than the route counts, then the
		// server starts: the search index is built from the songs table
		app := newUIApp(t)
		const n = 10_050
		songs := make([]map[string]any, n)
		for i := range songs {
			songs[i] = map[string]any{"artist": "Crowd Chorus", "title": fmt.Sprintf("Crowd Song %05d", i), "tempo": 100, "key": "C", "scale": "major"}
		}
		start := time.Now()
		contribs, errs := songdata.CheckSongs(songs, "songs.")
		if errs != nil {
			t.Fatal(errs)
		}
		if _, err := contribute.New(app, nil, nil).Import(contribs); err != nil {
			t.Fatal(err)
		}
		srv3 := testsupport.Serve(t, app)
		t.Logf("%d songs imported and indexed in %s", n, time.Since(start).Round(time.Millisecond))
		tab3, cancel3 := chromedp.NewContext(bctx)
		defer cancel3()
		if err := chromedp.Do(tab3); err != nil {
			t.Fatal(err)
		}
		net3 := &netLog{}
		net3.listen(t, tab3)
		p3 := &page{t: t, ctx: tab3, shots: shots}
		p3.nav(srv3.URL + "/search.html")
		p3.do(chromedp.SendKeys(chromedp.CSS("#q"), "crowd"))
		p3.wait("the capped total", `document.querySelector('#result-count').textContent.startsWith('10,000+ songs match “crowd”') && document.querySelectorAll('#results li').length === 20`)
		p3.wait("the pager as deep as the route goes", `!document.querySelector('#pager').hidden && document.querySelector('#page-info').textContent === 'Page 1 of at least 500'`)
		capped := false
		for _, r := range net3.all() {
			if strings.Contains(r.url, "/api/songcommons/search?") && strings.Contains(r.url, "q=crowd") {
				capped = true
			}
		}
		if !capped {
			t.Error("the page did not ask /api/songcommons/search")
		}
		p3.noRawJSON()
		p3.shot("12-search-capped")
		net3.checkOrigin(t, srv3.URL, nil)
		net3.noExceptions(t)
	})

	if err := ctx.Err(); errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("the browser tests ran out of time")
	}
}

// printOf is the original of a recording of the real-audio corpus.
func printOf(t *testing.T, recording string) testsupport.Print {
	_, variants := testsupport.Recordings(t)
	if len(variants[recording]) == 0 {
		t.Fatalf("no recording %q in the corpus", recording)
	}
	return variants[recording][0]
}
