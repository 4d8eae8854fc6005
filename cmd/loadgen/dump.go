package main

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"songcommons/internal/synth"
	"songcommons/songdata"
)

// cmdDump writes the synthetic songs 0..N-1 as a dump in the shape and
// order Export gives (one line per contributed row, ordered by song key;
// vectors as float32 in shortest form), so that `songcommons import` can
// be timed on a dump of any size and leaves a dataset the benchmarks can
// query (they regenerate songs from their index). With --fingerprints
// every song's score line carries its synthetic fingerprint (synth.PrintOf).
// --out - writes to stdout, for "loadgen dump ... --out - | songcommons
// import -".
func cmdDump(args []string) error {
	fs := flag.NewFlagSet("dump", flag.ExitOnError)
	n := fs.Int("songs", 100_000, "songs to write")
	out := fs.String("out", "", "output file (.gz = gzip; - = stdout)")
	prints := fs.Bool("fingerprints", false, "each song with its synthetic fingerprint (fpcalc's text of 120 s, ~3.6 KB)")
	models := fs.String("models", "musicnn", "comma-separated embedding models per song ('' = none)")
	fs.Parse(args)
	if *out == "" {
		return errors.New("--out is required")
	}
	var mdls []string
	for _, m := range strings.Split(*models, ",") {
		if m = strings.TrimSpace(m); m != "" {
			mdls = append(mdls, m)
		}
	}
	start := time.Now()
	type entry struct {
		key string
		i   uint64
	}
	order := make([]entry, *n)
	for i := range order {
		s := synth.MakeSong(uint64(i), 0)
		order[i] = entry{songdata.SongKey(s.Artist, s.Title), uint64(i)}
	}
	slices.SortFunc(order, func(a, b entry) int { return strings.Compare(a.key, b.key) })

	f := os.Stdout
	if *out != "-" {
		var err error
		if f, err = os.Create(*out); err != nil {
			return err
		}
		defer f.Close()
	}
	var w io.Writer = f
	var zw *gzip.Writer
	if strings.HasSuffix(*out, ".gz") {
		zw = gzip.NewWriter(f)
		w = zw
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, e := range order {
		s := synth.MakeSong(e.i, 0)
		if *prints {
			s = s.WithPrint(e.i)
		}
		m := s.Map(nil)
		if err := enc.Encode(m); err != nil {
			return err
		}
		if len(mdls) == 0 {
			continue
		}
		id := map[string]any{}
		for _, k := range []string{"artist", "title", "album", "duration", "mbid", "isrc", "analyzer"} {
			if v, ok := m[k]; ok {
				id[k] = v
			}
		}
		embs := map[string]json.RawMessage{}
		for _, md := range mdls {
			v64 := synth.VectorFor(s, md)
			v := make([]float32, len(v64))
			for j, x := range v64 {
				v[j] = float32(x)
			}
			embs[md] = songdata.VectorJSON(v)
		}
		id["embeddings"] = embs
		if err := enc.Encode(id); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return err
		}
	}
	if *out == "-" {
		fmt.Fprintf(os.Stderr, "wrote %d songs (%d lines) to stdout in %s\n", *n, *n*(1+min(len(mdls), 1)),
			time.Since(start).Round(time.Millisecond))
		return nil
	}
	if err := f.Sync(); err != nil {
		return err
	}
	fmt.Printf("wrote %d songs (%d lines) to %s in %s: %s\n", *n, *n*(1+min(len(mdls), 1)), *out,
		time.Since(start).Round(time.Millisecond), fileSize(*out))
	return nil
}
