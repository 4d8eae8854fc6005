package lazyindex

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// songs is an index that holds a number of songs.
type songs int

func (s *songs) Len() int { return int(*s) }

// Get builds once however many callers ask at once; a failed build is
// not held; Refresh runs only on a held index; Load replaces it; Ready and
// Len say what is held.
func TestHolder(t *testing.T) {
	var h Holder[songs, *songs]
	if h.Current() != nil || h.Ready() || h.Len() != 0 {
		t.Fatal("a zero holder holds an index")
	}
	ran := false
	if err := h.Refresh(func(*songs) error { ran = true; return nil }); err != nil || ran {
		t.Fatalf("refresh without an index: ran %v, %v", ran, err)
	}
	if _, err := h.Get(func() (*songs, error) { return nil, errors.New("db down") }); err == nil || h.Current() != nil {
		t.Fatalf("a failed build: %v, holds %v", err, h.Current())
	}
	var builds atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			ix, err := h.Get(func() (*songs, error) { builds.Add(1); v := songs(1); return &v, nil })
			if err != nil || *ix != 1 {
				t.Errorf("get: %v %v", ix, err)
			}
		})
	}
	wg.Wait()
	if builds.Load() != 1 {
		t.Errorf("%d builds for concurrent gets, want 1", builds.Load())
	}
	if err := h.Refresh(func(ix *songs) error { *ix = 2; return nil }); err != nil || h.Len() != 2 || !h.Ready() {
		t.Errorf("refresh: %v, holds %d", err, h.Len())
	}
	if err := h.Load(func() (*songs, error) { v := songs(3); return &v, nil }); err != nil || h.Len() != 3 {
		t.Errorf("load: %v, holds %d", err, h.Len())
	}
}
