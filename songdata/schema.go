package songdata

import "strings"

// The contributed fields, described once. A field's name is its column in
// the score or embedding collection, its key in the record API, in a
// /api/songcommons/contribute song and in a dump line, and its CSV column.
// The validator (CheckScore, CheckEmbedding, CheckSongs) reads each
// field's limits from here; the SQL column lists, the dump and CSV
// formats (dataset/), the OpenAPI document and the web UI's field list
// are derived from this list or checked against it by tests.

// Kind is what a contributed field holds: how it is read and checked.
type Kind string

// The kinds of contributed fields.
const (
	Text       Kind = "text"        // trimmed UTF-8 text without control characters
	Number     Kind = "number"      // a finite number
	PitchKey   Kind = "key"         // a pitch class
	ScaleName  Kind = "scale"       // major or minor
	Labels     Kind = "labels"      // "label:score,…"
	MBIDText   Kind = "mbid"        // a MusicBrainz recording id
	ISRCText   Kind = "isrc"        // an International Standard Recording Code
	ModelName  Kind = "model"       // the name of a known embedding model
	Vector     Kind = "vector"      // an embedding: a JSON array of numbers
	AudioPrint Kind = "fingerprint" // a Chromaprint fingerprint as fpcalc prints it
)

// Part says which rows hold a field.
type Part string

// The parts of a contribution.
const (
	// IdentityPart fields identify the song; score and embedding rows both
	// hold them.
	IdentityPart Part = "identity"
	// AnalysisPart fields are a score row's analysis.
	AnalysisPart Part = "analysis"
	// VectorPart fields are an embedding row's vector.
	VectorPart Part = "vector"
	// AudioPart fields describe the recording's audio; score rows hold
	// them, and they decide the identity of the whole contribution
	// (contribute.Resolve).
	AudioPart Part = "audio"
)

// Field describes one contributed field.
type Field struct {
	Name     string
	Kind     Kind
	Part     Part
	Required bool
	// Max is, for text, the most characters after trimming; for a number,
	// its largest value. 0: no bound of its own (vectors: the model's
	// length; labels: MaxLabels entries).
	Max float64
	// Min is a number's smallest value; MinExclusive excludes it.
	Min          float64
	MinExclusive bool
	// Canonical says how the value is stored, whatever form it came in.
	Canonical string
	// Doc says what the field holds, for people (API documentation).
	Doc string
}

// labelsMaxLen bounds the text of a labels field before it is parsed:
// MaxLabels entries of a label and a score each.
const labelsMaxLen = MaxLabels * (MaxLabelLen + 24)

// fields are the contributed fields in dump order: a score row's fields in
// this order are a dump line and the CSV columns; an embedding row's
// identity fields come in this order too, followed by its vector.
var fields = []Field{
	{Name: "artist", Kind: Text, Part: IdentityPart, Required: true, Max: MaxTextLen,
		Canonical: "trimmed", Doc: "the recording's artist"},
	{Name: "title", Kind: Text, Part: IdentityPart, Required: true, Max: MaxTextLen,
		Canonical: "trimmed", Doc: "the recording's title"},
	{Name: "tempo", Kind: Number, Part: AnalysisPart, Required: true, Min: 0, MinExclusive: true, Max: MaxTempo,
		Canonical: "as sent", Doc: "tempo in beats per minute"},
	{Name: "key", Kind: PitchKey, Part: AnalysisPart, Required: true, Max: 16,
		Canonical: "one of C, C#, D, D#, E, F, F#, G, G#, A, A#, B (flats such as Db are stored as sharps)",
		Doc:       "the musical key"},
	{Name: "scale", Kind: ScaleName, Part: AnalysisPart, Required: true, Max: 16,
		Canonical: "major or minor, lower case", Doc: "the scale of the key"},
	{Name: "mood_vector", Kind: Labels, Part: AnalysisPart, Max: labelsMaxLen,
		Canonical: "label:score pairs, score descending then label; known labels spelled as AudioMuse-AI spells them",
		Doc:       `moods with scores from 0 to 1, such as "rock:0.512,pop:0.301"`},
	{Name: "energy", Kind: Number, Part: AnalysisPart, Min: 0, Max: MaxEnergy,
		Canonical: "as sent; 0 = unknown", Doc: "energy"},
	{Name: "other_features", Kind: Labels, Part: AnalysisPart, Max: labelsMaxLen,
		Canonical: "label:score pairs, as mood_vector",
		Doc:       `other features with scores from 0 to 1, such as "danceable:0.71,aggressive:0.02"`},
	{Name: "album", Kind: Text, Part: IdentityPart, Max: MaxTextLen,
		Canonical: "trimmed", Doc: "the album"},
	{Name: "duration", Kind: Number, Part: IdentityPart, Min: 0, Max: MaxDuration,
		Canonical: "seconds; 0 = unknown", Doc: "the recording's length in seconds"},
	{Name: "mbid", Kind: MBIDText, Part: IdentityPart, Max: 64,
		Canonical: "lower case", Doc: "the MusicBrainz recording id (a UUID)"},
	{Name: "isrc", Kind: ISRCText, Part: IdentityPart, Max: 32,
		Canonical: "upper case, without dashes or spaces", Doc: "the ISRC (12 characters)"},
	{Name: "analyzer", Kind: Text, Part: IdentityPart, Max: MaxAnalyzerLen,
		Canonical: "trimmed", Doc: "name/version of the tool that made the analysis"},
	{Name: "fingerprint", Kind: AudioPrint, Part: AudioPart, Max: MaxFingerprintLen,
		Canonical: "the compressed form fpcalc prints (URL-safe base64 of Chromaprint's default algorithm); fingerprint_raw, the integers of fpcalc -raw, is taken instead and stored compressed; needs duration",
		Doc:       "the Chromaprint fingerprint of the audio (fpcalc's FINGERPRINT), which identifies the recording whatever its tags"},
	{Name: "model", Kind: ModelName, Part: VectorPart, Max: 64,
		Canonical: "the model's name, lower case; a vector of the default model's length sent without one is that model's",
		Doc:       "the embedding model"},
	{Name: "embedding", Kind: Vector, Part: VectorPart, Required: true,
		Canonical: "a JSON array of float32 values in their shortest exact form (a JSON string holding the array is accepted)",
		Doc:       "the embedding vector, of the model's length, finite and not all zeros"},
}

// Fields returns every contributed field, in dump order.
func Fields() []Field { return append([]Field(nil), fields...) }

// FieldByName returns the contributed field with that name.
func FieldByName(name string) (Field, bool) {
	for _, f := range fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// field returns the named field; the name is one of this package's own.
func field(name string) Field {
	f, ok := FieldByName(name)
	if !ok {
		panic("songdata: no contributed field " + name)
	}
	return f
}

var (
	scoreFields     = partFields(IdentityPart, AnalysisPart, AudioPart)
	embeddingFields = partFields(IdentityPart, VectorPart)
	identityFields  = partFields(IdentityPart)
	analysisFields  = partFields(AnalysisPart)
	audioFields     = partFields(AudioPart)
)

// AudioFields are the fields that describe the recording's audio (the
// fingerprint), in dump order.
func AudioFields() []Field { return append([]Field(nil), audioFields...) }

// ScoreFields are the fields of a score row, in dump order: its identity,
// its analysis and its audio fingerprint.
func ScoreFields() []Field { return append([]Field(nil), scoreFields...) }

// EmbeddingFields are the fields of an embedding row: its identity, then
// the model and the vector.
func EmbeddingFields() []Field { return append([]Field(nil), embeddingFields...) }

// IdentityFields are the fields both rows hold, in dump order.
func IdentityFields() []Field { return append([]Field(nil), identityFields...) }

// AnalysisFields are a score row's analysis, in dump order.
func AnalysisFields() []Field { return append([]Field(nil), analysisFields...) }

// InRange reports whether v is within a Number field's bounds.
func (f Field) InRange(v float64) bool {
	if v < f.Min || f.MinExclusive && v == f.Min {
		return false
	}
	return f.Max == 0 || v <= f.Max
}

func partFields(parts ...Part) []Field {
	var out []Field
	for _, f := range fields {
		for _, p := range parts {
			if f.Part == p {
				out = append(out, f)
			}
		}
	}
	return out
}

// Names returns the names of fs, in order.
func Names(fs []Field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

// The collections that hold contributed rows.
const (
	ScoreCollection     = "score"
	EmbeddingCollection = "embedding"
)

// Collections are the collections that hold contributed rows.
func Collections() []string { return []string{ScoreCollection, EmbeddingCollection} }

// KeyColumns are the columns of score and embedding rows that the write
// path derives instead of taking them from the client: the song key the
// row is filed under, and the key of its own tags when it joined another
// song by its fingerprint (Identity.TagsKey).
func KeyColumns() []string { return []string{"song_key", "tags_key"} }

// Columns are the column names of fs, comma-separated, for SQL.
func Columns(fs []Field) string { return strings.Join(Names(fs), ", ") }
