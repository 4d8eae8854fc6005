package hooks

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// bindLogs scrubs every log entry before it is stored in auxiliary.db and
// purges entries older than the configured window. What is stored of a
// request: method, path without query string, status, timing, the auth
// collection name (never the id), the IP truncated (or full / none, as
// configured) and the user agent's first product token.
func bindLogs(app core.App, cfg Config) {
	app.OnModelCreate(core.LogsTableName).BindFunc(func(e *core.ModelEvent) error {
		l, ok := e.Model.(*core.Log)
		if !ok {
			return e.Next()
		}
		if cfg.LogRetention == 0 && l.Data["type"] == "request" {
			return nil // no request logs at all: skip the save
		}
		ScrubLog(l, cfg.IPMode)
		return e.Next()
	})

	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		s := se.App.Settings()
		if s.Logs.MaxDays != 0 { // 0 (all logs off) is left as the operator set it
			days := max(1, int((cfg.LogRetention+24*time.Hour-1)/(24*time.Hour)))
			if s.Logs.MaxDays != days || s.Logs.LogAuthId {
				s.Logs.MaxDays = days
				s.Logs.LogAuthId = false
				if err := se.App.Save(s); err != nil {
					return fmt.Errorf("songcommons: log settings: %w", err)
				}
			}
		}
		se.App.Cron().MustAdd("songcommonsLogPurge", "*/15 * * * *", func() {
			if _, err := PurgeLogs(se.App, cfg.LogRetention, time.Now()); err != nil {
				se.App.Logger().Error("songcommons: log purge failed", "error", err)
			}
		})
		return se.Next()
	})
}

// PurgeLogs deletes log entries older than retention (all request entries
// when retention is 0) and returns how many were removed.
func PurgeLogs(app core.App, retention time.Duration, now time.Time) (int64, error) {
	q := app.AuxDB().NewQuery("DELETE FROM {{_logs}} WHERE [[created]] < {:cutoff}")
	cutoff, _ := types.ParseDateTime(now.Add(-retention).UTC())
	if retention == 0 {
		q = app.AuxDB().NewQuery("DELETE FROM {{_logs}} WHERE json_extract([[data]], '$.type') = 'request' OR [[created]] < {:cutoff}")
		cutoff, _ = types.ParseDateTime(now.Add(-24 * time.Hour).UTC())
	}
	res, err := q.Bind(map[string]any{"cutoff": cutoff.String()}).Execute()
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// ScrubLog removes what could identify a person or name the songs they
// looked up from a log entry.
func ScrubLog(l *core.Log, ipMode string) {
	if l.Data == nil {
		l.Data = types.JSONMap[any]{}
	}
	delete(l.Data, "authId")
	for _, k := range []string{"userIP", "remoteIP"} {
		v, ok := l.Data[k].(string)
		if !ok {
			continue
		}
		switch ipMode {
		case "full":
		case "none":
			delete(l.Data, k)
		default:
			l.Data[k] = TruncateIP(v)
		}
	}
	if u, ok := l.Data["url"].(string); ok {
		l.Data["url"] = stripQuery(u)
	}
	if r, ok := l.Data["referer"].(string); ok && r != "" {
		l.Data["referer"] = stripQuery(r)
	}
	if ua, ok := l.Data["userAgent"].(string); ok {
		l.Data["userAgent"] = ProductToken(ua)
	}
	// the message repeats "METHOD url": keep the method and the bare path
	if method, rest, ok := strings.Cut(l.Message, " "); ok && l.Data["type"] == "request" {
		l.Message = method + " " + stripQuery(rest)
	} else {
		l.Message = stripQuery(l.Message)
	}
}

// stripQuery drops the query string and fragment of a URL or path.
func stripQuery(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i]
	}
	return u
}

// TruncateIP keeps the network part: IPv4 /24, IPv6 /48. Anything that is
// not an IP is dropped.
func TruncateIP(s string) string {
	ip := net.ParseIP(strings.TrimSpace(s))
	if ip == nil {
		return ""
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.Mask(net.CIDRMask(24, 32)).String()
	}
	return ip.Mask(net.CIDRMask(48, 128)).String()
}

// ProductToken reduces a user agent to its first product/version token
// ("python-requests/2.32.3", "Mozilla/5.0").
func ProductToken(ua string) string {
	f := strings.Fields(ua)
	if len(f) == 0 {
		return ""
	}
	t := f[0]
	if len(t) > 64 {
		t = t[:64]
	}
	if _, err := url.PathUnescape(t); err != nil {
		return ""
	}
	return t
}
