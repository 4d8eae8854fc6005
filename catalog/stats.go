package catalog

import (
	"sync"
	"time"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/songdata"
)

// Stats are the dataset statistics the home page charts.
type Stats struct {
	Songs int64       `json:"songs"`
	Tempo []TempoBin  `json:"tempo"`
	Keys  []KeyCount  `json:"keys"`
	Moods []MoodCount `json:"moods"`
	At    string      `json:"computed"`
}

// TempoBin counts songs whose consensus tempo is in [BPM, BPM+5).
type TempoBin struct {
	BPM   int `json:"bpm" db:"bpm"`
	Count int `json:"count" db:"n"`
}

// KeyCount counts songs per consensus key and scale.
type KeyCount struct {
	Key   string `json:"key" db:"key"`
	Scale string `json:"scale" db:"scale"`
	Count int    `json:"count" db:"n"`
}

// MoodCount counts songs whose strongest consensus mood is Label, with the
// mean score of that mood among them.
type MoodCount struct {
	Label string  `json:"label" db:"label"`
	Songs int     `json:"songs" db:"n"`
	Mean  float64 `json:"mean" db:"mean"`
}

// StatsCache computes the statistics at most once a minute.
type StatsCache struct {
	mu sync.Mutex
	at time.Time
	s  *Stats
}

// Get returns the statistics, computed at most a minute ago.
func (c *StatsCache) Get(app core.App) (*Stats, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.s != nil && time.Since(c.at) < time.Minute {
		return c.s, nil
	}
	s := &Stats{Tempo: []TempoBin{}, Keys: []KeyCount{}, Moods: []MoodCount{}, At: time.Now().UTC().Format(time.RFC3339)}
	db := app.DB()
	if err := db.NewQuery("SELECT COUNT(*) FROM songs").Row(&s.Songs); err != nil {
		return nil, err
	}
	if err := db.NewQuery(`SELECT CAST(MIN(MAX(tempo, 40), 219.99) / 5 AS INTEGER) * 5 AS bpm, COUNT(*) AS n
		FROM songs WHERE tempo > 0 GROUP BY bpm ORDER BY bpm`).All(&s.Tempo); err != nil {
		return nil, err
	}
	if err := db.NewQuery(`SELECT key, scale, COUNT(*) AS n FROM songs WHERE key != '' GROUP BY key, scale ORDER BY n DESC`).
		All(&s.Keys); err != nil {
		return nil, err
	}
	// labels that differ only in case are one (songdata.FoldLabel; labels
	// are ASCII, which SQLite's lower() folds), spelled as songdata spells it
	if err := db.NewQuery(`SELECT MIN(label) AS label, COUNT(*) AS n, ROUND(AVG(score), 3) AS mean FROM (
			SELECT substr(mood_vector, 1, instr(mood_vector, ':') - 1) AS label,
			       CAST(CASE WHEN instr(rest, ',') > 0 THEN substr(rest, 1, instr(rest, ',') - 1) ELSE rest END AS REAL) AS score
			FROM (SELECT mood_vector, substr(mood_vector, instr(mood_vector, ':') + 1) AS rest FROM songs WHERE mood_vector != ''))
		GROUP BY lower(label) ORDER BY n DESC, lower(label) LIMIT 15`).All(&s.Moods); err != nil {
		return nil, err
	}
	for i := range s.Moods {
		s.Moods[i].Label = songdata.CanonicalLabel(s.Moods[i].Label)
	}
	c.s, c.at = s, time.Now()
	return s, nil
}
