package hooks_test

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/tests"

	"songcommons/contribute"
	"songcommons/hooks"
)

const secretA = "receipt-secret-of-upload-A-0123456789"

func contributeSongs(n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = map[string]any{"artist": "Bulk Artist", "title": fmt.Sprintf("Bulk %03d", i), "tempo": 100 + i%50,
			"key": "Eb", "scale": "major", "mood_vector": "rock:0.5", "energy": 0.2, "other_features": "danceable:0.4",
			"embeddings": map[string]any{"musicnn": testVector(200, float64(i+100))}}
	}
	return out
}

func TestContribute(t *testing.T) {
	t.Parallel()
	alice := tokenFor(t, aliceID)
	factory := func(t testing.TB) *tests.TestApp { return newTestApp(t) }
	mixed := []map[string]any{
		{"artist": "Only Score", "title": "S", "tempo": 120, "key": "A", "scale": "minor"},
		{"artist": "Both", "title": "B", "tempo": 90.5, "key": "Db", "scale": "major", "album": "LP", "duration": 201.5,
			"embeddings": map[string]any{"musicnn": testVector(200, 1), "clap": testVector(512, 2)}},
		{"artist": "Only Vector", "title": "V", "embeddings": map[string]any{"musicnn": jsonString(testVector(200, 3))}},
	}
	bad := contributeSongs(3)
	bad[1]["tempo"] = 0
	bad[2]["embeddings"] = map[string]any{"clap": testVector(200, 1)}
	scenarios := []tests.ApiScenario{
		{
			Name: "guest → 401", Method: http.MethodPost, URL: "/api/songcommons/contribute",
			Body: strings.NewReader(jsonString(map[string]any{"songs": mixed})), TestAppFactory: factory,
			ExpectedStatus: 401, ExpectedContent: []string{"Sign in with GitHub"}, AfterTestFunc: assertCounts(0, 0),
		},
		{
			Name: "superuser → 403", Method: http.MethodPost, URL: "/api/songcommons/contribute",
			Body:    strings.NewReader(jsonString(map[string]any{"songs": mixed})),
			Headers: map[string]string{"Authorization": tokenFor(t, superuserID)}, TestAppFactory: factory,
			ExpectedStatus: 403, AfterTestFunc: assertCounts(0, 0), ExpectedContent: []string{`"status":403`},
		},
		{
			Name: "regular user, mixed songs with a receipt → 200", Method: http.MethodPost, URL: "/api/songcommons/contribute",
			Body:    strings.NewReader(jsonString(map[string]any{"songs": mixed, "receipt_secret": secretA})),
			Headers: map[string]string{"Authorization": alice}, TestAppFactory: factory,
			ExpectedStatus: 200, ExpectedContent: []string{`"accepted":3`, `"receipt":{`, `"collection":"embedding"`},
			NotExpectedContent: []string{secretA},
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
				assertCounts(2, 3)(t, app, res)
				if st := res.Header.Get("Server-Timing"); !regexp.MustCompile(`^read;dur=[0-9.]+, check;dur=[0-9.]+, identity;dur=[0-9.]+, write;dur=[0-9.]+, indexes;dur=[0-9.]+, upload;dur=[0-9.]+, total;dur=[0-9.]+$`).MatchString(st) {
					t.Errorf("Server-Timing %q", st)
				}
				if n := countRows(t, app, "songs"); n != 3 {
					t.Errorf("%d songs rows", n)
				}
				r, err := app.FindFirstRecordByData("score", "artist", "Both")
				if err != nil || r.GetString("key") != "C#" || r.GetFloat("duration") != 201.5 || r.GetString("song_key") != "both|b" {
					t.Fatalf("score row %v %v", r, err)
				}
				if r.GetString("receipt") != contribute.ReceiptTag(secretA, "score", r.Id) {
					t.Errorf("receipt tag %q", r.GetString("receipt"))
				}
			},
		},
		{
			Name: "regular user, two bad songs → 400 naming both, nothing stored", Method: http.MethodPost, URL: "/api/songcommons/contribute",
			Body:    strings.NewReader(jsonString(map[string]any{"songs": bad})),
			Headers: map[string]string{"Authorization": alice}, TestAppFactory: factory,
			ExpectedStatus: 400,
			ExpectedContent: []string{`"songs.1.tempo":{"code":"validation_out_of_range"`,
				`"songs.2.embeddings.clap":{"code":"validation_wrong_dimension"`, "Nothing was stored"},
			AfterTestFunc: assertCounts(0, 0),
		},
		{
			Name: "regular user, unknown field → 400", Method: http.MethodPost, URL: "/api/songcommons/contribute",
			Body:    strings.NewReader(`{"songs":[{"artist":"a","title":"b","tempo":100,"key":"C","scale":"major","bpm":100}]}`),
			Headers: map[string]string{"Authorization": alice}, TestAppFactory: factory,
			ExpectedStatus: 400, ExpectedContent: []string{`"songs.0.bpm":{"code":"validation_unknown_field"`},
			AfterTestFunc: assertCounts(0, 0),
		},
		{
			Name: "regular user, song with nothing → 400", Method: http.MethodPost, URL: "/api/songcommons/contribute",
			Body:    strings.NewReader(`{"songs":[{"artist":"a","title":"b"}]}`),
			Headers: map[string]string{"Authorization": alice}, TestAppFactory: factory,
			ExpectedStatus: 400, ExpectedContent: []string{`"songs.0.tempo":{"code":"validation_required"`},
		},
		{
			Name: "regular user, 501 songs → 400", Method: http.MethodPost, URL: "/api/songcommons/contribute",
			Body:    strings.NewReader(jsonString(map[string]any{"songs": make([]map[string]any, 501)})),
			Headers: map[string]string{"Authorization": alice}, TestAppFactory: factory,
			ExpectedStatus: 400, ExpectedContent: []string{`"songs":{"code":"validation_too_many"`},
		},
		{
			Name: "regular user, short receipt secret → 400", Method: http.MethodPost, URL: "/api/songcommons/contribute",
			Body:    strings.NewReader(jsonString(map[string]any{"songs": mixed, "receipt_secret": "short"})),
			Headers: map[string]string{"Authorization": alice}, TestAppFactory: factory,
			ExpectedStatus: 400, ExpectedContent: []string{`"receipt_secret":{"code":"validation_invalid_value"`},
			AfterTestFunc: assertCounts(0, 0),
		},
		{
			Name: "regular user, 500 songs in one request, stored in shuffled order", Method: http.MethodPost,
			URL:     "/api/songcommons/contribute",
			Body:    strings.NewReader(jsonString(map[string]any{"songs": contributeSongs(500)})),
			Headers: map[string]string{"Authorization": alice}, TestAppFactory: factory,
			ExpectedStatus: 200, ExpectedContent: []string{`"accepted":500`},
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, res *http.Response) {
				assertCounts(500, 500)(t, app, res)
				for _, tbl := range []string{"score", "embedding"} {
					var titles []string
					_ = app.DB().NewQuery("SELECT title FROM " + tbl + " ORDER BY rowid").Column(&titles)
					if slices.IsSorted(titles) {
						t.Errorf("%s rows are stored in request order", tbl)
					}
				}
			},
		},
	}
	for _, s := range scenarios {
		s.Test(t)
	}
}

func TestReceipts(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	srv := serve(t, app)
	alice := tokenFor(t, aliceID)

	upload := func(secret string, songs []map[string]any) map[string]any {
		body := map[string]any{"songs": songs}
		if secret != "" {
			body["receipt_secret"] = secret
		}
		code, out := call(t, srv, http.MethodPost, "/api/songcommons/contribute", alice, body)
		if code != 200 {
			t.Fatalf("contribute: %d %v", code, out)
		}
		return out
	}
	a := upload(secretA, contributeSongs(4))
	b := upload("another-secret-for-upload-B-9876543210", contributeSongs(3))
	upload("", contributeSongs(2)) // no receipt: still works
	rowsA := a["receipt"].(map[string]any)["rows"].([]any)
	rowsB := b["receipt"].(map[string]any)["rows"].([]any)

	// tags of one upload are pairwise distinct and match nothing under another secret
	tags := map[string]bool{}
	for _, r := range rowsA {
		row := r.(map[string]any)
		rec, err := app.FindRecordById(row["collection"].(string), row["id"].(string))
		if err != nil {
			t.Fatal(err)
		}
		tag := rec.GetString("receipt")
		if len(tag) != 32 || tags[tag] {
			t.Fatalf("tag %q is not a fresh 128-bit tag", tag)
		}
		tags[tag] = true
		if tag == contribute.ReceiptTag("another-secret-for-upload-B-9876543210", row["collection"].(string), row["id"].(string)) {
			t.Fatal("a tag matches under another secret")
		}
	}

	del := func(secret string, rows []any) map[string]any {
		code, out := call(t, srv, http.MethodPost, "/api/songcommons/receipts/delete", "", map[string]any{"secret": secret, "rows": rows})
		if code != 200 {
			t.Fatalf("delete: %d %v", code, out)
		}
		return out
	}
	// the wrong secret deletes nothing
	if out := del("wrong-secret-0123456789abcdef", rowsA); out["deleted"] != 0.0 || countRows(t, app, "score") != 9 {
		t.Fatalf("wrong secret: %v, %d score rows", out, countRows(t, app, "score"))
	}
	// the right secret deletes exactly the receipt's rows, not upload B's listed with them
	mixed := append(append([]any{}, rowsA...), rowsB[0])
	if out := del(secretA, mixed); out["deleted"] != 8.0 || out["unmatched"] != 1.0 {
		t.Fatalf("delete: %v", out)
	}
	if s, e := countRows(t, app, "score"), countRows(t, app, "embedding"); s != 5 || e != 5 {
		t.Fatalf("after delete: %d score, %d embedding rows; want 5 and 5", s, e)
	}
	// the songs table and the similarity index followed
	// (song 003 was only in upload A; songs 000-002 are also in the other uploads)
	code, out := call(t, srv, http.MethodPost, "/api/songcommons/similar", "", map[string]any{"vector": testVector(200, 103), "k": 100})
	if code != 200 {
		t.Fatalf("similar: %d %v", code, out)
	}
	var keys []string
	for _, r := range out["results"].([]any) {
		keys = append(keys, r.(map[string]any)["song_key"].(string))
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"bulk artist|bulk 000", "bulk artist|bulk 001", "bulk artist|bulk 002"}) {
		t.Fatalf("index after receipt delete: %v", keys)
	}
	if n := countRows(t, app, "songs"); n != 3 {
		t.Fatalf("%d songs rows, want 3 (bulk 000-002 remain)", n)
	}

	// the legacy record path yields a receipt through the header
	req := map[string]any{"artist": "Legacy", "title": "Tagged", "tempo": 100, "key": "C", "scale": "major"}
	code, rec := callWithHeader(t, srv, http.MethodPost, "/api/collections/score/records", alice, req, hooks.ReceiptHeader, secretA)
	if code != 200 {
		t.Fatalf("legacy create: %d %v", code, rec)
	}
	if strings.Contains(jsonString(rec), `"receipt"`) {
		t.Fatalf("the tag is visible in the API: %v", rec)
	}
	if out := del(secretA, []any{map[string]any{"collection": "score", "id": rec["id"]}}); out["deleted"] != 1.0 {
		t.Fatalf("legacy receipt delete: %v", out)
	}
}
