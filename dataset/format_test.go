package dataset

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// appendJSONString writes what encoding/json reads back to the same string.
func TestAppendJSONString(t *testing.T) {
	t.Parallel()
	cases := []string{"", "plain", `"quoted" \ back`, "tab\there", "nl\nx", "\x00\x1f\x7f", "é ü 🎵 中文",
		"\u2028\u2029", "<script>&</script>", "bad \xff utf8"}
	r := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		b := make([]rune, r.IntN(20))
		for i := range b {
			b[i] = rune(r.IntN(0x3000))
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		enc := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(enc, &got); err != nil {
			t.Fatalf("%q → %s: %v", s, enc, err)
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if got != want {
			t.Errorf("%q → %s → %q", s, enc, got)
		}
		if bytes.ContainsAny(enc[1:len(enc)-1], "\n\r\u2028\u2029") {
			t.Errorf("%q → %s: raw line break", s, enc)
		}
	}
}

// Numbers are written in the shortest form that reads back exactly.
func TestAppendNumber(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	cases := []float64{0, 1, -1, 120, 122.9, 0.1, 1.0 / 3, 1e-7, 1e-6, 5e-324, 1e21, 1e20, math.MaxFloat64, 400, 86400}
	for range 2000 {
		cases = append(cases, math.Float64frombits(r.Uint64()), r.Float64()*400, r.NormFloat64()*1e-8)
	}
	for _, f := range cases {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		b := appendJSONNumber(nil, f)
		if !json.Valid(b) {
			t.Fatalf("%v → %s: not a JSON number", f, b)
		}
		got, err := strconv.ParseFloat(string(b), 64)
		if err != nil || got != f {
			t.Errorf("%v → %s → %v", f, b, got)
		}
		std, _ := json.Marshal(f)
		if !bytes.Equal(b, std) {
			t.Errorf("%v → %s, encoding/json writes %s", f, b, std)
		}
	}
	if got := string(appendJSONNumber(nil, math.Inf(1))); got != "null" {
		t.Errorf("+Inf → %s", got)
	}
}

func TestParseFloat32Array(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in string
		ok bool
		n  int
	}{
		{"[1,2,3]", true, 3},
		{"[ 1 , -2.5e-3 ,3 ]", true, 3},
		{"[0.33333334]", true, 1},
		{"[]", false, 0},
		{`["1",2]`, false, 0},
		{"[1,null]", false, 0},
		{"[[1],2]", false, 0},
		{"[1e39]", false, 0}, // out of the float32 range: left to the validator
		{`"[1,2]"`, false, 0},
	} {
		v, ok := parseFloat32Array(json.RawMessage(c.in))
		if ok != c.ok || len(v) != c.n {
			t.Errorf("%s: %v %v", c.in, v, ok)
		}
	}
	// float32 shortest forms read back bit for bit
	r := rand.New(rand.NewPCG(7, 8))
	for range 5000 {
		f := math.Float32frombits(r.Uint32())
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			continue
		}
		s := "[" + strconv.FormatFloat(float64(f), 'g', -1, 32) + "]"
		v, ok := parseFloat32Array(json.RawMessage(s))
		if !ok || math.Float32bits(v[0]) != math.Float32bits(f) {
			t.Fatalf("%s → %v", s, v)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	t.Parallel()
	for h, want := range map[string]bool{
		"": false, "gzip": true, "GZIP": true, "deflate, gzip;q=1.0, *;q=0.5": true, "br": false,
		"gzip;q=0": false, "gzip; q=0.001": true, "*": true, "identity, *;q=0": false, "x-gzip": true,
	} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("Accept-Encoding %q: %v, want %v", h, got, want)
		}
	}
}

func TestFormatOfPath(t *testing.T) {
	t.Parallel()
	for p, want := range map[string]Format{"a.jsonl": JSONL, "a.jsonl.gz": JSONL, "a.csv": CSV, "A.CSV.GZ": CSV, "-": JSONL, "x": JSONL} {
		if got := FormatOfPath(p); got != want {
			t.Errorf("%s: %s, want %s", p, got, want)
		}
	}
}

func TestBar(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	bar := NewBar(&b, "import", "lines", 1000)
	bar.now = func() time.Time { return now }
	bar.start, bar.last = now, now
	now = now.Add(time.Second)
	bar.Update(100, 5000) // too soon for a plain (non-terminal) line
	if b.Len() != 0 {
		t.Errorf("drew too early: %q", b.String())
	}
	now = now.Add(10 * time.Second)
	bar.Update(250, 11000)
	now = now.Add(9 * time.Second)
	bar.Finish(1000, 20000)
	want := "import  25.0%  11,000 lines  1,000/s  ETA 33s\nimport 100.0%  20,000 lines  1,000/s  in 20s\n"
	if b.String() != want {
		t.Errorf("bar:\n%q\nwant\n%q", b.String(), want)
	}
	if Thousands(-1234567) != "-1,234,567" || Thousands(999) != "999" {
		t.Error("Thousands")
	}
}

// The pages of an export follow each other: small pages give the same
// dump as one page.
func TestExportPages(t *testing.T) {
	t.Parallel()
	app := migratedApp(t)
	var in bytes.Buffer
	if err := writeSynthetic(&in, 40); err != nil {
		t.Fatal(err)
	}
	in.WriteString(strings.SplitAfterN(in.String(), "\n", 3)[1]) // a second embedding of the first song
	if _, err := Import(context.Background(), app, &in, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []Format{JSONL, CSV} {
		var whole bytes.Buffer
		st, err := export(context.Background(), app, &whole, f, nil, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []int{1, 3, 39, 40, 41} {
			var paged bytes.Buffer
			st2, err := export(context.Background(), app, &paged, f, nil, size)
			if err != nil {
				t.Fatal(err)
			}
			if st2 != st || !bytes.Equal(paged.Bytes(), whole.Bytes()) {
				t.Errorf("%s, pages of %d songs: %+v, want %+v; same bytes: %v", f, size, st2, st, bytes.Equal(paged.Bytes(), whole.Bytes()))
			}
		}
	}
}

// decodeLine gives the validator what encoding/json would give it.
func TestDecodeLineMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	var dump bytes.Buffer
	if err := writeSynthetic(&dump, 20); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(dump.String()), "\n")
	lines = append(lines,
		`{}`, ` { } `, `{"a":1,"a":2}`, `{"artist":"Say \"Hi\" \\ \u00e9\ud83c\udfb5","title":"x\ty"}`,
		`{"tempo":-1.5e3,"energy":null,"duration":1e30,"key":true,"scale":["a",{"b":"]}"}],"x":{"y":[1,2]}}`,
		`{"embeddings":{"musicnn":"[1,2,3]","clap":[1,"2"],"x":[],"y":[[1]],"z":null,"w":[ 1 , 2 ]}}`,
		`{"embeddings":[1,2]}`, `{"embeddings":null}`, `{ "k\u0065y" : "v" , "title" :"t\"}"}`,
		"\t{\"artist\":\"A\"}\r",
	)
	// random objects: strings with escapes, numbers, nesting
	r := rand.New(rand.NewPCG(9, 10))
	var value func(depth int) any
	value = func(depth int) any {
		switch k := r.IntN(6); {
		case k == 0 && depth < 3:
			m := map[string]any{}
			for range r.IntN(4) {
				m[randString(r)] = value(depth + 1)
			}
			return m
		case k == 1 && depth < 3:
			a := make([]any, r.IntN(4))
			for i := range a {
				a[i] = value(depth + 1)
			}
			return a
		case k == 2:
			return r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20))
		case k == 3:
			return nil
		}
		return randString(r)
	}
	for range 300 {
		m := map[string]any{}
		for range r.IntN(6) {
			m[randString(r)] = value(0)
		}
		if r.IntN(3) == 0 {
			m["embeddings"] = map[string]any{"musicnn": []float32{1, 0.5, -2}, randString(r): value(1)}
		}
		b, _ := json.Marshal(m)
		lines = append(lines, string(b))
	}
	for _, l := range lines {
		got, err := decodeLine([]byte(l))
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		var want map[string]any
		if err := json.Unmarshal([]byte(l), &want); err != nil {
			t.Fatal(err)
		}
		// the only deliberate difference: number vectors come as float32
		if em, ok := got["embeddings"].(map[string]any); ok {
			wm, _ := want["embeddings"].(map[string]any)
			for m, v := range em {
				f, ok := v.([]float32)
				if !ok {
					continue
				}
				xs := make([]any, len(f))
				for i, x := range f {
					xs[i] = float64(x)
				}
				em[m] = xs
				if ws, ok := wm[m].([]any); ok {
					for i, x := range ws {
						if f, ok := x.(float64); ok {
							ws[i] = float64(float32(f))
						}
					}
				}
			}
		}
		if gj, wj := fmt.Sprintf("%#v", got), fmt.Sprintf("%#v", want); !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", l, gj, wj)
		}
	}
	if m, err := decodeLine([]byte(`{"duration":1e400}`)); err != nil || m["duration"] != json.Number("1e400") {
		t.Errorf("a number out of range is left to the validator: %#v %v", m, err)
	}
	for _, bad := range []string{`{"a":`, `[1,2]`, `"x"`, `{"a":1}{`, `{"a":1,}`, ``, `nul`} {
		if _, err := decodeLine([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func randString(r *rand.Rand) string {
	const chars = "ab\"\\/\n\t\u00e9\u2028\U0001F3B5:,{}[] 0"
	rs := []rune(chars)
	b := make([]rune, r.IntN(8))
	for i := range b {
		b[i] = rs[r.IntN(len(rs))]
	}
	return string(b)
}
