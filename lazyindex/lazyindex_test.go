package lazyindex

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// Get builds once however many callers ask at once; a failed build is
// not held; Refresh runs only on a held index; Load replaces it.
func TestHolder(t *testing.T) {
	var h Holder[int]
	if h.Current() != nil {
		t.Fatal("a zero holder holds an index")
	}
	ran := false
	if err := h.Refresh(func(*int) error { ran = true; return nil }); err != nil || ran {
		t.Fatalf("refresh without an index: ran %v, %v", ran, err)
	}
	if _, err := h.Get(func() (*int, error) { return nil, errors.New("db down") }); err == nil || h.Current() != nil {
		t.Fatalf("a failed build: %v, holds %v", err, h.Current())
	}
	var builds atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			ix, err := h.Get(func() (*int, error) { builds.Add(1); v := 1; return &v, nil })
			if err != nil || *ix != 1 {
				t.Errorf("get: %v %v", ix, err)
			}
		})
	}
	wg.Wait()
	if builds.Load() != 1 {
		t.Errorf("%d builds for concurrent gets, want 1", builds.Load())
	}
	if err := h.Refresh(func(ix *int) error { *ix = 2; return nil }); err != nil || *h.Current() != 2 {
		t.Errorf("refresh: %v, holds %d", err, *h.Current())
	}
	if err := h.Load(func() (*int, error) { v := 3; return &v, nil }); err != nil || *h.Current() != 3 {
		t.Errorf("load: %v, holds %d", err, *h.Current())
	}
}
