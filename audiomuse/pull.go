package audiomuse

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MaxLookup is the most songs one /lookup request takes.
const MaxLookup = 1000

// PullSummary counts what a lookup run found.
type PullSummary struct {
	Asked, Found, Missing int
}

// Pull reads the songs a library is missing (JSON lines or CSV with the
// columns artist, title, mbid, isrc; any may be empty, but each song needs
// artist and title, an mbid or an isrc), looks them up in 1,000-song
// requests, and writes one JSON line per song found: the songcommons
// analysis (consensus, moods, embeddings) with the identifiers asked.
// AudioMuse-AI has no write path for analysis (its /api/sync is
// read-only), so the file is for the user to inspect and use.
func Pull(ctx context.Context, t *Target, in io.Reader, out io.Writer, progress func(PullSummary)) (PullSummary, error) {
	var sum PullSummary
	songs, err := readWanted(in)
	if err != nil {
		return sum, err
	}
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	for lo := 0; lo < len(songs); lo += MaxLookup {
		part := songs[lo:min(len(songs), lo+MaxLookup)]
		res, err := t.Lookup(ctx, part)
		if err != nil {
			return sum, err
		}
		for i, r := range res {
			sum.Asked++
			if found, _ := r["found"].(bool); !found {
				sum.Missing++
				continue
			}
			sum.Found++
			r["asked"] = part[i]
			if err := enc.Encode(r); err != nil {
				return sum, err
			}
		}
		if progress != nil {
			progress(sum)
		}
	}
	return sum, w.Flush()
}

// readWanted reads JSON lines, or CSV with a header naming the columns.
func readWanted(in io.Reader) ([]map[string]string, error) {
	br := bufio.NewReader(in)
	first, err := br.Peek(1)
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []map[string]string
	add := func(line int, m map[string]string) error {
		song := map[string]string{}
		for _, k := range []string{"artist", "title", "mbid", "isrc"} {
			if v := strings.TrimSpace(m[k]); v != "" {
				song[k] = v
			}
		}
		if (song["artist"] == "" || song["title"] == "") && song["mbid"] == "" && song["isrc"] == "" {
			return fmt.Errorf("line %d: a song needs artist and title, an mbid or an isrc", line)
		}
		out = append(out, song)
		return nil
	}
	if first[0] == '{' {
		sc := bufio.NewScanner(br)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for n := 1; sc.Scan(); n++ {
			if strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			var m map[string]string
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				return nil, fmt.Errorf("line %d: %w", n, err)
			}
			if err := add(n, m); err != nil {
				return nil, err
			}
		}
		return out, sc.Err()
	}
	r := csv.NewReader(br)
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("the CSV header: %w", err)
	}
	for n := 2; ; n++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		for i, h := range header {
			if i < len(rec) {
				m[strings.ToLower(strings.TrimSpace(h))] = rec[i]
			}
		}
		if err := add(n, m); err != nil {
			return nil, err
		}
	}
}
