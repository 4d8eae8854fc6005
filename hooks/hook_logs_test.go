package hooks_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"

	"songcommons/config"
	"songcommons/hooks"
)

func TestTruncateIP(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"203.0.113.77", "203.0.113.0"},
		{"127.0.0.1", "127.0.0.0"},
		{"2001:db8:abcd:12:34::1", "2001:db8:abcd::"},
		{"::ffff:198.51.100.9", "198.51.100.0"},
		{"not an ip", ""},
		{"", ""},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d_%s", i, c.in), func(t *testing.T) {
			if got := hooks.TruncateIP(c.in); got != c.want {
				t.Fatalf("TruncateIP(%q)=%q want %q", c.in, got, c.want)
			}
		})
	}
}

func TestScrubLog(t *testing.T) {
	t.Parallel()
	mk := func() *core.Log {
		return &core.Log{
			Message: `GET /api/collections/score/records?filter=artist="Daft Punk"`,
			Data: types.JSONMap[any]{
				"type": "request", "auth": "users", "authId": aliceID,
				"url":     `/api/collections/score/records?filter=artist%3D%22Daft+Punk%22&perPage=500`,
				"referer": "http://127.0.0.1:8090/song.html?key=daft+punk%7Cone+more+time",
				"userIP":  "203.0.113.77", "remoteIP": "2001:db8:abcd:12::1",
				"userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0 Safari/537.36",
			},
		}
	}
	cases := []struct {
		mode           string
		userIP, remote any
	}{
		{"truncated", "203.0.113.0", "2001:db8:abcd::"},
		{"full", "203.0.113.77", "2001:db8:abcd:12::1"},
		{"none", nil, nil},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d_%s", i, c.mode), func(t *testing.T) {
			l := mk()
			hooks.ScrubLog(l, c.mode)
			if _, ok := l.Data["authId"]; ok {
				t.Error("authId kept")
			}
			if l.Data["userIP"] != c.userIP || l.Data["remoteIP"] != c.remote {
				t.Errorf("IPs %v %v, want %v %v", l.Data["userIP"], l.Data["remoteIP"], c.userIP, c.remote)
			}
			if l.Data["url"] != "/api/collections/score/records" || l.Message != "GET /api/collections/score/records" {
				t.Errorf("query kept: %q / %q", l.Data["url"], l.Message)
			}
			if l.Data["referer"] != "http://127.0.0.1:8090/song.html" {
				t.Errorf("referer %q", l.Data["referer"])
			}
			if l.Data["userAgent"] != "Mozilla/5.0" {
				t.Errorf("user agent %q", l.Data["userAgent"])
			}
		})
	}
}

func saveLog(t testing.TB, app core.App, typ string, at time.Time) {
	t.Helper()
	l := &core.Log{Level: 0, Message: "GET /x", Data: types.JSONMap[any]{"type": typ}}
	l.Id = core.GenerateDefaultRandomId()
	l.Created, _ = types.ParseDateTime(at)
	if err := app.AuxSave(l); err != nil {
		t.Fatal(err)
	}
}

func countLogs(t testing.TB, app core.App) int {
	t.Helper()
	var n int
	if err := app.AuxDB().NewQuery("SELECT COUNT(*) FROM _logs").Row(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLogRetention(t *testing.T) {
	t.Parallel()
	now := time.Now()
	t.Run("72h window", func(t *testing.T) {
		app := newTestApp(t)
		defer app.Cleanup()
		saveLog(t, app, "request", now.Add(-73*time.Hour))
		saveLog(t, app, "request", now.Add(-71*time.Hour))
		saveLog(t, app, "request", now.Add(-time.Minute))
		n, err := hooks.PurgeLogs(app, 72*time.Hour, now)
		if err != nil || n != 1 || countLogs(t, app) != 2 {
			t.Fatalf("purged %d (%v), %d left; want 1 purged, 2 left", n, err, countLogs(t, app))
		}
	})
	t.Run("1h window", func(t *testing.T) {
		app := newTestApp(t)
		defer app.Cleanup()
		saveLog(t, app, "request", now.Add(-2*time.Hour))
		saveLog(t, app, "request", now.Add(-30*time.Minute))
		if _, err := hooks.PurgeLogs(app, time.Hour, now); err != nil || countLogs(t, app) != 1 {
			t.Fatalf("%v, %d left", err, countLogs(t, app))
		}
	})
	t.Run("0 = no request logs", func(t *testing.T) {
		app := newTestApp(t, func(c *config.Config) { c.LogRetention = 0 })
		defer app.Cleanup()
		saveLog(t, app, "request", now) // refused by the hook
		saveLog(t, app, "app", now)     // application messages stay (a day)
		if countLogs(t, app) != 1 {
			t.Fatalf("%d logs, want only the app message", countLogs(t, app))
		}
	})
	t.Run("purge job scheduled on serve", func(t *testing.T) {
		app := newTestApp(t)
		defer app.Cleanup()
		app.Settings().Logs.MaxDays = 7
		serve(t, app)
		found := false
		for _, j := range app.Cron().Jobs() {
			if j.Id() == "songcommonsLogPurge" {
				found = true
				j.Run() // and it runs
			}
		}
		if !found {
			t.Fatal("no purge job")
		}
		if app.Settings().Logs.MaxDays != 3 {
			t.Fatalf("PocketBase's log days = %d, want 3 for a 72h window", app.Settings().Logs.MaxDays)
		}
	})
}
