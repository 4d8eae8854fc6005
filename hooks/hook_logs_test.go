package hooks_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"

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
