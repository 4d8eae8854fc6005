package catalog

import (
	"math"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/vectors"
)

// SimilarHit is one similar song.
type SimilarHit struct {
	SongKey       string  `json:"song_key"`
	Artist        string  `json:"artist"`
	Title         string  `json:"title"`
	Score         float64 `json:"score"`
	Tempo         float64 `json:"tempo,omitempty"`
	Key           string  `json:"key,omitempty"`
	Scale         string  `json:"scale,omitempty"`
	Contributions int     `json:"contributions"`
}

// SimilarHits are the songs of a similarity search's hits, best first:
// their identity and consensus tempo and key, the score rounded to 4
// decimals.
func SimilarHits(app core.App, hits []vectors.Hit) ([]SimilarHit, error) {
	keys := make([]string, len(hits))
	for i, h := range hits {
		keys[i] = h.ID
	}
	songs, err := findSongs(app, keys)
	if err != nil {
		return nil, err
	}
	out := make([]SimilarHit, 0, len(hits))
	for _, h := range hits {
		s := SimilarHit{SongKey: h.ID, Score: math.Round(float64(h.Score)*1e4) / 1e4}
		if r := songs[h.ID]; r != nil {
			s.Artist, s.Title, s.Tempo, s.Key, s.Scale, s.Contributions = r.Artist, r.Title, r.Tempo, r.Key, r.Scale, r.Contributions
		}
		out = append(out, s)
	}
	return out, nil
}
