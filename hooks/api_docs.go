package hooks

// apiDoc is what the API documentation says of a route.
type apiDoc struct {
	summary string
}

var (
	lookupDoc         = apiDoc{summary: "Look up to 1,000 songs by artist and title, MBID or ISRC: each song's consensus analysis and, on request, its embeddings."}
	similarGetDoc     = apiDoc{summary: "The songs most similar to a song, by cosine similarity of the songs' consensus vectors of one model."}
	similarPostDoc    = apiDoc{summary: "The songs most similar to a vector of one model."}
	contributeDoc     = apiDoc{summary: "Contribute up to 500 songs (analysis and/or embeddings), all or nothing, stored without any link to the account."}
	receiptsDeleteDoc = apiDoc{summary: "Delete the rows of a receipt whose stored tag matches the secret, and nothing else."}
	meDoc             = apiDoc{summary: "Everything the service holds about the signed-in account, as a JSON download."}
	deleteMeDoc       = apiDoc{summary: "Delete the account and its GitHub link; anonymous contributions stay."}
	consentDoc        = apiDoc{summary: "Give or withdraw consent to the privacy policy (uploads pause until it is given again)."}
	privacyRequestDoc = apiDoc{summary: "Send a rights request to the administrators (stored without any account)."}
	statusDoc         = apiDoc{summary: "The server's version, dataset counts, index sizes per model, sign-in state and privacy settings."}
	statsDoc          = apiDoc{summary: "Dataset statistics: tempo histogram, key and scale counts, leading moods."}
)
