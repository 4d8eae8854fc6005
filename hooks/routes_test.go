package hooks_test

import (
	"slices"
	"strings"
	"testing"

	"songcommons/hooks"
)

// The route table binds each service route's guards to the route itself:
// the compaction guard to exactly the routes that write, who may ask,
// and the journal to the account writes; and the PocketBase routes the
// service guards by their pattern are the patterns PocketBase registers.
func TestRouteTable(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	defer app.Cleanup()
	routes := routeGuards(t, app)
	want := map[string][]string{
		"POST /api/songcommons/lookup":           {"songcommonsReadGuard"},
		"GET /api/songcommons/similar":           {"songcommonsReadGuard"},
		"POST /api/songcommons/similar":          {"songcommonsReadGuard"},
		"GET /api/songcommons/search":            {"songcommonsReadGuard"},
		"POST /api/songcommons/contribute":       {"songcommonsCompactionGuard", "songcommonsSignedIn"},
		"POST /api/songcommons/receipts/delete":  {"songcommonsCompactionGuard"},
		"GET /api/songcommons/me":                {"songcommonsAccountUser"},
		"DELETE /api/songcommons/me":             {"songcommonsCompactionGuard", "songcommonsAccountUser", "songcommonsAccountJournal"},
		"POST /api/songcommons/me/consent":       {"songcommonsCompactionGuard", "songcommonsAccountUser", "songcommonsBody", "songcommonsAccountJournal"},
		"POST /api/songcommons/privacy-requests": {"songcommonsCompactionGuard", "songcommonsBody"},
		"GET /api/songcommons/status":            {},
		"GET /api/songcommons/stats":             {"songcommonsReadGuard"},
		"GET /api/songcommons/openapi.json":      {},
		"GET /api/songcommons/export":            {"songcommonsReadGuard"},
	}
	guards := []string{"songcommonsCompactionGuard", "songcommonsReadGuard", "songcommonsSignedIn", "songcommonsAccountUser",
		"songcommonsAccountJournal"}
	for pattern, gs := range routes {
		if !strings.Contains(pattern, " /api/songcommons/") {
			continue
		}
		w, listed := want[pattern]
		if !listed {
			t.Errorf("%s is not in this test's table", pattern)
			continue
		}
		var got []string
		for _, g := range gs {
			if slices.Contains(guards, g.id) || g.id == "songcommonsBody" && slices.Contains(w, g.id) {
				got = append(got, g.id)
			}
		}
		if !slices.Equal(got, w) {
			t.Errorf("%s carries %v (in the order they run), want %v", pattern, got, w)
		}
	}
	for pattern := range want {
		if _, ok := routes[pattern]; !ok {
			t.Errorf("no route %s", pattern)
		}
	}
	for _, pattern := range hooks.GuardedPocketBaseRoutes() {
		if _, ok := routes[pattern]; !ok {
			t.Errorf("PocketBase registers no route %s any more: its guard is lost", pattern)
		}
	}
}
