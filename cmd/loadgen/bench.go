package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"songcommons/internal/synth"
)

// benchConfig bounds every scenario: a request count and a duration cap.
type benchConfig struct {
	phases    phases // the Server-Timing metrics of the last ingest's answers
	URL       string
	Token     string
	Songs     int // seeded songs: lookups pick indexes in [0, Songs)
	Scenarios []string
	Runs      int
	MaxDur    time.Duration // hard cap of any single measured loop

	LookupRequests int
	LookupSize     int
	SimilarReqs    int
	SearchReqs     int
	SearchFiltReqs int // search: requests of the record-API filter (a table scan each) per run and query

	TypingClients  int           // typing: clients typing queries, a request per keystroke
	TypingDuration time.Duration // typing: each phase's length
	TypingLookup   int           // typing: lookup clients (1,000 songs per request)
	TypingSimilar  int           // typing: similar-song clients (GET by song)
	TypingPause    time.Duration // typing: a lookup or similar client's pause between requests
	TypingFilter   bool          // typing: a last phase with the typers on the record-API filter
	ContribReqs    int           // per concurrency level and run
	ContribSize    int
	ContribConc    []int
	BatchReqs      int // per concurrency level and run
	BatchConc      []int

	MixedClients  int
	MixedDuration time.Duration
	MixedUploads  int // pre-built upload bodies (500 songs each): upper bound of uploads
	MixedRequests int // upper bound of all requests

	SlowClients int           // slow: connections trickling request bodies
	SlowHonest  int           // slow: honest clients
	SlowRounds  int           // slow: rounds of requests per honest client and phase
	SlowTick    time.Duration // slow: one body byte per tick
	SlowPause   time.Duration // slow: an honest client's pause between rounds

	Prints       bool    // contribute, batch: each song with its fingerprint and duration
	PrintBER     float64 // lookup-fp: share of flipped bits in a copy
	PrintTrim    float64 // lookup-fp: a copy is trimmed by up to this many seconds at the start
	PrintUnknown float64 // lookup-fp: share of fingerprints of songs never stored

	PID      int    // server pid, for VmRSS/VmHWM and CPU (0 = unknown)
	IDsOut   string // append acknowledged ids here ("table id" lines)
	JSONOut  string // append one JSON result per scenario here
	Floor    bool   // measure the memory-streaming floor for similar
	Label    string // free text carried into the JSON results (e.g. "1M")
	httpc    *http.Client
	agent    string // User-Agent of the requests ("" = Go's): the server's request log records it with execTime
	idsMu    sync.Mutex
	idsFile  *os.File
	ackedIDs int
}

// checkLoopback refuses any target but 127.0.0.1.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	if u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "" {
		return fmt.Errorf("--url must be http://127.0.0.1:PORT (load only ever targets 127.0.0.1), got %q", raw)
	}
	return nil
}

func newHTTPClient() *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if h, _, _ := net.SplitHostPort(addr); h != "127.0.0.1" {
				return nil, fmt.Errorf("refusing to dial %s: 127.0.0.1 only", addr)
			}
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConns:        512,
		MaxIdleConnsPerHost: 512,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Minute}
}

// result of one request.
type result struct {
	status     int
	bytes      int64
	took       time.Duration
	body       []byte // kept only when asked
	err        error
	retryAfter time.Duration // from a 429/503 answer's Retry-After
	server     time.Duration // the server's own time (Server-Timing total), if it gave one
	hasServer  bool          // the answer had a Server-Timing total
	timing     string        // the answer's Server-Timing header
}

func (c *benchConfig) do(method, path string, body []byte, auth bool, keep bool) result {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.URL+path, rd)
	if err != nil {
		return result{err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth && c.Token != "" {
		req.Header.Set("Authorization", c.Token)
	}
	if c.agent != "" {
		req.Header.Set("User-Agent", c.agent)
	}
	t := time.Now()
	res, err := c.httpc.Do(req)
	if err != nil {
		return result{err: err, took: time.Since(t)}
	}
	var r result
	if keep || res.StatusCode >= 400 {
		r.body, err = io.ReadAll(res.Body)
		r.bytes = int64(len(r.body))
	} else {
		r.bytes, err = io.Copy(io.Discard, res.Body)
	}
	res.Body.Close()
	r.took, r.status, r.err = time.Since(t), res.StatusCode, err
	if n, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && n > 0 {
		r.retryAfter = time.Duration(n) * time.Second
	}
	r.timing = res.Header.Get("Server-Timing")
	r.server, r.hasServer = serverTiming(r.timing, "total")
	return r
}

// phases collects the Server-Timing metrics of many answers, in the order
// the server first named them.
type phases struct {
	names []string
	durs  map[string][]time.Duration
}

func (p *phases) add(h string) {
	defer p.derive(h)
	for _, m := range strings.Split(h, ",") {
		n, _, _ := strings.Cut(strings.TrimSpace(m), ";")
		if n == "" {
			continue
		}
		d, ok := serverTiming(h, n)
		if !ok {
			continue
		}
		if p.durs == nil {
			p.durs = map[string][]time.Duration{}
		}
		if _, seen := p.durs[n]; !seen {
			p.names = append(p.names, n)
		}
		p.durs[n] = append(p.durs[n], d)
	}
}

// derive adds, for /contribute's answers, what its metrics leave out of
// each request: "after" (upload − identity − write: the journal's work
// after the commit, which the index refresh overlaps) and "other" (total −
// read − check − upload).
func (p *phases) derive(h string) {
	get := func(n string) time.Duration { d, _ := serverTiming(h, n); return d }
	if _, ok := serverTiming(h, "upload"); !ok {
		return
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"after", get("upload") - get("identity") - get("write")},
		{"other", get("total") - get("read") - get("check") - get("upload")},
	} {
		if _, seen := p.durs[d.name]; !seen {
			p.names = append(p.names, d.name)
		}
		p.durs[d.name] = append(p.durs[d.name], d.v)
	}
}

// String is each metric's median in milliseconds ("" when none came).
func (p *phases) String() string {
	var out []string
	for _, n := range p.names {
		out = append(out, fmt.Sprintf("%s %.1f", n, dist(p.durs[n]).Median))
	}
	return strings.Join(out, ", ")
}

// serverTiming is the duration of metric name in a Server-Timing header
// ("index;dur=0.210, total;dur=0.532"), and whether it is there.
func serverTiming(h, name string) (time.Duration, bool) {
	for _, m := range strings.Split(h, ",") {
		n, params, _ := strings.Cut(strings.TrimSpace(m), ";")
		if n != name {
			continue
		}
		for _, p := range strings.Split(params, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "dur="); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					return time.Duration(f * float64(time.Millisecond)), true
				}
			}
		}
	}
	return 0, false
}

// ---------- statistics ----------

// Dist summarises latencies.
type Dist struct {
	N      int     `json:"n"`
	Median float64 `json:"median_ms"`
	P90    float64 `json:"p90_ms"`
	P99    float64 `json:"p99_ms"`
	Max    float64 `json:"max_ms"`
	Mean   float64 `json:"mean_ms"`
}

func dist(ds []time.Duration) Dist {
	if len(ds) == 0 {
		return Dist{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(p float64) float64 {
		i := int(p*float64(len(s)-1) + 0.5)
		return ms(s[i])
	}
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	return Dist{N: len(s), Median: q(0.5), P90: q(0.9), P99: q(0.99), Max: ms(s[len(s)-1]), Mean: ms(sum / time.Duration(len(s)))}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (d Dist) String() string {
	return fmt.Sprintf("n=%d median %.1f ms, p90 %.1f, p99 %.1f, max %.1f", d.N, d.Median, d.P90, d.P99, d.Max)
}

// usage measures the CPU the server and this process used over a window.
type usage struct {
	t0          time.Time
	srv0, self0 time.Duration
	pid         int
}

func startUsage(pid int) usage {
	return usage{time.Now(), cpuTime(pid), selfCPU(), pid}
}

// cores returns the average number of cores the server and the load
// generator used since startUsage.
func (u usage) cores() (server, client float64) {
	w := time.Since(u.t0).Seconds()
	return (cpuTime(u.pid) - u.srv0).Seconds() / w, (selfCPU() - u.self0).Seconds() / w
}

// emit appends a JSON result line.
func (c *benchConfig) emit(scenario string, v any) {
	if c.JSONOut == "" {
		return
	}
	f, err := os.OpenFile(c.JSONOut, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	b, _ := json.Marshal(map[string]any{"scenario": scenario, "label": c.Label, "at": time.Now().UTC().Format(time.RFC3339), "result": v})
	f.Write(append(b, '\n'))
}

// recordIDs writes acknowledged ids of an upload answer.
func (c *benchConfig) recordIDs(body []byte) (int, error) {
	var ans struct {
		Accepted  int      `json:"accepted"`
		Score     []string `json:"score"`
		Embedding []string `json:"embedding"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return 0, err
	}
	c.idsMu.Lock()
	defer c.idsMu.Unlock()
	c.ackedIDs += len(ans.Score) + len(ans.Embedding)
	if c.idsFile != nil {
		var b bytes.Buffer
		for _, id := range ans.Score {
			b.WriteString("score " + id + "\n")
		}
		for _, id := range ans.Embedding {
			b.WriteString("embedding " + id + "\n")
		}
		c.idsFile.Write(b.Bytes())
	}
	return ans.Accepted, nil
}

// ---------- request bodies (built before any timed loop) ----------

func (c *benchConfig) lookupBody(r *mrand.Rand, withEmb bool) []byte {
	return c.lookupBodyBy(r, withEmb, false)
}

// lookupBodyBy builds a lookup of random existing songs, by artist and
// title, or by MBID (of songs that have one: half of them).
func (c *benchConfig) lookupBodyBy(r *mrand.Rand, withEmb, byMBID bool) []byte {
	songs := make([]map[string]string, c.LookupSize)
	for i := range songs {
		if !byMBID {
			a, t := synth.SongID(uint64(r.IntN(c.Songs)))
			songs[i] = map[string]string{"artist": a, "title": t}
			continue
		}
		for {
			if s := synth.MakeSong(uint64(r.IntN(c.Songs)), 0); s.MBID != "" {
				songs[i] = map[string]string{"mbid": s.MBID}
				break
			}
		}
	}
	req := map[string]any{"songs": songs}
	if withEmb {
		req["embeddings"] = []string{"musicnn"}
	}
	b, _ := json.Marshal(req)
	return b
}

func contributeBody(n int) []byte { return (&benchConfig{}).contributeBody(n) }

// contributeBody is an upload of n new songs, with their fingerprints when
// c.Prints.
func (c *benchConfig) contributeBody(n int) []byte {
	first := synth.NextNew(n)
	songs := make([]map[string]any, n)
	for i := range songs {
		s := synth.MakeSong(first+uint64(i), 0)
		if c.Prints {
			s = s.WithPrint(first + uint64(i))
		}
		songs[i] = s.Map([]string{"musicnn"})
	}
	b, _ := json.Marshal(map[string]any{"songs": songs})
	return b
}

// batchBody is the AudioMuse-AI sync client's /api/batch: per song an
// embedding create (the vector as a JSON *string*, no model) then a score
// create.
func batchBody(songs int) []byte { return (&benchConfig{}).batchBody(songs) }

// batchBody is batchBody with the fingerprints and durations of the songs
// on their score creates when c.Prints.
func (c *benchConfig) batchBody(songs int) []byte {
	first := synth.NextNew(songs)
	reqs := make([]map[string]any, 0, 2*songs)
	for i := range songs {
		s := synth.MakeSong(first+uint64(i), 0)
		ej, _ := json.Marshal(s.Vector)
		reqs = append(reqs, map[string]any{"method": "POST", "url": "/api/collections/embedding/records",
			"body": map[string]any{"artist": s.Artist, "title": s.Title, "embedding": string(ej)}})
		score := map[string]any{"title": s.Title, "artist": s.Artist, "tempo": s.Tempo, "key": s.Key,
			"scale": s.Scale, "mood_vector": s.MoodVector, "energy": s.Energy, "other_features": s.Other}
		if c.Prints {
			score["fingerprint"], score["duration"] = synth.PrintOf(first+uint64(i)), s.Duration
		}
		reqs = append(reqs, map[string]any{"method": "POST", "url": "/api/collections/score/records", "body": score})
	}
	b, _ := json.Marshal(map[string]any{"requests": reqs})
	return b
}

func similarGetPath(r *mrand.Rand, songs int) string {
	return "/api/songcommons/similar?model=musicnn&k=10&song=" + url.QueryEscape(synth.SongKeyOf(uint64(r.IntN(songs))))
}

func similarPostBody() []byte {
	s := synth.MakeSong(synth.NextNew(1), 0)
	b, _ := json.Marshal(map[string]any{"vector": s.Vector, "model": "musicnn", "k": 10})
	return b
}

// ---------- reference: the cost of a trivial round trip ----------

func (c *benchConfig) healthRef(n int) Dist {
	var ds []time.Duration
	for range n {
		r := c.do("GET", "/api/health", nil, false, false)
		if r.err == nil && r.status == 200 {
			ds = append(ds, r.took)
		}
	}
	return dist(ds)
}

// ---------- scenarios ----------

func runBench(c *benchConfig) error {
	if err := checkLoopback(c.URL); err != nil {
		return err
	}
	c.httpc = newHTTPClient()
	if c.IDsOut != "" {
		f, err := os.OpenFile(c.IDsOut, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		c.idsFile = f
	}
	if c.Songs <= 0 {
		return errors.New("--songs (the number of seeded songs) is required")
	}
	// sanity: the seeded songs are there
	r := c.do("POST", "/api/songcommons/lookup", []byte(`{"songs":[{"artist":`+strconv.Quote(mustArtist(0))+`,"title":`+strconv.Quote(mustTitle(0))+`},{"artist":`+strconv.Quote(mustArtist(uint64(c.Songs-1)))+`,"title":`+strconv.Quote(mustTitle(uint64(c.Songs-1)))+`}]}`), false, true)
	if r.err != nil || r.status != 200 || !bytes.Contains(r.body, []byte(`"found":2`)) {
		return fmt.Errorf("the seeded songs 0 and %d are not both found (status %d, %v): %.300s", c.Songs-1, r.status, r.err, r.body)
	}
	for _, s := range c.Scenarios {
		var err error
		switch s {
		case "lookup":
			err = c.benchLookup()
		case "similar":
			err = c.benchSimilar()
		case "contribute":
			err = c.benchContribute()
		case "batch":
			err = c.benchBatch()
		case "mixed":
			err = c.benchMixed()
		case "slow":
			err = c.benchSlow()
		case "search":
			err = c.benchSearch()
		case "typing":
			err = c.benchTyping()
		case "lookup-fp":
			err = c.benchPrintLookup()
		case "contribute-pairs":
			err = c.benchContributePairs()
		default:
			err = fmt.Errorf("unknown scenario %q (lookup, similar, contribute, batch, mixed, slow, search, typing, lookup-fp, contribute-pairs)", s)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
		if c.PID > 0 {
			m := readMem(c.PID)
			fmt.Printf("  server memory after %s: VmRSS %.0f MiB, VmHWM %.0f MiB\n", s, m.RSS, m.HWM)
			c.emit(s+"/mem", m)
		}
	}
	return nil
}

func mustArtist(i uint64) string { a, _ := synth.SongID(i); return a }
func mustTitle(i uint64) string  { _, t := synth.SongID(i); return t }

func (c *benchConfig) benchLookup() error {
	fmt.Printf("== lookup: POST /api/songcommons/lookup, %d random existing songs, %d requests x %d runs, sequential\n", c.LookupSize, c.LookupRequests, c.Runs)
	rng := mrand.New(mrand.NewPCG(1, uint64(time.Now().UnixNano())))
	for _, v := range []struct {
		name            string
		withEmb, byMBID bool
	}{{"lookup", false, false}, {"lookup+embeddings", true, false}, {"lookup by MBID", false, true}} {
		name, withEmb := v.name, v.withEmb
		var meds, p90s, p99s, ratios []float64
		var size int64
		var reqBytes int
		for run := range c.Runs {
			bodies := make([][]byte, c.LookupRequests)
			for i := range bodies {
				bodies[i] = c.lookupBodyBy(rng, withEmb, v.byMBID)
			}
			reqBytes = len(bodies[0])
			// warm-up (not timed)
			if r := c.do("POST", "/api/songcommons/lookup", bodies[0], false, true); r.err != nil || r.status != 200 {
				return fmt.Errorf("warm-up: %d %v %.300s", r.status, r.err, r.body)
			} else if !bytes.Contains(r.body, []byte(fmt.Sprintf(`"found":%d`, c.LookupSize))) {
				return fmt.Errorf("warm-up: not all %d songs found: %.200s", c.LookupSize, r.body[max(0, len(r.body)-200):])
			}
			ref := c.healthRef(50)
			u := startUsage(c.PID)
			var ds []time.Duration
			deadline := time.Now().Add(c.MaxDur)
			for _, b := range bodies {
				if time.Now().After(deadline) {
					break
				}
				r := c.do("POST", "/api/songcommons/lookup", b, false, false)
				if r.err != nil || r.status != 200 {
					return fmt.Errorf("%d %v %.300s", r.status, r.err, r.body)
				}
				size = r.bytes
				ds = append(ds, r.took)
			}
			sc, cc := u.cores()
			d := dist(ds)
			meds, p90s, p99s = append(meds, d.Median), append(p90s, d.P90), append(p99s, d.P99)
			ratios = append(ratios, d.Median/ref.Median)
			fmt.Printf("  %-18s run %d: %s; response %.1f KiB; health round trip %.2f ms (x%.0f); server %.2f cores, loadgen %.2f cores\n",
				name, run+1, d, float64(size)/1024, ref.Median, d.Median/ref.Median, sc, cc)
			c.emit(name, map[string]any{"run": run + 1, "dist": d, "response_bytes": size, "request_bytes": reqBytes, "health_ms": ref.Median, "server_cores": sc, "client_cores": cc})
		}
		fmt.Printf("  %-18s MEDIAN of %d runs: median %.1f ms, p90 %.1f, p99 %.1f (response %.1f KiB, request %.1f KiB)\n",
			name, c.Runs, median(meds), median(p90s), median(p99s), float64(size)/1024, float64(reqBytes)/1024)
		c.emit(name+"/summary", map[string]any{"median_ms": median(meds), "p90_ms": median(p90s), "p99_ms": median(p99s), "x_health": median(ratios), "response_bytes": size})
	}
	return nil
}

func (c *benchConfig) benchSimilar() error {
	fmt.Printf("== similar: k=10, model musicnn, %d requests x %d runs each, sequential\n", c.SimilarReqs, c.Runs)
	var fl floorResult
	if c.Floor {
		var st struct {
			IndexSongs map[string]int `json:"indexSongs"`
		}
		r := c.do("GET", "/api/songcommons/status", nil, false, true)
		_ = json.Unmarshal(r.body, &st)
		fl = measureFloor(st.IndexSongs["musicnn"], synth.Dim, 5)
		fmt.Printf("  reference (in the load generator, same run): %s\n", fl)
		c.emit("similar/floor", fl)
	}
	rng := mrand.New(mrand.NewPCG(2, uint64(time.Now().UnixNano())))
	for _, kind := range []string{"GET song", "POST vector"} {
		var meds, p99s []float64
		for run := range c.Runs {
			type req struct {
				path string
				body []byte
			}
			reqs := make([]req, c.SimilarReqs)
			for i := range reqs {
				if kind == "GET song" {
					reqs[i] = req{path: similarGetPath(rng, c.Songs)}
				} else {
					reqs[i] = req{path: "/api/songcommons/similar", body: similarPostBody()}
				}
			}
			method := map[bool]string{true: "GET", false: "POST"}[kind == "GET song"]
			if r := c.do(method, reqs[0].path, reqs[0].body, false, true); r.err != nil || r.status != 200 {
				return fmt.Errorf("warm-up: %d %v %.300s", r.status, r.err, r.body)
			}
			u := startUsage(c.PID)
			var ds []time.Duration
			deadline := time.Now().Add(c.MaxDur)
			for _, q := range reqs {
				if time.Now().After(deadline) {
					break
				}
				r := c.do(method, q.path, q.body, false, false)
				if r.err != nil || r.status != 200 {
					return fmt.Errorf("%d %v %.300s", r.status, r.err, r.body)
				}
				ds = append(ds, r.took)
			}
			sc, cc := u.cores()
			d := dist(ds)
			meds, p99s = append(meds, d.Median), append(p99s, d.P99)
			extra := ""
			if fl.StreamMS > 0 {
				extra = fmt.Sprintf("; x%.2f the stream floor, x%.2f the in-process Search", d.Median/fl.StreamMS, d.Median/fl.SearchMS)
			}
			fmt.Printf("  %-12s run %d: %s%s; server %.2f cores, loadgen %.2f\n", kind, run+1, d, extra, sc, cc)
			c.emit("similar "+kind, map[string]any{"run": run + 1, "dist": d, "server_cores": sc, "client_cores": cc})
		}
		fmt.Printf("  %-12s MEDIAN of %d runs: median %.1f ms, p99 %.1f ms\n", kind, c.Runs, median(meds), median(p99s))
		c.emit("similar "+kind+"/summary", map[string]any{"median_ms": median(meds), "p99_ms": median(p99s), "floor": fl})
	}
	return nil
}

// ingest runs reqs bodies through path with conc clients; returns songs/s
// and per-request latencies.
func (c *benchConfig) ingest(path string, bodies [][]byte, songsPer int, conc int, parseIDs bool) (float64, Dist, error) {
	var next atomic.Int64
	var mu sync.Mutex
	var ds []time.Duration
	var firstErr error
	var songs atomic.Int64
	c.phases = phases{}
	deadline := time.Now().Add(c.MaxDur)
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if int(i) >= len(bodies) || time.Now().After(deadline) {
					return
				}
				r := c.do("POST", path, bodies[i], true, parseIDs)
				mu.Lock()
				if r.err != nil || r.status != 200 {
					if firstErr == nil {
						firstErr = fmt.Errorf("%d %v %.300s", r.status, r.err, r.body)
					}
					mu.Unlock()
					return
				}
				ds = append(ds, r.took)
				c.phases.add(r.timing)
				mu.Unlock()
				if parseIDs {
					if _, err := c.recordIDs(r.body); err != nil {
						mu.Lock()
						firstErr = err
						mu.Unlock()
						return
					}
				}
				songs.Add(int64(songsPer))
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	return float64(songs.Load()) / wall.Seconds(), dist(ds), firstErr
}

func (c *benchConfig) benchContribute() error {
	fmt.Printf("== contribute: POST /api/songcommons/contribute, %d new songs (score + 200-d musicnn) per request, %d requests per level x %d runs\n", c.ContribSize, c.ContribReqs, c.Runs)
	for _, conc := range c.ContribConc {
		var rates []float64
		var lat []float64
		for run := range c.Runs {
			bodies := make([][]byte, c.ContribReqs)
			for i := range bodies {
				bodies[i] = c.contributeBody(c.ContribSize)
			}
			u := startUsage(c.PID)
			rate, d, err := c.ingest("/api/songcommons/contribute", bodies, c.ContribSize, conc, true)
			if err != nil {
				return err
			}
			sc, cc := u.cores()
			rates, lat = append(rates, rate), append(lat, d.Median)
			fmt.Printf("  %d client(s) run %d: %.0f songs/s; per request %s; body %.2f MiB; server %.2f cores, loadgen %.2f; server phases (median ms) %s\n",
				conc, run+1, rate, d, float64(len(bodies[0]))/(1<<20), sc, cc, &c.phases)
			c.emit("contribute", map[string]any{"conc": conc, "run": run + 1, "songs_per_s": rate, "dist": d, "server_cores": sc, "client_cores": cc, "request_bytes": len(bodies[0])})
		}
		fmt.Printf("  %d client(s) MEDIAN of %d runs: %.0f songs/s (request median %.0f ms)\n", conc, c.Runs, median(rates), median(lat))
		c.emit("contribute/summary", map[string]any{"conc": conc, "songs_per_s": median(rates), "request_median_ms": median(lat)})
	}
	return nil
}

func (c *benchConfig) benchBatch() error {
	fmt.Printf("== batch: POST /api/batch, 50 sub-requests (25 songs: embedding as a JSON string + score), %d requests per level x %d runs\n", c.BatchReqs, c.Runs)
	for _, conc := range c.BatchConc {
		var rates, lat []float64
		for run := range c.Runs {
			bodies := make([][]byte, c.BatchReqs)
			for i := range bodies {
				bodies[i] = c.batchBody(25)
			}
			u := startUsage(c.PID)
			rate, d, err := c.ingest("/api/batch", bodies, 25, conc, false)
			if err != nil {
				return err
			}
			sc, cc := u.cores()
			rates, lat = append(rates, rate), append(lat, d.Median)
			fmt.Printf("  %d client(s) run %d: %.0f songs/s; per request %s; server %.2f cores, loadgen %.2f\n", conc, run+1, rate, d, sc, cc)
			c.emit("batch", map[string]any{"conc": conc, "run": run + 1, "songs_per_s": rate, "dist": d, "server_cores": sc, "client_cores": cc})
		}
		fmt.Printf("  %d client(s) MEDIAN of %d runs: %.0f songs/s (request median %.0f ms)\n", conc, c.Runs, median(rates), median(lat))
		c.emit("batch/summary", map[string]any{"conc": conc, "songs_per_s": median(rates), "request_median_ms": median(lat)})
	}
	return nil
}

// benchMixed: MixedClients clients for MixedDuration, each looping over a
// weighted mix: lookup of 1,000 songs (4), lookup with embeddings (1),
// similar GET (2), similar POST (2), upload of 500 songs (1, while
// pre-built bodies last).
func (c *benchConfig) benchMixed() error {
	fmt.Printf("== mixed: %d clients for %s (at most %d requests, %d uploads of %d songs)\n", c.MixedClients, c.MixedDuration, c.MixedRequests, c.MixedUploads, c.ContribSize)
	rng := mrand.New(mrand.NewPCG(3, uint64(time.Now().UnixNano())))
	t0 := time.Now()
	uploads := make([][]byte, c.MixedUploads)
	for i := range uploads {
		uploads[i] = contributeBody(c.ContribSize)
	}
	lookups := make([][]byte, 48)
	for i := range lookups {
		lookups[i] = c.lookupBody(rng, false)
	}
	lookupsEmb := make([][]byte, 16)
	for i := range lookupsEmb {
		lookupsEmb[i] = c.lookupBody(rng, true)
	}
	vecs := make([][]byte, 256)
	for i := range vecs {
		vecs[i] = similarPostBody()
	}
	gets := make([]string, 256)
	for i := range gets {
		gets[i] = similarGetPath(rng, c.Songs)
	}
	fmt.Printf("  bodies built in %s (not timed)\n", time.Since(t0).Round(time.Millisecond))

	routes := []string{"lookup", "lookup+emb", "similar GET", "similar POST", "contribute"}
	weights := []int{4, 1, 2, 2, 1}
	type stat struct {
		ds            []time.Duration
		s2, s4, s5, e int
	}
	stats := make([]stat, len(routes))
	var mu sync.Mutex
	var nextUpload, total atomic.Int64
	var songsUp, refusals atomic.Int64
	mem0 := readMem(c.PID)
	u := startUsage(c.PID)
	// --mixed-duration is the mixed scenario's own bound (at most 10 min);
	// --duration (30 s by default) caps the other scenarios' loops and used
	// to cut this one short too
	deadline := time.Now().Add(min(c.MixedDuration, 10*time.Minute))
	var hwmPeak float64
	stopMem := make(chan struct{})
	go func() { // sample RSS every 250 ms (VmHWM is the kernel's own peak)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stopMem:
				return
			case <-t.C:
				if m := readMem(c.PID); m.RSS > hwmPeak {
					hwmPeak = m.RSS
				}
			}
		}
	}()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range c.MixedClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := mrand.New(mrand.NewPCG(uint64(w), uint64(start.UnixNano())))
			for time.Now().Before(deadline) && total.Add(1) <= int64(c.MixedRequests) {
				x := r.IntN(10)
				op := 0
				for acc := 0; op < len(weights); op++ {
					acc += weights[op]
					if x < acc {
						break
					}
				}
				var res result
				switch op {
				case 0:
					res = c.do("POST", "/api/songcommons/lookup", lookups[r.IntN(len(lookups))], false, false)
				case 1:
					res = c.do("POST", "/api/songcommons/lookup", lookupsEmb[r.IntN(len(lookupsEmb))], false, false)
				case 2:
					res = c.do("GET", gets[r.IntN(len(gets))], nil, false, false)
				case 3:
					res = c.do("POST", "/api/songcommons/similar", vecs[r.IntN(len(vecs))], false, false)
				case 4:
					i := nextUpload.Add(1) - 1
					if int(i) >= len(uploads) {
						op = 0
						res = c.do("POST", "/api/songcommons/lookup", lookups[r.IntN(len(lookups))], false, false)
						break
					}
					// as a sync client does: an upload refused for load (429
					// or 503 with Retry-After) waits that long and is sent again
					began := time.Now()
					for {
						res = c.do("POST", "/api/songcommons/contribute", uploads[i], true, true)
						if (res.status != 429 && res.status != 503) || res.retryAfter == 0 || time.Now().Add(res.retryAfter).After(deadline) {
							break
						}
						refusals.Add(1)
						time.Sleep(res.retryAfter)
					}
					res.took = time.Since(began) // the client's wait: retries included
					if res.err == nil && res.status == 200 {
						if n, err := c.recordIDs(res.body); err == nil {
							songsUp.Add(int64(n))
						}
					}
				}
				mu.Lock()
				st := &stats[op]
				switch {
				case res.err != nil:
					st.e++
				case res.status >= 500:
					st.s5++
				case res.status >= 400:
					st.s4++
				default:
					st.s2++
					st.ds = append(st.ds, res.took)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	close(stopMem)
	sc, cc := u.cores()
	mem1 := readMem(c.PID)
	n5, nErr, n4, nOK := 0, 0, 0, 0
	out := map[string]any{}
	for i, rt := range routes {
		st := stats[i]
		d := dist(st.ds)
		n5, nErr, n4, nOK = n5+st.s5, nErr+st.e, n4+st.s4, nOK+st.s2
		fmt.Printf("  %-13s ok %6d  4xx %d  5xx %d  errors %d  p50 %.1f ms  p99 %.1f ms  max %.1f ms\n", rt, st.s2, st.s4, st.s5, st.e, d.Median, d.P99, d.Max)
		out[rt] = map[string]any{"ok": st.s2, "4xx": st.s4, "5xx": st.s5, "errors": st.e, "dist": d}
	}
	fmt.Printf("  %d requests in %s (%.0f req/s), %d songs uploaded (%.0f songs/s); 5xx: %d, 4xx: %d, transport errors: %d; uploads refused for load and retried after Retry-After: %d\n",
		nOK+n4+n5+nErr, wall.Round(time.Millisecond), float64(nOK+n4+n5+nErr)/wall.Seconds(), songsUp.Load(), float64(songsUp.Load())/wall.Seconds(), n5, n4, nErr, refusals.Load())
	fmt.Printf("  server memory: VmRSS %.0f -> %.0f MiB (sampled peak %.0f), VmHWM %.0f -> %.0f MiB; server %.2f cores, loadgen %.2f cores\n",
		mem0.RSS, mem1.RSS, hwmPeak, mem0.HWM, mem1.HWM, sc, cc)
	out["wall_s"], out["requests"], out["songs_uploaded"] = wall.Seconds(), nOK+n4+n5+nErr, songsUp.Load()
	out["5xx"], out["4xx"], out["errors"], out["upload_refusals_retried"] = n5, n4, nErr, refusals.Load()
	out["mem_before"], out["mem_after"], out["server_cores"], out["client_cores"] = mem0, mem1, sc, cc
	c.emit("mixed", out)
	if n5 > 0 || nErr > 0 {
		return fmt.Errorf("%d answers 5xx and %d transport errors", n5, nErr)
	}
	return nil
}

// verifyHTTP checks that acknowledged ids exist, 100 per list request
// (filter id="a"||id="b"…, fields=id).
func (c *benchConfig) verifyHTTP(want map[string][]string) (missing, total int, err error) {
	for tbl, ids := range want {
		for i := 0; i < len(ids); i += 100 {
			part := ids[i:min(i+100, len(ids))]
			var f strings.Builder
			for j, id := range part {
				if j > 0 {
					f.WriteString("||")
				}
				f.WriteString(`id="` + id + `"`)
			}
			q := url.Values{"filter": {f.String()}, "fields": {"id"}, "perPage": {"100"}, "skipTotal": {"1"}}
			r := c.do("GET", "/api/collections/"+tbl+"/records?"+q.Encode(), nil, false, true)
			if r.err != nil || r.status != 200 {
				return 0, 0, fmt.Errorf("%d %v %.300s", r.status, r.err, r.body)
			}
			var ans struct {
				Items []struct {
					ID string `json:"id"`
				} `json:"items"`
			}
			if err := json.Unmarshal(r.body, &ans); err != nil {
				return 0, 0, err
			}
			total += len(part)
			missing += len(part) - len(ans.Items)
		}
	}
	return missing, total, nil
}
