package main

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Everything in the data dir is for the service's user only: directories
// 0700, files without group or other permissions, whether the server, a
// command, SQLite or a backup wrote them, and also what an older version
// left there with wider permissions. Exported dumps too.
func TestDataDirIsPrivate(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "pb_data")
	// a data dir as an older version left it: world-readable
	old := filepath.Join(dir, "storage")
	if err := os.MkdirAll(old, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(old, "left.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for p, m := range map[string]fs.FileMode{dir: 0o755, old: 0o755, filepath.Join(old, "left.txt"): 0o644} {
		if err := os.Chmod(p, m); err != nil { // whatever the test's umask
			t.Fatal(err)
		}
	}
	cli := func(args ...string) {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "SONGCOMMONS_TEST_SERVER_ARGS="+strings.Join(args, " "))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	cli("superuser", "upsert", "admin@songcommons.test", "admin-password-123", "--dir", dir)

	c, _ := startServer(t, dir)
	send := func(method, path, token, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, c.url+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		out := map[string]any{}
		_ = json.NewDecoder(res.Body).Decode(&out)
		if res.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %v", method, path, res.StatusCode, out)
		}
		return out
	}
	auth := send(http.MethodPost, "/api/collections/_superusers/auth-with-password", "",
		`{"identity":"admin@songcommons.test","password":"admin-password-123"}`)
	token, _ := auth["token"].(string)
	send(http.MethodPost, "/api/songcommons/privacy-requests", "", `{"text":"what do you hold about me?"}`)
	send(http.MethodPost, "/api/backups", token, `{"name":"private_test.zip"}`)
	dump := filepath.Join(t.TempDir(), "dump.csv")
	cli("export", dump, "--format", "csv", "--dir", dir)

	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		seen[rel] = true
		if perm := info.Mode().Perm(); d.IsDir() && perm != 0o700 || !d.IsDir() && perm&0o077 != 0 {
			t.Errorf("%s is %v", rel, info.Mode())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".", "data.db", "auxiliary.db", "auxiliary.db-wal", "backups/private_test.zip", "storage/left.txt"} {
		if !seen[want] {
			t.Errorf("no %s in the data dir; it holds %v", want, seen)
		}
	}
	if info, err := os.Stat(dump); err != nil || info.Mode().Perm()&0o077 != 0 {
		t.Errorf("the exported dump: %v %v", info.Mode(), err)
	}
}
