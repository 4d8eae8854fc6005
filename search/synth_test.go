package search

import (
	"math"
	mrand "math/rand/v2"

	"songcommons/internal/synth"
	"songcommons/songdata"
)

// synthSong is song i of the service's synthetic dataset (internal/synth:
// the artist, title and album the load generator seeds), with a number of
// contributions drawn from a skewed distribution (about 70% of songs have
// one; loadgen seeds one each, which would leave nothing to rank by).
func synthSong(i uint64) Song {
	artist, title := synth.SongID(i)
	c := mrand.New(mrand.NewPCG(i, 0xc0)).Float64()
	return Song{
		Key: songdata.SongKey(artist, title), Artist: artist, Title: title, Album: synth.Album(i),
		Contributions: 1 + int(math.Floor(-math.Log(1-c)/1.2)),
	}
}
