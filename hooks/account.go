package hooks

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// quotas counts each account's uploads of the current UTC day. The counts
// are kept on the account (users.uploads_day / uploads_count) but written
// in one periodic batch for all accounts, never in the transaction of an
// upload: a write to an account row next to the pages of an upload (in
// the same transaction, or adjacent in SQLite's WAL) would link the two.
type quotas struct {
	mu     sync.Mutex
	counts map[string]*quotaEntry
}

type quotaEntry struct {
	day   string // "2006-01-02"
	n     int
	dirty bool
}

func dayString(t time.Time) string { return t.UTC().Format("2006-01-02") }

// entry returns the account's counter for today, loading it from the
// account the first time.
func (q *quotas) entry(user *core.Record) *quotaEntry {
	today := dayString(time.Now())
	e := q.counts[user.Id]
	if e == nil {
		e = &quotaEntry{day: today}
		if d := user.GetDateTime("uploads_day"); !d.IsZero() && dayString(d.Time()) == today {
			e.n = user.GetInt("uploads_count")
		}
		q.counts[user.Id] = e
	}
	if e.day != today {
		e.day, e.n, e.dirty = today, 0, true
	}
	return e
}

// flush writes the changed counters, all in one transaction.
func (q *quotas) flush(app core.App) error {
	q.mu.Lock()
	pending := map[string]quotaEntry{}
	for id, e := range q.counts {
		if e.dirty {
			pending[id] = *e
			e.dirty = false
		}
	}
	q.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	return app.RunInTransaction(func(tx core.App) error {
		for id, e := range pending {
			day, _ := types.ParseDateTime(e.day + " 00:00:00.000Z")
			if _, err := tx.DB().Update("users", dbx.Params{"uploads_day": day.String(), "uploads_count": e.n},
				dbx.HashExp{"id": id}).Execute(); err != nil {
				return err
			}
		}
		return nil
	})
}

func (q *quotas) forget(id string) {
	q.mu.Lock()
	delete(q.counts, id)
	q.mu.Unlock()
}

// ConsentMessage tells a contributor how to give consent.
func consentMessage(version int) string {
	return fmt.Sprintf("Accept the privacy policy (version %d) before uploading: open the Contribute page of this site, or POST {\"accept\":true,\"version\":%d} to /api/songcommons/me/consent.", version, version)
}

// admit checks consent and the daily quota for an upload of n songs, and
// counts them when admitted.
func (a *accounts) admit(e *core.RequestEvent, n int) error {
	user := e.Auth
	if user == nil || user.Collection().Name != "users" {
		return nil // superusers (moderation, imports) are not counted
	}
	if user.GetBool("uploads_paused") {
		return e.ForbiddenError("Uploads are paused for this account because consent was withdrawn. "+consentMessage(a.cfg.PolicyVersion), nil)
	}
	if user.GetInt("policy_version") < a.cfg.PolicyVersion {
		return e.ForbiddenError(consentMessage(a.cfg.PolicyVersion), nil)
	}
	a.q.mu.Lock()
	defer a.q.mu.Unlock()
	en := a.q.entry(user)
	if a.cfg.DailyQuota > 0 && en.n+n > a.cfg.DailyQuota {
		now := time.Now().UTC()
		reset := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
		wait := reset.Sub(now).Round(time.Minute)
		e.Response.Header().Set("Retry-After", fmt.Sprint(int(reset.Sub(now).Seconds())+1))
		return e.Error(http.StatusTooManyRequests, fmt.Sprintf(
			"Daily upload quota reached: %d of %d songs today, this upload has %d. It resets at 00:00 UTC (in %s).",
			en.n, a.cfg.DailyQuota, n, strings.TrimSuffix(wait.String(), "0s")), nil)
	}
	en.n += n
	en.dirty = true
	return nil
}

// refund gives back the quota of an upload that was not stored.
func (a *accounts) refund(user *core.Record, n int) {
	if user == nil || user.Collection().Name != "users" {
		return
	}
	a.q.mu.Lock()
	defer a.q.mu.Unlock()
	en := a.q.entry(user)
	en.n = max(0, en.n-n)
	en.dirty = true
}

type accounts struct {
	cfg Config
	q   *quotas
}

// bindAccounts: consent and quota on every upload path, the contributor's
// rights routes, and privacy requests.
func bindAccounts(app core.App, cfg Config) *accounts {
	a := &accounts{cfg: cfg, q: &quotas{counts: map[string]*quotaEntry{}}}

	// legacy paths: a batch is admitted as a whole, a single create as one song
	app.OnBatchRequest().BindFunc(func(e *core.BatchRequestEvent) error {
		n := legacySongs(e)
		if n == 0 {
			return e.Next()
		}
		if err := a.admit(e.RequestEvent, n); err != nil {
			return err
		}
		if err := e.Next(); err != nil || e.Status() >= 400 {
			a.refund(e.Auth, n)
			return err
		}
		return nil
	})
	app.OnRecordCreateRequest(ContributedCollections...).BindFunc(func(e *core.RecordRequestEvent) error {
		if info, err := e.RequestInfo(); err == nil && info.Context == core.RequestInfoContextBatch {
			return e.Next() // admitted with its batch
		}
		if err := a.admit(e.RequestEvent, 1); err != nil {
			return err
		}
		if err := e.Next(); err != nil {
			a.refund(e.Auth, 1)
			return err
		}
		return nil
	})

	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		g := se.Router.Group("/api/songcommons")
		g.GET("/me", a.meHandler)
		g.DELETE("/me", a.deleteMeHandler)
		g.POST("/me/consent", a.consentHandler)
		g.POST("/privacy-requests", privacyRequestHandler)
		se.App.Cron().MustAdd("songcommonsQuotaFlush", "*/10 * * * *", func() {
			if err := a.q.flush(se.App); err != nil {
				se.App.Logger().Error("songcommons: quota flush failed", "error", err.Error())
			}
		})
		return se.Next()
	})
	app.OnTerminate().BindFunc(func(e *core.TerminateEvent) error {
		_ = a.q.flush(e.App)
		return e.Next()
	})
	return a
}

// legacySongs counts the songs a batch uploads: one per score create, and
// one per embedding create that has no score create of the same song.
func legacySongs(e *core.BatchRequestEvent) int {
	scores := map[string]bool{}
	var embs []string
	for _, r := range e.Batch {
		m := strings.ToUpper(r.Method)
		if m != http.MethodPost && m != http.MethodPut {
			continue
		}
		c := recordsPathCollection(r.URL)
		if c == "" || !isContributed(e.App, c) {
			continue
		}
		artist, _ := r.Body["artist"].(string)
		title, _ := r.Body["title"].(string)
		k := artist + "\x00" + title
		if c == "embedding" {
			embs = append(embs, k)
		} else {
			scores[k] = true
		}
	}
	n := len(scores)
	for _, k := range embs {
		if !scores[k] {
			n++
		}
	}
	return n
}

func (a *accounts) requireUser(e *core.RequestEvent) error {
	if e.Auth == nil {
		return e.UnauthorizedError("Sign in with GitHub to see or change your account.", nil)
	}
	if e.Auth.Collection().Name != "users" {
		return e.ForbiddenError("This route is for contributor accounts.", nil)
	}
	return nil
}

// MyData is everything the service holds about an account.
type MyData struct {
	GitHubID      string         `json:"github_id"`
	Account       map[string]any `json:"account"`
	Consent       map[string]any `json:"consent"`
	Quota         map[string]any `json:"quota"`
	Contributions string         `json:"contributions"`
	Rectification string         `json:"rectification"`
}

func (a *accounts) myData(app core.App, user *core.Record) MyData {
	gh := ""
	if links, err := app.FindAllExternalAuthsByRecord(user); err == nil {
		for _, l := range links {
			if l.Provider() == "github" {
				gh = l.ProviderId()
			}
		}
	}
	a.q.mu.Lock()
	en := a.q.entry(user)
	uploaded, qday := en.n, en.day
	a.q.mu.Unlock()
	day := func(f string) string {
		d := user.GetDateTime(f)
		if d.IsZero() {
			return ""
		}
		return dayString(d.Time())
	}
	return MyData{
		GitHubID: gh,
		Account:  map[string]any{"id": user.Id, "created": day("created")},
		Consent: map[string]any{"version": user.GetInt("policy_version"), "day": day("policy_day"),
			"current_version": a.cfg.PolicyVersion,
			"uploads_enabled": !user.GetBool("uploads_paused") && user.GetInt("policy_version") >= a.cfg.PolicyVersion},
		Quota: map[string]any{"day": qday, "uploaded": uploaded, "daily_limit": a.cfg.DailyQuota},
		Contributions: "Your contributions are not linked to this account: the database holds no user, upload or time " +
			"information on contributed rows, so they cannot be listed here. To delete rows you uploaded, use the receipt " +
			"your client saved (POST /api/songcommons/receipts/delete).",
		Rectification: "Nothing personal here is editable except your consent: the GitHub id comes from GitHub, the dates " +
			"and counters are kept by the service. Give or withdraw consent with POST /api/songcommons/me/consent.",
	}
}

func (a *accounts) meHandler(e *core.RequestEvent) error {
	if err := a.requireUser(e); err != nil {
		return err
	}
	e.Response.Header().Set("Content-Disposition", `attachment; filename="songcommons-my-data.json"`)
	return e.JSON(http.StatusOK, a.myData(e.App, e.Auth))
}

type consentRequest struct {
	Accept  *bool `json:"accept"`
	Version int   `json:"version"`
}

func (a *accounts) consentHandler(e *core.RequestEvent) error {
	if err := a.requireUser(e); err != nil {
		return err
	}
	var req consentRequest
	if err := readJSON(e, 4<<10, &req); err != nil {
		return err
	}
	if req.Accept == nil {
		return e.BadRequestError("Invalid request data.", fieldErr("accept", "validation_required", "accept is required: true to accept the policy, false to withdraw consent"))
	}
	user, err := e.App.FindRecordById("users", e.Auth.Id)
	if err != nil {
		return e.NotFoundError("The account no longer exists.", err)
	}
	if *req.Accept {
		if req.Version != a.cfg.PolicyVersion {
			return e.BadRequestError("Invalid request data.", fieldErr("version", "validation_invalid_value",
				fmt.Sprintf("the current policy version is %d: read it on the Privacy page and accept that version", a.cfg.PolicyVersion)))
		}
		user.Set("policy_version", a.cfg.PolicyVersion)
		user.Set("policy_day", Today())
		user.Set("uploads_paused", false)
	} else {
		user.Set("uploads_paused", true)
	}
	if err := e.App.Save(user); err != nil {
		return e.InternalServerError("Failed to record consent.", err)
	}
	return e.JSON(http.StatusOK, a.myData(e.App, user))
}

func (a *accounts) deleteMeHandler(e *core.RequestEvent) error {
	if err := a.requireUser(e); err != nil {
		return err
	}
	user, err := e.App.FindRecordById("users", e.Auth.Id)
	if err != nil {
		return e.NotFoundError("The account no longer exists.", err)
	}
	err = e.App.RunInTransaction(func(tx core.App) error {
		links, err := tx.FindAllExternalAuthsByRecord(user)
		if err != nil {
			return err
		}
		for _, l := range links {
			if err := tx.Delete(l); err != nil {
				return err
			}
		}
		return tx.Delete(user)
	})
	if err != nil {
		return e.InternalServerError("Failed to delete the account.", err)
	}
	a.q.forget(user.Id)
	return e.NoContent(http.StatusNoContent)
}

type privacyRequest struct {
	Text    string `json:"text"`
	Contact string `json:"contact"`
}

// privacyRequestHandler stores a rights request for a person to handle:
// the text and a contact the requester chose to give, and the day. Not the
// account, even when signed in.
func privacyRequestHandler(e *core.RequestEvent) error {
	var req privacyRequest
	if err := readJSON(e, 16<<10, &req); err != nil {
		return err
	}
	text := strings.TrimSpace(req.Text)
	if text == "" {
		return e.BadRequestError("Invalid request data.", fieldErr("text", "validation_required", "text is required: describe your request"))
	}
	if utf8.RuneCountInString(text) > 5000 || !utf8.ValidString(text) {
		return e.BadRequestError("Invalid request data.", fieldErr("text", "validation_too_long", "text must be valid text of at most 5000 characters"))
	}
	contact := strings.TrimSpace(req.Contact)
	if utf8.RuneCountInString(contact) > 320 || !utf8.ValidString(contact) || strings.ContainsAny(contact, "\r\n") {
		return e.BadRequestError("Invalid request data.", fieldErr("contact", "validation_invalid_value", "contact must be one line of at most 320 characters"))
	}
	col, err := e.App.FindCollectionByNameOrId("privacy_requests")
	if err != nil {
		return e.InternalServerError("Failed to store the request.", err)
	}
	r := core.NewRecord(col)
	r.Set("text", text)
	r.Set("contact", contact)
	r.Set("day", Today())
	if err := e.App.Save(r); err != nil {
		return e.InternalServerError("Failed to store the request.", err)
	}
	return e.JSON(http.StatusCreated, map[string]any{"received": true,
		"message": "Thank you. An administrator reads these requests; if you left a contact, you will get an answer there."})
}
