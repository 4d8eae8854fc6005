package dataset

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"strings"
	"testing"

	"songcommons/contribute"
	"songcommons/songdata"

	"github.com/pocketbase/pocketbase/core"
)

// A row the database refuses costs only its own line; a database that
// refuses everything stops the import with the error.
func TestImportWhenTheDatabaseRefuses(t *testing.T) {
	t.Parallel()
	app := migratedApp(t)
	in := `{"artist":"A","title":"1","tempo":120,"key":"C","scale":"major"}
{"artist":"Refused","title":"2","tempo":120,"key":"C","scale":"major"}
{"artist":"A","title":"3","tempo":120,"key":"C","scale":"major"}
{"artist":"A","title":"4","tempo":120,"key":"C","scale":"major"}
`
	refuse := func(cs []songdata.Contribution) error {
		for _, c := range cs {
			if c.Score.Artist == "Refused" {
				return errors.New("constraint failed")
			}
		}
		_, err := contribute.New(app, nil, nil).Upload(cs, "")
		return err
	}
	var rejects strings.Builder
	sum, err := Import(context.Background(), app, strings.NewReader(in), ImportOptions{Rejects: &rejects, store: refuse})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Imported != 3 || sum.Rejected != 1 || sum.Reasons[ReasonStoreFailed] != 1 {
		t.Errorf("summary %+v", sum)
	}
	if !strings.Contains(rejects.String(), `"line":2,"reasons":["store_failed"]`) {
		t.Errorf("rejects: %s", rejects.String())
	}

	down := func([]songdata.Contribution) error { return errors.New("disk I/O error") }
	sum, err = Import(context.Background(), app, strings.NewReader(in), ImportOptions{Chunk: 2, store: down})
	if err == nil || !strings.Contains(err.Error(), "from line 1 on") || !strings.Contains(err.Error(), "disk I/O error") || sum.Imported != 0 {
		t.Errorf("a database refusing everything: %+v, %v", sum, err)
	}
}

// A dump cut short (a truncated .gz) imports what it holds, then says so.
func TestImportOfATruncatedGzip(t *testing.T) {
	t.Parallel()
	app := migratedApp(t)
	var plain, gz bytes.Buffer
	if err := writeSynthetic(&plain, 200); err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(&gz)
	zw.Write(plain.Bytes())
	zw.Close()
	cut := gz.Bytes()[:gz.Len()/2]
	in, err := maybeGunzip(bytes.NewReader(cut))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Import(context.Background(), app, in, ImportOptions{Chunk: 50})
	if err == nil || !strings.Contains(err.Error(), "unexpected EOF") {
		t.Fatalf("a truncated gzip: %v", err)
	}
	if sum.Imported < 100 || sum.Imported+sum.Rejected != sum.Read {
		t.Errorf("the lines before the cut should be imported: %+v", sum)
	}
}

// migratedApp is a bare PocketBase app (none of the service's hooks) on a
// fresh data dir with the service's migrations applied, closed when the
// test ends.
func migratedApp(t *testing.T) *core.BaseApp {
	t.Helper()
	app := core.NewBaseApp(core.BaseAppConfig{DataDir: t.TempDir()})
	if err := app.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.ResetBootstrapState() })
	if err := app.RunAllMigrations(); err != nil {
		t.Fatal(err)
	}
	return app
}
