package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"
)

// typingPhase is one phase of the typing scenario: who runs beside the
// lookup and similar clients.
type typingPhase struct {
	name   string
	typers bool
	filter bool // the typers use the record-API filter, not the route
}

// typingStats are one phase's latencies, by kind of client.
type typingStats struct {
	mu                    sync.Mutex
	lookup, similar, srch []time.Duration
	srchServer            []time.Duration // the search route's Server-Timing total
	errs, unfinished      map[string]int  // by kind: failed answers; requests cut by the phase's end
}

func (s *typingStats) add(kind string, r result, deadline time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case r.err != nil && time.Now().After(deadline):
		s.unfinished[kind]++
		return
	case r.err != nil || r.status != 200:
		s.errs[kind]++
		return
	}
	switch kind {
	case "lookup":
		s.lookup = append(s.lookup, r.took)
	case "similar":
		s.similar = append(s.similar, r.took)
	default:
		s.srch = append(s.srch, r.took)
		if r.hasServer {
			s.srchServer = append(s.srchServer, r.server)
		}
	}
}

// doUntil is do with the request cut at deadline (a scan of the record
// API can outlast a phase).
func (c *benchConfig) doUntil(hc *http.Client, deadline time.Time, method, path string, body []byte) result {
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, rd)
	if err != nil {
		return result{err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	t := time.Now()
	res, err := hc.Do(req)
	if err != nil {
		return result{err: err, took: time.Since(t)}
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	r := result{status: res.StatusCode, took: time.Since(t), err: err}
	r.server, r.hasServer = serverTiming(res.Header.Get("Server-Timing"), "total")
	return r
}

// clientFrom is an HTTP client whose connections come from the loopback
// address 127.0.0.n (n in 2..254): the server gives every client address
// its own share of the read slots, as it would to visitors on their own
// addresses. The target stays 127.0.0.1.
func clientFrom(n int) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(n))}}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if h, _, _ := net.SplitHostPort(addr); h != "127.0.0.1" {
				return nil, fmt.Errorf("refusing to dial %s: 127.0.0.1 only", addr)
			}
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost: 4,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Minute}
}

// benchTyping: TypingLookup lookup clients (1,000 songs) and TypingSimilar
// similar-song clients (GET by song), each pausing TypingPause between
// requests, every client from its own loopback address (clientFrom), run for TypingDuration without typers, then with TypingClients
// clients typing the search queries (a request per keystroke, 120–280 ms
// apart, each waiting for its answer; 1–2 s between queries), Runs times
// alternated; then, if TypingFilter, once with the typers on the
// record-API filter. Reports the lookup and similar latencies per phase
// and their ratio with typers to without.
func (c *benchConfig) benchTyping() error {
	dur := min(c.TypingDuration, 2*time.Minute)
	if n := c.TypingLookup + c.TypingSimilar + c.TypingClients; n > 250 {
		return fmt.Errorf("%d clients: at most 250 (one loopback address each)", n)
	}
	fmt.Printf("== typing: %d lookup + %d similar clients (pause %s), without and with %d clients typing search queries, %s per phase, %d runs\n",
		c.TypingLookup, c.TypingSimilar, c.TypingPause, c.TypingClients, dur, c.Runs)
	rng := mrand.New(mrand.NewPCG(4, uint64(time.Now().UnixNano())))
	lookups := make([][]byte, 32)
	for i := range lookups {
		lookups[i] = c.lookupBody(rng, false)
	}
	gets := make([]string, 256)
	for i := range gets {
		gets[i] = similarGetPath(rng, c.Songs)
	}
	var phases []typingPhase
	for range c.Runs {
		phases = append(phases, typingPhase{"without typers", false, false}, typingPhase{"typers on the route", true, false})
	}
	if c.TypingFilter {
		phases = append(phases, typingPhase{"typers on the record filter", true, true})
	}
	type summary struct {
		lMed, lP99, sMed, sP99 []float64
		lN, sN                 int // answers
	}
	sums := map[string]*summary{}
	for i, ph := range phases {
		st := &typingStats{errs: map[string]int{}, unfinished: map[string]int{}}
		u := startUsage(c.PID)
		deadline := time.Now().Add(dur)
		var wg sync.WaitGroup
		for w := range c.TypingLookup {
			hc := clientFrom(2 + w)
			wg.Go(func() {
				for j := w; time.Now().Before(deadline); j++ {
					st.add("lookup", c.doUntil(hc, deadline, "POST", "/api/songcommons/lookup", lookups[j%len(lookups)]), deadline)
					time.Sleep(c.TypingPause)
				}
			})
		}
		for w := range c.TypingSimilar {
			hc := clientFrom(2 + c.TypingLookup + w)
			wg.Go(func() {
				for j := w * 64; time.Now().Before(deadline); j++ {
					st.add("similar", c.doUntil(hc, deadline, "GET", gets[j%len(gets)], nil), deadline)
					time.Sleep(c.TypingPause)
				}
			})
		}
		if ph.typers {
			for w := range c.TypingClients {
				hc := clientFrom(2 + c.TypingLookup + c.TypingSimilar + w)
				wg.Go(func() {
					r := mrand.New(mrand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
					for qi := r.IntN(len(searchQueries)); time.Now().Before(deadline); qi++ {
						q := []rune(searchQueries[qi%len(searchQueries)])
						for n := 1; n <= len(q) && time.Now().Before(deadline); n++ {
							t := time.Now()
							if q[n-1] != ' ' {
								path := searchPath(string(q[:n]))
								if ph.filter {
									path = recordFilterPath(string(q[:n]))
								}
								st.add("search", c.doUntil(hc, deadline, "GET", path, nil), deadline)
							}
							time.Sleep(time.Duration(120+r.IntN(161))*time.Millisecond - time.Since(t))
						}
						time.Sleep(time.Duration(1000+r.IntN(1001)) * time.Millisecond)
					}
				})
			}
		}
		wg.Wait()
		sc, cc := u.cores()
		l, s, q, qs := dist(st.lookup), dist(st.similar), dist(st.srch), dist(st.srchServer)
		fmt.Printf("  phase %d, %s (load average %s): lookup %s; similar %s; server %.2f cores, loadgen %.2f\n",
			i+1, ph.name, loadAvg(), l, s, sc, cc)
		if ph.typers {
			fmt.Printf("    search requests answered %s; Server-Timing total median %.2f ms, p99 %.2f\n", q, qs.Median, qs.P99)
		}
		if len(st.errs)+len(st.unfinished) > 0 {
			fmt.Printf("    failed answers %v; requests cut by the end of the phase %v\n", st.errs, st.unfinished)
		}
		c.emit("typing", map[string]any{"phase": ph.name, "n": i + 1, "lookup": l, "similar": s, "search": q, "search_server": qs,
			"errors": st.errs, "unfinished": st.unfinished, "server_cores": sc, "client_cores": cc, "load": loadAvg()})
		sm := sums[ph.name]
		if sm == nil {
			sm = &summary{}
			sums[ph.name] = sm
		}
		if l.N > 0 {
			sm.lMed, sm.lP99 = append(sm.lMed, l.Median), append(sm.lP99, l.P99)
		}
		if s.N > 0 {
			sm.sMed, sm.sP99 = append(sm.sMed, s.Median), append(sm.sP99, s.P99)
		}
		sm.lN, sm.sN = sm.lN+l.N, sm.sN+s.N
		if ph.filter { // let the scans the phase cut short end before anything else is measured
			time.Sleep(5 * time.Second)
		}
	}
	base := sums["without typers"]
	for _, name := range []string{"without typers", "typers on the route", "typers on the record filter"} {
		sm := sums[name]
		if sm == nil {
			continue
		}
		c.emit("typing/summary", map[string]any{"phase": name, "runs": len(sm.lMed),
			"lookup_median_ms": median(sm.lMed), "lookup_p99_ms": median(sm.lP99),
			"similar_median_ms": median(sm.sMed), "similar_p99_ms": median(sm.sP99), "lookups": sm.lN, "similars": sm.sN})
		if sm.lN == 0 || sm.sN == 0 {
			fmt.Printf("  %-28s %d lookups and %d similar searches answered within the phase (the others were cut at its end)\n", name, sm.lN, sm.sN)
			continue
		}
		fmt.Printf("  %-28s MEDIAN of %d: lookup median %.1f ms, p99 %.1f (x%.2f, x%.2f without typers); similar median %.1f ms, p99 %.1f (x%.2f, x%.2f)\n",
			name, len(sm.lMed), median(sm.lMed), median(sm.lP99), median(sm.lMed)/median(base.lMed), median(sm.lP99)/median(base.lP99),
			median(sm.sMed), median(sm.sP99), median(sm.sMed)/median(base.sMed), median(sm.sP99)/median(base.sP99))
	}
	return nil
}
