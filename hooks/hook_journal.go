package hooks

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/storage"
)

// The journal discipline (storage.Journal) on PocketBase's own routes:
// record writes and batches by what they touch, GitHub sign-ins as account
// writes. The service's routes take it in the route table (account
// writes) or in the write path (contributions).

// AccountBusyMessage answers an account change refused because the
// journal could not be emptied (a long reader, such as a backup).
const AccountBusyMessage = "Account changes are paused for a moment while the database is busy (for example during a backup). Retry in a minute; nothing was changed."

// journalHeld marks a request whose handling already holds the journal:
// PocketBase nests request events (a batch's sub-requests, the record a
// sign-in creates), and the gate is not re-entrant.
const journalHeld = "songcommonsJournalHeld"

// accountRequest runs an account-changing request handler under the
// journal's Account discipline, answering 503 with Retry-After when the
// journal stays busy.
func accountRequest(e *core.RequestEvent, next func() error) error {
	if e.Get(journalHeld) != nil {
		return next()
	}
	err := storage.JournalOf(e.App).Account(func() error {
		e.Set(journalHeld, true)
		return next()
	})
	if errors.Is(err, storage.ErrWALBusy) {
		return accountBusy(e)
	}
	return err
}

// contributionRequest runs a contribution-writing request handler under
// the journal's Contribution discipline.
func contributionRequest(e *core.RequestEvent, next func() error) error {
	if e.Get(journalHeld) != nil {
		return next()
	}
	return storage.JournalOf(e.App).Contribution(func() error {
		e.Set(journalHeld, true)
		return next()
	})
}

// accountBusy is the 503 answer to an account change that could not start.
func accountBusy(e *core.RequestEvent) error {
	e.Response.Header().Set("Retry-After", "60")
	return e.Error(http.StatusServiceUnavailable, AccountBusyMessage, nil)
}

// AccountCollections hold account data: the users, their GitHub links and
// PocketBase's other per-account tables. Their writes run under
// the journal's Account discipline.
var AccountCollections = []string{"users", core.CollectionNameExternalAuths, core.CollectionNameAuthOrigins,
	core.CollectionNameMFAs, core.CollectionNameOTPs}

// journaledCollections are the collections whose writes are contribution
// writes: the contributed rows and the songs derived from them.
var journaledCollections = append([]string{"songs"}, ContributedCollections...)

// collectionIn reports whether nameOrID names one of the collections (by
// name in any case, or by id).
func collectionIn(app core.App, nameOrID string, names []string) bool {
	if slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, nameOrID) }) {
		return true // also names that are no collection (song_vectors)
	}
	c, err := app.FindCachedCollectionByNameOrId(nameOrID)
	return err == nil && slices.Contains(names, c.Name)
}

// bindJournal puts every write of PocketBase's own routes under the
// journal discipline: record writes on the contributed collections as
// contribution writes, record writes on the account collections and
// GitHub sign-ins as account writes, batches by what they touch (a batch
// may not touch both: its one transaction would commit them together).
// The service's own routes call the journal themselves.
func bindJournal(app core.App) {
	app.OnBatchRequest().BindFunc(func(e *core.BatchRequestEvent) error {
		var account, contribution bool
		for _, r := range e.Batch {
			c := recordsPathCollection(r.URL)
			switch {
			case c == "" || strings.EqualFold(r.Method, http.MethodGet):
			case collectionIn(e.App, c, AccountCollections):
				account = true
			case collectionIn(e.App, c, journaledCollections):
				contribution = true
			}
		}
		switch {
		case account && contribution:
			return e.BadRequestError("A batch may not change accounts and contributions together: send them as separate requests.", nil)
		case account:
			return accountRequest(e.RequestEvent, e.Next)
		case contribution:
			return contributionRequest(e.RequestEvent, e.Next)
		}
		return e.Next()
	})

	// a batch's sub-requests are request events of their own: the batch
	// already holds the journal for all of them
	inBatch := func(e *core.RecordRequestEvent) bool {
		info, err := e.RequestInfo()
		return err == nil && info.Context == core.RequestInfoContextBatch
	}
	contributionWrite := func(e *core.RecordRequestEvent) error {
		if inBatch(e) {
			return e.Next()
		}
		return contributionRequest(e.RequestEvent, e.Next)
	}
	accountWrite := func(e *core.RecordRequestEvent) error {
		if inBatch(e) {
			return e.Next()
		}
		return accountRequest(e.RequestEvent, e.Next)
	}
	app.OnRecordCreateRequest(journaledCollections...).BindFunc(contributionWrite)
	app.OnRecordUpdateRequest(journaledCollections...).BindFunc(contributionWrite)
	app.OnRecordDeleteRequest(journaledCollections...).BindFunc(contributionWrite)
	app.OnRecordCreateRequest(AccountCollections...).BindFunc(accountWrite)
	app.OnRecordUpdateRequest(AccountCollections...).BindFunc(accountWrite)
	app.OnRecordDeleteRequest(AccountCollections...).BindFunc(accountWrite)
	// a sign-in creates the account and its GitHub link on first use
	app.OnRecordAuthWithOAuth2Request().BindFunc(func(e *core.RecordAuthWithOAuth2RequestEvent) error {
		return accountRequest(e.RequestEvent, e.Next)
	})
}
