package hooks_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"songcommons/internal/testsupport"
	"sort"
	"strings"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// contributedColumns is the whole public contract of the contributed tables:
// any other column (a user relation, created/updated, an upload id…) fails
// the attribution test.
var contributedColumns = map[string][]string{
	"score": {"album", "analyzer", "artist", "duration", "energy", "fingerprint", "id", "isrc", "key", "mbid",
		"mood_vector", "other_features", "receipt", "scale", "song_key", "tags_key", "tempo", "title"},
	"embedding": {"album", "analyzer", "artist", "duration", "embedding", "id", "isrc", "mbid",
		"model", "receipt", "song_key", "tags_key", "title"},
	// derived: one consensus row per song
	"songs": {"album", "artist", "contributions", "duration", "embeddings", "energy", "fingerprints", "id", "isrc", "key",
		"key_agreement", "mbid", "mood_vector", "other_features", "outliers", "scale", "song_key", "tempo",
		"tempo_agreement", "title"},
	// derived: one consensus vector per song and model (WITHOUT ROWID)
	"song_vectors": {"model", "song_key", "vec"},
	// derived: the sketch and duration of the fingerprint a song is matched against (id: a hash of the song key)
	"song_fingerprints": {"duration", "id", "sketch", "song_key"},
}

type tableRow struct {
	db, table string
	values    map[string]string
}

// allRows reads every row of every table of one database.
func allRows(t testing.TB, db dbx.Builder, name string) []tableRow {
	t.Helper()
	var tables []string
	if err := db.NewQuery("SELECT name FROM sqlite_master WHERE type='table'").Column(&tables); err != nil {
		t.Fatal(err)
	}
	var out []tableRow
	for _, tbl := range tables {
		rows, err := db.NewQuery(fmt.Sprintf("SELECT * FROM %q", tbl)).Rows()
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			m := dbx.NullStringMap{}
			if err := rows.ScanMap(m); err != nil {
				t.Fatal(err)
			}
			r := tableRow{db: name, table: tbl, values: map[string]string{}}
			for k, v := range m {
				r.values[k] = v.String
			}
			out = append(out, r)
		}
		rows.Close()
	}
	return out
}

// uploads contributes songs as one user: two single creates and a batch.
func uploads(t testing.TB, call2 func(method, path string, body any) (int, map[string]any), artist string, n int) {
	t.Helper()
	for i := range 2 {
		code, out := call2(http.MethodPost, "/api/collections/score/records", map[string]any{
			"artist": artist, "title": fmt.Sprintf("Single %d", i), "tempo": 100 + i, "key": "C", "scale": "major"})
		if code != 200 {
			t.Fatalf("create: %d %v", code, out)
		}
	}
	songs := audioMuseLibrary(n)
	for i := range songs {
		songs[i].artist = artist
	}
	code, out := call2(http.MethodPost, "/api/batch", batchRequests(songs))
	if code != 200 {
		t.Fatalf("batch: %d %v", code, out)
	}
}

// bulk uploads 10 songs through /contribute with a receipt, the first
// ones with the fingerprints of prints (real audio), and returns the
// receipt rows.
func bulk(t testing.TB, call2 func(method, path string, body any) (int, map[string]any), artist, secret string, prints ...testsupport.Print) []any {
	t.Helper()
	songs := contributeSongs(10)
	for i, s := range songs {
		s["artist"] = artist
		if i < len(prints) {
			s["fingerprint"], s["duration"] = prints[i].Fingerprint, prints[i].Duration
		}
	}
	code, out := call2(http.MethodPost, "/api/songcommons/contribute", map[string]any{"songs": songs, "receipt_secret": secret})
	if code != 200 {
		t.Fatalf("contribute: %d %v", code, out)
	}
	return out["receipt"].(map[string]any)["rows"].([]any)
}

// TestNoAttribution is the promise of the service: two users contribute;
// then nothing in data.db or auxiliary.db (columns, other tables, request
// logs, rowid order) leads from a contributed row to either account.
func TestNoAttribution(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	app.Settings().Logs.MaxDays = 3 // request logs on, as in production
	srv := serve(t, app)

	as := func(token string) func(method, path string, body any) (int, map[string]any) {
		return func(method, path string, body any) (int, map[string]any) {
			return call(t, srv, method, path, token, body)
		}
	}
	const aliceArtist, bobArtist = "Alicia Zebrafinch", "Bobby Quokkaband"
	// alice uploads everything first, then bob: the order of the requests is
	// as revealing as it can be
	alice, bob := as(tokenFor(t, aliceID)), as(tokenFor(t, bobID))
	copied, _ := testsupport.Copied(t)
	uploads(t, alice, aliceArtist, 20)
	receiptA := bulk(t, alice, aliceArtist, "alice-secret-0123456789abcdef", copied[0][0], copied[1][0])
	uploads(t, bob, bobArtist, 20)
	bulk(t, bob, bobArtist, "bob-secret-0123456789abcdef", copied[2][0], copied[3][0])
	if n := countRows(t, app, "song_fingerprints"); n != 4 {
		t.Fatalf("%d song_fingerprints rows, want 4 (fingerprints are held to the same rules as every contributed row)", n)
	}
	// the rest of a realistic day: consent renewed, data downloaded, a row
	// erased by receipt, a privacy request, lookups, the quota flush
	for _, u := range []func(string, string, any) (int, map[string]any){alice, bob} {
		if code, out := u(http.MethodPost, "/api/songcommons/me/consent", map[string]any{"accept": true, "version": 1}); code != 200 {
			t.Fatalf("consent: %d %v", code, out)
		}
		if code, _ := u(http.MethodGet, "/api/songcommons/me", nil); code != 200 {
			t.Fatal(code)
		}
		if code, _ := u(http.MethodPost, "/api/songcommons/lookup", map[string]any{"songs": []any{
			map[string]any{"artist": aliceArtist, "title": "Single 0"}, map[string]any{"artist": bobArtist, "title": "Single 1"}}}); code != 200 {
			t.Fatal(code)
		}
	}
	if code, out := call(t, srv, http.MethodPost, "/api/songcommons/receipts/delete", "", map[string]any{
		"secret": "alice-secret-0123456789abcdef", "rows": receiptA[:1]}); code != 200 || out["deleted"] != 1.0 {
		t.Fatalf("receipt delete: %d %v", code, out)
	}
	if code, _ := bob(http.MethodPost, "/api/songcommons/privacy-requests", map[string]any{"text": "Please tell me what you hold", "contact": "bob@mail.example"}); code != 201 {
		t.Fatal(code)
	}
	// both look songs up the way sync clients do (artist names in the query)
	for _, a := range []string{aliceArtist, bobArtist} {
		q := url.Values{"filter": {fmt.Sprintf(`artist="%s"`, a)}, "perPage": {"500"}}
		if code, _ := call(t, srv, http.MethodGet, "/api/collections/score/records?"+q.Encode(), tokenFor(t, aliceID), nil); code != 200 {
			t.Fatal(code)
		}
	}
	waitForLogs(t, app)

	// which rows belong to whom (the test knows; the database must not)
	owner := map[string]string{}
	for _, tbl := range []string{"score", "embedding", "songs"} {
		var rows []struct {
			ID     string `db:"id"`
			Artist string `db:"artist"`
		}
		if err := app.DB().NewQuery("SELECT id, artist FROM " + tbl).All(&rows); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			owner[r.ID] = r.Artist
		}
	}
	// per user: score 2 + 20 + 10 (alice: one erased), embedding 20 + 10, songs 32
	if want := (2*32 - 1) + 2*30 + 2*32; len(owner) != want {
		t.Fatalf("%d contributed and derived rows, want %d", len(owner), want)
	}

	// receipt tags are distinct and appear nowhere but on their row
	tags := map[string]bool{}
	for _, tbl := range []string{"score", "embedding"} {
		var ts []string
		if err := app.DB().NewQuery("SELECT receipt FROM " + tbl + " WHERE receipt != ''").Column(&ts); err != nil {
			t.Fatal(err)
		}
		for _, tag := range ts {
			if tags[tag] {
				t.Fatalf("two rows share the receipt tag %s", tag)
			}
			tags[tag] = true
		}
	}
	if len(tags) != 2*20-1 { // 10 songs × (score + embedding) per user, one row erased
		t.Fatalf("%d receipt tags, want %d", len(tags), 2*20-1)
	}

	// everything that identifies an account
	accountMarks := []string{aliceID, bobID, aliceGH, bobGH, tokenFor(t, aliceID), tokenFor(t, bobID)}
	for _, id := range []string{aliceID, bobID} {
		u, err := app.FindRecordById("users", id)
		if err != nil {
			t.Fatal(err)
		}
		accountMarks = append(accountMarks, u.TokenKey())
		links, _ := app.FindAllExternalAuthsByRecord(u)
		for _, l := range links {
			accountMarks = append(accountMarks, l.Id)
		}
	}

	rows := append(allRows(t, app.DB(), "data.db"), allRows(t, app.AuxDB(), "auxiliary.db")...)
	for _, r := range rows {
		_, contributed := contributedColumns[r.table]
		if contributed && r.db == "data.db" {
			cols := make([]string, 0, len(r.values))
			for c := range r.values {
				cols = append(cols, c)
			}
			sort.Strings(cols)
			if !slices.Equal(cols, contributedColumns[r.table]) {
				t.Fatalf("%s has columns %v, want exactly %v", r.table, cols, contributedColumns[r.table])
			}
			for c, v := range r.values {
				for _, m := range accountMarks {
					if m != "" && strings.Contains(v, m) {
						t.Errorf("%s.%s of row %s holds account mark %q", r.table, c, r.values["id"], m)
					}
				}
			}
			continue
		}
		// no other table may point at a contributed row or repeat its content
		for c, v := range r.values {
			for tag := range tags {
				if strings.Contains(v, tag) {
					t.Errorf("%s %s.%s holds a receipt tag", r.db, r.table, c)
				}
			}
			for id := range owner {
				if strings.Contains(v, id) {
					t.Errorf("%s %s.%s refers to contributed row %s: %.200q", r.db, r.table, c, id, v)
				}
			}
			for _, a := range []string{aliceArtist, bobArtist, "Zebrafinch", "Quokkaband"} {
				if strings.Contains(v, a) || strings.Contains(v, url.QueryEscape(a)) {
					t.Errorf("%s %s.%s names contributed songs: %.200q", r.db, r.table, c, v)
				}
			}
		}
		if r.table == "_logs" {
			if strings.Contains(r.values["data"], "authId") {
				t.Errorf("a log entry holds an auth id: %s", r.values["data"])
			}
			if strings.Contains(r.values["data"], "127.0.0.1") {
				t.Errorf("a log entry holds a full IP: %s", r.values["data"])
			}
		}
	}

	// rowid order must not separate the two users' rows, nor follow the
	// order of one upload
	for _, tbl := range []string{"score", "embedding", "songs"} {
		var ids []string
		if err := app.DB().NewQuery("SELECT id FROM " + tbl + " ORDER BY rowid").Column(&ids); err != nil {
			t.Fatal(err)
		}
		half := len(ids) / 2
		aliceInFirstHalf := 0
		for _, id := range ids[:half] {
			if owner[id] == aliceArtist {
				aliceInFirstHalf++
			}
		}
		if aliceInFirstHalf == 0 || aliceInFirstHalf == half {
			t.Errorf("%s: rowid order separates the two users (alice has %d of the first %d rows)", tbl, aliceInFirstHalf, half)
		}
		var titles []string
		if err := app.DB().NewQuery("SELECT title FROM " + tbl + " WHERE artist = {:a} AND title LIKE 'Track%' ORDER BY rowid").
			Bind(dbx.Params{"a": aliceArtist}).Column(&titles); err != nil {
			t.Fatal(err)
		}
		if slices.IsSorted(titles) {
			t.Errorf("%s: rowid order follows the upload order of one batch: %v", tbl, titles)
		}
	}

	// no table links an auth record to anything but its OAuth link
	if n := countRows(t, app, core.CollectionNameAuthOrigins); n != 0 {
		t.Errorf("%d auth origin fingerprints", n)
	}
}
