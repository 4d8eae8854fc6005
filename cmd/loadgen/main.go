// Command loadgen seeds songcommons data dirs with synthetic songs and
// measures the service: ingest, start-up, RAM, lookup, similarity, uploads,
// a mixed load and compaction. Load only ever targets 127.0.0.1, and every
// loop is bounded in requests and in time. See BENCHMARKS.md.
//
//	go run ./cmd/loadgen seed    --dir /tmp/b100k/pb_data --songs 100000
//	go run ./cmd/loadgen startup --bin /tmp/songcommons --dir /tmp/b100k/pb_data --expect 100000
//	go run ./cmd/loadgen serve   --bin /tmp/songcommons --dir /tmp/b100k/pb_data --songs 100000 --scenarios lookup,similar
//	go run ./cmd/loadgen bench   --url http://127.0.0.1:8097 --token T --songs 100000 --scenarios lookup
//	go run ./cmd/loadgen profile --dir /tmp/b100k/pb_data --songs 100000 --scenarios lookup --cpuprofile /tmp/lookup.pprof
//	go run ./cmd/loadgen compact --dir /tmp/b1m/pb_data
//	go run ./cmd/loadgen alternate --a /tmp/songcommons-ref --b /tmp/songcommons --dir /tmp/b1m/pb_data --songs 1000000
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"songcommons/config"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
)

const usageText = `usage: loadgen COMMAND [flags]

commands:
  seed     write N synthetic songs into a pb_data dir, offline (validated and stored as uploads are)
  user     create the load generator's contributor in a pb_data dir and print an auth token
  startup  start the real binary on a pb_data dir, time readiness, read its RSS, stop it (repeated)
  serve    start the real binary, time readiness, run bench scenarios, verify acknowledged writes, stop it
  bench    run scenarios against a running server on 127.0.0.1
  profile  run scenarios against the app served in-process, with a CPU profile
  compact  time storage.Compactor.Compact up to its restart (VACUUM INTO a snapshot), offline; the snapshot is discarded
  verify   check offline that every acknowledged id (bench --ids file) exists
  floor    measure the memory-streaming floor and in-process Search for N×200 vectors
  placement  time one SQLite row appended vs at a random place in a B-tree of N entries, or whole songs, under the background or the privacy discipline (scratch DB)
  dump     write a dump (JSONL, as export writes it) of N synthetic songs, for "songcommons import"
  alternate  start two builds on one data dir and alternate fingerprint lookups between them, request by request

run "loadgen COMMAND -h" for its flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usageText)
		os.Exit(2)
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "seed":
		err = cmdSeed(args)
	case "user":
		err = cmdUser(args)
	case "startup":
		err = cmdStartup(args)
	case "serve":
		err = cmdServe(args)
	case "bench":
		err = cmdBench(args)
	case "profile":
		err = cmdProfile(args)
	case "compact":
		err = cmdCompact(args)
	case "verify":
		err = cmdVerify(args)
	case "floor":
		err = cmdFloor(args)
	case "dump":
		err = cmdDump(args)
	case "placement":
		err = cmdPlacement(args)
	case "alternate":
		err = cmdAlternate(args)
	default:
		fmt.Fprint(os.Stderr, usageText)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func intList(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad list %q", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// benchFlags registers the scenario flags; finish() parses the lists.
func benchFlags(fs *flag.FlagSet) (*benchConfig, func() error) {
	c := &benchConfig{}
	scen := fs.String("scenarios", "lookup,similar,contribute,batch", "comma-separated: lookup, similar, contribute, batch, mixed, slow, search, typing, lookup-fp (1,000 fingerprints per lookup), contribute-pairs (uploads without and with fingerprints, alternating; --runs pairs)")
	fs.IntVar(&c.Songs, "songs", 0, "number of seeded songs (lookups pick existing songs in [0, songs))")
	fs.IntVar(&c.Runs, "runs", 3, "runs per scenario (medians are reported)")
	fs.DurationVar(&c.MaxDur, "duration", 30*time.Second, "hard cap of each measured loop")
	fs.IntVar(&c.LookupRequests, "lookup-requests", 20, "lookup requests per run and variant")
	fs.IntVar(&c.LookupSize, "lookup-size", 1000, "songs per lookup")
	fs.IntVar(&c.SimilarReqs, "similar-requests", 50, "similar requests per run and kind")
	fs.IntVar(&c.SearchReqs, "search-requests", 15, "search: requests of the route per run and query")
	fs.IntVar(&c.SearchFiltReqs, "search-filter-requests", 15, "search: requests of the record-API filter per run and query (a table scan each: about 1 s at 1M songs)")
	fs.IntVar(&c.TypingClients, "typing-clients", 20, "typing: clients typing queries, one search request per keystroke")
	fs.DurationVar(&c.TypingDuration, "typing-duration", 30*time.Second, "typing: length of each phase (at most 2 min)")
	fs.IntVar(&c.TypingLookup, "typing-lookup-clients", 2, "typing: lookup clients (1,000 songs per request)")
	fs.IntVar(&c.TypingSimilar, "typing-similar-clients", 2, "typing: similar-song clients (GET by song)")
	fs.DurationVar(&c.TypingPause, "typing-pause", 200*time.Millisecond, "typing: a lookup or similar client's pause between requests")
	fs.BoolVar(&c.TypingFilter, "typing-filter", true, "typing: a last phase with the typers on the record-API filter (what the web UI sent before the search route)")
	fs.IntVar(&c.ContribReqs, "contribute-requests", 20, "uploads per concurrency level and run")
	fs.IntVar(&c.ContribSize, "contribute-size", 500, "songs per upload")
	conc := fs.String("contribute-conc", "1,2,4", "upload concurrency levels")
	fs.IntVar(&c.BatchReqs, "batch-requests", 40, "/api/batch requests per concurrency level and run")
	bconc := fs.String("batch-conc", "1,2,4", "/api/batch concurrency levels")
	fs.IntVar(&c.MixedClients, "mixed-clients", 100, "mixed: concurrent clients")
	fs.DurationVar(&c.MixedDuration, "mixed-duration", 60*time.Second, "mixed: duration")
	fs.IntVar(&c.MixedUploads, "mixed-uploads", 200, "mixed: at most this many uploads (bodies are pre-built)")
	fs.IntVar(&c.MixedRequests, "mixed-requests", 200_000, "mixed: at most this many requests")
	fs.IntVar(&c.SlowClients, "slow-clients", 16, "slow: connections trickling request bodies to the heavy routes")
	fs.IntVar(&c.SlowHonest, "slow-honest", 2, "slow: honest clients")
	fs.IntVar(&c.SlowRounds, "slow-rounds", 60, "slow: rounds (lookup, similar, contribute, batch) per honest client and phase")
	fs.DurationVar(&c.SlowPause, "slow-pause", 250*time.Millisecond, "slow: an honest client's pause between rounds")
	fs.DurationVar(&c.SlowTick, "slow-tick", time.Second, "slow: a slow client sends one body byte per tick")
	fs.BoolVar(&c.Prints, "fingerprints", false, "contribute, batch: each song with its synthetic fingerprint (120 s) and duration")
	fs.Float64Var(&c.PrintBER, "fp-ber", 0.03, "lookup-fp: share of bits flipped in a copy of a stored fingerprint")
	fs.Float64Var(&c.PrintTrim, "fp-trim", 3, "lookup-fp: a copy is trimmed by 0 to this many seconds at the start")
	fs.Float64Var(&c.PrintUnknown, "fp-unknown", 0.1, "lookup-fp: share of fingerprints of songs never stored")
	fs.StringVar(&c.IDsOut, "ids", "", "append acknowledged upload ids to this file")
	fs.StringVar(&c.JSONOut, "json", "", "append JSON results to this file")
	fs.BoolVar(&c.Floor, "floor", true, "similar: measure the memory-streaming floor in this process")
	fs.StringVar(&c.Label, "label", "", "label carried into the JSON results")
	return c, func() error {
		c.Scenarios = strings.Split(*scen, ",")
		var err error
		if c.ContribConc, err = intList(*conc); err != nil {
			return err
		}
		if c.BatchConc, err = intList(*bconc); err != nil {
			return err
		}
		if c.Runs < 1 {
			c.Runs = 1
		}
		return nil
	}
}

func cmdBench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	c, finish := benchFlags(fs)
	fs.StringVar(&c.URL, "url", "", "server URL: http://127.0.0.1:PORT")
	fs.StringVar(&c.Token, "token", "", "auth token of a contributor with consent (loadgen user prints one)")
	fs.IntVar(&c.PID, "pid", 0, "server pid (for VmRSS/VmHWM and server CPU)")
	fs.Parse(args)
	if err := finish(); err != nil {
		return err
	}
	return runBench(c)
}

// evict drops a file's pages from the page cache (posix_fadvise
// DONTNEED on that file only), for a cold-cache start-up.
func evict(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	const fadvDontNeed = 4
	if _, _, e := syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, fadvDontNeed, 0, 0); e != 0 {
		return e
	}
	return nil
}

func cmdStartup(args []string) error {
	fs := flag.NewFlagSet("startup", flag.ExitOnError)
	bin := fs.String("bin", "/tmp/songcommons", "server binary (go build -o /tmp/songcommons .)")
	dir := fs.String("dir", "", "pb_data directory")
	port := fs.Int("port", 8097, "port on 127.0.0.1")
	runs := fs.Int("runs", 3, "start-ups to time")
	expect := fs.Int("expect", 1, "ready = status shows at least this many songs in the musicnn index, and the indexes built in the background (search, fingerprints) ready")
	cold := fs.Bool("cold", false, "before each start, drop data.db and its WAL from the page cache (fadvise DONTNEED, this file only)")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after")
	fs.Parse(args)
	if *dir == "" {
		return errors.New("--dir is required")
	}
	var lis, hs, sts, rss, hwm []float64
	for run := range *runs {
		if *cold {
			for _, f := range []string{"data.db", "data.db-wal"} {
				_ = evict(filepath.Join(*dir, f))
			}
		}
		s, err := startServer(*bin, *dir, *port)
		if err != nil {
			return err
		}
		r, err := s.waitReady(*expect, *timeout)
		if err != nil {
			s.stop()
			return err
		}
		time.Sleep(500 * time.Millisecond)
		m := readMem(s.pid())
		fmt.Printf("run %d: listening %.2f s, /api/health %.2f s, status with index loaded %.2f s (index %v, songs %d); VmRSS %.0f MiB, VmHWM %.0f MiB\n",
			run+1, r.Listening.Seconds(), r.Health.Seconds(), r.Status.Seconds(), r.IndexSongs, r.Songs, m.RSS, m.HWM)
		s.printLog("fingerprint index of")
		lis, hs, sts = append(lis, r.Listening.Seconds()), append(hs, r.Health.Seconds()), append(sts, r.Status.Seconds())
		rss, hwm = append(rss, m.RSS), append(hwm, m.HWM)
		if err := s.stop(); err != nil {
			fmt.Printf("  (server exit: %v)\n", err)
		}
	}
	fmt.Printf("MEDIAN of %d: listening %.2f s, health %.2f s, ready (status + index) %.2f s; VmRSS %.0f MiB, VmHWM %.0f MiB\n",
		*runs, median(lis), median(hs), median(sts), median(rss), median(hwm))
	return nil
}

func cmdServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	c, finish := benchFlags(fs)
	bin := fs.String("bin", "/tmp/songcommons", "server binary (go build -o /tmp/songcommons .)")
	dir := fs.String("dir", "", "pb_data directory (seeded, with the loadgen user)")
	port := fs.Int("port", 8097, "port on 127.0.0.1")
	crash := fs.Bool("crash-check", true, "after the scenarios, kill -9 the server and verify every acknowledged upload offline")
	fs.Parse(args)
	if err := finish(); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("--dir is required")
	}
	// the token, minted offline before the server owns the dir
	app, _, err := openApp(*dir, nil)
	if err != nil {
		return err
	}
	if c.Token, err = ensureUser(app); err != nil {
		return err
	}
	app.ResetBootstrapState()
	if c.IDsOut == "" {
		c.IDsOut = filepath.Join(os.TempDir(), fmt.Sprintf("loadgen-ids-%d.txt", time.Now().UnixNano()))
	}
	_ = os.Remove(c.IDsOut)

	s, err := startServer(*bin, *dir, *port)
	if err != nil {
		return err
	}
	defer func() {
		if s != nil {
			s.stop()
		}
	}()
	r, err := s.waitReady(1, 5*time.Minute)
	if err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond)
	m := readMem(s.pid())
	fmt.Printf("server pid %d ready: listening %.2f s, health %.2f s, status with index %.2f s (index %v); VmRSS %.0f MiB, VmHWM %.0f MiB\n",
		s.pid(), r.Listening.Seconds(), r.Health.Seconds(), r.Status.Seconds(), r.IndexSongs, m.RSS, m.HWM)
	s.printLog("fingerprint index of")
	c.URL, c.PID = s.url, s.pid()
	c.emit("startup", map[string]any{"ready": r, "mem": m})
	benchErr := runBench(c)
	m = readMem(s.pid())
	fmt.Printf("server after the scenarios: VmRSS %.0f MiB, VmHWM %.0f MiB\n", m.RSS, m.HWM)
	c.emit("after", m)

	want, _ := readIDs(c.IDsOut)
	if len(want) > 0 {
		miss, total, err := c.verifyHTTP(want)
		if err != nil {
			return fmt.Errorf("verify over HTTP: %w", err)
		}
		fmt.Printf("acknowledged rows: %d; missing over HTTP (GET /api/collections/*/records, fields=id): %d\n", total, miss)
		c.emit("verify/http", map[string]any{"total": total, "missing": miss})
		if *crash {
			s.crash()
			s = nil
			miss, total, err := verifyOffline(*dir, want)
			if err != nil {
				return fmt.Errorf("verify offline: %w", err)
			}
			fmt.Printf("after kill -9 of the server: %d acknowledged rows, %d missing in data.db\n", total, miss)
			c.emit("verify/crash", map[string]any{"total": total, "missing": miss})
		}
	}
	return benchErr
}

// cmdProfile serves the app in-process (same hooks and routes as the
// binary, without the embedded web UI) on 127.0.0.1 and profiles the
// scenarios.
func cmdProfile(args []string) error {
	fs := flag.NewFlagSet("profile", flag.ExitOnError)
	c, finish := benchFlags(fs)
	dir := fs.String("dir", "", "pb_data directory (seeded)")
	out := fs.String("cpuprofile", "/tmp/loadgen.pprof", "CPU profile of the scenarios")
	startProf := fs.String("startup-profile", "", "CPU profile of the start-up (OnServe: settings, similarity index build)")
	onlyStartup := fs.Bool("startup-only", false, "stop after the start-up")
	fs.Parse(args)
	if err := finish(); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("--dir is required")
	}
	app, _, err := openApp(*dir, func(cfg *config.Config) {
		cfg.GitHubClientID, cfg.GitHubClientSecret = "loadgen-client-id", "loadgen-client-secret"
		cfg.DailyQuota = 0
		cfg.RateLimits = false
		cfg.BackupCron = ""
	})
	if err != nil {
		return err
	}
	defer app.ResetBootstrapState()
	if c.Token, err = ensureUser(app); err != nil {
		return err
	}
	router, err := apis.NewRouter(app)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	if *startProf != "" {
		f, err := os.Create(*startProf)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer f.Close()
	}
	t := time.Now()
	srv := &http.Server{}
	err = app.OnServe().Trigger(&core.ServeEvent{App: app, Router: router}, func(e *core.ServeEvent) error {
		mux, err := e.Router.BuildMux()
		if err != nil {
			return err
		}
		srv.Handler = mux
		go srv.Serve(ln)
		return nil
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	fmt.Printf("in-process server on %s ready in %s\n", ln.Addr(), time.Since(t).Round(time.Millisecond))
	if *startProf != "" {
		pprof.StopCPUProfile()
		fmt.Printf("start-up CPU profile: %s\n", *startProf)
	}
	if *onlyStartup {
		return nil
	}
	c.URL = "http://" + ln.Addr().String()
	c.PID = os.Getpid()
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	err = runBench(c)
	pprof.StopCPUProfile()
	fmt.Printf("CPU profile: %s (go tool pprof -top %s)\n", *out, *out)
	return err
}

func cmdFloor(args []string) error {
	fs := flag.NewFlagSet("floor", flag.ExitOnError)
	n := fs.Int("n", 1_000_000, "vectors")
	d := fs.Int("dim", 200, "dimension")
	reps := fs.Int("reps", 7, "repetitions (median)")
	fs.Parse(args)
	fmt.Println(measureFloor(*n, *d, *reps))
	return nil
}
