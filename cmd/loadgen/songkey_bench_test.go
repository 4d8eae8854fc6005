package main

import (
	"regexp"
	"strings"
	"testing"

	"songcommons/internal/synth"
	"songcommons/songdata"
)

// Evidence for BENCHMARKS.md (lookup): how much of songdata.SongKey is the
// three "feat." regular expressions, and what a cheap pre-check costs.
// The patterns are copied from songdata/songkey.go.
var (
	bFeatArtist       = regexp.MustCompile(`(?i)\s*[\(\[]?\s*\b(feat\.?|ft\.?|featuring)(\s|$).*$`)
	bFeatTitleBracket = regexp.MustCompile(`(?i)\s*[\(\[]\s*(feat\.?|ft\.?|featuring)\s[^\)\]]*[\)\]]`)
	bFeatTitleTail    = regexp.MustCompile(`(?i)\s+\b(feat\.?|ft\.?|featuring)\s[^\(\[]*?(\s+-\s+|[\(\[]|$)`)
)

func benchNames() (as, ts []string) {
	for i := range uint64(1000) {
		a, t := synth.SongID(i * 997)
		as, ts = append(as, a), append(ts, t)
	}
	return
}

// mayHaveCredit is the pre-check: every credit the regexes remove contains
// "ft" or "feat" in some case ("featuring" contains "feat").
func mayHaveCredit(s string) bool {
	l := strings.ToLower(s)
	return strings.Contains(l, "ft") || strings.Contains(l, "feat")
}

func BenchmarkSongKey1000(b *testing.B) {
	as, ts := benchNames()
	for b.Loop() {
		for i := range as {
			_ = songdata.SongKey(as[i], ts[i])
		}
	}
}

func BenchmarkFeatRegexes1000(b *testing.B) {
	as, ts := benchNames()
	for b.Loop() {
		for i := range as {
			_ = bFeatArtist.ReplaceAllString(as[i], "")
			_ = bFeatTitleBracket.ReplaceAllString(ts[i], "")
			_ = bFeatTitleTail.ReplaceAllString(ts[i], "")
		}
	}
}

func BenchmarkPrecheck1000(b *testing.B) {
	as, ts := benchNames()
	n := 0
	for b.Loop() {
		for i := range as {
			if mayHaveCredit(as[i]) || mayHaveCredit(ts[i]) {
				n++
			}
		}
	}
	_ = n
}
