package hooks_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"songcommons/internal/testsupport"
	"songcommons/songdata"
)

// identitySong is a /contribute song with an analysis, the tags given and
// one corpus fingerprint.
func identitySong(artist, title string, p testsupport.Print, dur float64) map[string]any {
	return map[string]any{"artist": artist, "title": title, "tempo": 120.0, "key": "C", "scale": "major",
		"fingerprint": p.Fingerprint, "duration": dur}
}

// contributeIdentities uploads songs and returns each song's identity.
func contributeIdentities(t *testing.T, srv *httptest.Server, token string, songs ...map[string]any) []map[string]any {
	t.Helper()
	code, out := call(t, srv, http.MethodPost, "/api/songcommons/contribute", token, map[string]any{"songs": songs})
	if code != 200 {
		t.Fatalf("contribute: %d %v", code, out)
	}
	var ids []map[string]any
	for _, s := range out["songs"].([]any) {
		ids = append(ids, s.(map[string]any)["identity"].(map[string]any))
	}
	return ids
}

func lookupResults(t *testing.T, srv *httptest.Server, songs ...map[string]any) []map[string]any {
	t.Helper()
	code, out := call(t, srv, http.MethodPost, "/api/songcommons/lookup", "", map[string]any{"songs": songs})
	if code != 200 {
		t.Fatalf("lookup: %d %v", code, out)
	}
	var res []map[string]any
	for _, r := range out["results"].([]any) {
		res = append(res, r.(map[string]any))
	}
	return res
}

// Every variant of a real recording (re-encoded, trimmed, quieter), sent
// under other tags, joins the song of the first upload; its tags then find
// that song (an alias); another recording under the same tags is not
// merged; lookups by fingerprint (compressed or raw) find each recording
// and say how; music that was never uploaded is not found.
func TestIdentityByFingerprint(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	srv := serve(t, app)
	token := tokenFor(t, aliceID)
	copied, others := testsupport.Copied(t)

	// two recordings, each first under its real tags, then its five
	// variants under other tags each
	variants := map[string][]testsupport.Print{}
	var recordings []string
	for _, c := range copied[:2] {
		recordings = append(recordings, c[0].Recording)
		variants[c[0].Recording] = c
	}
	songKey := map[string]string{}
	for _, rec := range recordings {
		orig := variants[rec][0]
		id := contributeIdentities(t, srv, token, identitySong("Wesnoth", rec, orig, orig.Duration))[0]
		if id["matched_by"] != "tags" {
			t.Fatalf("%s: first upload %v", rec, id)
		}
		songKey[rec] = id["song_key"].(string)
		var songs []map[string]any
		for i, v := range variants[rec][1:] {
			songs = append(songs, identitySong(fmt.Sprintf("Wesnoth Orchestra %d", i), rec+" ("+v.Variant+" remaster)", v, v.Duration))
		}
		for i, id := range contributeIdentities(t, srv, token, songs...) {
			if id["matched_by"] != "fingerprint" || id["song_key"] != songKey[rec] || id["score"].(float64) < 0.9 {
				t.Errorf("%s %s: identity %v, want the song %q by fingerprint", rec, variants[rec][i+1].Variant, id, songKey[rec])
			}
		}
	}
	if n := countRows(t, app, "songs"); n != 2 {
		t.Fatalf("%d songs, want 2 (every variant joined its recording)", n)
	}
	var fps []int
	if err := app.DB().NewQuery("SELECT fingerprints FROM songs ORDER BY song_key").Column(&fps); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(fps) != "[6 6]" {
		t.Errorf("fingerprints per song %v, want [6 6]", fps)
	}

	// the same tags on another recording: recording 1 under recording 0's
	// tags joins recording 1; music not in the dataset under them gets a
	// song of its own
	other := variants[recordings[1]][0]
	id := contributeIdentities(t, srv, token, identitySong("Wesnoth", recordings[0], other, other.Duration))[0]
	if id["matched_by"] != "fingerprint" || id["song_key"] != songKey[recordings[1]] {
		t.Errorf("recording 1 under recording 0's tags: %v, want recording 1's song by fingerprint", id)
	}
	unseen := others[0]
	id = contributeIdentities(t, srv, token, identitySong("Wesnoth", recordings[0], unseen, unseen.Duration))[0]
	if id["matched_by"] != "tags" || id["new_recording"] != true || !strings.HasPrefix(id["song_key"].(string), songKey[recordings[0]]+songdata.SongKeySeparator) {
		t.Errorf("a new recording under recording 0's tags: %v, want a song of its own", id)
	}
	if n := countRows(t, app, "songs"); n != 3 {
		t.Errorf("%d songs, want 3", n)
	}

	// lookups: by every variant's fingerprint (the trimmed one raw), by a
	// variant's tags (an alias), and by music never uploaded
	for _, rec := range recordings {
		var qs []map[string]any
		for _, v := range variants[rec] {
			q := map[string]any{"fingerprint": v.Fingerprint, "duration": v.Duration}
			if v.Variant == "trim3" {
				q = map[string]any{"fingerprint_raw": v.Raw, "duration": v.Duration}
			}
			qs = append(qs, q)
		}
		for i, r := range lookupResults(t, srv, qs...) {
			m, _ := r["fingerprint_match"].(map[string]any)
			if r["found"] != true || r["song_key"] != songKey[rec] || r["matched_by"] != "fingerprint" || m == nil || m["score"].(float64) < 0.9 || m["overlap"].(float64) < 20 {
				t.Errorf("lookup of %s %s: %v", rec, variants[rec][i].Variant, r)
			}
		}
	}
	r := lookupResults(t, srv,
		map[string]any{"artist": "Wesnoth Orchestra 2", "title": recordings[0] + " (aac remaster)"},
		map[string]any{"fingerprint": others[len(others)-1].Fingerprint, "duration": others[len(others)-1].Duration},
		map[string]any{"artist": "Wesnoth", "title": recordings[0]})
	if r[0]["found"] != true || r[0]["song_key"] != songKey[recordings[0]] || r[0]["matched_by"] != "artist_title" || r[0]["alias"] != true {
		t.Errorf("lookup by a variant's tags: %v, want recording 0's song through the alias", r[0])
	}
	if r[1]["found"] != false {
		t.Errorf("lookup of music never uploaded: %v", r[1])
	}
	if r[2]["found"] != true || r[2]["song_key"] != songKey[recordings[0]] || r[2]["matched_by"] != "artist_title" || r[2]["alias"] != nil {
		t.Errorf("lookup by the first tags: %v", r[2])
	}

	// a song without a fingerprint under an alias joins the song
	plain := map[string]any{"artist": "Wesnoth Orchestra 2", "title": recordings[0] + " (aac remaster)", "tempo": 121.0, "key": "D", "scale": "minor"}
	id = contributeIdentities(t, srv, token, plain)[0]
	if id["matched_by"] != "alias" || id["song_key"] != songKey[recordings[0]] {
		t.Errorf("an upload without fingerprint under an alias: %v", id)
	}

	// the record API: a score record with a fingerprint joins by it
	v := variants[recordings[1]][4]
	code, out := call(t, srv, http.MethodPost, "/api/collections/score/records", token, map[string]any{
		"artist": "Somebody", "title": "Something", "tempo": 99.0, "key": "E", "scale": "major", "fingerprint": v.Fingerprint, "duration": v.Duration})
	if code != 200 || out["song_key"] != songKey[recordings[1]] || out["tags_key"] != songdata.SongKey("Somebody", "Something") {
		t.Errorf("record API with a fingerprint: %d %v, want song %q", code, out, songKey[recordings[1]])
	}
	// ... or fpcalc -raw's integers, stored compressed
	v = variants[recordings[0]][2]
	code, out = call(t, srv, http.MethodPost, "/api/collections/score/records", token, map[string]any{
		"artist": "Somebody Else", "title": "Something", "tempo": 99.0, "key": "E", "scale": "major", "fingerprint_raw": v.Raw, "duration": v.Duration})
	if code != 200 || out["song_key"] != songKey[recordings[0]] || out["fingerprint"] != v.Fingerprint {
		t.Errorf("record API with a raw fingerprint: %d song_key %v, want %q and the compressed form", code, out["song_key"], songKey[recordings[0]])
	}
	// /api/batch (the fast path) answers the song the row was filed under
	v = variants[recordings[0]][1]
	var batch []any
	for _, c := range []string{"A", "B"} {
		batch = append(batch, map[string]any{"method": "POST", "url": "/api/collections/score/records", "body": map[string]any{
			"artist": "Batch " + c, "title": "Copy", "tempo": 99.0, "key": "E", "scale": "major", "fingerprint": v.Fingerprint, "duration": v.Duration}})
	}
	code, bout, _ := testsupport.Request(t, srv, http.MethodPost, "/api/batch", token, map[string]any{"requests": batch})
	if code != 200 || strings.Count(string(bout), `"song_key":"`+songKey[recordings[0]]+`"`) != 2 {
		t.Errorf("batch with fingerprints: %d, want both rows under %q", code, songKey[recordings[0]])
	}
}

// Two songs whose durations differ by more than the duration check allows
// (an album take and an edit 10 s longer) stay apart; a query whose
// duration lies between them matches both: the answer lists both and
// picks none, for a lookup and for an upload.
func TestFingerprintAmbiguityIsReported(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	srv := serve(t, app)
	token := tokenFor(t, aliceID)
	copied, _ := testsupport.Copied(t)
	rec := copied[0]
	d := rec[0].Duration
	a := contributeIdentities(t, srv, token, identitySong("Band", "Album take", rec[0], d))[0]
	b := contributeIdentities(t, srv, token, identitySong("Band", "Long edit", rec[1], d+10))[0]
	if a["song_key"] == b["song_key"] || b["matched_by"] != "tags" {
		t.Fatalf("recordings 10 s apart were merged: %v %v", a, b)
	}
	r := lookupResults(t, srv, map[string]any{"fingerprint": rec[3].Fingerprint, "duration": d + 5})[0]
	cands, _ := r["candidates"].([]any)
	if r["found"] != false || r["matched_by"] != "fingerprint" || len(cands) != 2 {
		t.Fatalf("ambiguous lookup: %v, want found:false and 2 candidates", r)
	}
	for _, c := range cands {
		c := c.(map[string]any)
		if c["song_key"] != a["song_key"] && c["song_key"] != b["song_key"] || c["fingerprint_match"] == nil || c["title"] == "" {
			t.Errorf("candidate %v", c)
		}
	}
	id := contributeIdentities(t, srv, token, identitySong("Band", "Radio edit", rec[2], d+5))[0]
	if cs, _ := id["candidates"].([]any); len(cs) != 2 || id["song_key"] != songdata.SongKey("Band", "Radio edit") {
		t.Errorf("ambiguous upload: %v, want its own tags and 2 candidates", id)
	}
}

// A bad fingerprint is refused with a 400 naming the field, on every
// entry point, and nothing is stored.
func TestBadFingerprintsAreRefused(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	srv := serve(t, app)
	token := tokenFor(t, aliceID)
	p := testsupport.Prints(t)[0]
	song := func(edit map[string]any) map[string]any {
		s := map[string]any{"artist": "A", "title": "T", "tempo": 120.0, "duration": p.Duration}
		for k, v := range edit {
			if v == nil {
				delete(s, k)
			} else {
				s[k] = v
			}
		}
		return s
	}
	cases := []struct {
		name, field string
		song        map[string]any
	}{
		{"truncated", "fingerprint", song(map[string]any{"fingerprint": p.Fingerprint[:len(p.Fingerprint)/2]})},
		{"not base64", "fingerprint", song(map[string]any{"fingerprint": "AQAA!!not base64"})},
		{"another algorithm", "fingerprint", song(map[string]any{"fingerprint": "AAAAAA"})},
		{"raw not numbers", "fingerprint_raw", song(map[string]any{"fingerprint_raw": []any{"a", "b"}})},
		{"raw not a list", "fingerprint_raw", song(map[string]any{"fingerprint_raw": "1,2,3"})},
		{"both forms", "fingerprint_raw", song(map[string]any{"fingerprint": p.Fingerprint, "fingerprint_raw": p.Raw})},
		{"no duration", "duration", song(map[string]any{"fingerprint": p.Fingerprint, "duration": nil})},
		{"longer than the duration", "fingerprint", song(map[string]any{"fingerprint": p.Fingerprint, "duration": 10.0})},
	}
	for _, c := range cases {
		code, out := call(t, srv, http.MethodPost, "/api/songcommons/contribute", token,
			map[string]any{"songs": []any{song(nil), c.song}})
		data, _ := out["data"].(map[string]any)
		if code != 400 || data["songs.1."+c.field] == nil {
			t.Errorf("contribute, %s: %d %v, want 400 naming songs.1.%s", c.name, code, out, c.field)
		}
		lq := map[string]any{}
		for _, k := range []string{"fingerprint", "fingerprint_raw", "duration"} {
			if v, ok := c.song[k]; ok {
				lq[k] = v
			}
		}
		code, out = call(t, srv, http.MethodPost, "/api/songcommons/lookup", "", map[string]any{"songs": []any{lq}})
		data, _ = out["data"].(map[string]any)
		if code != 400 || data["songs.0."+c.field] == nil {
			t.Errorf("lookup, %s: %d %v, want 400 naming songs.0.%s", c.name, code, out, c.field)
		}
	}
	code, out := call(t, srv, http.MethodPost, "/api/collections/score/records", token, song(map[string]any{"fingerprint": "AQAAxyz"}))
	if data, _ := out["data"].(map[string]any); code != 400 || data["fingerprint"] == nil {
		t.Errorf("record API: %d %v", code, out)
	}
	code, out = call(t, srv, http.MethodPost, "/api/collections/score/records", token, song(map[string]any{"fingerprint_raw": []any{"a"}}))
	if data, _ := out["data"].(map[string]any); code != 400 || data["fingerprint_raw"] == nil {
		t.Errorf("record API, raw: %d %v", code, out)
	}
	for _, tbl := range []string{"score", "songs", "song_fingerprints"} {
		if n := countRows(t, app, tbl); n != 0 {
			t.Errorf("%d %s rows stored by refused requests", n, tbl)
		}
	}
}

// The fingerprint index follows deletes: a song's only fingerprinted
// contribution deleted by receipt takes the song out of fingerprint
// lookups; a superuser deleting a song (moderation) does the same.
func TestFingerprintIndexFollowsDeletes(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	srv := serve(t, app)
	token := tokenFor(t, aliceID)
	copied, _ := testsupport.Copied(t)
	a, b := copied[0], copied[1]
	const secret = "identity-receipt-secret-0123456789"
	code, out := call(t, srv, http.MethodPost, "/api/songcommons/contribute", token, map[string]any{"songs": []any{
		identitySong("Band", "First", a[0], a[0].Duration), identitySong("Band", "Second", b[0], b[0].Duration)}, "receipt_secret": secret})
	if code != 200 {
		t.Fatalf("contribute: %d %v", code, out)
	}
	rows := out["receipt"].(map[string]any)["rows"].([]any)
	found := func() []any {
		var fs []any
		for _, r := range lookupResults(t, srv, map[string]any{"fingerprint": a[2].Fingerprint, "duration": a[2].Duration},
			map[string]any{"fingerprint": b[2].Fingerprint, "duration": b[2].Duration}) {
			fs = append(fs, r["found"])
		}
		return fs
	}
	if got := fmt.Sprint(found()); got != "[true true]" {
		t.Fatalf("before the deletes: %s", got)
	}
	if code, out := call(t, srv, http.MethodPost, "/api/songcommons/receipts/delete", "", map[string]any{"secret": secret, "rows": rows[:1]}); code != 200 {
		t.Fatalf("receipt delete: %d %v", code, out)
	}
	if got := fmt.Sprint(found()); got != "[false true]" {
		t.Errorf("after the receipt delete of the first song: %s", got)
	}
	var id string
	if err := app.DB().NewQuery("SELECT id FROM songs WHERE song_key = {:k}").Bind(map[string]any{"k": songdata.SongKey("Band", "Second")}).Row(&id); err != nil {
		t.Fatal(err)
	}
	if code, out := call(t, srv, http.MethodDelete, "/api/collections/songs/records/"+id, tokenFor(t, superuserID), nil); code != 204 {
		t.Fatalf("song delete: %d %v", code, out)
	}
	if got := fmt.Sprint(found()); got != "[false false]" {
		t.Errorf("after the superuser's song delete: %s", got)
	}
	if n := countRows(t, app, "song_fingerprints"); n != 0 {
		t.Errorf("%d song_fingerprints rows left", n)
	}
}

// Two contributors uploading the same new recording under different tags
// at the same moment get one song: the second to store sees the first's
// fingerprint (fingerprinted uploads decide identity and store one at a
// time), never two songs of one recording.
func TestConcurrentUploadsOfOneRecordingMakeOneSong(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	srv := serve(t, app)
	tokens := []string{tokenFor(t, aliceID), tokenFor(t, bobID)}
	copied, _ := testsupport.Copied(t)
	for _, c := range copied {
		orig, variant := c[0], c[1]
		songs := []map[string]any{
			identitySong("Wesnoth", orig.Recording, orig, orig.Duration),
			identitySong("Wesnoth Orchestra", orig.Recording+" ("+variant.Variant+")", variant, variant.Duration),
		}
		keys := make([]string, 2)
		var wg sync.WaitGroup
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, out := call(t, srv, http.MethodPost, "/api/songcommons/contribute", tokens[i], map[string]any{"songs": songs[i : i+1]})
				if code != 200 {
					t.Errorf("contribute: %d %v", code, out)
					return
				}
				keys[i] = out["songs"].([]any)[0].(map[string]any)["identity"].(map[string]any)["song_key"].(string)
			}()
		}
		wg.Wait()
		if keys[0] != keys[1] {
			t.Errorf("%s: the original and its %s copy, uploaded at once, made two songs: %q and %q", orig.Recording, variant.Variant, keys[0], keys[1])
		}
	}
	if n := countRows(t, app, "song_fingerprints"); n != len(copied) {
		t.Errorf("%d song_fingerprints rows for %d recordings", n, len(copied))
	}
}
