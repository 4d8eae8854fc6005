package main

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"songcommons/storage"
)

// cmdPlacement measures what one row costs SQLite's single writer on this
// machine, by where the row lands in a B-tree of N entries: appended after
// the last one, or at a random place (as a random rowid, a random
// PocketBase id or a song key put it). It works on a scratch database of
// its own with the service's pragmas, not on a service's data.
//
// A new song uploaded to the service enters 4 tables and about 11 indexes,
// each at a random place (BENCHMARKS.md, "What limits uploads"); the random
// figures weighted so are therefore a floor under the writer's time per
// uploaded song, whatever the code around them does. Rows here are smaller
// than a score or embedding row, so the floor is generous.
func cmdPlacement(args []string) error {
	fs := flag.NewFlagSet("placement", flag.ExitOnError)
	dir := fs.String("dir", "", "scratch directory (placement.db is created in it and deleted at the end)")
	n := fs.Int("rows", 1_000_000, "entries in each B-tree before the measured inserts")
	rowBytes := fs.Int("row-bytes", 400, "payload of a table row (a score row is about 400 bytes)")
	inserts := fs.Int("inserts", 20_000, "measured inserts per variant and transaction size")
	txs := fs.String("tx", "500,5000", "rows per transaction, comma-separated")
	runs := fs.Int("runs", 3, "repetitions of each variant (median)")
	tables := fs.Float64("tables", 4, "row-holding B-trees a new song enters: score, embedding, songs, song_vectors (for the floor printed at the end)")
	indexes := fs.Float64("indexes", 10.7, "index B-trees a new song enters: per score and embedding row its id, song_key, artist, MBID (1/2 of songs), ISRC (1/3); per songs row its id, song_key, artist")
	fill := fs.String("fill", "ordered", "how the trees are filled: ordered (full pages, as after an import or a compaction) or random (pages about 70% full, as after many uploads)")
	fs.Parse(args)
	if *dir == "" {
		return errors.New("--dir is required")
	}
	if *fill != "ordered" && *fill != "random" {
		return fmt.Errorf("--fill: %q is neither ordered nor random", *fill)
	}
	var sizes []int
	for _, s := range strings.Split(*txs, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || v < 1 {
			return fmt.Errorf("--tx: %q is not a positive number", s)
		}
		sizes = append(sizes, v)
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(*dir, "placement.db")
	removeDB := func() {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix)
		}
	}
	removeDB()
	defer removeDB()
	db, err := storage.DBConnect(path)
	if err != nil {
		return err
	}
	defer db.Close()
	db.DB().SetMaxOpenConns(1)
	exec := func(q string, args ...any) error {
		_, err := db.DB().Exec(q, args...)
		return err
	}

	// the trees, filled in key order (fast, and compact as after an import)
	// or in a random order (pages left part-full by splits, as after uploads)
	t0 := time.Now()
	order := make([]int, *n)
	for i := range order {
		order[i] = i
	}
	if *fill == "random" {
		mrand.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	if err := exec("CREATE TABLE r (v BLOB NOT NULL)"); err != nil {
		return err
	}
	if err := exec("CREATE TABLE k (id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID"); err != nil {
		return err
	}
	const insRow, insKey = "INSERT INTO r (rowid, v) VALUES (?, ?)", "INSERT INTO k (id) VALUES (?)"
	payload := make([]byte, *rowBytes)
	rand.Read(payload)
	const fillTx = 50_000
	for i := 0; i < *n; i += fillTx {
		tx, err := db.DB().Begin()
		if err != nil {
			return err
		}
		insR, _ := tx.Prepare(insRow)
		insK, _ := tx.Prepare(insKey)
		for _, j := range order[i:min(i+fillTx, *n)] {
			// rowids and keys spread over the whole range, so that the
			// random inserts below fall between existing entries
			if _, err := insR.Exec(int64(j)<<20, payload); err != nil {
				tx.Rollback()
				return err
			}
			if _, err := insK.Exec(spreadKey(uint64(j), uint64(*n))); err != nil {
				tx.Rollback()
				return err
			}
		}
		insR.Close()
		insK.Close()
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	if err := exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return err
	}
	st, _ := os.Stat(path)
	fmt.Printf("placement: %d rows of %d bytes in table r and %d 15-character keys in k, filled in %s order in %s; %s %.0f MiB\n",
		*n, *rowBytes, *n, *fill, time.Since(t0).Round(time.Millisecond), path, float64(st.Size())/(1<<20))
	fmt.Printf("service pragmas (synchronous FULL, WAL, 32 MB cache); checkpoints off while timing, then one TRUNCATE checkpoint timed apart\n")
	if err := exec("PRAGMA wal_autocheckpoint=0"); err != nil {
		return err
	}

	rng := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 7))
	next := int64(*n) << 20
	variants := []struct {
		name string
		sql  string
		args func() []any
	}{
		{"append to table (next rowid)", insRow, func() []any { next++; return []any{next, payload} }},
		{"table at a random rowid", insRow, func() []any { return []any{rng.Int64N(int64(*n)<<20) | 1, payload} }},
		{"index at a random key (a PocketBase id)", insKey, func() []any { return []any{randomKey(rng)} }},
	}
	const randomRow, randomKeyVariant = 1, 2 // the variants the floor is made of
	results := map[int][]float64{}           // per transaction size, µs per row of each variant
	for _, size := range sizes {
		for _, v := range variants {
			var writes, ckpts []float64
			for range *runs {
				start := time.Now()
				for done := 0; done < *inserts; done += size {
					tx, err := db.DB().Begin()
					if err != nil {
						return err
					}
					ins, err := tx.Prepare(v.sql)
					if err != nil {
						tx.Rollback()
						return err
					}
					for range min(size, *inserts-done) {
						if _, err := ins.Exec(v.args()...); err != nil && !strings.Contains(err.Error(), "UNIQUE") {
							tx.Rollback()
							return err
						}
					}
					ins.Close()
					if err := tx.Commit(); err != nil {
						return err
					}
				}
				writes = append(writes, float64(time.Since(start).Microseconds())/float64(*inserts))
				c := time.Now()
				if err := exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
					return err
				}
				ckpts = append(ckpts, float64(time.Since(c).Microseconds())/float64(*inserts))
			}
			w, c := median(writes), median(ckpts)
			results[size] = append(results[size], w+c)
			fmt.Printf("  %5d rows/tx  %-40s %7.1f µs per row in the transaction + %6.1f µs checkpoint = %7.1f µs  (runs: %s)\n",
				size, v.name, w, c, w+c, fmtRuns(writes))
		}
	}
	for _, size := range sizes {
		r, k := results[size][randomRow], results[size][randomKeyVariant]
		per := *tables*r + *indexes*k
		fmt.Printf("floor at %d rows/tx: %.1f table rows x %.1f µs + %.1f index entries x %.1f µs = %.0f µs per song = at most %.0f songs/s from one writer\n",
			size, *tables, r, *indexes, k, per, 1e6/per)
	}
	return nil
}

// spreadKey is the i-th of n 15-character keys in sorted order, spread
// over the key space of randomKey.
func spreadKey(i, n uint64) string {
	return fmt.Sprintf("%015x", i*(1<<60/n))
}

// randomKey is a random key of the same shape as spreadKey's.
func randomKey(r *mrand.Rand) string {
	return fmt.Sprintf("%015x", r.Uint64N(1<<60))
}

func fmtRuns(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'f', 1, 64)
	}
	return strings.Join(s, ", ")
}
