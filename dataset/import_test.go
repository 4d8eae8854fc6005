package dataset_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"songcommons/dataset"
	"songcommons/internal/testsupport"
)

func goodLine(i int) string {
	return fmt.Sprintf(`{"artist":"Good %d","title":"Line","tempo":%d,"key":"A","scale":"minor","embeddings":{"musicnn":%s}}`,
		i, 100+i, vec32JSON(testsupport.VariedVector(200, float64(i))))
}

// A batch with bad lines keeps its good lines; every bad line goes to the
// rejects with its line number, its reasons and the input as it was.
func TestImportRejectsBadLinesOnly(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	long := `{"artist":"` + strings.Repeat("x", dataset.MaxLine) + `"}`
	lines := []string{
		goodLine(1),                    // 1
		`{"artist":"Broken", "title":`, // 2: bad JSON
		goodLine(2),                    // 3
		"",                             // 4: blank, skipped
		`{"artist":"A","title":"B","tempo":999,"key":"H","scale":"major","comment":"<&>"}`, // 5: three problems
		`[1,2,3]`,          // 6: not an object
		goodLine(3) + "\r", // 7: CRLF
		`{"artist":"A","title":"B","embeddings":{"musicnn":[1,2,3]}}`, // 8: wrong dimension
		long, // 9: too long
		`{"artist":"\u00e9","title":"Only score","tempo":120,"key":"Bb","scale":"major"}`, // 10
		"\xff\xfe not UTF-8", // 11
		goodLine(4),          // 12 (no final newline)
	}
	input := strings.Join(lines, "\n")
	var rejects bytes.Buffer
	sum, err := dataset.Import(context.Background(), app, strings.NewReader(input), dataset.ImportOptions{Chunk: 3, Workers: 2, Rejects: &rejects})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Read != 11 || sum.Imported != 5 || sum.Rejected != 6 || sum.Blank != 1 {
		t.Errorf("summary: read %d, imported %d, rejected %d, blank %d; want 11, 5, 6, 1", sum.Read, sum.Imported, sum.Rejected, sum.Blank)
	}
	if sum.Score != 5 || sum.Embedding != 4 {
		t.Errorf("summary: %d score and %d embedding rows, want 5 and 4", sum.Score, sum.Embedding)
	}
	wantReasons := map[string]int64{
		"invalid_json": 2, "not_an_object": 1, "line_too_long": 1,
		"tempo: validation_out_of_range": 1, "key: validation_invalid_key": 1, "comment: validation_unknown_field": 1,
		"embeddings.musicnn: validation_wrong_dimension": 1,
	}
	for r, n := range wantReasons {
		if sum.Reasons[r] != n {
			t.Errorf("reason %q counted %d times, want %d (all: %v)", r, sum.Reasons[r], n, sum.Reasons)
		}
	}
	if len(sum.Reasons) != len(wantReasons) {
		t.Errorf("reasons %v, want %v", sum.Reasons, wantReasons)
	}
	if n := testsupport.CountRows(t, app, "score"); n != 5 {
		t.Errorf("%d score rows stored, want 5", n)
	}
	if n := testsupport.CountRows(t, app, "embedding"); n != 4 {
		t.Errorf("%d embedding rows stored, want 4", n)
	}
	if n := testsupport.CountRows(t, app, "songs"); n != 5 {
		t.Errorf("%d songs, want 5", n)
	}

	// the rejects file: one JSON line per rejected line, in input order
	var got []map[string]json.RawMessage
	for i, l := range strings.Split(strings.TrimSuffix(rejects.String(), "\n"), "\n") {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("rejects line %d is not JSON: %v\n%s", i+1, err, l)
		}
		got = append(got, m)
	}
	if len(got) != 6 {
		t.Fatalf("%d rejects lines, want 6:\n%s", len(got), rejects.String())
	}
	for i, want := range []struct {
		line  string
		input string
		field string
	}{
		{"2", `"{\"artist\":\"Broken\", \"title\":"`, "line"},
		{"5", lines[4], "tempo"},
		{"6", `[1,2,3]`, "line"},
		{"8", lines[7], "embeddings.musicnn"},
		{"9", "", "line"},
		{"11", "", "line"},
	} {
		r := got[i]
		if string(r["line"]) != want.line {
			t.Errorf("reject %d: line %s, want %s", i, r["line"], want.line)
		}
		if want.input != "" && string(r["input"]) != want.input {
			t.Errorf("reject %d: input %s, want it verbatim: %s", i, r["input"], want.input)
		}
		var errs map[string]dataset.FieldError
		_ = json.Unmarshal(r["errors"], &errs)
		if errs[want.field].Code == "" || errs[want.field].Message == "" {
			t.Errorf("reject %d: no error for %q: %s", i, want.field, r["errors"])
		}
	}
	if !strings.Contains(rejects.String(), `"input":{"artist":"A","title":"B","tempo":999,"key":"H","scale":"major","comment":"<&>"}`) {
		t.Error("a rejected JSON line should be kept byte for byte (no re-escaping)")
	}
	if string(got[4]["truncated"]) != "true" || len(got[4]["input"]) > 1100 {
		t.Errorf("a line too long should be cut to its first KiB: %d bytes, truncated=%s", len(got[4]["input"]), got[4]["truncated"])
	}
	if _, ok := got[5]["input_base64"]; !ok {
		t.Errorf("a line that is not UTF-8 should be kept in base64: %v", got[5])
	}
}

// A CSV with a bad record imports the others and names the bad one.
func TestImportCSV(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	in := "artist,title,tempo,key,scale,mood_vector\n" +
		"A,One,120,C,major,\"rock:0.5,pop:0.2\"\n" +
		"B,Two,fast,C,major,\n" +
		"\"C, the band\",\"Three \"\"3\"\"\",90,Eb,minor,\n"
	var rejects bytes.Buffer
	sum, err := dataset.Import(context.Background(), app, strings.NewReader(in), dataset.ImportOptions{Format: dataset.CSV, Rejects: &rejects})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Read != 3 || sum.Imported != 2 || sum.Rejected != 1 || sum.Reasons["tempo: validation_not_a_number"] != 1 {
		t.Errorf("summary %+v", sum)
	}
	if !strings.Contains(rejects.String(), `"line":3`) || !strings.Contains(rejects.String(), `"input":"B,Two,fast,C,major,"`) {
		t.Errorf("rejects: %s", rejects.String())
	}
	d := string(dump(t, app, dataset.CSV))
	if !strings.Contains(d, "\"C, the band\",\"Three \"\"3\"\"\",90,D#,minor,,0,,,0,,,,\n") {
		t.Errorf("CSV dump:\n%s", d)
	}

	_, err = dataset.Import(context.Background(), app, strings.NewReader("artist,title,bpm\nA,B,120\n"), dataset.ImportOptions{Format: dataset.CSV})
	if err == nil || !strings.Contains(err.Error(), `"bpm"`) {
		t.Errorf("an unknown CSV column should stop the import before it starts, got %v", err)
	}
}

// A line that is a whole /contribute song (analysis and vectors) stores
// one score row and one row per model; files of /contribute songs import.
func TestImportContributeShapedLines(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	line := fmt.Sprintf(`{"artist":"Both","title":"Kinds","tempo":120,"key":"C","scale":"major","embeddings":{"musicnn":%s,"clap":%s}}`,
		vec32JSON(testsupport.VariedVector(200, 1)), vec32JSON(testsupport.VariedVector(512, 2)))
	sum, err := dataset.Import(context.Background(), app, strings.NewReader(line+"\n"), dataset.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Imported != 1 || sum.Score != 1 || sum.Embedding != 2 {
		t.Errorf("summary %+v", sum)
	}
	// … and export splits it into its rows
	if n := bytes.Count(dump(t, app, dataset.JSONL), []byte("\n")); n != 3 {
		t.Errorf("dump has %d lines, want 3", n)
	}
}

func TestImportStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	app := newTestApp(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var b strings.Builder
	for i := range 50 {
		b.WriteString(goodLine(i) + "\n")
	}
	_, err := dataset.Import(ctx, app, strings.NewReader(b.String()), dataset.ImportOptions{Chunk: 5})
	if err == nil {
		t.Fatal("a cancelled import should say so")
	}
}
