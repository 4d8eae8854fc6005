package storage

import (
	"cmp"
	"slices"
	"sync"

	"github.com/pocketbase/pocketbase/core"

	"songcommons/internal/parallel"
)

// MaxInArgs bounds the values of one "IN (…)" query: SQLite allows far
// more, but one statement per few hundred keys keeps each small.
const MaxInArgs = 500

// InChunks calls fn for consecutive chunks of at most MaxInArgs keys,
// with the chunk also as query arguments for dbx.In.
func InChunks(keys []string, fn func(chunk []string, args []any) error) error {
	for len(keys) > 0 {
		chunk := keys[:min(len(keys), MaxInArgs)]
		keys = keys[len(chunk):]
		args := make([]any, len(chunk))
		for i, k := range chunk {
			args[i] = k
		}
		if err := fn(chunk, args); err != nil {
			return err
		}
	}
	return nil
}

// ReadWorkers is how many chunks ReadChunks reads at once: the rows of a
// large lookup lie on pages all over a table, so each read waits on the
// page cache or the disk as much as it computes.
const ReadWorkers = 4

// ReadChunks reads many keys in chunks: read gets each chunk as query
// arguments for dbx.In and returns what it found, and merge receives the
// results one at a time (it needs no lock of its own). Outside a
// transaction up to ReadWorkers chunks are read at once, each on a
// connection of app's pool, in chunks small enough to keep them all busy;
// in a transaction, one after the other on its connection. It returns the
// first error a read gave.
func ReadChunks[K any, R any](app core.App, keys []K, read func(args []any) (R, error), merge func(R)) error {
	workers := ReadWorkers
	if app.IsTransactional() {
		workers = 1
	}
	size := min(max(64, (len(keys)+2*workers-1)/(2*workers)), MaxInArgs)
	chunks := slices.Collect(slices.Chunk(keys, size))
	var mu sync.Mutex
	var first error
	parallel.For(len(chunks), workers, func(c int) {
		args := make([]any, len(chunks[c]))
		for i, k := range chunks[c] {
			args[i] = k
		}
		r, err := read(args)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			first = cmp.Or(first, err)
			return
		}
		merge(r)
	})
	return first
}
