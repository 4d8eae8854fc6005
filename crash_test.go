package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pocketbase/dbx"

	"songcommons/hooks"
	"songcommons/internal/testsupport"
)

// TestMain lets the test binary act as the server in a child process
// (the crash and shutdown tests kill it), without building another binary.
func TestMain(m *testing.M) { testsupport.MainOrChild(m, "SONGCOMMONS_TEST_SERVER_ARGS", main) }

type child struct {
	cmd  *exec.Cmd
	url  string
	logs *bytes.Buffer
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// contributorDataDir is a data dir, closed, holding a contributor with
// consent, whose token it returns; the test is skipped with -short (it
// starts server processes).
func contributorDataDir(t *testing.T) (dir, token string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dir = t.TempDir()
	app := testsupport.OpenDataDir(t, dir)
	token = testsupport.NewContributor(t, app)
	app.ResetBootstrapState()
	return dir, token
}

// startServer runs `songcommons serve` on the data dir, on 127.0.0.1.
func startServer(t *testing.T, dir string) (*child, time.Duration) {
	t.Helper()
	port := freePort(t)
	c := &child{url: fmt.Sprintf("http://127.0.0.1:%d", port), logs: &bytes.Buffer{}}
	c.cmd = exec.Command(os.Args[0], "-test.run=^$")
	c.cmd.Env = append(os.Environ(),
		fmt.Sprintf("SONGCOMMONS_TEST_SERVER_ARGS=serve --dir %s --http 127.0.0.1:%d", dir, port),
		"SONGCOMMONS_RATE_LIMITS=off", "SONGCOMMONS_DAILY_QUOTA=0", "SONGCOMMONS_BACKUP_CRON=off",
		"SONGCOMMONS_GITHUB_CLIENT_ID=test", "SONGCOMMONS_GITHUB_CLIENT_SECRET=test")
	c.cmd.Stdout, c.cmd.Stderr = c.logs, c.logs
	start := time.Now()
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.cmd.Process.Kill(); _ = c.cmd.Wait() })
	for time.Since(start) < 60*time.Second {
		res, err := http.Get(c.url + "/api/songcommons/status")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return c, time.Since(start)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the server did not start within 60 s:\n%s", c.logs)
	return nil, 0
}

func upload(url, token string, tag string, n int) (int, []string, error) {
	songs := make([]map[string]any, n)
	for i := range songs {
		songs[i] = map[string]any{"artist": "Crash " + tag, "title": fmt.Sprintf("%s song %d", tag, i), "tempo": 120,
			"key": "A", "scale": "minor", "embeddings": map[string]any{"musicnn": testsupport.Vector(200, float64(i+len(tag)*31))}}
	}
	code, score, embedding, err := testsupport.Contribute(url, token, songs)
	return code, append(score, embedding...), err
}

// TestCrashSafety kills the server with SIGKILL in the middle of a stream of
// uploads, restarts it, and checks that every acknowledged upload is there
// and complete, that no upload is half-stored, and that the similarity index
// agrees with the database.
func TestCrashSafety(t *testing.T) {
	dir, token := contributorDataDir(t)
	srv, _ := startServer(t, dir)
	var mu sync.Mutex
	acked := map[string][]string{} // request tag → ids
	var tags []string
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 400; i++ { // bounded
				select {
				case <-stop:
					return
				default:
				}
				tag := fmt.Sprintf("w%d-r%d", w, i)
				mu.Lock()
				tags = append(tags, tag)
				mu.Unlock()
				code, ids, err := upload(srv.url, token, tag, 50)
				if err != nil {
					return // the server is gone
				}
				if code == 200 {
					mu.Lock()
					acked[tag] = ids
					mu.Unlock()
				}
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	_ = srv.cmd.Process.Signal(syscall.SIGKILL)
	_ = srv.cmd.Wait()
	close(stop)
	wg.Wait()
	if len(acked) == 0 {
		t.Fatalf("no upload was acknowledged before the kill:\n%s", srv.logs)
	}

	srv2, ready := startServer(t, dir)
	t.Logf("%d uploads acknowledged before SIGKILL; restart ready in %s", len(acked), ready)

	db, err := dbx.Open("sqlite", dir+"/data.db?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, tag := range tags {
		var n int
		if err := db.NewQuery("SELECT COUNT(*) FROM score WHERE artist = {:a}").Bind(dbx.Params{"a": "Crash " + tag}).Row(&n); err != nil {
			t.Fatal(err)
		}
		var m int
		_ = db.NewQuery("SELECT COUNT(*) FROM embedding WHERE artist = {:a}").Bind(dbx.Params{"a": "Crash " + tag}).Row(&m)
		ids, ok := acked[tag]
		switch {
		case ok && (n != 50 || m != 50):
			t.Errorf("acknowledged upload %s has %d score and %d embedding rows, want 50 and 50", tag, n, m)
		case !ok && !((n == 0 && m == 0) || (n == 50 && m == 50)):
			t.Errorf("upload %s is half-stored: %d score and %d embedding rows", tag, n, m)
		}
		for _, id := range ids {
			var c int
			_ = db.NewQuery("SELECT (SELECT COUNT(*) FROM score WHERE id = {:id}) + (SELECT COUNT(*) FROM embedding WHERE id = {:id})").
				Bind(dbx.Params{"id": id}).Row(&c)
			if c != 1 {
				t.Errorf("acknowledged row %s is missing", id)
			}
		}
	}
	var songs int
	_ = db.NewQuery("SELECT COUNT(DISTINCT song_key) FROM embedding WHERE model = 'musicnn'").Row(&songs)
	res, err := http.Get(srv2.url + "/api/songcommons/status")
	if err != nil {
		t.Fatal(err)
	}
	var st hooks.Status
	_ = json.NewDecoder(res.Body).Decode(&st)
	res.Body.Close()
	if st.IndexSizes["musicnn"] != songs {
		t.Errorf("the index holds %d songs, the database %d", st.IndexSizes["musicnn"], songs)
	}
	var sr int
	_ = db.NewQuery("SELECT COUNT(*) FROM songs").Row(&sr)
	if int64(sr) != st.Songs {
		t.Errorf("status says %d songs, songs table has %d", st.Songs, sr)
	}
}

// TestGracefulShutdown: SIGTERM lets an in-flight upload finish, even one
// that takes longer than PocketBase's own 1 s shutdown grace.
func TestGracefulShutdown(t *testing.T) {
	dir, token := contributorDataDir(t)
	srv, _ := startServer(t, dir)

	body := fmt.Sprintf(`{"songs":[{"artist":"Graceful","title":"Shutdown","tempo":100,"key":"C","scale":"major","embeddings":{"musicnn":%s}}]}`, mustJSON(testsupport.Vector(200, 1)))
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, srv.url+"/api/songcommons/contribute", pr)
	req.Header.Set("Authorization", token)
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = int64(len(body))
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{0, err}
			return
		}
		res.Body.Close()
		done <- result{res.StatusCode, nil}
	}()
	_, _ = pw.Write([]byte(body[:len(body)/2])) // the request is in flight
	time.Sleep(300 * time.Millisecond)
	_ = srv.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(1500 * time.Millisecond) // longer than PocketBase's own 1 s shutdown timeout
	_, _ = pw.Write([]byte(body[len(body)/2:]))
	_ = pw.Close()
	r := <-done
	if r.err != nil || r.code != 200 {
		t.Fatalf("in-flight upload during SIGTERM: %d %v\n%s", r.code, r.err, srv.logs)
	}
	_ = srv.cmd.Wait()
	db, _ := dbx.Open("sqlite", dir+"/data.db?mode=ro")
	defer db.Close()
	var n int
	_ = db.NewQuery("SELECT COUNT(*) FROM score WHERE artist = 'Graceful'").Row(&n)
	if n != 1 {
		t.Fatalf("the upload acknowledged during shutdown is not stored (%d rows)", n)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
