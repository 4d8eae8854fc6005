package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// The daily upload counter leaves the account: it lives in memory only
// (hooks/hook_account.go), because a counter written to disk is the size of a
// user's uploads, written in the same file as the uploads. Dropping the
// columns rewrites the users table; secure_delete zeroes the old values.
func init() {
	m.Register(func(app core.App) error {
		users, err := app.FindCollectionByNameOrId("users")
		if err != nil {
			return err
		}
		users.Fields.RemoveByName("uploads_day")
		users.Fields.RemoveByName("uploads_count")
		return app.Save(users)
	}, nil)
}
