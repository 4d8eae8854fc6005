package dataset_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/config"
	"songcommons/contribute"
	"songcommons/dataset"
	"songcommons/internal/testsupport"
	"songcommons/songdata"
)

// seedMany stores n songs with a 512-d vector each (about 5 KB of JSONL
// per song), so that a dump is larger than what the sockets buffer.
func seedMany(t testing.TB, app core.App, n int) {
	t.Helper()
	for lo := 0; lo < n; lo += 500 {
		var songs []map[string]any
		for i := lo; i < min(lo+500, n); i++ {
			songs = append(songs, map[string]any{"artist": fmt.Sprintf("Bulk %04d", i), "title": "Song",
				"tempo": 120.0, "key": "A", "scale": "minor", "embeddings": map[string]any{"clap": testsupport.VariedVector(512, float64(i))}})
		}
		cs, errs := songdata.CheckSongs(songs, "songs.")
		if errs != nil {
			t.Fatal(errs)
		}
		if _, err := contribute.New(app, nil, nil).Upload(cs, ""); err != nil {
			t.Fatal(err)
		}
	}
}

// stalledExport asks for the export over a connection with a small
// receive buffer, reads the response head and stops reading.
func stalledExport(t testing.TB, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET /api/songcommons/export HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	br := bufio.NewReaderSize(conn, 1024)
	status, err := br.ReadString('\n')
	if err != nil || !strings.Contains(status, " 200 ") {
		t.Fatalf("stalled export: %q %v", status, err)
	}
	return conn, br
}

// checkpoint runs PRAGMA wal_checkpoint(TRUNCATE) on the app's database,
// on a connection that waits for readers at most wait, and returns its
// busy column (0: the WAL was emptied).
func checkpoint(t testing.TB, app core.App, wait time.Duration) int {
	t.Helper()
	ctx := context.Background()
	conn, err := app.NonconcurrentDB().(*dbx.DB).DB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", wait.Milliseconds())); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, "PRAGMA busy_timeout = 10000") // the pool's setting
	var busy, logFrames, done int
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done); err != nil {
		t.Fatal(err)
	}
	return busy
}

// TestExportStalledClient: a client that stops reading mid-export holds
// no read snapshot (a checkpoint empties the WAL meanwhile), is cut off
// once it takes in less than the minimum rate over a window, and so
// frees its export slot.
func TestExportStalledClient(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(c *config.Config) {
		c.ExportMinRate, c.ExportRateWindow = 1<<10, 2*time.Second
		c.RateLimits = false // the test polls
	})
	seedMany(t, app, 2000)
	srv := testsupport.Serve(t, app)
	want := dump(t, app, dataset.JSONL)
	addr := strings.TrimPrefix(srv.URL, "http://")

	conn, br := stalledExport(t, addr)
	time.Sleep(300 * time.Millisecond) // the server fills the socket buffers and blocks writing

	// a write while the export is stalled, then a checkpoint: the WAL can
	// be emptied, since the export holds no snapshot while it waits
	if _, err := contribute.New(app, nil, nil).Upload(mustCheck(t, "During Stall"), ""); err != nil {
		t.Fatal(err)
	}
	if busy := checkpoint(t, app, time.Second); busy != 0 {
		t.Fatalf("wal_checkpoint(TRUNCATE) while an export is stalled: busy=%d, want 0", busy)
	}
	// the one export this address may run is the stalled one
	if res, err := http.Get(srv.URL + "/api/songcommons/export"); err != nil || res.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a second export while the first is stalled: %v %v, want 429", res.StatusCode, err)
	} else {
		res.Body.Close()
	}

	// past the window, the server cuts the transfer and the slot comes
	// free: the next export from this address is whole
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(srv.URL + "/api/songcommons/export")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			if err != nil || !bytes.HasPrefix(body, want[:1000]) || !bytes.Contains(body, []byte(`"During Stall"`)) {
				t.Fatalf("export after the stall: %d bytes, %v", len(body), err)
			}
			break
		}
		if res.StatusCode != http.StatusTooManyRequests || time.Now().After(deadline) {
			t.Fatalf("export while the stalled one should be cut off: %d %s", res.StatusCode, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// reading on, the stalled client finds its connection closed before the
	// end of the dump
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, err := io.ReadAll(br)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the stalled connection was left open: %v", err)
	}
	if len(got) >= len(want) || bytes.HasSuffix(got, []byte("0\r\n\r\n")) {
		t.Fatalf("the stalled client got the whole dump (%d bytes of %d): it should have been cut off", len(got), len(want))
	}
}

func mustCheck(t testing.TB, artist string) []songdata.Contribution {
	t.Helper()
	cs, errs := songdata.CheckSongs([]map[string]any{{"artist": artist, "title": "Song", "tempo": 100.0, "key": "C", "scale": "major"}}, "songs.")
	if errs != nil {
		t.Fatal(errs)
	}
	return cs
}
