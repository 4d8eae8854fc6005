package hooks

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"time"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// bindStatic serves the web UI (pb_public) at /, unless a route for it was
// already registered. Its pages share their site header through includes
// (see IncludeFS), expanded once here.
func bindStatic(app core.App, publicFS fs.FS) {
	if publicFS == nil {
		return
	}
	app.OnServe().Bind(&hook.Handler[*core.ServeEvent]{
		Func: func(se *core.ServeEvent) error {
			if !se.Router.HasRoute("GET", "/{path...}") {
				ui, err := IncludeFS(publicFS)
				if err != nil {
					return err
				}
				se.Router.GET("/{path...}", apis.Static(ui, false))
			}
			return se.Next()
		},
		Priority: 999, // after every other route
	})
}

// includeLine is an include directive of a page: the whole line
// `<!--#include partials/header.html-->` is replaced by that file.
var includeLine = regexp.MustCompile(`(?m)^<!--#include ([A-Za-z0-9_./-]+)-->\n?`)

// IncludeFS returns fsys with the include directives of its top-level
// .html pages expanded (one level, paths relative to the root), so the
// pages share one copy of their site header. It fails on a missing file.
func IncludeFS(fsys fs.FS) (fs.FS, error) {
	pages, err := fs.Glob(fsys, "*.html")
	if err != nil {
		return nil, err
	}
	out := includeFS{FS: fsys, pages: map[string][]byte{}}
	for _, p := range pages {
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, err
		}
		var missing error
		b = includeLine.ReplaceAllFunc(b, func(line []byte) []byte {
			name := string(includeLine.FindSubmatch(line)[1])
			part, err := fs.ReadFile(fsys, path.Clean(name))
			if err != nil && missing == nil {
				missing = fmt.Errorf("%s: include %s: %w", p, name, err)
			}
			return part
		})
		if missing != nil {
			return nil, missing
		}
		out.pages[p] = b
	}
	return out, nil
}

type includeFS struct {
	fs.FS
	pages map[string][]byte
}

func (f includeFS) Open(name string) (fs.File, error) {
	b, ok := f.pages[name]
	if !ok {
		return f.FS.Open(name)
	}
	return &memFile{Reader: bytes.NewReader(b), name: name, size: int64(len(b))}, nil
}

// memFile is an expanded page: readable, seekable (for ranges), with
// the size of its expanded content.
type memFile struct {
	*bytes.Reader
	name string
	size int64
}

func (m *memFile) Stat() (fs.FileInfo, error) { return m, nil }
func (m *memFile) Close() error               { return nil }
func (m *memFile) Name() string               { return path.Base(m.name) }
func (m *memFile) Size() int64                { return m.size }
func (m *memFile) Mode() fs.FileMode          { return 0o444 }
func (m *memFile) ModTime() time.Time         { return time.Time{} }
func (m *memFile) IsDir() bool                { return false }
func (m *memFile) Sys() any                   { return nil }

var _ io.ReadSeeker = (*memFile)(nil)
