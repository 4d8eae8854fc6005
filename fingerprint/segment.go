package fingerprint

import "slices"

// segment is the immutable bulk of an Index: postings grouped by bucket
// (the top bits of the term), post[dir[b]:dir[b+1]] for bucket b.
type segment struct {
	dir  []uint32
	post []uint32
}

// delta holds the terms of recently added songs until the next merge: an
// open-addressing hash table of term<<32 | slot+1 (0 is empty), several
// entries per term allowed, at most half full.
type delta struct {
	ent []uint64
	n   int
}

func newDelta(n int) *delta {
	c := 64
	for c < 2*n {
		c *= 2
	}
	return &delta{ent: make([]uint64, c)}
}

func (d *delta) insert(t, slot uint32) {
	if 2*(d.n+1) > len(d.ent) {
		old := d.ent
		d.ent = make([]uint64, 2*len(old))
		for _, e := range old {
			if e != 0 {
				d.put(e)
			}
		}
	}
	d.put(uint64(t)<<32 | uint64(slot+1))
	d.n++
}

func (d *delta) put(e uint64) {
	mask := len(d.ent) - 1
	for i := int(uint32(e>>32)) & mask; ; i = (i + 1) & mask {
		if d.ent[i] == 0 {
			d.ent[i] = e
			return
		}
	}
}

// lookup appends the live slots of term t to hits.
func (d *delta) lookup(hits []uint32, t uint32, dead []uint64) []uint32 {
	if d.n == 0 {
		return hits
	}
	mask := len(d.ent) - 1
	for i := int(t) & mask; ; i = (i + 1) & mask {
		e := d.ent[i]
		if e == 0 {
			return hits
		}
		if uint32(e>>32) == t {
			if s := uint32(e) - 1; dead[s/64]&(1<<(s%64)) == 0 {
				hits = append(hits, s)
			}
		}
	}
}

// mergeSegment returns old plus the postings of d, without those of the
// slots set in gone.
func mergeSegment(old *segment, d *delta, gone []uint64, shift uint) *segment {
	type bp struct{ bucket, post uint32 }
	add := make([]bp, 0, d.n)
	for _, e := range d.ent {
		if e == 0 {
			continue
		}
		t, s := uint32(e>>32), uint32(e)-1
		if int(s/64) < len(gone) && gone[s/64]&(1<<(s%64)) != 0 {
			continue
		}
		add = append(add, bp{t >> shift, s<<checkBits | t&checkMask})
	}
	slices.SortFunc(add, func(a, b bp) int { return int(a.bucket) - int(b.bucket) })

	nb := len(old.dir) - 1
	seg := &segment{dir: make([]uint32, nb+1), post: make([]uint32, 0, len(old.post)+len(add))}
	j := 0
	for b := range nb {
		seg.dir[b] = uint32(len(seg.post))
		for _, p := range old.post[old.dir[b]:old.dir[b+1]] {
			if s := p >> checkBits; int(s/64) < len(gone) && gone[s/64]&(1<<(s%64)) != 0 {
				continue
			}
			seg.post = append(seg.post, p)
		}
		for ; j < len(add) && add[j].bucket == uint32(b); j++ {
			seg.post = append(seg.post, add[j].post)
		}
	}
	seg.dir[nb] = uint32(len(seg.post))
	if cap(seg.post)-len(seg.post) > len(seg.post)/8 {
		seg.post = slices.Clip(slices.Clone(seg.post))
	}
	return seg
}

// idTable maps ids to slots: open addressing with linear probing over
// slot+1 (0 is empty), at most half full, keys read from ids[slot].
type idTable struct {
	slots []uint32
	n     int
}

func idHash(id int64) uint64 {
	x := uint64(id)
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

func (t *idTable) find(ids []int64, id int64) (pos int, found bool) {
	mask := len(t.slots) - 1
	for i := int(idHash(id)) & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return i, false
		}
		if ids[s-1] == id {
			return i, true
		}
	}
}

func (t *idTable) insert(ids []int64, id int64, slot uint32) {
	if 2*(t.n+1) > len(t.slots) {
		old := t.slots
		t.slots = make([]uint32, max(64, 2*len(old)))
		for _, s := range old {
			if s != 0 {
				pos, _ := t.find(ids, ids[s-1])
				t.slots[pos] = s
			}
		}
	}
	pos, found := t.find(ids, id)
	if !found {
		t.n++
	}
	t.slots[pos] = slot + 1
}

// reserve makes room for n ids without growing again.
func (t *idTable) reserve(n int) {
	if t.n == 0 {
		c := 64
		for c < 2*n {
			c *= 2
		}
		t.slots = make([]uint32, c)
	}
}

func (t *idTable) remove(ids []int64, id int64) (uint32, bool) {
	if len(t.slots) == 0 {
		return 0, false
	}
	pos, found := t.find(ids, id)
	if !found {
		return 0, false
	}
	slot := t.slots[pos] - 1
	// Backward-shift deletion: move later entries of the probe run into
	// the hole when their home position allows it.
	mask := len(t.slots) - 1
	hole := pos
	for i := (pos + 1) & mask; t.slots[i] != 0; i = (i + 1) & mask {
		home := int(idHash(ids[t.slots[i]-1])) & mask
		if (i-home)&mask >= (i-hole)&mask {
			t.slots[hole] = t.slots[i]
			hole = i
		}
	}
	t.slots[hole] = 0
	t.n--
	return slot, true
}
