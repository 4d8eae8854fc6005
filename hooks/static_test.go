package hooks_test

import (
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"songcommons/hooks"
)

// Every page of the web UI gets the one shared site header, expanded in
// place of its include line; a page including a missing file is an error.
func TestIncludeFS(t *testing.T) {
	t.Parallel()
	ui, err := hooks.IncludeFS(os.DirFS("../pb_public"))
	if err != nil {
		t.Fatal(err)
	}
	header, err := os.ReadFile("../pb_public/partials/header.html")
	if err != nil {
		t.Fatal(err)
	}
	pages, _ := fs.Glob(os.DirFS("../pb_public"), "*.html")
	if len(pages) < 6 {
		t.Fatalf("%d pages", len(pages))
	}
	for _, p := range pages {
		b, err := fs.ReadFile(ui, p)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if strings.Count(s, string(header)) != 1 || strings.Contains(s, "#include") {
			t.Errorf("%s: the site header is not expanded exactly once", p)
		}
		if fi, err := fs.Stat(ui, p); err != nil || fi.Size() != int64(len(b)) {
			t.Errorf("%s: Stat gives %v, %v for %d bytes", p, fi, err, len(b))
		}
	}
	if b, err := fs.ReadFile(ui, "assets/style.css"); err != nil || len(b) == 0 {
		t.Errorf("other files are served as they are: %v", err)
	}

	bad := fstest.MapFS{"a.html": {Data: []byte("<body>\n<!--#include partials/none.html-->\n</body>\n")}}
	if _, err := hooks.IncludeFS(bad); err == nil || !strings.Contains(err.Error(), "partials/none.html") {
		t.Errorf("a missing include: %v", err)
	}
}
