package hooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"songcommons/config"

	"github.com/pocketbase/pocketbase/core"
)

// quotas counts the rows each account stored today, in memory only:
// nothing that changes with a user's uploads is written to disk (a
// counter on the account would be an upload's size, written next to it).
// Counters are keyed by a keyed hash of the GitHub id, with a key drawn at
// start-up and never stored, so erasing an account and signing in again
// finds the same counter, and the map holds no id in clear. They are lost
// on restart (a restart gives everyone a fresh day's quota: README).
type quotas struct {
	mu     sync.Mutex
	key    [32]byte
	counts map[string]*quotaEntry // by quotaKey
	keys   map[string]string      // users.id -> quotaKey, so uploads need no lookup
}

type quotaEntry struct {
	day string // "2006-01-02"
	n   int
}

func newQuotas() *quotas {
	q := &quotas{counts: map[string]*quotaEntry{}, keys: map[string]string{}}
	if _, err := rand.Read(q.key[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return q
}

func dayString(t time.Time) string { return t.UTC().Format("2006-01-02") }

// quotaKey is the counter's key of an account: HMAC-SHA256 of its GitHub
// id (of its record id when it has no GitHub link, e.g. made by an admin).
func (q *quotas) quotaKey(app core.App, user *core.Record) string {
	q.mu.Lock()
	k, ok := q.keys[user.Id]
	q.mu.Unlock()
	if ok {
		return k
	}
	who := "record:" + user.Id
	if links, err := app.FindAllExternalAuthsByRecord(user); err == nil {
		for _, l := range links {
			if l.Provider() == "github" {
				who = "github:" + l.ProviderId()
			}
		}
	}
	mac := hmac.New(sha256.New, q.key[:])
	mac.Write([]byte(who))
	k = hex.EncodeToString(mac.Sum(nil))
	q.mu.Lock()
	q.keys[user.Id] = k
	q.mu.Unlock()
	return k
}

// entry returns the counter for today (q.mu held).
func (q *quotas) entry(key string) *quotaEntry {
	today := dayString(time.Now())
	e := q.counts[key]
	if e == nil {
		e = &quotaEntry{day: today}
		q.counts[key] = e
	}
	if e.day != today {
		e.day, e.n = today, 0
	}
	return e
}

// forget drops the record id's cached key (the account is gone); its
// counter stays, under the GitHub id's key, until the day is over.
func (q *quotas) forget(id string) {
	q.mu.Lock()
	delete(q.keys, id)
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
	key := a.q.quotaKey(e.App, user)
	a.q.mu.Lock()
	defer a.q.mu.Unlock()
	en := a.q.entry(key)
	if a.cfg.DailyQuota > 0 && en.n+n > a.cfg.DailyQuota {
		now := time.Now().UTC()
		reset := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
		wait := reset.Sub(now).Round(time.Minute)
		e.Response.Header().Set("Retry-After", fmt.Sprint(int(reset.Sub(now).Seconds())+1))
		return e.Error(http.StatusTooManyRequests, fmt.Sprintf(
			"Daily upload quota reached: %d of %d rows today, this upload has %d. It resets at 00:00 UTC (in %s).",
			en.n, a.cfg.DailyQuota, n, strings.TrimSuffix(wait.String(), "0s")), nil)
	}
	en.n += n
	return nil
}

// refund gives back the quota of an upload that was not stored.
func (a *accounts) refund(app core.App, user *core.Record, n int) {
	if user == nil || user.Collection().Name != "users" {
		return
	}
	key := a.q.quotaKey(app, user)
	a.q.mu.Lock()
	defer a.q.mu.Unlock()
	en := a.q.entry(key)
	en.n = max(0, en.n-n)
}

type accounts struct {
	cfg config.Config
	q   *quotas
}

// bindAccounts: consent and quota on every upload path (the contributor's
// rights routes and privacy requests are in the route table).
func bindAccounts(app core.App, cfg config.Config) *accounts {
	a := &accounts{cfg: cfg, q: newQuotas()}

	// legacy paths: a batch is admitted as a whole, a single create as one song
	app.OnBatchRequest().BindFunc(func(e *core.BatchRequestEvent) error {
		n := legacyRows(e)
		if n == 0 {
			return e.Next()
		}
		if err := a.admit(e.RequestEvent, n); err != nil {
			return err
		}
		if err := e.Next(); err != nil || e.Status() >= 400 {
			a.refund(e.App, e.Auth, n)
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
			a.refund(e.App, e.Auth, 1)
			return err
		}
		return nil
	})
	return a
}

// legacyRows counts the rows a batch stores: one per create (or upsert)
// on a contributed collection.
func legacyRows(e *core.BatchRequestEvent) int {
	n := 0
	for _, r := range e.Batch {
		m := strings.ToUpper(r.Method)
		if m != http.MethodPost && m != http.MethodPut {
			continue
		}
		if c := recordsPathCollection(r.URL); c != "" && isContributed(e.App, c) {
			n++
		}
	}
	return n
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
	key := a.q.quotaKey(app, user)
	a.q.mu.Lock()
	en := a.q.entry(key)
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
		Quota: map[string]any{"day": qday, "uploaded": uploaded, "daily_limit": a.cfg.DailyQuota, "unit": "rows",
			"kept": "in the server's memory only, under a keyed hash of the GitHub id; lost when the server restarts"},
		Contributions: "Your contributions are not linked to this account: the database holds no user, upload or time " +
			"information on contributed rows, so they cannot be listed here. To delete rows you uploaded, use the receipt " +
			"your client saved (POST /api/songcommons/receipts/delete).",
		Rectification: "Nothing personal here is editable except your consent: the GitHub id comes from GitHub, the dates " +
			"and counters are kept by the service. Give or withdraw consent with POST /api/songcommons/me/consent.",
	}
}

func (a *accounts) meHandler(e *core.RequestEvent) error {
	e.Response.Header().Set("Content-Disposition", `attachment; filename="songcommons-my-data.json"`)
	return e.JSON(http.StatusOK, a.myData(e.App, e.Auth))
}

type consentRequest struct {
	Accept  *bool `json:"accept"`
	Version int   `json:"version"`
}

// consentHandler records consent or its withdrawal (an account write: the
// route runs it under the journal).
func (a *accounts) consentHandler(e *core.RequestEvent) error {
	var req consentRequest
	if err := readJSON(e, maxConsentBody, &req); err != nil {
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

// deleteMeHandler erases the account and its GitHub link (an account
// write: the route runs it under the journal).
func (a *accounts) deleteMeHandler(e *core.RequestEvent) error {
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
	if err := readJSON(e, maxPrivacyBody, &req); err != nil {
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
