package hooks

import (
	"strings"
	"testing"
)

// readAll reads a body whole whatever length the client announced, with
// no more than readAhead taken before the bytes arrive.
func TestReadAll(t *testing.T) {
	t.Parallel()
	for _, size := range []int{0, 1, 511, 512, 600, readAhead - 1, readAhead, readAhead + 1, 3 << 20} {
		body := strings.Repeat("x", size)
		for _, announced := range []int64{-1, int64(size), int64(size) / 2, int64(size) + 100, 8 << 20} {
			b, err := readAll(strings.NewReader(body), announced)
			if err != nil || string(b) != body {
				t.Fatalf("%d bytes announced as %d: %d bytes read, %v", size, announced, len(b), err)
			}
		}
	}
	if b, _ := readAll(strings.NewReader(""), 8<<20); cap(b) > readAhead {
		t.Errorf("an empty body announced as 8 MB took a buffer of %d bytes", cap(b))
	}
}
