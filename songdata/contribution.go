package songdata

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	validation "github.com/pocketbase/ozzo-validation/v4"

	"songcommons/fingerprint"
	"songcommons/internal/parallel"
	"songcommons/vectors"
)

// Identity is what identifies the song of a contribution: the fields of
// IdentityPart, and the song key computed from artist and title.
type Identity struct {
	Artist   string  `db:"artist"`
	Title    string  `db:"title"`
	SongKey  string  `db:"song_key"`
	Album    string  `db:"album"`
	Duration float64 `db:"duration"` // seconds; 0 = unknown
	MBID     string  `db:"mbid"`
	ISRC     string  `db:"isrc"`
	Analyzer string  `db:"analyzer"`
	// TagsKey is the song key of artist and title when the contribution
	// joined another song by its audio fingerprint (SongKey is then that
	// song's); "" otherwise. Lookups by those tags find the song through it.
	TagsKey string `db:"tags_key"`
}

// Score is one validated, canonical analysis ("score" row).
type Score struct {
	Identity
	Tempo         float64 `db:"tempo"`
	Key           string  `db:"key"`
	Scale         string  `db:"scale"`
	MoodVector    string  `db:"mood_vector"`
	Energy        float64 `db:"energy"` // 0 = unknown
	OtherFeatures string  `db:"other_features"`
	Fingerprint   string  `db:"fingerprint"` // canonical compressed form; "" = none
}

// Embedding is one validated, canonical vector ("embedding" row). Vectors
// are float32, as every model produces them.
type Embedding struct {
	Identity
	Model  string `db:"model"`
	Vector []float32
}

// Contribution is one validated song of an upload: its analysis and/or
// its embeddings, and the sub-fingerprints of its audio fingerprint (nil
// without one), which decide the song it belongs to (contribute.Resolve).
type Contribution struct {
	Score       *Score
	Embeddings  []*Embedding
	Fingerprint []uint32
	// Song is, for a dump line only (import), the song the row was filed
	// under when that is not the song of its tags: it is filed there
	// again, whatever its tags and fingerprint would decide today.
	Song string
}

// Identity is the identity of the contribution's song (its score's, else
// its first embedding's); nil for an empty contribution.
func (c *Contribution) Identity() *Identity {
	if c.Score != nil {
		return &c.Score.Identity
	}
	if len(c.Embeddings) > 0 {
		return &c.Embeddings[0].Identity
	}
	return nil
}

// SetSongKey files every row of the contribution under key: its tags'
// own key is kept as TagsKey when it differs.
func (c *Contribution) SetSongKey(key string) {
	set := func(id *Identity) {
		tags := id.SongKey
		if id.TagsKey != "" {
			tags = id.TagsKey
		}
		id.SongKey, id.TagsKey = key, ""
		if tags != key {
			id.TagsKey = tags
		}
	}
	if c.Score != nil {
		set(&c.Score.Identity)
	}
	for _, e := range c.Embeddings {
		set(&e.Identity)
	}
}

// Ref points at the value of the named identity field: a *string, or a
// *float64 for a Number field; nil for any other name.
func (id *Identity) Ref(name string) any {
	switch name {
	case "artist":
		return &id.Artist
	case "title":
		return &id.Title
	case "album":
		return &id.Album
	case "duration":
		return &id.Duration
	case "mbid":
		return &id.MBID
	case "isrc":
		return &id.ISRC
	case "analyzer":
		return &id.Analyzer
	}
	return nil
}

// Ref points at the value of the named score field (ScoreFields): a
// *string, or a *float64 for a Number field; nil for any other name.
func (s *Score) Ref(name string) any {
	switch name {
	case "tempo":
		return &s.Tempo
	case "key":
		return &s.Key
	case "scale":
		return &s.Scale
	case "mood_vector":
		return &s.MoodVector
	case "energy":
		return &s.Energy
	case "other_features":
		return &s.OtherFeatures
	case "fingerprint":
		return &s.Fingerprint
	}
	return s.Identity.Ref(name)
}

// Values returns the column values of the score row: its ScoreFields and
// its song key.
func (s *Score) Values() map[string]any {
	m := make(map[string]any, len(scoreFields)+2)
	m["song_key"], m["tags_key"] = s.SongKey, s.TagsKey
	for _, f := range scoreFields {
		m[f.Name] = valueOf(s.Ref(f.Name))
	}
	return m
}

// Values returns the column values of the embedding row: its identity,
// its song key, its model and the vector as a JSON array of float32
// values in their shortest exact decimal form ("embedding", the API's
// field). The song's consensus vector per model is kept apart, as a
// float32 BLOB, in song_vectors.
func (e *Embedding) Values() map[string]any {
	m := make(map[string]any, len(identityFields)+4)
	m["song_key"], m["tags_key"] = e.SongKey, e.TagsKey
	for _, f := range identityFields {
		m[f.Name] = valueOf(e.Identity.Ref(f.Name))
	}
	m["model"] = e.Model
	m["embedding"] = json.RawMessage(VectorJSON(e.Vector))
	return m
}

// valueOf reads what a Ref points at.
func valueOf(ref any) any {
	switch p := ref.(type) {
	case *string:
		return *p
	case *float64:
		return *p
	}
	panic(fmt.Sprintf("songdata: no value behind %T", ref))
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
	CodePrint      = "validation_invalid_fingerprint"
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

// text reads a text field within its schema's limits: a required field
// empty after trimming is an error.
func (c *checker) text(f Field) string {
	field, max, required := f.Name, int(f.Max), f.Required
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
	id.Artist = c.text(field("artist"))
	id.Title = c.text(field("title"))
	id.Album = c.text(field("album"))
	id.Analyzer = c.text(field("analyzer"))

	if d, ok := c.number("duration"); ok && d != 0 {
		if !field("duration").InRange(d) {
			c.fail("duration", CodeOutOfRange, "duration must be a number of seconds between 0 and %g", MaxDuration)
		} else {
			id.Duration = d
		}
	}
	if m := strings.ToLower(c.text(field("mbid"))); m != "" {
		if !mbidPattern.MatchString(m) {
			c.fail("mbid", CodeInvalid, "mbid must be a MusicBrainz recording id (a UUID such as 5b11f4ce-a62d-471e-81fc-a69a8278c7da)")
		} else {
			id.MBID = m
		}
	}
	if s := c.text(field("isrc")); s != "" {
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

func (c *checker) labels(f Field) string {
	field := f.Name
	s := c.text(f)
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
	s, _, errs := CheckScoreWithPrint(in, prefix)
	return s, errs
}

// CheckScoreWithPrint is CheckScore, also returning the fingerprint's
// decoded items (nil without one), so that no caller decodes it again.
func CheckScoreWithPrint(in map[string]any, prefix string) (*Score, []uint32, validation.Errors) {
	c := &checker{in: in, prefix: prefix}
	s := &Score{Identity: c.identity()}

	if t, ok := c.number("tempo"); !ok && !c.hasErr("tempo") {
		c.fail("tempo", CodeRequired, "tempo is required: beats per minute, greater than 0 and at most %g", MaxTempo)
	} else if ok {
		if !field("tempo").InRange(t) {
			c.fail("tempo", CodeOutOfRange, "tempo must be greater than 0 and at most %g beats per minute", MaxTempo)
		}
		s.Tempo = t
	}

	if k := c.text(field("key")); k != "" {
		nk, err := NormalizeKey(k)
		if err != nil {
			c.fail("key", CodeKey, "%s", err.Error())
		}
		s.Key = nk
	}
	if sc := c.text(field("scale")); sc != "" {
		ns, err := NormalizeScale(sc)
		if err != nil {
			c.fail("scale", CodeScale, "%s", err.Error())
		}
		s.Scale = ns
	}

	// energy is optional: older AudioMuse-AI rows send null (stored as 0 = unknown)
	if e, ok := c.number("energy"); ok {
		if !field("energy").InRange(e) {
			c.fail("energy", CodeOutOfRange, "energy must be between 0 and %g", MaxEnergy)
		}
		s.Energy = e
	}

	s.MoodVector = c.labels(field("mood_vector"))
	s.OtherFeatures = c.labels(field("other_features"))
	items := c.fingerprint(s.Duration)
	if items != nil {
		s.Fingerprint = fingerprint.Encode(items, fingerprint.DefaultAlgorithm)
	}

	if len(c.errs) > 0 {
		return nil, nil, c.errs
	}
	return s, items, nil
}

// SongKeyField is the key a dump line carries, on a row filed under
// another song than its tags', with that song's key (dataset export):
// import files the row there again; the upload routes take the key and
// ignore it (a client does not pick songs).
const SongKeyField = "song_key"

// RawPrintField is the other form a fingerprint may come in: the
// integers fpcalc -raw prints. It is stored compressed, as "fingerprint".
const RawPrintField = "fingerprint_raw"

// fingerprint reads a song's fingerprint, given as "fingerprint" (fpcalc's
// compressed text) or "fingerprint_raw" (fpcalc -raw's integers), of a
// recording of the given duration; nil without one (or with errors).
func (c *checker) fingerprint(duration float64) []uint32 {
	f := field("fingerprint")
	text, raw := c.present(f.Name) && c.in[f.Name] != "", c.present(RawPrintField)
	var items []uint32
	switch {
	case text && raw:
		c.fail(RawPrintField, CodeInvalid, "give fingerprint or %s, not both", RawPrintField)
		return nil
	case text:
		s := c.text(f)
		if s == "" {
			return nil // errors are reported; blank is no fingerprint
		}
		var err error
		if items, err = fingerprint.DecodeDefault(s); err != nil {
			c.fail(f.Name, CodePrint, "%s", err.Error())
			return nil
		}
	case raw:
		list, ok := c.in[RawPrintField].([]any)
		if !ok {
			c.fail(RawPrintField, CodePrint, "%s must be an array of integers, as fpcalc -raw prints them", RawPrintField)
			return nil
		}
		if len(list) > MaxFingerprintItems {
			c.fail(RawPrintField, CodeTooLong, "%s has %d values, at most %d", RawPrintField, len(list), MaxFingerprintItems)
			return nil
		}
		nums := make([]float64, len(list))
		for i, v := range list {
			n, isNum := toFloat(v)
			if !isNum {
				c.fail(RawPrintField, CodePrint, "%s value %d is not a number", RawPrintField, i)
				return nil
			}
			nums[i] = n
		}
		var err error
		if items, err = fingerprint.FromRawFloat(nums); err != nil {
			c.fail(RawPrintField, CodePrint, "%s", err.Error())
			return nil
		}
	default:
		return nil
	}
	name := f.Name
	if raw {
		name = RawPrintField
	}
	switch secs := float64(len(items)) / fingerprint.ItemsPerSecond; {
	case len(items) == 0:
		c.fail(name, CodePrint, "%s is empty", name)
		return nil
	case len(items) > MaxFingerprintItems:
		c.fail(name, CodeTooLong, "%s has %d sub-fingerprints, at most %d (about 25 minutes)", name, len(items), MaxFingerprintItems)
		return nil
	case duration <= 0:
		if !c.hasErr("duration") {
			c.fail("duration", CodeRequired, "duration is required with a fingerprint: the recording's length in seconds, as fpcalc prints it (DURATION)")
		}
		return nil
	case secs > duration+3:
		c.fail(name, CodePrint, "%s covers %.0f s of audio, more than the duration of %g s", name, secs, duration)
		return nil
	}
	return items
}

// CheckFingerprint reads the fingerprint fields of in ("fingerprint" or
// "fingerprint_raw") alone, for a recording of the given duration (a song
// without analysis, whose embeddings take their identity from it; a
// lookup): nil without one. Field errors are keyed prefix+field.
func CheckFingerprint(in map[string]any, prefix string, duration float64) ([]uint32, validation.Errors) {
	c := &checker{in: in, prefix: prefix}
	items := c.fingerprint(duration)
	return items, c.errs
}

// CheckEmbedding validates one embedding contribution. A vector sent without
// a model takes DefaultModel when its length matches.
func CheckEmbedding(in map[string]any, prefix string) (*Embedding, validation.Errors) {
	c := &checker{in: in, prefix: prefix}
	e := &Embedding{Identity: c.identity()}

	modelName := c.text(field("model"))
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

// CheckSongs validates the songs of an upload (a /contribute body, an
// import batch), each a /contribute song: its identity fields, its
// analysis fields and/or "embeddings":{model:vector}, with the rules of
// every write path. Error keys are prefix+"N.field" (and
// prefix+"N.embeddings.MODEL" for vectors).
func CheckSongs(songs []map[string]any, prefix string) ([]Contribution, validation.Errors) {
	// songs are checked on all cores: their fingerprints take most of it
	out := make([]Contribution, len(songs))
	songErrs := make([]validation.Errors, len(songs))
	parallel.For(len(songs), 0, func(i int) {
		out[i], songErrs[i] = checkSong(songs[i], fmt.Sprintf("%s%d.", prefix, i))
	})
	errs := validation.Errors{}
	for _, e := range songErrs {
		for k, v := range e {
			errs[k] = v
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

// checkSong validates song s of an upload, its error keys starting with p.
func checkSong(s map[string]any, p string) (Contribution, validation.Errors) {
	errs := validation.Errors{}
	var out Contribution
	for k := range s {
		if !songKeys[k] {
			errs[p+k] = validation.NewError("validation_unknown_field",
				fmt.Sprintf("unknown field %q (expected %s, or embeddings)", k, songKeyList))
		}
	}
	hasScore := false
	for _, f := range analysisFields {
		if v, ok := s[f.Name]; ok && v != nil {
			hasScore = true
		}
	}
	var embs map[string]any
	if raw, ok := s["embeddings"]; ok && raw != nil {
		m, isMap := raw.(map[string]any)
		if !isMap {
			errs[p+"embeddings"] = validation.NewError("validation_invalid_type", `embeddings must be an object such as {"musicnn":[…200 numbers…]}`)
		} else {
			embs = m
		}
	}
	if !hasScore && len(embs) == 0 {
		if _, bad := errs[p+"embeddings"]; !bad {
			errs[p+"tempo"] = validation.NewError("validation_required", "each song needs its analysis (tempo, key, scale…) and/or embeddings")
		}
		return out, errs
	}
	if hasScore {
		sc, items, e := CheckScoreWithPrint(s, p)
		for k, v := range e {
			errs[k] = v
		}
		out.Score = sc
		if sc != nil && sc.Fingerprint != "" {
			out.Fingerprint = items
		}
	}
	models := make([]string, 0, len(embs))
	for m := range embs {
		models = append(models, m)
	}
	sort.Strings(models)
	for _, m := range models {
		in := map[string]any{"model": m, "embedding": embs[m]}
		for _, f := range identityFields {
			if v, ok := s[f.Name]; ok {
				in[f.Name] = v
			}
		}
		emb, e := CheckEmbedding(in, p)
		for k, v := range e {
			switch strings.TrimPrefix(k, p) {
			case "embedding", "model":
				errs[p+"embeddings."+m] = v
			default:
				if !hasScore { // identity errors are reported once
					errs[k] = v
				}
			}
		}
		if emb != nil {
			out.Embeddings = append(out.Embeddings, emb)
		}
	}
	if !hasScore && len(out.Embeddings) > 0 {
		// a song of embeddings only: its fingerprint decides its
		// identity, and is not stored (score rows hold fingerprints)
		items, e := CheckFingerprint(s, p, out.Embeddings[0].Duration)
		for k, v := range e {
			errs[k] = v
		}
		out.Fingerprint = items
	}
	if len(errs) == 0 {
		errs = nil
	}
	return out, errs
}

// songKeys are the keys of a /contribute song: the identity and analysis
// fields, and "embeddings"; songKeyList names the fields.
var songKeys, songKeyList = func() (map[string]bool, string) {
	// SongKeyField is taken and ignored (import reads it before)
	keys := map[string]bool{"embeddings": true, RawPrintField: true, SongKeyField: true}
	names := append(append(Names(identityFields), Names(analysisFields)...), Names(audioFields)...)
	names = append(names, RawPrintField)
	for _, n := range names {
		keys[n] = true
	}
	return keys, strings.Join(names, ", ")
}()
