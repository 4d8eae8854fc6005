package hooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/auth"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/pocketbase/pocketbase/tools/types"
	"golang.org/x/oauth2"
)

// minimalGitHub is PocketBase's GitHub provider asking for no scope (public
// profile only) and reading nothing but the numeric user id: no e-mail
// request is ever sent, and name, login and avatar are dropped on arrival.
type minimalGitHub struct {
	*auth.Github
}

func newMinimalGitHub() auth.Provider {
	p := auth.NewGithubProvider()
	p.SetScopes(nil)
	return &minimalGitHub{Github: p}
}

// FetchAuthUser returns only the GitHub user id.
func (p *minimalGitHub) FetchAuthUser(token *oauth2.Token) (*auth.AuthUser, error) {
	data, err := p.FetchRawUserInfo(token)
	if err != nil {
		return nil, err
	}
	var u struct {
		ID json.Number `json:"id"`
	}
	if err := json.Unmarshal(data, &u); err != nil {
		return nil, fmt.Errorf("github user info: %w", err)
	}
	id, err := strconv.ParseInt(string(u.ID), 10, 64)
	if err != nil || id <= 0 {
		return nil, errors.New("github user info has no numeric id")
	}
	return &auth.AuthUser{Id: strconv.FormatInt(id, 10)}, nil
}

var installProvider sync.Once

// bindOAuth keeps from GitHub the public user id only, and keeps account
// timestamps to the day.
func bindOAuth(app core.App) {
	installProvider.Do(func() {
		auth.Providers[auth.NameGithub] = newMinimalGitHub
	})

	// whatever the provider returned, pass on the id only: nothing else is
	// stored, mapped, downloaded (avatar) or returned to the client (e-mail,
	// name, access token), and sign-up data from the client is ignored
	app.OnRecordAuthWithOAuth2Request("users").BindFunc(func(e *core.RecordAuthWithOAuth2RequestEvent) error {
		if e.OAuth2User != nil {
			e.OAuth2User = &auth.AuthUser{Id: e.OAuth2User.Id}
		}
		e.CreateData = nil
		return e.Next()
	})
	app.OnRecordAuthRequest("users").BindFunc(func(e *core.RecordAuthRequestEvent) error {
		if e.Meta != nil {
			isNew := false
			if m, ok := e.Meta.(map[string]any); ok {
				isNew, _ = m["isNew"].(bool)
			}
			e.Meta = map[string]any{"isNew": isNew}
		}
		return e.Next()
	})

	// account dates to the day
	app.OnRecordCreate("users").BindFunc(func(e *core.RecordEvent) error {
		e.Record.Set("created", Today())
		e.Record.Set(core.FieldNameEmail, "")
		return e.Next()
	})
	app.OnRecordCreateExecute(core.CollectionNameExternalAuths).BindFunc(func(e *core.RecordEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		return coarsenTimestamps(e.App, core.CollectionNameExternalAuths, e.Record.Id)
	})
}

// Today is the current UTC day at midnight: the finest time the service
// keeps about an account.
func Today() types.DateTime {
	now := time.Now().UTC()
	d, _ := types.ParseDateTime(time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC))
	return d
}

func coarsenTimestamps(app core.App, table, id string) error {
	day := Today().String()
	_, err := app.DB().NewQuery("UPDATE {{" + table + "}} SET [[created]] = {:day}, [[updated]] = {:day} WHERE [[id]] = {:id}").
		Bind(map[string]any{"day": day, "id": id}).Execute()
	return err
}

// EmailRouteClosedMessage answers a request to one of emailRoutes.
const EmailRouteClosedMessage = "Contributor accounts sign in with GitHub only and have no e-mail address or password here, so this route is closed."

// bindGitHubOnly closes PocketBase's auth routes that work through an
// e-mail address or a password (emailRoutes) for the users collection.
// Contributor accounts have neither (GitHub sign-in only, no e-mail kept),
// so they are closed before they read the body: nothing typed into them
// reaches a lookup or a log. Superusers keep theirs (the dashboard signs in
// with a password). The routes are found by the pattern PocketBase
// registered them under, compared whole; TestEmailRoutesClosed fails if
// PocketBase renames one.
func bindGitHubOnly(app core.App) {
	closed := map[string]bool{}
	for _, r := range emailRoutes {
		closed["POST /api/collections/{collection}/"+r] = true
	}
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		se.Router.Bind(&hook.Handler[*core.RequestEvent]{
			Id:       "songcommonsGitHubOnly",
			Priority: apis.DefaultRateLimitMiddlewarePriority - 40,
			Func: func(e *core.RequestEvent) error {
				if !closed[e.Request.Pattern] || !collectionIn(e.App, e.Request.PathValue("collection"), []string{"users"}) {
					return e.Next()
				}
				return e.NotFoundError(EmailRouteClosedMessage, nil)
			},
		})
		return se.Next()
	})
}
