// Package dataset dumps and loads the whole songcommons dataset: the
// handler of GET /api/songcommons/export (the route table binds it) and
// the `export` and `import` commands.
//
// A dump holds contributions, not songs: one line per contributed row.
// A score row is a line with the score fields; an embedding row is a line
// with its identity fields and "embeddings":{model:vector}. Both are in
// the shape of a /api/songcommons/contribute song, so a dump line can be
// sent back to /contribute as is, and importing a dump stores exactly the
// rows it lists: export → import → export gives the same bytes. A dump
// holds no ids, receipt tags, rowids or the hidden vec column, and its
// order (song key, then content) says nothing about when or how rows came.
package dataset

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	validation "github.com/pocketbase/ozzo-validation/v4"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/config"
)

// MaxConcurrentExports bounds the exports the server streams at once: each
// one reads the whole dataset. One client address holds at most one.
const MaxConcurrentExports = 2

// ExportBusyMessage answers an export refused because others are running.
const ExportBusyMessage = "Exports of the whole dataset are running already: try again in a minute."

// ExportHandler is the handler of GET /api/songcommons/export (see
// exportHandler).
func ExportHandler(cfg config.Config) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error { return exportHandler(e, cfg) }
}

// exportHandler streams the dump: ?format=jsonl (default) or csv. The
// body is gzip-encoded (Content-Encoding) when the client accepts it;
// ?gzip=true sends a .gz file instead (for browsers, which would decode
// a Content-Encoding). The transfer is cut, and its slot freed, past
// cfg.ExportTimeout or when the client takes in less than
// cfg.ExportMinRate bytes per second over a cfg.ExportRateWindow.
func exportHandler(e *core.RequestEvent, cfg config.Config) error {
	q := e.Request.URL.Query()
	f, err := ParseFormat(q.Get("format"))
	if err != nil {
		return e.BadRequestError("Invalid request data.", validation.Errors{
			"format": validation.NewError("validation_invalid_value", err.Error()),
		})
	}
	gzFile := false
	if v := q.Get("gzip"); v != "" {
		if gzFile, err = strconv.ParseBool(v); err != nil {
			return e.BadRequestError("Invalid request data.", validation.Errors{
				"gzip": validation.NewError("validation_invalid_value", "gzip must be true or false"),
			})
		}
	}
	gzEncoding := !gzFile && acceptsGzip(e.Request.Header.Get("Accept-Encoding"))

	name := "songcommons-" + time.Now().UTC().Format("2006-01-02") + "." + string(f)
	h := e.Response.Header()
	switch f {
	case CSV:
		h.Set("Content-Type", "text/csv; charset=utf-8")
	default:
		h.Set("Content-Type", "application/x-ndjson; charset=utf-8")
	}
	if gzFile {
		name += ".gz"
		h.Set("Content-Type", "application/gzip")
	}
	if gzEncoding {
		h.Set("Content-Encoding", "gzip")
	}
	h.Add("Vary", "Accept-Encoding")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")

	ctx, cancel := context.WithTimeout(e.Request.Context(), cfg.ExportTimeout)
	defer cancel()
	end, _ := ctx.Deadline()
	paced := &pacedWriter{w: e.Response, rc: http.NewResponseController(e.Response), end: end,
		window: cfg.ExportRateWindow, piece: max(int(float64(cfg.ExportMinRate)*cfg.ExportRateWindow.Seconds()), 1<<10)}
	_ = paced.rc.SetWriteDeadline(paced.deadline())
	e.Response.WriteHeader(http.StatusOK)

	var zw *gzip.Writer
	var out io.Writer = paced
	if gzFile || gzEncoding {
		zw, _ = gzip.NewWriterLevel(paced, gzip.DefaultCompression)
		out = zw
	}
	_, err = Export(ctx, e.App, out, f, nil)
	if err == nil && zw != nil {
		err = zw.Close()
	}
	if err != nil {
		// the status is sent: abort the response, so that the client sees
		// a broken transfer, never a dump that looks complete
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
			e.App.Logger().Info("songcommons: export cut off: the client took it in too slowly",
				"minRate", cfg.ExportMinRate, "window", cfg.ExportRateWindow.String(), "timeout", cfg.ExportTimeout.String())
		case errors.Is(err, e.Request.Context().Err()): // the client went away
		default:
			e.App.Logger().Error("songcommons: export failed", "error", err.Error())
		}
		panic(http.ErrAbortHandler)
	}
	return nil
}

// pacedWriter writes to an HTTP response in pieces of what the minimum
// rate brings in one window, giving each piece one window (never past
// end) as the connection's write deadline: a client that takes in less
// than that rate, or stops reading, makes a write fail.
type pacedWriter struct {
	w      io.Writer
	rc     *http.ResponseController
	end    time.Time
	window time.Duration
	piece  int
}

func (p *pacedWriter) deadline() time.Time {
	if d := time.Now().Add(p.window); d.Before(p.end) {
		return d
	}
	return p.end
}

func (p *pacedWriter) Write(b []byte) (int, error) {
	written := 0
	for len(b) > 0 {
		n := min(len(b), p.piece)
		_ = p.rc.SetWriteDeadline(p.deadline())
		m, err := p.w.Write(b[:n])
		written += m
		if err != nil {
			return written, err
		}
		b = b[n:]
	}
	return written, nil
}

// acceptsGzip reads an Accept-Encoding header: gzip (or x-gzip, or *)
// without q=0.
func acceptsGzip(h string) bool {
	for _, part := range strings.Split(h, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "gzip" && name != "x-gzip" && name != "*" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		if q > 0 {
			return true
		}
	}
	return false
}

// dateName is the default file name of a dump made today.
func dateName(f Format) string {
	return fmt.Sprintf("songcommons-%s.%s", time.Now().UTC().Format("2006-01-02"), f)
}
