package hooks

import (
	"github.com/pocketbase/pocketbase/core"
)

// bindRoutes registers the service routes under /api/songcommons.
func bindRoutes(app core.App, cfg Config, sim *Similarity) {
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		g := se.Router.Group("/api/songcommons")
		g.BindFunc(func(e *core.RequestEvent) error {
			if !cfg.PublicRead && e.Auth == nil && e.Request.Method != "OPTIONS" && e.Request.URL.Path != "/api/songcommons/status" {
				return e.UnauthorizedError(ReadSignInMessage, nil)
			}
			return e.Next()
		})
		g.POST("/lookup", lookupHandler(sim))
		g.GET("/similar", similarGetHandler(sim))
		g.POST("/similar", similarPostHandler(sim))
		return se.Next()
	})
}
