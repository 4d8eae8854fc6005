package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"songcommons/storage"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase"
)

// PocketBase turns dev mode on by itself for binaries in the temp folder
// (go run, go test), and dev mode prints every SQL statement with its
// values, user ids next to inserted songs. songcommons keeps it off unless
// --dev is given.
func TestDevModeOnlyWithFlag(t *testing.T) {
	if !pocketbase.New().IsDev() {
		t.Log("note: this test binary is not in the temp folder, so stock PocketBase would not turn dev mode on here either")
	}
	cases := []struct {
		args []string
		dev  bool
	}{
		{[]string{"songcommons", "serve"}, false},
		{[]string{"songcommons", "serve", "--http", "127.0.0.1:0"}, false},
		{[]string{"songcommons", "serve", "--dev"}, true},
		{[]string{"songcommons", "--dev", "serve"}, true},
	}
	saved := os.Args
	defer func() { os.Args = saved }()
	for _, c := range cases {
		os.Args = c.args // PocketBase parses --dev from os.Args
		app, err := newApp()
		if err != nil {
			t.Fatal(err)
		}
		if app.IsDev() != c.dev {
			t.Errorf("%v: IsDev() = %v, want %v", c.args, app.IsDev(), c.dev)
		}
	}
}

// A failed import or export exits non-zero, so scripts notice; -h prints
// the command's help.
func TestCommandExitStatus(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run := func(args string) (int, string) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "SONGCOMMONS_TEST_SERVER_ARGS="+args)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, string(out)
	}
	if code, out := run("import " + filepath.Join(dir, "missing.jsonl") + " --dir " + filepath.Join(dir, "pb")); code != 1 || !strings.Contains(out, "no such file") {
		t.Errorf("import of a missing file: exit %d, %q", code, out)
	}
	good := filepath.Join(dir, "one.jsonl")
	if err := os.WriteFile(good, []byte(`{"artist":"A","title":"B","tempo":120,"key":"C","scale":"major"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out := run("import " + good + " --dir " + filepath.Join(dir, "pb")); code != 0 || !strings.Contains(out, "1") {
		t.Errorf("import of a good file: exit %d, %q", code, out)
	}
	if code, out := run("import -h"); code != 0 || !strings.Contains(out, "--rejects") {
		t.Errorf("import -h: exit %d, %q", code, out)
	}
}

// The pool of reading connections is bounded (storage.MaxReadConns): each
// connection holds its own page cache.
func TestReadConnectionsBounded(t *testing.T) {
	saved := os.Args
	defer func() { os.Args = saved }()
	os.Args = []string{"songcommons", "serve", "--dir", t.TempDir()}
	app, err := newApp()
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	defer app.ResetBootstrapState()
	db, ok := app.ConcurrentDB().(*dbx.DB)
	if !ok {
		t.Fatalf("ConcurrentDB is %T", app.ConcurrentDB())
	}
	if got := db.DB().Stats().MaxOpenConnections; got != storage.MaxReadConns {
		t.Errorf("data.db read pool: %d connections at most, want %d", got, storage.MaxReadConns)
	}
}
