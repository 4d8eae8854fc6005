package songdata

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestSongKey(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name          string
		a1, t1        string
		a2, t2        string
		same          bool
		wantKeyOfPair string
	}{
		{"case and spaces", "Daft Punk", "One More Time", "  daft   PUNK ", "one more time", true, "daft punk|one more time"},
		{"accents", "Beyoncé", "Déjà Vu", "Beyonce", "Deja vu", true, "beyonce|deja vu"},
		{"feat in artist", "Beyoncé feat. JAY-Z", "Crazy in Love", "Beyoncé", "Crazy in Love", true, "beyonce|crazy in love"},
		{"ft in artist", "Beyoncé ft JAY-Z", "Crazy in Love", "Beyonce Featuring Jay Z", "crazy in love", true, ""},
		{"feat in title brackets", "Calvin Harris", "This Is What You Came For (feat. Rihanna)", "calvin harris", "this is what you came for", true, ""},
		{"feat in title tail", "Calvin Harris", "This Is What You Came For feat. Rihanna", "calvin harris", "This Is What You Came For", true, ""},
		{"feat tail keeps version", "X", "Song feat. Y - Remastered", "x", "Song (Remastered)", true, "x|song remastered"},
		{"punctuation", "AC/DC", "T.N.T.", "AC DC", "T N T", true, "ac dc|t n t"},
		{"ampersand", "Simon & Garfunkel", "The Boxer", "Simon and Garfunkel", "the boxer", true, "simon and garfunkel|the boxer"},
		{"fullwidth compat", "ＡＢＣ", "Ｔｉｔｌｅ", "abc", "title", true, ""},
		{"case fold ß", "Straße", "Lied", "STRASSE", "lied", true, ""},
		{"different songs", "Daft Punk", "One More Time", "Daft Punk", "Aerodynamic", false, ""},
		{"soft is not ft", "Soft Cell", "Tainted Love", "Soft", "Tainted Love", false, "soft cell|tainted love"},
		{"punctuation-only names", "!!!", "Heart of Hearts", "!!!", "heart of hearts", true, "!!!|heart of hearts"},
		{"non-latin kept", "坂本龍一", "戦場のメリークリスマス", "坂本龍一", "戦場のメリークリスマス", true, ""},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d_%s", i, c.name), func(t *testing.T) {
			k1, k2 := SongKey(c.a1, c.t1), SongKey(c.a2, c.t2)
			if (k1 == k2) != c.same {
				t.Fatalf("SongKey(%q,%q)=%q, SongKey(%q,%q)=%q, same=%v", c.a1, c.t1, k1, c.a2, c.t2, k2, c.same)
			}
			if c.wantKeyOfPair != "" && k1 != c.wantKeyOfPair {
				t.Fatalf("SongKey(%q,%q)=%q, want %q", c.a1, c.t1, k1, c.wantKeyOfPair)
			}
			if strings.Count(k1, SongKeySeparator) != 1 {
				t.Fatalf("key %q must hold exactly one separator", k1)
			}
		})
	}
}

func TestNormalizeKey(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"C", "C"}, {"c", "C"}, {"C#", "C#"}, {"Db", "C#"}, {"D♭", "C#"}, {"F♯", "F#"},
		{"Cb", "B"}, {"B#", "C"}, {"E#", "F"}, {"Fb", "E"}, {" A ", "A"}, {"Bb", "A#"},
		{"H", ""}, {"", ""}, {"C##", ""}, {"Am", ""}, {"sol", ""},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d_%s", i, c.in), func(t *testing.T) {
			got, err := NormalizeKey(c.in)
			if c.want == "" {
				if err == nil {
					t.Fatalf("NormalizeKey(%q)=%q, want an error", c.in, got)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("NormalizeKey(%q)=%q,%v want %q", c.in, got, err, c.want)
			}
		})
	}
	if len(PitchClasses()) != 12 {
		t.Fatal("12 pitch classes expected")
	}
}

func TestParseLabels(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, in, want, errPart string
	}{
		{"canonical order and spelling", "pop:0.301, Rock:0.512,Hip-Hop:0.301", "rock:0.512,Hip-Hop:0.301,pop:0.301", ""},
		{"known labels take the known spelling", "hip-hop:0.3,HOUSE:0.2,mellow:0.1,PROGRESSIVE ROCK:0.05,Danceable:0.01",
			"Hip-Hop:0.3,House:0.2,Mellow:0.1,Progressive rock:0.05,danceable:0.01", ""},
		{"unknown labels keep theirs", "Chill Vibes:0.5,LoFi:0.5,dark_Ambient-2:0.1", "Chill Vibes:0.5,LoFi:0.5,dark_Ambient-2:0.1", ""},
		{"order ignores case", "b:0.5,A:0.5,a2:0.5", "A:0.5,a2:0.5,b:0.5", ""},
		{"trailing zeros dropped", "rock:0.500", "rock:0.5", ""},
		{"empty", "", "", ""},
		{"spaces and digits", "female vocalists:0.2,80s:0.1", "female vocalists:0.2,80s:0.1", ""},
		{"score above 1", "rock:1.2", "", "between 0 and 1"},
		{"negative", "rock:-0.1", "", "between 0 and 1"},
		{"nan", "rock:NaN", "", "finite"},
		{"inf", "rock:Inf", "", "finite"},
		{"no colon", "rock", "", "label:score"},
		{"bad label", "r&b:0.3", "", "a-z"},
		{"long label", strings.Repeat("a", 33) + ":0.1", "", "1-32"},
		{"duplicate", "rock:0.1,Rock:0.2", "", "twice"},
		{"duplicate in another case", "LoFi:0.1,lofi:0.2", "", "twice"},
		{"empty label", ":0.1", "", "1-32"},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d_%s", i, c.name), func(t *testing.T) {
			ls, err := ParseLabels(c.in)
			if c.errPart != "" {
				if err == nil || !strings.Contains(err.Error(), c.errPart) {
					t.Fatalf("ParseLabels(%q) err=%v, want one mentioning %q", c.in, err, c.errPart)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := FormatLabels(ls); got != c.want {
				t.Fatalf("got %q want %q", got, c.want)
			}
		})
	}
	many := make([]string, MaxLabels+1)
	for i := range many {
		many[i] = fmt.Sprintf("l%d:0.1", i)
	}
	if _, err := ParseLabels(strings.Join(many, ",")); err == nil {
		t.Fatal("65 labels must be refused")
	}
}

func TestParseVector(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		in   any
		n    int
		bad  bool
	}{
		{"array", []any{0.1, 0.2, -3.0}, 3, false},
		{"json string", "[0.1, 0.2, 1e-3]", 3, false},
		{"double encoded", `"[0.5,0.25]"`, 2, false},
		{"bytes", []byte("[1,2]"), 2, false},
		{"not array", "hello", 0, true},
		{"object", "{\"a\":1}", 0, true},
		{"string element", []any{0.1, "x"}, 0, true},
		{"string element json", `[0.1,"0.2"]`, 0, true},
		{"nan json", "[NaN]", 0, true},
		{"inf value", []float64{math.Inf(1)}, 0, true},
		{"huge", "[1e999]", 0, true},
		{"nil", nil, 0, true},
		{"bool", true, 0, true},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d_%s", i, c.name), func(t *testing.T) {
			v, err := ParseVector(c.in)
			if c.bad != (err != nil) {
				t.Fatalf("ParseVector(%v) = %v, %v", c.in, v, err)
			}
			if !c.bad && len(v) != c.n {
				t.Fatalf("len %d want %d", len(v), c.n)
			}
		})
	}
}

func vec(n int, v float64) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = v + float64(i)/1000
	}
	return out
}

func zeros(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = 0.0
	}
	return out
}

func TestCheckScore(t *testing.T) {
	t.Parallel()
	good := func() map[string]any {
		return map[string]any{"artist": " Daft Punk ", "title": "One More Time", "tempo": 122.9, "key": "Gb",
			"scale": "Minor", "mood_vector": "house:0.71,electronic:0.55", "energy": 0.61,
			"other_features": "danceable:0.93,happy:0.4", "mbid": "5B11F4CE-A62D-471E-81FC-A69A8278C7DA", "isrc": "us-rc1-76-07839"}
	}
	s, errs := CheckScore(good(), "")
	if errs != nil {
		t.Fatal(errs)
	}
	if s.Artist != "Daft Punk" || s.Key != "F#" || s.Scale != "minor" || s.SongKey != "daft punk|one more time" ||
		s.MBID != "5b11f4ce-a62d-471e-81fc-a69a8278c7da" || s.ISRC != "USRC17607839" {
		t.Fatalf("not canonical: %+v", s)
	}
	cases := []struct {
		name  string
		edit  func(m map[string]any)
		field string
		code  string
	}{
		{"missing artist", func(m map[string]any) { delete(m, "artist") }, "artist", CodeRequired},
		{"blank title", func(m map[string]any) { m["title"] = "   " }, "title", CodeRequired},
		{"long title", func(m map[string]any) { m["title"] = strings.Repeat("é", 513) }, "title", CodeTooLong},
		{"control char", func(m map[string]any) { m["artist"] = "a\x00b" }, "artist", CodeInvalid},
		{"invalid utf8", func(m map[string]any) { m["artist"] = "a\xffb" }, "artist", CodeInvalid},
		{"artist number", func(m map[string]any) { m["artist"] = 12.0 }, "artist", CodeNotString},
		{"tempo zero", func(m map[string]any) { m["tempo"] = 0.0 }, "tempo", CodeOutOfRange},
		{"tempo 401", func(m map[string]any) { m["tempo"] = 401.0 }, "tempo", CodeOutOfRange},
		{"tempo string", func(m map[string]any) { m["tempo"] = "fast" }, "tempo", CodeNotNumber},
		{"tempo nan", func(m map[string]any) { m["tempo"] = math.NaN() }, "tempo", CodeNotNumber},
		{"tempo missing", func(m map[string]any) { delete(m, "tempo") }, "tempo", CodeRequired},
		{"key H", func(m map[string]any) { m["key"] = "H" }, "key", CodeKey},
		{"scale dorian", func(m map[string]any) { m["scale"] = "dorian" }, "scale", CodeScale},
		{"mood bad", func(m map[string]any) { m["mood_vector"] = "rock=0.5" }, "mood_vector", CodeLabels},
		{"other bad", func(m map[string]any) { m["other_features"] = "danceable:2" }, "other_features", CodeLabels},
		{"energy negative", func(m map[string]any) { m["energy"] = -1.0 }, "energy", CodeOutOfRange},
		{"duration negative", func(m map[string]any) { m["duration"] = -3.0 }, "duration", CodeOutOfRange},
		{"mbid bad", func(m map[string]any) { m["mbid"] = "not-a-uuid" }, "mbid", CodeInvalid},
		{"isrc bad", func(m map[string]any) { m["isrc"] = "XX" }, "isrc", CodeInvalid},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d_%s", i, c.name), func(t *testing.T) {
			m := good()
			c.edit(m)
			_, errs := CheckScore(m, "songs.3.")
			e, ok := errs["songs.3."+c.field]
			if !ok {
				t.Fatalf("want an error on songs.3.%s, got %v", c.field, errs)
			}
			if code := e.(interface{ Code() string }).Code(); code != c.code {
				t.Fatalf("code %q want %q (%v)", code, c.code, e)
			}
		})
	}
	// energy and labels may be null (older AudioMuse-AI rows)
	m := good()
	m["energy"], m["other_features"], m["mood_vector"] = nil, nil, nil
	if _, errs := CheckScore(m, ""); errs != nil {
		t.Fatalf("null optional fields refused: %v", errs)
	}
}

func TestCheckEmbedding(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		in        map[string]any
		field     string
		code      string
		wantModel string
	}{
		{"200-d no model is musicnn", map[string]any{"artist": "a", "title": "b", "embedding": vec(200, 0.1)}, "", "", "musicnn"},
		{"200-d as json string", map[string]any{"artist": "a", "title": "b", "embedding": "[" + strings.TrimSuffix(strings.Repeat("0.25,", 200), ",") + "]"}, "", "", "musicnn"},
		{"clap 512", map[string]any{"artist": "a", "title": "b", "model": "CLAP", "embedding": vec(512, 0.1)}, "", "", "clap"},
		{"512 no model", map[string]any{"artist": "a", "title": "b", "embedding": vec(512, 0.1)}, "model", CodeRequired, ""},
		{"wrong dim", map[string]any{"artist": "a", "title": "b", "model": "musicnn", "embedding": vec(199, 0.1)}, "embedding", CodeDimension, ""},
		{"unknown model", map[string]any{"artist": "a", "title": "b", "model": "openl3", "embedding": vec(200, 0.1)}, "model", CodeModel, ""},
		{"empty array", map[string]any{"artist": "a", "title": "b", "embedding": []any{}}, "embedding", CodeRequired, ""},
		{"all zeros", map[string]any{"artist": "a", "title": "b", "embedding": zeros(200)}, "embedding", CodeVector, ""},
		{"missing", map[string]any{"artist": "a", "title": "b"}, "embedding", CodeRequired, ""},
		{"garbage", map[string]any{"artist": "a", "title": "b", "embedding": "nope"}, "embedding", CodeVector, ""},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d_%s", i, c.name), func(t *testing.T) {
			e, errs := CheckEmbedding(c.in, "")
			if c.field == "" {
				if errs != nil {
					t.Fatal(errs)
				}
				if e.Model != c.wantModel {
					t.Fatalf("model %q want %q", e.Model, c.wantModel)
				}
				return
			}
			fe, ok := errs[c.field]
			if !ok {
				t.Fatalf("want an error on %s, got %v", c.field, errs)
			}
			if code := fe.(interface{ Code() string }).Code(); code != c.code {
				t.Fatalf("code %q want %q (%v)", code, c.code, fe)
			}
		})
	}
}

// TestParseVectorFastPath: the hand-written scanner of number arrays gives
// what encoding/json gives, takes the usual inputs, and leaves every odd one
// to the general path (same answers as before it existed).
func TestParseVectorFastPath(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	var inputs []string
	for range 200 {
		v := make([]string, 1+rng.IntN(300))
		for i := range v {
			f := (rng.Float64()*2 - 1) * math.Pow(10, float64(rng.IntN(12)-8))
			switch rng.IntN(4) {
			case 0:
				v[i] = strconv.FormatFloat(f, 'g', -1, 64)
			case 1:
				v[i] = strconv.FormatFloat(float64(float32(f)), 'e', -1, 32)
			case 2:
				v[i] = strconv.FormatFloat(f, 'f', 6, 64)
			default:
				v[i] = strconv.Itoa(rng.IntN(2000) - 1000)
			}
		}
		sep := []string{",", ", ", " ,\n\t", ",\r\n"}[rng.IntN(4)]
		inputs = append(inputs, "["+strings.Join(v, sep)+"]", " [ "+strings.Join(v, sep)+" ]\n")
	}
	odd := []string{"[]", "[ ]", "[1,]", "[,1]", "[01]", "[1.]", "[.5]", "[-]", "[+1]", "[1e]", "[1e+]", "[0x10]",
		"[1_0]", "[Infinity]", "[NaN]", "[1e999]", "[-1e999]", "[1 2]", "[1,,2]", "[1]x", "[1] [2]", "[1", "[\"1\"]",
		"[true]", "[null]", "[1,null]", "[[1]]", "[1e-400]", "[-0]", "[0e0]", "[1E+2, 3e-2]", "[1,\u00a02]", "[1]\u00a0"}
	inputs = append(inputs, odd...)
	for _, in := range inputs {
		got, err := ParseVector(in)
		// the reference: encoding/json, every element a number
		var anys []any
		jerr := json.Unmarshal([]byte(in), &anys)
		var want []float64
		for _, a := range anys {
			if f, ok := a.(float64); ok {
				want = append(want, f)
			} else if jerr == nil {
				jerr = fmt.Errorf("%v is not a number", a)
			}
		}
		if jerr == nil && len(want) > 0 {
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("ParseVector(%.80q) = %v, %v; encoding/json: %v", in, got, err, want)
			}
		} else if jerr != nil && err == nil {
			t.Fatalf("ParseVector(%.80q) = %v, want an error (encoding/json: %v)", in, got, jerr)
		}
	}
	for _, in := range inputs[:400] {
		if _, ok := scanNumberArray([]byte(strings.TrimSpace(in))); !ok {
			t.Fatalf("usual input %.80q not taken by the fast path", in)
		}
	}
}

func BenchmarkParseVector(b *testing.B) {
	v := make([]string, 200)
	for i := range v {
		v[i] = strconv.FormatFloat(float64(float32(math.Sin(float64(i)))), 'g', -1, 64)
	}
	in := "[" + strings.Join(v, ", ") + "]"
	for range b.N {
		if _, err := ParseVector(in); err != nil {
			b.Fatal(err)
		}
	}
}

// FoldName is the folding of each part of a song key.
func TestFoldName(t *testing.T) {
	t.Parallel()
	for i, c := range []struct{ in, want string }{
		{"  Beyoncé feat. JAY-Z ", "beyonce feat jay z"},
		{"Simon & Garfunkel", "simon and garfunkel"},
		{"Ёлка Ωμέγα ς", "елка ωμεγα σ"},
		{"!!!", "!!!"},
	} {
		if got := FoldName(c.in); got != c.want {
			t.Errorf("%d: FoldName(%q)=%q, want %q", i, c.in, got, c.want)
		}
	}
	if a, ti := FoldName("Daft Punk"), FoldName("One More Time"); SongKey("Daft Punk", "One More Time") != a+SongKeySeparator+ti {
		t.Fatal("SongKey must join the folded parts")
	}
}

// fold's ASCII shortcut gives what the Unicode path gives.
func TestFoldASCII(t *testing.T) {
	t.Parallel()
	var all []byte
	for c := range 128 {
		all = append(all, byte(c))
		if s := string(rune(c)); fold(s) != foldUnicode(s) {
			t.Fatalf("fold(%q)=%q, foldUnicode %q", s, fold(s), foldUnicode(s))
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = all[r.IntN(len(all))]
		}
		if s := string(b); fold(s) != foldUnicode(s) {
			t.Fatalf("fold(%q)=%q, foldUnicode %q", s, fold(s), foldUnicode(s))
		}
	}
	if fold("Beyoncé") != "beyonce" || fold("KELVIN \u212a") != "kelvin k" {
		t.Fatal("non-ASCII strings take the Unicode path")
	}
}
