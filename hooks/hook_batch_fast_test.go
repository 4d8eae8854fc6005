package hooks_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"songcommons/internal/testsupport"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tests"
)

// The legacy /api/batch fast path (hooks/hook_batch_fast.go) answers and stores
// exactly what PocketBase's record-by-record path does. The same upload is
// sent to two fresh servers: as the client sends it (fast path), and with
// a per-request header, which sends it down PocketBase's path. Both must
// give the same answer (ids aside), the same rows in score, embedding,
// songs and song_vectors, and the same similarity index; the record hooks
// must not have run on the fast path (proof that it was taken).
func TestBatchFastPathMatchesRecordPath(t *testing.T) {
	t.Parallel()
	songs := audioMuseLibrary(25)
	songs[3].artist, songs[3].title = songs[2].artist, strings.ToUpper(songs[2].title) // the same song twice in one batch

	type outcome struct {
		answer  []string
		rows    map[string][]string
		creates int64
		index   int
	}
	run := func(slow bool) outcome {
		app := newTestApp(t)
		defer app.Cleanup()
		var creates atomic.Int64
		app.OnRecordCreateRequest("score", "embedding").BindFunc(func(e *core.RecordRequestEvent) error {
			creates.Add(1)
			return e.Next()
		})
		srv := serve(t, app)
		body := batchRequests(songs)
		if slow {
			for _, r := range body["requests"].([]map[string]any) {
				r["headers"] = map[string]string{"X-Test-Path": "record"}
			}
		}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/batch", strings.NewReader(jsonString(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", tokenFor(t, aliceID))
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var results []struct {
			Status int            `json:"status"`
			Body   map[string]any `json:"body"`
		}
		if err := json.NewDecoder(res.Body).Decode(&results); err != nil || res.StatusCode != 200 || len(results) != 50 {
			t.Fatalf("slow=%v: %d, %d results, %v", slow, res.StatusCode, len(results), err)
		}
		var o outcome
		for i, r := range results {
			id, _ := r.Body["id"].(string)
			if r.Status != 200 || len(id) != 15 {
				t.Fatalf("slow=%v: result %d: %d %v", slow, i, r.Status, r.Body)
			}
			delete(r.Body, "id")
			o.answer = append(o.answer, jsonString(r))
		}
		o.rows = map[string][]string{}
		for _, table := range []string{"score", "embedding", "songs", "song_vectors"} {
			o.rows[table] = testsupport.TableRows(t, app, table, "id")
		}
		o.creates = creates.Load()
		code, st := call(t, srv, http.MethodGet, "/api/songcommons/status", "", nil)
		if code != 200 {
			t.Fatal(code)
		}
		o.index = int(st["indexSongs"].(map[string]any)["musicnn"].(float64))
		return o
	}
	fast, slow := run(false), run(true)
	if fast.creates != 0 || slow.creates != 50 {
		t.Fatalf("record create hooks ran %d times on the fast path, %d on the record path; want 0 and 50", fast.creates, slow.creates)
	}
	for i := range fast.answer {
		if fast.answer[i] != slow.answer[i] {
			t.Errorf("answer %d differs:\nfast %s\nslow %s", i, fast.answer[i], slow.answer[i])
		}
	}
	for table, want := range slow.rows {
		got := fast.rows[table]
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s rows differ:\nfast %v\nslow %v", table, got, want)
		}
	}
	if fast.index != 24 || slow.index != 24 {
		t.Errorf("index holds %d (fast) and %d (record path) songs, want 24", fast.index, slow.index)
	}
}

// A batch the fast path does not take (a bad song) still gets PocketBase's
// own error, naming the sub-request, and stores nothing; so does a batch
// with a bad receipt secret.
func TestBatchFastPathFallsBackWithPocketBaseErrors(t *testing.T) {
	t.Parallel()
	alice := tokenFor(t, aliceID)
	bad := audioMuseLibrary(25)
	bad[20].embedding = bad[20].embedding[:199]
	scenarios := []tests.ApiScenario{
		{
			Name: "wrong dimension in sub-request 40 → 400 naming it", Method: http.MethodPost, URL: "/api/batch",
			Body: batchBody(t, bad), Headers: map[string]string{"Authorization": alice},
			TestAppFactory:  func(t testing.TB) *tests.TestApp { return newTestApp(t) },
			ExpectedStatus:  400,
			ExpectedContent: []string{`"40":{"code":"batch_request_failed"`, `validation_wrong_dimension`},
			AfterTestFunc:   assertCounts(0, 0),
		},
		{
			Name: "bad receipt secret → 400, nothing stored", Method: http.MethodPost, URL: "/api/batch",
			Body:            batchBody(t, audioMuseLibrary(2)),
			Headers:         map[string]string{"Authorization": alice, "X-Songcommons-Receipt": "short"},
			TestAppFactory:  func(t testing.TB) *tests.TestApp { return newTestApp(t) },
			ExpectedStatus:  400,
			ExpectedContent: []string{`receipt_secret`},
			AfterTestFunc:   assertCounts(0, 0),
		},
	}
	for _, s := range scenarios {
		s.Test(t)
	}
}
