package dataset

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/contribute"
	"songcommons/similarity"
	"songcommons/songdata"
	"songcommons/songprint"
)

// Import limits and defaults.
const (
	// DefaultChunk is how many lines are stored per transaction: about
	// 20,000 songs of a dump (a score line and an embedding line each).
	// Large transactions write each page of the indexes that a dump's order
	// cannot keep sequential (random ids, MBIDs, ISRCs) once for many rows:
	// at 300k songs, 40,000 lines and a 1 GiB page cache import 5,830
	// songs/s against 4,353 with 4,000 lines and 256 MiB (BENCHMARKS.md).
	DefaultChunk = 40000
	// MaxLine bounds one line of a dump (a song with a 512-d and a 200-d
	// vector is about 10 KB).
	MaxLine = 4 << 20
)

// Reasons of rejects that are not field errors.
const (
	ReasonInvalidJSON = "invalid_json"
	ReasonNotObject   = "not_an_object"
	ReasonTooLong     = "line_too_long"
	ReasonInvalidCSV  = "invalid_csv"
	ReasonStoreFailed = "store_failed"
)

// ImportOptions tune an import.
type ImportOptions struct {
	// Format of the input (default JSONL).
	Format Format
	// Chunk is how many lines are stored per transaction (default 4000).
	Chunk int
	// Workers is how many goroutines parse and validate (default: one per
	// CPU). Storing is sequential: SQLite has one writer.
	Workers int
	// Rejects receives one JSON line per rejected input line (may be nil).
	Rejects io.Writer
	// Progress, when set, is called after each stored chunk.
	Progress func(Summary)
	// store replaces the write path's Import (tests of a database that
	// refuses rows).
	store func([]songdata.Contribution) error
	// Sim, when set, is kept in step with the imported embeddings: pass
	// the index of the serving process when importing inside it. The
	// import command runs in its own process and leaves it nil: a server
	// rebuilds its index from SQLite when it starts.
	Sim *similarity.Indexes
	// Prints is the fingerprint index that decides the identity of
	// fingerprinted songs (contribute.Resolve) and is kept in step with
	// the import; nil: one is built from the database for the import.
	Prints *songprint.Index
}

// Summary is what an import did.
type Summary struct {
	// Read counts the input lines (CSV: data records) that were not blank.
	Read int64 `json:"read"`
	// Imported counts the lines stored; Score and Embedding the rows they made.
	Imported  int64 `json:"imported"`
	Score     int64 `json:"score"`
	Embedding int64 `json:"embedding"`
	// Rejected counts the lines refused; Reasons counts them per reason
	// ("tempo: validation_out_of_range", "invalid_json"…; a line with
	// several problems counts under each).
	Rejected int64            `json:"rejected"`
	Reasons  map[string]int64 `json:"reasons"`
	// Blank counts empty lines, skipped.
	Blank int64 `json:"blank"`
	// Took is the whole import; Store the part of it spent writing to the
	// database (the rest overlaps: lines are read and validated meanwhile).
	Took  time.Duration `json:"took"`
	Store time.Duration `json:"store"`
}

// FieldError is one problem of a rejected line, in PocketBase's shape.
type FieldError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Reject is one line of the rejects file.
type Reject struct {
	Line    int64                 `json:"line"`
	Reasons []string              `json:"reasons"`
	Errors  map[string]FieldError `json:"errors"`
	// Input is the rejected line as it was: the JSON value itself when a
	// JSONL line is valid JSON, otherwise a string (a CSV record, a broken
	// line; InputBase64 when it is not even UTF-8 text). A line too long is
	// cut to its first KiB.
	Input       json.RawMessage `json:"input,omitempty"`
	InputBase64 []byte          `json:"input_base64,omitempty"`
	Truncated   bool            `json:"truncated,omitempty"`
}

// item is one input line on its way through the pipeline.
type item struct {
	no     int64
	raw    []byte         // the line (JSONL), or the CSV record re-encoded
	rec    map[string]any // CSV: the record as fields
	reject *Reject        // refused before parsing (too long, bad CSV)
}

type chunk struct {
	items []item
	res   chan result
}

type result struct {
	good    []songdata.Contribution
	goodIdx []int // index in chunk.items of each good contribution
	rejects []*Reject
	items   []item
}

// Import reads a dump from r and stores its rows, chunk by chunk, each
// chunk in one transaction. Every line is validated on its own by the
// rules of every write path (songdata.CheckSongs); a bad line is written to
// opts.Rejects with its reasons and never keeps the good lines around it
// out. Lines are stored as the contributions they describe: a dump made
// by Export imports back to the same rows.
func Import(ctx context.Context, app core.App, r io.Reader, opts ImportOptions) (Summary, error) {
	start := time.Now()
	sum := Summary{Reasons: map[string]int64{}}
	if opts.Chunk <= 0 {
		opts.Chunk = DefaultChunk
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.Prints == nil {
		opts.Prints = songprint.New()
	}
	parent := ctx
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	// reader → (jobs) → validating workers → (order) → this goroutine,
	// which stores the chunks in input order
	jobs := make(chan *chunk, opts.Workers)
	order := make(chan *chunk, opts.Workers)
	var readErr error
	var blank int64
	go func() {
		defer close(jobs)
		defer close(order)
		send := func(c *chunk) bool {
			select {
			case order <- c:
			case <-ctx.Done():
				return false
			}
			select {
			case jobs <- c:
				return true
			case <-ctx.Done():
				return false
			}
		}
		if opts.Format == CSV {
			readErr = readCSV(ctx, r, opts.Chunk, send, &blank)
		} else {
			readErr = readJSONL(ctx, r, opts.Chunk, send, &blank)
		}
	}()
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range jobs {
				c.res <- validateChunk(c.items)
			}
		}()
	}

	var rejw *bufio.Writer
	if opts.Rejects != nil {
		rejw = bufio.NewWriterSize(opts.Rejects, 64<<10)
	}
	var err error
	for c := range order {
		if err = parent.Err(); err != nil {
			break
		}
		var res result
		select {
		case res = <-c.res:
		case <-ctx.Done():
			err = parent.Err()
		}
		if err != nil {
			break
		}
		if err = ingest(app, &opts, c, res, &sum, rejw); err != nil {
			break
		}
		if opts.Progress != nil {
			sum.Took = time.Since(start)
			opts.Progress(sum)
		}
	}
	cancel()
	for range order { // let the reader stop
	}
	wg.Wait()
	if rejw != nil {
		if ferr := rejw.Flush(); ferr != nil && err == nil {
			err = fmt.Errorf("writing the rejects: %w", ferr)
		}
	}
	if err == nil {
		err = readErr
	}
	sum.Blank = blank
	sum.Took = time.Since(start)
	return sum, err
}

// ingest stores the good lines of a validated chunk and records its rejects.
func ingest(app core.App, opts *ImportOptions, c *chunk, res result, sum *Summary, rejw *bufio.Writer) error {
	sum.Read += int64(len(c.items))
	rejects := res.rejects
	if len(res.good) > 0 {
		t := time.Now()
		stored, failed, err := store(app, opts, res)
		sum.Store += time.Since(t)
		if err != nil {
			return err
		}
		if len(failed) > 0 {
			rejects = append(rejects, failed...)
			sort.SliceStable(rejects, func(i, j int) bool { return rejects[i].Line < rejects[j].Line })
		}
		sum.Imported += int64(len(stored))
		for _, s := range stored {
			if s.Score != nil {
				sum.Score++
			}
			sum.Embedding += int64(len(s.Embeddings))
		}
	}
	for _, rj := range rejects {
		sum.Rejected++
		for _, reason := range rj.Reasons {
			sum.Reasons[reason]++
		}
		if rejw == nil {
			continue
		}
		if _, err := rejw.Write(rj.appendJSON(nil)); err != nil {
			return fmt.Errorf("writing the rejects: %w", err)
		}
	}
	return nil
}

// store writes the good contributions of a chunk in one transaction. If
// that fails, it stores them one by one, so that a row the database
// refuses costs only its own line, which is rejected with the reason. When
// the first lines fail one by one too, the database is the problem, not
// the data: the import stops with the error.
func store(app core.App, opts *ImportOptions, res result) ([]songdata.Contribution, []*Reject, error) {
	write := opts.store
	if write == nil {
		w := contribute.New(app, opts.Sim, nil).WithPrints(opts.Prints)
		write = func(cs []songdata.Contribution) error {
			_, err := w.Import(cs)
			return err
		}
	}
	chunkErr := write(res.good)
	if chunkErr == nil {
		return res.good, nil, nil
	}
	var stored []songdata.Contribution
	var failed []*Reject
	for i, c := range res.good {
		it := res.items[res.goodIdx[i]]
		if err := write([]songdata.Contribution{c}); err != nil {
			if len(stored) == 0 && (i >= 2 || i == len(res.good)-1) {
				return stored, nil, fmt.Errorf("the database refuses the rows from line %d on (the lines before are stored): %w",
					res.items[res.goodIdx[0]].no, chunkErr)
			}
			rj := newReject(it.no, it.raw, it.rec == nil)
			rj.add("line", ReasonStoreFailed, "the database refused the row: "+err.Error())
			failed = append(failed, rj)
			continue
		}
		stored = append(stored, c)
	}
	return stored, failed, nil
}

// validateChunk parses and validates each line of a chunk on its own.
func validateChunk(items []item) result {
	res := result{items: items}
	for i, it := range items {
		if it.reject != nil {
			res.rejects = append(res.rejects, it.reject)
			continue
		}
		song := it.rec
		if song == nil {
			var err error
			song, err = decodeLine(it.raw)
			if err != nil {
				rj := newReject(it.no, it.raw, it.rec == nil)
				if errors.Is(err, errNotObject) {
					rj.add("line", ReasonNotObject, "each line must be one JSON object: a song as /api/songcommons/contribute takes it")
				} else {
					rj.add("line", ReasonInvalidJSON, "the line is not valid JSON: "+err.Error())
				}
				res.rejects = append(res.rejects, rj)
				continue
			}
		}
		// the song a dump filed the row under, when not its tags' (the
		// upload routes take no such key)
		songKey, hasKey := song[SongKeyField]
		delete(song, SongKeyField)
		cs, errs := songdata.CheckSongs([]map[string]any{song}, "")
		if hasKey {
			if k, ok := songKey.(string); ok && validSongKey(k) {
				if errs == nil {
					cs[0].Song = k
				}
			} else {
				if errs == nil {
					errs = validation.Errors{}
				}
				errs["0."+SongKeyField] = validation.NewError("validation_invalid_value",
					"song_key must be a song key (normalised artist|title, at most 2,048 bytes), as export writes it")
			}
		}
		if errs != nil {
			rj := newReject(it.no, it.raw, it.rec == nil)
			keys := make([]string, 0, len(errs))
			for k := range errs {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				field := strings.TrimPrefix(k, "0.")
				code, msg := "validation_invalid_value", errs[k].Error()
				var ve validation.Error
				if errors.As(errs[k], &ve) {
					code, msg = ve.Code(), ve.Message()
				}
				rj.add(field, field+": "+code, msg)
			}
			res.rejects = append(res.rejects, rj)
			continue
		}
		res.good = append(res.good, cs[0])
		res.goodIdx = append(res.goodIdx, i)
	}
	return res
}

// validSongKey reports whether k can be a song key as export writes one:
// not empty, at most 2,048 bytes, valid UTF-8, with the separator of
// artist and title.
func validSongKey(k string) bool {
	return k != "" && len(k) <= 2048 && utf8.ValidString(k) && strings.Contains(k, songdata.SongKeySeparator)
}

// newReject starts the reject of a line; raw is kept as JSON when asJSON
// is set and the line is valid JSON (a JSONL line), else as text.
func newReject(no int64, raw []byte, asJSON bool) *Reject {
	rj := &Reject{Line: no, Errors: map[string]FieldError{}}
	switch {
	case asJSON && jsonValid(raw):
		rj.Input = json.RawMessage(raw)
	case utf8.Valid(raw):
		rj.Input = jsonText(string(raw))
	default:
		rj.InputBase64 = raw
	}
	return rj
}

// appendJSON writes the reject as one JSON line, with the input line
// copied byte for byte (encoding/json would re-escape it).
func (r *Reject) appendJSON(b []byte) []byte {
	head := struct {
		Line    int64                 `json:"line"`
		Reasons []string              `json:"reasons"`
		Errors  map[string]FieldError `json:"errors"`
	}{r.Line, r.Reasons, r.Errors}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(head)
	b = append(b, bytes.TrimSuffix(buf.Bytes(), []byte("}\n"))...)
	switch {
	case r.Input != nil:
		b = append(b, `,"input":`...)
		b = append(b, r.Input...)
	case r.InputBase64 != nil:
		b = append(b, `,"input_base64":`...)
		b = append(b, jsonText(base64.StdEncoding.EncodeToString(r.InputBase64))...)
	}
	if r.Truncated {
		b = append(b, `,"truncated":true`...)
	}
	return append(b, "}\n"...)
}

// add records a problem: field, the reason it is counted under, and the
// message (the field's error keeps the validator's own code when known).
func (r *Reject) add(field, reason, msg string) {
	code := reason
	if i := strings.LastIndexByte(reason, ' '); i >= 0 {
		code = reason[i+1:]
	}
	r.Errors[field] = FieldError{Code: code, Message: msg}
	r.Reasons = append(r.Reasons, reason)
}

// readJSONL splits r into lines and sends them in chunks. A line longer
// than MaxLine is rejected (its first KiB kept) and the reading goes on.
func readJSONL(ctx context.Context, r io.Reader, size int, send func(*chunk) bool, blank *int64) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var no int64
	c := &chunk{res: make(chan result, 1)}
	arena := make([]byte, 0, min(size*2048, 8<<20))
	flush := func() bool {
		if len(c.items) == 0 {
			return true
		}
		if !send(c) {
			return false
		}
		c = &chunk{res: make(chan result, 1)}
		arena = make([]byte, 0, cap(arena))
		return true
	}
	var long []byte // a line being read past the reader's buffer
	for {
		frag, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			if len(long) <= MaxLine {
				long = append(long, frag...)
			}
			continue
		}
		if len(frag) == 0 && long == nil && err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			flush() // what was read before the error is imported
			return fmt.Errorf("reading line %d: %w", no+1, err)
		}
		no++
		line := frag
		tooLong := false
		if long != nil {
			tooLong = len(long)+len(frag) > MaxLine
			if !tooLong {
				line = append(long, frag...)
			} else {
				line = long
			}
			long = nil
		}
		line = bytes.TrimSpace(line)
		switch {
		case tooLong:
			rj := newReject(no, nil, false)
			head := line[:min(len(line), 1024)]
			for len(head) > 0 && !utf8.Valid(head) { // do not cut a character
				head = head[:len(head)-1]
			}
			rj.Input = jsonText(string(head))
			rj.Truncated = true
			rj.add("line", ReasonTooLong, fmt.Sprintf("the line is longer than %d MiB", MaxLine>>20))
			c.items = append(c.items, item{no: no, reject: rj})
		case len(line) == 0:
			*blank++
		default:
			if len(arena)+len(line) > cap(arena) && len(arena) > 0 {
				arena = make([]byte, 0, max(cap(arena), len(line)))
			}
			s := len(arena)
			arena = append(arena, line...)
			c.items = append(c.items, item{no: no, raw: arena[s:len(arena):len(arena)]})
		}
		if len(c.items) >= size {
			if !flush() {
				return ctx.Err()
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			flush()
			return fmt.Errorf("reading line %d: %w", no, err)
		}
	}
	if !flush() {
		return ctx.Err()
	}
	return nil
}

// readCSV reads a CSV dump (header row, then score rows) and sends the
// records in chunks. A record that cannot be read is rejected.
func readCSV(ctx context.Context, r io.Reader, size int, send func(*chunk) bool, blank *int64) error {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<20))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the CSV header: %w", err)
	}
	header = append([]string(nil), header...)
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	allowed := map[string]bool{}
	for _, f := range scoreColumns {
		allowed[f] = true
	}
	for i, h := range header {
		header[i] = strings.ToLower(strings.TrimSpace(h))
		if !allowed[header[i]] {
			return fmt.Errorf("the CSV header names an unknown column %q: the columns are %s", h, strings.Join(scoreColumns, ","))
		}
	}
	c := &chunk{res: make(chan result, 1)}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			return fmt.Errorf("reading the CSV: %w", err)
		}
		var it item
		switch {
		case err != nil:
			it.no = int64(pe.StartLine)
			rj := newReject(it.no, []byte(strings.Join(rec, ",")), false)
			rj.add("line", ReasonInvalidCSV, "the record is not valid CSV: "+err.Error())
			it.reject = rj
		case len(rec) == 1 && strings.TrimSpace(rec[0]) == "":
			*blank++
			continue
		default:
			line, _ := cr.FieldPos(0)
			it.no = int64(line)
			var b bytes.Buffer
			cw := csv.NewWriter(&b)
			_ = cw.Write(rec)
			cw.Flush()
			it.raw = bytes.TrimRight(b.Bytes(), "\r\n")
			it.rec = csvRecord(header, rec)
		}
		c.items = append(c.items, it)
		if len(c.items) >= size {
			if !send(c) {
				return ctx.Err()
			}
			c = &chunk{res: make(chan result, 1)}
		}
	}
	if len(c.items) > 0 && !send(c) {
		return ctx.Err()
	}
	return nil
}

// csvRecord turns a CSV record into a song: cells lose the quote that
// neutralises formulas (csvValue), empty cells are absent, numeric columns
// are numbers when they read as one (else the validator names the field),
// extra cells are reported as unknown fields.
func csvRecord(header, rec []string) map[string]any {
	m := make(map[string]any, len(rec))
	for i, v := range rec {
		name := fmt.Sprintf("column_%d", i+1)
		if i < len(header) && header[i] != "" {
			name = header[i]
		}
		v = csvValue(v)
		if v == "" {
			continue
		}
		if numericFields[name] {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				m[name] = f
				continue
			}
		}
		m[name] = v
	}
	return m
}

func jsonValid(b []byte) bool { return len(b) > 0 && json.Valid(b) }

// jsonText is s as a JSON string.
func jsonText(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}
