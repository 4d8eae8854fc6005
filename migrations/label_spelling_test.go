package migrations_test

import (
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/internal/testsupport"
	_ "songcommons/migrations"
)

// Rows stored while labels were lower-cased get AudioMuse-AI's spelling
// of known labels back; unknown labels and other rows stay as they are.
func TestLabelSpellingMigration(t *testing.T) {
	t.Parallel()
	app := testsupport.OpenDataDir(t, t.TempDir())
	defer app.ResetBootstrapState()
	rows := []struct{ table, id, moods, want string }{
		{"score", "score0000000001", "hip-hop:0.5,mellow:0.4,lofi beats:0.2", "Hip-Hop:0.5,Mellow:0.4,lofi beats:0.2"},
		{"score", "score0000000002", "rock:0.5,progressive rock:0.1", "rock:0.5,Progressive rock:0.1"},
		{"score", "score0000000003", "rock:0.5,pop:0.1", "rock:0.5,pop:0.1"},
		{"score", "score0000000004", "house=1 edited by hand", "house=1 edited by hand"},
		{"songs", "songs0000000001", "house:0.710,electronic:0.550", "House:0.710,electronic:0.550"},
	}
	// other_features as each table stores them
	others := map[string]string{"score": "danceable:0.9", "songs": "danceable:0.900"}
	for _, r := range rows {
		if _, err := app.DB().Insert(r.table, dbx.Params{"id": r.id, "mood_vector": r.moods, "other_features": others[r.table]}).Execute(); err != nil {
			t.Fatal(err)
		}
	}
	var up func(core.App) error
	for _, m := range core.AppMigrations.Items() {
		if m.File == "1763900008_label_spelling.go" {
			up = m.Up
		}
	}
	if up == nil {
		t.Fatal("no label spelling migration")
	}
	if err := up(app); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		var got, other string
		if err := app.DB().Select("mood_vector", "other_features").From(r.table).Where(dbx.HashExp{"id": r.id}).Row(&got, &other); err != nil {
			t.Fatal(err)
		}
		if got != r.want || other != others[r.table] {
			t.Errorf("%s %s: %q, %q; want %q", r.table, r.id, got, other, r.want)
		}
	}
}
