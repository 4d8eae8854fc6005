package songdata

import (
	"math"
	"sort"
	"strconv"
)

// Agreed is a consensus number with the share of contributions that agree.
type Agreed struct {
	Value     float64 `json:"value"`
	Agreement float64 `json:"agreement"`
	// Folded counts the contributions whose tempo was read at half or
	// double speed and folded into the consensus octave.
	Folded int `json:"folded,omitempty"`
}

// AgreedKey is the majority key and scale with the share that agrees.
type AgreedKey struct {
	Value     string  `json:"value"`
	Scale     string  `json:"scale"`
	Agreement float64 `json:"agreement"`
}

// Consensus is the community's answer for one song.
type Consensus struct {
	Artist        string
	Title         string
	Contributions int
	Distinct      int // contributions that are not identical copies of another
	Tempo         *Agreed
	Key           *AgreedKey
	Energy        *float64
	Moods         []Label // mean scores, canonical order
	OtherFeatures []Label
	Album         string
	Duration      float64
	MBID, ISRC    string
	// Fingerprints counts the contributions that carried an audio
	// fingerprint.
	Fingerprints int
	// Outliers counts contributions left out of the tempo consensus (not
	// within TempoTolerance of it at any octave).
	Outliers int
}

// TempoTolerance is how close (relative) two tempos must be to agree.
const TempoTolerance = 0.04

// MaxMoods is how many top mood labels a consensus keeps.
const MaxMoods = 10

// ComputeConsensus computes the consensus of a song's score contributions
// (identical copies counted once):
// tempo as the median after folding half/double-tempo readings into the
// best-supported octave (with the share that agrees), key and scale by
// majority, energy, moods and other features as means, and the most
// common spelling of artist, title and identifiers. One implementation
// serves every route and table that reports consensus.
func ComputeConsensus(rows []Score) Consensus {
	c := Consensus{Contributions: len(rows)}
	if len(rows) == 0 {
		return c
	}
	for _, r := range rows {
		if r.Fingerprint != "" {
			c.Fingerprints++
		}
	}
	// identical uploads (the same analysis sent again and again, by any
	// tool) count once
	seen := make(map[Score]bool, len(rows))
	distinct := rows[:0:0]
	for _, r := range rows {
		k := r
		k.SongKey, k.TagsKey, k.Analyzer, k.Fingerprint = "", "", "", ""
		if !seen[k] {
			seen[k] = true
			distinct = append(distinct, r)
		}
	}
	rows = distinct
	c.Distinct = len(rows)
	c.Artist, c.Title = majorityPair(rows)
	c.Tempo, c.Outliers = consensusTempo(rows)
	c.Key = consensusKey(rows)

	var esum float64
	var en int
	for _, r := range rows {
		if r.Energy > 0 {
			esum += r.Energy
			en++
		}
	}
	if en > 0 {
		e := round(esum/float64(en), 4)
		c.Energy = &e
	}
	c.Moods = meanLabels(rows, func(r Score) string { return r.MoodVector }, MaxMoods)
	c.OtherFeatures = meanLabels(rows, func(r Score) string { return r.OtherFeatures }, MaxLabels)

	c.Album = majority(rows, func(r Score) string { return r.Album })
	c.MBID = majority(rows, func(r Score) string { return r.MBID })
	c.ISRC = majority(rows, func(r Score) string { return r.ISRC })
	var ds []float64
	for _, r := range rows {
		if r.Duration > 0 {
			ds = append(ds, r.Duration)
		}
	}
	if len(ds) > 0 {
		c.Duration = round(median(ds), 1)
	}
	return c
}

// consensusTempo picks the reference tempo that most contributions agree
// with at some octave (×½, ×2, ×¼, ×4), preferring then the one most
// contributions report at its own octave, then the one closest to 120 BPM;
// folds the agreeing tempos into its octave and takes their median.
func consensusTempo(rows []Score) (*Agreed, int) {
	var ts []float64
	for _, r := range rows {
		if r.Tempo > 0 {
			ts = append(ts, r.Tempo)
		}
	}
	if len(ts) == 0 {
		return nil, 0
	}
	type cand struct {
		ref         float64
		folded, raw int
	}
	best := cand{ref: -1}
	for _, ref := range ts {
		c := cand{ref: ref}
		for _, t := range ts {
			if near(t, ref) {
				c.raw++
				c.folded++
			} else if _, ok := foldTempo(t, ref); ok {
				c.folded++
			}
		}
		if best.ref < 0 || c.folded > best.folded ||
			(c.folded == best.folded && c.raw > best.raw) ||
			(c.folded == best.folded && c.raw == best.raw && math.Abs(math.Log2(c.ref/120)) < math.Abs(math.Log2(best.ref/120))) ||
			(c.folded == best.folded && c.raw == best.raw && math.Abs(math.Log2(c.ref/120)) == math.Abs(math.Log2(best.ref/120)) && c.ref < best.ref) {
			best = c
		}
	}
	var agree []float64
	folded := 0
	for _, t := range ts {
		if near(t, best.ref) {
			agree = append(agree, t)
		} else if f, ok := foldTempo(t, best.ref); ok {
			agree = append(agree, f)
			folded++
		}
	}
	return &Agreed{
		Value:     round(median(agree), 1),
		Agreement: round(float64(len(agree))/float64(len(ts)), 2),
		Folded:    folded,
	}, len(ts) - len(agree)
}

func near(t, ref float64) bool { return math.Abs(t-ref) <= TempoTolerance*ref }

// foldTempo brings t to ref's octave when t×2^k (k = ±1, ±2) is near ref.
func foldTempo(t, ref float64) (float64, bool) {
	for _, m := range []float64{2, 0.5, 4, 0.25} {
		if near(t*m, ref) {
			return t * m, true
		}
	}
	return 0, false
}

// consensusKey is the majority (key, scale) pair; ties go to the pair that
// comes first in pitch order, major before minor.
func consensusKey(rows []Score) *AgreedKey {
	counts := map[[2]string]int{}
	n := 0
	for _, r := range rows {
		if r.Key == "" || r.Scale == "" {
			continue
		}
		counts[[2]string{r.Key, r.Scale}]++
		n++
	}
	if n == 0 {
		return nil
	}
	pitch := map[string]int{}
	for i, p := range pitchNames {
		pitch[p] = i
	}
	var best [2]string
	bestN := -1
	for k, v := range counts {
		if v > bestN || (v == bestN && (pitch[k[0]] < pitch[best[0]] || (pitch[k[0]] == pitch[best[0]] && k[1] < best[1]))) {
			best, bestN = k, v
		}
	}
	return &AgreedKey{Value: best[0], Scale: best[1], Agreement: round(float64(bestN)/float64(n), 2)}
}

// meanLabels averages label scores over the contributions that report any
// (a label missing from one of them counts as 0 there) and keeps the top max.
// Labels that differ only in case are one label (FoldLabel). It is spelled
// as ParseLabels spells it: a known label as the known lists do, any other
// as most of the contributions naming it do (ties: the spelling that sorts
// first), so that the result does not depend on the order of the rows.
func meanLabels(rows []Score, get func(Score) string, max int) []Label {
	sum := map[string]float64{}
	spellings := map[string]map[string]int{}
	n := 0
	for _, r := range rows {
		ls, err := ParseLabels(get(r))
		if err != nil || len(ls) == 0 {
			continue
		}
		n++
		for _, l := range ls {
			f := FoldLabel(l.Name)
			sum[f] += l.Score
			if spellings[f] == nil {
				spellings[f] = map[string]int{}
			}
			spellings[f][l.Name]++
		}
	}
	if n == 0 {
		return nil
	}
	out := make([]Label, 0, len(sum))
	for f, v := range sum {
		name, most := "", 0
		for s, c := range spellings[f] {
			if c > most || c == most && s < name {
				name, most = s, c
			}
		}
		out = append(out, Label{Name: name, Score: round(v/float64(n), 3)})
	}
	SortLabels(out)
	if len(out) > max {
		out = out[:max]
	}
	return out
}

func majorityPair(rows []Score) (string, string) {
	counts := map[[2]string]int{}
	for _, r := range rows {
		counts[[2]string{r.Artist, r.Title}]++
	}
	var best [2]string
	bestN := -1
	for k, v := range counts {
		if v > bestN || (v == bestN && (k[0] < best[0] || (k[0] == best[0] && k[1] < best[1]))) {
			best, bestN = k, v
		}
	}
	return best[0], best[1]
}

// majority is the most common non-empty value (ties: the smallest).
func majority(rows []Score, get func(Score) string) string {
	counts := map[string]int{}
	for _, r := range rows {
		if v := get(r); v != "" {
			counts[v]++
		}
	}
	best, bestN := "", 0
	for k, v := range counts {
		if v > bestN || (v == bestN && k < best) {
			best, bestN = k, v
		}
	}
	return best
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// LabelMap turns labels into a map for JSON answers.
func LabelMap(ls []Label) map[string]float64 {
	m := make(map[string]float64, len(ls))
	for _, l := range ls {
		m[l.Name] = l.Score
	}
	return m
}

// FormatLabels3 writes labels with three decimals, the form sync clients write.
func FormatLabels3(ls []Label) string {
	b := make([]byte, 0, len(ls)*16)
	for i, l := range ls {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, l.Name...)
		b = append(b, ':')
		b = strconv.AppendFloat(b, l.Score, 'f', 3, 64)
	}
	return string(b)
}

// VectorOutlierCosine: with at least MinForOutliers distinct vectors, a
// contribution whose cosine to the song's centroid is below this is left
// out of the song's vector (a poisoned or mislabelled upload).
const (
	VectorOutlierCosine = 0.5
	MinForOutliers      = 3
)

// ConsensusVector is the song's vector for one model: the normalised mean
// of the unit vectors of its distinct contributions (identical uploads
// count once), leaving out outliers far from the centroid. It returns nil
// when no usable vector remains, and the number of outliers left out.
func ConsensusVector(vecs [][]float32) ([]float32, int) {
	var distinct [][]float64
	seen := map[string]bool{}
	for _, v := range vecs {
		k := vecKey(v)
		if seen[k] {
			continue
		}
		seen[k] = true
		u := unit64(v)
		if u != nil {
			distinct = append(distinct, u)
		}
	}
	if len(distinct) == 0 {
		return nil, 0
	}
	centroid := meanUnit(distinct, nil)
	outliers := 0
	keep := make([]bool, len(distinct))
	for i, u := range distinct {
		keep[i] = true
		if len(distinct) >= MinForOutliers && dot64(u, centroid) < VectorOutlierCosine {
			keep[i] = false
			outliers++
		}
	}
	if outliers == len(distinct) {
		for i := range keep {
			keep[i] = true
		}
		outliers = 0
	}
	m := meanUnit(distinct, keep)
	if m == nil {
		return nil, outliers
	}
	out := make([]float32, len(m))
	for i, x := range m {
		out[i] = float32(x)
	}
	return out, outliers
}

func vecKey(v []float32) string {
	b := make([]byte, 0, len(v)*4)
	for _, f := range v {
		u := math.Float32bits(f)
		b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
	}
	return string(b)
}

func unit64(v []float32) []float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		return nil
	}
	n := math.Sqrt(s)
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x) / n
	}
	return out
}

func meanUnit(us [][]float64, keep []bool) []float64 {
	sum := make([]float64, len(us[0]))
	for i, u := range us {
		if keep != nil && !keep[i] {
			continue
		}
		for j, x := range u {
			sum[j] += x
		}
	}
	var s float64
	for _, x := range sum {
		s += x * x
	}
	if s == 0 {
		return nil
	}
	n := math.Sqrt(s)
	for j := range sum {
		sum[j] /= n
	}
	return sum
}

func dot64(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}
