package dataset_test

import (
	"bytes"
	"encoding/csv"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/tests"

	"songcommons/config"
	"songcommons/dataset"
	"songcommons/internal/testsupport"
	"songcommons/songdata"
)

func seededFactory(edits ...func(*config.Config)) func(t testing.TB) *tests.TestApp {
	return func(t testing.TB) *tests.TestApp { return seededApp(t, edits...) }
}

func private(c *config.Config) { c.PublicRead = false }

func TestExportRoute(t *testing.T) {
	t.Parallel()
	today := time.Now().UTC().Format("2006-01-02")
	scenarios := []tests.ApiScenario{
		{
			Name:            "guest, public dataset: the JSONL dump",
			Method:          http.MethodGet,
			URL:             "/api/songcommons/export",
			TestAppFactory:  seededFactory(),
			ExpectedStatus:  200,
			ExpectedContent: []string{`{"artist":"Twice","title":"Same","tempo":128,"key":"A","scale":"minor",`, `"embeddings":{"clap":[`},
			// no ids, receipt tags, rowids, hidden vectors or song keys
			NotExpectedContent: []string{`"id"`, `"receipt"`, `"vec"`, `"song_key"`, `"rowid"`, `"collectionId"`},
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
				body, _ := io.ReadAll(res.Body)
				if !bytes.Equal(body, dump(t, app, dataset.JSONL)) {
					t.Error("the route should send what Export writes")
				}
				if got := res.Header.Get("Content-Disposition"); got != `attachment; filename="songcommons-`+today+`.jsonl"` {
					t.Errorf("Content-Disposition %q", got)
				}
				if got := res.Header.Get("Content-Type"); !strings.HasPrefix(got, "application/x-ndjson") {
					t.Errorf("Content-Type %q", got)
				}
				for _, table := range []string{"score", "embedding"} {
					for _, col := range []string{"id", "receipt"} {
						for _, v := range testsupport.Column(t, app, table, col) {
							if bytes.Contains(body, []byte(v)) {
								t.Fatalf("the dump holds the %s.%s value %q", table, col, v)
							}
						}
					}
				}
			},
		},
		{
			Name:           "guest, CSV: header and RFC 4180 quoting",
			Method:         http.MethodGet,
			URL:            "/api/songcommons/export?format=csv",
			TestAppFactory: seededFactory(),
			ExpectedStatus: 200,
			ExpectedContent: []string{
				"artist,title,tempo,key,scale,mood_vector,energy,other_features,album,duration,mbid,isrc,analyzer,fingerprint\n",
				`"Say ""Hi"", \ Bye","Commas, ""quotes"" and <tags> & more",99.99,C#,major,,0,,"A, B ""C""",0.5,,,,` + "\n",
				`Daft Punk,One More Time,123,F#,minor,"House:0.7,electronic:0.5",0.6,"danceable:0.93,happy:0.4",Discovery,320.4,5b11f4ce-a62d-471e-81fc-a69a8278c7da,GBDUP0000001,audiomuse-ai/0.7,` + "\n",
			},
			NotExpectedContent: []string{"embedding", "musicnn", "song_key", "receipt"},
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
				recs, err := csv.NewReader(res.Body).ReadAll()
				if err != nil {
					t.Fatal(err)
				}
				if want := testsupport.CountRows(t, app, "score") + 1; len(recs) != want {
					t.Errorf("%d CSV records, want %d (header + one per score row)", len(recs), want)
				}
				for i, r := range recs {
					if len(r) != len(songdata.ScoreFields()) {
						t.Errorf("record %d has %d fields", i, len(r))
					}
				}
				if got := res.Header.Get("Content-Disposition"); got != `attachment; filename="songcommons-`+today+`.csv"` {
					t.Errorf("Content-Disposition %q", got)
				}
				if got := res.Header.Get("Content-Type"); got != "text/csv; charset=utf-8" {
					t.Errorf("Content-Type %q", got)
				}
			},
		},
		{
			Name:               "guest, private dataset",
			Method:             http.MethodGet,
			URL:                "/api/songcommons/export",
			TestAppFactory:     seededFactory(private),
			ExpectedStatus:     401,
			ExpectedContent:    []string{`"status":401`, "signed-in users only"},
			NotExpectedContent: []string{`"artist"`},
		},
		{
			Name:               "guest, private dataset, CSV",
			Method:             http.MethodGet,
			URL:                "/api/songcommons/export?format=csv",
			TestAppFactory:     seededFactory(private),
			ExpectedStatus:     401,
			ExpectedContent:    []string{`"status":401`},
			NotExpectedContent: []string{"artist"},
		},
		{
			Name:            "unknown format",
			Method:          http.MethodGet,
			URL:             "/api/songcommons/export?format=xml",
			TestAppFactory:  seededFactory(),
			ExpectedStatus:  400,
			ExpectedContent: []string{`"format":{"code":"validation_invalid_value"`},
		},
	}
	for _, s := range scenarios {
		s.Test(t)
	}

}

// Over real HTTP: gzip when the client accepts it, a .gz file on demand,
// and a signed-in user reading a private dataset.
func TestExportRouteOverHTTP(t *testing.T) {
	t.Parallel()
	app := seededApp(t, private)
	srv := testsupport.Serve(t, app)
	want := dump(t, app, dataset.JSONL)
	tok := testsupport.NewContributor(t, app)
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	get := func(path, token, acceptEncoding string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", token)
		}
		if acceptEncoding != "" {
			req.Header.Set("Accept-Encoding", acceptEncoding)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}

	if res := get("/api/songcommons/export", "", "gzip"); res.StatusCode != 401 {
		t.Errorf("guest on a private dataset: %d, want 401", res.StatusCode)
	}

	res := get("/api/songcommons/export", tok, "br;q=1.0, gzip;q=0.8")
	if res.StatusCode != 200 || res.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip accepted: status %d, Content-Encoding %q", res.StatusCode, res.Header.Get("Content-Encoding"))
	}
	if !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") {
		t.Errorf("Vary %q", res.Header.Get("Vary"))
	}
	if got := gunzip(t, res.Body); !bytes.Equal(got, want) {
		t.Errorf("the gzip body does not decode to the dump (%d bytes, want %d)", len(got), len(want))
	}

	res = get("/api/songcommons/export", tok, "gzip;q=0, identity")
	if res.Header.Get("Content-Encoding") != "" {
		t.Errorf("gzip;q=0 refuses gzip, got Content-Encoding %q", res.Header.Get("Content-Encoding"))
	}
	if got, _ := io.ReadAll(res.Body); !bytes.Equal(got, want) {
		t.Error("the plain body is not the dump")
	}

	res = get("/api/songcommons/export?gzip=true", tok, "gzip")
	if res.Header.Get("Content-Encoding") != "" || res.Header.Get("Content-Type") != "application/gzip" ||
		!regexp.MustCompile(`filename="songcommons-\d{4}-\d\d-\d\d\.jsonl\.gz"`).MatchString(res.Header.Get("Content-Disposition")) {
		t.Errorf("?gzip=true: headers %v", res.Header)
	}
	if got := gunzip(t, res.Body); !bytes.Equal(got, want) {
		t.Error("the .gz file does not hold the dump")
	}

	res = get("/api/songcommons/export?format=csv", tok, "gzip")
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("CSV, gzip accepted: Content-Encoding %q", res.Header.Get("Content-Encoding"))
	}
	if got := gunzip(t, res.Body); !bytes.Equal(got, dump(t, app, dataset.CSV)) {
		t.Error("the gzip CSV body does not decode to the CSV dump")
	}
}
