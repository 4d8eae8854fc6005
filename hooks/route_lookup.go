package hooks

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/catalog"
	"songcommons/internal/parallel"
	"songcommons/similarity"
	"songcommons/songdata"
	"songcommons/songprint"
)

// MaxLookup is how many songs one lookup may ask for.
const MaxLookup = 1000

type lookupSong struct {
	Artist         string   `json:"artist,omitempty"`
	Title          string   `json:"title,omitempty"`
	MBID           string   `json:"mbid,omitempty"`
	ISRC           string   `json:"isrc,omitempty"`
	Fingerprint    any      `json:"fingerprint,omitempty"`
	FingerprintRaw any      `json:"fingerprint_raw,omitempty"`
	Duration       *float64 `json:"duration,omitempty"`
}

type lookupRequest struct {
	Songs      []lookupSong    `json:"songs"`
	Embeddings json.RawMessage `json:"embeddings"`
}

// parseModels reads the "embeddings" option: true (all models), false or
// absent (none), or a list of model names.
func parseModels(raw json.RawMessage) ([]string, error) {
	s := strings.TrimSpace(string(raw))
	switch s {
	case "", "null", "false":
		return nil, nil
	case "true":
		return songdata.ModelNames(), nil
	}
	var names []string
	if err := json.Unmarshal(raw, &names); err != nil {
		return nil, fmt.Errorf("embeddings must be true, false or a list of model names")
	}
	var out []string
	for _, n := range names {
		m, ok := songdata.LookupModel(n)
		if !ok {
			return nil, fmt.Errorf("unknown model %q: known models are %s", n, strings.Join(songdata.ModelNames(), ", "))
		}
		out = append(out, m.Name)
	}
	return out, nil
}

// decodeLookup decodes a lookup request as readJSON would, its songs on
// all cores when there are many (decodeSplit).
func decodeLookup(e *core.RequestEvent, body []byte) (lookupRequest, error) {
	var req lookupRequest
	var songs []lookupSong
	// another spelling of "songs" that encoding/json also accepts would
	// have set req.Songs: the whole decode then says which one counts
	if decodeSplit(body, "songs", &req, &songs) && len(req.Songs) == 0 {
		req.Songs = songs
		return req, nil
	}
	req = lookupRequest{}
	err := decodeJSON(e, body, &req)
	return req, err
}

func lookupHandler(sim *similarity.Indexes, prints *songprint.Index) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		start := time.Now()
		body, err := readBody(e, maxLookupBody)
		if err != nil {
			return err
		}
		req, err := decodeLookup(e, body)
		if err != nil {
			return err
		}
		if err := checkCount(e, "songs", len(req.Songs), MaxLookup); err != nil {
			return err
		}
		models, err := parseModels(req.Embeddings)
		if err != nil {
			return e.BadRequestError("Invalid request data.", fieldErr("embeddings", "validation_invalid_value", err.Error()))
		}

		// each song by its fingerprint, its song key, its MBID, its ISRC
		// (catalog.Lookup tries them in this order)
		qs := make([]catalog.Query, len(req.Songs))
		// the fingerprints first, decoded on all cores (a 1,000-song
		// lookup carries ~3.5 MB of them)
		printErrs := make([]validation.Errors, len(req.Songs))
		parallel.For(len(req.Songs), 0, func(i int) {
			s := req.Songs[i]
			if s.Fingerprint == nil && s.FingerprintRaw == nil {
				return
			}
			in := map[string]any{"fingerprint": s.Fingerprint, songdata.RawPrintField: s.FingerprintRaw}
			dur := 0.0
			if s.Duration != nil {
				dur = *s.Duration
			}
			qs[i].Fingerprint, printErrs[i] = songdata.CheckFingerprint(in, fmt.Sprintf("songs.%d.", i), dur)
			qs[i].Duration = dur
		})
		errs := validation.Errors{}
		for i, s := range req.Songs {
			p := fmt.Sprintf("songs.%d.", i)
			qs[i].Artist, qs[i].Title = s.Artist, s.Title
			if strings.TrimSpace(s.Artist) != "" && strings.TrimSpace(s.Title) != "" {
				qs[i].Key = songdata.SongKey(s.Artist, s.Title)
			}
			qs[i].MBID = strings.ToLower(strings.TrimSpace(s.MBID))
			qs[i].ISRC = strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(s.ISRC))
			for k, v := range printErrs[i] {
				errs[k] = v
			}
			if qs[i].Key == "" && qs[i].MBID == "" && qs[i].ISRC == "" && s.Fingerprint == nil && s.FingerprintRaw == nil {
				errs[p+"artist"] = validation.NewError("validation_required", "each song needs a fingerprint (with duration), artist and title, an mbid or an isrc")
			}
			if len(s.Artist) > 4*songdata.MaxTextLen || len(s.Title) > 4*songdata.MaxTextLen {
				errs[p+"title"] = validation.NewError("validation_too_long", "artist and title are at most 512 characters")
			}
		}
		if len(errs) > 0 {
			return e.BadRequestError("Invalid request data.", errs)
		}
		read := time.Now()
		results, found, err := catalog.Lookup(e.App, sim, prints, qs, models)
		if err != nil {
			return e.InternalServerError("Failed to look songs up.", err)
		}
		// the handler's time, split into reading the request (body, JSON,
		// fingerprints) and finding the songs (benchmarks read it; the
		// answer's JSON encoding not included)
		done := time.Now()
		e.Response.Header().Set("Server-Timing", fmt.Sprintf("request;dur=%.3f, songs;dur=%.3f, total;dur=%.3f",
			msSince(start, read), msSince(read, done), msSince(start, done)))
		return e.JSON(http.StatusOK, map[string]any{"results": results, "found": found, "missing": len(req.Songs) - found})
	}
}
