package migrations_test

import (
	"testing"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/internal/testsupport"
	_ "songcommons/migrations"
	"songcommons/songdata"
)

// The score and embedding collections hold every contributed field of
// songdata's schema, each with a column type that fits its kind and room
// for its longest canonical value.
func TestCollectionsHoldTheSchema(t *testing.T) {
	t.Parallel()
	app := testsupport.OpenDataDir(t, t.TempDir())
	defer app.ResetBootstrapState()
	for coll, fields := range map[string][]songdata.Field{
		songdata.ScoreCollection:     songdata.ScoreFields(),
		songdata.EmbeddingCollection: songdata.EmbeddingFields(),
	} {
		c, err := app.FindCollectionByNameOrId(coll)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fields {
			switch cf := c.Fields.GetByName(f.Name).(type) {
			case *core.NumberField:
				if f.Kind != songdata.Number {
					t.Errorf("%s.%s: a number column for a %s field", coll, f.Name, f.Kind)
				}
				if cf.Max != nil && *cf.Max < f.Max {
					t.Errorf("%s.%s: the column's maximum %g is below the schema's %g", coll, f.Name, *cf.Max, f.Max)
				}
			case *core.TextField:
				if f.Kind == songdata.Number || f.Kind == songdata.Vector {
					t.Errorf("%s.%s: a text column for a %s field", coll, f.Name, f.Kind)
				}
			case *core.JSONField:
				if f.Kind != songdata.Vector {
					t.Errorf("%s.%s: a JSON column for a %s field", coll, f.Name, f.Kind)
				}
			case nil:
				t.Errorf("%s has no field %s", coll, f.Name)
			default:
				t.Errorf("%s.%s is a %T", coll, f.Name, cf)
			}
		}
	}
}
