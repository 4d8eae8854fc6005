package main

import (
	"bufio"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// slowTarget is a route a slow client sends its body to, one byte at a time.
type slowTarget struct {
	path string
	auth bool
	head string
}

// slowTargets: a third of the slow clients on /api/batch as guests, the
// others on the signed-in upload and the lookup, the search.
var slowTargets = []slowTarget{
	{"/api/batch", false, `{"requests":[`},
	{"/api/songcommons/contribute", true, `{"songs":[`},
	{"/api/songcommons/lookup", false, `{"songs":[`},
	{"/api/batch", false, `{"requests":[`},
	{"/api/songcommons/similar", false, `{"vector":[`},
	{"/api/songcommons/lookup", false, `{"songs":[`},
}

// slowClients keeps n connections to the server sending request bodies
// one byte per tick (declared 64 KiB long: within every route's bound)
// until stop is closed; a client whose connection the server ends opens a
// new one a tick later. It counts the answers the server gave them, by
// route and status.
type slowClients struct {
	stop    chan struct{}
	wg      sync.WaitGroup
	mu      sync.Mutex
	answers map[string]int
	conns   atomic.Int64
}

func (c *benchConfig) startSlowClients(n int, tick time.Duration) (*slowClients, error) {
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, err
	}
	s := &slowClients{stop: make(chan struct{}), answers: map[string]int{}}
	for i := range n {
		t := slowTargets[i%len(slowTargets)]
		s.wg.Go(func() {
			for {
				select {
				case <-s.stop:
					return
				default:
				}
				s.one(u.Host, t, c.Token, tick)
			}
		})
	}
	return s, nil
}

// one sends one slow request until the server answers or stop is closed.
func (s *slowClients) one(host string, t slowTarget, token string, tick time.Duration) {
	if h, _, _ := net.SplitHostPort(host); h != "127.0.0.1" {
		return // checkLoopback has refused it already; never dial elsewhere
	}
	conn, err := net.DialTimeout("tcp", host, 5*time.Second)
	if err != nil {
		time.Sleep(tick)
		return
	}
	s.conns.Add(1)
	defer conn.Close()
	auth := ""
	if t.auth && token != "" {
		auth = "Authorization: " + token + "\r\n"
	}
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s",
		t.path, host, 64<<10, auth, t.head)
	answered := make(chan string, 1)
	go func() {
		line, err := bufio.NewReader(conn).ReadString('\n')
		if f := strings.Fields(line); err == nil && len(f) >= 2 {
			answered <- t.path + " " + f[1]
			return
		}
		answered <- t.path + " closed"
	}()
	defer time.Sleep(tick) // before the next connection
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	for {
		select {
		case <-s.stop:
			return
		case st := <-answered:
			s.mu.Lock()
			s.answers[st]++
			s.mu.Unlock()
			return
		case <-ticker.C:
			if _, err := conn.Write([]byte(" ")); err != nil {
				st := <-answered
				s.mu.Lock()
				s.answers[st]++
				s.mu.Unlock()
				return
			}
		}
	}
}

func (s *slowClients) close() map[string]int {
	close(s.stop)
	s.wg.Wait()
	return s.answers
}

// honestRound is what each honest client sends, in order, per round.
type honestReq struct {
	kind, method, path string
	body               []byte
	auth               bool
}

// benchSlow: SlowHonest honest clients send SlowRounds rounds (SlowPause
// apart) of a 100-song lookup, a similarity search (GET), a 50-song
// /contribute and a 25-song /api/batch, first alone (the reference), then while SlowClients
// slow clients trickle request bodies one byte per SlowTick to the heavy
// routes. Reported per kind: median latency in both phases, and every
// answer that is not 200.
func (c *benchConfig) benchSlow() error {
	fmt.Printf("== slow: %d honest clients x %d rounds %s apart (lookup 100 songs, similar GET, contribute 50 songs, batch 25 songs), alone, then with %d slow clients (1 byte per %s), %d runs\n",
		c.SlowHonest, c.SlowRounds, c.SlowPause, c.SlowClients, c.SlowTick, c.Runs)
	rng := mrand.New(mrand.NewPCG(5, uint64(time.Now().UnixNano())))
	kinds := []string{"lookup", "similar", "contribute", "batch"}
	type phase struct {
		lat    map[string][]time.Duration
		failed map[string]int
	}
	medians := map[string][]float64{} // "kind/phase" -> per-run medians
	failures := map[string]int{}
	for run := range c.Runs {
		var phases [2]phase
		var slowAnswers map[string]int
		var slowConns int64
		for p := range phases {
			reqs := make([][]honestReq, c.SlowHonest)
			for h := range reqs {
				for range c.SlowRounds {
					c.LookupSize = 100
					reqs[h] = append(reqs[h],
						honestReq{"lookup", "POST", "/api/songcommons/lookup", c.lookupBody(rng, false), false},
						honestReq{"similar", "GET", similarGetPath(rng, c.Songs), nil, false},
						honestReq{"contribute", "POST", "/api/songcommons/contribute", contributeBody(50), true},
						honestReq{"batch", "POST", "/api/batch", batchBody(25), true})
				}
			}
			var slow *slowClients
			if p == 1 {
				var err error
				if slow, err = c.startSlowClients(c.SlowClients, c.SlowTick); err != nil {
					return err
				}
				time.Sleep(2 * c.SlowTick) // every slow client is connected and sending
			}
			ph := phase{lat: map[string][]time.Duration{}, failed: map[string]int{}}
			var mu sync.Mutex
			var wg sync.WaitGroup
			deadline := time.Now().Add(c.MaxDur)
			for h := range reqs {
				wg.Go(func() {
					for i, r := range reqs[h] {
						if time.Now().After(deadline) {
							return
						}
						if i%4 == 0 && i > 0 {
							time.Sleep(c.SlowPause) // between rounds
						}
						res := c.do(r.method, r.path, r.body, r.auth, false)
						mu.Lock()
						if res.err != nil || res.status != 200 {
							ph.failed[fmt.Sprintf("%s %d", r.kind, res.status)]++
						} else {
							ph.lat[r.kind] = append(ph.lat[r.kind], res.took)
						}
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			if slow != nil {
				slowConns = slow.conns.Load()
				slowAnswers = slow.close()
			}
			phases[p] = ph
		}
		fmt.Printf("  run %d:", run+1)
		for _, k := range kinds {
			ref, with := dist(phases[0].lat[k]), dist(phases[1].lat[k])
			medians[k+"/alone"] = append(medians[k+"/alone"], ref.Median)
			medians[k+"/slow"] = append(medians[k+"/slow"], with.Median)
			fmt.Printf(" %s %.1f -> %.1f ms;", k, ref.Median, with.Median)
		}
		fmt.Printf(" not 200: alone %v, with slow clients %v; slow clients: %d connections, answers %v\n",
			phases[0].failed, phases[1].failed, slowConns, slowAnswers)
		for k, n := range phases[1].failed {
			failures[k] += n
		}
		c.emit("slow", map[string]any{"run": run + 1, "alone_failed": phases[0].failed, "slow_failed": phases[1].failed,
			"slow_answers": slowAnswers, "slow_connections": slowConns})
	}
	fmt.Printf("  MEDIAN of %d runs (honest request median latency, alone -> with %d slow clients):", c.Runs, c.SlowClients)
	sum := map[string]any{"slow_clients": c.SlowClients, "honest": c.SlowHonest, "failed_with_slow": failures}
	for _, k := range kinds {
		a, s := median(medians[k+"/alone"]), median(medians[k+"/slow"])
		fmt.Printf(" %s %.1f -> %.1f ms;", k, a, s)
		sum[k+"_alone_ms"], sum[k+"_slow_ms"] = a, s
	}
	fmt.Printf(" honest requests not answered 200 with slow clients: %v\n", failures)
	c.emit("slow/summary", sum)
	return nil
}
