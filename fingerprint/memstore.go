package fingerprint

import "sync"

// MemStore is a Store that keeps full fingerprints in a map: for tests and
// benchmarks. Its memory is not the index's (a service reads fingerprints
// from its database instead).
type MemStore struct {
	mu sync.RWMutex
	m  map[int64][]uint32
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{m: make(map[int64][]uint32)} }

// Put stores (or replaces) the fingerprint of id.
func (s *MemStore) Put(id int64, fp []uint32) {
	s.mu.Lock()
	s.m[id] = fp
	s.mu.Unlock()
}

// Delete forgets id.
func (s *MemStore) Delete(id int64) {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

// Fingerprints implements Store.
func (s *MemStore) Fingerprints(ids []int64) ([][]uint32, error) {
	out := make([][]uint32, len(ids))
	s.mu.RLock()
	for i, id := range ids {
		out[i] = s.m[id]
	}
	s.mu.RUnlock()
	return out, nil
}
