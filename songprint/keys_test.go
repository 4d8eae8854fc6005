package songprint

import (
	"fmt"
	"strings"
	"testing"
)

// The key table gives each id its key, forgets removed ones, counts its
// memory, and keeps every live key when it folds its changes into the
// sorted ids and a new slab.
func TestKeyTable(t *testing.T) {
	t.Parallel()
	kt := newKeyTable(4)
	kt.load(1, []byte("a|one"))
	kt.load(5, []byte("e|five"))
	kt.load(3, []byte("c|three")) // out of order: kept as a change
	kt.set(2, []byte("b|two"))
	kt.set(1, []byte("a|uno"))
	kt.remove(5)
	kt.remove(9)
	if got := kt.get([]int64{1, 2, 3, 5, 9}); strings.Join(got, ",") != "a|uno,b|two,c|three,," {
		t.Errorf("get = %q", got)
	}
	if kt.memoryBytes() < len("a|onee|fivec|threeb|twoa|uno") {
		t.Errorf("memory %d bytes", kt.memoryBytes())
	}
	kt.set(4, []byte(strings.Repeat("x", maxKeyLen+1)))
	if got := kt.get([]int64{4}); got[0] != "" {
		t.Errorf("a key longer than %d bytes is kept", maxKeyLen)
	}

	// 3,000 keys written three times: the changes are folded on the way
	key := func(id, round int) string { return fmt.Sprintf("artist %d|title %d, round %d", id, id, round) }
	ids := make([]int64, 3000)
	for round := range 3 {
		for i := range ids {
			ids[i] = int64(100 + 7*i)
			kt.set(ids[i], []byte(key(i, round)))
		}
	}
	if len(kt.over) >= 3000 || len(kt.ids) < 1000 {
		t.Errorf("%d changes over %d sorted ids: not folded", len(kt.over), len(kt.ids))
	}
	if len(kt.slab) > 2*3000*len(key(2999, 2)) {
		t.Errorf("slab of %d bytes: the replaced keys were not dropped", len(kt.slab))
	}
	for i, k := range kt.get(ids) {
		if k != key(i, 2) {
			t.Fatalf("key of %d: %q", ids[i], k)
		}
	}
	if got := kt.get([]int64{1, 2, 3, 5}); strings.Join(got, ",") != "a|uno,b|two,c|three," {
		t.Errorf("the first keys after the folds: %q", got)
	}
}
