package dataset_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"songcommons/dataset"
	"songcommons/internal/testsupport"
)

func run(t testing.TB, cmd *cobra.Command, args ...string) (stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	if err := cmd.Execute(); err != nil {
		t.Fatalf("%s %v: %v\n%s", cmd.Name(), args, err, errb.String())
	}
	return out.String(), errb.String()
}

func gunzipFile(t testing.TB, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return gunzip(t, f)
}

// gunzip reads all of a gzip stream.
func gunzip(t testing.TB, r io.Reader) []byte {
	t.Helper()
	zr, err := gzip.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// `export FILE.gz`, then `import FILE.gz` into a fresh data dir on which
// only PocketBase's own bootstrap ran (the command applies the app's
// migrations itself), then the two datasets are the same.
func TestCommandsExportImport(t *testing.T) {
	t.Parallel()
	src := seededApp(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "dump.jsonl.gz")
	_, stderr := run(t, dataset.NewExportCmd(src), file)
	want := dump(t, src, dataset.JSONL)
	if got := gunzipFile(t, file); !bytes.Equal(got, want) {
		t.Fatal("the exported file does not hold the dump")
	}
	if _, err := os.Stat(file + ".partial"); !os.IsNotExist(err) {
		t.Error("the .partial file should be gone")
	}
	nScore, nEmb := testsupport.CountRows(t, src, "score"), testsupport.CountRows(t, src, "embedding")
	if !strings.Contains(stderr, fmt.Sprintf("exported %d score rows and %d embedding rows to %s", nScore, nEmb, file)) {
		t.Errorf("export summary:\n%s", stderr)
	}

	// a copy of the dump with two bad lines
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(want)
	zw.Write([]byte("not json\n{\"artist\":\"X\",\"title\":\"Y\",\"tempo\":-1,\"key\":\"C\",\"scale\":\"major\"}\n"))
	zw.Close()
	bad := filepath.Join(dir, "bad.jsonl.gz")
	if err := os.WriteFile(bad, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	dst := testsupport.FreshDataDir(t)
	if _, err := dst.FindCollectionByNameOrId("score"); err == nil {
		t.Fatal("the fresh dir should not have the app's collections yet")
	}
	_, stderr = run(t, dataset.NewImportCmd(dst), bad, "--batch", "16")
	rejects := filepath.Join(dir, "bad.jsonl.rejects.jsonl")
	for _, s := range []string{
		fmt.Sprintf("read      %12d lines", nScore+nEmb+2),
		fmt.Sprintf("imported  %12d lines (%d score rows, %d embedding rows)", nScore+nEmb, nScore, nEmb),
		"rejected             2 lines, written with their reasons to " + rejects,
		"1  invalid_json",
		"1  tempo: validation_out_of_range",
		"import 100.0%",
	} {
		if !strings.Contains(stderr, s) {
			t.Errorf("import summary lacks %q:\n%s", s, stderr)
		}
	}
	rj, err := os.ReadFile(rejects)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(rj), "\n"); n != 2 || !strings.Contains(string(rj), fmt.Sprintf(`"line":%d`, nScore+nEmb+1)) ||
		!strings.Contains(string(rj), fmt.Sprintf(`"line":%d`, nScore+nEmb+2)) {
		t.Errorf("rejects file:\n%s", rj)
	}
	if got := dump(t, dst, dataset.JSONL); !bytes.Equal(got, want) {
		t.Error("the imported dataset does not export to the same dump")
	}

	// CSV to stdout
	out, _ := run(t, dataset.NewExportCmd(dst), "--format", "csv", "-")
	if out != string(dump(t, src, dataset.CSV)) {
		t.Errorf("export --format csv - wrote:\n%s", out)
	}

	// a second import says that rows are added to what is there; a
	// clean file leaves no rejects file
	plain := filepath.Join(dir, "plain.jsonl")
	if err := os.WriteFile(plain, want[:bytes.IndexByte(want, '\n')+1], 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr = run(t, dataset.NewImportCmd(dst), plain)
	if !strings.Contains(stderr, fmt.Sprintf("already holds %d rows", nScore+nEmb)) || !strings.Contains(stderr, fmt.Sprintf("rejected  %12d lines", 0)) {
		t.Errorf("second import:\n%s", stderr)
	}
	if _, err := os.Stat(plain + ".rejects.jsonl"); !os.IsNotExist(err) {
		t.Error("no rejects, no rejects file")
	}
}

func TestExportCommandNeedsTheCollections(t *testing.T) {
	t.Parallel()
	app := testsupport.FreshDataDir(t)
	cmd := dataset.NewExportCmd(app)
	cmd.SetArgs([]string{filepath.Join(t.TempDir(), "x.jsonl")})
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "collection") {
		t.Errorf("export of a data dir without the collections: %v", err)
	}
}
