package hooks_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pocketbase/pocketbase/tests"

	"songcommons/songdata"
)

// audioMuseSong is what the AudioMuse-AI collection sync uploads for a song.
type audioMuseSong struct {
	artist, title, key, scale, moods, other string
	tempo, energy                           float64
	embedding                               []float64
}

func audioMuseLibrary(n int) []audioMuseSong {
	keys := []string{"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"}
	songs := make([]audioMuseSong, n)
	for i := range songs {
		songs[i] = audioMuseSong{
			// the client's artist is the album artist; two artists share the library
			artist: []string{"Daft Punk", `The "Quoted" \ Band`}[i%2],
			title:  fmt.Sprintf("Track %02d – Ünïcode", i),
			tempo:  90 + float64(i)*1.37,
			key:    keys[i%12],
			scale:  []string{"major", "minor"}[i%2],
			// as the client writes them: top moods, score descending, 3 decimals, labels as MusiCNN names them
			moods:  fmt.Sprintf("Hip-Hop:0.%03d,rock:0.412,female vocalists:0.300,00s:0.120", 500+i),
			energy: 0.01 + float64(i)/1000,
			other:  "danceable:0.71,aggressive:0.02,happy:0.40,party:0.33,relaxed:0.10,sad:0.05",
			// float32 values printed in full double form, as numpy's tolist() gives them
			embedding: func() []float64 {
				v := testVector(200, float64(i+1))
				for j := range v {
					v[j] = float64(float32(v[j] * 0.123456789))
				}
				return v
			}(),
		}
	}
	return songs
}

// batchRequests builds the client's /api/batch body: embedding first, then
// score, for each song; the embedding sent as json.dumps(list).
func batchRequests(songs []audioMuseSong) map[string]any {
	reqs := []map[string]any{}
	for _, s := range songs {
		embJSON, _ := json.Marshal(s.embedding)
		reqs = append(reqs, map[string]any{"method": "POST", "url": "/api/collections/embedding/records",
			"body": map[string]any{"artist": s.artist, "title": s.title, "embedding": string(embJSON)}})
		reqs = append(reqs, map[string]any{"method": "POST", "url": "/api/collections/score/records",
			"body": map[string]any{"title": s.title, "artist": s.artist, "tempo": s.tempo, "key": s.key,
				"scale": s.scale, "mood_vector": s.moods, "energy": s.energy, "other_features": s.other}})
	}
	return map[string]any{"requests": reqs}
}

// sanitizeForFilter is the client's escaping of a value in a filter.
func sanitizeForFilter(v string) string {
	return strings.ReplaceAll(strings.ReplaceAll(v, `\`, `\\`), `"`, `\"`)
}

// parseMoods reads "label:score,…" into a map by label, as the client
// does: a label spelled differently is another label.
func parseMoods(s string) map[string]float64 {
	out := map[string]float64{}
	for _, p := range strings.Split(s, ",") {
		if k, v, ok := strings.Cut(p, ":"); ok {
			f, _ := strconv.ParseFloat(v, 64)
			out[k] = f
		}
	}
	return out
}

// TestAudioMuseSync replays the AudioMuse-AI collection sync against a real
// HTTP server: lookups by artist filter with perPage=500, and uploads of 25
// songs per /api/batch (50 sub-requests), then checks that every field
// reads back as the client parses it.
func TestAudioMuseSync(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	srv := serve(t, app)
	token := tokenFor(t, aliceID) // the client sends the raw token, no "Bearer"

	lookup := func(collection string, artists []string) []map[string]any {
		parts := make([]string, len(artists))
		for i, a := range artists {
			parts[i] = fmt.Sprintf(`artist="%s"`, sanitizeForFilter(a))
		}
		q := url.Values{"filter": {strings.Join(parts, " || ")}, "perPage": {"500"}}
		code, out := call(t, srv, http.MethodGet, "/api/collections/"+collection+"/records?"+q.Encode(), token, nil)
		if code != 200 {
			t.Fatalf("lookup %s: %d %v", collection, code, out)
		}
		items, _ := out["items"].([]any)
		res := make([]map[string]any, len(items))
		for i, it := range items {
			res[i] = it.(map[string]any)
		}
		return res
	}
	artists := []string{"Daft Punk", `The "Quoted" \ Band`}

	// 1. nothing there yet
	if n := len(lookup("embedding", artists)); n != 0 {
		t.Fatalf("empty dataset returned %d embeddings", n)
	}

	// 2. upload 50 songs, 25 per batch
	songs := audioMuseLibrary(50)
	for i := 0; i < len(songs); i += 25 {
		body := batchRequests(songs[i : i+25])
		if n := len(body["requests"].([]map[string]any)); n != 50 {
			t.Fatalf("batch of %d sub-requests, want 50", n)
		}
		code, out := call(t, srv, http.MethodPost, "/api/batch", token, body)
		if code != 200 {
			t.Fatalf("batch: %d %v", code, out)
		}
	}

	// 3. look up again, match client-side on (artist, title) lower-cased
	embs := lookup("embedding", artists)
	scores := lookup("score", artists)
	if len(embs) != 50 || len(scores) != 50 {
		t.Fatalf("got %d embeddings and %d scores, want 50 each", len(embs), len(scores))
	}
	type key struct{ a, t string }
	k := func(r map[string]any) key {
		return key{strings.ToLower(strings.TrimSpace(r["artist"].(string))), strings.ToLower(strings.TrimSpace(r["title"].(string)))}
	}
	embBy, scoreBy := map[key]map[string]any{}, map[key]map[string]any{}
	for _, r := range embs {
		embBy[k(r)] = r
	}
	for _, r := range scores {
		scoreBy[k(r)] = r
	}
	for _, s := range songs {
		sk := key{strings.ToLower(s.artist), strings.ToLower(s.title)}
		e, sc := embBy[sk], scoreBy[sk]
		if e == nil || sc == nil {
			t.Fatalf("song %q / %q not found", s.artist, s.title)
		}
		if sc["artist"] != s.artist || sc["title"] != s.title || e["artist"] != s.artist || e["title"] != s.title {
			t.Errorf("identity changed: %v / %v", sc["artist"], sc["title"])
		}
		if sc["tempo"].(float64) != s.tempo || sc["key"] != s.key || sc["scale"] != s.scale || sc["energy"].(float64) != s.energy {
			t.Errorf("%s: tempo/key/scale/energy = %v %v %v %v", s.title, sc["tempo"], sc["key"], sc["scale"], sc["energy"])
		}
		if got, want := parseMoods(sc["mood_vector"].(string)), parseMoods(s.moods); !equalMaps(got, want) {
			t.Errorf("%s: moods %v, want %v", s.title, got, want)
		}
		if got, want := parseMoods(sc["other_features"].(string)), parseMoods(s.other); !equalMaps(got, want) {
			t.Errorf("%s: other_features %v, want %v", s.title, got, want)
		}
		// the client accepts a list (or a string it json.loads)
		vec, ok := e["embedding"].([]any)
		if !ok || len(vec) != 200 {
			t.Fatalf("%s: embedding is %T of %d", s.title, e["embedding"], len(vec))
		}
		for j, v := range vec {
			// vectors are float32: the client reads them back with astype(np.float32)
			if float32(v.(float64)) != float32(s.embedding[j]) {
				t.Fatalf("%s: embedding[%d]=%v want %v", s.title, j, v, s.embedding[j])
			}
		}
		if e["model"] != "musicnn" {
			t.Errorf("model %v", e["model"])
		}
	}
}

// TestAudioMuseLabelSpelling: every label of AudioMuse-AI's lists, sent
// as AudioMuse-AI spells it ("Mellow", "Hip-Hop", "Progressive rock",
// "House"), comes back spelled exactly so, from the record API (the rows
// as stored) and from /lookup (the consensus: moods, mood_vector,
// other_features). Song j has labels 10j…10j+9 of the mood list on top,
// since the consensus keeps a song's top 10 moods.
func TestAudioMuseLabelSpelling(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	srv := serve(t, app)
	token := tokenFor(t, aliceID)
	moodLabels, otherLabels := songdata.AudioMuseMoodLabels, songdata.AudioMuseOtherFeatureLabels
	if len(moodLabels) != 50 || len(otherLabels) != 6 {
		t.Fatalf("%d mood labels and %d other features: the lists in songdata changed", len(moodLabels), len(otherLabels))
	}
	songs := audioMuseLibrary(5)
	top := make([][]string, len(songs)) // the labels on top, per song
	for j := range songs {
		moods, other := make([]string, len(moodLabels)), make([]string, len(otherLabels))
		for i, l := range moodLabels {
			score := 0.1 + 0.01*float64(i%10)
			if i/10 == j {
				score = 0.9 - 0.01*float64(i%10)
				top[j] = append(top[j], l)
			}
			moods[i] = fmt.Sprintf("%s:%.3f", l, score)
		}
		for i, l := range otherLabels {
			other[i] = fmt.Sprintf("%s:%.3f", l, 0.1*float64(i+1))
		}
		songs[j].moods, songs[j].other = strings.Join(moods, ","), strings.Join(other, ",")
	}
	if code, out := call(t, srv, http.MethodPost, "/api/batch", token, batchRequests(songs)); code != 200 {
		t.Fatalf("batch: %d %v", code, out)
	}
	exact := func(what string, got map[string]float64, want []string) {
		t.Helper()
		names := make([]string, 0, len(got))
		for k := range got {
			names = append(names, k)
		}
		slices.Sort(names)
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(names, want) {
			t.Errorf("%s: labels %q, want %q", what, names, want)
		}
	}

	// the rows, through the record API, as the client looks them up
	for _, s := range songs {
		q := url.Values{"filter": {fmt.Sprintf(`artist="%s" && title="%s"`, sanitizeForFilter(s.artist), sanitizeForFilter(s.title))}}
		code, out := call(t, srv, http.MethodGet, "/api/collections/score/records?"+q.Encode(), token, nil)
		items, _ := out["items"].([]any)
		if code != 200 || len(items) != 1 {
			t.Fatalf("record API: %d %v", code, out)
		}
		row := items[0].(map[string]any)
		if got, want := parseMoods(row["mood_vector"].(string)), parseMoods(s.moods); !equalMaps(got, want) {
			exact(s.title+": stored mood_vector", got, moodLabels)
			t.Errorf("%s: stored moods %v, want %v", s.title, got, want)
		}
		if got, want := parseMoods(row["other_features"].(string)), parseMoods(s.other); !equalMaps(got, want) {
			t.Errorf("%s: stored other_features %v, want %v", s.title, got, want)
		}
	}

	// the consensus, through /lookup
	var q []any
	for _, s := range songs {
		q = append(q, map[string]any{"artist": s.artist, "title": s.title})
	}
	code, out := call(t, srv, http.MethodPost, "/api/songcommons/lookup", "", map[string]any{"songs": q})
	if code != 200 {
		t.Fatalf("lookup: %d %v", code, out)
	}
	toMap := func(v any) map[string]float64 {
		m := map[string]float64{}
		for k, f := range v.(map[string]any) {
			m[k] = f.(float64)
		}
		return m
	}
	all := map[string]float64{}
	for j, r := range out["results"].([]any) {
		res := r.(map[string]any)
		if res["found"] != true {
			t.Fatalf("song %d not found: %v", j, res)
		}
		exact(fmt.Sprintf("lookup %d: moods", j), toMap(res["moods"]), top[j])
		exact(fmt.Sprintf("lookup %d: mood_vector", j), parseMoods(res["mood_vector"].(string)), top[j])
		exact(fmt.Sprintf("lookup %d: other_features", j), toMap(res["other_features"]), otherLabels)
		maps.Copy(all, toMap(res["moods"]))
	}
	exact("the moods of all lookups", all, moodLabels)
}

func equalMaps(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || math.Abs(v-w) > 1e-12 {
			return false
		}
	}
	return true
}

func batchBody(t testing.TB, songs []audioMuseSong) *strings.Reader {
	b, err := json.Marshal(batchRequests(songs))
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReader(string(b))
}

func TestBatch(t *testing.T) {
	t.Parallel()
	alice := tokenFor(t, aliceID)
	bad := audioMuseLibrary(25)
	bad[17].key = "H" // one bad song among 25
	big := audioMuseLibrary(51)
	scenarios := []tests.ApiScenario{
		{
			Name: "guest batch of creates → 401", Method: http.MethodPost, URL: "/api/batch",
			Body: batchBody(t, audioMuseLibrary(2)), TestAppFactory: func(t testing.TB) *tests.TestApp { return newTestApp(t) },
			ExpectedStatus: 401, ExpectedContent: []string{"Sign in with GitHub"}, AfterTestFunc: assertCounts(0, 0),
		},
		{
			Name: "regular user, 100 sub-requests → 200", Method: http.MethodPost, URL: "/api/batch",
			Body: batchBody(t, big[:50]), Headers: map[string]string{"Authorization": alice},
			TestAppFactory: func(t testing.TB) *tests.TestApp { return newTestApp(t) },
			ExpectedStatus: 200, ExpectedContent: []string{`"status":200`}, AfterTestFunc: assertCounts(50, 50),
		},
		{
			Name: "regular user, 102 sub-requests → 400, nothing stored", Method: http.MethodPost, URL: "/api/batch",
			Body: batchBody(t, big), Headers: map[string]string{"Authorization": alice},
			TestAppFactory: func(t testing.TB) *tests.TestApp { return newTestApp(t) },
			ExpectedStatus: 400, ExpectedContent: []string{`"requests"`}, AfterTestFunc: assertCounts(0, 0),
		},
		{
			Name: "regular user, one bad song → 400 naming it, nothing stored", Method: http.MethodPost, URL: "/api/batch",
			Body: batchBody(t, bad), Headers: map[string]string{"Authorization": alice},
			TestAppFactory:  func(t testing.TB) *tests.TestApp { return newTestApp(t) },
			ExpectedStatus:  400,
			ExpectedContent: []string{`"35":{"code":"batch_request_failed"`, `validation_invalid_key`},
			AfterTestFunc:   assertCounts(0, 0),
		},
		{
			Name: "regular user, batch update of a row → 403, nothing changed", Method: http.MethodPost, URL: "/api/batch",
			Body:           strings.NewReader(`{"requests":[{"method":"PATCH","url":"/api/collections/score/records/seededscore0001","body":{"tempo":99}}]}`),
			Headers:        map[string]string{"Authorization": alice},
			TestAppFactory: func(t testing.TB) *tests.TestApp { return seeded(t) },
			ExpectedStatus: 400, ExpectedContent: []string{`"status":403`},
			AfterTestFunc: func(t testing.TB, app *tests.TestApp, _ *http.Response) {
				r, err := app.FindRecordById("score", "seededscore0001")
				if err != nil || r.GetFloat("tempo") != 123 {
					t.Fatalf("row changed: %v %v", r, err)
				}
			},
		},
	}
	for _, s := range scenarios {
		s.Test(t)
	}
}
