package vectors

import "fmt"

// Builder accumulates contributions per id for a start-up bulk build. Each
// Accumulate adds unit(v) into the id's row of the matrix (no per-row or
// per-contribution allocation); Build normalises each row, which
// yields the normalised mean of the unit vectors of the id's contributions.
//
// A Builder is not safe for concurrent use. After Build it is empty and
// may be reused.
type Builder struct {
	dim int
	keyedRows
}

// NewBuilder returns a Builder for vectors of dimension dim. sizeHint is the
// expected number of distinct ids (0 if unknown); with an exact hint the
// matrix is allocated once and Build does not copy it.
func NewBuilder(dim, sizeHint int) *Builder {
	if dim <= 0 {
		panic(fmt.Sprintf("vectors: NewBuilder: dim must be > 0, got %d", dim))
	}
	sizeHint = max(sizeHint, 0)
	return &Builder{dim: dim, keyedRows: newKeyedRows(dim, sizeHint)}
}

// Len returns the number of distinct ids accumulated so far.
func (b *Builder) Len() int { return len(b.ids) }

// Accumulate adds unit(v) to id's row, creating the row if id is new. It
// returns ErrDim, ErrZero or ErrNonFinite (and changes nothing) for a bad v.
func (b *Builder) Accumulate(id string, v []float32) error {
	if len(v) != b.dim {
		return fmt.Errorf("%w: got %d, want %d", ErrDim, len(v), b.dim)
	}
	inv, err := invNorm(v)
	if err != nil {
		return err
	}
	r, ok := b.rowOf(id)
	if !ok {
		return fmt.Errorf("vectors: builder full")
	}
	row := b.data.row(r)
	for i, x := range v {
		row[i] += x * inv
	}
	return nil
}

// Build normalises every row and returns the Index. Rows whose sum is zero
// (or not finite) are dropped. The returned index holds an exactly sized
// matrix: if the builder's last block has spare capacity it is copied once
// into an exact allocation. The Builder is left empty.
func (b *Builder) Build() *Index {
	d := b.dim
	n := 0 // rows kept so far; compaction preserves order
	for r, id := range b.ids {
		row := b.data.row(r)
		inv, err := invNorm(row)
		if err != nil {
			delete(b.pos, id)
			continue
		}
		dst := b.data.row(n)
		for i, x := range row {
			dst[i] = x * inv
		}
		if n != r {
			b.ids[n] = id
			b.pos[id] = int32(n)
		}
		n++
	}
	for i := n; i < len(b.ids); i++ {
		b.ids[i] = ""
	}
	b.data.truncate(n)
	data, ids := b.data, b.ids[:n]
	if cap(ids) != len(ids) {
		ids = append(make([]string, 0, len(ids)), ids...)
	}
	ix := &Index{dim: d, keyedRows: keyedRows{data: data, ids: ids, pos: b.pos}}
	*b = Builder{dim: d, keyedRows: newKeyedRows(d, 0)}
	return ix
}
