package hooks

import (
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/catalog"
	"songcommons/similarity"
	"songcommons/songdata"
	"songcommons/vectors"
)

// MaxK is the largest number of similar songs one query returns.
const MaxK = 100

type similarRequest struct {
	Approx  bool      `json:"approx"`
	Vector  []float64 `json:"vector"`
	Model   string    `json:"model"`
	K       *int      `json:"k"`
	Exclude []string  `json:"exclude"`
}

func pickModel(e *core.RequestEvent, name string) (songdata.Model, error) {
	if strings.TrimSpace(name) == "" {
		name = songdata.DefaultModel
	}
	m, ok := songdata.LookupModel(name)
	if !ok {
		return m, e.BadRequestError("Invalid request data.", fieldErr("model", "validation_unknown_model",
			fmt.Sprintf("unknown model %q: known models are %s", name, strings.Join(songdata.ModelNames(), ", "))))
	}
	return m, nil
}

func pickK(e *core.RequestEvent, k int, given bool) (int, error) {
	if !given {
		return 10, nil
	}
	if k < 1 || k > MaxK {
		return 0, e.BadRequestError("Invalid request data.", fieldErr("k", "validation_out_of_range",
			fmt.Sprintf("k must be between 1 and %d", MaxK)))
	}
	return k, nil
}

func similarGetHandler(sim *similarity.Indexes) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		q := e.Request.URL.Query()
		m, err := pickModel(e, q.Get("model"))
		if err != nil {
			return err
		}
		k, given := 0, q.Has("k")
		if given {
			if k, err = strconv.Atoi(q.Get("k")); err != nil {
				return e.BadRequestError("Invalid request data.", fieldErr("k", "validation_not_a_number", "k must be a whole number between 1 and 100"))
			}
		}
		if k, err = pickK(e, k, given); err != nil {
			return err
		}
		ref := q.Get("song")
		if strings.TrimSpace(ref) == "" {
			return e.BadRequestError("Invalid request data.", fieldErr("song", "validation_required", "song is required: a song_key (\"artist|title\") or a record id"))
		}
		key, err := catalog.ResolveSong(e.App, ref)
		if errors.Is(err, sql.ErrNoRows) {
			return e.BadRequestError("Invalid request data.", fieldErr("song", "validation_unknown_song", "no song with this song_key or record id"))
		}
		if err != nil {
			return e.InternalServerError("Failed to find the song.", err)
		}
		ix := sim.Index(m.Name)
		v, ok := ix.Get(key)
		if !ok {
			return e.NotFoundError(fmt.Sprintf("The song has no %s embedding yet.", m.Name), nil)
		}
		return answerSimilar(e, ix, m.Name, v, k, map[string]bool{key: true}, q.Get("approx") == "true" || q.Get("approx") == "1")
	}
}

func similarPostHandler(sim *similarity.Indexes) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		var req similarRequest
		if err := readJSON(e, maxSimilarBody, &req); err != nil {
			return err
		}
		m, err := pickModel(e, req.Model)
		if err != nil {
			return err
		}
		k := 0
		if req.K != nil {
			k = *req.K
		}
		if k, err = pickK(e, k, req.K != nil); err != nil {
			return err
		}
		if len(req.Vector) == 0 {
			return e.BadRequestError("Invalid request data.", fieldErr("vector", "validation_required", fmt.Sprintf("vector is required: %d numbers for model %s", m.Dim, m.Name)))
		}
		if len(req.Vector) != m.Dim {
			return e.BadRequestError("Invalid request data.", fieldErr("vector", "validation_wrong_dimension",
				fmt.Sprintf("vector has %d values but model %s needs %d", len(req.Vector), m.Name, m.Dim)))
		}
		v := make([]float32, m.Dim)
		zero := true
		for i, f := range req.Vector {
			v[i] = float32(f)
			if math.IsNaN(f) || math.IsInf(float64(v[i]), 0) {
				return e.BadRequestError("Invalid request data.", fieldErr("vector", "validation_invalid_embedding", fmt.Sprintf("vector element %d is not a finite number", i)))
			}
			if v[i] != 0 {
				zero = false
			}
		}
		if zero {
			return e.BadRequestError("Invalid request data.", fieldErr("vector", "validation_invalid_embedding", "vector must not be all zeros"))
		}
		if len(req.Exclude) > 1000 {
			return e.BadRequestError("Invalid request data.", fieldErr("exclude", "validation_too_many", "exclude holds at most 1000 song keys"))
		}
		ex := make(map[string]bool, len(req.Exclude))
		for _, x := range req.Exclude {
			ex[x] = true
		}
		return answerSimilar(e, sim.Index(m.Name), m.Name, v, k, ex, req.Approx)
	}
}

// answerSimilar runs the query: exact by default; approximate (1-bit
// sketch scan, exact re-rank) when asked and enabled on this server.
func answerSimilar(e *core.RequestEvent, ix *vectors.Index, model string, v []float32, k int, exclude map[string]bool, approx bool) error {
	approx = approx && ix.ApproxEnabled()
	var hits []vectors.Hit
	var err error
	if approx {
		hits, err = ix.SearchApprox(v, k, vectors.DefaultRerank(ix.Len(), k), func(id string) bool { return exclude[id] })
	} else {
		hits, err = ix.Search(v, k, func(id string) bool { return exclude[id] })
	}
	if err != nil {
		return e.BadRequestError("Invalid request data.", fieldErr("vector", "validation_invalid_embedding", err.Error()))
	}
	out, err := catalog.SimilarHits(e.App, hits)
	if err != nil {
		return e.InternalServerError("Failed to read the similar songs.", err)
	}
	return e.JSON(http.StatusOK, map[string]any{"model": model, "k": k, "approx": approx, "results": out})
}
