package migrations

import (
	"strings"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"

	"songcommons/songdata"
)

// Labels used to be stored lower-cased. Rows stored then get the spelling
// of the known label lists back ("hip-hop" → "Hip-Hop", songdata.
// CanonicalLabel), so that AudioMuse-AI's client, which reads moods by
// label, finds them: in score (contributor rows, label:score as parsed)
// and songs (the consensus, three decimals). Only rows that name a known
// label with capitals are read (LIKE ignores ASCII case); their rows stay
// where they are. Unknown labels were lower-cased for good: they stay so.
func init() {
	m.Register(func(app core.App) error {
		var like []string
		for _, list := range [][]string{songdata.AudioMuseMoodLabels, songdata.AudioMuseOtherFeatureLabels} {
			for _, l := range list {
				if l != strings.ToLower(l) {
					like = append(like, l)
				}
			}
		}
		for _, t := range []struct {
			table  string
			format func([]songdata.Label) string
		}{{"score", songdata.FormatLabels}, {"songs", songdata.FormatLabels3}} {
			if err := respellLabels(app, t.table, like, t.format); err != nil {
				return err
			}
		}
		return nil
	}, nil)
}

type labelRow struct {
	Rowid         int64  `db:"rowid"`
	ID            string `db:"id"`
	MoodVector    string `db:"mood_vector"`
	OtherFeatures string `db:"other_features"`
}

func respellLabels(app core.App, table string, labels []string, format func([]songdata.Label) string) error {
	var conds []dbx.Expression
	for _, col := range []string{"mood_vector", "other_features"} {
		for _, l := range labels {
			conds = append(conds, dbx.Like(col, l))
		}
	}
	var rows []labelRow
	for last := int64(-1 << 63); ; last = rows[len(rows)-1].Rowid {
		rows = rows[:0]
		q := app.DB().Select("rowid", "id", "mood_vector", "other_features").From(table).
			Where(dbx.And(dbx.NewExp("rowid > {:last}", dbx.Params{"last": last}), dbx.Or(conds...))).OrderBy("rowid").Limit(5000)
		if err := q.All(&rows); err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		if err := respellRows(app, table, rows, format); err != nil {
			return err
		}
	}
}

func respellRows(app core.App, table string, rows []labelRow, format func([]songdata.Label) string) error {
	for _, r := range rows {
		set := dbx.Params{}
		for col, v := range map[string]string{"mood_vector": r.MoodVector, "other_features": r.OtherFeatures} {
			ls, err := songdata.ParseLabels(v)
			if err != nil {
				continue // not written by the service (edited by hand): left as it is
			}
			if s := format(ls); s != v {
				set[col] = s
			}
		}
		if len(set) == 0 {
			continue
		}
		if _, err := app.DB().Update(table, set, dbx.HashExp{"id": r.ID}).Execute(); err != nil {
			return err
		}
	}
	return nil
}
