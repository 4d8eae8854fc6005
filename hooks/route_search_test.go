package hooks_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/tests"

	"songcommons/config"
	"songcommons/hooks"
	"songcommons/songdata"
)

// searchSongs are the songs of the search tests: artist, title, album and
// how many contributions each gets.
var searchSongs = []struct {
	artist, title, album string
	n                    int
}{
	{"The Velvet Harbor", "Northern Lights", "Harbor Nights", 1},
	{"Velvet Underground", "Heroin", "", 3},
	{"Harborline", "Velvetine", "", 5},
	{"Beyoncé feat. JAY-Z", "Crazy in Love", "Dangerously in Love", 1},
	{"Кино", "Группа крови", "", 1},
	{"Μάνος Χατζιδάκις", "Τα παιδιά του Πειραιά", "", 1},
	{"עומר אדם", "תגיד לי", "", 1},
	{"فيروز", "نسم علينا الهوى", "", 1},
	{"東京事変", "群青日和", "教育", 1},
}

func searchApp(t testing.TB) *tests.TestApp {
	app := newTestApp(t)
	score, _ := app.FindCollectionByNameOrId("score")
	for _, s := range searchSongs {
		for range s.n {
			if err := app.Save(newRecord(score, map[string]any{"artist": s.artist, "title": s.title, "album": s.album,
				"tempo": 100, "key": "A", "scale": "minor"})); err != nil {
				t.Fatal(err)
			}
		}
	}
	return app
}

type searchOut struct {
	Query   string `json:"query"`
	Page    int    `json:"page"`
	PerPage int    `json:"perPage"`
	Total   int    `json:"total"`
	Capped  bool   `json:"capped"`
	Results []struct {
		SongKey       string `json:"song_key"`
		Artist        string `json:"artist"`
		Title         string `json:"title"`
		Album         string `json:"album"`
		Contributions int    `json:"contributions"`
		Exact         int    `json:"exact"`
	} `json:"results"`
}

func (o searchOut) artists() []string {
	out := []string{}
	for _, r := range o.Results {
		out = append(out, r.Artist)
	}
	return out
}

// expectArtists checks the artists of the answer's results, in order.
func expectArtists(total int, artists ...string) func(testing.TB, *tests.TestApp, *http.Response) {
	return func(t testing.TB, _ *tests.TestApp, res *http.Response) {
		var out searchOut
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		if got := out.artists(); !slices.Equal(got, artists) || out.Total != total || out.Capped {
			t.Errorf("results %q (total %d, capped %v), want %q (total %d)", got, out.Total, out.Capped, artists, total)
		}
	}
}

func TestSearchRoute(t *testing.T) {
	t.Parallel()
	factory := func(t testing.TB) *tests.TestApp { return searchApp(t) }
	q := func(s string) string { return "/api/songcommons/search?q=" + url.QueryEscape(s) }
	scenarios := []tests.ApiScenario{
		{Name: "guest, one word: whole words first, then by contributions, prefix-only matches last", URL: q("velvet"),
			ExpectedContent: []string{`"query":"velvet"`, `"page":1`, `"perPage":20`, `"capped":false`, `"album":"Harbor Nights"`,
				`"song_key":"` + songdata.SongKey("Velvet Underground", "Heroin") + `"`, `"contributions":3`},
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
				if st := res.Header.Get("Server-Timing"); !regexp.MustCompile(`^index;dur=[0-9.]+, rows;dur=[0-9.]+, total;dur=[0-9.]+$`).MatchString(st) {
					t.Errorf("Server-Timing %q", st)
				}
				expectArtists(3, "Velvet Underground", "The Velvet Harbor", "Harborline")(t, app, res)
			}},
		{Name: "guest, prefixes of two words, in any order", URL: q("har velv"),
			AfterTestFunc: expectArtists(2, "Harborline", "The Velvet Harbor")},
		{Name: "guest, the album is searched", URL: q("nights"),
			AfterTestFunc: expectArtists(1, "The Velvet Harbor")},
		{Name: "guest, case and accents folded", URL: q("BEYONCE"),
			AfterTestFunc: expectArtists(1, "Beyoncé feat. JAY-Z")},
		{Name: "guest, feat./ft. optional", URL: q("crazy love ft. jay-z"),
			AfterTestFunc: expectArtists(1, "Beyoncé feat. JAY-Z")},
		{Name: "guest, Cyrillic word and prefix", URL: q("группа кров"),
			AfterTestFunc: expectArtists(1, "Кино")},
		{Name: "guest, Greek without accents", URL: q("χατζιδακις"),
			AfterTestFunc: expectArtists(1, "Μάνος Χατζιδάκις")},
		{Name: "guest, Hebrew", URL: q("עומר"),
			AfterTestFunc: expectArtists(1, "עומר אדם")},
		{Name: "guest, Arabic", URL: q("فيروز"),
			AfterTestFunc: expectArtists(1, "فيروز")},
		{Name: "guest, CJK inside a run of characters", URL: q("京事"),
			AfterTestFunc: expectArtists(1, "東京事変")},
		{Name: "guest, CJK in the title", URL: q("日和"),
			AfterTestFunc: expectArtists(1, "東京事変")},
		{Name: "guest, no match", URL: q("zzzq"),
			ExpectedContent: []string{`"total":0`, `"results":[]`}},
		{Name: "guest, a word missing from every song matches nothing", URL: q("velvet zzzq"),
			ExpectedContent: []string{`"total":0`, `"results":[]`}},
		{Name: "guest, paging", URL: q("velvet") + "&page=2&perPage=1",
			ExpectedContent: []string{`"page":2`, `"perPage":1`},
			AfterTestFunc:   expectArtists(3, "The Velvet Harbor")},
		{Name: "guest, a page past the end", URL: q("velvet") + "&page=4&perPage=1",
			ExpectedContent: []string{`"total":3`, `"results":[]`}},
		{Name: "guest, empty q → 400", URL: q(" "),
			ExpectedStatus: 400, ExpectedContent: []string{`"q":{"code":"validation_required"`}},
		{Name: "guest, no q → 400", URL: "/api/songcommons/search",
			ExpectedStatus: 400, ExpectedContent: []string{`"q":{"code":"validation_required"`}},
		{Name: "guest, q too long → 400", URL: q(strings.Repeat("a", hooks.MaxSearchQuery+1)),
			ExpectedStatus: 400, ExpectedContent: []string{`"q":{"code":"validation_length_too_long"`}},
		{Name: "guest, perPage 0 → 400", URL: q("velvet") + "&perPage=0",
			ExpectedStatus: 400, ExpectedContent: []string{`"perPage":{"code":"validation_out_of_range"`}},
		{Name: "guest, perPage 101 → 400", URL: q("velvet") + "&perPage=101",
			ExpectedStatus: 400, ExpectedContent: []string{`"perPage":{"code":"validation_out_of_range"`}},
		{Name: "guest, page 0 → 400", URL: q("velvet") + "&page=0",
			ExpectedStatus: 400, ExpectedContent: []string{`"page":{"code":"validation_out_of_range"`}},
		{Name: "guest, page beyond 10,000 results → 400", URL: q("velvet") + "&page=101&perPage=100",
			ExpectedStatus: 400, ExpectedContent: []string{`"page":{"code":"validation_out_of_range"`}},
		{Name: "guest, page not a number → 400", URL: q("velvet") + "&page=two",
			ExpectedStatus: 400, ExpectedContent: []string{`"page":{"code":"validation_not_a_number"`}},
	}
	for _, s := range scenarios {
		s.Method = http.MethodGet
		s.TestAppFactory = factory
		if s.ExpectedStatus == 0 {
			s.ExpectedStatus = 200
		}
		if s.ExpectedStatus == 200 && len(s.ExpectedContent) == 0 {
			s.ExpectedContent = []string{`"results":[`}
		}
		s.Test(t)
	}
}

func TestSearchRouteReaders(t *testing.T) {
	t.Parallel()
	factory := func(t testing.TB) *tests.TestApp {
		app := newTestApp(t, func(c *config.Config) { c.PublicRead = false })
		return app
	}
	for _, s := range []tests.ApiScenario{
		{Name: "guest when reads need an account → 401", URL: "/api/songcommons/search?q=velvet",
			ExpectedStatus: 401, ExpectedContent: []string{`"status":401`}},
		{Name: "regular user when reads need an account → 200", URL: "/api/songcommons/search?q=velvet",
			Headers:        map[string]string{"Authorization": tokenFor(t, aliceID)},
			ExpectedStatus: 200, ExpectedContent: []string{`"results":[]`}},
	} {
		s.Method = http.MethodGet
		s.TestAppFactory = factory
		s.Test(t)
	}
}

// searchFor asks the served app and returns the answer.
func searchFor(t testing.TB, base string, q string) searchOut {
	t.Helper()
	res, err := http.Get(base + "/api/songcommons/search?q=" + url.QueryEscape(q))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out searchOut
	if res.StatusCode != 200 {
		t.Fatalf("search %q: %d", q, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// The index follows every committed change of songs: uploads, record API
// creates, receipt deletes and a superuser's song delete.
func TestSearchFollowsWrites(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	srv := serve(t, app)
	alice, admin := tokenFor(t, aliceID), tokenFor(t, superuserID)
	secret := "search-follows-receipt-secret-01"

	song := func(artist, title string) map[string]any {
		return map[string]any{"artist": artist, "title": title, "tempo": 120, "key": "C", "scale": "major"}
	}
	code, out := call(t, srv, http.MethodPost, "/api/songcommons/contribute", alice, map[string]any{
		"songs": []any{song("Amber Coast", "Glass Wave"), song("Amber Coast", "Salt")}, "receipt_secret": secret})
	if code != 200 {
		t.Fatalf("contribute: %d %v", code, out)
	}
	receipt := out["receipt"].(map[string]any)["rows"].([]any)
	if got := searchFor(t, srv.URL, "amber").artists(); len(got) != 2 {
		t.Fatalf("after the upload: %q", got)
	}
	// a second contribution of a song (record API) changes its count and rank
	code, out = call(t, srv, http.MethodPost, "/api/collections/score/records", alice, song("Amber Coast", "Salt"))
	if code != 200 {
		t.Fatalf("record create: %d %v", code, out)
	}
	res := searchFor(t, srv.URL, "amber coast")
	if len(res.Results) != 2 || res.Results[0].Title != "Salt" || res.Results[0].Contributions != 2 {
		t.Fatalf("after the record create: %+v", res.Results)
	}
	// the receipt deletes the upload: Glass Wave goes, Salt keeps one contribution
	code, out = call(t, srv, http.MethodPost, "/api/songcommons/receipts/delete", "", map[string]any{"secret": secret, "rows": receipt})
	if code != 200 || out["deleted"] != 2.0 {
		t.Fatalf("receipt delete: %d %v", code, out)
	}
	res = searchFor(t, srv.URL, "amber")
	if len(res.Results) != 1 || res.Results[0].Title != "Salt" || res.Results[0].Contributions != 1 || res.Total != 1 {
		t.Fatalf("after the receipt delete: %+v (total %d)", res.Results, res.Total)
	}
	if got := searchFor(t, srv.URL, "glass"); got.Total != 0 {
		t.Fatalf("glass still found: %+v", got.Results)
	}
	// a superuser deletes the song (as in the dashboard)
	row, err := app.FindFirstRecordByData("songs", "song_key", res.Results[0].SongKey)
	if err != nil {
		t.Fatal(err)
	}
	if code, out := call(t, srv, http.MethodDelete, "/api/collections/songs/records/"+row.Id, admin, nil); code != 204 {
		t.Fatalf("song delete: %d %v", code, out)
	}
	if got := searchFor(t, srv.URL, "amber"); got.Total != 0 || len(got.Results) != 0 {
		t.Fatalf("after the song delete: %+v", got.Results)
	}
}

// A fresh process on an existing data dir builds the index from the songs
// table at start-up: nothing of it was on disk.
func TestSearchStartupBuild(t *testing.T) {
	t.Parallel()
	app := searchApp(t)
	defer app.Cleanup()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(app.DataDir())); err != nil {
		t.Fatal(err)
	}
	fresh := openDataDir(t, dir)
	defer fresh.ResetBootstrapState()
	cfg := config.Defaults()
	cfg.Quiet = true
	hooks.Register(fresh, cfg, nil)
	srv := serve(t, fresh)
	if got := searchFor(t, srv.URL, "velvet").artists(); !slices.Equal(got, []string{"Velvet Underground", "The Velvet Harbor", "Harborline"}) {
		t.Fatalf("after a restart: %q", got)
	}
}
