// Package lazyindex holds an in-memory index built from the database: at
// start-up (Load), or by its first user when nothing has built it yet; a
// later Load replaces it. Loads and refreshes are serialised, so that a
// refresh never applies a read older than the load it follows, and readers
// never wait for either.
package lazyindex

import "sync"

// Sized is an index that says how many songs it holds.
type Sized interface{ Len() int }

// Holder holds one index of type T. The zero value holds none.
type Holder[T any, P interface {
	*T
	Sized
}] struct {
	refreshMu sync.Mutex // serialises loads and refreshes
	mu        sync.RWMutex
	ix        *T
}

// Ready reports whether an index is held.
func (h *Holder[T, P]) Ready() bool { return h.Current() != nil }

// Len is the number of songs of the index held (0 before the first load).
func (h *Holder[T, P]) Len() int {
	if ix := h.Current(); ix != nil {
		return P(ix).Len()
	}
	return 0
}

// Load builds the index with build and holds it, replacing any index held.
func (h *Holder[T, P]) Load(build func() (*T, error)) error {
	h.refreshMu.Lock()
	defer h.refreshMu.Unlock()
	return h.load(build)
}

func (h *Holder[T, P]) load(build func() (*T, error)) error {
	ix, err := build()
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.ix = ix
	h.mu.Unlock()
	return nil
}

// Current returns the index held, nil before the first load.
func (h *Holder[T, P]) Current() *T {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.ix
}

// Get returns the index held, building it with build first if there is
// none.
func (h *Holder[T, P]) Get(build func() (*T, error)) (*T, error) {
	if ix := h.Current(); ix != nil {
		return ix, nil
	}
	h.refreshMu.Lock()
	defer h.refreshMu.Unlock()
	if ix := h.Current(); ix != nil {
		return ix, nil
	}
	if err := h.load(build); err != nil {
		return nil, err
	}
	return h.Current(), nil
}

// Refresh runs fn on the index held, serialised with loads and other
// refreshes; without an index it does nothing (the first load reads the
// change).
func (h *Holder[T, P]) Refresh(fn func(*T) error) error {
	h.refreshMu.Lock()
	defer h.refreshMu.Unlock()
	if ix := h.Current(); ix != nil {
		return fn(ix)
	}
	return nil
}
