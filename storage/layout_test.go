package storage_test

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/contribute"
	"songcommons/internal/testsupport"
	"songcommons/songdata"
	"songcommons/storage"
)

// runsZ is the Wald–Wolfowitz runs test of a two-valued sequence: the
// number of runs of equal values against what a random order gives, as a
// z score. Rows written together would sit together (few, long runs: a
// large negative z).
func runsZ(seq []bool) float64 {
	var n1, n2, runs float64
	for i, v := range seq {
		if v {
			n1++
		} else {
			n2++
		}
		if i == 0 || seq[i-1] != v {
			runs++
		}
	}
	n := n1 + n2
	if n1 == 0 || n2 == 0 {
		return 0
	}
	mu := 2*n1*n2/n + 1
	variance := 2 * n1 * n2 * (2*n1*n2 - n) / (n * n * (n - 1))
	return (runs - mu) / math.Sqrt(variance)
}

func TestRunsZ(t *testing.T) {
	t.Parallel()
	alternating, grouped := make([]bool, 40), make([]bool, 40)
	for i := range 40 {
		alternating[i] = i%2 == 0
		grouped[i] = i < 20
	}
	if z := runsZ(alternating); z < 5 {
		t.Fatalf("alternating: z=%.2f", z)
	}
	if z := runsZ(grouped); z > -5 {
		t.Fatalf("grouped: z=%.2f", z)
	}
}

// layoutRow is a contributed row, its uploader and byte strings that
// identify it in the files (its id; the tail of its vector, which an
// embedding's overflow pages hold).
type layoutRow struct {
	a       bool
	markers [][]byte
}

// offsetOrders returns the uploaders of the rows found in image, ordered
// by the offset of the first copy of their bytes and by the last. Markers
// are found in one pass: each is looked up by its first 15 bytes (a row
// id is 15 bytes long).
func offsetOrders(image []byte, rows []layoutRow) (first, last []bool) {
	const key = 15
	type mark struct {
		row int
		m   []byte
	}
	byPrefix := map[[key]byte][]mark{}
	for i, r := range rows {
		for _, m := range r.markers {
			byPrefix[[key]byte(m[:key])] = append(byPrefix[[key]byte(m[:key])], mark{i, m})
		}
	}
	lo, hi := make([]int, len(rows)), make([]int, len(rows))
	for i := range lo {
		lo[i], hi[i] = -1, -1
	}
	for off := 0; off+key <= len(image); off++ {
		for _, mk := range byPrefix[[key]byte(image[off:off+key])] {
			if !bytes.HasPrefix(image[off:], mk.m) {
				continue
			}
			if lo[mk.row] < 0 {
				lo[mk.row] = off
			}
			hi[mk.row] = off
		}
	}
	type at struct {
		off int
		a   bool
	}
	var f, l []at
	for i, r := range rows {
		if lo[i] >= 0 {
			f, l = append(f, at{lo[i], r.a}), append(l, at{hi[i], r.a})
		}
	}
	byOff := func(x, y at) int { return x.off - y.off }
	slices.SortFunc(f, byOff)
	slices.SortFunc(l, byOff)
	for i := range f {
		first, last = append(first, f[i].a), append(last, l[i].a)
	}
	return first, last
}

// Two contributors upload in turn (analysis with a musicnn and a clap
// vector per song). After uploads a copy of data.db and its WAL is taken,
// and the uploaded rows are ordered by the offset of the first and of the
// last copy of their bytes (a row's id, found in its table and in the id
// index; the tail of its vector text). A runs test must not tell the two
// contributors apart (copyAndMeasure).
//
// While data.db is small it is rewritten after every upload. Past that
// size (the third case), new pages come from the random reserve, and the
// in-page order of an upload's rows lasts until the background rewrite:
// each copy is taken after it. With SONGCOMMONS_LAYOUT_SEED (e.g. 100000,
// past the size a background rewrite may take) no rewrite is waited for,
// and the copies show what the spread of a large database alone gives.
func TestFileOffsetsDoNotGroupUploads(t *testing.T) {
	t.Parallel()
	seed := 1500 // songs already in the database: past RewriteBelow, so new pages come from the reserve
	spreadOnly := false
	if v, err := strconv.Atoi(os.Getenv("SONGCOMMONS_LAYOUT_SEED")); err == nil {
		seed, spreadOnly = v, true // e.g. 100000 for the figure in BENCHMARKS.md (past any background rewrite)
	}
	for _, size := range []struct {
		name                string
		seed, rounds, songs int
	}{
		{"10 uploads of 6 songs each", 0, 5, 6},
		{"40 uploads of 25 songs each", 0, 20, 25},
		{fmt.Sprintf("40 uploads of 50 songs each, on %d songs", seed), seed, 20, 50},
	} {
		t.Run(size.name, func(t *testing.T) {
			t.Parallel()
			app := testsupport.NewApp(t)
			defer app.Cleanup()
			if size.seed > 0 {
				seedLayoutSongs(t, app, size.seed)
				if !spreadOnly {
					// a loaded test machine may rewrite slower than a
					// server: the background rewrite must run all the same
					storage.SetLayoutRewrite(app, time.Minute, 4)
				}
			}
			srv := testsupport.Serve(t, app)
			var ids, tails []layoutRow
			var serial int
			markers := map[string]bool{}
			worst := map[string]float64{}
			for round := range size.rounds {
				for who, id := range []string{testsupport.AliceID, testsupport.BobID} {
					songs := make([]map[string]any, size.songs)
					for i := range songs {
						seed := float64(round*1000 + who*100 + i)
						songs[i] = map[string]any{"artist": fmt.Sprintf("Layout %d", round%3), "title": fmt.Sprintf("Song %d-%d-%d", round, who, i),
							"tempo": 90 + i, "key": "A", "scale": "minor", "mood_vector": "rock:0.5", "energy": 0.3,
							"embeddings": map[string]any{"musicnn": uniqueVector(200, seed, &serial), "clap": uniqueVector(512, seed+0.5, &serial)}}
					}
					code, out := testsupport.Call(t, srv, http.MethodPost, "/api/songcommons/contribute", testsupport.Token(t, id), map[string]any{"songs": songs})
					if code != 200 {
						t.Fatalf("contribute: %d %v", code, out)
					}
					for _, col := range []string{"score", "embedding"} {
						for _, rid := range out[col].([]any) {
							ids = append(ids, layoutRow{a: who == 0, markers: [][]byte{[]byte(rid.(string))}})
							if col != "embedding" {
								continue
							}
							var vec string
							if err := app.DB().NewQuery("SELECT embedding FROM embedding WHERE id = {:id}").Bind(map[string]any{"id": rid}).Row(&vec); err != nil {
								t.Fatal(err)
							}
							tail := vec[len(vec)-48:]
							if markers[tail] {
								t.Fatalf("two vectors end alike: %s", tail)
							}
							markers[tail] = true
							tails = append(tails, layoutRow{a: who == 0, markers: [][]byte{[]byte(tail)}})
						}
					}
					last := round == size.rounds-1 && who == 1
					if round == 0 && who == 0 || size.seed > 0 && round%5 != 4 && !last {
						continue // one uploader so far; on the large case, a copy every 10 uploads
					}
					if size.seed > 0 && !spreadOnly {
						// past RewriteBelow the in-page order lasts until the
						// background rewrite: the copy is taken once it ran
						settleLayout(t, app, 3*time.Minute)
					}
					copyAndMeasure(t, app, round, last, spreadOnly, ids, tails, worst)
				}
			}
			fi, _ := os.Stat(filepath.Join(app.DataDir(), "data.db"))
			t.Logf("%d rows, data.db %d MiB; runs z of largest size over every copy: %v", len(ids), fi.Size()>>20, worst)
		})
	}
}

// copyAndMeasure copies data.db and its WAL and runs the runs test on the
// rows ordered by the offset of the first and last copy of their ids and
// of their vector tails. On the final copy the primary measure (the first
// copy of the ids) must give |z| < 3, every other measure and copy < 4,
// which keeps the many looks at one growing file from failing by chance
// (without the layout maintenance, z is -6 and below). With spreadOnly
// (no background rewrite), the first copies of the ids before the final
// one are only reported: an upload's entries in the small id indexes sit
// side by side until later uploads split their pages.
func copyAndMeasure(t *testing.T, app core.App, round int, final, spreadOnly bool, ids, tails []layoutRow, worst map[string]float64) {
	t.Helper()
	db, err := os.ReadFile(filepath.Join(app.DataDir(), "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(filepath.Join(app.DataDir(), "data.db-wal"))
	image := append(db, wal...)
	for _, set := range []struct {
		name string
		rows []layoutRow
	}{{"ids", ids}, {"vector tails", tails}} {
		first, last := offsetOrders(image, set.rows)
		if len(first) < len(set.rows) {
			t.Fatalf("only %d of %d rows' %s found in the files", len(first), len(set.rows), set.name)
		}
		for order, seq := range map[string][]bool{"first": first, "last": last} {
			z := runsZ(seq)
			what := set.name + ", " + order + " copy"
			if math.Abs(z) > math.Abs(worst[what]) {
				worst[what] = z
			}
			if final {
				t.Logf("final copy: %s z = %.2f over %d rows", what, z, len(seq))
			}
			bound := 4.0
			primary := order == "first" && set.name == "ids"
			if final && primary {
				bound = 3
			}
			if reported := spreadOnly && !final && primary; !reported && math.Abs(z) >= bound {
				t.Errorf("after round %d: rows ordered by the offset of the %s of their %s group the uploaders: runs z = %.2f over %d rows",
					round, order, set.name, z, len(seq))
			}
		}
	}
}

// settleLayout waits until no background rewrite is scheduled.
func settleLayout(t *testing.T, app core.App, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		rewrites, pending, took, due := storage.LayoutState(app)
		if !pending {
			t.Logf("layout settled: %d rewrites, the last took %v", rewrites, took)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a background rewrite is still scheduled after %v (due %v)", limit, due)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// uniqueVector is testsupport.Vector whose last three values differ from every
// other vector the test makes (serial counts them), so that the tail of
// its stored text names one row.
func uniqueVector(n int, seed float64, serial *int) []float64 {
	v := testsupport.Vector(n, seed)
	*serial++
	for k := 1; k <= 3; k++ {
		v[n-k] = 0.25 + float64(*serial*7+k)/1e5
	}
	return v
}

// seedLayoutSongs stores n songs (analysis, musicnn and clap vectors) in
// dump order, as an import does, until data.db is past RewriteBelow.
func seedLayoutSongs(t testing.TB, app core.App, n int) {
	t.Helper()
	serial := 1 << 24 // tails apart from those of the uploads
	for start := 0; start < n; start += 1000 {
		songs := make([]map[string]any, 0, 1000)
		for i := start; i < min(n, start+1000); i++ {
			songs = append(songs, map[string]any{"artist": fmt.Sprintf("Seed %d", i/10), "title": fmt.Sprintf("Seed song %d", i),
				"tempo": 100, "key": "C", "scale": "major", "mood_vector": "rock:0.5", "energy": 0.5,
				"embeddings": map[string]any{"musicnn": uniqueVector(200, float64(i), &serial), "clap": uniqueVector(512, float64(i)+0.5, &serial)}})
		}
		contribs, errs := songdata.CheckSongs(songs, "songs.")
		if errs != nil {
			t.Fatal(errs)
		}
		if _, err := contribute.New(app, nil, nil).Import(contribs); err != nil {
			t.Fatal(err)
		}
	}
	if err := storage.Checkpoint(app); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(app.DataDir(), "data.db")); err != nil || fi.Size() < storage.RewriteBelow {
		t.Fatalf("the seeded data.db is smaller than %d bytes: the test would not reach the reserve", storage.RewriteBelow)
	}
}

// The reserve is refilled to its target (the scratch rows take the free
// pages left first), and secure_delete is on again afterwards.
func TestReserveTopUp(t *testing.T) {
	t.Parallel()
	app := testsupport.NewApp(t)
	defer app.Cleanup()
	free := func() int {
		var n int
		if err := app.DB().NewQuery("PRAGMA freelist_count").Row(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for round := range 3 {
		if err := storage.TopUpReserve(app); err != nil {
			t.Fatal(err)
		}
		if n := free(); n < storage.ReserveTarget {
			t.Fatalf("round %d: %d free pages after a top-up, want at least %d", round, n, storage.ReserveTarget)
		}
		// the pages in use leave the reserve out
		var pages, size int64
		if err := app.DB().NewQuery("PRAGMA page_count").Row(&pages); err != nil {
			t.Fatal(err)
		}
		if err := app.DB().NewQuery("PRAGMA page_size").Row(&size); err != nil {
			t.Fatal(err)
		}
		if used, err := storage.UsedBytes(app); err != nil || used != (pages-int64(free()))*size || used <= 0 {
			t.Fatalf("round %d: %d bytes in use (%v), want (%d pages - %d free) x %d", round, used, err, pages, free(), size)
		}
		var secure int
		if err := app.NonconcurrentDB().NewQuery("PRAGMA secure_delete").Row(&secure); err != nil || secure != 1 {
			t.Fatalf("secure_delete = %d (%v) after a top-up", secure, err)
		}
		// use most of the reserve, as uploads would
		if _, err := app.NonconcurrentDB().NewQuery("CREATE TABLE IF NOT EXISTS use_reserve (v BLOB)").Execute(); err != nil {
			t.Fatal(err)
		}
		for i := 0; free() >= storage.ReserveLow; i++ {
			if i > 20 {
				t.Fatalf("round %d: still %d free pages: the test would not refill", round, free())
			}
			if _, err := app.NonconcurrentDB().NewQuery("INSERT INTO use_reserve (v) SELECT zeroblob(4000) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 1000) SELECT x FROM c)").Execute(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
