package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// searchQueries are the queries of issue 18 (and two prefixes as typed).
var searchQueries = []string{"the", "amber", "zzzq", "velvet harbor", "northern dance", "nor", "velv har"}

// searchPath is the search route's first page of q.
func searchPath(q string) string {
	return "/api/songcommons/search?" + url.Values{"q": {q}, "page": {"1"}, "perPage": {"20"}}.Encode()
}

// recordFilterPath is what the web UI sent before the search route: the
// record API on songs, every word in artist, title or song_key
// (LIKE '%w%'), sorted by artist and title, first page of 20 with the
// total.
func recordFilterPath(q string) string {
	var parts []string
	for _, w := range strings.Fields(q) {
		w = strings.ReplaceAll(w, `"`, ``)
		parts = append(parts, fmt.Sprintf(`(artist ~ "%s" || title ~ "%s" || song_key ~ "%s")`, w, w, strings.ToLower(w)))
	}
	return "/api/collections/songs/records?" + url.Values{"page": {"1"}, "perPage": {"20"}, "sort": {"artist,title"},
		"fields": {"id,song_key,artist,title,contributions,tempo,key,scale,embeddings"},
		"filter": {strings.Join(parts, " && ")}}.Encode()
}

// benchSearch times the search route and the record-API filter side by
// side on the same queries, sequentially: per run and query, a warm-up
// then --search-requests requests of the route and
// --search-filter-requests of the filter (each loop bounded by
// --duration). The route's times are given as the client saw them (the
// loopback round trip) and as the server's Server-Timing total (the
// handler).
func (c *benchConfig) benchSearch() error {
	fmt.Printf("== search: GET /api/songcommons/search (%d requests) vs the record-API filter (%d requests), x %d runs per query, sequential (load average %s)\n",
		c.SearchReqs, c.SearchFiltReqs, c.Runs, loadAvg())
	for _, q := range searchQueries {
		for _, kind := range []string{"route", "record filter"} {
			path, n := searchPath(q), c.SearchReqs
			if kind == "record filter" {
				path, n = recordFilterPath(q), c.SearchFiltReqs
			}
			var meds, p99s, smeds, sp99s []float64
			var total string
			for run := range c.Runs {
				r := c.do("GET", path, nil, false, true)
				if r.err != nil || r.status != 200 {
					return fmt.Errorf("%s %q warm-up: %d %v %.300s", kind, q, r.status, r.err, r.body)
				}
				total = totalOf(r.body)
				var ds, ss []time.Duration
				deadline := time.Now().Add(c.MaxDur)
				for range n {
					if time.Now().After(deadline) {
						break
					}
					r := c.do("GET", path, nil, false, false)
					if r.err != nil || r.status != 200 {
						return fmt.Errorf("%s %q: %d %v %.300s", kind, q, r.status, r.err, r.body)
					}
					ds = append(ds, r.took)
					if r.hasServer {
						ss = append(ss, r.server)
					}
				}
				d, sd := dist(ds), dist(ss)
				meds, p99s = append(meds, d.Median), append(p99s, d.P99)
				if sd.N > 0 {
					smeds, sp99s = append(smeds, sd.Median), append(sp99s, sd.P99)
				}
				c.emit("search "+kind, map[string]any{"query": q, "run": run + 1, "dist": d, "server": sd, "total": total, "load": loadAvg()})
			}
			srv := ""
			if len(smeds) > 0 {
				srv = fmt.Sprintf("; server (Server-Timing) median %.2f ms, p99 %.2f ms", median(smeds), median(sp99s))
			}
			fmt.Printf("  %-16q %-13s MEDIAN of %d runs: median %.2f ms, p99 %.2f ms, total %s%s (load average %s)\n",
				q, kind, c.Runs, median(meds), median(p99s), total, srv, loadAvg())
			c.emit("search "+kind+"/summary", map[string]any{"query": q, "median_ms": median(meds), "p99_ms": median(p99s),
				"server_median_ms": median(smeds), "server_p99_ms": median(sp99s), "total": total})
		}
	}
	return nil
}

// totalOf is the total an answer gives: the route's total ("+" when
// capped) or the record API's totalItems.
func totalOf(body []byte) string {
	var ans struct {
		Total      *int `json:"total"`
		Capped     bool `json:"capped"`
		TotalItems *int `json:"totalItems"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return "?"
	}
	switch {
	case ans.Total != nil && ans.Capped:
		return fmt.Sprintf("%d+", *ans.Total)
	case ans.Total != nil:
		return fmt.Sprint(*ans.Total)
	case ans.TotalItems != nil:
		return fmt.Sprint(*ans.TotalItems)
	}
	return "?"
}
