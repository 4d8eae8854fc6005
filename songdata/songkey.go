package songdata

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// SongKeySeparator separates the artist and title parts of a song key. The
// normalised parts never contain it, so a song key is always told apart from
// a record id.
const SongKeySeparator = "|"

var (
	// "Artist feat. Other", "Artist ft Other", "Artist featuring Other"
	featArtist = regexp.MustCompile(`(?i)\s*[\(\[]?\s*\b(feat\.?|ft\.?|featuring)(\s|$).*$`)
	// "Title (feat. Other)", "Title [ft. Other]"
	featTitleBracket = regexp.MustCompile(`(?i)\s*[\(\[]\s*(feat\.?|ft\.?|featuring)\s[^\)\]]*[\)\]]`)
	// "Title feat. Other" up to the end or to a following " - " / bracket
	featTitleTail = regexp.MustCompile(`(?i)\s+\b(feat\.?|ft\.?|featuring)\s[^\(\[]*?(\s+-\s+|[\(\[]|$)`)
	folder        = cases.Fold()
)

// SongKey returns the normalised identity of a song: artist and title are
// Unicode-normalised (compatibility decomposition, accents dropped),
// case-folded, "&" read as "and", punctuation and whitespace collapsed to
// single spaces, and "feat." credits removed, joined by SongKeySeparator.
// "Beyoncé feat. JAY-Z" / "Crazy in Love (Remastered)" and
// "BEYONCE" / "crazy in love - remastered" give the same key.
func SongKey(artist, title string) string {
	a := featArtist.ReplaceAllString(artist, "")
	if strings.TrimSpace(a) == "" {
		a = artist // the whole artist was a credit ("feat. X"): keep it
	}
	t := featTitleBracket.ReplaceAllString(title, "")
	t = featTitleTail.ReplaceAllStringFunc(t, func(m string) string {
		sub := featTitleTail.FindStringSubmatch(m)
		return " " + sub[2] // keep what follows the credit
	})
	if strings.TrimSpace(t) == "" {
		t = title
	}
	return normPart(a) + SongKeySeparator + normPart(t)
}

// FoldName is the form in which a song key writes one name (artist or
// title): Unicode-normalised (compatibility decomposition, accents dropped),
// case-folded, "&" read as "and", punctuation and whitespace collapsed to
// single spaces. Unlike SongKey it keeps "feat." credits. Other indexes of
// names (search) fold with it so they agree with song keys.
func FoldName(s string) string { return normPart(s) }

// normPart normalises one part of a song key.
func normPart(s string) string {
	folded := fold(s)
	var b strings.Builder
	b.Grow(len(folded))
	space := true // suppress leading spaces
	for _, r := range folded {
		switch {
		case unicode.IsLetter(r) || unicode.IsNumber(r):
			b.WriteRune(r)
			space = false
		case r == '&':
			if !space {
				b.WriteByte(' ')
			}
			b.WriteString("and ")
			space = true
		default:
			if !space {
				b.WriteByte(' ')
				space = true
			}
		}
	}
	out := strings.TrimSpace(b.String())
	if out == "" {
		// names made only of punctuation ("!!!", "...") keep their symbols
		out = strings.Join(strings.Fields(strings.ReplaceAll(folded, SongKeySeparator, "/")), " ")
	}
	return out
}

// fold applies NFKD, drops combining marks, recomposes and case-folds.
func fold(s string) string {
	if isASCII(s) {
		// NFKD and NFC leave ASCII as it is, and case folding maps only
		// A–Z (TestFoldASCII): the same result, 2–3× faster
		return strings.ToLower(s)
	}
	return foldUnicode(s)
}

// foldUnicode is fold for any string.
func foldUnicode(s string) string {
	d := norm.NFKD.String(s)
	var b strings.Builder
	b.Grow(len(d))
	for _, r := range d {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(r)
	}
	return folder.String(norm.NFC.String(b.String()))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
