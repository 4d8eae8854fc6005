package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"time"
)

// cmdAlternate compares two server builds on one data dir: both are
// started (ports --port and --port+1), and the same fingerprint lookups
// go to one and the other in turn, request by request, so that the
// machine's drift (a shared host, other tenants, the page cache) falls on
// both alike. Each round has fresh lookups (songs not asked before, as
// in lookup-fp) and flips which build goes first. The lookups only read:
// two servers on one data dir is safe for them (each writes only at its
// own start-up).
func cmdAlternate(args []string) error {
	fs := flag.NewFlagSet("alternate", flag.ExitOnError)
	c, finish := benchFlags(fs)
	binA := fs.String("a", "", "server binary A (the reference)")
	binB := fs.String("b", "", "server binary B")
	dir := fs.String("dir", "", "pb_data directory (fingerprinted songs, e.g. loadgen dump --fingerprints, imported)")
	port := fs.Int("port", 8097, "port of A on 127.0.0.1 (B: port+1)")
	rounds := fs.Int("rounds", 6, "rounds of --lookup-requests lookups per build")
	warm := fs.Int("warm-up", 15, "lookups per build before the first round, not counted (each of the server's SQLite connections keeps its own page cache)")
	fs.Parse(args)
	if err := finish(); err != nil {
		return err
	}
	if *binA == "" || *binB == "" || *dir == "" || c.Songs <= 0 {
		return errors.New("--a, --b, --dir and --songs are required")
	}
	var srv [2]*server
	for i, bin := range []string{*binA, *binB} {
		s, err := startServer(bin, *dir, *port+i)
		if err != nil {
			return err
		}
		defer s.stop()
		if _, err := s.waitReady(c.Songs, 10*time.Minute); err != nil {
			return fmt.Errorf("%s: %w", bin, err)
		}
		srv[i] = s
	}
	fmt.Printf("== alternate: lookup-fp, %d fingerprints per request, %d rounds x %d requests per build (after %d warm-up), A %s, B %s\n",
		c.LookupSize, *rounds, c.LookupRequests, *warm, *binA, *binB)
	cl := &http.Client{Timeout: 2 * time.Minute}
	lookup := func(s *server, body []byte, qs []printQuery, acc *printAccuracy) (time.Duration, error) {
		res, err := cl.Post(s.url+"/api/songcommons/lookup", "application/json", bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("%s: %d %v %.300s", s.url, res.StatusCode, err, b)
		}
		d, ok := serverTiming(res.Header.Get("Server-Timing"), "total")
		if !ok {
			return 0, fmt.Errorf("%s: no Server-Timing total", s.url)
		}
		if acc != nil {
			return d, checkPrintAnswer(b, qs, acc)
		}
		return d, nil
	}
	rng := mrand.New(mrand.NewPCG(3, uint64(time.Now().UnixNano())))
	for range *warm {
		b, _ := c.printLookupBody(rng)
		for _, s := range srv {
			if _, err := lookup(s, b, nil, nil); err != nil {
				return err
			}
		}
	}
	var all [2][]time.Duration
	var acc [2]printAccuracy
	var ratios []float64
	for round := range *rounds {
		var ds [2][]time.Duration
		for i := range c.LookupRequests {
			body, qs := c.printLookupBody(rng)
			for k := range 2 {
				j := (k + i + round) % 2
				d, err := lookup(srv[j], body, qs, &acc[j])
				if err != nil {
					return err
				}
				ds[j] = append(ds[j], d)
			}
		}
		a, b := dist(ds[0]), dist(ds[1])
		ratios = append(ratios, b.Median/a.Median)
		fmt.Printf("  round %d: server time median A %.1f ms, B %.1f ms (B/A %.2f)\n", round+1, a.Median, b.Median, b.Median/a.Median)
		all[0], all[1] = append(all[0], ds[0]...), append(all[1], ds[1]...)
	}
	a, b := dist(all[0]), dist(all[1])
	fmt.Printf("  ALL: A %s; B %s; B/A of the medians %.2f, median of the rounds' B/A %.2f\n", a, b, b.Median/a.Median, median(ratios))
	for j, name := range []string{"A", "B"} {
		x := acc[j]
		fmt.Printf("  %s: copies %d: right %d, missed %d, false %d; never stored %d: found %d; ambiguous %d\n",
			name, x.Copies, x.Right, x.Missed, x.False, x.Unknown, x.UnknownFound, x.Ambiguous)
	}
	return nil
}
