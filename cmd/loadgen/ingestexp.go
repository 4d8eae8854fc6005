package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/hooks"
	"songcommons/songdata"
)

// cmdIngestExp measures, on a scratch copy of a seeded dir, what the write
// transaction of StoreContributions costs and what a leaner one would
// cost. Mode "service" calls hooks.StoreContributions (nil Similarity);
// mode "fast" is a prototype of the change recommended in BENCHMARKS.md,
// implemented here and NOT in hooks/: the same rows (random ids and
// rowids, shuffled order, receipt column) written with one prepared
// statement per table, one "which of these song keys exist" query per
// upload, and for new songs the songs row computed in memory from the
// upload itself (songdata.ComputeConsensus, as RefreshSong would from the
// rows it just wrote) and inserted directly; existing songs still go
// through hooks.RefreshSong. Both modes run the same validated chunks.
func cmdIngestExp(args []string) error {
	fs := flag.NewFlagSet("ingestexp", flag.ExitOnError)
	dir := fs.String("dir", "", "pb_data directory (a scratch copy: rows are added)")
	n := fs.Int("songs", 20_000, "new songs per mode and round")
	modes := fs.String("modes", "service,fast", "modes to alternate")
	rounds := fs.Int("rounds", 2, "rounds (modes alternate inside a round)")
	chunk := fs.Int("chunk", 500, "songs per transaction")
	prof := fs.String("cpuprofile", "", "CPU profile of the whole experiment")
	extra := fs.String("extra-pragmas", "", "pragmas applied after the service's (as seed --extra-pragmas)")
	fs.Parse(args)
	if *dir == "" {
		return errors.New("--dir is required")
	}
	connect := hooks.DBConnect
	if *extra != "" {
		connect = connectWithExtra(*extra)
		fmt.Printf("EXPERIMENT: service pragmas + %q\n", *extra)
	}
	app, _, err := openAppWith(*dir, nil, connect)
	if err != nil {
		return err
	}
	defer app.ResetBootstrapState()
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	res := map[string][]float64{}
	cpuRes := map[string][]float64{}
	for round := range *rounds {
		for _, mode := range strings.Split(*modes, ",") {
			// validated chunks, built before the clock starts
			var chunks [][]hooks.Contribution
			first := NextNew(*n)
			for i := 0; i < *n; i += *chunk {
				raw := make([]map[string]any, 0, *chunk)
				for k := i; k < min(i+*chunk, *n); k++ {
					raw = append(raw, MakeSong(first+uint64(k), 0).Map([]string{"musicnn"}))
				}
				cs, errs := hooks.CheckUpload(raw, "songs.")
				if errs != nil {
					return fmt.Errorf("%v", errs)
				}
				chunks = append(chunks, cs)
			}
			t, c0 := time.Now(), selfCPU()
			for _, cs := range chunks {
				var err error
				switch mode {
				case "service":
					_, err = hooks.StoreContributions(app, nil, cs, "")
				case "fast":
					_, err = storeFast(app, cs)
				default:
					return fmt.Errorf("unknown mode %q", mode)
				}
				if err != nil {
					return fmt.Errorf("%s: %w", mode, err)
				}
			}
			d, cpu := time.Since(t), selfCPU()-c0
			if mode == "fast" {
				if err := checkSongsRows(app, chunks[len(chunks)-1]); err != nil {
					return err
				}
			}
			rate := float64(*n) / d.Seconds()
			res[mode] = append(res[mode], rate)
			cpuRes[mode] = append(cpuRes[mode], ms(cpu)/float64(*n))
			fmt.Printf("round %d %-8s %d songs in %.2f s: %.0f songs/s, CPU %.3f ms/song, load %s\n", round+1, mode, *n, d.Seconds(), rate, ms(cpu)/float64(*n), loadAvg())
		}
	}
	for _, mode := range strings.Split(*modes, ",") {
		fmt.Printf("MEDIAN %-8s %.0f songs/s, CPU %.3f ms/song\n", mode, median(res[mode]), median(cpuRes[mode]))
	}
	return nil
}

type fastRow struct {
	table  string
	params dbx.Params
}

// storeFast is the prototype described on cmdIngestExp.
func storeFast(app core.App, songs []hooks.Contribution) (int, error) {
	var rows []fastRow
	type agg struct {
		scores []songdata.ScoreRow
		embs   map[string]int
		artist string
		title  string
	}
	byKey := map[string]*agg{}
	get := func(k string) *agg {
		a := byKey[k]
		if a == nil {
			a = &agg{embs: map[string]int{}}
			byKey[k] = a
		}
		return a
	}
	for _, c := range songs {
		if s := c.Score; s != nil {
			p := dbx.Params(s.Values())
			p["id"] = core.GenerateDefaultRandomId()
			rows = append(rows, fastRow{"score", p})
			a := get(s.SongKey)
			a.scores = append(a.scores, songdata.ScoreRow{Artist: s.Artist, Title: s.Title, Tempo: s.Tempo, Key: s.Key,
				Scale: s.Scale, Energy: s.Energy, MoodVector: s.MoodVector, OtherFeatures: s.OtherFeatures,
				Album: s.Album, Duration: s.Duration, MBID: s.MBID, ISRC: s.ISRC})
		}
		for _, e := range c.Embeddings {
			p := dbx.Params(e.Values())
			p["id"] = core.GenerateDefaultRandomId()
			p["embedding"] = string(p["embedding"].(json.RawMessage))
			rows = append(rows, fastRow{"embedding", p})
			a := get(e.SongKey)
			a.embs[e.Model]++
			if a.artist == "" || e.Artist < a.artist {
				a.artist, a.title = e.Artist, e.Title
			}
		}
	}
	// shuffled, random rowids, receipt column: as StoreContributions
	shuffleRows(rows)
	for _, r := range rows {
		r.params["rowid"] = hooks.RandomRowid()
		r.params["receipt"] = ""
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	err := app.RunInTransaction(func(tx core.App) error {
		stmts := map[string]*dbx.Query{}
		defer func() {
			for _, q := range stmts {
				q.Close()
			}
		}()
		prep := func(table string, p dbx.Params) *dbx.Query {
			if q := stmts[table]; q != nil {
				return q
			}
			cols := make([]string, 0, len(p))
			for c := range p {
				cols = append(cols, c)
			}
			slices.Sort(cols)
			ph := make([]string, len(cols))
			for i, c := range cols {
				ph[i] = "{:" + c + "}"
			}
			q := tx.DB().NewQuery("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(ph, ", ") + ")").Prepare()
			stmts[table] = q
			return q
		}
		for _, r := range rows {
			if _, err := prep(r.table, r.params).Bind(r.params).Execute(); err != nil {
				return fmt.Errorf("storing a %s row: %w", r.table, err)
			}
		}
		// which songs exist already (one query per 500 keys)
		exists := map[string]bool{}
		for i := 0; i < len(keys); i += 500 {
			part := keys[i:min(i+500, len(keys))]
			args := make([]any, len(part))
			for j, k := range part {
				args[j] = k
			}
			var found []string
			if err := tx.DB().Select("song_key").From("songs").Where(dbx.In("song_key", args...)).Column(&found); err != nil {
				return err
			}
			for _, k := range found {
				exists[k] = true
			}
		}
		for _, k := range keys {
			a := byKey[k]
			multi := false
			for _, n := range a.embs {
				multi = multi || n >= songdata.MinForOutliers
			}
			if exists[k] || multi {
				if err := hooks.RefreshSong(tx, k); err != nil {
					return err
				}
				continue
			}
			c := songdata.ComputeConsensus(a.scores)
			cj, _ := json.Marshal(a.embs)
			if c.Artist == "" && len(a.embs) > 0 {
				c.Artist, c.Title = a.artist, a.title
			}
			p := hooks.SongRowParams(k, c, cj)
			p["id"] = core.GenerateDefaultRandomId()
			p["rowid"] = hooks.RandomRowid()
			if _, err := prep("songs", p).Bind(p).Execute(); err != nil {
				return fmt.Errorf("songs: insert: %w", err)
			}
		}
		return nil
	})
	return len(rows), err
}

func shuffleRows(s []fastRow) {
	for i := len(s) - 1; i > 0; i-- {
		j := int(hooks.RandomRowid() % int64(i+1))
		s[i], s[j] = s[j], s[i]
	}
}

// checkSongsRows: the songs rows the fast path wrote equal what
// hooks.RefreshSong computes for the same keys.
func checkSongsRows(app core.App, cs []hooks.Contribution) error {
	read := func(k string) (dbx.NullStringMap, error) {
		m := dbx.NullStringMap{}
		err := app.DB().NewQuery("SELECT * FROM songs WHERE song_key = {:k}").Bind(dbx.Params{"k": k}).One(m)
		delete(m, "id")
		return m, err
	}
	for _, c := range cs[:min(100, len(cs))] {
		k := c.Score.SongKey
		before, err := read(k)
		if err != nil {
			return err
		}
		if err := hooks.RefreshSong(app, k); err != nil {
			return err
		}
		after, err := read(k)
		if err != nil {
			return err
		}
		for col, v := range after {
			if before[col] != v {
				return fmt.Errorf("fast path differs from RefreshSong for %q, column %s: %v vs %v", k, col, before[col].String, v.String)
			}
		}
	}
	return nil
}
