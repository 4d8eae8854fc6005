package hooks

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/config"
	"songcommons/songprint"
	"songcommons/songsearch"
)

// bindIndexWarmUp builds the search index (from the songs table) and the
// fingerprint index (from song_fingerprints) in the background once the
// server starts, so that neither delays the start (about 4 and 1 CPU-s at
// 1M songs). Until one is built, a request that needs it, and an upload's
// refresh of it, wait for the build; the write path keeps both in step
// with every committed change afterwards.
func bindIndexWarmUp(app core.App, cfg config.Config, search *songsearch.Index, prints *songprint.Index) {
	w := &warmUps{}
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		w.start(se.App, cfg, "search", search.Warm, func(took time.Duration) string {
			return fmt.Sprintf("search index of %d songs built from the songs table in %s (in memory only)", search.Len(), took)
		})
		w.start(se.App, cfg, "fingerprint", prints.Warm, func(took time.Duration) string {
			return fmt.Sprintf("fingerprint index of %d songs built from song_fingerprints in %s (%d bytes in memory)", prints.Len(), took, prints.MemoryBytes())
		})
		return se.Next()
	})
	// a build reads the database: the app closes it only after the
	// builds under way are done (at most seconds), and starts none after
	app.OnTerminate().BindFunc(func(te *core.TerminateEvent) error {
		w.mu.Lock()
		w.stopped = true
		w.mu.Unlock()
		w.running.Wait()
		return te.Next()
	})
}

// warmUps are the index builds under way in the background.
type warmUps struct {
	mu      sync.Mutex
	stopped bool // the app is terminating
	running sync.WaitGroup
}

// start builds one index in the background and says when it is ready.
func (w *warmUps) start(app core.App, cfg config.Config, name string, warm func(core.App) error, ready func(took time.Duration) string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	w.running.Add(1)
	go func() {
		defer w.running.Done()
		start := time.Now()
		if err := warm(app); err != nil {
			app.Logger().Error("songcommons: building the "+name+" index failed; the first request that needs it builds it", "error", err.Error())
			return
		}
		took := time.Since(start)
		app.Logger().Info("songcommons: "+name+" index ready", slog.Duration("took", took))
		say(cfg, "songcommons: %s", ready(took.Round(time.Millisecond)))
	}()
}
