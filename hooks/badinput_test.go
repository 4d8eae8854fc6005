package hooks_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// badCase is one bad request: where it goes, its raw body, and the field
// the error must name ("" when the whole body is wrong).
type badCase struct {
	name, method, path, body, field string
	token                           bool
}

// scoreMutations break one field of a valid score.
var scoreMutations = []struct{ name, field, value string }{
	{"empty artist", "artist", `""`},
	{"blank title", "title", `"   "`},
	{"100 KB artist", "artist", `"` + strings.Repeat("a", 100<<10) + `"`},
	{"control character", "title", `"bad\u0007title"`},
	{"invalid UTF-8", "artist", "\"bad \xff\xfe artist\""},
	{"tempo 0", "tempo", `0`},
	{"tempo 400.5", "tempo", `400.5`},
	{"tempo negative", "tempo", `-120`},
	{"tempo huge", "tempo", `1e300`},
	{"tempo string", "tempo", `"fast"`},
	{"key H", "key", `"H"`},
	{"key number", "key", `7`},
	{"scale dorian", "scale", `"dorian"`},
	{"mood without score", "mood_vector", `"rock"`},
	{"mood score 2", "mood_vector", `"rock:2"`},
	{"mood label punctuation", "mood_vector", `"r&b:0.3"`},
	{"mood NaN", "mood_vector", `"rock:NaN"`},
	{"other features duplicate", "other_features", `"happy:0.1,happy:0.2"`},
	{"energy negative", "energy", `-1`},
	{"duration negative", "duration", `-5`},
	{"mbid garbage", "mbid", `"not-a-uuid"`},
	{"isrc garbage", "isrc", `"XX"`},
}

func scoreJSON(field, value string) string {
	base := map[string]string{"artist": `"Bad Input"`, "title": `"Case"`, "tempo": `120`, "key": `"A"`, "scale": `"minor"`,
		"mood_vector": `"rock:0.5"`, "energy": `0.3`, "other_features": `"happy:0.2"`}
	base[field] = value
	parts := []string{}
	for k, v := range base {
		parts = append(parts, fmt.Sprintf("%q:%s", k, v))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func vecJSON(n int, v string) string {
	return "[" + strings.TrimSuffix(strings.Repeat(v+",", n), ",") + "]"
}

var vectorMutations = []struct{ name, value string }{
	{"NaN as string", `"[` + "NaN" + strings.Repeat(",0.1", 199) + `]"`},
	{"Infinity via 1e999", vecJSON(199, "0.1")[:len(vecJSON(199, "0.1"))-1] + ",1e999]"},
	{"199 values", vecJSON(199, "0.1")},
	{"201 values", vecJSON(201, "0.1")},
	{"all zeros", vecJSON(200, "0")},
	{"a string element", `[` + strings.Repeat("0.1,", 199) + `"x"]`},
	{"an object", `{"a":1}`},
	{"empty array", `[]`},
	{"not JSON text", `"hello"`},
}

func badCases() []badCase {
	var cs []badCase
	for _, m := range scoreMutations {
		body := scoreJSON(m.field, m.value)
		cs = append(cs,
			badCase{"record API score: " + m.name, "POST", "/api/collections/score/records", body, m.field, true},
			badCase{"batch score: " + m.name, "POST", "/api/batch",
				`{"requests":[{"method":"POST","url":"/api/collections/score/records","body":` + scoreJSON("title", `"fine"`) + `},` +
					`{"method":"POST","url":"/api/collections/score/records","body":` + body + `}]}`, "requests", true},
			badCase{"contribute: " + m.name, "POST", "/api/songcommons/contribute",
				`{"songs":[` + scoreJSON("title", `"fine"`) + `,` + body + `]}`, "songs.1." + m.field, true},
		)
	}
	for _, m := range vectorMutations {
		emb := `{"artist":"Bad","title":"Vector","embedding":` + m.value + `}`
		batchField, recordField, contribField := "requests", "embedding", "songs.0.embeddings.musicnn"
		if strings.Contains(m.value, "1e999") {
			// not valid JSON at all: the whole body is refused
			batchField, recordField, contribField = "", "", ""
		}
		cs = append(cs,
			badCase{"record API embedding: " + m.name, "POST", "/api/collections/embedding/records", emb, recordField, true},
			badCase{"batch embedding: " + m.name, "POST", "/api/batch",
				`{"requests":[{"method":"POST","url":"/api/collections/embedding/records","body":` + emb + `}]}`, batchField, true},
			badCase{"contribute embedding: " + m.name, "POST", "/api/songcommons/contribute",
				`{"songs":[{"artist":"Bad","title":"Vector","embeddings":{"musicnn":` + m.value + `}}]}`, contribField, true},
			badCase{"similar vector: " + m.name, "POST", "/api/songcommons/similar", `{"vector":` + m.value + `}`, "", false},
		)
	}
	many := make([]string, 1001)
	for i := range many {
		many[i] = fmt.Sprintf(`{"artist":"a","title":"%d"}`, i)
	}
	batch101 := make([]string, 101)
	for i := range batch101 {
		batch101[i] = `{"method":"POST","url":"/api/collections/score/records","body":` + scoreJSON("title", fmt.Sprintf(`"t%d"`, i)) + `}`
	}
	contrib501 := make([]string, 501)
	for i := range contrib501 {
		contrib501[i] = scoreJSON("title", fmt.Sprintf(`"t%d"`, i))
	}
	big := `{"songs":[{"artist":"` + strings.Repeat("x", 20<<20) + `","title":"t"}]}`
	cs = append(cs,
		badCase{"lookup 1,001 songs", "POST", "/api/songcommons/lookup", `{"songs":[` + strings.Join(many, ",") + `]}`, "songs", false},
		badCase{"lookup unknown field", "POST", "/api/songcommons/lookup", `{"songs":[{"artist":"a","title":"b"}],"limit":3}`, "limit", false},
		badCase{"lookup wrong type", "POST", "/api/songcommons/lookup", `{"songs":"all"}`, "songs", false},
		badCase{"lookup malformed JSON", "POST", "/api/songcommons/lookup", `{"songs":[`, "", false},
		badCase{"lookup 20 MB body", "POST", "/api/songcommons/lookup", big, "", false},
		badCase{"contribute 20 MB body", "POST", "/api/songcommons/contribute", big, "", true},
		badCase{"record API 20 MB body", "POST", "/api/collections/score/records", big, "", true},
		badCase{"batch of 101", "POST", "/api/batch", `{"requests":[` + strings.Join(batch101, ",") + `]}`, "requests", true},
		badCase{"contribute 501 songs", "POST", "/api/songcommons/contribute", `{"songs":[` + strings.Join(contrib501, ",") + `]}`, "songs", true},
		badCase{"contribute unknown field", "POST", "/api/songcommons/contribute", `{"songs":[` + scoreJSON("title", `"x"`) + `],"user":"me"}`, "user", true},
		badCase{"contribute unknown song field", "POST", "/api/songcommons/contribute", `{"songs":[{"artist":"a","title":"b","tempo":100,"key":"C","scale":"major","owner":"me"}]}`, "songs.0.owner", true},
		badCase{"contribute malformed JSON", "POST", "/api/songcommons/contribute", `{"songs":[{]}`, "", true},
		badCase{"contribute wrong type", "POST", "/api/songcommons/contribute", `{"songs":{"artist":"a"}}`, "songs", true},
		badCase{"contribute empty body", "POST", "/api/songcommons/contribute", ``, "", true},
		badCase{"contribute embeddings not an object", "POST", "/api/songcommons/contribute", `{"songs":[{"artist":"a","title":"b","embeddings":[1,2]}]}`, "songs.0.embeddings", true},
		badCase{"contribute unknown model", "POST", "/api/songcommons/contribute", `{"songs":[{"artist":"a","title":"b","embeddings":{"openl3":` + vecJSON(200, "0.1") + `}}]}`, "songs.0.embeddings.openl3", true},
		badCase{"similar zero vector", "POST", "/api/songcommons/similar", `{"vector":` + vecJSON(200, "0") + `,"model":"musicnn"}`, "vector", false},
		badCase{"similar k 0", "POST", "/api/songcommons/similar", `{"vector":` + vecJSON(200, "0.1") + `,"k":0}`, "k", false},
		badCase{"similar k 1000", "GET", "/api/songcommons/similar?song=a%7Cb&k=1000", ``, "k", false},
		badCase{"similar unknown model", "GET", "/api/songcommons/similar?song=a%7Cb&model=nope", ``, "model", false},
		badCase{"similar unknown song", "GET", "/api/songcommons/similar?song=no%7Csuch", ``, "song", false},
		badCase{"receipt short secret", "POST", "/api/songcommons/receipts/delete", `{"secret":"x","rows":[{"collection":"score","id":"a"}]}`, "secret", false},
		badCase{"receipt bad collection", "POST", "/api/songcommons/receipts/delete", `{"secret":"0123456789abcdef0123","rows":[{"collection":"users","id":"a"}]}`, "rows.0.collection", false},
		badCase{"receipt no rows", "POST", "/api/songcommons/receipts/delete", `{"secret":"0123456789abcdef0123","rows":[]}`, "rows", false},
		badCase{"consent wrong type", "POST", "/api/songcommons/me/consent", `{"accept":"yes"}`, "accept", true},
		badCase{"consent missing accept", "POST", "/api/songcommons/me/consent", `{}`, "accept", true},
		badCase{"privacy request 100 KB", "POST", "/api/songcommons/privacy-requests", `{"text":"` + strings.Repeat("a", 100<<10) + `"}`, "", false},
		badCase{"privacy request multi-line contact", "POST", "/api/songcommons/privacy-requests", `{"text":"hi","contact":"a\nb"}`, "contact", false},
		badCase{"record API client id", "POST", "/api/collections/score/records", strings.Replace(scoreJSON("title", `"x"`), "{", `{"id":"abcdefghijklmno",`, 1), "id", true},
		badCase{"record API malformed JSON", "POST", "/api/collections/score/records", `{"artist":`, "", true},
		badCase{"batch malformed JSON", "POST", "/api/batch", `{"requests":[`, "", true},
	)
	return cs
}

// TestBadInput sends every kind of bad input to every write route and the
// legacy record/batch API: each answer is a 4xx JSON error (naming the field
// where there is one), and nothing is stored. No case changes the app, so
// they share one (the row counts are checked after each).
func TestBadInput(t *testing.T) {
	t.Parallel()
	app := catalogApp(t)
	defer app.Cleanup()
	srv := serve(t, app)
	alice := tokenFor(t, aliceID)
	tables := []string{"score", "embedding", "songs", "privacy_requests"}
	before := map[string]int{}
	for _, tbl := range tables {
		before[tbl] = countRows(t, app, tbl)
	}
	cases := badCases()
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d_%s", i, c.name), func(t *testing.T) {
			req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
			req.Header.Set("Content-Type", "application/json")
			if c.token {
				req.Header.Set("Authorization", alice)
			}
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode < 400 || res.StatusCode >= 500 {
				t.Fatalf("status %d: %.300s", res.StatusCode, raw)
			}
			var out struct {
				Status  int                        `json:"status"`
				Message string                     `json:"message"`
				Data    map[string]json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(raw, &out); err != nil || out.Status != res.StatusCode || out.Message == "" {
				t.Fatalf("not a JSON error: %.300s", raw)
			}
			if c.field != "" {
				if _, ok := out.Data[c.field]; !ok {
					t.Fatalf("the error does not name %q: %.400s", c.field, raw)
				}
			}
			for _, tbl := range tables {
				if n := countRows(t, app, tbl); n != before[tbl] {
					t.Fatalf("%s rows changed: %d → %d", tbl, before[tbl], n)
				}
			}
		})
	}
	t.Logf("%d bad-input cases tried", len(cases))
}
