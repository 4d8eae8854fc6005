package hooks

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/contribute"
	"songcommons/songdata"
)

// MaxContribute is how many songs one /contribute request may carry.
const MaxContribute = 500

type contributeRequest struct {
	Songs         []map[string]any `json:"songs"`
	ReceiptSecret string           `json:"receipt_secret"`
}

func contributeHandler(w *contribute.Writer, acc *accounts) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		start := time.Now()
		var req contributeRequest // a contributor's (signedIn)
		if err := readJSON(e, maxContributeBody, &req); err != nil {
			return err
		}
		if err := checkCount(e, "songs", len(req.Songs), MaxContribute); err != nil {
			return err
		}
		if req.ReceiptSecret != "" {
			if err := contribute.CheckSecret(req.ReceiptSecret); err != nil {
				return e.BadRequestError("Invalid request data.", fieldErr("receipt_secret", "validation_invalid_value", err.Error()))
			}
		}
		read := time.Now()
		songs, errs := songdata.CheckSongs(req.Songs, "songs.")
		if errs != nil {
			return e.BadRequestError(fmt.Sprintf("Nothing was stored: %d problem(s) in the songs.", len(errs)), errs)
		}
		checked := time.Now()
		songs, where := dedupeRequest(songs)
		dups := len(where) - len(songs)
		rows := 0
		for _, c := range songs {
			rows += len(c.Embeddings)
			if c.Score != nil {
				rows++
			}
		}
		if err := acc.admit(e, rows); err != nil {
			return err
		}
		ids, err := w.Upload(songs, req.ReceiptSecret)
		if err != nil {
			acc.refund(e.App, e.Auth, rows)
			return e.InternalServerError("Failed to store the contributions; nothing was stored.", err)
		}
		perSong := make([]contribute.StoredSongIDs, len(where)) // in request order; a repeated song points at its first copy
		for i, j := range where {
			perSong[i] = ids.Songs[j]
		}
		// where the handler's time went (benchmarks read it): reading the
		// body, checking the songs, deciding identity, the write, the
		// indexes following it (overlapping the journal's checkpoint), and
		// all of it (the answer's JSON encoding not included)
		t := ids.Timing
		e.Response.Header().Set("Server-Timing", fmt.Sprintf("read;dur=%.3f, check;dur=%.3f, identity;dur=%.3f, write;dur=%.3f, indexes;dur=%.3f, upload;dur=%.3f, total;dur=%.3f",
			msSince(start, read), msSince(read, checked), ms(t.Identity), ms(t.Write), ms(t.Indexes), ms(t.Total), msSince(start, time.Now())))
		res := map[string]any{"accepted": len(songs), "duplicates": dups, "score": ids.Score, "embedding": ids.Embedding, "songs": perSong}
		if req.ReceiptSecret != "" {
			res["receipt"] = contribute.ReceiptOf(ids)
		}
		return e.JSON(http.StatusOK, res)
	}
}

// dedupeRequest keeps the first of identical contributions in one request
// (the same song with the same analysis or the same vector): repeating a
// song in a request does not weigh more in the consensus.
// where[i] is the index in the result of request song i.
func dedupeRequest(songs []songdata.Contribution) (unique []songdata.Contribution, where []int) {
	seen := map[string]int{}
	where = make([]int, len(songs))
	for i, c := range songs {
		var k strings.Builder
		if c.Score != nil {
			fmt.Fprintf(&k, "%v", c.Score.Values())
		}
		for _, e := range c.Embeddings {
			fmt.Fprintf(&k, "|%s|%s|%s", e.SongKey, e.Model, songdata.EncodeVec(e.Vector))
		}
		if j, ok := seen[k.String()]; ok {
			where[i] = j
			continue
		}
		seen[k.String()] = len(unique)
		where[i] = len(unique)
		unique = append(unique, c)
	}
	return unique, where
}
