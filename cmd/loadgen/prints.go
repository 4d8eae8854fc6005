package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"songcommons/fingerprint"
	"songcommons/internal/fpsynth"
	"songcommons/internal/synth"
)

// printQuery is one fingerprint of a lookup: a noisy copy of seeded song
// Song, or (Song < 0) the fingerprint of a song never stored.
type printQuery struct {
	Song int64
	Text string
}

// printLookupBody builds a lookup of c.LookupSize fingerprints: noisy
// copies of random seeded songs (every bit flipped with probability
// c.PrintBER, 0–c.PrintTrim seconds trimmed at the start, the duration
// shortened as much) and, a share c.PrintUnknown of them, fingerprints of
// songs never stored.
func (c *benchConfig) printLookupBody(r *mrand.Rand) ([]byte, []printQuery) {
	qs := make([]printQuery, c.LookupSize)
	songs := make([]map[string]any, c.LookupSize)
	for k := range songs {
		if r.Float64() < c.PrintUnknown {
			i := synth.NextNew(1)
			s := synth.MakeSong(i, 0)
			qs[k] = printQuery{Song: -1, Text: synth.PrintOf(i)}
			songs[k] = map[string]any{"fingerprint": qs[k].Text, "duration": s.Duration}
			continue
		}
		i := uint64(r.IntN(c.Songs))
		s := synth.MakeSong(i, 0)
		trim := r.IntN(int(c.PrintTrim*fingerprint.ItemsPerSecond) + 1)
		items := fpsynth.Noisy(r, synth.PrintItemsOf(i), c.PrintBER, trim)
		qs[k] = printQuery{Song: int64(i), Text: fingerprint.Encode(items, fingerprint.DefaultAlgorithm)}
		songs[k] = map[string]any{"fingerprint": qs[k].Text,
			"duration": float64(int((s.Duration-float64(trim)/fingerprint.ItemsPerSecond)*10)) / 10}
	}
	b, _ := json.Marshal(map[string]any{"songs": songs})
	return b, qs
}

// printAccuracy counts, in a lookup's answer, the copies found as their
// own song (by fingerprint), the copies not found, the false matches (a
// copy found as another song, a never-stored song found) and the
// ambiguous answers (candidates, none picked).
type printAccuracy struct {
	Copies, Right, Missed, False, Unknown, UnknownFound, Ambiguous int
}

func checkPrintAnswer(body []byte, qs []printQuery, acc *printAccuracy) error {
	var ans struct {
		Results []struct {
			Found      bool            `json:"found"`
			SongKey    string          `json:"song_key"`
			MatchedBy  string          `json:"matched_by"`
			Candidates json.RawMessage `json:"candidates"`
		} `json:"results"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return err
	}
	if len(ans.Results) != len(qs) {
		return fmt.Errorf("%d results for %d songs", len(ans.Results), len(qs))
	}
	for k, q := range qs {
		a := ans.Results[k]
		if len(a.Candidates) > 0 && string(a.Candidates) != "null" {
			acc.Ambiguous++
		}
		if q.Song < 0 {
			acc.Unknown++
			if a.Found {
				acc.UnknownFound++
			}
			continue
		}
		acc.Copies++
		switch {
		case !a.Found:
			acc.Missed++
		case a.SongKey == synth.SongKeyOf(uint64(q.Song)) && a.MatchedBy == "fingerprint":
			acc.Right++
		default:
			acc.False++
		}
	}
	return nil
}

// exactHashes is the exact-hash scheme's table: the SHA-256 of every
// seeded song's fingerprint text, as a commons keyed by the hash of the
// fingerprint string holds it.
func exactHashes(n int) map[[32]byte]uint32 {
	workers := runtime.GOMAXPROCS(0)
	parts := make([][][32]byte, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				parts[w] = append(parts[w], sha256.Sum256([]byte(synth.PrintOf(uint64(i)))))
			}
		}()
	}
	wg.Wait()
	m := make(map[[32]byte]uint32, n)
	for w, p := range parts {
		for j, h := range p {
			m[h] = uint32(w + j*workers)
		}
	}
	return m
}

// benchPrintLookup: lookups of c.LookupSize fingerprints, sequential; per
// request the time on this side of 127.0.0.1 (an upper bound of the
// server's time: the body's 3.7 MB cross the loopback) and the server's
// CPU (the server's own time is its request log's execTime, for
// User-Agent loadgen/lookup-fp), and beside it, on the same lookups, the exact-hash scheme in this
// process (SHA-256 of the fingerprint text looked up in a map of the
// seeded songs' hashes).
func (c *benchConfig) benchPrintLookup() error {
	fmt.Printf("== lookup-fp: POST /api/songcommons/lookup, %d fingerprints per request (%.0f%% never stored; copies: %.1f%% of bits flipped, 0–%.0f s trimmed), %d requests x %d runs, sequential\n",
		c.LookupSize, 100*c.PrintUnknown, 100*c.PrintBER, c.PrintTrim, c.LookupRequests, c.Runs)
	t := time.Now()
	hashes := exactHashes(c.Songs)
	fmt.Printf("  exact-hash table of %d songs built in %s (not timed below)\n", len(hashes), time.Since(t).Round(time.Millisecond))
	rng := mrand.New(mrand.NewPCG(2, uint64(time.Now().UnixNano())))
	var meds, p99s, hmeds, ratios, cpus, smeds []float64
	var total printAccuracy
	hashFound := 0
	for run := range c.Runs {
		bodies := make([][]byte, c.LookupRequests)
		queries := make([][]printQuery, c.LookupRequests)
		for i := range bodies {
			bodies[i], queries[i] = c.printLookupBody(rng)
		}
		if r := c.do("POST", "/api/songcommons/lookup", bodies[0], false, true); r.err != nil || r.status != 200 {
			return fmt.Errorf("warm-up: %d %v %.300s", r.status, r.err, r.body)
		}
		ref := c.healthRef(50)
		var ds, hs, ss []time.Duration
		var acc printAccuracy
		// the timed requests carry their own User-Agent: the server's
		// request log (auxiliary.db _logs) has their execTime
		c.agent = "loadgen/lookup-fp"
		u := startUsage(c.PID)
		deadline := time.Now().Add(c.MaxDur)
		for i, b := range bodies {
			if time.Now().After(deadline) {
				break
			}
			r := c.do("POST", "/api/songcommons/lookup", b, false, true)
			if r.err != nil || r.status != 200 {
				return fmt.Errorf("%d %v %.300s", r.status, r.err, r.body)
			}
			ds = append(ds, r.took)
			if r.hasServer {
				ss = append(ss, r.server)
			}
			if err := checkPrintAnswer(r.body, queries[i], &acc); err != nil {
				return err
			}
		}
		c.agent = ""
		sc, _ := u.cores()
		srvCPU := sc * time.Since(u.t0).Seconds() / float64(len(ds)) * 1000
		// the exact-hash scheme on the same lookups
		for _, qs := range queries[:len(ds)] {
			t := time.Now()
			for _, q := range qs {
				if _, ok := hashes[sha256.Sum256([]byte(q.Text))]; ok {
					hashFound++
				}
			}
			hs = append(hs, time.Since(t))
		}
		d, h, sv := dist(ds), dist(hs), dist(ss)
		meds, p99s, hmeds = append(meds, d.Median), append(p99s, d.P99), append(hmeds, h.Median)
		if len(ss) > 0 {
			smeds = append(smeds, sv.Median)
		}
		ratios, cpus = append(ratios, d.Median/h.Median), append(cpus, srvCPU)
		total.Copies += acc.Copies
		total.Right += acc.Right
		total.Missed += acc.Missed
		total.False += acc.False
		total.Unknown += acc.Unknown
		total.UnknownFound += acc.UnknownFound
		total.Ambiguous += acc.Ambiguous
		fmt.Printf("  run %d: %s (client side); server time (Server-Timing) %s; server CPU %.0f ms per request; health round trip %.2f ms; exact hash %s; index/hash x%.0f; copies %d: right %d, missed %d, false %d; never stored %d: found %d; ambiguous %d\n",
			run+1, d, sv, srvCPU, ref.Median, h, d.Median/h.Median, acc.Copies, acc.Right, acc.Missed, acc.False, acc.Unknown, acc.UnknownFound, acc.Ambiguous)
		c.emit("lookup-fp", map[string]any{"run": run + 1, "dist": d, "server": sv, "hash": h, "server_cpu_ms": srvCPU, "health_ms": ref.Median, "accuracy": acc, "request_bytes": len(bodies[0])})
	}
	fmt.Printf("  MEDIAN of %d runs: median %.1f ms, p99 %.1f ms (client side, upper bound of server time); server time median %.1f ms; server CPU %.0f ms per request; exact hash %.2f ms (x%.0f); copies %d: right %d, missed %d, false %d; never stored %d: found %d; ambiguous %d; exact hash found %d of %d copies\n",
		c.Runs, median(meds), median(p99s), median(smeds), median(cpus), median(hmeds), median(ratios), total.Copies, total.Right, total.Missed, total.False, total.Unknown, total.UnknownFound, total.Ambiguous, hashFound, total.Copies)
	c.emit("lookup-fp/summary", map[string]any{"median_ms": median(meds), "server_median_ms": median(smeds), "p99_ms": median(p99s), "server_cpu_ms": median(cpus), "hash_ms": median(hmeds), "x_hash": median(ratios), "accuracy": total, "hash_found": hashFound})
	return nil
}

// benchContributePairs: uploads without and with fingerprints, alternating
// (pairs, the order within a pair alternating too), one client; the ratio
// of each pair's rates.
func (c *benchConfig) benchContributePairs() error {
	fmt.Printf("== contribute-pairs: POST /api/songcommons/contribute, %d new songs per request, %d requests per side, %d pairs, alternating, 1 client\n", c.ContribSize, c.ContribReqs, c.Runs)
	saved := c.Prints
	defer func() { c.Prints = saved }()
	var ratios []float64
	rates := map[bool][]float64{}
	for pair := range c.Runs {
		got := map[bool]float64{}
		for k, prints := range []bool{pair%2 == 1, pair%2 == 0} {
			c.Prints = prints
			bodies := make([][]byte, c.ContribReqs)
			for i := range bodies {
				bodies[i] = c.contributeBody(c.ContribSize)
			}
			u := startUsage(c.PID)
			rate, d, err := c.ingest("/api/songcommons/contribute", bodies, c.ContribSize, 1, true)
			if err != nil {
				return err
			}
			sc, _ := u.cores()
			got[prints] = rate
			rates[prints] = append(rates[prints], rate)
			fmt.Printf("  pair %d.%d fingerprints=%v: %.0f songs/s; per request %s; body %.2f MiB; server %.2f cores; server phases (median ms) %s\n", pair+1, k+1, prints, rate, d, float64(len(bodies[0]))/(1<<20), sc, &c.phases)
			c.emit("contribute-pairs", map[string]any{"pair": pair + 1, "fingerprints": prints, "songs_per_s": rate, "dist": d, "server_cores": sc, "request_bytes": len(bodies[0])})
		}
		ratios = append(ratios, got[false]/got[true])
		fmt.Printf("  pair %d: without/with = x%.2f (load %s)\n", pair+1, got[false]/got[true], loadavg())
	}
	fmt.Printf("  MEDIAN of %d pairs: without %.0f songs/s, with fingerprints %.0f songs/s, without/with x%.2f (pairs: %s)\n",
		c.Runs, median(rates[false]), median(rates[true]), median(ratios), fmtRatios(ratios))
	c.emit("contribute-pairs/summary", map[string]any{"without": median(rates[false]), "with": median(rates[true]), "ratio": median(ratios), "ratios": ratios})
	return nil
}

func fmtRatios(xs []float64) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(s, ", ")
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
