package hooks

import (
	"log/slog"
	"time"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/songsearch"
)

// bindSearch builds the search index from the songs table when the server
// starts (the write path keeps it in step with every committed change; a
// search finding it missing builds it).
func bindSearch(app core.App, ix *songsearch.Index) {
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		start := time.Now()
		if err := ix.Load(se.App); err != nil {
			return err
		}
		se.App.Logger().Info("songcommons: search index ready", slog.Int("songs", ix.Len()), slog.Duration("took", time.Since(start)))
		return se.Next()
	})
}
