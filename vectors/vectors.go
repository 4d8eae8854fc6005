// Package vectors is an in-memory, exact cosine-similarity index over
// fixed-dimension float32 embeddings keyed by string ids (song keys).
//
// One Index is kept per embedding model (e.g. musicnn 200-d, clap 512-d).
// Every stored vector is a unit vector, so cosine similarity is a plain dot
// product; a search is one matrix–vector product (gonum blas32.Gemv) over
// the contiguous row-major matrix, split by row blocks across
// runtime.GOMAXPROCS(0) goroutines, each keeping a bounded top-k heap.
//
// Storage is a row-major float32 matrix in blocks of 65,536 contiguous
// rows (so that growing never copies more than one block), one []string of
// ids and a map id→row. There are no per-row allocations and no float64
// copies.
//
// At start-up a Builder accumulates many contributions per id (the sum of
// their unit vectors) straight into the matrix and Build normalises every
// row, giving the normalised mean of the unit vectors of each id's
// contributions.
//
// Optionally (EnableApprox, SearchApprox) a 1-bit sketch of the rows gives
// a faster approximate search whose candidates are re-ranked exactly.
//
// The package has no dependency besides gonum and the standard library.
package vectors

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
)

// Errors returned by the package. They are wrapped with details; test with
// errors.Is.
var (
	ErrDim       = errors.New("vectors: wrong dimension")
	ErrZero      = errors.New("vectors: zero vector")
	ErrNonFinite = errors.New("vectors: NaN or Inf in vector")
	ErrK         = errors.New("vectors: k must be > 0")
	ErrBlob      = errors.New("vectors: blob length is not a multiple of 4")
)

// Hit is one search result: a stored id and its cosine similarity to the
// query.
type Hit struct {
	ID    string
	Score float32 // cosine similarity in [-1, 1] (up to rounding)
}

// Searcher is the search side of an index, so that an external backend
// (e.g. Qdrant) can stand in for *Index later.
type Searcher interface {
	// Search returns the k ids most similar to q by cosine similarity,
	// best first (ties by id ascending), skipping ids for which exclude
	// returns true (exclude may be nil).
	Search(q []float32, k int, exclude func(id string) bool) ([]Hit, error)
	// Len is the number of stored vectors.
	Len() int
	// Dim is the vector dimension.
	Dim() int
}

var _ Searcher = (*Index)(nil)

// Index is an exact cosine-similarity index (with an optional approximate
// path, see EnableApprox). It is safe for concurrent use: searches share a
// read lock, writes (Set, Remove, EnableApprox) take the write lock.
type Index struct {
	mu  sync.RWMutex
	dim int
	keyedRows
	sk *sketch // optional 1-bit sketch for SearchApprox (nil until EnableApprox)
}

// New returns an empty index for vectors of dimension dim (dim must be > 0).
func New(dim int) *Index {
	if dim <= 0 {
		panic(fmt.Sprintf("vectors: New: dim must be > 0, got %d", dim))
	}
	return &Index{dim: dim, keyedRows: newKeyedRows(dim, 0)}
}

// Dim returns the vector dimension.
func (ix *Index) Dim() int { return ix.dim }

// Len returns the number of stored vectors.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.ids)
}

// Set adds or replaces the vector for id. It stores unit(v); v itself is not
// modified or retained. It fails (ErrDim, ErrZero, ErrNonFinite) without
// changing the index.
func (ix *Index) Set(id string, v []float32) error {
	if len(v) != ix.dim {
		return fmt.Errorf("%w: got %d, want %d", ErrDim, len(v), ix.dim)
	}
	inv, err := invNorm(v)
	if err != nil {
		return err
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	r, ok := ix.rowOf(id)
	if !ok {
		return errors.New("vectors: index full")
	}
	row := ix.data.row(r)
	for i, x := range v {
		row[i] = x * inv
	}
	if ix.sk != nil {
		ix.sketchSet(r)
	}
	return nil
}

// Remove deletes id and reports whether it was present. The last row is
// moved into the freed slot (O(dim)); capacity is kept for reuse.
func (ix *Index) Remove(id string) bool {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	r, ok := ix.pos[id]
	if !ok {
		return false
	}
	last := len(ix.ids) - 1
	if int(r) != last {
		copy(ix.data.row(int(r)), ix.data.row(last))
		moved := ix.ids[last]
		ix.ids[r] = moved
		ix.pos[moved] = r
	}
	ix.ids[last] = "" // drop the reference to the string
	ix.ids = ix.ids[:last]
	ix.data.dropLast()
	if ix.sk != nil {
		ix.sketchMove(int(r), last)
	}
	delete(ix.pos, id)
	return true
}

// Get returns a copy of the stored (unit) vector for id.
func (ix *Index) Get(id string) ([]float32, bool) {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	r, ok := ix.pos[id]
	if !ok {
		return nil, false
	}
	out := make([]float32, ix.dim)
	copy(out, ix.data.row(int(r)))
	return out, true
}

// Has reports whether id is stored.
func (ix *Index) Has(id string) bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	_, ok := ix.pos[id]
	return ok
}

// IDs returns a copy of the stored ids, in row order (unspecified but
// stable between writes).
func (ix *Index) IDs() []string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return append([]string(nil), ix.ids...)
}

// mapEntryBytes approximates the per-entry cost of map[string]int32
// (16-byte string header + 4-byte value in a 24-byte slot, control bytes,
// load-factor slack; measured 40–56 B at 10^5–10^6 entries).
const mapEntryBytes = 48

// Bytes returns an approximation of the memory held by the index: the
// matrix capacity, the id slice capacity, the id string bytes, the id→row
// map and, if enabled, the approximate-search sketch.
func (ix *Index) Bytes() int64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	n := int64(ix.data.capFloats())*4 + int64(cap(ix.ids))*16 + int64(len(ix.pos))*mapEntryBytes
	for _, s := range ix.ids {
		n += int64(len(s))
	}
	if sk := ix.sk; sk != nil {
		n += int64(cap(sk.codes)) + 4*int64(cap(sk.scale)) + 4*int64(len(sk.mu))
	}
	return n
}

// growRows extends data by add rows of dim elements (zeroed), growing the
// backing array geometrically: doubling while small, then by 1/8, so that
// capacity slack stays ≤ 12.5% of the raw size for large matrices while
// appends remain amortised O(dim).
func growRows[T any](data []T, dim, add int) []T {
	need := len(data) + add*dim
	if need <= cap(data) {
		return data[:need]
	}
	newCap := cap(data)
	const bigRows = 1 << 14
	for newCap < need {
		switch {
		case newCap < 16*dim:
			newCap = 16 * dim
		case newCap < bigRows*dim:
			newCap *= 2
		default:
			newCap += (newCap / 8 / dim) * dim
		}
	}
	nd := make([]T, need, newCap)
	copy(nd, data)
	return nd
}

// invNorm returns 1/‖v‖ (computed in float64) or an error for a zero or
// non-finite v.
func invNorm(v []float32) (float32, error) {
	var s float64
	for _, x := range v {
		f := float64(x)
		s += f * f
	}
	if math.IsNaN(s) || math.IsInf(s, 0) {
		for _, x := range v {
			if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
				return 0, ErrNonFinite
			}
		}
		// All finite but the sum overflowed float64: impossible for
		// float32 inputs of sane length, treat as non-finite.
		return 0, ErrNonFinite
	}
	if s == 0 {
		return 0, ErrZero
	}
	return float32(1 / math.Sqrt(s)), nil
}

// Normalize scales v in place to unit length. It returns ErrZero for an
// all-zero v and ErrNonFinite if v holds NaN or ±Inf; v is unchanged then.
func Normalize(v []float32) error {
	inv, err := invNorm(v)
	if err != nil {
		return err
	}
	for i := range v {
		v[i] *= inv
	}
	return nil
}

// EncodeBlob encodes v as little-endian float32s (4 bytes each), the format
// stored in SQLite BLOB columns.
func EncodeBlob(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// DecodeBlob decodes a blob written by EncodeBlob into dst, reusing dst's
// storage when its capacity suffices (pass nil or a reusable buffer), and
// returns the decoded slice (len(b)/4 values). It returns ErrBlob if len(b)
// is not a multiple of 4. Values are not validated.
func DecodeBlob(b []byte, dst []float32) ([]float32, error) {
	if len(b)%4 != 0 {
		return dst[:0], fmt.Errorf("%w: %d bytes", ErrBlob, len(b))
	}
	n := len(b) / 4
	if cap(dst) < n {
		dst = make([]float32, n)
	}
	dst = dst[:n]
	b = b[:4*n]
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i : 4*i+4]))
	}
	return dst, nil
}
