// Package parallel runs the items of a piece of work on several goroutines:
// its one job is the loop that the fingerprint index, its SQLite reads and
// the lookup route's decoding share.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// For calls f(0), …, f(n-1) on up to workers goroutines (GOMAXPROCS when
// workers ≤ 0), each taking the next index as it finishes the last, and
// returns when all calls have returned. With one worker, or one item, the
// calls run in order on the caller's goroutine.
func For(n, workers int, f func(i int)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, n)
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	var next atomic.Int64
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}
