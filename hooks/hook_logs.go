package hooks

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"songcommons/config"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// bindLogs scrubs every log entry before it is stored in auxiliary.db and
// keeps PocketBase's own log window at the configured one (the purge every
// 15 minutes is bindLogPurge, cron_logs.go). What is stored of a
// request: method, path without query string, status, timing, the auth
// collection name (never the id), the IP truncated (or full / none, as
// configured) and the user agent's first product token.
func bindLogs(app core.App, cfg config.Config) {
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
		return se.Next()
	})
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
		l.Data["url"] = ScrubPath(u)
	}
	if r, ok := l.Data["referer"].(string); ok && r != "" {
		l.Data["referer"] = ScrubPath(r)
	}
	if ua, ok := l.Data["userAgent"].(string); ok {
		l.Data["userAgent"] = ProductToken(ua)
	}
	if l.Data["type"] == "request" {
		scrubRequestError(l)
	}
	// the message repeats "METHOD url": keep the method and the bare path
	if method, rest, ok := strings.Cut(l.Message, " "); ok && l.Data["type"] == "request" {
		l.Message = method + " " + ScrubPath(rest)
	} else {
		l.Message = ScrubPath(l.Message)
	}
}

// scrubRequestError keeps of a request's error what an operator needs and
// nothing a user typed: the field names and error codes of "details" (its
// messages can quote input), and the error text only for server errors
// (5xx), without quoted parts; a client error's text often repeats the
// input (an e-mail address, a JSON fragment), and its status says enough.
func scrubRequestError(l *core.Log) {
	if d, ok := l.Data["details"]; ok {
		l.Data["details"] = errorCodes(d)
	}
	e, ok := l.Data["error"].(string)
	if !ok {
		return
	}
	status, _ := l.Data["status"].(float64)
	if s, ok := l.Data["status"].(int); ok {
		status = float64(s)
	}
	if status < 500 {
		delete(l.Data, "error")
		return
	}
	l.Data["error"] = quoted.ReplaceAllString(e, `"…"`)
}

// quoted matches a quoted part of an error text.
var quoted = regexp.MustCompile(`"[^"]*"|'[^']*'|` + "`[^`]*`")

// errorCodes reduces an error's details to {field: {"code": code}}.
func errorCodes(d any) map[string]any {
	out := map[string]any{}
	raw, err := json.Marshal(d)
	if err != nil {
		return out
	}
	var fields map[string]any
	if json.Unmarshal(raw, &fields) != nil {
		return out
	}
	for k, v := range fields {
		if m, ok := v.(map[string]any); ok {
			if code, ok := m["code"].(string); ok {
				out[k] = map[string]any{"code": code}
				continue
			}
		}
		out[k] = map[string]any{}
	}
	return out
}

// ScrubPath drops the query string and fragment of a URL or path (they
// name the songs looked up) and replaces record ids in it with ":id": the
// id after records/ and impersonate/ (a users id names an account), the
// record and file of /api/files/, and any other segment shaped like a
// PocketBase id.
func ScrubPath(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	parts := strings.Split(u, "/")
	for i, p := range parts {
		switch {
		case i > 0 && (parts[i-1] == "records" || parts[i-1] == "impersonate") && p != "":
			parts[i] = ":id"
		case i >= 3 && parts[i-3] == "api" && parts[i-2] == "files":
			parts[i] = ":id"
		case i >= 4 && parts[i-4] == "api" && parts[i-3] == "files":
			parts[i] = ":file"
		case pocketBaseID.MatchString(p):
			parts[i] = ":id"
		}
	}
	return strings.Join(parts, "/")
}

// pocketBaseID is the shape of PocketBase's generated record ids.
var pocketBaseID = regexp.MustCompile(`^[a-z0-9]{15}$`)

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
