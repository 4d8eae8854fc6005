package catalog

import (
	"encoding/json"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/search"
)

// SearchHit is one song found by a name search.
type SearchHit struct {
	SongKey       string  `json:"song_key"`
	Artist        string  `json:"artist"`
	Title         string  `json:"title"`
	Album         string  `json:"album"`
	Contributions int     `json:"contributions"`
	Tempo         float64 `json:"tempo,omitempty"`
	Key           string  `json:"key,omitempty"`
	Scale         string  `json:"scale,omitempty"`
	Exact         int     `json:"exact"` // query words the song matches as whole words (the others as prefixes)
	// Embeddings counts the song's embedding contributions per model.
	Embeddings map[string]int `json:"embeddings,omitempty"`
}

// SearchHits are the songs of a page of search hits, in the hits' order,
// read with one song_key IN (…) query. A song deleted since the search
// keeps its key and count, with empty names.
func SearchHits(app core.App, hits []search.Hit) ([]SearchHit, error) {
	keys := make([]string, len(hits))
	for i, h := range hits {
		keys[i] = h.Key
	}
	songs, err := findSongs(app, keys)
	if err != nil {
		return nil, err
	}
	out := make([]SearchHit, 0, len(hits))
	for _, h := range hits {
		s := SearchHit{SongKey: h.Key, Contributions: h.Contributions, Exact: h.Exact}
		if r := songs[h.Key]; r != nil {
			s.Artist, s.Title, s.Album, s.Contributions = r.Artist, r.Title, r.Album, r.Contributions
			s.Tempo, s.Key, s.Scale = r.Tempo, r.Key, r.Scale
			_ = json.Unmarshal([]byte(r.Embeddings), &s.Embeddings)
		}
		out = append(out, s)
	}
	return out, nil
}
