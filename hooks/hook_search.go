package hooks

import (
	"log/slog"
	"time"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/config"
	"songcommons/songsearch"
)

// bindSearch builds the search index from the songs table when the server
// starts (the write path keeps it in step with every committed change; a
// search finding it missing builds it).
func bindSearch(app core.App, cfg config.Config, ix *songsearch.Index) {
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		start := time.Now()
		if err := ix.Load(se.App); err != nil {
			return err
		}
		took := time.Since(start)
		se.App.Logger().Info("songcommons: search index ready", slog.Int("songs", ix.Len()), slog.Duration("took", took))
		say(cfg, "songcommons: search index of %d songs built from the songs table in %s (in memory only)", ix.Len(), took.Round(time.Millisecond))
		return se.Next()
	})
}
