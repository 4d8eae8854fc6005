// Package hooks binds songcommons to a PocketBase app: settings from the
// environment, validation of contributed rows, privacy hooks, service routes
// and the static web UI. Each concern lives in its own file.
package hooks

import (
	"io/fs"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/config"
	"songcommons/contribute"
	"songcommons/similarity"
)

// Register binds every songcommons hook and route to app and returns the
// similarity indexes it keeps. publicFS holds the web UI (pb_public); it
// may be nil.
func Register(app core.App, cfg config.Config, publicFS fs.FS) *similarity.Indexes {
	sim := similarity.New()
	w := contribute.New(app, sim, journalOf(app))
	bindSettings(app, cfg)
	bindOAuth(app)
	bindGitHubOnly(app)
	bindContributions(app, cfg)
	bindContributedRecords(app, w)
	bindLogs(app, cfg)
	bindRealtime(app)
	bindSimilarity(app, cfg, sim)
	acc := bindAccounts(app, cfg)
	bindRoutes(app, cfg, sim, w, acc)
	// after the cheap refusals and the upload slots (bindAccounts, bindRoutes),
	// before anything that writes: its request hooks enclose every write
	bindJournal(app)
	bindBatchFastPath(app, w) // after bindAccounts: consent and quota admit the batch first
	bindStatus(app, cfg, sim)
	bindStats(app, cfg)
	bindCompaction(app, &Compactor{})
	bindCheckpointer(app)
	bindLayout(app)
	bindOperations(app, cfg)
	bindRateLimitPer64(app)
	bindStatic(app, publicFS)
	return sim
}
