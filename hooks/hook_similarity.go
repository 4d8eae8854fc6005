package hooks

import (
	"log/slog"
	"time"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/config"
	"songcommons/similarity"
)

// bindSimilarity builds the indexes when the server starts (the write
// path keeps them in step with every committed change).
func bindSimilarity(app core.App, cfg config.Config, sim *similarity.Indexes) {
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		start := time.Now()
		if err := sim.Load(se.App); err != nil {
			return err
		}
		if cfg.ApproxSimilar {
			sim.EnableApprox()
		}
		se.App.Logger().Info("songcommons: similarity index ready", slog.Any("songs", sim.Sizes()), slog.Duration("took", time.Since(start)))
		return se.Next()
	})
}
