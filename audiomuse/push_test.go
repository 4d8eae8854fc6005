package audiomuse_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"songcommons/audiomuse"
)

const amToken = "audiomuse-api-token-for-tests"

// noWait retries at once (the fake answers 503 with no Retry-After, or 0).
var noWait = audiomuse.Retry{Sleep: func(context.Context, time.Duration) error { return nil }}

func newPush(t testing.TB, lib *fakeAudioMuse, sc *songcommons, stateDir string) *audiomuse.Push {
	t.Helper()
	st, err := audiomuse.OpenState(stateDir, "am", "sc")
	if err != nil {
		t.Fatal(err)
	}
	return &audiomuse.Push{
		Source: &audiomuse.Source{Base: serveFakeOnce(t, lib), Token: amToken, Retry: noWait},
		Target: &audiomuse.Target{Base: sc.url, Token: sc.token, Retry: noWait},
		State:  st,
	}
}

var fakeURLs = map[*fakeAudioMuse]string{}

func serveFakeOnce(t testing.TB, lib *fakeAudioMuse) string {
	if u, ok := fakeURLs[lib]; ok {
		return u
	}
	u := serveFake(t, lib)
	fakeURLs[lib] = u
	return u
}

// contributed returns the songs of the /contribute requests received.
func contributed(t testing.TB, reqs []receivedRequest) []map[string]any {
	t.Helper()
	var songs []map[string]any
	for _, r := range reqs {
		if !strings.HasSuffix(r.url, "/api/songcommons/contribute") {
			continue
		}
		var body struct {
			Songs []map[string]any `json:"songs"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatal(err)
		}
		songs = append(songs, body.Songs...)
	}
	return songs
}

// A 2,500-track library is pushed, found again with its analysis and
// exact vectors; nothing the privacy list names reaches songcommons; a
// re-run sends nothing; re-analysing 10 tracks sends exactly those 10 and
// deletes their earlier rows by receipt.
func TestPushLibrary(t *testing.T) {
	lib := newFakeLibrary(t, 2500, amToken)
	ids := lib.sortedIDs()
	bad := lib.tracks[ids[17]]
	bad.musicnn = bad.musicnn[:199] // a wrong embedding length: skipped by the bridge
	refused := lib.tracks[ids[1234]]
	refused.tempo = 4000 // refused by songcommons (tempo at most 400)
	lib.fail503["manifest:2"] = 1
	lib.fail503["ids"] = 1
	sc := newSongcommons(t)
	state := t.TempDir()

	push := newPush(t, lib, sc, state)
	sum, err := push.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first push: %+v (%.0f tracks/s; %.0f%% of the time waiting for songcommons, %.0f%% for AudioMuse-AI)", sum,
		float64(sum.Sent)/sum.Elapsed.Seconds(), 100*sum.Uploading.Seconds()/sum.Elapsed.Seconds(), 100*sum.Reading.Seconds()/sum.Elapsed.Seconds())
	if sum.Library != 2500 || sum.Sent != 2498 || sum.Skipped != 2 || sum.Read != 2500 {
		t.Fatalf("summary %+v: want 2,500 in the library, 2,498 sent, 2 skipped", sum)
	}
	if lib.count("manifest:2") != 2 || lib.count("ids") < 6 {
		t.Fatalf("the 503s were not retried: %v", lib.requests)
	}
	rejects := readRejects(t, push.State.RejectsPath())
	if len(rejects) != 2 || !strings.Contains(rejects[bad.id], "199 values") || !strings.Contains(rejects[refused.id], "tempo") {
		t.Fatalf("rejects file: %v", rejects)
	}
	reqs := sc.requests()
	assertPrivate(t, lib, reqs)
	// the batch holding the refused track went twice: whole (refused,
	// nothing stored), then without it
	if n := len(contributed(t, reqs)); n != 2498+500 {
		t.Fatalf("%d songs reached /contribute, want 2,998", n)
	}

	// every track sent is found by lookup, with its analysis
	var asked []map[string]string
	var want []*fakeTrack
	for _, id := range ids {
		if id == bad.id || id == refused.id {
			continue
		}
		tr := lib.tracks[id]
		asked, want = append(asked, map[string]string{"artist": tr.artist, "title": tr.title}), append(want, tr)
	}
	target := &audiomuse.Target{Base: sc.url}
	for lo := 0; lo < len(asked); lo += 1000 {
		res, err := target.Lookup(context.Background(), asked[lo:min(len(asked), lo+1000)])
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			tr := want[lo+i]
			if found, _ := r["found"].(bool); !found {
				t.Fatalf("%s / %s not found", tr.artist, tr.title)
			}
			tempo := r["tempo"].(map[string]any)["value"].(float64) // the consensus, to 0.1 BPM
			key := r["key"].(map[string]any)
			if math.Abs(tempo-tr.tempo) > 0.051 || key["value"] != tr.key || key["scale"] != tr.scale || math.Abs(r["energy"].(float64)-tr.energy) > 1e-9 {
				t.Fatalf("%s: lookup answered tempo %v key %v energy %v, want %v %v %v %v", tr.title, tempo, key, r["energy"], tr.tempo, tr.key, tr.scale, tr.energy)
			}
			embs, _ := r["embeddings"].(map[string]any)
			if _, ok := embs["musicnn"]; !ok || (tr.clap != nil) != (embs["clap"] != nil) {
				t.Fatalf("%s: embeddings %v", tr.title, keysOf(embs))
			}
		}
	}
	// and every vector is stored exactly, as float32
	assertStoredVectors(t, sc, lib, bad.id, refused.id)

	// a re-run sends nothing
	push = newPush(t, lib, sc, state)
	sum, err = push.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Sent != 0 || sum.AlreadySent != 2498 || sum.SkippedUnchanged != 2 || len(contributed(t, sc.requests())) != 0 {
		t.Fatalf("re-run: %+v", sum)
	}

	// re-analysing 10 tracks sends exactly those 10
	var again []string
	for i := 100; i < 110; i++ {
		lib.reanalyse(ids[i])
		again = append(again, ids[i])
	}
	before := countRows(t, sc)
	push = newPush(t, lib, sc, state)
	sum, err = push.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	reqs = sc.requests()
	songs := contributed(t, reqs)
	if sum.Sent != 10 || sum.Updated != 10 || len(songs) != 10 {
		t.Fatalf("after re-analysing 10 tracks: %+v, %d songs sent", sum, len(songs))
	}
	for _, s := range songs {
		i := slices.IndexFunc(again, func(id string) bool { return lib.tracks[id].title == s["title"] })
		if i < 0 {
			t.Fatalf("sent %v, which was not re-analysed", s["title"])
		}
		if tr := lib.tracks[again[i]]; s["tempo"].(float64) != tr.tempo || s["mood_vector"] != tr.moods {
			t.Fatalf("%s: sent tempo %v moods %v, want the new analysis %v %v", tr.title, s["tempo"], s["mood_vector"], tr.tempo, tr.moods)
		}
	}
	oldRows := 0
	for _, id := range again {
		oldRows += 2 // score and musicnn
		if lib.tracks[id].clap != nil {
			oldRows++
		}
	}
	if after := countRows(t, sc); after != before || sum.Deleted != oldRows {
		t.Fatalf("rows %d → %d, %d deleted by receipt, want %d: the earlier analyses are replaced", before, after, sum.Deleted, oldRows)
	}
	assertPrivate(t, lib, reqs)
}

// A run stopped after its first batch resumes where it stopped; nothing
// is sent twice. A request cut off without an answer is reported and its
// tracks are sent again.
func TestPushResumes(t *testing.T) {
	lib := newFakeLibrary(t, 1200, amToken)
	sc := newSongcommons(t)
	state := t.TempDir()
	push := newPush(t, lib, sc, state)
	stop := make(chan struct{})
	push.Stop = stop
	push.Progress = func(s audiomuse.Summary) {
		if s.Sent >= 500 {
			select {
			case <-stop:
			default:
				close(stop)
			}
		}
	}
	sum, err := push.Run(context.Background())
	if !errors.Is(err, audiomuse.ErrStopped) || sum.Sent != 500 {
		t.Fatalf("stopped run: %+v, %v", sum, err)
	}
	push = newPush(t, lib, sc, state)
	sum, err = push.Run(context.Background())
	if err != nil || sum.Sent != 700 || sum.AlreadySent != 500 || sum.Resent != 0 {
		t.Fatalf("resumed run: %+v, %v", sum, err)
	}
	songs := contributed(t, sc.requests())
	seen := map[string]int{}
	for _, s := range songs {
		seen[s["title"].(string)]++
	}
	if len(songs) != 1200 || len(seen) != 1200 {
		t.Fatalf("%d songs sent for 1,200 distinct tracks (%d distinct)", len(songs), len(seen))
	}

	// a request cut off (the process killed while it was in flight)
	// leaves pending.json: the next run says so, and sends those tracks
	lib.reanalyse(lib.sortedIDs()[5])
	if err := os.WriteFile(filepath.Join(state, "pending.json"), []byte(`{"ids":["`+lib.sortedIDs()[5]+`"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	push = newPush(t, lib, sc, state)
	sum, err = push.Run(context.Background())
	if err != nil || sum.Resent != 1 || sum.Sent != 1 {
		t.Fatalf("after a cut-off request: %+v, %v", sum, err)
	}
	if _, err := os.Stat(filepath.Join(state, "pending.json")); !os.IsNotExist(err) {
		t.Fatalf("pending.json left after a complete run: %v", err)
	}
}

// A dry run sends nothing and changes no state; AudioMuse-AI's token is
// required when it asks for one.
func TestPushDryRunAndToken(t *testing.T) {
	lib := newFakeLibrary(t, 40, amToken)
	sc := newSongcommons(t)
	state := t.TempDir()
	push := newPush(t, lib, sc, state)
	push.DryRun = true
	sum, err := push.Run(context.Background())
	if err != nil || sum.Sent != 40 || len(sc.requests()) != 0 || len(push.State.Sent) != 0 {
		t.Fatalf("dry run: %+v, %v", sum, err)
	}
	push = newPush(t, lib, sc, state)
	push.Source.Token = ""
	_, err = push.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "--audiomuse-token") {
		t.Fatalf("without AudioMuse-AI's token: %v", err)
	}
	push = newPush(t, lib, sc, state)
	push.Target.Token = "not-a-token"
	_, err = push.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "My data") {
		t.Fatalf("without a songcommons token: %v", err)
	}
}

// Pull writes the community's analysis of the songs asked for.
func TestPull(t *testing.T) {
	lib := newFakeLibrary(t, 30, amToken)
	sc := newSongcommons(t)
	if _, err := newPush(t, lib, sc, t.TempDir()).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	tr := lib.tracks[lib.sortedIDs()[3]]
	in := "artist,title\n" + tr.artist + "," + tr.title + "\nNobody,Nothing\n"
	var out strings.Builder
	sum, err := audiomuse.Pull(context.Background(), &audiomuse.Target{Base: sc.url}, strings.NewReader(in), &out, nil)
	if err != nil || sum.Asked != 2 || sum.Found != 1 || sum.Missing != 1 {
		t.Fatalf("pull: %+v, %v", sum, err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out.String()), &got); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if got["title"] != tr.title || got["embeddings"].(map[string]any)["musicnn"] == nil {
		t.Fatalf("pulled %v", got)
	}
	if _, err := audiomuse.Pull(context.Background(), &audiomuse.Target{Base: sc.url}, strings.NewReader("{\"album\":\"x\"}\n"), &out, nil); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("a song without identifiers: %v", err)
	}
}

// assertPrivate: the requests songcommons received hold no AudioMuse-AI
// id, fp, rating, UMAP coordinate or album artist, and their songs carry
// only the analysis fields.
func assertPrivate(t *testing.T, lib *fakeAudioMuse, reqs []receivedRequest) {
	t.Helper()
	allowed := []string{"artist", "title", "album", "tempo", "key", "scale", "mood_vector", "energy", "other_features", "analyzer", "embeddings"}
	for _, s := range contributed(t, reqs) {
		for k := range s {
			if !slices.Contains(allowed, k) {
				t.Fatalf("a song sent to songcommons has the field %q", k)
			}
		}
	}
	var all strings.Builder
	for _, r := range reqs {
		all.WriteString(r.url + "\n")
		for k, v := range r.header {
			all.WriteString(k + ": " + strings.Join(v, ",") + "\n")
		}
		all.Write(r.body)
		all.WriteString("\n")
	}
	text := all.String()
	// every word of what was received (ids, fps and coordinates are words)
	words := map[string]bool{}
	for _, w := range strings.FieldsFunc(text, func(r rune) bool {
		return !(r == '-' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) {
		words[w] = true
	}
	albumArtists := map[string]bool{}
	for _, tr := range lib.tracks {
		for what, v := range map[string]string{"id": tr.id, "fp": tr.fp(), "umap_x": strconv.FormatFloat(tr.umapX, 'g', -1, 64),
			"umap_y": strconv.FormatFloat(tr.umapY, 'g', -1, 64)} {
			if words[v] {
				t.Fatalf("songcommons received the %s of a track (%q)", what, v)
			}
		}
		albumArtists[tr.albumArtist] = true
	}
	for v := range albumArtists {
		if strings.Contains(text, v) {
			t.Fatalf("songcommons received an album artist (%q)", v)
		}
	}
	if strings.Contains(text, amToken) {
		t.Fatal("songcommons received AudioMuse-AI's API token")
	}
	for _, k := range []string{`"rating"`, `"umap`, `"fp"`, `"album_artist"`, `"year"`} {
		if strings.Contains(text, k) {
			t.Fatalf("songcommons received %s", k)
		}
	}
}

// assertStoredVectors: every stored vector equals, as float32, the one
// AudioMuse-AI exported, and every stored analysis the exported one.
func assertStoredVectors(t *testing.T, sc *songcommons, lib *fakeAudioMuse, skip ...string) {
	t.Helper()
	byTitle := map[string]*fakeTrack{}
	for id, tr := range lib.tracks {
		if !slices.Contains(skip, id) {
			byTitle[tr.title] = tr
		}
	}
	rows := []struct {
		Title     string `db:"title"`
		Model     string `db:"model"`
		Embedding string `db:"embedding"`
	}{}
	if err := sc.app.DB().NewQuery("SELECT title, model, embedding FROM embedding").All(&rows); err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, r := range rows {
		tr := byTitle[r.Title]
		if tr == nil {
			t.Fatalf("a stored vector of %q, which was not sent", r.Title)
		}
		var got []float32
		if err := json.Unmarshal([]byte(r.Embedding), &got); err != nil {
			t.Fatal(err)
		}
		want := tr.musicnn
		if r.Model == "clap" {
			want = tr.clap
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s %s: the stored vector differs from the exported one", r.Title, r.Model)
		}
		n[r.Model]++
	}
	scores := []struct {
		Title  string  `db:"title"`
		Tempo  float64 `db:"tempo"`
		Energy float64 `db:"energy"`
		Key    string  `db:"key"`
		Scale  string  `db:"scale"`
		Album  string  `db:"album"`
	}{}
	if err := sc.app.DB().NewQuery("SELECT title, tempo, energy, key, scale, album FROM score").All(&scores); err != nil {
		t.Fatal(err)
	}
	for _, r := range scores {
		tr := byTitle[r.Title]
		if tr == nil || r.Tempo != tr.tempo || r.Energy != tr.energy || r.Key != tr.key || r.Scale != tr.scale || r.Album != tr.album {
			t.Fatalf("stored analysis %+v, exported %+v", r, tr)
		}
	}
	if len(scores) != len(byTitle) {
		t.Fatalf("%d analyses stored, want %d", len(scores), len(byTitle))
	}
	clap := 0
	for _, tr := range byTitle {
		if tr.clap != nil {
			clap++
		}
	}
	if n["musicnn"] != len(byTitle) || n["clap"] != clap {
		t.Fatalf("stored %v vectors, want %d musicnn and %d clap", n, len(byTitle), clap)
	}
}

func countRows(t testing.TB, sc *songcommons) int {
	t.Helper()
	var n, m int
	if err := sc.app.DB().NewQuery("SELECT (SELECT count(*) FROM score), (SELECT count(*) FROM embedding)").Row(&n, &m); err != nil {
		t.Fatal(err)
	}
	return n + m
}

func readRejects(t testing.TB, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r audiomuse.Reject
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		out[r.ID] = r.Reason
	}
	return out
}

func keysOf(m map[string]any) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	slices.Sort(k)
	return k
}
