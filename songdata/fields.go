package songdata

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits shared by every write path.
const (
	MaxTextLen     = 512 // artist, title, album
	MaxAnalyzerLen = 128
	MaxTempo       = 400.0
	MaxDuration    = 24 * 3600.0 // seconds
	MaxLabels      = 64
	MaxLabelLen    = 32
	MaxEnergy      = 1000.0
	// MaxFingerprintItems bounds a fingerprint: 12,000 sub-fingerprints
	// are about 25 minutes of audio (fpcalc's default takes the first 2).
	MaxFingerprintItems = 12000
	// MaxFingerprintLen bounds the compressed text of a fingerprint of
	// MaxFingerprintItems (about 2.9 characters per sub-fingerprint).
	MaxFingerprintLen = 40000
)

var pitchNames = [12]string{"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"}

var pitchOfLetter = map[byte]int{'C': 0, 'D': 2, 'E': 4, 'F': 5, 'G': 7, 'A': 9, 'B': 11}

// PitchClasses returns the 12 canonical key names, C first.
func PitchClasses() []string { return append([]string(nil), pitchNames[:]...) }

// NormalizeKey turns "C#", "Db", "d♭", "c sharp"-free spellings into one of
// the 12 canonical pitch classes (sharps): "Db" → "C#", "Cb" → "B".
func NormalizeKey(s string) (string, error) {
	k := strings.TrimSpace(s)
	k = strings.NewReplacer("♯", "#", "♭", "b").Replace(k)
	if k == "" {
		return "", errors.New("key is required")
	}
	letter := k[0]
	if letter >= 'a' && letter <= 'g' {
		letter -= 'a' - 'A'
	}
	pc, ok := pitchOfLetter[letter]
	if !ok {
		return "", fmt.Errorf("%q is not a key: use one of %s (flats such as Db are accepted)", s, strings.Join(pitchNames[:], ", "))
	}
	switch k[1:] {
	case "":
	case "#":
		pc++
	case "b":
		pc--
	default:
		return "", fmt.Errorf("%q is not a key: use one of %s (flats such as Db are accepted)", s, strings.Join(pitchNames[:], ", "))
	}
	return pitchNames[(pc+12)%12], nil
}

// NormalizeScale accepts "major" or "minor" in any case.
func NormalizeScale(s string) (string, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	if v == "major" || v == "minor" {
		return v, nil
	}
	if v == "" {
		return "", errors.New("scale is required: major or minor")
	}
	return "", fmt.Errorf("%q is not a scale: use major or minor", s)
}

// Label is one "label:score" entry of mood_vector or other_features.
type Label struct {
	Name  string
	Score float64
}

var labelPattern = regexp.MustCompile(`^[A-Za-z0-9 _-]{1,32}$`)

// ParseLabels parses "rock:0.512,pop:0.301". Labels are trimmed and must
// match [A-Za-z0-9 _-]{1,32}; a known label takes the spelling of the known
// lists ("hip-hop" → "Hip-Hop", see CanonicalLabel), any other keeps the
// contributor's; scores are finite numbers in [0, 1]; at most MaxLabels
// entries; no label twice, in any case. An empty string is an empty list.
// The result is in canonical order (score descending, then label).
func ParseLabels(s string) ([]Label, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) > MaxLabels {
		return nil, fmt.Errorf("has %d entries; at most %d are allowed", len(parts), MaxLabels)
	}
	out := make([]Label, 0, len(parts))
	seen := make(map[string]bool, len(parts))
	for i, p := range parts {
		colon := strings.LastIndexByte(p, ':')
		if colon < 0 {
			return nil, fmt.Errorf("entry %d (%q) is not label:score", i+1, clip(p))
		}
		name := strings.TrimSpace(p[:colon])
		if !labelPattern.MatchString(name) {
			return nil, fmt.Errorf("entry %d: label %q must be 1-32 characters of a-z, A-Z, 0-9, space, _ or -", i+1, clip(name))
		}
		name = CanonicalLabel(name)
		v, err := strconv.ParseFloat(strings.TrimSpace(p[colon+1:]), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("entry %d (%q): the score is not a finite number", i+1, clip(p))
		}
		if v < 0 || v > 1 {
			return nil, fmt.Errorf("entry %d (%q): the score must be between 0 and 1", i+1, clip(p))
		}
		if seen[FoldLabel(name)] {
			return nil, fmt.Errorf("label %q appears twice", name)
		}
		seen[FoldLabel(name)] = true
		out = append(out, Label{Name: name, Score: v})
	}
	SortLabels(out)
	return out, nil
}

// SortLabels puts labels in canonical order: score descending, then name
// (folded, then as spelled).
func SortLabels(ls []Label) {
	sort.SliceStable(ls, func(i, j int) bool {
		if ls[i].Score != ls[j].Score {
			return ls[i].Score > ls[j].Score
		}
		if a, b := FoldLabel(ls[i].Name), FoldLabel(ls[j].Name); a != b {
			return a < b
		}
		return ls[i].Name < ls[j].Name
	})
}

// FormatLabels writes labels as "label:score,…" with the shortest exact
// decimal form of each score.
func FormatLabels(ls []Label) string {
	var b strings.Builder
	for i, l := range ls {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l.Name)
		b.WriteByte(':')
		b.WriteString(strconv.FormatFloat(l.Score, 'f', -1, 64))
	}
	return b.String()
}

// ParseVector reads an embedding given as a JSON array of numbers, as a
// string or bytes holding such an array (the legacy client sends
// json.dumps(list)), or as a Go slice. Every value must be finite.
func ParseVector(v any) ([]float64, error) {
	switch x := v.(type) {
	case nil:
		return nil, errors.New("embedding is required")
	case []float64:
		out := append([]float64(nil), x...)
		return out, checkFinite(out)
	case []float32:
		out := make([]float64, len(x))
		for i, f := range x {
			out[i] = float64(f)
		}
		return out, checkFinite(out)
	case []any:
		out := make([]float64, len(x))
		for i, e := range x {
			f, ok := toFloat(e)
			if !ok {
				return nil, fmt.Errorf("element %d is not a number", i)
			}
			out[i] = f
		}
		return out, checkFinite(out)
	case string:
		return parseVectorJSON([]byte(x))
	case []byte:
		return parseVectorJSON(x)
	case json.RawMessage:
		return parseVectorJSON(x)
	case fmt.Stringer: // types.JSONRaw and friends
		return parseVectorJSON([]byte(x.String()))
	}
	return nil, fmt.Errorf("must be an array of numbers, not %T", v)
}

func parseVectorJSON(b []byte) ([]float64, error) {
	b = trimSpaceBytes(b)
	if len(b) == 0 || string(b) == "null" || string(b) == `""` {
		return nil, errors.New("embedding is required")
	}
	if b[0] == '"' { // a JSON string holding the array
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, errors.New("must be a JSON array of numbers")
		}
		return parseVectorJSON([]byte(s))
	}
	if b[0] != '[' {
		return nil, errors.New("must be a JSON array of numbers")
	}
	if out, ok := scanNumberArray(b); ok {
		return out, checkFinite(out)
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, errors.New("must be a JSON array of numbers")
	}
	out := make([]float64, len(raw))
	for i, r := range raw {
		r = trimSpaceBytes(r)
		if len(r) == 0 || !(r[0] == '-' || (r[0] >= '0' && r[0] <= '9')) {
			return nil, fmt.Errorf("element %d is not a number", i)
		}
		f, err := strconv.ParseFloat(string(r), 64)
		if err != nil {
			return nil, fmt.Errorf("element %d is not a finite number", i)
		}
		out[i] = f
	}
	return out, checkFinite(out)
}

// scanNumberArray reads b as a JSON array of JSON numbers without
// encoding/json (which took 120 µs per 200-d vector: a RawMessage per
// element). It reports false for anything else, including valid JSON it
// does not handle, so that the caller's general path decides and words the
// error; on true the values are exactly strconv.ParseFloat's.
func scanNumberArray(b []byte) ([]float64, bool) {
	i := 1 // b[0] == '['
	skip := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
			i++
		}
	}
	out := make([]float64, 0, 256)
	skip()
	if i < len(b) && b[i] == ']' {
		i++
		skip()
		return out, i == len(b)
	}
	for {
		n := jsonNumberLen(b[i:])
		if n == 0 {
			return nil, false
		}
		f, err := strconv.ParseFloat(string(b[i:i+n]), 64)
		if err != nil {
			return nil, false
		}
		out = append(out, f)
		i += n
		skip()
		if i >= len(b) {
			return nil, false
		}
		if b[i] == ']' {
			i++
			skip()
			return out, i == len(b)
		}
		if b[i] != ',' {
			return nil, false
		}
		i++
		skip()
	}
}

// jsonNumberLen is the length of the JSON number at the start of b
// (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?), or 0 if there is none.
func jsonNumberLen(b []byte) int {
	i := 0
	digits := func() int {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i - j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return 0
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return 0
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return 0
		}
	}
	return i
}

func checkFinite(v []float64) error {
	for i, f := range v {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("element %d is not a finite number", i)
		}
	}
	return nil
}

func trimSpaceBytes(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\n' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\n' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// checkText validates a free-text field: valid UTF-8, no control characters,
// at most max characters after trimming. It returns the trimmed value.
func checkText(s string, max int) (string, error) {
	if !utf8.ValidString(s) || strings.ContainsRune(s, utf8.RuneError) {
		return "", errors.New("is not valid UTF-8 text")
	}
	s = strings.TrimSpace(s)
	for _, r := range s {
		if unicode.IsControl(r) {
			return "", errors.New("must not contain control characters (such as tabs or line breaks)")
		}
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "", fmt.Errorf("is %d characters long; at most %d are allowed", n, max)
	}
	return s, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
