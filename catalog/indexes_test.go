package catalog_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"songcommons/catalog"
	"songcommons/internal/testsupport"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// TestIndexesServeQueries pins the indexes of the contributed and derived
// tables. Every stored song pays one random B-tree page per index it enters
// (BENCHMARKS.md, "What limits uploads"), so each index must be used by a
// query that the service, or the legacy clients of the record API, runs.
// The test fails when an index appears that no query below uses, when one
// is dropped, and when one of these queries stops finding its index (a
// full scan at 1M songs).
func TestIndexesServeQueries(t *testing.T) {
	app := testsupport.NewApp(t)
	defer app.Cleanup()
	db := app.DB()

	queries := []struct {
		index string
		q     *dbx.SelectQuery
	}{
		// consensus (RefreshSong), moderation deletes, receipts
		{"idx_score_song_key", db.Select("*").From("score").Where(dbx.HashExp{"song_key": "k"})},
		{"idx_embedding_song_key_model", db.Select("*").From("embedding").Where(dbx.HashExp{"song_key": "k"})},
		// the legacy client (AudioMuse-AI) looks songs up by artist, in both collections
		{"idx_score_artist", db.Select("*").From("score").Where(dbx.Or(dbx.HashExp{"artist": "a"}, dbx.HashExp{"artist": "b"}))},
		{"idx_embedding_artist", db.Select("*").From("embedding").Where(dbx.Or(dbx.HashExp{"artist": "a"}, dbx.HashExp{"artist": "b"}))},
		// lookup by MBID / ISRC (keysByIdentifier)
		{"idx_score_mbid", identifierQuery(db, "score", "mbid")},
		{"idx_embedding_mbid", identifierQuery(db, "embedding", "mbid")},
		{"idx_score_isrc", identifierQuery(db, "score", "isrc")},
		{"idx_embedding_isrc", identifierQuery(db, "embedding", "isrc")},
		// aliases: lookups by artist and title, identity of an upload (AliasTargets)
		{"idx_score_tags_key", catalog.AliasQuery(db, "score", []any{"a|b", "c|d"})},
		{"idx_embedding_tags_key", catalog.AliasQuery(db, "embedding", []any{"a|b", "c|d"})},
		// lookup, the bulk store's existing-songs query, similar by song
		{"idx_songs_song_key", db.Select("song_key").From("songs").Where(dbx.In("song_key", "a", "b"))},
		// the web UI's search list: sort=artist,title
		{"idx_songs_artist", db.Select("*").From("songs").OrderBy("artist", "title").Limit(20)},
	}
	used := map[string]bool{}
	for _, c := range queries {
		plan := explain(t, db, c.q)
		if !regexp.MustCompile(`\bINDEX ` + c.index + `\b`).MatchString(plan) {
			t.Errorf("%s: query does not use its index:\n  %s\n  plan: %s", c.index, c.q.Build().SQL(), plan)
		}
		used[c.index] = true
	}

	for _, tbl := range []string{"score", "embedding", "songs"} {
		var names []string
		if err := db.NewQuery("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = {:t} AND name NOT LIKE 'sqlite_autoindex_%'").
			Bind(dbx.Params{"t": tbl}).Column(&names); err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if !used[n] {
				t.Errorf("index %s on %s: no query of the service uses it, yet every upload writes it", n, tbl)
			}
			delete(used, n)
		}
	}
	for n := range used {
		t.Errorf("index %s is missing", n)
	}
	if c, err := app.FindCollectionByNameOrId("songs"); err != nil {
		t.Fatal(err)
	} else if got := slices.Sorted(slices.Values(indexNames(c))); !slices.Equal(got, []string{"idx_songs_artist", "idx_songs_song_key"}) {
		t.Errorf("songs collection indexes = %v", got)
	}
}

// identifierQuery is the query keysByIdentifier runs for one table.
func identifierQuery(db dbx.Builder, tbl, column string) *dbx.SelectQuery {
	return catalog.IdentifierQuery(db, tbl, column, []any{"x", "y"})
}

func explain(t *testing.T, db dbx.Builder, q *dbx.SelectQuery) string {
	t.Helper()
	b := q.Build()
	var rows []struct {
		Detail string `db:"detail"`
	}
	if err := db.NewQuery("EXPLAIN QUERY PLAN " + b.SQL()).Bind(b.Params()).All(&rows); err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, r := range rows {
		parts = append(parts, r.Detail)
	}
	return strings.Join(parts, "; ")
}

func indexNames(c *core.Collection) []string {
	var out []string
	for _, ix := range c.Indexes {
		f := strings.Fields(ix)
		for i, w := range f {
			if strings.EqualFold(w, "INDEX") && i+1 < len(f) {
				out = append(out, strings.Trim(f[i+1], "`\"[]"))
				break
			}
		}
	}
	return out
}
