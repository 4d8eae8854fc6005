package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/config"
	"songcommons/contribute"
	"songcommons/hooks"
	"songcommons/internal/synth"
	_ "songcommons/migrations"
	"songcommons/similarity"
	"songcommons/songdata"
	"songcommons/storage"
)

// openApp opens (creating if needed) a pb_data dir offline, with the
// service's pragmas, migrations applied and the songcommons hooks bound.
func openApp(dir string, cfgEdit func(*config.Config)) (*core.BaseApp, *similarity.Indexes, error) {
	return openAppWith(dir, cfgEdit, storage.DBConnect)
}

// connectWithExtra is storage.DBConnect's DSN followed by extra pragmas
// (later pragmas win: "synchronous(NORMAL),cache_size(-512000)").
func connectWithExtra(extra string) core.DBConnectFunc {
	var b strings.Builder
	for _, p := range strings.Split(extra, ",") {
		if p = strings.TrimSpace(p); p != "" {
			b.WriteString("&_pragma=" + p)
		}
	}
	return func(dbPath string) (*dbx.DB, error) {
		return dbx.Open("sqlite", dbPath+storage.Pragmas+b.String())
	}
}

func openAppWith(dir string, cfgEdit func(*config.Config), connect core.DBConnectFunc) (*core.BaseApp, *similarity.Indexes, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: dir, DBConnect: connect})
	if err := app.Bootstrap(); err != nil {
		return nil, nil, fmt.Errorf("bootstrap: %w", err)
	}
	if err := app.RunAllMigrations(); err != nil {
		return nil, nil, fmt.Errorf("migrations: %w", err)
	}
	cfg := config.Defaults()
	cfg.Quiet = true
	if cfgEdit != nil {
		cfgEdit(&cfg)
	}
	sim := hooks.Register(app, cfg, nil)
	return app, sim, nil
}

const loadgenUserID = "loadgenuser0001"

// ensureUser creates the load generator's contributor (consent given) if
// missing and returns a fresh auth token for it.
func ensureUser(app core.App) (string, error) {
	u, err := app.FindRecordById("users", loadgenUserID)
	if err != nil {
		col, err := app.FindCollectionByNameOrId("users")
		if err != nil {
			return "", err
		}
		u = core.NewRecord(col)
		u.Id = loadgenUserID
		u.Set("policy_version", 1)
		u.Set("policy_day", hooks.Today())
		u.SetRandomPassword()
		u.SetVerified(true)
		if err := app.Save(u); err != nil {
			return "", fmt.Errorf("creating the user: %w", err)
		}
	}
	return u.NewAuthToken()
}

func cmdUser(args []string) error {
	fs := flag.NewFlagSet("user", flag.ExitOnError)
	dir := fs.String("dir", "", "pb_data directory")
	fs.Parse(args)
	if *dir == "" {
		return errors.New("--dir is required")
	}
	app, _, err := openApp(*dir, nil)
	if err != nil {
		return err
	}
	defer app.ResetBootstrapState()
	tok, err := ensureUser(app)
	if err != nil {
		return err
	}
	fmt.Println(tok)
	return nil
}

func cmdSeed(args []string) error {
	fs := flag.NewFlagSet("seed", flag.ExitOnError)
	dir := fs.String("dir", "", "pb_data directory (created if missing)")
	n := fs.Int("songs", 100_000, "songs to write")
	offset := fs.Uint64("offset", 0, "index of the first song (to extend a seeded dir)")
	models := fs.String("models", "musicnn", "comma-separated embedding models per song ('' = none)")
	cps := fs.Int("contribs-per-song", 1, "contributions per song")
	chunk := fs.Int("chunk", 500, "contributions per upload (one transaction)")
	every := fs.Int("progress", 50_000, "print a progress line every N songs")
	cpuprof := fs.String("cpuprofile", "", "write a CPU profile of the whole seed here")
	extra := fs.String("extra-pragmas", "", "EXPERIMENT: pragmas applied after the service's (e.g. \"synchronous(NORMAL),cache_size(-512000)\")")
	fgCheckpoint := fs.Bool("fg-checkpoint", false, "checkpoint in the writer's commits (SQLite's default) instead of storage.StartBulkCheckpointer, as before it existed")
	fs.Parse(args)
	if *dir == "" {
		return errors.New("--dir is required")
	}
	var mdls []string
	for _, m := range strings.Split(*models, ",") {
		if m = strings.TrimSpace(m); m != "" {
			mdls = append(mdls, m)
		}
	}
	connect := storage.DBConnect
	if *extra != "" {
		connect = connectWithExtra(*extra)
		fmt.Printf("EXPERIMENT: DSN pragmas %s + %q\n", storage.Pragmas, *extra)
	}
	app, _, err := openAppWith(*dir, nil, connect)
	if err != nil {
		return err
	}
	defer app.ResetBootstrapState()
	if !*fgCheckpoint {
		defer storage.StartBulkCheckpointer(app)()
	}
	tok, err := ensureUser(app)
	if err != nil {
		return err
	}
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}

	// producers: generate + validate (songdata.CheckSongs) chunks in parallel;
	// the consumer stores them one transaction at a time (SQLite has one writer)
	type job struct {
		first uint64
		songs int
	}
	type batch struct {
		c     []songdata.Contribution
		songs int
		check time.Duration
	}
	perChunk := max(1, *chunk / *cps) // songs per chunk
	jobs := make(chan job)
	out := make(chan batch, 4)
	go func() {
		for i := 0; i < *n; i += perChunk {
			jobs <- job{*offset + uint64(i), min(perChunk, *n-i)}
		}
		close(jobs)
	}()
	var wg sync.WaitGroup
	var genErr error
	var errOnce sync.Once
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				raw := make([]map[string]any, 0, j.songs**cps)
				for k := range j.songs {
					for c := range *cps {
						raw = append(raw, synth.MakeSong(j.first+uint64(k), c).Map(mdls))
					}
				}
				t := time.Now()
				cs, errs := songdata.CheckSongs(raw, "songs.")
				if errs != nil {
					errOnce.Do(func() { genErr = fmt.Errorf("generated songs rejected: %v", errs) })
					continue
				}
				out <- batch{cs, j.songs, time.Since(t)}
			}
		}()
	}
	go func() { wg.Wait(); close(out) }()

	start := time.Now()
	var done, lastDone int
	var storeTime, checkTime, winStore time.Duration
	lastT := start
	cpu0, wait0 := selfCPU(), runqueueWait()
	lastCPU, lastWait := cpu0, wait0
	fmt.Printf("seeding %d songs (%d contribution(s) each, models %v) into %s, %d per transaction\n", *n, *cps, mdls, *dir, *chunk)
	w := contribute.New(app, nil, nil) // offline: no index to keep, no journal
	for b := range out {
		t := time.Now()
		if _, err := w.Upload(b.c, ""); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		d := time.Since(t)
		storeTime += d
		winStore += d
		checkTime += b.check
		done += b.songs
		if done-lastDone >= *every || done == *n {
			now := time.Now()
			cpu, wait := selfCPU(), runqueueWait()
			fmt.Printf("  %8d songs  %6.0f songs/s wall (window)  %6.0f songs/s store-only (window)  %6.0f songs/s wall (cumulative)  CPU %.2f ms/song  run-queue wait %.0f%%  load %s  data.db %s\n",
				done, float64(done-lastDone)/now.Sub(lastT).Seconds(), float64(done-lastDone)/winStore.Seconds(),
				float64(done)/now.Sub(start).Seconds(), ms(cpu-lastCPU)/float64(done-lastDone),
				100*(wait-lastWait).Seconds()/now.Sub(lastT).Seconds(), loadAvg(), fileSize(filepath.Join(*dir, "data.db")))
			lastDone, lastT, winStore, lastCPU, lastWait = done, now, 0, cpu, wait
		}
	}
	if genErr != nil {
		return genErr
	}
	wall := time.Since(start)
	fmt.Printf("seeded %d songs in %s: %.0f songs/s wall, %.0f songs/s in the write path (%s), validation %s CPU\n",
		done, wall.Round(time.Millisecond), float64(done)/wall.Seconds(), float64(done)/storeTime.Seconds(),
		storeTime.Round(time.Millisecond), checkTime.Round(time.Millisecond))
	fmt.Printf("process CPU %.2f ms/song (all goroutines: generation, validation, storing); run-queue wait %.0f%% of wall\n",
		ms(selfCPU()-cpu0)/float64(max(done, 1)), 100*(runqueueWait()-wait0).Seconds()/wall.Seconds())
	fmt.Printf("data.db %s, data.db-wal %s\n", fileSize(filepath.Join(*dir, "data.db")), fileSize(filepath.Join(*dir, "data.db-wal")))
	fmt.Printf("TOKEN=%s\n", tok)
	return nil
}

func fileSize(p string) string {
	st, err := os.Stat(p)
	if err != nil {
		return "-"
	}
	return fmt.Sprintf("%.1f MiB", float64(st.Size())/(1<<20))
}

func cmdCompact(args []string) error {
	fs := flag.NewFlagSet("compact", flag.ExitOnError)
	dir := fs.String("dir", "", "pb_data directory")
	extra := fs.String("extra-pragmas", "", "EXPERIMENT: pragmas applied after the service's (e.g. \"temp_store(FILE)\")")
	fs.Parse(args)
	if *dir == "" {
		return errors.New("--dir is required")
	}
	connect := storage.DBConnect
	if *extra != "" {
		connect = connectWithExtra(*extra)
		fmt.Printf("EXPERIMENT: service pragmas + %q\n", *extra)
	}
	app, _, err := openAppWith(*dir, nil, connect)
	if err != nil {
		return err
	}
	defer app.ResetBootstrapState()
	files := []string{"data.db", "data.db-wal", "auxiliary.db", "auxiliary.db-wal"}
	show := func(when string) {
		var parts []string
		for _, f := range files {
			parts = append(parts, f+" "+fileSize(filepath.Join(*dir, f)))
		}
		fmt.Printf("%s: %s\n", when, strings.Join(parts, ", "))
	}
	show("before")
	t := time.Now()
	if err := storage.Checkpoint(app); err != nil {
		return err
	}
	fmt.Printf("checkpoint (TRUNCATE, both DBs): %s\n", time.Since(t).Round(time.Millisecond))
	t = time.Now()
	stopMem := make(chan struct{})
	var peak Mem
	go func() {
		tk := time.NewTicker(500 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stopMem:
				return
			case <-tk.C:
				if m := readMem(os.Getpid()); m.RSS > peak.RSS {
					peak = m
				}
			}
		}
	}()
	// the service restarts onto the snapshot; here the restart is replaced
	// by a measurement, after which Compact discards the snapshot and
	// leaves data.db as it was
	var took time.Duration
	var snapshot string
	measured := errors.New("measured; snapshot discarded")
	err = (&storage.Compactor{Exec: func() error {
		took = time.Since(t)
		snapshot = fileSize(filepath.Join(*dir, "data.db.compact"))
		return measured
	}}).Compact(app)
	close(stopMem)
	fmt.Printf("loadgen process during Compact: peak VmRSS %.0f MiB, VmHWM %.0f MiB\n", peak.RSS, readMem(os.Getpid()).HWM)
	if took == 0 {
		show("after the failure")
		return err
	}
	fmt.Printf("Compactor.Compact up to the restart (guard, aux VACUUM, write lock, VACUUM INTO, fsyncs): %s; snapshot %s\n",
		took.Round(time.Millisecond), snapshot)
	show("after (snapshot discarded)")
	return nil
}

// cmdVerify checks offline that every acknowledged id (lines "table id",
// written by bench --ids) exists.
func cmdVerify(args []string) error {
	fs := flag.NewFlagSet("verify", flag.ExitOnError)
	dir := fs.String("dir", "", "pb_data directory")
	ids := fs.String("ids", "", "file of acknowledged ids (\"score ID\" / \"embedding ID\" lines)")
	fs.Parse(args)
	if *dir == "" || *ids == "" {
		return errors.New("--dir and --ids are required")
	}
	want, err := readIDs(*ids)
	if err != nil {
		return err
	}
	missing, total, err := verifyOffline(*dir, want)
	if err != nil {
		return err
	}
	fmt.Printf("acknowledged rows: %d, missing after reopening data.db: %d\n", total, missing)
	if missing > 0 {
		return fmt.Errorf("%d acknowledged rows are missing", missing)
	}
	return nil
}

func readIDs(path string) (map[string][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		tbl, id, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if ok {
			out[tbl] = append(out[tbl], id)
		}
	}
	return out, sc.Err()
}

// verifyOffline opens data.db directly (the server is gone) and counts the
// acknowledged ids that are not there.
func verifyOffline(dir string, want map[string][]string) (missing, total int, err error) {
	db, err := storage.DBConnect(filepath.Join(dir, "data.db"))
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	for tbl, ids := range want {
		if tbl != "score" && tbl != "embedding" {
			return 0, 0, fmt.Errorf("unexpected table %q", tbl)
		}
		for i := 0; i < len(ids); i += 500 {
			part := ids[i:min(i+500, len(ids))]
			args := make([]any, len(part))
			for j, id := range part {
				args[j] = id
			}
			var n int
			if err := db.Select("COUNT(*)").From(tbl).Where(dbx.In("id", args...)).Row(&n); err != nil {
				return 0, 0, err
			}
			total += len(part)
			missing += len(part) - n
		}
	}
	return missing, total, nil
}
