package songdata

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// dbColumns are the db tags of a row type, embedded structs included.
func dbColumns(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			out = append(out, dbColumns(f.Type)...)
			continue
		}
		if tag := f.Tag.Get("db"); tag != "" {
			out = append(out, tag)
		}
	}
	return out
}

// The row types hold exactly the schema's fields (and the key columns), and
// Ref reaches each of them with the Go type of its kind.
func TestRowTypesFollowTheSchema(t *testing.T) {
	t.Parallel()
	want := append(KeyColumns(), Names(ScoreFields())...)
	if got := dbColumns(reflect.TypeFor[Score]()); !sameSet(got, want) {
		t.Errorf("Score columns %v, schema %v", got, want)
	}
	want = append(KeyColumns(), Names(IdentityFields())...)
	want = append(want, "model") // the vector is not a column of its own type
	if got := dbColumns(reflect.TypeFor[Embedding]()); !sameSet(got, want) {
		t.Errorf("Embedding columns %v, schema %v", got, want)
	}
	var s Score
	for _, f := range ScoreFields() {
		ref := s.Ref(f.Name)
		switch ref.(type) {
		case *float64:
			if f.Kind != Number {
				t.Errorf("%s: a number in Score, kind %s in the schema", f.Name, f.Kind)
			}
		case *string:
			if f.Kind == Number {
				t.Errorf("%s: text in Score, a number in the schema", f.Name)
			}
		default:
			t.Errorf("%s: Score.Ref gives %T", f.Name, ref)
		}
	}
	if got := keys(s.Values()); !sameSet(got, append(KeyColumns(), Names(ScoreFields())...)) {
		t.Errorf("Score.Values keys %v", got)
	}
	e := Embedding{Vector: []float32{1}}
	if got := keys(e.Values()); !sameSet(got, append(KeyColumns(), Names(EmbeddingFields())...)) {
		t.Errorf("Embedding.Values keys %v", got)
	}
	if got := append(append(Names(IdentityFields()), Names(AnalysisFields())...), "fingerprint"); !sameSet(got, Names(ScoreFields())) {
		t.Errorf("identity, analysis and fingerprint %v are not the score fields", got)
	}
}

// The validator enforces each field's limits as the schema states them.
func TestValidatorFollowsTheSchema(t *testing.T) {
	t.Parallel()
	base := func(part Part) map[string]any {
		if part == VectorPart {
			v := make([]any, 200)
			for i := range v {
				v[i] = 0.5
			}
			return map[string]any{"artist": "A", "title": "T", "model": "musicnn", "embedding": v}
		}
		return map[string]any{"artist": "A", "title": "T", "tempo": 120.0, "key": "C", "scale": "major"}
	}
	check := func(f Field, in map[string]any) (string, bool) {
		var errs map[string]error
		if f.Part == VectorPart {
			_, e := CheckEmbedding(in, "")
			errs = e
		} else {
			_, e := CheckScore(in, "")
			errs = e
		}
		err, bad := errs[f.Name]
		if bad {
			return err.Error(), false
		}
		if len(errs) > 0 {
			return fmt.Sprint(errs), false
		}
		return "", true
	}
	for _, f := range Fields() {
		part := f.Part
		if part == IdentityPart {
			part = AnalysisPart // checked on a score row; embeddings share the code
		}
		with := func(v any) map[string]any {
			in := base(part)
			if v == nil {
				delete(in, f.Name)
			} else {
				in[f.Name] = v
			}
			return in
		}
		t.Run(f.Name, func(t *testing.T) {
			if _, ok := check(f, with(nil)); ok == f.Required {
				t.Errorf("missing: accepted %v, but required is %v", ok, f.Required)
			}
			switch f.Kind {
			case Text:
				long := strings.Repeat("é", int(f.Max))
				if msg, ok := check(f, with(long)); !ok {
					t.Errorf("%d characters refused: %s", int(f.Max), msg)
				}
				if _, ok := check(f, with(long+"x")); ok {
					t.Errorf("%d characters accepted", int(f.Max)+1)
				}
			case Number:
				if msg, ok := check(f, with(f.Max)); !ok {
					t.Errorf("the maximum %g refused: %s", f.Max, msg)
				}
				if _, ok := check(f, with(f.Max*1.0001)); ok {
					t.Errorf("above the maximum accepted")
				}
				if _, ok := check(f, with(f.Min-0.001)); ok {
					t.Errorf("below the minimum %g accepted", f.Min)
				}
				if f.MinExclusive {
					if _, ok := check(f, with(f.Min)); ok {
						t.Errorf("the exclusive minimum %g accepted", f.Min)
					}
				}
			case PitchKey, ScaleName, MBIDText, ISRCText, ModelName, Labels:
				if _, ok := check(f, with(strings.Repeat("x", int(f.Max)+1))); ok {
					t.Errorf("%d characters accepted", int(f.Max)+1)
				}
			}
		})
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
