package storage_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"

	"songcommons/internal/testsupport"
	"songcommons/storage"
)

// ReadChunks reads every key once, in chunks of at most MaxInArgs, on
// several connections outside a transaction and on the transaction's
// inside one, and returns a read's error.
func TestReadChunks(t *testing.T) {
	app := testsupport.NewApp(t)
	defer app.Cleanup()
	if _, err := app.DB().NewQuery("CREATE TABLE chunk_probe (k INTEGER PRIMARY KEY, v TEXT)").Execute(); err != nil {
		t.Fatal(err)
	}
	const n = 2345
	var keys []int64
	for i := range n {
		if _, err := app.DB().Insert("chunk_probe", dbx.Params{"k": i, "v": fmt.Sprint("v", i)}).Execute(); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, int64(i))
	}
	keys = append(keys, n+1, n+2) // absent

	read := func(app core.App) ([]string, int, error) {
		var got []string
		chunks := 0
		err := storage.ReadChunks(app, keys, func(args []any) ([]string, error) {
			if len(args) > storage.MaxInArgs {
				return nil, fmt.Errorf("a chunk of %d keys", len(args))
			}
			var vs []string
			err := app.DB().Select("v").From("chunk_probe").Where(dbx.In("k", args...)).Column(&vs)
			return vs, err
		}, func(vs []string) {
			got = append(got, vs...) // merge runs one at a time: no lock here
			chunks++
		})
		slices.Sort(got)
		return got, chunks, err
	}
	want := make([]string, n)
	for i := range n {
		want[i] = fmt.Sprint("v", i)
	}
	slices.Sort(want)

	got, chunks, err := read(app)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("outside a transaction: %d values (want %d), err %v", len(got), n, err)
	}
	if chunks < 2*storage.ReadWorkers {
		t.Errorf("outside a transaction: %d chunks, want at least %d to keep the readers busy", chunks, 2*storage.ReadWorkers)
	}
	err = app.RunInTransaction(func(tx core.App) error {
		got, _, err := read(tx)
		if err != nil || !slices.Equal(got, want) {
			return fmt.Errorf("in a transaction: %d values (want %d), err %v", len(got), n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	boom := errors.New("boom")
	err = storage.ReadChunks(app, keys, func(args []any) (int, error) {
		if slices.Contains(args, any(int64(2000))) {
			return 0, boom
		}
		return len(args), nil
	}, func(int) {})
	if !errors.Is(err, boom) {
		t.Errorf("a failing read: err %v, want %v", err, boom)
	}
}
