package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// errNotObject: a line that is valid JSON but not an object.
var errNotObject = errors.New("the line is not a JSON object")

// decodeLine reads one JSONL line into the loosely typed map the
// validator takes (songdata.CheckSongs), as encoding/json would, with
// shortcuts that keep a million-line import fast: the line is checked by
// json.Valid, then its members are split in one pass (no reflection),
// plain strings are sliced without unescaping, and each vector of
// "embeddings" that is a plain array of numbers is parsed straight to
// float32, the type models produce, so a vector written by the export
// (shortest float32 form) reads back bit for bit (no float64 detour, no
// double rounding). Anything unusual goes through encoding/json, so that
// the validator sees what it would see from /contribute and answers with
// the same messages.
func decodeLine(line []byte) (map[string]any, error) {
	if !json.Valid(line) {
		var v any
		if err := json.Unmarshal(line, &v); err != nil {
			return nil, err
		}
		return nil, errors.New("invalid JSON")
	}
	if i := skipSpace(line, 0); i >= len(line) || line[i] != '{' {
		return nil, errNotObject
	}
	out := make(map[string]any, 16)
	eachMember(line, func(k string, v []byte) {
		if k == "embeddings" && v[0] == '{' {
			em := make(map[string]any, 2)
			eachMember(v, func(m string, vec []byte) {
				if f, ok := parseFloat32Array(vec); ok {
					em[m] = f
				} else {
					em[m] = decodeValue(vec)
				}
			})
			out[k] = em
			return
		}
		out[k] = decodeValue(v)
	})
	return out, nil
}

// eachMember calls fn with the key and the raw value of each member of a
// JSON object, in order. b must be valid JSON (json.Valid) holding an
// object.
func eachMember(b []byte, fn func(key string, val []byte)) {
	i := skipSpace(b, 0) + 1 // past '{'
	for {
		i = skipSpace(b, i)
		switch b[i] {
		case '}':
			return
		case ',':
			i = skipSpace(b, i+1)
		}
		kend := stringEnd(b, i)
		key := unquote(b[i:kend])
		i = skipSpace(b, kend) + 1 // past ':'
		i = skipSpace(b, i)
		vend := valueEnd(b, i)
		fn(key, b[i:vend])
		i = vend
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the JSON string starting at b[i].
func stringEnd(b []byte, i int) int {
	for j := i + 1; ; j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
}

// valueEnd returns the index just past the JSON value starting at b[i].
func valueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; ; j++ {
			switch b[j] {
			case '"':
				j = stringEnd(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
	}
	j := i
	for j < len(b) && !strings.ContainsRune(",}] \t\r\n", rune(b[j])) {
		j++
	}
	return j
}

// unquote decodes a (valid) JSON string.
func unquote(b []byte) string {
	if bytes.IndexByte(b, '\\') < 0 {
		return string(b[1 : len(b)-1])
	}
	var s string
	_ = json.Unmarshal(b, &s)
	return s
}

// decodeValue decodes one (valid) JSON value.
func decodeValue(v json.RawMessage) any {
	if len(v) == 0 {
		return nil
	}
	switch c := v[0]; {
	case c == '"':
		return unquote(v)
	case c == '-' || (c >= '0' && c <= '9'):
		if f, err := strconv.ParseFloat(string(v), 64); err == nil {
			return f
		}
		return json.Number(v) // out of range: the validator says so
	case c == 'n':
		return nil
	}
	var x any
	_ = json.Unmarshal(v, &x)
	return x
}

// parseFloat32Array parses a JSON array of numbers (already known to be
// valid JSON) to float32. ok is false for anything else (strings, nulls,
// nested values, values out of the float32 range), left to the validator.
func parseFloat32Array(v json.RawMessage) ([]float32, bool) {
	s := strings.TrimSpace(string(v))
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return nil, false
	}
	body := s[1 : len(s)-1]
	if strings.TrimSpace(body) == "" {
		return nil, false
	}
	out := make([]float32, 0, strings.Count(body, ",")+1)
	for len(body) > 0 {
		tok := body
		if i := strings.IndexByte(body, ','); i >= 0 {
			tok, body = body[:i], body[i+1:]
		} else {
			body = ""
		}
		tok = strings.TrimSpace(tok)
		if tok == "" || !(tok[0] == '-' || (tok[0] >= '0' && tok[0] <= '9')) {
			return nil, false
		}
		f, err := strconv.ParseFloat(tok, 32)
		if err != nil {
			return nil, false
		}
		out = append(out, float32(f))
	}
	return out, true
}
