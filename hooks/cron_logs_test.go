package hooks_test

import (
	"testing"
	"time"

	"songcommons/config"
	"songcommons/hooks"
)

func TestLogRetention(t *testing.T) {
	t.Parallel()
	now := time.Now()
	t.Run("72h window", func(t *testing.T) {
		app := newTestApp(t)
		defer app.Cleanup()
		saveLog(t, app, "request", now.Add(-73*time.Hour))
		saveLog(t, app, "request", now.Add(-71*time.Hour))
		saveLog(t, app, "request", now.Add(-time.Minute))
		n, err := hooks.PurgeLogs(app, 72*time.Hour, now)
		if err != nil || n != 1 || countLogs(t, app) != 2 {
			t.Fatalf("purged %d (%v), %d left; want 1 purged, 2 left", n, err, countLogs(t, app))
		}
	})
	t.Run("1h window", func(t *testing.T) {
		app := newTestApp(t)
		defer app.Cleanup()
		saveLog(t, app, "request", now.Add(-2*time.Hour))
		saveLog(t, app, "request", now.Add(-30*time.Minute))
		if _, err := hooks.PurgeLogs(app, time.Hour, now); err != nil || countLogs(t, app) != 1 {
			t.Fatalf("%v, %d left", err, countLogs(t, app))
		}
	})
	t.Run("0 = no request logs", func(t *testing.T) {
		app := newTestApp(t, func(c *config.Config) { c.LogRetention = 0 })
		defer app.Cleanup()
		saveLog(t, app, "request", now) // refused by the hook
		saveLog(t, app, "app", now)     // application messages stay (a day)
		if countLogs(t, app) != 1 {
			t.Fatalf("%d logs, want only the app message", countLogs(t, app))
		}
	})
	t.Run("purge job scheduled on serve", func(t *testing.T) {
		app := newTestApp(t)
		defer app.Cleanup()
		app.Settings().Logs.MaxDays = 7
		serve(t, app)
		found := false
		for _, j := range app.Cron().Jobs() {
			if j.Id() == "songcommonsLogPurge" {
				found = true
				j.Run() // and it runs
			}
		}
		if !found {
			t.Fatal("no purge job")
		}
		if app.Settings().Logs.MaxDays != 3 {
			t.Fatalf("PocketBase's log days = %d, want 3 for a 72h window", app.Settings().Logs.MaxDays)
		}
	})
}
