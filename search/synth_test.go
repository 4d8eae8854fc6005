package search

import (
	"math"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"songcommons/songdata"
)

// The benchmarks search the service's synthetic dataset: the artist, title
// and album of song i as cmd/loadgen generates them (gen.go: SongID and the
// album of MakeSong). cmd/loadgen is package main and cannot be imported,
// so its word lists and name functions are copied here; TestSynthMatchesLoadgen
// pins the copy to names printed by loadgen itself.

const (
	synthSeed      = 0x50c0_6c0d
	synthPerArtist = 8
)

var (
	synAdjectives = strings.Fields(`Velvet Golden Silent Electric Broken Hollow Crimson Neon Paper Wild
		Lonely Frozen Burning Distant Gentle Midnight Silver Secret Restless Crystal
		Bitter Faded Violet Rusty Lucky Savage Quiet Atomic Lunar Solar
		Amber Copper Scarlet Ivory Cosmic Sleepy Tender Wicked Hidden Endless
		Northern Southern Eastern Western Little Grand Royal Sacred Jagged Liquid
		Magnetic Phantom Radiant Shallow Stolen Twisted Urban Vintage Wandering Young
		Ancient Blue Cold Dark Empty Fragile Glass Heavy Iron Jade`)
	synNouns = strings.Fields(`Harbor Rivers Engines Foxes Lanterns Wolves Mirrors Gardens Satellites Shadows
		Pilots Tides Ravens Machines Orchids Comets Horses Echoes Islands Cathedrals
		Arrows Bridges Canyons Dreamers Embers Falcons Giants Hearts Kings Lovers
		Monks Nomads Oceans Parades Queens Rockets Sparrows Thieves Vultures Whales
		Anchors Bandits Cowboys Daggers Elephants Fireflies Ghosts Hurricanes Jets Knights
		Magnets Owls Painters Rebels Sailors Tigers Voyagers Wizards Zeppelins Saints
		Clouds Drifters Pioneers Strangers Tourists Witches`)
	synFirstNames = strings.Fields(`Ana Ben Chloé Dmitri Elena Farid Greta Hiro Inés José
		Kofi Lena Malik Nora Oskar Priya Quinn Rosa Sven Tomás
		Uma Viktor Wanda Xavier Yara Zoë Amir Bianca Cyril Dalia
		Emeka Freya Gustav Hana Igor Jade Kai Luca Mira Nils
		Olga Pablo Rania Soren Talia Ugo Vera Wim Yusuf Zara`)
	synLastNames = strings.Fields(`Almeida Bergström Castillo Dubois Eriksen Fontaine Garcia Hansen Ivanova Jansen
		Kowalski Lindqvist Moreau Nakamura Okafor Petrov Quintero Rossi Schmidt Tanaka
		Urbano Varga Weber Xu Yamamoto Zielinski Abbott Brennan Costa Delgado
		Esposito Fischer Gallagher Horvat Iglesias Jovanović Keller Lambert Müller Novak
		Olsen Pereira Reyes Santos Torres Underwood Vasquez Walsh Young Zimmerman`)
	synTitleA = strings.Fields(`Midnight Summer Electric Falling Golden Broken Dancing Silent Burning Lost
		Neon Paper Endless Secret Wild Sweet Lonely Running Hidden Crystal
		Northern Fading Shining Drifting Wicked Tender Restless Velvet Stolen Little
		Blue Red Black White Green Purple Silver Heavy Bright Cold
		Distant Empty Frozen Gentle Holy Infinite Lazy Magic Naked Open
		Perfect Quiet Rainy Sunday Monday Friday Tokyo Paris Berlin Lagos
		Bombay Havana Cairo Lisbon Oslo Dublin Vienna Seoul Memphis Detroit
		Atlantic Pacific Desert Mountain River Ocean City Highway Railroad Harbor
		Winter Spring Autumn Morning Evening Yesterday Tomorrow Forever Never Always
		Cosmic Digital Analog Radio Satellite Chemical`)
	synTitleB = strings.Fields(`Love Night Dreams Heart Fire Rain Lights Road Sky Girl
		Boy Blues Song Dance Eyes Kiss Ghost Train Heat Waves
		Stars Moon Sun Tears Wine Smoke Echo Shadow Storm Garden
		Lullaby Anthem Serenade Ballad Overture Requiem Boogie Groove Shuffle Stomp
		Machine Paradise Highway Avenue Boulevard Motel Disco Carnival Circus Rodeo`)
	synTitleTails = []string{"", "", "", "", "", "", " (Remastered 2011)", " (Live)", " - Radio Edit", " (Acoustic)",
		" Pt. II", " (Extended Mix)", " (Demo)", " - 2009 Remaster"}
	synMoodLabels = 25 // len(moodLabels) in gen.go: MakeSong draws a permutation of it
)

// synthArtist is gen.go's artistName.
func synthArtist(a uint64) string {
	form := a % 4
	a /= 4
	var s string
	switch form {
	case 0:
		w0, w1 := synAdjectives[a%uint64(len(synAdjectives))], synNouns[(a/uint64(len(synAdjectives)))%uint64(len(synNouns))]
		a /= uint64(len(synAdjectives) * len(synNouns))
		s = "The " + w0 + " " + w1
	case 1:
		w0, w1 := synFirstNames[a%uint64(len(synFirstNames))], synLastNames[(a/uint64(len(synFirstNames)))%uint64(len(synLastNames))]
		a /= uint64(len(synFirstNames) * len(synLastNames))
		s = w0 + " " + w1
	case 2:
		w0, w1 := synAdjectives[a%uint64(len(synAdjectives))], synNouns[(a/uint64(len(synAdjectives)))%uint64(len(synNouns))]
		a /= uint64(len(synAdjectives) * len(synNouns))
		s = w0 + " " + strings.TrimSuffix(w1, "s")
	default:
		w0, w1 := synFirstNames[a%uint64(len(synFirstNames))], synNouns[(a/uint64(len(synFirstNames)))%uint64(len(synNouns))]
		a /= uint64(len(synFirstNames) * len(synNouns))
		s = w0 + " & the " + w1
	}
	if a > 0 {
		s += " " + strconv.FormatUint(a, 10)
	}
	return s
}

// synthTitle is gen.go's songTitle.
func synthTitle(a, j uint64, r *mrand.Rand) string {
	h := (a*2654435761 + 12345) % uint64(len(synTitleA))
	t := synTitleA[(h+j*37)%uint64(len(synTitleA))] + " " + synTitleB[r.IntN(len(synTitleB))]
	t += synTitleTails[r.IntN(len(synTitleTails))]
	if r.IntN(25) == 0 {
		t += " (feat. " + synFirstNames[r.IntN(len(synFirstNames))] + ")"
	}
	return t
}

// synthAlbum is the album of gen.go's MakeSong(i, 0): the same random
// stream, with the draws before the album replayed and discarded.
func synthAlbum(i uint64) string {
	r := mrand.New(mrand.NewPCG(synthSeed^0x9e3779b97f4a7c15, i))
	r.IntN(64)  // cluster
	r.Float64() // tempo
	r.IntN(16)  // key
	r.IntN(2)   // scale
	r.Perm(synMoodLabels)
	r.Float64() // first mood score
	for range 5 {
		r.Float64() // score decay
	}
	r.Float64() // energy
	for range 6 {
		r.Float64() // other features
	}
	if r.IntN(3) > 0 {
		return synTitleA[r.IntN(len(synTitleA))] + " " + synNouns[r.IntN(len(synNouns))]
	}
	return ""
}

// synthSong is song i of the loadgen dataset, with a number of
// contributions drawn from a skewed distribution (about 70% of songs have
// one; loadgen seeds one each, which would leave nothing to rank by).
func synthSong(i uint64) Song {
	r := mrand.New(mrand.NewPCG(synthSeed, i))
	a, j := i/synthPerArtist, i%synthPerArtist
	artist, title := synthArtist(a), synthTitle(a, j, r)
	c := mrand.New(mrand.NewPCG(i, 0xc0)).Float64()
	return Song{
		Key: songdata.SongKey(artist, title), Artist: artist, Title: title, Album: synthAlbum(i),
		Contributions: 1 + int(math.Floor(-math.Log(1-c)/1.2)),
	}
}

// TestSynthMatchesLoadgen: names printed by cmd/loadgen's MakeSong(i, 0)
// at the commit this package was written against.
func TestSynthMatchesLoadgen(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		i                    uint64
		artist, title, album string
	}{
		{0, "The Velvet Harbor", "Paris Circus Pt. II", "Detroit Satellites"},
		{1, "The Velvet Harbor", "Satellite Groove", "Holy Elephants"},
		{7, "The Velvet Harbor", "Stolen Heart (Acoustic)", "Heavy Rockets"},
		{8, "Ana Almeida", "Neon Ghost", "Tokyo Comets"},
		{1000, "Freya Almeida", "Bright Storm", ""},
		{123457, "The Paper Tigers", "Atlantic Garden", "Always Thieves"},
		{999999, "Zara & the Monks 9", "Morning Road (Remastered 2011)", ""},
		{100000000, "The Ancient Giants 676", "Always Tears", "Lazy Horses"},
	} {
		s := synthSong(c.i)
		if s.Artist != c.artist || s.Title != c.title || s.Album != c.album {
			t.Errorf("song %d: %q / %q / %q, loadgen has %q / %q / %q", c.i, s.Artist, s.Title, s.Album, c.artist, c.title, c.album)
		}
	}
}
