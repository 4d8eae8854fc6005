// Package audiomuse shares an AudioMuse-AI library with songcommons. It
// reads the read-only export AudioMuse-AI serves at GET /api/sync (its
// app_sync.py), maps each analysed track to a /contribute song, uploads
// what was not sent yet, and remembers in a local state folder which
// tracks were sent (and the receipts that let the contributor delete
// them). It is a client: it talks HTTP to both servers and imports no
// PocketBase code.
//
// What leaves the machine is the analysis only: artist, title, album,
// tempo, key, scale, moods, energy, other features and the MusiCNN and
// CLAP vectors. AudioMuse-AI's item ids, media-server ids, ratings, UMAP
// coordinates and its analysis fingerprint (fp) stay in the state folder.
package audiomuse

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// AudioMuse-AI's page limits (app_sync.py).
const (
	manifestPage = 1000 // ?fields=index
	payloadPage  = 500  // ?ids=… and the paged export
)

// Source reads an AudioMuse-AI server's /api/sync export.
type Source struct {
	Base  string // e.g. http://audiomuse:8000
	Token string // its API_TOKEN, sent as a Bearer token when set
	HTTP  *http.Client
	Retry Retry
}

// ManifestEntry is one track of the manifest: AudioMuse-AI's id and a
// fingerprint of its analysis that changes when the track is re-analysed.
type ManifestEntry struct {
	ID string `json:"id"`
	FP string `json:"fp"`
}

// Track is one track of the full export, in AudioMuse-AI's field names.
// Fields the bridge never sends are kept only to be dropped (rating, UMAP,
// ids): the mapping in track.go decides what leaves.
type Track struct {
	ID            string   `json:"id"`
	Title         string   `json:"title"`
	Artist        string   `json:"artist"`
	AlbumArtist   string   `json:"album_artist"`
	Album         string   `json:"album"`
	Year          any      `json:"year"`
	Tempo         *float64 `json:"tempo"`
	Key           string   `json:"key"`
	Scale         string   `json:"scale"`
	MoodVector    string   `json:"mood_vector"`
	Energy        *float64 `json:"energy"`
	OtherFeatures string   `json:"other_features"`
	Rating        any      `json:"rating"`
	UmapX         *float64 `json:"umap_x"`
	UmapY         *float64 `json:"umap_y"`
	FP            string   `json:"fp"`
	Embedding     *string  `json:"embedding"`      // MusiCNN, base64 of little-endian float32
	ClapEmbedding *string  `json:"clap_embedding"` // CLAP, the same; absent when CLAP is off
}

type page[T any] struct {
	Tracks      []T  `json:"tracks"`
	TotalTracks int  `json:"total_tracks"`
	HasMore     bool `json:"has_more"`
	NextPage    *int `json:"next_page"`
}

// Manifest reads every page of the manifest (?fields=index).
func (s *Source) Manifest(ctx context.Context) ([]ManifestEntry, error) {
	var all []ManifestEntry
	for p := 1; ; {
		q := url.Values{"fields": {"index"}, "page": {strconv.Itoa(p)}, "limit": {strconv.Itoa(manifestPage)}}
		var pg page[ManifestEntry]
		if err := s.get(ctx, q, &pg); err != nil {
			return nil, fmt.Errorf("AudioMuse-AI manifest, page %d: %w", p, err)
		}
		all = append(all, pg.Tracks...)
		if !pg.HasMore || pg.NextPage == nil || len(pg.Tracks) == 0 {
			return all, nil
		}
		p = *pg.NextPage
	}
}

// Tracks reads the full payloads of ids (at most payloadPage).
func (s *Source) Tracks(ctx context.Context, ids []string) ([]Track, error) {
	if len(ids) > payloadPage {
		return nil, fmt.Errorf("at most %d ids per request, got %d", payloadPage, len(ids))
	}
	var pg page[Track]
	if err := s.get(ctx, url.Values{"ids": {strings.Join(ids, ",")}}, &pg); err != nil {
		return nil, fmt.Errorf("AudioMuse-AI tracks: %w", err)
	}
	return pg.Tracks, nil
}

// get sends GET /api/sync?q and decodes the JSON answer into out,
// retrying what the server asks to retry (503: "retry this page"; 429).
func (s *Source) get(ctx context.Context, q url.Values, out any) error {
	u := strings.TrimRight(s.Base, "/") + "/api/sync?" + q.Encode()
	return s.Retry.do(ctx, func() (int, http.Header, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return 0, nil, err
		}
		if s.Token != "" {
			req.Header.Set("Authorization", "Bearer "+s.Token)
		}
		resp, err := s.client().Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return resp.StatusCode, resp.Header, fmt.Errorf("%s: AudioMuse-AI refused the request (give its API token with --audiomuse-token)", resp.Status)
		case resp.StatusCode != http.StatusOK:
			return resp.StatusCode, resp.Header, fmt.Errorf("%s: %s", resp.Status, snippet(resp.Body))
		}
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, resp.Header, fmt.Errorf("reading the answer: %w", err)
		}
		return resp.StatusCode, resp.Header, nil
	})
}

func (s *Source) client() *http.Client {
	if s.HTTP != nil {
		return s.HTTP
	}
	return http.DefaultClient
}

// snippet is the start of an error answer, for messages.
func snippet(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 300))
	return strings.TrimSpace(string(b))
}

// Retry says how often and how long a request answered 429 or 503 (or
// not answered at all) is tried again.
type Retry struct {
	Attempts int           // tries in all (default 8)
	MaxWait  time.Duration // longest wait between two (default 60 s)
	// Wait is the wait when the server gives no Retry-After (default 1 s,
	// doubling).
	Wait time.Duration
	// Sleep waits (tests replace it); nil sleeps, or returns early when
	// the context ends.
	Sleep func(context.Context, time.Duration) error
}

// do runs try until it succeeds, fails for good, or the attempts run out.
// try returns the status it got (0 when the request failed before an
// answer) and its error.
func (r Retry) do(ctx context.Context, try func() (int, http.Header, error)) error {
	attempts, wait, maxWait := r.Attempts, r.Wait, r.MaxWait
	if attempts <= 0 {
		attempts = 8
	}
	if wait <= 0 {
		wait = time.Second
	}
	if maxWait <= 0 {
		maxWait = time.Minute
	}
	sleep := r.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	var err error
	for i := 0; i < attempts; i++ {
		var status int
		var h http.Header
		status, h, err = try()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		retryable := status == 0 || status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable
		if !retryable || i == attempts-1 {
			break
		}
		d := wait
		if secs, perr := strconv.Atoi(h.Get("Retry-After")); perr == nil && secs >= 0 {
			d = time.Duration(secs) * time.Second
			if d > maxWait {
				break // e.g. a daily quota: the run stops, saved, and resumes later
			}
		} else {
			wait = min(2*wait, maxWait)
		}
		if err := sleep(ctx, min(d, maxWait)); err != nil {
			return err
		}
	}
	return err
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
