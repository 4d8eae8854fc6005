// Package hooks binds songcommons to a PocketBase app: the route table
// (routes.go) with each route's guards, and the record, auth, request and
// serve hooks that put PocketBase's own routes and records on the
// service's write path and privacy rules. Storing contributions, the
// schema, the similarity, search and fingerprint indexes and the configuration live in their own
// packages; this one only binds them.
package hooks

import (
	"io/fs"
	"sync"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/config"
	"songcommons/contribute"
	"songcommons/similarity"
	"songcommons/songprint"
	"songcommons/songsearch"
	"songcommons/storage"
)

// service is what the bindings of one app share.
type service struct {
	cfg      config.Config
	sim      *similarity.Indexes
	search   *songsearch.Index
	prints   *songprint.Index
	writer   *contribute.Writer
	accounts *accounts
	gates    gates

	openAPIOnce sync.Once
	openAPI     []byte // the OpenAPI document, built at its first request
}

// Register binds every songcommons hook and route to app and returns the
// similarity indexes it keeps. publicFS holds the web UI (pb_public); it
// may be nil.
func Register(app core.App, cfg config.Config, publicFS fs.FS) *similarity.Indexes {
	s := &service{cfg: cfg, sim: similarity.New(), search: songsearch.New(), prints: songprint.New(), gates: newGates(cfg)}
	s.writer = contribute.New(app, s.sim, storage.JournalOf(app)).WithSearch(s.search).WithPrints(s.prints)
	bindSettings(app, cfg)
	bindOAuth(app)
	bindGitHubOnly(app)
	bindContributions(app, cfg)
	bindContributedRecords(app, s.writer)
	bindLogs(app, cfg)
	bindLogPurge(app, cfg)
	bindRealtime(app)
	bindSimilarity(app, cfg, s.sim)
	bindIndexWarmUp(app, cfg, s.search, s.prints)
	s.accounts = bindAccounts(app, cfg)
	s.bindServiceRoutes(app)
	bindPocketBaseUploads(app, s.gates)
	// after the cheap refusals and the upload slots (bindAccounts,
	// bindPocketBaseUploads), before anything that writes: its request
	// hooks enclose every write
	bindJournal(app)
	bindBatchFastPath(app, s.writer) // after bindAccounts: consent and quota admit the batch first
	storage.BindCompaction(app, &storage.Compactor{})
	storage.BindCheckpointer(app)
	storage.BindLayout(app)
	storage.BindBackups(app)
	bindOperations(app, cfg)
	bindRateLimitPer64(app)
	bindStatic(app, publicFS)
	return s.sim
}
