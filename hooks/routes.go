package hooks

import (
	"net/http"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"

	"songcommons/config"
	"songcommons/dataset"
	"songcommons/storage"
)

// The routes of the service, each with its guards. Every route under
// /api/songcommons is listed in serviceRoutes; the guards bound to it run
// in this order, whatever order they are listed in:
//
//  1. the compaction guard (routes that write: 503 while the nightly
//     compaction runs; compactionPriority),
//  2. who may ask (anyone, readers of the dataset, contributors, account
//     holders; whoPriority),
//  3. the body, read whole under the body deadline (bodyGuard),
//  4. a slot of the route's admission gate (AdmissionPriority),
//  5. the journal discipline for account writes (journalPriority); the
//     write path runs contribution writes under it itself,
//
// so that a guest or a slow client never holds a slot. PocketBase's own
// routes that the service guards follow in pocketBaseRoutes.

// Request body bounds of the service routes (PocketBase's record and batch
// routes have theirs in guardContributed and the batch settings).
const (
	maxLookupBody     = 8 << 20 // 1,000 fingerprints of 120 s as fpcalc prints them: ~3.7 MB
	maxSimilarBody    = 256 << 10
	maxContributeBody = 8 << 20
	maxReceiptsBody   = 1 << 20
	maxConsentBody    = 4 << 10
	maxPrivacyBody    = 16 << 10
)

// Guard priorities, relative to the admission gate's (the rate limiter,
// the auth token and the body deadline run before all of them).
const (
	compactionPriority = AdmissionPriority - 10
	whoPriority        = AdmissionPriority - 2
	journalPriority    = AdmissionPriority + 1
)

// route is one service route: method, path under /api/songcommons,
// handler and guards.
type route struct {
	method, path string
	handler      func(*core.RequestEvent) error
	who          who
	body         int64      // the request body, read before any slot is taken (0: none)
	gate         *admission // nil: no slot
	writes       bool       // writes data.db: refused while a compaction runs
	account      bool       // an account write: runs alone under the journal
	doc          apiDoc     // what the OpenAPI document says of it
}

// who is the check of who may ask.
type who int

const (
	anyone      who = iota
	reader          // the dataset's readers: anyone, or signed-in users (SONGCOMMONS_PUBLIC_READ=false)
	contributor     // a signed-in contributor account
	accountUser     // a signed-in contributor, about their own account
)

// serviceRoutes is the route table of the service.
func (s *service) serviceRoutes() []route {
	return []route{
		{method: http.MethodPost, path: "/lookup", handler: lookupHandler(s.sim, s.prints),
			who: reader, body: maxLookupBody, gate: s.gates.reads, doc: lookupDoc},
		{method: http.MethodGet, path: "/similar", handler: similarGetHandler(s.sim),
			who: reader, gate: s.gates.reads, doc: similarGetDoc},
		{method: http.MethodPost, path: "/similar", handler: similarPostHandler(s.sim),
			who: reader, body: maxSimilarBody, gate: s.gates.reads, doc: similarPostDoc},
		{method: http.MethodGet, path: "/search", handler: searchHandler(s.search),
			who: reader, gate: s.gates.searches, doc: searchDoc},
		{method: http.MethodPost, path: "/contribute", handler: contributeHandler(s.writer, s.accounts),
			who: contributor, body: maxContributeBody, gate: s.gates.uploads, writes: true, doc: contributeDoc},
		{method: http.MethodPost, path: "/receipts/delete", handler: receiptDeleteHandler(s.writer),
			body: maxReceiptsBody, writes: true, doc: receiptsDeleteDoc},
		{method: http.MethodGet, path: "/me", handler: s.accounts.meHandler,
			who: accountUser, doc: meDoc},
		{method: http.MethodDelete, path: "/me", handler: s.accounts.deleteMeHandler,
			who: accountUser, writes: true, account: true, doc: deleteMeDoc},
		{method: http.MethodPost, path: "/me/consent", handler: s.accounts.consentHandler,
			who: accountUser, body: maxConsentBody, writes: true, account: true, doc: consentDoc},
		{method: http.MethodPost, path: "/privacy-requests", handler: privacyRequestHandler,
			body: maxPrivacyBody, writes: true, doc: privacyRequestDoc},
		{method: http.MethodGet, path: "/status", handler: statusHandler(s.cfg, s.sim, s.search, s.prints),
			doc: statusDoc},
		{method: http.MethodGet, path: "/stats", handler: statsHandler(),
			who: reader, doc: statsDoc},
		{method: http.MethodGet, path: "/export", handler: dataset.ExportHandler(s.cfg),
			who: reader, gate: s.gates.exports, doc: exportDoc},
		{method: http.MethodGet, path: "/openapi.json", handler: s.openAPIHandler,
			doc: openAPIDoc},
	}
}

// bindServiceRoutes registers serviceRoutes under /api/songcommons with
// their guards, and the body deadline on every route of the server.
func (s *service) bindServiceRoutes(app core.App) {
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		sc := se.Router.Group(servicePrefix)
		sc.Unbind(compactionGuardID) // bound to each route that writes
		for _, r := range s.serviceRoutes() {
			rt := sc.Route(r.method, r.path, r.handler)
			for _, g := range s.guards(r) {
				rt.Bind(g)
			}
		}
		se.Router.Bind(bodyDeadline(s.cfg.BodyTimeout), compactionWriteGuard(true))
		g := s.gates
		say(s.cfg, "songcommons: uploads handled %d at a time (others wait up to %s, then 429 with Retry-After), lookups and similarity searches %d at a time (others wait up to %s), at most %d of each per client address; request bodies within %s (+%s per MiB)",
			cap(g.uploads.slots), g.uploads.wait, cap(g.reads.slots), g.reads.wait, s.cfg.SlotsPerClient, s.cfg.BodyTimeout, s.cfg.BodyTimeout)
		return se.Next()
	})
}

// servicePrefix is the path of every service route.
const servicePrefix = "/api/songcommons"

// guards are the middlewares of a route.
func (s *service) guards(r route) []*hook.Handler[*core.RequestEvent] {
	var gs []*hook.Handler[*core.RequestEvent]
	if r.writes {
		gs = append(gs, compactionWriteGuard(false))
	}
	switch r.who {
	case reader:
		gs = append(gs, &hook.Handler[*core.RequestEvent]{Id: "songcommonsReadGuard", Priority: whoPriority, Func: readGuard(s.cfg)})
	case contributor:
		gs = append(gs, signedIn())
	case accountUser:
		gs = append(gs, &hook.Handler[*core.RequestEvent]{Id: "songcommonsAccountUser", Priority: whoPriority, Func: requireUser})
	}
	if r.body > 0 {
		gs = append(gs, bodyGuard(r.body))
	}
	if r.gate != nil {
		gs = append(gs, r.gate.guard())
	}
	if r.account {
		gs = append(gs, &hook.Handler[*core.RequestEvent]{Id: "songcommonsAccountJournal", Priority: journalPriority,
			Func: func(e *core.RequestEvent) error { return accountRequest(e, e.Next) }})
	}
	return gs
}

// gates are the admissions of the heavy requests: uploads (everything
// that ends at SQLite's writer with a large body), reads (lookups and
// similarity searches, CPU-bound) and exports (each reads the whole
// dataset, for minutes: refused at once when none is free).
type gates struct {
	uploads, reads, searches, exports *admission
}

func newGates(cfg config.Config) gates {
	return gates{
		uploads: newAdmission("songcommonsUploadAdmission", cfg.MaxPendingUploads, cfg.SlotsPerClient, cfg.UploadWait,
			BusyMessage, "Nothing of this request was stored."),
		reads: newAdmission("songcommonsReadAdmission", cfg.MaxConcurrentReads, cfg.SlotsPerClient, cfg.ReadWait,
			ReadBusyMessage, "Nothing was changed."),
		// searches as people type (a millisecond each) queue apart from
		// lookups and similar searches (tens of milliseconds each), so
		// that neither waits behind the other
		searches: newAdmission("songcommonsSearchAdmission", cfg.MaxConcurrentReads, cfg.SlotsPerClient, cfg.ReadWait,
			ReadBusyMessage, "Nothing was changed."),
		exports: newAdmission("songcommonsExportAdmission", dataset.MaxConcurrentExports, 1, 0, dataset.ExportBusyMessage, ""),
	}
}

// PocketBase's own routes that the service guards. They are PocketBase's
// to register, so their guards are bound by the pattern PocketBase
// registers each route under (compared whole; tests fail if PocketBase
// renames one), or to the request hooks of their records:
//
//   - record routes of the contributed collections (recordRoutes): a guest
//     may not create (401), nor read when reads are limited to signed-in
//     users; bodies are bounded (guardContributed, router-wide);
//   - record creates on the contributed collections and /api/batch: the
//     upload gate, once PocketBase has read and parsed the body (the
//     request hooks in bindPocketBaseUploads); the journal (bindJournal);
//   - e-mail and password auth routes of contributor accounts
//     (emailRoutes): closed (bindGitHubOnly);
//   - realtime subscriptions (POST /api/realtime): no live feed of the
//     dataset (bindRealtime), and they write nothing, so the compaction
//     guard lets them through;
//   - every other route that may write (any method but GET, HEAD and
//     OPTIONS): refused while a compaction runs (the compaction guard,
//     router-wide).
var (
	recordRoutes = map[string]bool{
		"GET /api/collections/{collection}/records":         true,
		"GET /api/collections/{collection}/records/{id}":    true,
		"POST /api/collections/{collection}/records":        true,
		"PATCH /api/collections/{collection}/records/{id}":  true,
		"DELETE /api/collections/{collection}/records/{id}": true,
	}
	realtimeSubscribeRoute = "POST /api/realtime"
	emailRoutes            = []string{"request-verification", "confirm-verification", "request-email-change",
		"confirm-email-change", "request-password-reset", "confirm-password-reset", "request-otp",
		"auth-with-otp", "auth-with-password"}
)

// bindPocketBaseUploads takes an upload slot for PocketBase's upload
// routes (record creates on the contributed collections, /api/batch) in
// their request hooks, which run once PocketBase has read and parsed the
// body, whatever path the route has. They are bound after the sign-in,
// consent and quota hooks (bindContributions, bindAccounts: cheap
// refusals) and before the batch fast path (bindBatchFastPath), which
// stores.
func bindPocketBaseUploads(app core.App, g gates) {
	app.OnBatchRequest().BindFunc(func(e *core.BatchRequestEvent) error {
		if e.Auth == nil {
			return e.UnauthorizedError(SignInMessage, nil)
		}
		return g.uploads.admit(e.RequestEvent, e.Next)
	})
	app.OnRecordCreateRequest(ContributedCollections...).BindFunc(func(e *core.RecordRequestEvent) error {
		if info, err := e.RequestInfo(); err == nil && info.Context == core.RequestInfoContextBatch {
			return e.Next() // admitted with its batch
		}
		if e.Auth == nil {
			return e.UnauthorizedError(SignInMessage, nil)
		}
		return g.uploads.admit(e.RequestEvent, e.Next)
	})
}

// compactionGuardID names the guard that refuses writes while a
// compaction runs.
const compactionGuardID = "songcommonsCompactionGuard"

// compactionWriteGuard answers 503 (Retry-After) to a request that may
// write to data.db while a compaction runs (storage.TrackWrite). The
// service's routes that write carry it; routerWide, it guards
// PocketBase's routes: every method but GET, HEAD and OPTIONS, except
// realtime subscriptions (they touch no database).
func compactionWriteGuard(routerWide bool) *hook.Handler[*core.RequestEvent] {
	return &hook.Handler[*core.RequestEvent]{
		Id:       compactionGuardID,
		Priority: compactionPriority,
		Func: func(e *core.RequestEvent) error {
			if routerWide {
				switch e.Request.Method {
				case http.MethodGet, http.MethodHead, http.MethodOptions:
					return e.Next()
				}
				if e.Request.Pattern == realtimeSubscribeRoute {
					return e.Next()
				}
			}
			compacting, done := storage.TrackWrite(e.App)
			defer done()
			if compacting {
				e.Response.Header().Set("Retry-After", "180")
				return e.Error(http.StatusServiceUnavailable,
					"The database is being compacted (a daily privacy measure). Retry in a few minutes; nothing of this request was stored.", nil)
			}
			return e.Next()
		},
	}
}

// readGuard is the check of every route that reads the dataset: with
// SONGCOMMONS_PUBLIC_READ=false, guests get 401.
func readGuard(cfg config.Config) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		if !cfg.PublicRead && e.Auth == nil {
			return e.UnauthorizedError(ReadSignInMessage, nil)
		}
		return e.Next()
	}
}

// signedIn refuses an upload from a guest (401) or from an account that
// is not a contributor's (403) before its body is read.
func signedIn() *hook.Handler[*core.RequestEvent] {
	return &hook.Handler[*core.RequestEvent]{
		Id:       "songcommonsSignedIn",
		Priority: whoPriority,
		Func: func(e *core.RequestEvent) error {
			if e.Auth == nil {
				return e.UnauthorizedError(SignInMessage, nil)
			}
			if e.Auth.Collection().Name != "users" {
				return e.ForbiddenError("Contributions come from contributor accounts (GitHub sign-in).", nil)
			}
			return e.Next()
		},
	}
}

// requireUser refuses an account route to a guest (401) or to an account
// that is not a contributor's (403).
func requireUser(e *core.RequestEvent) error {
	if e.Auth == nil {
		return e.UnauthorizedError("Sign in with GitHub to see or change your account.", nil)
	}
	if e.Auth.Collection().Name != "users" {
		return e.ForbiddenError("This route is for contributor accounts.", nil)
	}
	return e.Next()
}
