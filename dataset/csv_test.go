package dataset_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/tests"

	"songcommons/contribute"
	"songcommons/dataset"
	"songcommons/internal/testsupport"
	"songcommons/songdata"
)

// formulaSongs hold text a spreadsheet would run (OWASP "CSV Injection"),
// and text that itself starts with the single quote used to neutralise it.
var formulaSongs = []map[string]any{
	{"artist": "Mallory", "title": `=HYPERLINK("http://evil.example","x")`, "tempo": 120.0, "key": "C", "scale": "major",
		"album": "@SUM(1+1)*cmd|' /C calc'!A0", "analyzer": "-2+3", "mood_vector": "-dark:0.5"},
	{"artist": "+Plus", "title": "'=already quoted", "tempo": 90.0, "key": "D", "scale": "minor", "album": "''"},
	{"artist": "'Til Tuesday", "title": "Voices Carry", "tempo": 100.0, "key": "E", "scale": "minor", "album": "'"},
}

// neutralised are the CSV cells those values must become.
var neutralised = map[string]string{
	`=HYPERLINK("http://evil.example","x")`: `'=HYPERLINK("http://evil.example","x")`,
	"@SUM(1+1)*cmd|' /C calc'!A0":           "'@SUM(1+1)*cmd|' /C calc'!A0",
	"-2+3":                                  "'-2+3",
	"-dark:0.5":                             "'-dark:0.5",
	"+Plus":                                 "'+Plus",
	"'=already quoted":                      "''=already quoted",
	"''":                                    "'''",
	"'Til Tuesday":                          "''Til Tuesday",
	"'":                                     "''",
}

func formulaApp(t testing.TB) *tests.TestApp {
	t.Helper()
	app := newTestApp(t)
	cs, errs := songdata.CheckSongs(formulaSongs, "songs.")
	if errs != nil {
		t.Fatalf("the songs do not validate: %v", errs)
	}
	if _, err := contribute.New(app, nil, nil).Upload(cs, ""); err != nil {
		t.Fatal(err)
	}
	return app
}

// checkNeutralised reads a CSV dump and checks that no cell starts with
// a character that makes a spreadsheet run it, and that each dangerous
// value is there in its neutralised form.
func checkNeutralised(t testing.TB, b []byte) {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	cells := map[string]bool{}
	for _, r := range recs[1:] {
		for _, c := range r {
			cells[c] = true
			if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				t.Errorf("the cell %q would run as a formula", c)
			}
		}
	}
	for v, want := range neutralised {
		if !cells[want] {
			t.Errorf("%q should be written as %q", v, want)
		}
	}
}

// Every CSV the service writes (Export, the route, the export command)
// neutralises formulas, and a CSV import gives back the original text:
// export → import → export gives the same bytes.
func TestCSVNeutralisesFormulas(t *testing.T) {
	t.Parallel()
	a := formulaApp(t)
	csvA := dump(t, a, dataset.CSV)
	checkNeutralised(t, csvA)

	srv := testsupport.Serve(t, a)
	res, err := http.Get(srv.URL + "/api/songcommons/export?format=csv")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !bytes.Equal(body, csvA) {
		t.Errorf("the route should send what Export writes:\n%s", body)
	}
	file := filepath.Join(t.TempDir(), "dump.csv")
	run(t, dataset.NewExportCmd(a), file, "--format", "csv")
	if got, err := os.ReadFile(file); err != nil || !bytes.Equal(got, csvA) {
		t.Errorf("the export command should write what Export writes (%v):\n%s", err, got)
	}

	b := newTestApp(t)
	sum, err := dataset.Import(context.Background(), b, bytes.NewReader(csvA), dataset.ImportOptions{Format: dataset.CSV})
	if err != nil || sum.Rejected != 0 {
		t.Fatalf("import: %+v %v", sum, err)
	}
	if csvB := dump(t, b, dataset.CSV); !bytes.Equal(csvA, csvB) {
		t.Fatalf("CSV export → import → export changed the dump:\nA:\n%s\nB:\n%s", csvA, csvB)
	}
	if jA, jB := dump(t, a, dataset.JSONL), dump(t, b, dataset.JSONL); !bytes.Equal(jA, jB) {
		t.Errorf("the CSV import changed the rows:\nA:\n%s\nB:\n%s", jA, jB)
	}
	titles := testsupport.Column(t, b, "score", "title")
	for _, want := range []string{`=HYPERLINK("http://evil.example","x")`, "'=already quoted", "Voices Carry"} {
		found := false
		for _, got := range titles {
			found = found || got == want
		}
		if !found {
			t.Errorf("no stored title %q after the import; titles %q", want, titles)
		}
	}
}
