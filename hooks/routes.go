package hooks

import (
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"

	"songcommons/config"
	"songcommons/contribute"
	"songcommons/similarity"
)

// Request body bounds of the service routes (PocketBase's record and batch
// routes have theirs in guardContributed and the batch settings).
const (
	maxLookupBody     = 2 << 20
	maxSimilarBody    = 256 << 10
	maxContributeBody = 8 << 20
	maxReceiptsBody   = 1 << 20
)

// whoPriority puts a route's check of who asks before its body is read
// (bodyGuard) and its slot taken (AdmissionPriority).
const whoPriority = AdmissionPriority - 2

// gates are the admissions of the heavy requests: uploads (everything
// that ends at SQLite's writer with a large body) and reads (lookups and
// similarity searches, CPU-bound).
type gates struct {
	uploads, reads *admission
}

func newGates(cfg config.Config) gates {
	return gates{
		uploads: newAdmission("songcommonsUploadAdmission", cfg.MaxPendingUploads, cfg.SlotsPerClient, cfg.UploadWait,
			BusyMessage, "Nothing of this request was stored."),
		reads: newAdmission("songcommonsReadAdmission", cfg.MaxConcurrentReads, cfg.SlotsPerClient, cfg.ReadWait,
			ReadBusyMessage, "Nothing was changed."),
	}
}

// bindRoutes registers the service routes under /api/songcommons, each
// with its guards bound to it in the order they run: who may ask
// (ReadGuard, signedIn), the body read under its deadline (bodyGuard),
// then a slot (admission), so that a guest or a slow client never holds
// one. PocketBase's own upload routes (record creates on the contributed
// collections, /api/batch) take their upload slot in their request hooks,
// which run once PocketBase has read and parsed the body, whatever path
// the route has.
func bindRoutes(app core.App, cfg config.Config, sim *similarity.Indexes, w *contribute.Writer, acc *accounts) {
	g := newGates(cfg)
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		read := &hook.Handler[*core.RequestEvent]{Id: "songcommonsReadGuard", Priority: whoPriority, Func: ReadGuard(cfg)}
		sc := se.Router.Group("/api/songcommons")
		sc.POST("/lookup", lookupHandler(sim)).Bind(read, bodyGuard(maxLookupBody), g.reads.guard())
		sc.GET("/similar", similarGetHandler(sim)).Bind(read, g.reads.guard())
		sc.POST("/similar", similarPostHandler(sim)).Bind(read, bodyGuard(maxSimilarBody), g.reads.guard())
		sc.POST("/contribute", contributeHandler(w, acc)).Bind(signedIn(), bodyGuard(maxContributeBody), g.uploads.guard())
		sc.POST("/receipts/delete", receiptDeleteHandler(w)).Bind(bodyGuard(maxReceiptsBody))

		se.Router.Bind(bodyDeadline(cfg.BodyTimeout))
		say(cfg, "songcommons: uploads handled %d at a time (others wait up to %s, then 429 with Retry-After), lookups and similarity searches %d at a time (others wait up to %s), at most %d of each per client address; request bodies within %s (+%s per MiB)",
			cap(g.uploads.slots), g.uploads.wait, cap(g.reads.slots), g.reads.wait, cfg.SlotsPerClient, cfg.BodyTimeout, cfg.BodyTimeout)
		return se.Next()
	})

	// PocketBase's upload routes: bound after the sign-in, consent and
	// quota hooks (bindContributions, bindAccounts: cheap refusals) and
	// before the batch fast path (bindBatchFastPath), which stores
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

// ReadGuard is the middleware of every route that reads the dataset: with
// SONGCOMMONS_PUBLIC_READ=false, guests get 401.
func ReadGuard(cfg config.Config) func(e *core.RequestEvent) error {
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
