package parallel

import (
	"sync/atomic"
	"testing"
)

func TestForCallsEachIndexOnce(t *testing.T) {
	for _, tc := range []struct{ n, workers int }{{0, 0}, {1, 4}, {7, 1}, {1000, 0}, {1000, 3}, {5, 16}} {
		seen := make([]atomic.Int32, tc.n)
		For(tc.n, tc.workers, func(i int) { seen[i].Add(1) })
		for i := range seen {
			if got := seen[i].Load(); got != 1 {
				t.Fatalf("n=%d workers=%d: index %d called %d times", tc.n, tc.workers, i, got)
			}
		}
	}
}

func TestForOneWorkerRunsInOrder(t *testing.T) {
	var order []int
	For(5, 1, func(i int) { order = append(order, i) })
	for i, v := range order {
		if v != i {
			t.Fatalf("order %v", order)
		}
	}
	if len(order) != 5 {
		t.Fatalf("order %v", order)
	}
}
