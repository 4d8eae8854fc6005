package hooks

import (
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"

	"songcommons/config"
)

// bindLogPurge deletes, every 15 minutes, the log entries older than the
// configured window (all request entries when the window is 0).
func bindLogPurge(app core.App, cfg config.Config) {
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		se.App.Cron().MustAdd("songcommonsLogPurge", "*/15 * * * *", func() {
			if _, err := PurgeLogs(se.App, cfg.LogRetention, time.Now()); err != nil {
				se.App.Logger().Error("songcommons: log purge failed", "error", err)
			}
		})
		return se.Next()
	})
}

// PurgeLogs deletes log entries older than retention (all request entries
// when retention is 0) and returns how many were removed.
func PurgeLogs(app core.App, retention time.Duration, now time.Time) (int64, error) {
	q := app.AuxDB().NewQuery("DELETE FROM {{_logs}} WHERE [[created]] < {:cutoff}")
	cutoff, _ := types.ParseDateTime(now.Add(-retention).UTC())
	if retention == 0 {
		q = app.AuxDB().NewQuery("DELETE FROM {{_logs}} WHERE json_extract([[data]], '$.type') = 'request' OR [[created]] < {:cutoff}")
		cutoff, _ = types.ParseDateTime(now.Add(-24 * time.Hour).UTC())
	}
	res, err := q.Bind(map[string]any{"cutoff": cutoff.String()}).Execute()
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
