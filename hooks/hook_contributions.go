package hooks

import (
	"net/http"
	"strings"

	"songcommons/config"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/pocketbase/pocketbase/tools/router"
)

// SignInMessage is the answer to a contribution without sign-in.
const SignInMessage = "Sign in with GitHub to contribute: contributions are accepted from signed-in users only (they are stored without any link to your account)."

// MaxRecordBody bounds the body of a single record create/list request.
const MaxRecordBody = 1 << 20

// bindContributions answers a contribution without sign-in with 401.
func bindContributions(app core.App, cfg config.Config) {
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		se.Router.Bind(&hook.Handler[*core.RequestEvent]{
			Id:       "songcommonsRequireSignIn",
			Priority: apis.DefaultLoadAuthTokenMiddlewarePriority + 1,
			Func:     func(e *core.RequestEvent) error { return guardContributed(e, cfg) },
		})
		return se.Next()
	})
	app.OnBatchRequest().BindFunc(func(e *core.BatchRequestEvent) error {
		if e.Auth == nil && legacyRows(e) > 0 {
			return router.NewUnauthorizedError(SignInMessage, nil)
		}
		return e.Next()
	})
}

// ReadSignInMessage is the answer to a guest read when reads are limited to
// signed-in users.
const ReadSignInMessage = "This server makes the dataset readable by signed-in users only: sign in with GitHub to read it."

// guardContributed answers 401 (not PocketBase's 400 "Failed to create
// record.") when a guest tries to create a contributed row, or to read them
// when reads are limited to signed-in users, and bounds the body of record
// requests on contributed collections.
func guardContributed(e *core.RequestEvent, cfg config.Config) error {
	if !recordRoutes[e.Request.Pattern] || !isContributed(e.App, e.Request.PathValue("collection")) {
		return e.Next()
	}
	if e.Auth == nil {
		switch e.Request.Method {
		case http.MethodPost, http.MethodPut:
			return e.UnauthorizedError(SignInMessage, nil)
		case http.MethodGet, http.MethodHead:
			if !cfg.PublicRead {
				return e.UnauthorizedError(ReadSignInMessage, nil)
			}
		}
	}
	if e.Request.ContentLength > MaxRecordBody {
		return e.Error(http.StatusRequestEntityTooLarge, "The request body is too large: at most 1 MiB per record.", nil)
	}
	e.Request.Body = http.MaxBytesReader(e.Response, e.Request.Body, MaxRecordBody)
	return e.Next()
}

// recordsPathCollection returns the collection of
// "/api/collections/{collection}/records[...]", or "".
func recordsPathCollection(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	rest, ok := strings.CutPrefix(p, "/api/collections/")
	if !ok {
		return ""
	}
	name, tail, _ := strings.Cut(rest, "/")
	if tail != "records" && !strings.HasPrefix(tail, "records/") {
		return ""
	}
	return name
}

func isContributed(app core.App, nameOrID string) bool {
	return collectionIn(app, nameOrID, ContributedCollections)
}
