package hooks

import (
	"net/http"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/catalog"
	"songcommons/config"
	"songcommons/similarity"
	"songcommons/songdata"
	"songcommons/songprint"
	"songcommons/songsearch"
)

// Status is the answer of GET /api/songcommons/status.
type Status struct {
	Version       string           `json:"version"`
	Songs         int64            `json:"songs"`
	Contributions int64            `json:"contributions"`
	Embeddings    map[string]int   `json:"embeddings"`
	Models        []songdata.Model `json:"models"`
	IndexSizes    map[string]int   `json:"indexSongs"`
	// The search and fingerprint indexes are built in the background once
	// the server listens: ready says whether each is built.
	SearchIndex      IndexState `json:"searchIndex"`
	FingerprintIndex IndexState `json:"fingerprintIndex"`
	SignIn           bool       `json:"signIn"`
	SignInMessage    string     `json:"signInMessage,omitempty"`
	PublicRead       bool       `json:"publicRead"`
	LogRetention     string     `json:"logRetention"`
	IPMode           string     `json:"ipMode"`
	PolicyVersion    int        `json:"policyVersion"`
}

// IndexState says whether an index built after start-up is ready, and how
// many songs it holds.
type IndexState struct {
	Ready bool `json:"ready"`
	Songs int  `json:"songs"`
}

// statusHandler answers GET /api/songcommons/status.
func statusHandler(cfg config.Config, sim *similarity.Indexes, search *songsearch.Index, prints *songprint.Index) func(e *core.RequestEvent) error {
	counts := &catalog.Counts{}
	return func(e *core.RequestEvent) error {
		songs, rows, emb, err := counts.Get(e.App)
		if err != nil {
			return e.InternalServerError("Failed to count the dataset.", err)
		}
		st := Status{
			Version:          config.Version,
			Songs:            songs,
			Contributions:    rows,
			Embeddings:       emb,
			Models:           songdata.Models(),
			IndexSizes:       sim.Sizes(),
			SearchIndex:      IndexState{Ready: search.Ready(), Songs: search.Len()},
			FingerprintIndex: IndexState{Ready: prints.Ready(), Songs: prints.Len()},
			SignIn:           cfg.SignInEnabled(),
			PublicRead:       cfg.PublicRead,
			LogRetention:     config.FormatRetention(cfg.LogRetention),
			IPMode:           cfg.IPMode,
			PolicyVersion:    cfg.PolicyVersion,
		}
		if !st.SignIn {
			st.SignInMessage = "GitHub sign-in is not configured on this server, so contributions are closed. Reading the dataset works."
		}
		return e.JSON(http.StatusOK, st)
	}
}
