package audiomuse_test

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"songcommons/audiomuse"
)

// fakeAudioMuse serves GET /api/sync the way AudioMuse-AI's app_sync.py
// does: a manifest (?fields=index, ≤1,000 a page), full payloads by id
// (?ids=, ≤500) and the paged export (≤500 a page), ordered by item id,
// with has_more/next_page; embeddings as base64 of float32 bytes
// (clap_embedding null when a track has no CLAP vector); fp an md5 over
// the analysis columns; a Bearer API token; and a 503 ("retry this page")
// on chosen requests.
type fakeAudioMuse struct {
	t     testing.TB
	token string

	mu       sync.Mutex
	tracks   map[string]*fakeTrack
	fail503  map[string]int // request kind ("manifest:2", "ids") → 503s still to answer
	requests map[string]int // by kind
}

type fakeTrack struct {
	id, title, artist, album, albumArtist string
	year, rating                          int
	tempo, energy                         float64
	key, scale, moods, other              string
	umapX, umapY                          float64
	musicnn, clap                         []float32 // clap nil: no CLAP vector
}

func (f *fakeTrack) fp() string {
	sum := md5.Sum([]byte(f.moods + "|" + strconv.FormatFloat(f.energy, 'g', -1, 64) + "|" + f.other + "|" +
		strconv.FormatFloat(f.tempo, 'g', -1, 64) + "|" + f.key + "|" + f.scale))
	return hex.EncodeToString(sum[:])[:16]
}

// newFakeLibrary makes n tracks; every 7th has no CLAP vector.
func newFakeLibrary(t testing.TB, n int, token string) *fakeAudioMuse {
	f := &fakeAudioMuse{t: t, token: token, tracks: map[string]*fakeTrack{}, fail503: map[string]int{}, requests: map[string]int{}}
	for i := range n {
		f.add(i)
	}
	return f
}

func (f *fakeAudioMuse) add(i int) *fakeTrack {
	keys := []string{"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"}
	tr := &fakeTrack{
		id:     fmt.Sprintf("f3a9c2e1-7d4b-4c0a-9e55-%012d", i), // a media-server GUID
		title:  fmt.Sprintf("Harbor Light %d", i),
		artist: fmt.Sprintf("The Fake Ensemble %d", i%97), album: fmt.Sprintf("Album %d", i%31),
		albumArtist: fmt.Sprintf("Album Artist %d", i%13), year: 1990 + i%30, rating: 1 + i%5,
		tempo: 80 + float64(i%90) + 0.25, energy: 0.1 + float64(i%80)/100, key: keys[i%12], scale: []string{"major", "minor"}[i%2],
		moods: fmt.Sprintf("rock:%.3f,pop:%.3f,electronic:%.3f", 0.2+float64(i%7)/10, 0.1+float64(i%5)/10, 0.05),
		other: fmt.Sprintf("danceable:%.2f,happy:%.2f", float64(i%10)/10, float64(i%3)/3),
		umapX: 1000.1234567 + float64(i), umapY: -2000.7654321 - float64(i),
		musicnn: fakeVector(200, i),
	}
	if i%7 != 3 {
		tr.clap = fakeVector(512, i+1_000_000)
	}
	f.mu.Lock()
	f.tracks[tr.id] = tr
	f.mu.Unlock()
	return tr
}

// fakeVector is a vector of float32 values that no rounding through
// float64 text would keep (full 24-bit mantissas).
func fakeVector(n, seed int) []float32 {
	v := make([]float32, n)
	x := uint32(seed*2654435761 + 12345)
	for i := range v {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		v[i] = float32(int32(x)) / float32(math.MaxInt32) * 0.7
	}
	return v
}

// reanalyse changes a track's analysis (and so its fp).
func (f *fakeAudioMuse) reanalyse(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	tr := f.tracks[id]
	tr.tempo += 7
	tr.moods = "jazz:0.9,rock:0.1"
	tr.musicnn = fakeVector(200, int(tr.tempo*1000))
}

func (f *fakeAudioMuse) sortedIDs() []string {
	ids := make([]string, 0, len(f.tracks))
	for id := range f.tracks {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (f *fakeAudioMuse) count(kind string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[kind]
}

func (f *fakeAudioMuse) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/sync" || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	if f.token != "" && r.Header.Get("Authorization") != "Bearer "+f.token {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error": "Unauthorized"}`))
		return
	}
	q := r.URL.Query()
	manifest := q.Get("fields") == "index"
	page := max(1, atoi(q.Get("page"), 1))
	maxLimit := 500
	if manifest {
		maxLimit = 1000
	}
	limit := min(max(1, atoi(q.Get("limit"), 500)), maxLimit)
	kind := "payload:" + strconv.Itoa(page)
	switch {
	case manifest:
		kind = "manifest:" + strconv.Itoa(page)
	case q.Has("ids"):
		kind = "ids"
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests[kind]++
	if f.fail503[kind] > 0 {
		f.fail503[kind]--
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error": "Music-server registry unavailable; retry shortly"}`))
		return
	}
	all := f.sortedIDs()
	var ids []string
	total, hasMore := 0, false
	if q.Has("ids") && !manifest {
		for _, id := range strings.Split(q.Get("ids"), ",") {
			if id != "" && f.tracks[id] != nil {
				ids = append(ids, id)
			}
		}
		ids = ids[:min(len(ids), 500)]
		slices.Sort(ids)
		total = len(ids)
	} else {
		total = len(all)
		off := (page - 1) * limit
		ids = all[min(off, len(all)):min(off+limit, len(all))]
		hasMore = off+len(ids) < total
	}
	tracks := make([]map[string]any, 0, len(ids))
	for _, id := range ids {
		tr := f.tracks[id]
		if manifest {
			tracks = append(tracks, map[string]any{"id": tr.id, "fp": tr.fp()})
			continue
		}
		m := map[string]any{"id": tr.id, "title": tr.title, "artist": tr.artist, "album_artist": tr.albumArtist,
			"album": tr.album, "year": tr.year, "tempo": tr.tempo, "key": tr.key, "scale": tr.scale,
			"mood_vector": tr.moods, "energy": tr.energy, "other_features": tr.other, "rating": tr.rating,
			"umap_x": tr.umapX, "umap_y": tr.umapY, "fp": tr.fp(), "embedding": audiomuse.EncodeFloat32s(tr.musicnn), "clap_embedding": nil}
		if tr.clap != nil {
			m["clap_embedding"] = audiomuse.EncodeFloat32s(tr.clap)
		}
		tracks = append(tracks, m)
	}
	var next any
	if hasMore {
		next = page + 1
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"tracks": tracks, "total_tracks": total, "provider_type": "jellyfin",
		"has_more": hasMore, "next_page": next})
}

func atoi(s string, def int) int {
	if v, err := strconv.Atoi(s); err == nil {
		return v
	}
	return def
}

func serveFake(t testing.TB, f *fakeAudioMuse) string {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv.URL
}
