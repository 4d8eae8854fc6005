package dataset

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"songcommons/songdata"
)

// Format is the layout of a dump.
type Format string

// The dump formats.
const (
	// JSONL is the whole dataset: one JSON object per line, one line per
	// contributed row (score or embedding), each in the shape of a
	// /api/songcommons/contribute song.
	JSONL Format = "jsonl"
	// CSV is the score rows only, with a header row (RFC 4180).
	CSV Format = "csv"
)

// ParseFormat reads a --format / ?format= value ("" = JSONL).
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "jsonl", "ndjson", "json":
		return JSONL, nil
	case "csv":
		return CSV, nil
	}
	return "", fmt.Errorf("unknown format %q: use jsonl or csv", s)
}

// FormatOfPath guesses the format of a file from its name: .csv or
// .csv.gz is CSV, anything else JSONL.
func FormatOfPath(path string) Format {
	p := strings.ToLower(strings.TrimSuffix(strings.ToLower(path), ".gz"))
	if filepath.Ext(p) == ".csv" {
		return CSV
	}
	return JSONL
}

// scoreFields are the fields of a score row in dump order
// (songdata.ScoreFields): the keys of a score line, and the CSV columns.
var scoreFields = songdata.ScoreFields()

// identityFields are the identity fields of an embedding line, in dump
// order; its vector follows, as "embeddings":{model:vector}.
var identityFields = songdata.IdentityFields()

// scoreColumns are the CSV header: the names of scoreFields.
var scoreColumns = songdata.Names(scoreFields)

// numericFields are the fields written (and read back, in CSV) as numbers.
var numericFields = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range scoreFields {
		m[f.Name] = f.Kind == songdata.Number
	}
	return m
}()

// embeddingRow is one stored embedding row, as dumped. Vector is the
// stored JSON array (float32 values in their shortest exact form). The
// song key orders the dump; it is written only for a row filed under
// another song than its tags' (SongKeyField), as for a score row
// (songdata.Score): import recomputes the others from artist and title.
type embeddingRow struct {
	songdata.Identity
	Model  string
	Vector string
}

// jsonKeys are the `"name":` of each field, for the dump lines.
var jsonKeys = func() map[string][]byte {
	m := map[string][]byte{}
	for _, f := range songdata.Fields() {
		m[f.Name] = append(appendJSONString(nil, f.Name), ':')
	}
	return m
}()

// SongKeyField is the key of a dump line that gives the song its row was
// filed under, written only when that is not the song of its tags (the
// row joined a song by its audio, or is another recording under those
// tags: songdata.Identity.TagsKey). Import files such a row under that
// song again.
const SongKeyField = songdata.SongKeyField

// appendSongKey writes the line's SongKeyField and a comma, for a row
// filed under another song than its tags'.
func appendSongKey(b []byte, id *songdata.Identity) []byte {
	if id.TagsKey == "" {
		return b
	}
	b = append(appendJSONString(b, SongKeyField), ':')
	return append(appendJSONString(b, id.SongKey), ',')
}

// appendScoreJSON writes a score row as one JSON line (with its "\n"):
// its scoreFields, in order.
func appendScoreJSON(b []byte, r *songdata.Score) []byte {
	b = appendSongKey(append(b, '{'), &r.Identity)
	for i, f := range scoreFields {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, jsonKeys[f.Name]...)
		b = appendJSONValue(b, r.Ref(f.Name))
	}
	return append(b, "}\n"...)
}

// appendEmbeddingJSON writes an embedding row as one JSON line: its
// identity and "embeddings":{model:vector}, as a /contribute song.
func appendEmbeddingJSON(b []byte, r *embeddingRow) []byte {
	b = appendSongKey(append(b, '{'), &r.Identity)
	for _, f := range identityFields {
		b = append(b, jsonKeys[f.Name]...)
		b = appendJSONValue(b, r.Identity.Ref(f.Name))
		b = append(b, ',')
	}
	b = append(b, `"embeddings":{`...)
	b = appendJSONString(b, r.Model)
	b = append(b, ':')
	b = appendVector(b, r.Vector)
	return append(b, "}}\n"...)
}

// appendJSONValue writes the value a songdata Ref points at.
func appendJSONValue(b []byte, ref any) []byte {
	switch v := ref.(type) {
	case *string:
		return appendJSONString(b, *v)
	case *float64:
		return appendJSONNumber(b, *v)
	}
	panic(fmt.Sprintf("dataset: no JSON form for %T", ref))
}

// appendVector writes a stored vector. Every write path stores it in
// canonical form (songdata.VectorJSON), which is copied as is; anything
// else (a row edited by hand in SQL) is put in canonical form first.
func appendVector(b []byte, stored string) []byte {
	if isCanonicalVector(stored) {
		return append(b, stored...)
	}
	v, err := songdata.ParseVector(stored)
	if err != nil {
		return append(b, "null"...) // rejected, with its reason, on import
	}
	f := make([]float32, len(v))
	for i, x := range v {
		f[i] = float32(x)
	}
	return append(b, songdata.VectorJSON(f)...)
}

// isCanonicalVector is a cheap check that s looks like VectorJSON's
// output: a bracketed list of numbers without spaces.
func isCanonicalVector(s string) bool {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return false
	}
	for i := 1; i < len(s)-1; i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == ',' || c == '-' || c == 'e' || c == '+') {
			return false
		}
	}
	return true
}

// appendJSONNumber writes a float64 as encoding/json does: the shortest
// decimal form that reads back as the same value. Non-finite values (which
// no write path stores) become null.
func appendJSONNumber(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, "null"...)
	}
	return appendNumber(b, f)
}

func appendNumber(b []byte, f float64) []byte {
	abs := math.Abs(f)
	fmtc := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		fmtc = 'e'
	}
	b = strconv.AppendFloat(b, f, fmtc, -1, 64)
	if fmtc == 'e' { // 1e-07 → 1e-7
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// formatNumber is appendNumber for CSV cells (non-finite values: empty).
func formatNumber(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return ""
	}
	return string(appendNumber(nil, f))
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string. Only what JSON requires is
// escaped (quote, backslash, control characters), plus U+2028/U+2029;
// invalid UTF-8 (which validation never lets in) becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// scoreCSV returns the CSV cells of a score row, in scoreFields order.
// Text cells go through csvText; numbers are written as plain numbers.
func scoreCSV(r *songdata.Score, rec []string) []string {
	rec = rec[:0]
	for _, f := range scoreFields {
		switch v := r.Ref(f.Name).(type) {
		case *string:
			rec = append(rec, csvText(*v))
		case *float64:
			rec = append(rec, formatNumber(*v))
		}
	}
	return rec
}

// csvText neutralises a text cell that a spreadsheet would run as a
// formula, as OWASP's "CSV Injection" advice says: a cell starting with
// =, +, -, @, tab or carriage return gets a leading single quote, which
// spreadsheets read as "this is text" and do not show. So that this can be
// undone exactly, a cell that itself starts with a single quote gets one
// more. csvValue undoes it on import.
func csvText(s string) string {
	if s != "" && (csvActive(s[0]) || s[0] == '\'') {
		return "'" + s
	}
	return s
}

// csvValue is the inverse of csvText: it removes exactly one leading
// single quote when what follows it starts with one of the characters
// csvText escapes (or with another single quote). Anything else, such as
// a hand-written 'Til Tuesday, is kept as it is.
func csvValue(s string) string {
	if len(s) >= 2 && s[0] == '\'' && (csvActive(s[1]) || s[1] == '\'') {
		return s[1:]
	}
	return s
}

// csvActive reports whether a cell starting with c may be run as a formula.
func csvActive(c byte) bool {
	return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r'
}
