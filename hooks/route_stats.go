package hooks

import (
	"net/http"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/catalog"
)

// statsHandler answers GET /api/songcommons/stats (computed at most once
// a minute).
func statsHandler() func(e *core.RequestEvent) error {
	cache := &catalog.StatsCache{}
	return func(e *core.RequestEvent) error {
		s, err := cache.Get(e.App)
		if err != nil {
			return e.InternalServerError("Failed to compute the statistics.", err)
		}
		return e.JSON(http.StatusOK, s)
	}
}
