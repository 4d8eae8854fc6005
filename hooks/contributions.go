package hooks

import (
	"net/http"
	"strings"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/pocketbase/pocketbase/tools/router"

	"songcommons/songdata"
)

// SignInMessage is the answer to a contribution without sign-in.
const SignInMessage = "Sign in with GitHub to contribute: contributions are accepted from signed-in users only (they are stored without any link to your account)."

// MaxRecordBody bounds the body of a single record create/list request.
const MaxRecordBody = 1 << 20

var scoreFields = []string{"artist", "title", "album", "duration", "mbid", "isrc", "analyzer",
	"tempo", "key", "scale", "mood_vector", "energy", "other_features"}
var embeddingFields = []string{"artist", "title", "album", "duration", "mbid", "isrc", "analyzer",
	"model", "embedding"}

// bindContributions validates and canonicalises every score and embedding
// row, whatever path it comes by (record API, /api/batch, service routes,
// import, dashboard), and answers a contribution without sign-in with 401.
func bindContributions(app core.App, cfg Config) {
	app.OnRecordValidate(ContributedCollections...).BindFunc(canonicalise)

	// ids of contributed rows are always chosen by the server (random), so a
	// client cannot give the rows of one upload a shared pattern
	app.OnRecordCreateRequest(ContributedCollections...).BindFunc(func(e *core.RecordRequestEvent) error {
		info, err := e.RequestInfo()
		if err == nil {
			if _, ok := info.Body["id"]; ok {
				return e.BadRequestError("Failed to create record.", validation.Errors{
					"id": validation.NewError("validation_not_allowed", "id is assigned by the server; leave it out"),
				})
			}
		}
		return e.Next()
	})

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
func guardContributed(e *core.RequestEvent, cfg Config) error {
	c := recordsPathCollection(e.Request.URL.Path)
	if c == "" || !isContributed(e.App, c) {
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

// recordInput gives the validator the record's values of the named fields.
func recordInput(r *core.Record, fields []string) map[string]any {
	in := make(map[string]any, len(fields))
	for _, f := range fields {
		v := r.Get(f)
		switch x := v.(type) {
		case string:
			if x == "" {
				continue // unset text field
			}
		case float64:
			if x == 0 {
				continue // unset number field (PocketBase stores 0)
			}
		}
		in[f] = v
	}
	return in
}

// recordFields are the fields a client may give on a contributed
// collection (nil for any other collection).
func recordFields(collection string) []string {
	switch collection {
	case "score":
		return scoreFields
	case "embedding":
		return embeddingFields
	}
	return nil
}

// checkRecord runs the one validator on a score or embedding record's
// fields: the canonical column values and the contribution they make.
func checkRecord(r *core.Record) (Contribution, map[string]any, validation.Errors) {
	name := r.Collection().Name
	in := recordInput(r, recordFields(name))
	if name == "embedding" {
		emb, errs := songdata.CheckEmbedding(in, "")
		if errs != nil {
			return Contribution{}, nil, errs
		}
		return Contribution{Embeddings: []*songdata.Embedding{emb}}, emb.Values(), nil
	}
	sc, errs := songdata.CheckScore(in, "")
	if errs != nil {
		return Contribution{}, nil, errs
	}
	return Contribution{Score: sc}, sc.Values(), nil
}

// canonicalise validates a contributed record and stores the canonical
// values (or fails the save with the field errors).
func canonicalise(e *core.RecordEvent) error {
	_, values, errs := checkRecord(e.Record)
	if errs != nil {
		return errs
	}
	for k, v := range values {
		e.Record.Set(k, v)
	}
	return e.Next()
}
