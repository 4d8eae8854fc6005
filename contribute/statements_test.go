package contribute_test

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/pocketbase/dbx"

	"songcommons/contribute"
	"songcommons/internal/testsupport"
)

// statementKind names a statement by its verb and table: "INSERT score",
// "SELECT songs", "UPDATE songs", "INSERT OR REPLACE song_vectors".
var statementKind = regexp.MustCompile(`^\s*(INSERT OR REPLACE|INSERT|SELECT|UPDATE|DELETE)\b(?:.*?\b(?:INTO|FROM))?\s+[{\x60\[]*(\w+)`)

// countStatements counts the statements run on app's data.db while fn
// runs, by kind.
func countStatements(t *testing.T, app interface {
	ConcurrentDB() dbx.Builder
	NonconcurrentDB() dbx.Builder
}, fn func()) map[string]int {
	t.Helper()
	var mu sync.Mutex
	counts := map[string]int{}
	add := func(s string) {
		kind := s
		if m := statementKind.FindStringSubmatch(s); m != nil {
			kind = m[1] + " " + m[2]
		}
		mu.Lock()
		counts[kind]++
		mu.Unlock()
	}
	for _, b := range []dbx.Builder{app.ConcurrentDB(), app.NonconcurrentDB()} {
		db := b.(*dbx.DB)
		db.ExecLogFunc = func(_ context.Context, _ time.Duration, s string, _ sql.Result, _ error) { add(s) }
		db.QueryLogFunc = func(_ context.Context, _ time.Duration, s string, _ *sql.Rows, _ error) { add(s) }
	}
	defer func() {
		for _, b := range []dbx.Builder{app.ConcurrentDB(), app.NonconcurrentDB()} {
			db := b.(*dbx.DB)
			db.ExecLogFunc, db.QueryLogFunc = nil, nil
		}
	}()
	fn()
	mu.Lock()
	defer mu.Unlock()
	return counts
}

// The statements of an upload: four INSERTs per new song (score,
// embedding, songs, song_vectors), one query for the songs that exist and
// one per contributed table for the aliases of the upload's tags (rows
// filed by fingerprint under another song), whatever the upload's size; a
// song that exists already is read back
// (its score and embedding rows), its songs row updated and the vectors
// of the models it has none of deleted. An extra
// statement per song here is paid by every upload (/contribute, /api/batch
// through its fast path, import).
func TestUploadStatements(t *testing.T) {
	t.Parallel()
	app := testsupport.NewApp(t)
	defer app.Cleanup()
	w := contribute.New(app, nil, nil)
	const n = 30
	for i, s := range []struct {
		name string
		want map[string]int
	}{
		{"new songs", map[string]int{
			"INSERT score": n, "INSERT embedding": n, "INSERT songs": n, "INSERT OR REPLACE song_vectors": n,
			"SELECT songs": 1, "SELECT score": 1, "SELECT embedding": 1,
		}},
		{"the same songs again", map[string]int{
			"INSERT score": n, "INSERT embedding": n, "UPDATE songs": n, "INSERT OR REPLACE song_vectors": n,
			"SELECT songs": 1, "SELECT score": n + 1, "SELECT embedding": n + 1,
			"DELETE song_vectors": n, // the model the song has no vector of (clap)
		}},
	} {
		t.Run(fmt.Sprintf("%d_%s", i, s.name), func(t *testing.T) {
			var err error
			got := countStatements(t, app, func() { _, err = w.Upload(songs(t, n, "Counted"), "") })
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range s.want {
				if got[k] != v {
					t.Errorf("%s: %d statements, want %d", k, got[k], v)
				}
			}
			for k, v := range got {
				if _, ok := s.want[k]; !ok {
					t.Errorf("unexpected statements: %d x %q", v, k)
				}
			}
		})
	}
}
