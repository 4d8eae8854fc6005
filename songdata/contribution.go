package songdata

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	validation "github.com/pocketbase/ozzo-validation/v4"

	"songcommons/vectors"
)

// Identity is what identifies the song of a contribution.
type Identity struct {
	Artist   string
	Title    string
	SongKey  string
	Album    string
	Duration float64 // seconds; 0 = unknown
	MBID     string
	ISRC     string
	Analyzer string
}

// Score is one validated, canonical analysis ("score" row).
type Score struct {
	Identity
	Tempo         float64
	Key           string
	Scale         string
	MoodVector    string
	Energy        float64
	OtherFeatures string
}

// Embedding is one validated, canonical vector ("embedding" row). Vectors
// are float32, as every model produces them.
type Embedding struct {
	Identity
	Model  string
	Vector []float32
}

// Values returns the column values of the score row.
func (s *Score) Values() map[string]any {
	m := s.Identity.values()
	m["tempo"] = s.Tempo
	m["key"] = s.Key
	m["scale"] = s.Scale
	m["mood_vector"] = s.MoodVector
	m["energy"] = s.Energy
	m["other_features"] = s.OtherFeatures
	return m
}

// Values returns the column values of the embedding row: the vector as a
// JSON array of float32 values in their shortest exact decimal form
// ("embedding", the API's field). The song's consensus vector per model is
// kept apart, as a float32 BLOB, in song_vectors (hooks/songs.go).
func (e *Embedding) Values() map[string]any {
	m := e.Identity.values()
	m["model"] = e.Model
	m["embedding"] = json.RawMessage(VectorJSON(e.Vector))
	return m
}

// VectorJSON writes a float32 vector as a JSON array, each value in the
// shortest decimal form that reads back as the same float32.
func VectorJSON(v []float32) []byte {
	b := make([]byte, 0, len(v)*12+2)
	b = append(b, '[')
	for i, f := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendFloat(b, float64(f), 'g', -1, 32)
	}
	return append(b, ']')
}

// EncodeVec is the stored form of the hidden "vec" column.
func EncodeVec(v []float32) string {
	return base64.StdEncoding.EncodeToString(vectors.EncodeBlob(v))
}

// DecodeVec reads the hidden "vec" column into dst (reused when large enough).
func DecodeVec(s string, dst []float32) ([]float32, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	return vectors.DecodeBlob(raw, dst)
}

func (id *Identity) values() map[string]any {
	return map[string]any{
		"artist":   id.Artist,
		"title":    id.Title,
		"song_key": id.SongKey,
		"album":    id.Album,
		"duration": id.Duration,
		"mbid":     id.MBID,
		"isrc":     id.ISRC,
		"analyzer": id.Analyzer,
	}
}

// Error codes used in field errors.
const (
	CodeRequired   = "validation_required"
	CodeTooLong    = "validation_too_long"
	CodeInvalid    = "validation_invalid_value"
	CodeOutOfRange = "validation_out_of_range"
	CodeNotNumber  = "validation_not_a_number"
	CodeNotString  = "validation_not_a_string"
	CodeKey        = "validation_invalid_key"
	CodeScale      = "validation_invalid_scale"
	CodeLabels     = "validation_invalid_labels"
	CodeVector     = "validation_invalid_embedding"
	CodeModel      = "validation_unknown_model"
	CodeDimension  = "validation_wrong_dimension"
)

var (
	mbidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	isrcPattern = regexp.MustCompile(`^[A-Z]{2}[A-Z0-9]{3}[0-9]{7}$`)
)

// checker accumulates field errors under a prefix ("songs.3.").
type checker struct {
	in     map[string]any
	prefix string
	errs   validation.Errors
}

func (c *checker) fail(field, code, format string, args ...any) {
	if c.errs == nil {
		c.errs = validation.Errors{}
	}
	key := c.prefix + field
	if _, dup := c.errs[key]; dup {
		return
	}
	c.errs[key] = validation.NewError(code, fmt.Sprintf(format, args...))
}

func (c *checker) present(field string) bool {
	v, ok := c.in[field]
	return ok && v != nil
}

// text reads a text field. required: empty after trimming is an error.
func (c *checker) text(field string, max int, required bool) string {
	v, ok := c.in[field]
	if !ok || v == nil {
		if required {
			c.fail(field, CodeRequired, "%s is required", field)
		}
		return ""
	}
	s, isStr := v.(string)
	if !isStr {
		c.fail(field, CodeNotString, "%s must be a string", field)
		return ""
	}
	s, err := checkText(s, max)
	if err != nil {
		code := CodeInvalid
		if strings.Contains(err.Error(), "at most") {
			code = CodeTooLong
		}
		c.fail(field, code, "%s %s", field, err.Error())
		return ""
	}
	if required && s == "" {
		c.fail(field, CodeRequired, "%s is required and must not be blank", field)
	}
	return s
}

// number reads a numeric field; absent or null gives (0, false).
func (c *checker) number(field string) (float64, bool) {
	v, ok := c.in[field]
	if !ok || v == nil {
		return 0, false
	}
	f, isNum := toFloat(v)
	if !isNum {
		c.fail(field, CodeNotNumber, "%s must be a number", field)
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		c.fail(field, CodeNotNumber, "%s must be a finite number", field)
		return 0, false
	}
	return f, true
}

func (c *checker) identity() Identity {
	var id Identity
	id.Artist = c.text("artist", MaxTextLen, true)
	id.Title = c.text("title", MaxTextLen, true)
	id.Album = c.text("album", MaxTextLen, false)
	id.Analyzer = c.text("analyzer", MaxAnalyzerLen, false)

	if d, ok := c.number("duration"); ok && d != 0 {
		if d < 0 || d > MaxDuration {
			c.fail("duration", CodeOutOfRange, "duration must be a number of seconds between 0 and %g", MaxDuration)
		} else {
			id.Duration = d
		}
	}
	if m := strings.ToLower(c.text("mbid", 64, false)); m != "" {
		if !mbidPattern.MatchString(m) {
			c.fail("mbid", CodeInvalid, "mbid must be a MusicBrainz recording id (a UUID such as 5b11f4ce-a62d-471e-81fc-a69a8278c7da)")
		} else {
			id.MBID = m
		}
	}
	if s := c.text("isrc", 32, false); s != "" {
		s = strings.ToUpper(strings.NewReplacer("-", "", " ", "").Replace(s))
		if !isrcPattern.MatchString(s) {
			c.fail("isrc", CodeInvalid, "isrc must be an ISRC of 12 characters such as USRC17607839")
		} else {
			id.ISRC = s
		}
	}
	if id.Artist != "" && id.Title != "" {
		id.SongKey = SongKey(id.Artist, id.Title)
	}
	return id
}

func (c *checker) labels(field string) string {
	s := c.text(field, 64*(MaxLabelLen+24), false)
	if s == "" {
		return ""
	}
	ls, err := ParseLabels(s)
	if err != nil {
		c.fail(field, CodeLabels, "%s %s (expected \"label:score,…\", e.g. \"rock:0.51,pop:0.3\")", field, err.Error())
		return ""
	}
	return FormatLabels(ls)
}

// CheckScore validates one score contribution given as loosely typed values
// (decoded JSON or a record's fields). Field errors are keyed prefix+field.
// Unknown keys are ignored here; routes that want them rejected check first.
func CheckScore(in map[string]any, prefix string) (*Score, validation.Errors) {
	c := &checker{in: in, prefix: prefix}
	s := &Score{Identity: c.identity()}

	if t, ok := c.number("tempo"); !ok && !c.hasErr("tempo") {
		c.fail("tempo", CodeRequired, "tempo is required: beats per minute, greater than 0 and at most %g", MaxTempo)
	} else if ok {
		if t <= 0 || t > MaxTempo {
			c.fail("tempo", CodeOutOfRange, "tempo must be greater than 0 and at most %g beats per minute", MaxTempo)
		}
		s.Tempo = t
	}

	if k := c.text("key", 16, true); k != "" {
		nk, err := NormalizeKey(k)
		if err != nil {
			c.fail("key", CodeKey, "%s", err.Error())
		}
		s.Key = nk
	}
	if sc := c.text("scale", 16, true); sc != "" {
		ns, err := NormalizeScale(sc)
		if err != nil {
			c.fail("scale", CodeScale, "%s", err.Error())
		}
		s.Scale = ns
	}

	// energy is optional: older AudioMuse-AI rows send null (stored as 0 = unknown)
	if e, ok := c.number("energy"); ok {
		if e < 0 || e > MaxEnergy {
			c.fail("energy", CodeOutOfRange, "energy must be between 0 and %g", MaxEnergy)
		}
		s.Energy = e
	}

	s.MoodVector = c.labels("mood_vector")
	s.OtherFeatures = c.labels("other_features")

	if len(c.errs) > 0 {
		return nil, c.errs
	}
	return s, nil
}

// CheckEmbedding validates one embedding contribution. A vector sent without
// a model takes DefaultModel when its length matches.
func CheckEmbedding(in map[string]any, prefix string) (*Embedding, validation.Errors) {
	c := &checker{in: in, prefix: prefix}
	e := &Embedding{Identity: c.identity()}

	modelName := c.text("model", 64, false)
	vec, err := ParseVector(in["embedding"])
	if err == nil && len(vec) == 0 {
		vec, err = nil, fmt.Errorf("embedding is required")
	}
	if err != nil {
		if !c.present("embedding") || strings.Contains(err.Error(), "required") {
			c.fail("embedding", CodeRequired, "embedding is required: an array of %s floats", describeModels())
		} else {
			c.fail("embedding", CodeVector, "embedding %s", err.Error())
		}
	}

	var model Model
	switch {
	case modelName != "":
		m, ok := LookupModel(modelName)
		if !ok {
			c.fail("model", CodeModel, "unknown model %q: known models are %s", modelName, describeModels())
		}
		model = m
	case vec != nil:
		def, _ := LookupModel(DefaultModel)
		if len(vec) == def.Dim {
			model = def
		} else if knownDim(len(vec)) {
			c.fail("model", CodeRequired, "model is required for a %d-dimensional vector: known models are %s", len(vec), describeModels())
		} else {
			c.fail("embedding", CodeDimension, "embedding has %d values, which fits no known model: %s", len(vec), describeModels())
		}
	}

	if vec != nil && model.Name != "" {
		if len(vec) != model.Dim {
			c.fail("embedding", CodeDimension, "embedding has %d values but model %s needs %d", len(vec), model.Name, model.Dim)
		} else {
			zero := true
			for _, f := range vec {
				if float32(f) != 0 {
					zero = false
					break
				}
			}
			if zero {
				c.fail("embedding", CodeVector, "embedding must not be all zeros")
			}
		}
	}
	e.Model = model.Name
	if vec != nil {
		e.Vector = make([]float32, len(vec))
		for i, f := range vec {
			e.Vector[i] = float32(f)
			if f != 0 && (math.IsInf(float64(e.Vector[i]), 0)) {
				c.fail("embedding", CodeVector, "embedding element %d is out of the float32 range", i)
				break
			}
		}
	}

	if len(c.errs) > 0 {
		return nil, c.errs
	}
	return e, nil
}

func (c *checker) hasErr(field string) bool {
	_, ok := c.errs[c.prefix+field]
	return ok
}

func knownDim(n int) bool {
	for _, m := range models {
		if m.Dim == n {
			return true
		}
	}
	return false
}
