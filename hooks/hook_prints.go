package hooks

import (
	"log/slog"
	"time"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/config"
	"songcommons/songprint"
)

// bindPrints builds the fingerprint index from song_fingerprints when the
// server starts (the write path keeps it in step with every committed
// change; a lookup finding it missing builds it).
func bindPrints(app core.App, cfg config.Config, ix *songprint.Index) {
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		start := time.Now()
		if err := ix.Load(se.App); err != nil {
			return err
		}
		took := time.Since(start)
		se.App.Logger().Info("songcommons: fingerprint index ready", slog.Int("songs", ix.Len()), slog.Duration("took", took))
		say(cfg, "songcommons: fingerprint index of %d songs built from song_fingerprints in %s (%d bytes in memory)", ix.Len(), took.Round(time.Millisecond), ix.MemoryBytes())
		return se.Next()
	})
}
