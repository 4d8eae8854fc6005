// Package songdata holds the rules for contributed song analysis: the known
// embedding models, the song key normaliser, and the validation and
// canonicalisation of every contributed field. It is shared by every write
// path (PocketBase's record API and /api/batch, the service routes and the
// import command) so that the same input is accepted or rejected everywhere.
package songdata

import (
	"sort"
	"strconv"
	"strings"
)

// Model is an embedding model whose vectors the service accepts.
type Model struct {
	Name string `json:"name"`
	Dim  int    `json:"dim"`
}

// models is the one place where the known models and their dimensions live.
var models = []Model{
	{Name: "musicnn", Dim: 200},
	{Name: "clap", Dim: 512},
}

// DefaultModel is the model assumed for a vector sent without a model name,
// when its length matches (the legacy AudioMuse-AI client sends 200-d musicnn
// vectors and no model).
const DefaultModel = "musicnn"

// Models returns the known models, sorted by name.
func Models() []Model {
	out := append([]Model(nil), models...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ModelNames returns the known model names, sorted.
func ModelNames() []string {
	ms := Models()
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.Name
	}
	return names
}

// LookupModel finds a model by name (case-insensitive).
func LookupModel(name string) (Model, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	for _, m := range models {
		if m.Name == name {
			return m, true
		}
	}
	return Model{}, false
}

// describeModels is used in error messages: "clap (512), musicnn (200)".
func describeModels() string {
	parts := make([]string, 0, len(models))
	for _, m := range Models() {
		parts = append(parts, m.Name+" ("+strconv.Itoa(m.Dim)+")")
	}
	return strings.Join(parts, ", ")
}
