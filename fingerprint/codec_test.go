package fingerprint

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// Vectors from Chromaprint's own tests (tests/test_fingerprint_compressor.cpp
// and tests/test_fingerprint_decompressor.cpp).
func TestChromaprintVectors(t *testing.T) {
	t.Parallel()
	for i, s := range []struct {
		name  string
		items []uint32
		data  []byte
	}{
		{"one item one bit", []uint32{1}, []byte{0, 0, 0, 1, 1}},
		{"one item three bits", []uint32{7}, []byte{0, 0, 0, 1, 73, 0}},
		{"one bit exception", []uint32{1 << 6}, []byte{0, 0, 0, 1, 7, 0}},
		{"one bit exception 2", []uint32{1 << 8}, []byte{0, 0, 0, 1, 7, 2}},
		{"two items", []uint32{1, 0}, []byte{0, 0, 0, 2, 65, 0}},
		{"two items no change", []uint32{1, 1}, []byte{0, 0, 0, 2, 1, 0}},
	} {
		t.Run(fmt.Sprintf("%d_%s", i, s.name), func(t *testing.T) {
			if got := EncodeBytes(s.items, 0); string(got) != string(s.data) {
				t.Fatalf("EncodeBytes = %v, want %v", got, s.data)
			}
			alg, items, err := DecodeBytes(s.data)
			if err != nil || alg != 0 || !equalItems(items, s.items) {
				t.Fatalf("DecodeBytes = %d, %v, %v; want 0, %v", alg, items, err, s.items)
			}
		})
	}

	// The long vector, given signed in Chromaprint's test.
	want := []int64{-587455133, -591649759, -574868448, -576973520, -543396544, 1330439488, 1326360000, 1326355649,
		1191625921, 1192674515, 1194804466, 1195336818, 1165981042, 1165956451, 1157441379, 1157441299, 1291679571,
		1291673457, 1170079601}
	const fp = "AQAAEwkjrUmSJQpUHflR9mjSJMdZpcO_Imdw9dCO9Clu4_wQPvhCB01w6xAtXNcAp5RASgDBhDSCGGIAcwA"
	items, err := DecodeDefault(fp)
	if err != nil {
		t.Fatal(err)
	}
	wantItems, err := FromRaw(want)
	if err != nil || !equalItems(items, wantItems) {
		t.Fatalf("long vector: got %v, want %v (%v)", items, wantItems, err)
	}
	if got := Encode(items, DefaultAlgorithm); got != fp {
		t.Fatalf("Encode(long vector) = %s, want %s", got, fp)
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 1; n < 400; n += 7 {
		items := make([]uint32, n)
		for i := range items {
			switch i % 4 {
			case 0:
				items[i] = rng.Uint32()
			case 1:
				items[i] = items[max(i-1, 0)] ^ 1<<rng.IntN(32) // few bits change: long gaps, exceptions
			case 2:
				items[i] = 1<<31 | 1 // the longest gap
			default:
				items[i] = items[i-1]
			}
		}
		for _, alg := range []int{0, 1, 4} {
			s := Encode(items, alg)
			a, got, err := Decode(s)
			if err != nil || a != alg || !equalItems(got, items) {
				t.Fatalf("n=%d alg=%d: round trip failed: %v", n, alg, err)
			}
		}
	}
	// Padding, standard base64 and surrounding white space are accepted.
	items := []uint32{0xfbffffff, 0xffffffff, 3}
	raw := EncodeBytes(items, 1)
	for _, s := range []string{base64.URLEncoding.EncodeToString(raw), base64.StdEncoding.EncodeToString(raw), " \n" + Encode(items, 1) + "\n"} {
		if got, err := DecodeDefault(s); err != nil || !equalItems(got, items) {
			t.Fatalf("Decode(%q) = %v, %v", s, got, err)
		}
	}
}

func TestDecodeRefusesBadFingerprints(t *testing.T) {
	t.Parallel()
	good := loadCorpus(t)[0].Fingerprint
	raw, _ := base64.RawURLEncoding.DecodeString(good)
	enc := base64.RawURLEncoding.EncodeToString
	withAlg := func(a byte) string { b := append([]byte(nil), raw...); b[0] = a; return enc(b) }
	withCount := func(n int) string {
		b := append([]byte(nil), raw...)
		b[1], b[2], b[3] = byte(n>>16), byte(n>>8), byte(n)
		return enc(b)
	}
	// standard base64 with one URL-safe character: refused where that
	// character is, before or after the first '+' or '/'
	std := base64.RawStdEncoding.EncodeToString(raw)
	first := strings.IndexAny(std, "+/")
	if first < 10 {
		t.Fatalf("the corpus fingerprint's standard base64 has its first '+' or '/' at %d", first)
	}
	mixed := func(at int) string { return std[:at] + "-" + std[at+1:] }
	for i, s := range []struct {
		name, in string
		want     error
		says     string
	}{
		{"mixed alphabets, '-' first", mixed(first - 2), ErrBase64, fmt.Sprintf("position %d", first-2)},
		{"mixed alphabets, '-' after", mixed(first + 1), ErrBase64, fmt.Sprintf("position %d", first+1)},
		{"empty", "", ErrEmpty, "empty"},
		{"white space", " \t\n", ErrEmpty, "empty"},
		{"not base64", "AQAA!!!!" + good[8:], ErrBase64, "position 4"},
		{"bad base64 length", good[:41], ErrBase64, "base64"},
		{"JSON array instead", "[1,2,3]", ErrBase64, "base64"},
		{"header only", enc(raw[:4]), ErrTruncated, "sub-fingerprints"},
		{"shorter than header", enc(raw[:3]), ErrTruncated, "4-byte header"},
		{"truncated to half", enc(raw[:len(raw)/2]), ErrTruncated, "sub-fingerprints"},
		{"last byte cut", enc(raw[:len(raw)-1]), ErrTruncated, ""},
		{"exceptions cut", enc(raw[:len(raw)-3]), ErrTruncated, ""},
		{"unknown algorithm", withAlg(9), ErrHeader, "unknown algorithm 9"},
		{"algorithm 255", withAlg(255), ErrHeader, "algorithm 255"},
		{"zero items", withCount(0), ErrEmpty, "0 sub-fingerprints"},
		{"count too large", withCount(1 << 23), ErrTruncated, "8388608"},
		{"count smaller than data", withCount(10), ErrCorrupt, "unexpected bytes"},
		{"trailing bytes", enc(append(append([]byte(nil), raw...), 0, 0, 0)), ErrCorrupt, "3 unexpected bytes"},
		{"bit beyond 32", enc([]byte{1, 0, 0, 1, 7, 31}), ErrCorrupt, "bit 38"},
		{"other algorithm", withAlg(0), ErrAlgorithm, "-algorithm 1"},
	} {
		t.Run(fmt.Sprintf("%d_%s", i, s.name), func(t *testing.T) {
			items, err := DecodeDefault(s.in)
			if !errors.Is(err, s.want) {
				t.Fatalf("DecodeDefault = %d items, %v; want %v", len(items), err, s.want)
			}
			if !strings.Contains(err.Error(), s.says) {
				t.Fatalf("error %q does not say %q", err, s.says)
			}
		})
	}
	// Every truncation of a real fingerprint is refused.
	for n := 0; n < len(raw); n++ {
		if _, items, err := DecodeBytes(raw[:n]); err == nil {
			t.Fatalf("truncated to %d of %d bytes: decoded %d items", n, len(raw), len(items))
		}
	}
}

func TestRawForms(t *testing.T) {
	t.Parallel()
	want := []uint32{0, 1, 4294967295, 2147483648, 2147483647}
	for i, s := range []struct {
		name string
		in   string
	}{
		{"unsigned", "0,1,4294967295,2147483648,2147483647"},
		{"signed", "0, 1, -1, -2147483648, 2147483647"},
		{"JSON", "[0,1,4294967295,-2147483648,2147483647]"},
		{"fpcalc text", "FINGERPRINT=0,1,4294967295,2147483648,2147483647\n"},
	} {
		t.Run(fmt.Sprintf("%d_%s", i, s.name), func(t *testing.T) {
			got, err := ParseRaw(s.in)
			if err != nil || !equalItems(got, want) {
				t.Fatalf("ParseRaw = %v, %v", got, err)
			}
		})
	}
	for i, s := range []struct {
		name, in string
		want     error
		says     string
	}{
		{"empty", "", ErrEmpty, "empty"},
		{"empty list", "[]", ErrEmpty, "empty"},
		{"too large", "1,4294967296", ErrRaw, "item 1 (4294967296)"},
		{"too small", "-2147483649", ErrRaw, "item 0"},
		{"not a number", "1,x,3", ErrRaw, `item 1 ("x")`},
		{"empty item", "1,,3", ErrRaw, "item 1"},
		{"unclosed", "[1,2", ErrRaw, "closing"},
		{"fraction", "1.5", ErrRaw, "item 0"},
	} {
		t.Run(fmt.Sprintf("bad_%d_%s", i, s.name), func(t *testing.T) {
			_, err := ParseRaw(s.in)
			if !errors.Is(err, s.want) || !strings.Contains(err.Error(), s.says) {
				t.Fatalf("ParseRaw(%q) = %v; want %v saying %q", s.in, err, s.want, s.says)
			}
		})
	}
	if got, err := FromRawFloat([]float64{4294967295, -1}); err != nil || !equalItems(got, []uint32{4294967295, 4294967295}) {
		t.Fatalf("FromRawFloat = %v, %v", got, err)
	}
	if _, err := FromRawFloat([]float64{1.5}); !errors.Is(err, ErrRaw) {
		t.Fatalf("FromRawFloat(1.5) = %v", err)
	}
	if _, err := FromRaw(nil); !errors.Is(err, ErrEmpty) {
		t.Fatalf("FromRaw(nil) = %v", err)
	}
}

// FuzzDecode: no input panics, and whatever decodes re-encodes to an input
// that decodes the same.
func FuzzDecode(f *testing.F) {
	f.Add("AQAAEwkjrUmSJQpUHflR9mjSJMdZpcO_Imdw9dCO9Clu4_wQPvhCB01w6xAtXNcAp5RASgDBhDSCGGIAcwA")
	f.Add("AQAAAQc")
	f.Add("")
	f.Add("AP___w")
	f.Fuzz(func(t *testing.T, s string) {
		alg, items, err := Decode(s)
		if err != nil {
			return
		}
		a2, items2, err := Decode(Encode(items, alg))
		if err != nil || a2 != alg || !equalItems(items, items2) {
			t.Fatalf("re-encoding %q: %v", s, err)
		}
	})
}
