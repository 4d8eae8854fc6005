package search

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestSongTerms(t *testing.T) {
	t.Parallel()
	for i, c := range []struct {
		name string
		song Song
		want string // sorted terms, space-separated
	}{
		{"folded like song keys", Song{Artist: "Beyoncé feat. JAY-Z", Title: "Crazy in Love"},
			"beyonce crazy feat in jay love z"},
		{"ampersand, album, duplicates", Song{Artist: "Simon & Garfunkel", Title: "The Boxer", Album: "Bridge over Troubled Water the"},
			"and boxer bridge garfunkel over simon the troubled water"},
		{"Cyrillic, Greek, Hebrew, Arabic", Song{Artist: "Ёлка Кино", Title: "Ωμέγα שלום سلام"},
			"елка кино ωμεγα שלום سلام"},
		{"Japanese: characters and bigrams", Song{Artist: "東京事変", Title: "メリー"},
			"メ メリ リ リー ー 京 京事 事 事変 変 東 東京"},
		{"mixed word", Song{Artist: "abc東京"}, "abc 京 東 東京"},
		{"Korean", Song{Artist: "방탄소년단"}, "년 년단 단 방 방탄 소 소년 탄 탄소"},
		{"dakuten dropped", Song{Title: "ガ"}, "カ"},
		{"punctuation only", Song{Artist: "!!!"}, "!!!"},
	} {
		t.Run(fmt.Sprintf("%d_%s", i, c.name), func(t *testing.T) {
			got := songTerms(&c.song, nil)
			want := strings.Fields(c.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("songTerms(%+v)\n got %q\nwant %q", c.song, got, want)
			}
		})
	}
}

func TestParseQuery(t *testing.T) {
	t.Parallel()
	q := func(term string, prefix, optional bool) qword { return qword{term, prefix, optional} }
	for i, c := range []struct {
		in   string
		want []qword
	}{
		{"", nil},
		{"   ", nil},
		{"!!!", []qword{q("!!!", true, false)}}, // names of punctuation only keep it
		{"Velv HAR", []qword{q("velv", true, false), q("har", true, false)}},
		{"Beyoncé feat. Jay", []qword{q("beyonce", true, false), q("jay", true, false), q("feat", true, true)}},
		{"ft", []qword{q("ft", true, false)}},
		{"feat featuring", []qword{q("feat", true, false), q("featuring", true, false)}},
		{"the The THE", []qword{q("the", true, false)}},
		{"東京事変", []qword{q("東京", false, false), q("京事", false, false), q("事変", false, false)}},
		{"東", []qword{q("東", false, false)}},
		{"Кино", []qword{q("кино", true, false)}},
	} {
		t.Run(fmt.Sprintf("%d_%s", i, c.in), func(t *testing.T) {
			if got := parseQuery(c.in); !slices.Equal(got, c.want) {
				t.Fatalf("parseQuery(%q)=%+v, want %+v", c.in, got, c.want)
			}
		})
	}
	var many []string
	for i := range maxWords + 5 {
		many = append(many, fmt.Sprint("w", i))
	}
	if n := len(parseQuery("feat " + strings.Join(many, " "))); n != maxWords {
		t.Fatalf("%d words kept, want %d", n, maxWords)
	}
	if ws := parseQuery("feat " + strings.Join(many, " ")); slices.ContainsFunc(ws, func(w qword) bool { return w.optional }) {
		t.Fatal("the optional word must be the first dropped")
	}
}
