package songdata

import (
	"fmt"
	"testing"
)

func TestConsensusTempo(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		tempos    []float64
		value     float64
		agreement float64
		folded    int
		outliers  int
	}{
		{"single", []float64{122.9}, 122.9, 1, 0, 0},
		{"half tempo folded", []float64{140, 70, 141}, 140, 1, 1, 0},
		{"double tempo folded", []float64{70, 140, 71}, 70, 1, 1, 0},
		{"majority octave wins", []float64{70, 70.5, 141, 71}, 70.5, 1, 1, 0},
		{"outlier excluded", []float64{120, 121, 119, 97}, 120, 0.75, 0, 1},
		{"tie at two octaves: the one nearer 120", []float64{80, 160}, 160, 1, 1, 0},
		{"quarter", []float64{200, 50}, 200, 1, 1, 0},
		{"median of even count", []float64{120, 122}, 121, 1, 0, 0},
		{"no agreement: the one nearer 120", []float64{100, 133}, 133, 0.5, 0, 1},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d_%s", i, c.name), func(t *testing.T) {
			rows := make([]Score, len(c.tempos))
			for j, tp := range c.tempos {
				rows[j] = Score{Tempo: tp, Key: "A", Scale: "minor"}
			}
			got := ComputeConsensus(rows)
			if got.Tempo == nil || got.Tempo.Value != c.value || got.Tempo.Agreement != c.agreement ||
				got.Tempo.Folded != c.folded || got.Outliers != c.outliers {
				t.Fatalf("tempo %+v outliers %d; want value %v agreement %v folded %d outliers %d",
					got.Tempo, got.Outliers, c.value, c.agreement, c.folded, c.outliers)
			}
		})
	}
}

func TestConsensusKeyAndMeans(t *testing.T) {
	t.Parallel()
	rows := []Score{
		{Identity: Identity{Artist: "Daft Punk", Title: "One More Time", MBID: "m1", Duration: 320}, Tempo: 123, Key: "F#", Scale: "minor", Energy: 0.6, MoodVector: "house:0.8,electronic:0.6", OtherFeatures: "danceable:0.9"},
		{Identity: Identity{Artist: "Daft Punk", Title: "One More Time", MBID: "m1", Duration: 321}, Tempo: 61.5, Key: "F#", Scale: "minor", Energy: 0, MoodVector: "house:0.6", OtherFeatures: "danceable:0.7,happy:0.4"},
		{Identity: Identity{Artist: "DAFT PUNK", Title: "one more time", Duration: 322}, Tempo: 123.4, Key: "A", Scale: "major", Energy: 0.62, MoodVector: "", OtherFeatures: "danceable:0.8"},
	}
	c := ComputeConsensus(rows)
	if c.Contributions != 3 || c.Artist != "Daft Punk" || c.Title != "One More Time" {
		t.Fatalf("identity %+v", c)
	}
	if c.Key.Value != "F#" || c.Key.Scale != "minor" || c.Key.Agreement != 0.67 {
		t.Fatalf("key %+v", c.Key)
	}
	if c.Tempo.Value != 123 || c.Tempo.Agreement != 1 || c.Tempo.Folded != 1 {
		t.Fatalf("tempo %+v", c.Tempo)
	}
	if c.Energy == nil || *c.Energy != 0.61 { // 0 = unknown, left out
		t.Fatalf("energy %v", c.Energy)
	}
	// moods: mean over the two contributions that report moods
	if got := FormatLabels(c.Moods); got != "House:0.7,electronic:0.3" { // House: AudioMuse-AI's spelling
		t.Fatalf("moods %q", got)
	}
	if got := FormatLabels3(c.OtherFeatures); got != "danceable:0.800,happy:0.133" {
		t.Fatalf("other features %q", got)
	}
	if c.MBID != "m1" || c.Duration != 321 {
		t.Fatalf("mbid %q duration %v", c.MBID, c.Duration)
	}

	// a tie between two keys is broken the same way every time
	tie := []Score{{Key: "A", Scale: "minor"}, {Key: "C", Scale: "major"}}
	for range 20 {
		if k := ComputeConsensus(tie).Key; k.Value != "C" || k.Scale != "major" || k.Agreement != 0.5 {
			t.Fatalf("tie %+v", k)
		}
	}
	if c := ComputeConsensus(nil); c.Contributions != 0 || c.Tempo != nil || c.Key != nil {
		t.Fatalf("empty %+v", c)
	}
}

// Labels that differ only in case are one label in the consensus, spelled
// as the known lists spell it, or else as most contributions do; the rows'
// order does not matter.
func TestConsensusLabelSpelling(t *testing.T) {
	t.Parallel()
	rows := []Score{
		{Identity: Identity{Artist: "A", Title: "T"}, Tempo: 100, Key: "C", Scale: "major", MoodVector: "hip-hop:0.9,chill vibes:0.3"},
		{Identity: Identity{Artist: "A", Title: "T"}, Tempo: 100, Key: "C", Scale: "major", MoodVector: "Hip-Hop:0.5,Chill Vibes:0.6"},
		{Identity: Identity{Artist: "A", Title: "T"}, Tempo: 100, Key: "C", Scale: "major", MoodVector: "HIP-HOP:0.4,Chill Vibes:0.3"},
	}
	for i := range rows {
		rotated := append(append([]Score(nil), rows[i:]...), rows[:i]...)
		if got := FormatLabels(ComputeConsensus(rotated).Moods); got != "Hip-Hop:0.6,Chill Vibes:0.4" {
			t.Errorf("rows from %d: moods %q", i, got)
		}
	}
	// a tie between two spellings: the one that sorts first
	tie := []Score{rows[0], {Identity: Identity{Artist: "A", Title: "T"}, Tempo: 100, Key: "C", Scale: "major", MoodVector: "Chill Vibes:0.5"}}
	if got := FormatLabels(ComputeConsensus(tie).Moods); got != "Hip-Hop:0.45,Chill Vibes:0.4" {
		t.Errorf("tie: moods %q", got)
	}
}
