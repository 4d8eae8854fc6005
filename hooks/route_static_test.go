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
	partials := map[string]string{}
	for _, name := range []string{"head", "header", "footer"} {
		b, err := os.ReadFile("../pb_public/partials/" + name + ".html")
		if err != nil {
			t.Fatal(err)
		}
		partials[name] = string(b)
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
		for name, text := range partials {
			if strings.Count(s, text) != 1 {
				t.Errorf("%s: partials/%s.html is not expanded exactly once", p, name)
			}
		}
		if strings.Contains(s, "#include") {
			t.Errorf("%s: an include directive is left", p)
		}
		// the Content-Security-Policy must be read before any script
		csp, script := strings.Index(s, `http-equiv="Content-Security-Policy"`), strings.Index(s, "<script")
		if csp < 0 || (script >= 0 && script < csp) || strings.Count(s, "<title>") != 1 {
			t.Errorf("%s: CSP meta at %d, first script at %d, %d titles", p, csp, script, strings.Count(s, "<title>"))
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
