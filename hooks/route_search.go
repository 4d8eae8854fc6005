package hooks

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/catalog"
	"songcommons/search"
	"songcommons/songsearch"
)

// Search bounds of GET /api/songcommons/search.
const (
	MaxSearchQuery    = 200 // characters of q
	DefaultSearchPage = 20  // perPage when not given
	maxSearchPerPage  = search.MaxPerPage
	maxSearchDepth    = search.MaxDepth // page × perPage
)

// SearchAnswer is the answer of GET /api/songcommons/search.
type SearchAnswer struct {
	Query   string              `json:"query"`
	Page    int                 `json:"page"`
	PerPage int                 `json:"perPage"`
	Total   int                 `json:"total"`
	Capped  bool                `json:"capped"`
	Results []catalog.SearchHit `json:"results"`
}

// searchHandler answers GET /api/songcommons/search: one page of the songs
// whose artist, title or album match the words of q (search package), best
// first, read from the songs table with one query.
func searchHandler(ix *songsearch.Index) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		start := time.Now()
		qs := e.Request.URL.Query()
		q := strings.TrimSpace(qs.Get("q"))
		switch {
		case !utf8.ValidString(q):
			return e.BadRequestError("Invalid request data.", fieldErr("q", "validation_invalid_value", "q must be UTF-8 text"))
		case q == "":
			return e.BadRequestError("Invalid request data.", fieldErr("q", "validation_required", "q is required: the words to search artists, titles and albums for"))
		case utf8.RuneCountInString(q) > MaxSearchQuery:
			return e.BadRequestError("Invalid request data.", fieldErr("q", "validation_length_too_long",
				fmt.Sprintf("q must be at most %d characters", MaxSearchQuery)))
		}
		perPage, err := intParam(e, qs, "perPage", DefaultSearchPage, 1, maxSearchPerPage,
			fmt.Sprintf("perPage must be a whole number between 1 and %d", maxSearchPerPage))
		if err != nil {
			return err
		}
		maxPage := maxSearchDepth / perPage
		page, err := intParam(e, qs, "page", 1, 1, maxPage,
			fmt.Sprintf("page must be a whole number between 1 and %d (results go %d deep: page × perPage ≤ %d)", maxPage, maxSearchDepth, maxSearchDepth))
		if err != nil {
			return err
		}
		res, err := ix.Search(e.App, q, page, perPage)
		if err != nil {
			return e.InternalServerError("Failed to search.", err)
		}
		searched := time.Now()
		hits, err := catalog.SearchHits(e.App, res.Hits)
		if err != nil {
			return e.InternalServerError("Failed to read the songs found.", err)
		}
		// the handler's time, split into the index search and the read of
		// the page's rows (benchmarks read it; JSON encoding not included)
		done := time.Now()
		e.Response.Header().Set("Server-Timing", fmt.Sprintf("index;dur=%.3f, rows;dur=%.3f, total;dur=%.3f",
			msSince(start, searched), msSince(searched, done), msSince(start, done)))
		return e.JSON(http.StatusOK, SearchAnswer{Query: q, Page: page, PerPage: perPage,
			Total: res.Total, Capped: res.Capped, Results: hits})
	}
}

// intParam reads an optional whole-number query parameter within [lo, hi]
// (def when absent), or answers 400 naming it.
func intParam(e *core.RequestEvent, qs map[string][]string, name string, def, lo, hi int, msg string) (int, error) {
	vs, ok := qs[name]
	if !ok || len(vs) == 0 || vs[0] == "" {
		return def, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(vs[0]))
	if err != nil {
		return 0, e.BadRequestError("Invalid request data.", fieldErr(name, "validation_not_a_number", msg))
	}
	if n < lo || n > hi {
		return 0, e.BadRequestError("Invalid request data.", fieldErr(name, "validation_out_of_range", msg))
	}
	return n, nil
}

// msSince is b − a in milliseconds.
func msSince(a, b time.Time) float64 { return ms(b.Sub(a)) }

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
