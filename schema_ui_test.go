package main

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"songcommons/songdata"
)

// The web UI's copy of the contributed fields (the contribute page's file
// checks in pb_public/assets/parse.js, the field list on contribute.html)
// and the README's dump format name the fields, limits and models of
// songdata's schema.
func TestUIFieldsFollowTheSchema(t *testing.T) {
	t.Parallel()
	js := readFile(t, "pb_public/assets/parse.js")
	constant := func(name string) string {
		m := regexp.MustCompile(`(?m)^(?:export )?const ` + name + ` = (.*);$`).FindStringSubmatch(js)
		if m == nil {
			t.Fatalf("parse.js has no constant %s", name)
		}
		return m[1]
	}
	number := func(name string) float64 {
		v := 1.0
		for _, p := range strings.Split(constant(name), "*") {
			f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil {
				t.Fatalf("parse.js %s: %v", name, err)
			}
			v *= f
		}
		return v
	}
	quoted := regexp.MustCompile(`'([^']*)'`)
	list := func(name string) []string {
		var out []string
		for _, m := range quoted.FindAllStringSubmatch(constant(name), -1) {
			out = append(out, m[1])
		}
		return out
	}
	field := func(name string) songdata.Field {
		f, ok := songdata.FieldByName(name)
		if !ok {
			t.Fatalf("no field %s", name)
		}
		return f
	}
	for js, want := range map[string]float64{
		"MAX_TEXT": field("artist").Max, "MAX_ANALYZER": field("analyzer").Max, "MAX_TEMPO": field("tempo").Max,
		"MAX_DURATION": field("duration").Max, "MAX_ENERGY": field("energy").Max, "MAX_LABELS": songdata.MaxLabels,
		"MAX_FINGERPRINT": field("fingerprint").Max, "MAX_FINGERPRINT_ITEMS": songdata.MaxFingerprintItems,
	} {
		if got := number(js); got != want {
			t.Errorf("parse.js %s = %g, the schema says %g", js, got, want)
		}
	}
	if got, want := list("IDENTITY"), songdata.Names(songdata.IdentityFields()); !slices.Equal(got, want) {
		t.Errorf("parse.js IDENTITY %v, the schema's identity fields %v", got, want)
	}
	if got, want := list("ANALYSIS"), songdata.Names(songdata.AnalysisFields()); !slices.Equal(got, want) {
		t.Errorf("parse.js ANALYSIS %v, the schema's analysis fields %v", got, want)
	}
	if got, want := list("AUDIO"), songdata.Names(songdata.AudioFields()); !slices.Equal(got, want) {
		t.Errorf("parse.js AUDIO %v, the schema's audio fields %v", got, want)
	}
	var numeric []string
	for _, f := range songdata.ScoreFields() {
		if f.Kind == songdata.Number {
			numeric = append(numeric, f.Name)
		}
	}
	if got := list("NUMERIC"); !sameElements(got, numeric) {
		t.Errorf("parse.js NUMERIC %v, the schema's numbers %v", got, numeric)
	}
	var models []string
	for _, m := range songdata.Models() {
		models = append(models, "{ name: '"+m.Name+"', dim: "+strconv.Itoa(m.Dim)+" }")
	}
	if got, want := constant("DEFAULT_MODELS"), "["+strings.Join(models, ", ")+"]"; got != want {
		t.Errorf("parse.js DEFAULT_MODELS %s, songdata's models %s", got, want)
	}

	// the contribute page lists every field of an upload
	page := readFile(t, "pb_public/contribute.html")
	i := strings.Index(page, "<p>Fields:")
	if i < 0 {
		t.Fatal("contribute.html has no field list")
	}
	para := page[i : i+strings.Index(page[i:], "</p>")]
	for _, f := range songdata.ScoreFields() {
		if !strings.Contains(para, "<code>"+f.Name+"</code>") {
			t.Errorf("contribute.html's field list does not name %s", f.Name)
		}
	}

	// the README's dump format lists the score fields in dump order
	m := regexp.MustCompile(`a score\s+row is\s+` + "`" + `(\{[^}]*\})`).FindStringSubmatch(readFile(t, "README.md"))
	if m == nil {
		t.Fatal("the README does not describe a score line of a dump")
	}
	want := `{"` + strings.Join(songdata.Names(songdata.ScoreFields()), `","`) + `"}`
	if got := strings.Join(strings.Fields(m[1]), ""); got != want {
		t.Errorf("README: a score row is %s, the schema gives %s", got, want)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sameElements(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
