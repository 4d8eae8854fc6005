package catalog

import (
	"sync"
	"time"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/songdata"
)

// Counts caches the dataset's counts for a few seconds: they are scans.
type Counts struct {
	mu    sync.Mutex
	at    time.Time
	songs int64
	rows  int64
	emb   map[string]int
}

// Get returns the number of songs, of score rows, and of embedding rows
// per known model.
func (c *Counts) Get(app core.App) (int64, int64, map[string]int, error) {
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
