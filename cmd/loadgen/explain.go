package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pocketbase/dbx"

	"songcommons/hooks"
	"songcommons/songdata"
	"songcommons/vectors"
)

// cmdLoadScan times the start-up read of the similarity index with the
// query hooks.Similarity.Load uses (through idx_embedding_model_song_key:
// rows come in song_key order, i.e. random rowids, one B-tree descent per
// row) against a plain table scan in rowid order (NOT INDEXED), decoding
// and accumulating the vectors the same way. Evidence for BENCHMARKS.md.
func cmdLoadScan(args []string) error {
	fs := flag.NewFlagSet("loadscan", flag.ExitOnError)
	dir := fs.String("dir", "", "pb_data directory")
	runs := fs.Int("runs", 3, "alternating runs of each query")
	cold := fs.Bool("cold", false, "evict data.db from the page cache (fadvise DONTNEED, this file only) before each query")
	only := fs.String("only", "", "comma-separated query numbers to run (1 = service, 2 = rowid, 3 = mmap, 4 = pipeline)")
	narrow := fs.String("narrow", "", "EXPERIMENT: also build (once) and scan a separate SQLite file holding only (song_key, model, vec BLOB) rows at this path")
	fs.Parse(args)
	if *dir == "" {
		return errors.New("--dir is required")
	}
	if *narrow != "" {
		return narrowScan(filepath.Join(*dir, "data.db"), *narrow, *runs)
	}
	db, err := hooks.DBConnect(filepath.Join(*dir, "data.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	mm, err := connectWithExtra("mmap_size(17179869184)")(filepath.Join(*dir, "data.db"))
	if err != nil {
		return err
	}
	defer mm.Close()
	queries := []struct {
		name, sql string
		db        *dbx.DB
	}{
		{"service (index order)", "SELECT song_key, vec FROM embedding WHERE model = 'musicnn'", db},
		{"rowid order (NOT INDEXED)", "SELECT song_key, vec FROM embedding NOT INDEXED WHERE model = 'musicnn'", db},
		{"rowid order + mmap_size", "SELECT song_key, vec FROM embedding NOT INDEXED WHERE model = 'musicnn'", mm},
		{"rowid order + pipeline", "SELECT song_key, vec FROM embedding NOT INDEXED WHERE model = 'musicnn'", db},
	}
	for _, q := range queries {
		var plan []struct {
			Detail string `db:"detail"`
		}
		_ = q.db.NewQuery("EXPLAIN QUERY PLAN " + q.sql).All(&plan)
		fmt.Printf("%-28s plan: %v\n", q.name, plan)
	}
	res := map[string][]float64{}
	if *only != "" {
		var keep []struct {
			name, sql string
			db        *dbx.DB
		}
		for _, s := range strings.Split(*only, ",") {
			var i int
			fmt.Sscan(s, &i)
			if i >= 1 && i <= len(queries) {
				keep = append(keep, queries[i-1])
			}
		}
		queries = keep
	}
	for run := range *runs {
		for _, q := range queries {
			if *cold {
				_ = evict(filepath.Join(*dir, "data.db"))
			}
			t := time.Now()
			var n int
			if err := q.db.NewQuery("SELECT COUNT(DISTINCT song_key) FROM embedding WHERE model = 'musicnn'").Row(&n); err != nil {
				return err
			}
			tc := time.Since(t)
			b := vectors.NewBuilder(200, n)
			rows, err := q.db.NewQuery(q.sql).Rows()
			if err != nil {
				return err
			}
			var key, enc string
			buf := make([]float32, 200)
			cnt := 0
			if strings.HasSuffix(q.name, "pipeline") {
				// the reader only steps SQLite; a second goroutine decodes
				// base64 and accumulates (the Builder has one writer)
				type kv struct{ k, v string }
				ch := make(chan []kv, 8)
				done := make(chan struct{})
				go func() {
					defer close(done)
					for batch := range ch {
						for _, x := range batch {
							if v, err := songdata.DecodeVec(x.v, buf); err == nil {
								_ = b.Accumulate(x.k, v)
							}
						}
					}
				}()
				batch := make([]kv, 0, 1024)
				for rows.Next() {
					if err := rows.Scan(&key, &enc); err != nil {
						rows.Close()
						return err
					}
					batch = append(batch, kv{key, enc})
					if len(batch) == cap(batch) {
						ch <- batch
						batch = make([]kv, 0, 1024)
					}
					cnt++
				}
				ch <- batch
				close(ch)
				<-done
			} else {
				for rows.Next() {
					if err := rows.Scan(&key, &enc); err != nil {
						rows.Close()
						return err
					}
					if v, err := songdata.DecodeVec(enc, buf); err == nil {
						_ = b.Accumulate(key, v)
					}
					cnt++
				}
			}
			rows.Close()
			ix := b.Build()
			d := time.Since(t)
			res[q.name] = append(res[q.name], d.Seconds())
			fmt.Printf("run %d %-28s %d rows, %d songs: %.2f s (of which COUNT DISTINCT %.2f s)\n", run+1, q.name, cnt, ix.Len(), d.Seconds(), tc.Seconds())
		}
	}
	for _, q := range queries {
		fmt.Printf("MEDIAN %-28s %.2f s\n", q.name, median(res[q.name]))
	}
	return nil
}

// narrowScan measures the start-up read if the vectors lived in a narrow
// table of their own (what a schema split would give): it copies
// (song_key, model, vec as a float32 BLOB) of every embedding row, in rowid
// order, into a separate file once, then times scanning it.
func narrowScan(dataDB, path string, runs int) error {
	db, err := hooks.DBConnect(path)
	if err != nil {
		return err
	}
	defer db.Close()
	var n int
	if db.NewQuery("SELECT COUNT(*) FROM vecs").Row(&n) != nil || n == 0 {
		t := time.Now()
		src, err := hooks.DBConnect(dataDB)
		if err != nil {
			return err
		}
		defer src.Close()
		if _, err := db.NewQuery("CREATE TABLE IF NOT EXISTS vecs (song_key TEXT NOT NULL, model TEXT NOT NULL, vec BLOB NOT NULL)").Execute(); err != nil {
			return err
		}
		rows, err := src.NewQuery("SELECT song_key, model, vec FROM embedding NOT INDEXED").Rows()
		if err != nil {
			return err
		}
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		ins := tx.NewQuery("INSERT INTO vecs (song_key, model, vec) VALUES ({:k}, {:m}, {:v})").Prepare()
		var k, m, enc string
		for rows.Next() {
			if err := rows.Scan(&k, &m, &enc); err != nil {
				return err
			}
			v, err := songdata.DecodeVec(enc, nil)
			if err != nil {
				continue
			}
			if _, err := ins.Bind(dbx.Params{"k": k, "m": m, "v": vectors.EncodeBlob(v)}).Execute(); err != nil {
				return err
			}
		}
		rows.Close()
		ins.Close()
		if err := tx.Commit(); err != nil {
			return err
		}
		fmt.Printf("built %s in %s (%s)\n", path, time.Since(t).Round(time.Millisecond), fileSize(path))
	}
	var res []float64
	for run := range runs {
		t := time.Now()
		if err := db.NewQuery("SELECT COUNT(*) FROM vecs WHERE model = 'musicnn'").Row(&n); err != nil {
			return err
		}
		b := vectors.NewBuilder(200, n)
		rows, err := db.NewQuery("SELECT song_key, vec FROM vecs WHERE model = 'musicnn'").Rows()
		if err != nil {
			return err
		}
		var key string
		var blob []byte
		buf := make([]float32, 200)
		for rows.Next() {
			if err := rows.Scan(&key, &blob); err != nil {
				return err
			}
			if v, err := vectors.DecodeBlob(blob, buf); err == nil {
				_ = b.Accumulate(key, v)
			}
		}
		rows.Close()
		ix := b.Build()
		d := time.Since(t)
		res = append(res, d.Seconds())
		fmt.Printf("run %d narrow table (vec BLOB) %d songs: %.2f s\n", run+1, ix.Len(), d.Seconds())
	}
	fmt.Printf("MEDIAN narrow table (vec BLOB) %.2f s\n", median(res))
	return nil
}

// cmdVacuumExp: VACUUM INTO a new file (no WAL traffic, the source stays
// readable) on one plain connection with the service's pragmas: the cost of
// a compaction done as "VACUUM INTO + swap" instead of an in-place VACUUM.
func cmdVacuumExp(args []string) error {
	fs := flag.NewFlagSet("vacuumexp", flag.ExitOnError)
	dir := fs.String("dir", "", "pb_data directory")
	into := fs.String("into", "", "output file (deleted afterwards)")
	fs.Parse(args)
	if *dir == "" || *into == "" {
		return errors.New("--dir and --into are required")
	}
	db, err := hooks.DBConnect(filepath.Join(*dir, "data.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	db.DB().SetMaxOpenConns(1)
	stop := make(chan struct{})
	var peak Mem
	go func() {
		tk := time.NewTicker(500 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				if m := readMem(os.Getpid()); m.RSS > peak.RSS {
					peak = m
				}
			}
		}
	}()
	t := time.Now()
	_, err = db.NewQuery("VACUUM INTO {:p}").Bind(dbx.Params{"p": *into}).Execute()
	close(stop)
	fmt.Printf("VACUUM INTO: %s, peak VmRSS %.0f MiB, %s -> %s (err %v)\n", time.Since(t).Round(time.Millisecond), peak.RSS,
		fileSize(filepath.Join(*dir, "data.db")), fileSize(*into), err)
	os.Remove(*into)
	return err
}
