package search_test

import (
	"fmt"
	"slices"

	"songcommons/search"
	"songcommons/songdata"
)

func Example() {
	song := func(artist, title, album string, contributions int) search.Song {
		return search.Song{Key: songdata.SongKey(artist, title), Artist: artist, Title: title,
			Album: album, Contributions: contributions}
	}
	// at start-up, from the songs table
	ix, err := search.Build(slices.Values([]search.Song{
		song("The Velvet Harbor", "Paris Circus", "", 3),
		song("Harbor Lights", "Velvet Morning", "", 1),
		song("Velvet Underground", "Heroin", "", 9),
	}))
	if err != nil {
		panic(err)
	}
	// in step with writes
	_ = ix.Add(song("Velvet Harbors", "Night Train", "", 1))
	ix.SetContributions(songdata.SongKey("Harbor Lights", "Velvet Morning"), 5)
	ix.Remove(songdata.SongKey("Velvet Underground", "Heroin"))

	r := ix.Search("velv harb", 1, 20) // as typed
	fmt.Println(r.Total, r.Capped)
	for _, h := range r.Hits {
		fmt.Println(h.Key, h.Contributions)
	}
	r = ix.Search("harbor", 1, 20) // whole words before prefixes
	for _, h := range r.Hits {
		fmt.Println(h.Key, h.Exact)
	}
	// Output:
	// 3 false
	// harbor lights|velvet morning 5
	// the velvet harbor|paris circus 3
	// velvet harbors|night train 1
	// harbor lights|velvet morning 1
	// the velvet harbor|paris circus 1
	// velvet harbors|night train 0
}
