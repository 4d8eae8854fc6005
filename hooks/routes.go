package hooks

import (
	"github.com/pocketbase/pocketbase/core"
)

// bindRoutes registers the service routes under /api/songcommons.
func bindRoutes(app core.App, cfg Config, sim *Similarity, acc *accounts) {
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		readGuard := ReadGuard(cfg)
		g := se.Router.Group("/api/songcommons")
		g.POST("/lookup", lookupHandler(sim)).BindFunc(readGuard)
		g.GET("/similar", similarGetHandler(sim)).BindFunc(readGuard)
		g.POST("/similar", similarPostHandler(sim)).BindFunc(readGuard)
		g.POST("/contribute", contributeHandler(sim, acc))
		g.POST("/receipts/delete", receiptDeleteHandler)
		return se.Next()
	})
}

// ReadGuard is the middleware of every route that reads the dataset: with
// SONGCOMMONS_PUBLIC_READ=false, guests get 401.
func ReadGuard(cfg Config) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		if !cfg.PublicRead && e.Auth == nil {
			return e.UnauthorizedError(ReadSignInMessage, nil)
		}
		return e.Next()
	}
}
