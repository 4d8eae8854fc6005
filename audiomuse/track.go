package audiomuse

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"songcommons/songdata"
)

// analyzer names the source of the analysis on every contributed song.
const analyzer = "audiomuse-ai"

// AudioMuse-AI's embeddings and the songcommons models they are sent as.
var embeddingModels = []struct {
	field, model string
	get          func(*Track) *string
}{
	{"embedding", "musicnn", func(t *Track) *string { return t.Embedding }},
	{"clap_embedding", "clap", func(t *Track) *string { return t.ClapEmbedding }},
}

// Song is what the bridge sends of a track: a /contribute song. Its
// fields are the analysis only; the privacy test asserts that nothing
// else of a track reaches the server.
type Song struct {
	Artist        string               `json:"artist"`
	Title         string               `json:"title"`
	Album         string               `json:"album,omitempty"`
	Tempo         *float64             `json:"tempo,omitempty"`
	Key           string               `json:"key,omitempty"`
	Scale         string               `json:"scale,omitempty"`
	MoodVector    string               `json:"mood_vector,omitempty"`
	Energy        *float64             `json:"energy,omitempty"`
	OtherFeatures string               `json:"other_features,omitempty"`
	Analyzer      string               `json:"analyzer"`
	Embeddings    map[string][]float32 `json:"embeddings,omitempty"`
}

// SongOf maps a track to the song the bridge sends, or says why it
// cannot be sent (the server checks the rest of each field).
func SongOf(t *Track) (Song, error) {
	s := Song{Artist: strings.TrimSpace(t.Artist), Title: strings.TrimSpace(t.Title), Album: strings.TrimSpace(t.Album),
		Tempo: t.Tempo, Key: t.Key, Scale: t.Scale, MoodVector: t.MoodVector, Energy: t.Energy,
		OtherFeatures: t.OtherFeatures, Analyzer: analyzer}
	if s.Artist == "" || s.Title == "" {
		return Song{}, fmt.Errorf("no artist or title: songcommons identifies a song by them")
	}
	for _, e := range embeddingModels {
		b64 := e.get(t)
		if b64 == nil || *b64 == "" {
			continue // CLAP is off on many installs
		}
		m, _ := songdata.LookupModel(e.model)
		v, err := DecodeFloat32s(*b64)
		if err != nil {
			return Song{}, fmt.Errorf("%s: %w", e.field, err)
		}
		if len(v) != m.Dim {
			return Song{}, fmt.Errorf("%s: %d values, %s vectors have %d", e.field, len(v), e.model, m.Dim)
		}
		if s.Embeddings == nil {
			s.Embeddings = map[string][]float32{}
		}
		s.Embeddings[e.model] = v
	}
	if s.Tempo == nil && s.Key == "" && s.MoodVector == "" && len(s.Embeddings) == 0 {
		return Song{}, fmt.Errorf("no analysis: neither tempo, key, moods nor an embedding")
	}
	return s, nil
}

// DecodeFloat32s decodes base64 of raw little-endian float32 bytes (how
// AudioMuse-AI exports its embeddings: numpy's tobytes()).
func DecodeFloat32s(b64 string) ([]float32, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	if len(raw)%4 != 0 {
		return nil, fmt.Errorf("%d bytes is not a whole number of float32 values", len(raw))
	}
	v := make([]float32, len(raw)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		if f := float64(v[i]); math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("value %d is not a finite number", i)
		}
	}
	return v, nil
}

// EncodeFloat32s is DecodeFloat32s' inverse (tests and fakes).
func EncodeFloat32s(v []float32) string {
	raw := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
	}
	return base64.StdEncoding.EncodeToString(raw)
}
