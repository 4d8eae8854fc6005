package hooks

import (
	"net/http"
	"sync"
	"time"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/config"
	"songcommons/similarity"
	"songcommons/songdata"
)

// Status is the answer of GET /api/songcommons/status.
type Status struct {
	Version       string           `json:"version"`
	Songs         int64            `json:"songs"`
	Contributions int64            `json:"contributions"`
	Embeddings    map[string]int   `json:"embeddings"`
	Models        []songdata.Model `json:"models"`
	IndexSizes    map[string]int   `json:"indexSongs"`
	SignIn        bool             `json:"signIn"`
	SignInMessage string           `json:"signInMessage,omitempty"`
	PublicRead    bool             `json:"publicRead"`
	LogRetention  string           `json:"logRetention"`
	IPMode        string           `json:"ipMode"`
	PolicyVersion int              `json:"policyVersion"`
}

// statusCounts caches the dataset counts for a few seconds: they are scans.
type statusCounts struct {
	mu    sync.Mutex
	at    time.Time
	songs int64
	rows  int64
	emb   map[string]int
}

// statusHandler answers GET /api/songcommons/status.
func statusHandler(cfg config.Config, sim *similarity.Indexes) func(e *core.RequestEvent) error {
	counts := &statusCounts{}
	return func(e *core.RequestEvent) error {
		songs, rows, emb, err := counts.get(e.App)
		if err != nil {
			return e.InternalServerError("Failed to count the dataset.", err)
		}
		st := Status{
			Version:       config.Version,
			Songs:         songs,
			Contributions: rows,
			Embeddings:    emb,
			Models:        songdata.Models(),
			IndexSizes:    sim.Sizes(),
			SignIn:        cfg.SignInEnabled(),
			PublicRead:    cfg.PublicRead,
			LogRetention:  config.FormatRetention(cfg.LogRetention),
			IPMode:        cfg.IPMode,
			PolicyVersion: cfg.PolicyVersion,
		}
		if !st.SignIn {
			st.SignInMessage = "GitHub sign-in is not configured on this server, so contributions are closed. Reading the dataset works."
		}
		return e.JSON(http.StatusOK, st)
	}
}

func (c *statusCounts) get(app core.App) (int64, int64, map[string]int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if time.Since(c.at) < 5*time.Second && c.emb != nil {
		return c.songs, c.rows, c.emb, nil
	}
	var songs, rows int64
	err := app.DB().NewQuery(`SELECT COUNT(*) FROM songs`).Row(&songs)
	if err != nil {
		return 0, 0, nil, err
	}
	if err := app.DB().NewQuery(`SELECT COUNT(*) FROM score`).Row(&rows); err != nil {
		return 0, 0, nil, err
	}
	emb := map[string]int{}
	for _, m := range songdata.Models() {
		emb[m.Name] = 0
	}
	var per []struct {
		Model string `db:"model"`
		N     int    `db:"n"`
	}
	if err := app.DB().NewQuery(`SELECT model, COUNT(*) AS n FROM embedding GROUP BY model`).All(&per); err != nil {
		return 0, 0, nil, err
	}
	for _, p := range per {
		emb[p.Model] = p.N
	}
	c.at, c.songs, c.rows, c.emb = time.Now(), songs, rows, emb
	return songs, rows, emb, nil
}
