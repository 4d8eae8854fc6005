package hooks

import (
	"io/fs"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// bindStatic serves the web UI (pb_public) at /, unless a route for it was
// already registered.
func bindStatic(app core.App, publicFS fs.FS) {
	if publicFS == nil {
		return
	}
	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Func: func(se *core.ServeEvent) error {
			if !se.Router.HasRoute("GET", "/{path...}") {
				se.Router.GET("/{path...}", apis.Static(publicFS, false))
			}
			return se.Next()
		},
		Priority: 999, // after every other route
	})
}
