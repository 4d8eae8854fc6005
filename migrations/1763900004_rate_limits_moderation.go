package migrations

import (
	"slices"

	"github.com/pocketbase/pocketbase/core"
	m "github.com/pocketbase/pocketbase/migrations"
)

// DefaultRateLimits are per-IP limits, on by default: generous for reads,
// tighter for writes and sign-in. Admins can change them in the dashboard
// (Settings → Rate limiting); SONGCOMMONS_RATE_LIMITS=off turns them off.
var DefaultRateLimits = []core.RateLimitRule{
	{Label: "*:auth", MaxRequests: 20, Duration: 60},
	{Label: "*:create", MaxRequests: 200, Duration: 60},
	{Label: "/api/batch", MaxRequests: 120, Duration: 60},
	{Label: "POST /api/songcommons/contribute", MaxRequests: 60, Duration: 60},
	{Label: "POST /api/songcommons/receipts/delete", MaxRequests: 30, Duration: 60},
	{Label: "POST /api/songcommons/privacy-requests", MaxRequests: 5, Duration: 3600},
	{Label: "POST /api/songcommons/me/consent", MaxRequests: 20, Duration: 60},
	{Label: "/api/", MaxRequests: 300, Duration: 10},
}

// Rate limits, and a superusers-only view of the songs whose contributions
// disagree (for moderation in the dashboard).
func init() {
	m.Register(func(app core.App) error {
		s := app.Settings()
		s.RateLimits.Enabled = true
		s.RateLimits.Rules = slices.Clone(DefaultRateLimits) // each app its own copy
		if err := app.Save(s); err != nil {
			return err
		}
		v := core.NewViewCollection("songs_low_agreement")
		v.ViewQuery = `SELECT id, song_key, artist, title, contributions, tempo, tempo_agreement, key, scale, key_agreement, outliers
			FROM songs
			WHERE contributions >= 2 AND (tempo_agreement < 0.6 OR key_agreement < 0.6 OR outliers > 0)`
		v.ListRule, v.ViewRule = nil, nil // superusers only
		return app.Save(v)
	}, nil)
}
