package hooks

import (
	"slices"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/contribute"
	"songcommons/fingerprint"
	"songcommons/songdata"
)

// ReceiptHeader carries the receipt secret on record and batch creates of
// contributed rows (contribute.ReceiptTag).
const ReceiptHeader = "X-Songcommons-Receipt"

// bindContributedRecords puts every contributed record that goes through
// PocketBase's record pipeline (record API, /api/batch, dashboard,
// deletions by receipt or moderation) on the write path's steps
// (contribute): validation and canonical values, a server-chosen id, the
// receipt tag, a random rowid, the songs table, and after the commit the
// similarity and search indexes (the After*Success hooks run only after the
// transaction commits, so a rolled-back batch never reaches the index).
func bindContributedRecords(app core.App, w *contribute.Writer) {
	app.OnRecordValidate(ContributedCollections...).BindFunc(func(e *core.RecordEvent) error {
		if err := w.Canonicalise(e.Record); err != nil {
			return err
		}
		return e.Next()
	})

	// ids of contributed rows are always chosen by the server (random), so a
	// client cannot give the rows of one upload a shared pattern
	app.OnRecordCreateRequest(ContributedCollections...).BindFunc(func(e *core.RecordRequestEvent) error {
		info, err := e.RequestInfo()
		if err == nil {
			if _, ok := info.Body["id"]; ok {
				return e.BadRequestError("Failed to create record.", validation.Errors{
					"id": validation.NewError("validation_not_allowed", "id is assigned by the server; leave it out"),
				})
			}
		}
		return e.Next()
	})
	// a score record may carry its fingerprint as fpcalc -raw's integers
	// (no column of its own): stored in the compressed form
	app.OnRecordCreateRequest(songdata.ScoreCollection).BindFunc(func(e *core.RecordRequestEvent) error {
		info, err := e.RequestInfo()
		if err != nil || info.Body[songdata.RawPrintField] == nil {
			return e.Next()
		}
		in := map[string]any{songdata.RawPrintField: info.Body[songdata.RawPrintField]}
		if f := e.Record.GetString("fingerprint"); f != "" {
			in["fingerprint"] = f
		}
		items, errs := songdata.CheckFingerprint(in, "", e.Record.GetFloat("duration"))
		if errs != nil {
			return e.BadRequestError("Failed to create record.", errs)
		}
		e.Record.Set("fingerprint", fingerprint.Encode(items, fingerprint.DefaultAlgorithm))
		return e.Next()
	})
	app.OnRecordCreateRequest(ContributedCollections...).BindFunc(func(e *core.RecordRequestEvent) error {
		secret := e.Request.Header.Get(ReceiptHeader)
		if secret != "" {
			if err := contribute.CheckSecret(secret); err != nil {
				return e.BadRequestError("Invalid receipt secret.", fieldErr("receipt_secret", "validation_invalid_value", err.Error()))
			}
		}
		contribute.TagRecord(e.Record, secret)
		return e.Next()
	})

	app.OnRecordCreateExecute(ContributedCollections...).BindFunc(func(e *core.RecordEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		return contribute.PlaceRecord(e.App, e.Record)
	})
	songs := func(e *core.RecordEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		return contribute.RefreshSongsOf(e.App, e.Record)
	}
	app.OnRecordCreateExecute(ContributedCollections...).BindFunc(songs)
	app.OnRecordUpdateExecute(ContributedCollections...).BindFunc(songs)
	app.OnRecordDeleteExecute(ContributedCollections...).BindFunc(songs)

	index := func(e *core.RecordEvent) error {
		w.RefreshIndexOf(e.App, e.Record)
		return e.Next()
	}
	// the contributed rows and the songs rows themselves (a superuser's
	// edit or delete in the dashboard)
	indexed := append(slices.Clone(ContributedCollections), "songs")
	app.OnRecordAfterCreateSuccess(indexed...).BindFunc(index)
	app.OnRecordAfterUpdateSuccess(indexed...).BindFunc(index)
	app.OnRecordAfterDeleteSuccess(indexed...).BindFunc(index)

	// moderation: deleting a song (superusers, in the dashboard) deletes its
	// contributions, through the app so the index follows
	app.OnRecordDeleteExecute("songs").BindFunc(func(e *core.RecordEvent) error {
		if err := contribute.DeleteSong(e.App, e.Record.GetString("song_key")); err != nil {
			return err
		}
		return e.Next()
	})
}
