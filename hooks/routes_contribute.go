package hooks

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/songdata"
)

// MaxContribute is how many songs one /contribute request may carry.
const MaxContribute = 500

type contributeRequest struct {
	Songs         []map[string]any `json:"songs"`
	ReceiptSecret string           `json:"receipt_secret"`
}

var identityKeys = []string{"artist", "title", "album", "duration", "mbid", "isrc", "analyzer"}
var analysisKeys = []string{"tempo", "key", "scale", "mood_vector", "energy", "other_features"}

// CheckUpload validates the songs of a bulk upload (the /contribute body
// or an import batch) with the same rules as the record API. Error keys
// are "songs.N.field" (and "songs.N.embeddings.MODEL" for vectors).
func CheckUpload(songs []map[string]any, prefix string) ([]Contribution, validation.Errors) {
	errs := validation.Errors{}
	out := make([]Contribution, len(songs))
	allowed := map[string]bool{"embeddings": true}
	for _, k := range append(append([]string{}, identityKeys...), analysisKeys...) {
		allowed[k] = true
	}
	for i, s := range songs {
		p := fmt.Sprintf("%s%d.", prefix, i)
		for k := range s {
			if !allowed[k] {
				errs[p+k] = validation.NewError("validation_unknown_field",
					fmt.Sprintf("unknown field %q (expected %s, or embeddings)", k, strings.Join(append(append([]string{}, identityKeys...), analysisKeys...), ", ")))
			}
		}
		hasScore := false
		for _, k := range analysisKeys {
			if v, ok := s[k]; ok && v != nil {
				hasScore = true
			}
		}
		var embs map[string]any
		if raw, ok := s["embeddings"]; ok && raw != nil {
			m, isMap := raw.(map[string]any)
			if !isMap {
				errs[p+"embeddings"] = validation.NewError("validation_invalid_type", `embeddings must be an object such as {"musicnn":[…200 numbers…]}`)
			} else {
				embs = m
			}
		}
		if !hasScore && len(embs) == 0 {
			if _, bad := errs[p+"embeddings"]; !bad {
				errs[p+"tempo"] = validation.NewError("validation_required", "each song needs its analysis (tempo, key, scale…) and/or embeddings")
			}
			continue
		}
		if hasScore {
			sc, e := songdata.CheckScore(s, p)
			for k, v := range e {
				errs[k] = v
			}
			out[i].Score = sc
		}
		models := make([]string, 0, len(embs))
		for m := range embs {
			models = append(models, m)
		}
		sort.Strings(models)
		for _, m := range models {
			in := map[string]any{"model": m, "embedding": embs[m]}
			for _, k := range identityKeys {
				if v, ok := s[k]; ok {
					in[k] = v
				}
			}
			emb, e := songdata.CheckEmbedding(in, p)
			for k, v := range e {
				field := strings.TrimPrefix(k, p)
				switch field {
				case "embedding", "model":
					errs[p+"embeddings."+m] = v
				default:
					if !hasScore { // identity errors are reported once
						errs[k] = v
					}
				}
			}
			if emb != nil {
				out[i].Embeddings = append(out[i].Embeddings, emb)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

func contributeHandler(sim *Similarity, acc *accounts) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		var req contributeRequest // a contributor's (signedIn)
		if err := readJSON(e, maxContributeBody, &req); err != nil {
			return err
		}
		if err := checkCount(e, "songs", len(req.Songs), MaxContribute); err != nil {
			return err
		}
		if req.ReceiptSecret != "" {
			if err := CheckSecret(req.ReceiptSecret); err != nil {
				return e.BadRequestError("Invalid request data.", fieldErr("receipt_secret", "validation_invalid_value", err.Error()))
			}
		}
		songs, errs := CheckUpload(req.Songs, "songs.")
		if errs != nil {
			return e.BadRequestError(fmt.Sprintf("Nothing was stored: %d problem(s) in the songs.", len(errs)), errs)
		}
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
		var ids StoredIDs
		err := journalOf(e.App).Contribution(func() (err error) {
			ids, err = StoreContributions(e.App, sim, songs, req.ReceiptSecret)
			return err
		})
		if err != nil {
			acc.refund(e.App, e.Auth, rows)
			return e.InternalServerError("Failed to store the contributions; nothing was stored.", err)
		}
		perSong := make([]StoredSongIDs, len(where)) // in request order; a repeated song points at its first copy
		for i, j := range where {
			perSong[i] = ids.Songs[j]
		}
		res := map[string]any{"accepted": len(songs), "duplicates": dups, "score": ids.Score, "embedding": ids.Embedding, "songs": perSong}
		if req.ReceiptSecret != "" {
			res["receipt"] = receiptOf(ids)
		}
		return e.JSON(http.StatusOK, res)
	}
}

// ReceiptRow names one row of a receipt.
type ReceiptRow struct {
	Collection string `json:"collection"`
	ID         string `json:"id"`
}

func receiptOf(ids StoredIDs) map[string]any {
	rows := make([]ReceiptRow, 0, len(ids.Score)+len(ids.Embedding))
	for _, id := range ids.Score {
		rows = append(rows, ReceiptRow{"score", id})
	}
	for _, id := range ids.Embedding {
		rows = append(rows, ReceiptRow{"embedding", id})
	}
	return map[string]any{"scheme": "songcommons-receipt-v1", "rows": rows,
		"note": "Keep this with your receipt secret: together they let you delete these rows later. The server does not keep the secret."}
}

// dedupeRequest keeps the first of identical contributions in one request
// (the same song with the same analysis or the same vector): repeating a
// song in a request does not weigh more in the consensus.
// where[i] is the index in the result of request song i.
func dedupeRequest(songs []Contribution) (unique []Contribution, where []int) {
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
