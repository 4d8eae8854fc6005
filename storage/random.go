package storage

import (
	"crypto/rand"
	"encoding/binary"
)

// Shuffle is a Fisher–Yates shuffle driven by crypto/rand.
func Shuffle[T any](s []T) {
	var b [8]byte
	for i := len(s) - 1; i > 0; i-- {
		_, _ = rand.Read(b[:])
		j := int(binary.LittleEndian.Uint64(b[:]) % uint64(i+1))
		s[i], s[j] = s[j], s[i]
	}
}
