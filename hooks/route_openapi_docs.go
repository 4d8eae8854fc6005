package hooks

import (
	"fmt"
	"net/http"

	"songcommons/catalog"
	"songcommons/contribute"
)

// What the API documentation says of each service route (route_openapi.go adds
// what the route's guards say).

var songKeyDoc = `a song key ("artist|title", normalised as the service does)`

var modelParam = param{name: "model", description: "the embedding model (default musicnn)", schema: str("")}

var (
	lookupDoc = apiDoc{
		summary:     "Look up songs",
		description: "Up to 1,000 songs by audio fingerprint, artist and title, MBID or ISRC (any mix; each song's identifiers are tried in that order), answered in order: each song's consensus analysis, the identifier that found it (matched_by) and, for a fingerprint, how well it matched, and on request its embeddings; or found:false, with the candidates when an identifier matched several songs (none is picked).",
		request: obj([]string{"songs"},
			"songs", with(arr(obj(nil,
				"fingerprint", str("the Chromaprint fingerprint as fpcalc prints it (FINGERPRINT=…), with duration"),
				"fingerprint_raw", arr(intg(""), "the fingerprint as the integers of fpcalc -raw, with duration"),
				"duration", schema{"type": "number", "description": "the recording's length in seconds (fpcalc's DURATION); required with a fingerprint"},
				"artist", str("with title"), "title", str("with artist"),
				"mbid", str("a MusicBrainz recording id"), "isrc", str("an ISRC")), "the songs, each by fingerprint, artist and title, mbid or isrc"),
				"maxItems", MaxLookup),
			"embeddings", schema{"description": "true (every model), false, or a list of model names",
				"anyOf": []any{boolean(""), arr(str(""), "")}}),
		result: obj([]string{"results", "found", "missing"},
			"results", arr(typeOf[catalog.SongAnswer](), "one answer per song asked, in order"),
			"found", intg("songs found"), "missing", intg("songs not found")),
	}
	similarGetDoc = apiDoc{
		summary:     "Songs similar to a song",
		description: "The songs most similar to a song, by cosine similarity of the songs' consensus vectors of one model.",
		params: []param{
			{name: "song", description: songKeyDoc + " or a record id of score, embedding or songs", schema: str(""), required: true},
			modelParam,
			{name: "k", description: "how many songs (1 to 100; default 10)", schema: intg("")},
			{name: "approx", description: "true or 1: an approximate search, when the server has it on", schema: str("")},
		},
		result: similarResult,
		errors: map[int]string{http.StatusNotFound: "The song has no vector of this model yet."},
	}
	searchDoc = apiDoc{
		summary: "Search songs by name",
		description: "The songs whose artist, title or album hold every word of q, as a whole word or its beginning (folded like song keys: case and accents do not matter; " +
			"CJK text matches by characters and character pairs), best first: more whole-word matches, then more contributions. " +
			"The total is exact up to 10,000 and capped there (capped: true); pages go that deep.",
		params: []param{
			{name: "q", description: fmt.Sprintf("the words to search for (1 to %d characters)", MaxSearchQuery), schema: str(""), required: true},
			{name: "page", description: "the page, from 1 (page × perPage ≤ 10,000)", schema: intg("")},
			{name: "perPage", description: fmt.Sprintf("songs per page (1 to %d; default %d)", maxSearchPerPage, DefaultSearchPage), schema: intg("")},
		},
		result: obj([]string{"query", "page", "perPage", "total", "capped", "results"},
			"query", str("the query searched"), "page", intg("the page"), "perPage", intg("songs per page"),
			"total", intg("songs matching (at most 10,000 when capped)"),
			"capped", boolean("more songs match than total says (show it as \"10,000+\")"),
			"results", arr(typeOf[catalog.SearchHit](), "the songs of the page, best first")),
	}
	similarPostDoc = apiDoc{
		summary: "Songs similar to a vector",
		request: obj([]string{"vector"},
			"vector", arr(num(""), "the model's number of values, finite, not all zeros"),
			"model", str("the embedding model (default musicnn)"),
			"k", intg("how many songs (1 to 100; default 10)"),
			"exclude", with(arr(str(""), "song keys to leave out"), "maxItems", 1000),
			"approx", boolean("an approximate search, when the server has it on")),
		result: similarResult,
	}
	similarResult = obj([]string{"model", "k", "approx", "results"},
		"model", str("the model searched"), "k", intg("how many were asked for"),
		"approx", boolean("whether the search was approximate"),
		"results", arr(typeOf[catalog.SimilarHit](), "the most similar songs, best first"))

	contributeDoc = apiDoc{
		summary: "Contribute songs",
		description: "Up to 500 songs, each with its analysis and/or embeddings, stored all or nothing and without any link to the account. " +
			"Identical songs in one request are stored once. With a receipt secret, the answer lists the rows to keep with it.",
		request: obj([]string{"songs"},
			"songs", with(arr(ref("Song"), ""), "maxItems", MaxContribute),
			"receipt_secret", with(str("a random string the client keeps, to delete these rows later"),
				"minLength", contribute.MinSecretLen, "maxLength", contribute.MaxSecretLen)),
		result: obj([]string{"accepted", "duplicates", "score", "embedding", "songs"},
			"accepted", intg("songs stored"), "duplicates", intg("songs repeated in the request, stored once"),
			"score", arr(str(""), "ids of the score rows"), "embedding", arr(str(""), "ids of the embedding rows"),
			"songs", arr(typeOf[contribute.StoredSongIDs](), "the row ids of each song of the request, in order"),
			"receipt", typeOf[contribute.Receipt]()),
	}
	receiptsDeleteDoc = apiDoc{
		summary:     "Delete rows by receipt",
		description: "Deletes the rows of a receipt whose stored tag matches the secret, and nothing else; signed in or not.",
		request: obj([]string{"secret", "rows"},
			"secret", str("the receipt secret"),
			"rows", with(arr(typeOf[contribute.ReceiptRow](), "the rows of the receipt"), "maxItems", MaxReceiptRows)),
		result: obj([]string{"deleted", "unmatched"}, "deleted", intg("rows deleted"),
			"unmatched", intg("rows not deleted: gone already, or their tag does not match")),
	}
	meDoc = apiDoc{
		summary:     "My data",
		description: "Everything the service holds about the signed-in account, as a JSON download.",
		result:      typeOf[MyData](),
		download:    true,
		errors:      map[int]string{http.StatusNotFound: "The account no longer exists."},
	}
	deleteMeDoc = apiDoc{
		summary:     "Delete my account",
		description: "Deletes the account and its GitHub link; anonymous contributions stay.",
		status:      http.StatusNoContent,
		errors:      map[int]string{http.StatusNotFound: "The account no longer exists."},
	}
	consentDoc = apiDoc{
		summary:     "Give or withdraw consent",
		description: "Accepts the current privacy policy ({\"accept\":true,\"version\":N}) or withdraws consent ({\"accept\":false}); uploads pause until it is given again.",
		request: obj([]string{"accept"}, "accept", boolean("true to accept the policy, false to withdraw consent"),
			"version", intg("the policy version accepted (the current one)")),
		result: typeOf[MyData](),
		errors: map[int]string{http.StatusNotFound: "The account no longer exists."},
	}
	privacyRequestDoc = apiDoc{
		summary:     "Send a privacy request",
		description: "A rights request for a person to handle, stored with the day and without any account.",
		request: obj([]string{"text"}, "text", with(str("the request"), "maxLength", 5000),
			"contact", with(str("where to answer, if the requester wants an answer"), "maxLength", 320)),
		status: http.StatusCreated,
		result: obj([]string{"received", "message"}, "received", boolean(""), "message", str("")),
	}
	statusDoc = apiDoc{
		summary:     "Server status",
		description: "The server's version, dataset counts, index sizes per model, sign-in state and privacy settings.",
		result:      typeOf[Status](),
	}
	statsDoc = apiDoc{
		summary:     "Dataset statistics",
		description: "Tempo histogram, key and scale counts, leading moods (computed at most once a minute).",
		result:      typeOf[catalog.Stats](),
	}
	exportDoc = apiDoc{
		summary: "Download the dataset",
		description: "The whole dataset as a dump: one JSON line per contributed row, in the shape of a /contribute song " +
			"(or, with format=csv, the score rows as CSV), ordered by song, without ids or receipts. " +
			"Gzip-encoded when the client accepts it; two exports at a time, one per client address.",
		params: []param{
			{name: "format", description: "jsonl (default) or csv", schema: str("")},
			{name: "gzip", description: "true: a .gz file instead of a gzip-encoded answer", schema: str("")},
		},
		download: true,
		files: map[string]string{
			"application/x-ndjson": "a line per contributed row (format=jsonl)",
			"text/csv":             "the score rows with a header row (format=csv)",
			"application/gzip":     "the dump as a .gz file (gzip=true)",
		},
	}
	openAPIDoc = apiDoc{
		summary: "This document",
		result:  schema{"type": "object", "description": "the OpenAPI 3.1 document of these routes"},
	}
)
