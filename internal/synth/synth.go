// Package synth is the service's synthetic dataset, a pure function of a
// song's index: its artist and title (unique per index), its analysis, its
// vectors, as the load generator seeds and uploads them and as the
// benchmarks of other packages regenerate them.
package synth

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"

	"songcommons/fingerprint"
	"songcommons/internal/fpsynth"
	"songcommons/songdata"
)

// The synthetic dataset is a pure function of (dataset seed, song index):
// loadgen's seed writes songs 0..N-1, and the benchmarks regenerate the
// artist and title of any existing song from its index, without asking the
// server.
// New songs (uploads during a benchmark) take indexes from a random base
// far above any seeded range, so they never collide with seeded songs (or,
// with overwhelming probability, with another run's uploads).

const (
	dataSeed       = 0x50c0_6c0d
	songsPerArtist = 8
	clusters       = 64
	// Dim is the length of a song's vector (musicnn's).
	Dim = 200
)

var (
	adjectives = strings.Fields(`Velvet Golden Silent Electric Broken Hollow Crimson Neon Paper Wild
		Lonely Frozen Burning Distant Gentle Midnight Silver Secret Restless Crystal
		Bitter Faded Violet Rusty Lucky Savage Quiet Atomic Lunar Solar
		Amber Copper Scarlet Ivory Cosmic Sleepy Tender Wicked Hidden Endless
		Northern Southern Eastern Western Little Grand Royal Sacred Jagged Liquid
		Magnetic Phantom Radiant Shallow Stolen Twisted Urban Vintage Wandering Young
		Ancient Blue Cold Dark Empty Fragile Glass Heavy Iron Jade`)
	nouns = strings.Fields(`Harbor Rivers Engines Foxes Lanterns Wolves Mirrors Gardens Satellites Shadows
		Pilots Tides Ravens Machines Orchids Comets Horses Echoes Islands Cathedrals
		Arrows Bridges Canyons Dreamers Embers Falcons Giants Hearts Kings Lovers
		Monks Nomads Oceans Parades Queens Rockets Sparrows Thieves Vultures Whales
		Anchors Bandits Cowboys Daggers Elephants Fireflies Ghosts Hurricanes Jets Knights
		Magnets Owls Painters Rebels Sailors Tigers Voyagers Wizards Zeppelins Saints
		Clouds Drifters Pioneers Strangers Tourists Witches`)
	firstNames = strings.Fields(`Ana Ben Chloé Dmitri Elena Farid Greta Hiro Inés José
		Kofi Lena Malik Nora Oskar Priya Quinn Rosa Sven Tomás
		Uma Viktor Wanda Xavier Yara Zoë Amir Bianca Cyril Dalia
		Emeka Freya Gustav Hana Igor Jade Kai Luca Mira Nils
		Olga Pablo Rania Soren Talia Ugo Vera Wim Yusuf Zara`)
	lastNames = strings.Fields(`Almeida Bergström Castillo Dubois Eriksen Fontaine Garcia Hansen Ivanova Jansen
		Kowalski Lindqvist Moreau Nakamura Okafor Petrov Quintero Rossi Schmidt Tanaka
		Urbano Varga Weber Xu Yamamoto Zielinski Abbott Brennan Costa Delgado
		Esposito Fischer Gallagher Horvat Iglesias Jovanović Keller Lambert Müller Novak
		Olsen Pereira Reyes Santos Torres Underwood Vasquez Walsh Young Zimmerman`)
	titleA = strings.Fields(`Midnight Summer Electric Falling Golden Broken Dancing Silent Burning Lost
		Neon Paper Endless Secret Wild Sweet Lonely Running Hidden Crystal
		Northern Fading Shining Drifting Wicked Tender Restless Velvet Stolen Little
		Blue Red Black White Green Purple Silver Heavy Bright Cold
		Distant Empty Frozen Gentle Holy Infinite Lazy Magic Naked Open
		Perfect Quiet Rainy Sunday Monday Friday Tokyo Paris Berlin Lagos
		Bombay Havana Cairo Lisbon Oslo Dublin Vienna Seoul Memphis Detroit
		Atlantic Pacific Desert Mountain River Ocean City Highway Railroad Harbor
		Winter Spring Autumn Morning Evening Yesterday Tomorrow Forever Never Always
		Cosmic Digital Analog Radio Satellite Chemical`)
	titleB = strings.Fields(`Love Night Dreams Heart Fire Rain Lights Road Sky Girl
		Boy Blues Song Dance Eyes Kiss Ghost Train Heat Waves
		Stars Moon Sun Tears Wine Smoke Echo Shadow Storm Garden
		Lullaby Anthem Serenade Ballad Overture Requiem Boogie Groove Shuffle Stomp
		Machine Paradise Highway Avenue Boulevard Motel Disco Carnival Circus Rodeo`)
	titleTails = []string{"", "", "", "", "", "", " (Remastered 2011)", " (Live)", " - Radio Edit", " (Acoustic)",
		" Pt. II", " (Extended Mix)", " (Demo)", " - 2009 Remaster"}
	moodLabels = strings.Fields(`rock pop electronic dance indie alternative hip-hop jazz soul funk
		ambient classical folk metal punk house techno blues country reggae
		chillout experimental instrumental singer-songwriter rnb`)
	keys   = []string{"C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B", "Db", "Eb", "Ab", "Bb"}
	scales = []string{"major", "minor"}
)

// centres are the cluster centres of the synthetic embeddings (fixed).
var centres = func() [][]float64 {
	r := mrand.New(mrand.NewPCG(dataSeed, 7))
	out := make([][]float64, clusters)
	for c := range out {
		v := make([]float64, Dim)
		for j := range v {
			v[j] = r.NormFloat64()
		}
		out[c] = v
	}
	return out
}()

// artistName is injective in a: a mixed-radix split over four name forms
// and two word lists, with a number appended past the first ~32k artists.
func artistName(a uint64) string {
	form := a % 4
	a /= 4
	var s string
	switch form {
	case 0:
		w0, w1 := adjectives[a%uint64(len(adjectives))], nouns[(a/uint64(len(adjectives)))%uint64(len(nouns))]
		a /= uint64(len(adjectives) * len(nouns))
		s = "The " + w0 + " " + w1
	case 1:
		w0, w1 := firstNames[a%uint64(len(firstNames))], lastNames[(a/uint64(len(firstNames)))%uint64(len(lastNames))]
		a /= uint64(len(firstNames) * len(lastNames))
		s = w0 + " " + w1
	case 2:
		w0, w1 := adjectives[a%uint64(len(adjectives))], nouns[(a/uint64(len(adjectives)))%uint64(len(nouns))]
		a /= uint64(len(adjectives) * len(nouns))
		s = w0 + " " + strings.TrimSuffix(w1, "s")
	default:
		w0, w1 := firstNames[a%uint64(len(firstNames))], nouns[(a/uint64(len(firstNames)))%uint64(len(nouns))]
		a /= uint64(len(firstNames) * len(nouns))
		s = w0 + " & the " + w1
	}
	if a > 0 {
		s += " " + strconv.FormatUint(a, 10)
	}
	return s
}

// songTitle: within an artist the first word differs for every j < len(titleA)
// (37 is coprime with the list length), so (artist, title) is unique.
func songTitle(a, j uint64, r *mrand.Rand) string {
	h := (a*2654435761 + 12345) % uint64(len(titleA))
	t := titleA[(h+j*37)%uint64(len(titleA))] + " " + titleB[r.IntN(len(titleB))]
	t += titleTails[r.IntN(len(titleTails))]
	if r.IntN(25) == 0 {
		t += " (feat. " + firstNames[r.IntN(len(firstNames))] + ")"
	}
	return t
}

// SongID returns the artist and title of song i.
func SongID(i uint64) (artist, title string) {
	r := mrand.New(mrand.NewPCG(dataSeed, i))
	a, j := i/songsPerArtist, i%songsPerArtist
	return artistName(a), songTitle(a, j, r)
}

// SongKeyOf is the server's song_key of song i.
func SongKeyOf(i uint64) string {
	a, t := SongID(i)
	return songdata.SongKey(a, t)
}

// Song is one synthetic contribution.
type Song struct {
	Artist, Title string
	Tempo         float64
	Key, Scale    string
	MoodVector    string
	Energy        float64
	Other         string
	Album         string
	Duration      float64
	MBID, ISRC    string
	Fingerprint   string    // fpcalc's compressed text ("" = none; see WithPrint)
	Vector        []float64 // float32 values, widened (as a Python client sends numpy float32)
}

// Album is the album of song i (MakeSong(i, 0).Album) without making the
// rest of the song: the same random stream, with the draws before the
// album replayed and discarded.
func Album(i uint64) string {
	r := mrand.New(mrand.NewPCG(dataSeed^0x9e3779b97f4a7c15, i))
	r.IntN(clusters) // cluster
	r.Float64()      // tempo
	r.IntN(len(keys))
	r.IntN(2) // scale
	r.Perm(len(moodLabels))
	r.Float64() // first mood score
	for range 5 {
		r.Float64() // score decay
	}
	r.Float64() // energy
	for range 6 {
		r.Float64() // other features
	}
	if r.IntN(3) > 0 {
		return titleA[r.IntN(len(titleA))] + " " + nouns[r.IntN(len(nouns))]
	}
	return ""
}

// MakeSong builds contribution c (0 = the first) of song i. Further
// contributions of the same song jitter tempo, moods and vector a little.
func MakeSong(i uint64, c int) Song {
	artist, title := SongID(i)
	r := mrand.New(mrand.NewPCG(dataSeed^0x9e3779b97f4a7c15, i))
	s := Song{Artist: artist, Title: title}
	cl := r.IntN(clusters)
	s.Tempo = math.Round((70+float64(cl%12)*9+r.Float64()*20)*100) / 100
	s.Key = keys[r.IntN(len(keys))]
	s.Scale = scales[r.IntN(2)]
	// moods: 5 labels with decreasing scores
	perm := r.Perm(len(moodLabels))
	sc := 0.4 + r.Float64()*0.5
	var mb strings.Builder
	for k := range 5 {
		if k > 0 {
			mb.WriteByte(',')
		}
		fmt.Fprintf(&mb, "%s:%.3f", moodLabels[perm[(k+cl)%len(perm)]], sc)
		sc *= 0.5 + r.Float64()*0.4
	}
	s.MoodVector = mb.String()
	s.Energy = math.Round(r.Float64()*0.3*1e4) / 1e4
	s.Other = fmt.Sprintf("danceable:%.2f,aggressive:%.2f,happy:%.2f,party:%.2f,relaxed:%.2f,sad:%.2f",
		r.Float64(), r.Float64()*0.5, r.Float64(), r.Float64()*0.6, r.Float64(), r.Float64()*0.5)
	if r.IntN(3) > 0 {
		s.Album = titleA[r.IntN(len(titleA))] + " " + nouns[r.IntN(len(nouns))]
	}
	s.Duration = math.Round((120+r.Float64()*300)*10) / 10
	if r.IntN(2) == 0 {
		var b [16]byte
		binary.LittleEndian.PutUint64(b[:8], r.Uint64())
		binary.LittleEndian.PutUint64(b[8:], r.Uint64()^i)
		s.MBID = fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
	}
	if r.IntN(3) == 0 {
		s.ISRC = fmt.Sprintf("US%c%c%c%02d%05d", 'A'+r.IntN(26), 'A'+r.IntN(26), '0'+r.IntN(10), r.IntN(100), i%100000)
	}
	s.Vector = make([]float64, Dim)
	ctr := centres[cl]
	for j := range s.Vector {
		s.Vector[j] = float64(float32(0.05 + 0.04*ctr[j] + 0.03*r.NormFloat64()))
	}
	if c > 0 {
		j := mrand.New(mrand.NewPCG(uint64(c), i))
		s.Tempo = math.Round((s.Tempo+j.NormFloat64())*100) / 100
		if s.Tempo <= 0 {
			s.Tempo = 1
		}
		for k := range s.Vector {
			s.Vector[k] = float64(float32(s.Vector[k] + 0.005*j.NormFloat64()))
		}
	}
	return s
}

// Map is the song as /contribute and songdata.CheckSongs take it.
func (s Song) Map(models []string) map[string]any {
	m := map[string]any{
		"artist": s.Artist, "title": s.Title, "tempo": s.Tempo, "key": s.Key, "scale": s.Scale,
		"mood_vector": s.MoodVector, "energy": s.Energy, "other_features": s.Other,
		"duration": s.Duration, "analyzer": "loadgen/1",
	}
	if s.Album != "" {
		m["album"] = s.Album
	}
	if s.MBID != "" {
		m["mbid"] = s.MBID
	}
	if s.ISRC != "" {
		m["isrc"] = s.ISRC
	}
	if s.Fingerprint != "" {
		m["fingerprint"] = s.Fingerprint
	}
	if len(models) > 0 {
		e := map[string]any{}
		for _, md := range models {
			e[md] = VectorFor(s, md)
		}
		m["embeddings"] = e
	}
	return m
}

// VectorFor returns the song's vector for a model (clap is the musicnn
// vector tiled to 512, enough for load).
func VectorFor(s Song, model string) []float64 {
	mdl, _ := songdata.LookupModel(model)
	if mdl.Dim == len(s.Vector) {
		return s.Vector
	}
	out := make([]float64, mdl.Dim)
	for j := range out {
		out[j] = s.Vector[j%len(s.Vector)] * (1 + float64(j/len(s.Vector))*0.01)
	}
	return out
}

// newSongs hands out indexes of never-seeded songs.
var newSongs atomic.Uint64

func init() {
	var b [8]byte
	_, _ = rand.Read(b[:])
	// base in [1e8, 1e8 + 2^20·1e5): far above any seeded range, random per process
	newSongs.Store(100_000_000 + (binary.LittleEndian.Uint64(b[:])%(1<<20))*100_000)
}

// NextNew reserves n new song indexes and returns the first.
func NextNew(n int) uint64 { return newSongs.Add(uint64(n)) - uint64(n) }

// PrintItems is the length of a synthetic fingerprint: fpcalc reads the
// first 120 s of a recording (every song here lasts at least 120 s), about
// 969 sub-fingerprints.
const PrintItems = 969 // 120 s × fingerprint.ItemsPerSecond (8.08)

// PrintItemsOf returns the sub-fingerprints of song i's recording
// (fpsynth.Items, PrintItems long): a pure function of i, unrelated to
// every other song's.
func PrintItemsOf(i uint64) []uint32 {
	return fpsynth.Items(mrand.New(mrand.NewPCG(dataSeed^0xf1a6e4b2d3c5a7e9, i)), PrintItems)
}

// PrintOf returns song i's fingerprint as fpcalc prints it (compressed,
// base64).
func PrintOf(i uint64) string {
	return fingerprint.Encode(PrintItemsOf(i), fingerprint.DefaultAlgorithm)
}

// WithPrint returns the song with its fingerprint (MakeSong leaves it
// out: computing it costs ~30 µs).
func (s Song) WithPrint(i uint64) Song {
	s.Fingerprint = PrintOf(i)
	return s
}
