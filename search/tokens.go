package search

import (
	"slices"
	"strings"
	"unicode"

	"songcommons/songdata"
)

// isCJK reports whether r belongs to a script written without spaces
// between words that the index splits into characters and bigrams.
func isCJK(r rune) bool {
	if r < 0x1100 {
		return false
	}
	// U+30FC (ー, prolonged sound mark) and U+3005 (々, iteration mark) are
	// "Common" script but only occur inside Japanese words.
	return r == 0x30FC || r == 0x3005 ||
		unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul)
}

// nameTerms appends to dst the terms of one name (artist, title or album):
// its folded words, with every run of CJK characters replaced by its single
// characters and its bigrams.
func nameTerms(dst []string, name string) []string {
	if name == "" {
		return dst
	}
	for w := range strings.FieldsSeq(songdata.FoldName(name)) {
		dst = wordTerms(dst, w, nil)
	}
	return dst
}

// wordTerms splits one folded word into its non-CJK runs (appended whole)
// and its CJK runs. On the index side (cjk nil) a CJK run gives its single
// characters and its bigrams; on the query side (cjk not nil) it gives its
// bigrams, or its character when it has only one, and cjk records for each
// appended term whether it came from a CJK run.
func wordTerms(dst []string, w string, cjk *[]bool) []string {
	add := func(t string, c bool) {
		dst = append(dst, t)
		if cjk != nil {
			*cjk = append(*cjk, c)
		}
	}
	var at [64]int
	flush := func(run string, inCJK bool) {
		if run == "" {
			return
		}
		if !inCJK {
			add(run, false)
			return
		}
		offs := at[:0] // byte offset of every character, then len(run)
		for i := range run {
			offs = append(offs, i)
		}
		offs = append(offs, len(run))
		n := len(offs) - 1
		if cjk == nil {
			for i := range n {
				add(run[offs[i]:offs[i+1]], true)
			}
		}
		if n == 1 {
			if cjk != nil {
				add(run, true)
			}
			return
		}
		for i := range n - 1 {
			add(run[offs[i]:offs[i+2]], true)
		}
	}
	start, inCJK := 0, false
	for i, r := range w {
		if c := isCJK(r); c != inCJK {
			flush(w[start:i], inCJK)
			start, inCJK = i, c
		}
	}
	flush(w[start:], inCJK)
	return dst
}

// songTerms returns the distinct terms of a song, sorted.
func songTerms(s *Song, buf []string) []string {
	buf = nameTerms(buf[:0], s.Artist)
	buf = nameTerms(buf, s.Title)
	buf = nameTerms(buf, s.Album)
	slices.Sort(buf)
	return slices.Compact(buf)
}

// featMarkers are the words that credit a featured artist; in a query they
// rank but do not filter.
var featMarkers = map[string]bool{"feat": true, "ft": true, "featuring": true}

// qword is one word of a parsed query.
type qword struct {
	term     string
	prefix   bool // also matches terms that begin with it
	optional bool // ranks matching songs higher but is not required
}

// maxWords is the number of distinct query words taken into account; a
// query's further words are ignored.
const maxWords = 16

// parseQuery folds a query into its distinct words. Non-CJK words match as
// prefixes; CJK runs give their bigrams (or their single character) as
// whole terms. "feat"-like words are optional unless nothing else is asked.
func parseQuery(q string) []qword {
	var out []qword
	var terms []string
	var cjk []bool
	for w := range strings.FieldsSeq(songdata.FoldName(q)) {
		cjk = cjk[:0]
		terms = wordTerms(terms[:0], w, &cjk)
		for i, t := range terms {
			if slices.ContainsFunc(out, func(x qword) bool { return x.term == t }) {
				continue
			}
			out = append(out, qword{term: t, prefix: !cjk[i], optional: !cjk[i] && featMarkers[t]})
		}
	}
	if !slices.ContainsFunc(out, func(x qword) bool { return !x.optional }) {
		for i := range out {
			out[i].optional = false
		}
	}
	// required words first, so that the ones kept under maxWords are the
	// required ones
	slices.SortStableFunc(out, func(a, b qword) int {
		switch {
		case a.optional == b.optional:
			return 0
		case b.optional:
			return -1
		}
		return 1
	})
	if len(out) > maxWords {
		out = out[:maxWords]
	}
	return out
}
