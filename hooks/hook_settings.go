package hooks

import (
	"fmt"
	"log"

	"songcommons/config"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/auth"
	"github.com/pocketbase/pocketbase/tools/types"
)

// ContributedCollections are the collections that hold contributed rows.
var ContributedCollections = []string{"score", "embedding"}

const signedInReadRule = `@request.auth.id != ""`

// bindSettings applies the environment to the stored configuration when the
// server starts: GitHub OAuth2 provider, who may read contributed rows, and
// the request log window. Migrations run before OnServe, so the collections
// exist by then.
func bindSettings(app core.App, cfg config.Config) {
	app.OnServe().BindFunc(func(e *core.ServeEvent) error {
		if err := ApplyConfig(e.App, cfg); err != nil {
			return err
		}
		return e.Next()
	})
}

// ApplyConfig stores cfg in the app's collections and settings. It is
// idempotent and saves only what changed.
func ApplyConfig(app core.App, cfg config.Config) error {
	users, err := app.FindCollectionByNameOrId("users")
	if err != nil {
		return fmt.Errorf("songcommons: users collection: %w", err)
	}
	var providers []core.OAuth2ProviderConfig
	if cfg.SignInEnabled() {
		providers = []core.OAuth2ProviderConfig{{
			Name:         auth.NameGithub,
			ClientId:     cfg.GitHubClientID,
			ClientSecret: cfg.GitHubClientSecret,
			AuthURL:      cfg.GitHubAuthURL,
			TokenURL:     cfg.GitHubTokenURL,
			UserInfoURL:  cfg.GitHubUserInfoURL,
		}}
	}
	if !sameProviders(users.OAuth2.Providers, providers) || !users.OAuth2.Enabled {
		users.OAuth2.Enabled = true
		users.OAuth2.Providers = providers
		if err := app.Save(users); err != nil {
			return fmt.Errorf("songcommons: saving GitHub sign-in settings: %w", err)
		}
	}
	if cfg.SignInEnabled() {
		say(cfg, "songcommons: GitHub sign-in is on (client id %s)", cfg.GitHubClientID)
		app.Logger().Info("songcommons: GitHub sign-in is on")
	} else {
		say(cfg, "songcommons: GitHub sign-in is OFF: set SONGCOMMONS_GITHUB_CLIENT_ID and SONGCOMMONS_GITHUB_CLIENT_SECRET to let contributors sign in; until then nobody but superusers can contribute")
		app.Logger().Warn("songcommons: GitHub sign-in is off (SONGCOMMONS_GITHUB_CLIENT_ID / SONGCOMMONS_GITHUB_CLIENT_SECRET unset); contributions are closed")
	}

	st := app.Settings()
	if st.Backups.Cron != cfg.BackupCron || st.Backups.CronMaxKeep != cfg.BackupKeep {
		st.Backups.Cron = cfg.BackupCron
		st.Backups.CronMaxKeep = cfg.BackupKeep
		if err := app.Save(st); err != nil {
			return fmt.Errorf("songcommons: backup settings: %w", err)
		}
	}
	say(cfg, "songcommons %s: public read %v, log window %s, IPs %s, daily quota %d songs, rate limits %v, backups %q (keep %d)",
		config.Version, cfg.PublicRead, config.FormatRetention(cfg.LogRetention), cfg.IPMode, cfg.DailyQuota, cfg.RateLimits, cfg.BackupCron, cfg.BackupKeep)

	read := ""
	if !cfg.PublicRead {
		read = signedInReadRule
	}
	for _, name := range append([]string{"songs"}, ContributedCollections...) {
		c, err := app.FindCollectionByNameOrId(name)
		if err != nil {
			return fmt.Errorf("songcommons: %s collection: %w", name, err)
		}
		if c.ListRule != nil && *c.ListRule == read && c.ViewRule != nil && *c.ViewRule == read {
			continue
		}
		c.ListRule = types.Pointer(read)
		c.ViewRule = types.Pointer(read)
		if err := app.Save(c); err != nil {
			return fmt.Errorf("songcommons: %s read rule: %w", name, err)
		}
	}
	return nil
}

func sameProviders(a, b []core.OAuth2ProviderConfig) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Name != y.Name || x.ClientId != y.ClientId || x.ClientSecret != y.ClientSecret ||
			x.AuthURL != y.AuthURL || x.TokenURL != y.TokenURL || x.UserInfoURL != y.UserInfoURL {
			return false
		}
	}
	return true
}

// say prints a start-up notice on the console.
func say(cfg config.Config, format string, args ...any) {
	if !cfg.Quiet {
		log.Printf(format, args...)
	}
}
