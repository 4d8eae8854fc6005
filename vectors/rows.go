package vectors

import "math"

// blockRows is the number of rows in one block of a matrix (a multiple of
// chunkRows, so that no Gemv chunk of a search crosses a block).
const blockRows = 1 << 16

// matrix holds rows of dim float32s in blocks of blockRows rows; every
// block but the last is full. Adding a row never moves more than the last
// block: one contiguous slice for the whole index used to grow by copying
// all of it (0.9 GB at 1.1M×200), which held the index's write lock and
// stalled the garbage collector for 4 s (BENCHMARKS.md, "Analyses").
type matrix struct {
	dim    int
	n      int
	blocks [][]float32 // blocks[i] holds rows [i*blockRows, (i+1)*blockRows)
}

// newMatrix returns an empty matrix with room for capRows rows (exact: a
// matrix filled to capRows rows has no spare capacity).
func newMatrix(dim, capRows int) matrix {
	m := matrix{dim: dim}
	for left := capRows; left > 0; left -= blockRows {
		m.blocks = append(m.blocks, make([]float32, 0, min(left, blockRows)*dim))
	}
	return m
}

// row returns row r (0 <= r < n), aliasing the matrix.
func (m *matrix) row(r int) []float32 {
	b, i := r/blockRows, r%blockRows
	return m.blocks[b][i*m.dim : (i+1)*m.dim]
}

// span returns rows [r0, r0+c) as one slice; they must lie in one block.
func (m *matrix) span(r0, c int) []float32 {
	b, i := r0/blockRows, r0%blockRows
	return m.blocks[b][i*m.dim : (i+c)*m.dim]
}

// add appends a zeroed row and returns its index.
func (m *matrix) add() int {
	b := m.n / blockRows
	if b == len(m.blocks) {
		m.blocks = append(m.blocks, nil)
	}
	blk := m.blocks[b]
	if need := len(blk) + m.dim; need <= cap(blk) {
		m.blocks[b] = blk[:need]
		clear(m.blocks[b][len(blk):])
	} else {
		// the last block grows geometrically up to its full size
		c := min(max(2*cap(blk), 16*m.dim), blockRows*m.dim)
		nb := make([]float32, need, c)
		copy(nb, blk)
		m.blocks[b] = nb
	}
	m.n++
	return m.n - 1
}

// dropLast removes the last row; a block left empty is released.
func (m *matrix) dropLast() {
	m.n--
	b, i := m.n/blockRows, m.n%blockRows
	if i == 0 {
		m.blocks[b] = nil
		m.blocks = m.blocks[:b]
		return
	}
	m.blocks[b] = m.blocks[b][:i*m.dim]
}

// truncate keeps the first n rows (n <= m.n) and gives the last block
// kept an exact capacity (one copy of at most one block).
func (m *matrix) truncate(n int) {
	nb := (n + blockRows - 1) / blockRows
	clear(m.blocks[nb:])
	m.blocks = m.blocks[:nb]
	if nb > 0 {
		blk := m.blocks[nb-1][:(n-(nb-1)*blockRows)*m.dim]
		if cap(blk) != len(blk) {
			blk = append(make([]float32, 0, len(blk)), blk...)
		}
		m.blocks[nb-1] = blk
	}
	m.n = n
}

// capFloats is the number of float32s allocated.
func (m *matrix) capFloats() int {
	n := 0
	for _, b := range m.blocks {
		n += cap(b)
	}
	return n
}

// keyedRows is a matrix whose rows belong to ids: row i is ids[i]'s, and pos
// maps an id back to its row. Index and Builder each keep one.
type keyedRows struct {
	data matrix // data.n == len(ids); row i is data.row(i)
	ids  []string
	pos  map[string]int32
}

// newKeyedRows returns empty keyed rows with room for capRows rows.
func newKeyedRows(dim, capRows int) keyedRows {
	return keyedRows{data: newMatrix(dim, capRows), ids: make([]string, 0, capRows), pos: make(map[string]int32, capRows)}
}

// rowOf returns id's row, appending a zeroed row for a new id; ok is false
// when a new row would pass the int32 row numbers (nothing is changed then).
func (k *keyedRows) rowOf(id string) (r int, ok bool) {
	if r, ok := k.pos[id]; ok {
		return int(r), true
	}
	if len(k.ids) >= math.MaxInt32 {
		return 0, false
	}
	r = k.data.add()
	k.ids = append(k.ids, id)
	k.pos[id] = int32(r)
	return r, true
}
