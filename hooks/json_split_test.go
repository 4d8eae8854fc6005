package hooks

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"songcommons/fingerprint"
	"songcommons/internal/fpsynth"
	"songcommons/internal/synth"
)

// splitLookup is decodeLookup's decision without a request: the songs
// decoded on all cores, or ok false (the whole decode then answers).
func splitLookup(body []byte) (lookupRequest, bool) {
	var req lookupRequest
	var songs []lookupSong
	if decodeSplit(body, "songs", &req, &songs) && len(req.Songs) == 0 {
		req.Songs = songs
		return req, true
	}
	return lookupRequest{}, false
}

func songsJSON(n int, song func(i int) string) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = song(i)
	}
	return strings.Join(parts, ",")
}

// What the split decode accepts, it decodes exactly as the whole decode
// does; what it declines (unknown fields, another spelling of "songs",
// trailing data, a short array, anything malformed) is left to the whole
// decode, whose errors name the field.
func TestDecodeSplitAgreesWithTheWholeDecode(t *testing.T) {
	t.Parallel()
	song := func(i int) string {
		switch i % 5 {
		case 0:
			return fmt.Sprintf(`{"artist":"A \"quoted\" \\ back\\\\slash %d","title":"t\u00e9 %d"}`, i, i)
		case 1:
			return fmt.Sprintf(` { "fingerprint" : "AQAAE%dk" , "duration" : %d.5 } `, i, i)
		case 2:
			return fmt.Sprintf(`{"fingerprint_raw":[1,[2,{"x":"]"}],-3],"duration":1e2,"mbid":"m%d"}`, i)
		case 3:
			return `null`
		}
		return fmt.Sprintf("{\"isrc\":\"US%d\",\n\"title\":\"}{][,:\"}", i)
	}
	many := songsJSON(100, song)
	accepted := []string{
		`{"songs":[` + many + `]}`,
		`{"embeddings":["clap"],"songs":[` + many + `]}`,
		` {"songs" :[` + many + `] , "embeddings" : true } `,
		`{"Songs":[{"artist":"x","title":"y"}],"songs":[` + many + `]}`,
	}
	declined := []string{
		`{"songs":[` + songsJSON(minSplitElements-1, song) + `]}`,
		`{"songs":[` + many + `],"limit":3}`,
		`{"songs":[` + many + `,{"artist":"a","bogus":1}]}`,
		`{"songs":[` + many + `]}{}`,
		`{"songs":[` + many + `],"songs":[` + many + `]}`,
		`{"songs":[` + many + `],"Songs":[{"artist":"x","title":"y"}]}`,
		`{"songs":[` + many + `,"x"]}`,
		`{"songs":[` + many + `,]}`,
		`{"songs":[` + many + `]`,
		`{"songs":[` + many + `]]}`,
		`{"song\u0073":[` + many + `]}`,
		`[` + many + `]`,
	}
	for i, b := range accepted {
		got, ok := splitLookup([]byte(b))
		var want lookupRequest
		if err := strictDecode([]byte(b), &want); err != nil {
			t.Fatalf("accepted %d: the whole decode fails: %v", i, err)
		}
		if !ok {
			t.Errorf("accepted %d: declined", i)
		} else if !reflect.DeepEqual(got, want) {
			t.Errorf("accepted %d: split decode differs from the whole decode", i)
		}
	}
	for i, b := range declined {
		if _, ok := splitLookup([]byte(b)); ok {
			t.Errorf("declined %d: accepted %.80q", i, b)
		}
	}
	// random damage: whatever the split decode accepts, the whole decode
	// accepts and decodes alike
	base := `{"songs":[` + songsJSON(70, song) + `],"embeddings":false}`
	r := rand.New(rand.NewPCG(5, 6))
	accepted2 := 0
	for range 3000 {
		b := []byte(base)
		for range 1 + r.IntN(3) {
			at := r.IntN(len(b))
			switch r.IntN(3) {
			case 0:
				b = append(b[:at:at], b[at+1:]...)
			case 1:
				c := `{}[]",:\ a1-e`[r.IntN(13)]
				b = append(b[:at:at], append([]byte{c}, b[at:]...)...)
			default:
				b[at] = `{}[]",:\ a1-e`[r.IntN(13)]
			}
		}
		got, ok := splitLookup(b)
		if !ok {
			continue
		}
		accepted2++
		var want lookupRequest
		if err := strictDecode(b, &want); err != nil {
			t.Fatalf("split decode accepts what the whole decode refuses (%v): %q", err, b)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("split decode differs from the whole decode: %q", b)
		}
	}
	t.Logf("%d of 3000 damaged bodies decoded by the split decode, alike", accepted2)
	if accepted2 == 0 {
		t.Error("no damaged body was accepted: the comparison above compared nothing")
	}
}

// BenchmarkDecodeLookup times the decode of a lookup of 1,000
// fingerprints (~4 MB, as loadgen's lookup-fp sends): whole, as readJSON
// decodes, and split on all cores.
func BenchmarkDecodeLookup(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	body := []byte(`{"songs":[` + songsJSON(1000, func(i int) string {
		items := fpsynth.Noisy(r, synth.PrintItemsOf(uint64(i)), 0.03, 5)
		return fmt.Sprintf(`{"fingerprint":%q,"duration":%d.4}`, fingerprint.Encode(items, fingerprint.DefaultAlgorithm), 180+i%60)
	}) + `]}`)
	b.Run("whole", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var req lookupRequest
			if err := strictDecode(body, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("split", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, ok := splitLookup(body); !ok {
				b.Fatal("declined")
			}
		}
	})
}
