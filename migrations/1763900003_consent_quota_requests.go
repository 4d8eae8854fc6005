package migrations

import (
	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// Consent lives on the account, to the day; a privacy_requests collection
// takes rights requests that need a person. The daily upload counter this
// added to the account (uploads_day, uploads_count) was dropped again by
// 1763900007_quota_in_memory.go: the quota is counted in memory only.
func init() {
	m.Register(func(app core.App) error {
		users, err := app.FindCollectionByNameOrId("users")
		if err != nil {
			return err
		}
		users.Fields.Add(
			&core.NumberField{Name: "policy_version", OnlyInt: true}, // accepted policy version, 0 = none
			&core.DateField{Name: "policy_day"},                      // day of that acceptance
			&core.BoolField{Name: "uploads_paused"},                  // consent withdrawn
			&core.DateField{Name: "uploads_day"},                     // dropped by 1763900007
			&core.NumberField{Name: "uploads_count", OnlyInt: true},  // dropped by 1763900007
		)
		if err := app.Save(users); err != nil {
			return err
		}

		req := core.NewBaseCollection("privacy_requests")
		req.ListRule, req.ViewRule, req.UpdateRule, req.DeleteRule = nil, nil, nil, nil // superusers only
		req.CreateRule = nil                                                            // created only through POST /api/songcommons/privacy-requests
		req.Fields.Add(
			&core.TextField{Name: "text", Required: true, Max: 5000},
			&core.TextField{Name: "contact", Max: 320},
			&core.DateField{Name: "day"},
			&core.BoolField{Name: "handled"},
		)
		return app.Save(req)
	}, nil)
}
