package hooks

import (
	"net/http"
	"slices"
	"strings"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/contribute"
	"songcommons/songdata"
)

// bindBatchFastPath stores a legacy /api/batch upload (AudioMuse-AI's:
// record creates on score and embedding, 50 at a time) with the bulk path
// of /contribute instead of PocketBase's per-record pipeline, which ran
// every hook, a rowid UPDATE, a songs refresh and an index refresh per
// record. It is bound after the sign-in, consent and quota hooks (so those
// have admitted the batch) and answers exactly what PocketBase would: one
// {"status":200,"body":record} per sub-request, in order.
//
// It takes a batch only when every sub-request is a plain create on a
// contributed collection and every body passes the validator. Anything
// else (another method or collection, a query string, per-request headers,
// a client-chosen id, unknown fields, a bad value) goes down PocketBase's
// own path, which gives its exact errors; nothing is stored twice, since
// the fast path stores all or nothing.
func bindBatchFastPath(app core.App, w *contribute.Writer) {
	app.OnBatchRequest().BindFunc(func(e *core.BatchRequestEvent) error {
		if e.Auth == nil || e.Auth.Collection().Name != "users" {
			return e.Next()
		}
		plan, ok := planFastBatch(e)
		if !ok {
			return e.Next()
		}
		secret := e.Request.Header.Get(ReceiptHeader)
		if secret != "" && contribute.CheckSecret(secret) != nil {
			return e.Next() // PocketBase's path answers with the field error
		}
		ids, err := w.Store(plan.contribs, secret) // the batch holds the journal (bindJournal)
		if err != nil {
			e.App.Logger().Warn("songcommons: batch fast path failed, retrying the batch record by record", "error", err.Error())
			return e.Next()
		}
		out := make([]*apis.BatchRequestResult, len(plan.records))
		for i, r := range plan.records {
			c := plan.contribs[i]
			if c.Score != nil {
				r.Id = ids.Songs[i].Score
			} else {
				r.Id = ids.Songs[i].Embedding[c.Embeddings[0].Model]
			}
			// the song the write path filed it under (its fingerprint's)
			r.Set("song_key", c.Identity().SongKey)
			r.Set("tags_key", c.Identity().TagsKey)
			out[i] = &apis.BatchRequestResult{Status: http.StatusOK, Body: r}
		}
		return e.JSON(http.StatusOK, out)
	})
}

type fastBatch struct {
	records  []*core.Record          // one per sub-request: its canonical values, for the answer
	contribs []songdata.Contribution // one per sub-request
}

// planFastBatch validates a batch for the fast path, or says it is not one.
func planFastBatch(e *core.BatchRequestEvent) (fastBatch, bool) {
	var plan fastBatch
	for _, r := range e.Batch {
		if !strings.EqualFold(r.Method, http.MethodPost) || len(r.Headers) > 0 || strings.ContainsAny(r.URL, "?#") {
			return plan, false
		}
		name := recordsPathCollection(r.URL)
		if r.URL != "/api/collections/"+name+"/records" {
			return plan, false
		}
		fields := contribute.RecordFields(name)
		coll, err := e.App.FindCachedCollectionByNameOrId(name)
		if fields == nil || err != nil {
			return plan, false
		}
		for k := range r.Body {
			if !slices.Contains(fields, k) {
				return plan, false
			}
		}
		// the record path's own type conversions (a numeric string, a
		// vector sent as a JSON string), then its validator
		rec := core.NewRecord(coll)
		rec.Load(r.Body)
		c, values, errs := contribute.CheckRecord(rec)
		if errs != nil {
			return plan, false
		}
		for k, v := range values {
			rec.Set(k, v)
		}
		plan.records = append(plan.records, rec)
		plan.contribs = append(plan.contribs, c)
	}
	return plan, len(plan.records) > 0
}
