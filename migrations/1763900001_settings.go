package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Batch requests (the legacy sync client sends 50 sub-requests per batch) and
// privacy-preserving request log defaults.
func init() {
	m.Register(func(app core.App) error {
		s := app.Settings()
		s.Meta.AppName = "songcommons"
		s.Batch.Enabled = true
		s.Batch.MaxRequests = 100
		s.Batch.Timeout = 30
		s.Batch.MaxBodySize = 16 << 20
		s.Logs.MaxDays = 3 // the hourly purge job enforces the exact window
		s.Logs.LogAuthId = false
		s.Logs.LogIP = true // truncated before it is stored, see hooks/hook_logs.go
		return app.Save(s)
	}, nil)
}
