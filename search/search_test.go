package search

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"songcommons/songdata"
)

// song makes a Song keyed like the service keys it.
func song(artist, title, album string, contributions int) Song {
	return Song{Key: songdata.SongKey(artist, title), Artist: artist, Title: title, Album: album, Contributions: contributions}
}

func mustBuild(t testing.TB, songs ...Song) *Index {
	t.Helper()
	ix, err := Build(slices.Values(songs))
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func keys(r Result) []string {
	out := []string{}
	for _, h := range r.Hits {
		out = append(out, h.Key)
	}
	return out
}

var library = []Song{
	song("The Velvet Harbor", "Paris Circus", "Detroit Satellites", 3),
	song("Velvet Underground", "Heroin", "The Velvet Underground & Nico", 9),
	song("Harbor Lights", "Velvet Morning", "", 1),
	song("Northern Lights", "Dance of the North", "", 2),
	song("Beyoncé", "Déjà Vu (feat. Jay-Z)", "B'Day", 5),
	song("Calvin Harris", "This Is What You Came For (feat. Rihanna)", "", 4),
	song("Little Feat", "Dixie Chicken", "", 1),
	song("Кино", "Группа крови", "", 6),
	song("Βασίλης Παπακωνσταντίνου", "Φλαμίνγκο", "", 1),
	song("עומר אדם", "שני משוגעים", "", 1),
	song("عمرو دياب", "تملي معاك", "", 1),
	song("東京事変", "群青日和", "教育", 7),
	song("坂本龍一", "戦場のメリークリスマス", "", 2),
	song("방탄소년단", "봄날", "", 8),
	song("Sigur Rós", "Hoppípolla", "Takk...", 2),
}

func TestMatching(t *testing.T) {
	t.Parallel()
	ix := mustBuild(t, library...)
	k := func(a, ti string) string { return songdata.SongKey(a, ti) }
	for i, c := range []struct {
		name, q string
		want    []string // in order
	}{
		{"one word: exact first, then contributions", "velvet", []string{
			k("Velvet Underground", "Heroin"), k("The Velvet Harbor", "Paris Circus"), k("Harbor Lights", "Velvet Morning")}},
		{"prefix while typing", "velv", []string{
			k("Velvet Underground", "Heroin"), k("The Velvet Harbor", "Paris Circus"), k("Harbor Lights", "Velvet Morning")}},
		{"two prefixes, any field, any order", "har velv", []string{
			k("The Velvet Harbor", "Paris Circus"), k("Harbor Lights", "Velvet Morning")}},
		{"whole words rank above prefixes", "north", []string{k("Northern Lights", "Dance of the North")}},
		{"exact beats contributions", "lights", []string{k("Northern Lights", "Dance of the North"), k("Harbor Lights", "Velvet Morning")}},
		{"album", "satellites", []string{k("The Velvet Harbor", "Paris Circus")}},
		{"all words required", "velvet zzz", nil},
		{"no match", "zzzq", nil},
		{"case and accents, both ways", "BEYONCE DEJA", []string{k("Beyoncé", "Déjà Vu (feat. Jay-Z)")}},
		{"accented query", "Sígur rós hoppipolla", []string{k("Sigur Rós", "Hoppípolla")}},
		{"ampersand", "underground & nico", []string{k("Velvet Underground", "Heroin")}},
		{"featured artist is searchable", "rihanna", []string{k("Calvin Harris", "This Is What You Came For (feat. Rihanna)")}},
		{"feat not required", "calvin harris ft rihanna", []string{k("Calvin Harris", "This Is What You Came For (feat. Rihanna)")}},
		{"feat not required, ranks", "feat chicken", []string{k("Little Feat", "Dixie Chicken")}},
		{"feat alone is a word", "feat", []string{
			k("Beyoncé", "Déjà Vu (feat. Jay-Z)"), k("Calvin Harris", "This Is What You Came For (feat. Rihanna)"), k("Little Feat", "Dixie Chicken")}},
		{"Cyrillic", "кино кров", []string{k("Кино", "Группа крови")}},
		{"Cyrillic folded", "КИНО", []string{k("Кино", "Группа крови")}},
		{"Greek without accents", "βασιλης φλαμ", []string{k("Βασίλης Παπακωνσταντίνου", "Φλαμίνγκο")}},
		{"Hebrew", "עומר", []string{k("עומר אדם", "שני משוגעים")}},
		{"Arabic", "عمرو", []string{k("عمرو دياب", "تملي معاك")}},
		{"Japanese two characters", "東京", []string{k("東京事変", "群青日和")}},
		{"Japanese substring", "京事変", []string{k("東京事変", "群青日和")}},
		{"Japanese one character", "青", []string{k("東京事変", "群青日和")}},
		{"Japanese in album", "教育", []string{k("東京事変", "群青日和")}},
		{"katakana with prolonged mark", "メリー", []string{k("坂本龍一", "戦場のメリークリスマス")}},
		{"Korean", "소년", []string{k("방탄소년단", "봄날")}},
		{"CJK and Latin", "東京 群青", []string{k("東京事変", "群青日和")}},
		{"CJK absent bigram", "東変", nil},
		{"empty", "  ", nil},
	} {
		t.Run(fmt.Sprintf("%d_%s", i, c.name), func(t *testing.T) {
			r := ix.Search(c.q, 1, 20)
			got := keys(r)
			if c.want == nil {
				c.want = []string{}
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("Search(%q)\n got %q\nwant %q", c.q, got, c.want)
			}
			if r.Total != len(c.want) || r.Capped {
				t.Fatalf("Search(%q): total %d capped %v, want %d", c.q, r.Total, r.Capped, len(c.want))
			}
		})
	}
}

func TestRankingDetails(t *testing.T) {
	t.Parallel()
	ix := mustBuild(t,
		song("B", "Amber", "", 1),
		song("A", "Amber", "", 1),   // same rank as B/Amber: the key decides
		song("C", "Ambers", "", 50), // prefix only: below every exact match
		song("D", "Amber Amber", "", 2),
	)
	r := ix.Search("amber", 1, 10)
	want := []string{"d|amber amber", "a|amber", "b|amber", "c|ambers"}
	if !slices.Equal(keys(r), want) {
		t.Fatalf("got %q, want %q", keys(r), want)
	}
	if r.Hits[0].Exact != 1 || r.Hits[3].Exact != 0 || r.Hits[0].Contributions != 2 {
		t.Fatalf("hits %+v", r.Hits)
	}
	// two words: both whole words beat one whole word
	ix = mustBuild(t, song("Northern", "Dancer", "", 9), song("Northern", "Dance", "", 1), song("North", "Dance", "", 5))
	r = ix.Search("northern dance", 1, 10)
	want = []string{"northern|dance", "northern|dancer"}
	if !slices.Equal(keys(r), want) || r.Hits[0].Exact != 2 || r.Hits[1].Exact != 1 {
		t.Fatalf("got %+v, want %q", r.Hits, want)
	}
}

// manySongs returns n songs sharing the word "common", with distinct keys
// and contributions, and a few other words.
func manySongs(n int) []Song {
	words := []string{"red", "green", "blue", "gold", "grey"}
	out := make([]Song, n)
	for i := range out {
		out[i] = song(fmt.Sprintf("Artist %d", i), "Common "+words[i%len(words)], "", i%7)
	}
	return out
}

func TestPaging(t *testing.T) {
	t.Parallel()
	ix := mustBuild(t, manySongs(300)...)
	all := ix.Search("common", 1, 100)
	if all.Total != 300 || len(all.Hits) != 100 {
		t.Fatalf("total %d, %d hits", all.Total, len(all.Hits))
	}
	var paged []string
	for p := 1; ; p++ {
		r := ix.Search("common", p, 7)
		if r.Total != 300 {
			t.Fatalf("page %d: total %d", p, r.Total)
		}
		if len(r.Hits) == 0 {
			break
		}
		paged = append(paged, keys(r)...)
	}
	if len(paged) != 300 || !slices.Equal(paged[:100], keys(all)) {
		t.Fatalf("pages of 7 give %d songs, first 100 differ: %v", len(paged), !slices.Equal(paged[:100], keys(all)))
	}
	seen := map[string]bool{}
	for _, k := range paged {
		if seen[k] {
			t.Fatalf("%q on two pages", k)
		}
		seen[k] = true
	}
	if r := ix.Search("common", 1, 1000); len(r.Hits) != MaxPerPage {
		t.Fatalf("perPage clamped to %d, got %d hits", MaxPerPage, len(r.Hits))
	}
	if r := ix.Search("common", 0, 0); len(r.Hits) != 1 || r.Hits[0].Key != all.Hits[0].Key {
		t.Fatalf("page 0 / perPage 0 are page 1 / 1: %+v", r.Hits)
	}
	if r := ix.Search("common", MaxDepth/10+1, 10); len(r.Hits) != 0 || r.Total != 300 {
		t.Fatalf("past MaxDepth: %d hits, total %d", len(r.Hits), r.Total)
	}
}

func TestTotalCapped(t *testing.T) {
	t.Parallel()
	ix := mustBuild(t, manySongs(TotalCap+50)...)
	r := ix.Search("common", 1, 10)
	if r.Total != TotalCap || !r.Capped || len(r.Hits) != 10 {
		t.Fatalf("total %d capped %v hits %d", r.Total, r.Capped, len(r.Hits))
	}
	if r := ix.Search("common red", 1, 10); r.Total != (TotalCap+50)/5 || r.Capped {
		t.Fatalf("total %d capped %v", r.Total, r.Capped)
	}
	if r := ix.Search("com", MaxDepth/100, 100); len(r.Hits) != 100 || !r.Capped {
		t.Fatalf("the last page before MaxDepth: %d hits, capped %v", len(r.Hits), r.Capped)
	}
}

func TestWrites(t *testing.T) {
	t.Parallel()
	ix := New()
	a := song("Amber Foxes", "Paper Moon", "", 1)
	b := song("Amber Wolves", "Night Train", "Golden Years", 1)
	for _, s := range []Song{a, b} {
		if err := ix.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := ix.Add(Song{Artist: "x"}); err == nil {
		t.Fatal("a song without a key is refused")
	}
	expect := func(q string, want ...string) {
		t.Helper()
		if got := keys(ix.Search(q, 1, 10)); !slices.Equal(got, append([]string{}, want...)) {
			t.Fatalf("Search(%q) = %q, want %q", q, got, want)
		}
	}
	expect("amber", a.Key, b.Key) // equal contributions: key order
	if !ix.SetContributions(b.Key, 4) || ix.SetContributions("nope", 1) {
		t.Fatal("SetContributions reports whether the key is there")
	}
	expect("amber", b.Key, a.Key)
	if ix.Search("amber", 1, 1).Hits[0].Contributions != 4 {
		t.Fatal("contributions not returned")
	}
	// update: the album changes, the key stays
	b.Album, b.Contributions = "Blue Years", 4
	if err := ix.Add(b); err != nil {
		t.Fatal(err)
	}
	expect("blue", b.Key)
	expect("golden")
	expect("gold")
	expect("years", b.Key)
	if ix.Len() != 2 {
		t.Fatalf("Len %d after an update", ix.Len())
	}
	if !ix.Remove(a.Key) || ix.Remove(a.Key) {
		t.Fatal("Remove reports whether the key was there")
	}
	expect("amber", b.Key)
	expect("paper")
	// the freed id is taken by the next song
	c := song("Copper Owls", "Amber Sky", "", 2)
	if err := ix.Add(c); err != nil {
		t.Fatal(err)
	}
	expect("amber", b.Key, c.Key)
	expect("sky", c.Key)
	if ix.Len() != 2 {
		t.Fatalf("Len %d", ix.Len())
	}
}

var termCache sync.Map // the naive search's songTerms, by names

// naive is the reference: every song's terms tested against every word.
func naive(songs map[string]Song, q string, page, perPage int) Result {
	words := parseQuery(q)
	var hits []Hit
	if len(words) == 0 {
		return Result{Hits: []Hit{}}
	}
	for _, s := range songs {
		terms, ok := termCache.Load(s.Key + "\x00" + s.Artist + "\x00" + s.Title + "\x00" + s.Album)
		if !ok {
			terms = songTerms(&s, nil)
			termCache.Store(s.Key+"\x00"+s.Artist+"\x00"+s.Title+"\x00"+s.Album, terms)
		}
		exact, ok := 0, true
		for _, w := range words {
			e := slices.Contains(terms.([]string), w.term)
			p := w.prefix && slices.ContainsFunc(terms.([]string), func(t string) bool { return strings.HasPrefix(t, w.term) })
			if e {
				exact++
			}
			if !w.optional && !e && !p {
				ok = false
				break
			}
		}
		if ok {
			hits = append(hits, Hit{Key: s.Key, Contributions: s.Contributions, Exact: exact})
		}
	}
	slices.SortFunc(hits, func(a, b Hit) int {
		if a.Exact != b.Exact {
			return b.Exact - a.Exact
		}
		if a.Contributions != b.Contributions {
			return b.Contributions - a.Contributions
		}
		return strings.Compare(a.Key, b.Key)
	})
	page, perPage = max(page, 1), min(max(perPage, 1), MaxPerPage)
	lo, hi := min((page-1)*perPage, len(hits)), min(page*perPage, len(hits))
	r := Result{Hits: append([]Hit{}, hits[lo:hi]...), Total: len(hits)}
	if r.Total > TotalCap {
		r.Total, r.Capped = TotalCap, true
	}
	return r
}

// TestAgainstNaive: random songs from a small vocabulary (with accents, a
// "feat" credit and CJK), random adds, updates, removals and contribution
// changes, random queries; each answer equals the naive one, with either
// plan for queries of several words.
func TestAgainstNaive(t *testing.T) {
	t.Parallel()
	vocab := strings.Fields("amber ambers am velvet velvets harbor north northern nor dance dancer " +
		"the a b ab élan elan ft feat featuring 東京 京都 東 кино кин x1 x2 & love lovers")
	rng := rand.New(rand.NewPCG(1, 2))
	name := func(n int) string {
		var w []string
		for range 1 + rng.IntN(n) {
			w = append(w, vocab[rng.IntN(len(vocab))])
		}
		return strings.Join(w, " ")
	}
	randSong := func(i int) Song {
		s := Song{Artist: name(3), Title: fmt.Sprintf("%s %d", name(3), i), Contributions: rng.IntN(4)}
		if rng.IntN(3) > 0 {
			s.Album = name(2)
		}
		s.Key = songdata.SongKey(s.Artist, s.Title)
		return s
	}
	model := map[string]Song{}
	var initial []Song
	for i := range 400 {
		s := randSong(i)
		initial = append(initial, s)
		model[s.Key] = s
	}
	ix := mustBuild(t, initial...)
	query := func() string {
		q := name(3)
		if rng.IntN(2) == 0 { // cut the last word short, as while typing
			q = q[:max(1, len(q)-rng.IntN(3))]
		}
		return q
	}
	check := func(round int) {
		t.Helper()
		for range 30 {
			q, page, per := query(), 1+rng.IntN(3), 1+rng.IntN(15)
			want := naive(model, q, page, per)
			for _, p := range []plan{planAuto, planWords, planBitmaps} {
				got := ix.search(q, page, per, p)
				if !slices.Equal(got.Hits, want.Hits) || got.Total != want.Total || got.Capped != want.Capped {
					t.Fatalf("round %d, Search(%q, %d, %d), plan %d:\n got %+v\nwant %+v", round, q, page, per, p, got, want)
				}
			}
		}
	}
	check(0)
	next := 400
	for round := 1; round <= 20; round++ {
		for range 40 {
			keys := make([]string, 0, len(model))
			for k := range model {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			switch op := rng.IntN(4); {
			case op == 0 || len(keys) == 0: // add
				s := randSong(next)
				next++
				model[s.Key] = s
				if err := ix.Add(s); err != nil {
					t.Fatal(err)
				}
			case op == 1: // rename (same key)
				s := model[keys[rng.IntN(len(keys))]]
				s.Album, s.Contributions = name(2), rng.IntN(4)
				model[s.Key] = s
				if err := ix.Add(s); err != nil {
					t.Fatal(err)
				}
			case op == 2:
				k := keys[rng.IntN(len(keys))]
				delete(model, k)
				if !ix.Remove(k) {
					t.Fatalf("Remove(%q) missed", k)
				}
			default:
				s := model[keys[rng.IntN(len(keys))]]
				s.Contributions = rng.IntN(6)
				model[s.Key] = s
				ix.SetContributions(s.Key, s.Contributions)
			}
		}
		if ix.Len() != len(model) {
			t.Fatalf("Len %d, want %d", ix.Len(), len(model))
		}
		check(round)
	}
}

func TestBuild(t *testing.T) {
	t.Parallel()
	// a key given twice keeps its last song
	a1 := song("Amber", "One", "First Album", 1)
	a2 := a1
	a2.Album, a2.Contributions = "Second Album", 3
	ix := mustBuild(t, a1, song("Amber", "Two", "", 2), a2)
	if ix.Len() != 2 || len(ix.Search("first", 1, 10).Hits) != 0 {
		t.Fatalf("Len %d, first album still found", ix.Len())
	}
	if r := ix.Search("second", 1, 10); len(r.Hits) != 1 || r.Hits[0].Contributions != 3 {
		t.Fatalf("%+v", r)
	}
	if _, err := Build(slices.Values([]Song{a1, {Artist: "no key"}})); err == nil {
		t.Fatal("a song without a key fails the build")
	}
	// Build and Add give the same answers
	songs := manySongs(2000)
	added := New()
	for _, s := range songs {
		if err := added.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	built := mustBuild(t, songs...)
	for _, q := range []string{"common", "art 12", "artist 1999 grey", "g", "gre"} {
		for p := range 3 {
			if a, b := added.Search(q, p+1, 25), built.Search(q, p+1, 25); !slices.Equal(a.Hits, b.Hits) || a.Total != b.Total {
				t.Fatalf("%q page %d: Add gives %+v, Build %+v", q, p+1, a, b)
			}
		}
	}
}

// Searches run while songs are added, renamed, removed and re-counted
// (run with -race).
func TestConcurrent(t *testing.T) {
	t.Parallel()
	ix := mustBuild(t, manySongs(500)...)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := range 4 {
		wg.Go(func() {
			qs := []string{"common", "common red", "art", "artist 1", "gr"}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				res := ix.Search(qs[(i+r)%len(qs)], 1+i%3, 10)
				if res.Total < 0 || len(res.Hits) > 10 {
					t.Error("bad result")
					return
				}
			}
		})
	}
	for i := range 600 {
		s := song(fmt.Sprintf("Writer %d", i%50), "Common Song", fmt.Sprint("album ", i), i%5)
		switch i % 4 {
		case 0, 1:
			_ = ix.Add(s)
		case 2:
			ix.SetContributions(s.Key, i)
		default:
			ix.Remove(s.Key)
		}
	}
	close(stop)
	wg.Wait()
}

// Many new words after a build (the sorted vocabulary is rebuilt) and many
// renames (the per-song term lists are compacted) keep the answers right.
func TestGrowth(t *testing.T) {
	t.Parallel()
	ix := mustBuild(t, manySongs(100)...)
	for i := range recentMax + 100 {
		if err := ix.Add(song(fmt.Sprintf("Newword%05d", i), "Common Tune", "", 1)); err != nil {
			t.Fatal(err)
		}
	}
	if len(ix.recent) >= recentMax {
		t.Fatalf("%d recent terms", len(ix.recent))
	}
	if r := ix.Search("newword0", 1, 10); r.Total != recentMax+100 {
		t.Fatalf("newword0: %d", r.Total)
	}
	if r := ix.Search("newword011", 1, 10); r.Total != 24 || r.Hits[0].Key != "newword01100|common tune" {
		t.Fatalf("newword011: %d %+v", r.Total, r.Hits)
	}
	long := ""
	for i := range 100 {
		long += fmt.Sprint(" w", i)
	}
	s := song("Renamed", "Often", "", 1)
	for i := range 700 {
		s.Album = fmt.Sprintf("%s v%d", long, i)
		if err := ix.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	if ix.garbage > 1<<16 {
		t.Fatalf("garbage %d not reclaimed", ix.garbage)
	}
	if r := ix.Search("v699 w99 renamed", 1, 10); r.Total != 1 {
		t.Fatalf("%+v", r)
	}
	if r := ix.Search("v698", 1, 10); r.Total != 0 {
		t.Fatalf("%+v", r)
	}
	if r := ix.Search("common", 1, 10); r.Total != 100+recentMax+100 {
		t.Fatalf("common: %d", r.Total)
	}
}
