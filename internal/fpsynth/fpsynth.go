// Package fpsynth makes synthetic Chromaprint fingerprints for tests and
// benchmarks at scales no real corpus reaches: the fingerprint package's
// tests and benchmarks, and the load generator's songs (internal/synth).
// It imports nothing of the service, so that the fingerprint package's own
// tests can use it.
package fpsynth

import "math/rand/v2"

// Items returns a synthetic fingerprint of n items that looks like
// Chromaprint's output to the index: random 32-bit items in which each bit
// flips from one item to the next with probability 1/8, so consecutive
// items differ by 4 bits on average as in the real corpus (mean 4.01). It
// has no silence and none of real music's common values.
func Items(rng *rand.Rand, n int) []uint32 {
	fp := make([]uint32, n)
	x := rng.Uint32()
	for i := range fp {
		fp[i] = x
		x ^= rng.Uint32() & rng.Uint32() & rng.Uint32() // each bit set with probability 1/8
	}
	return fp
}

// Flips returns a mask in which each bit is set with probability p.
func Flips(rng *rand.Rand, p float64) uint32 {
	var m uint32
	for b := range 32 {
		if rng.Float64() < p {
			m |= 1 << b
		}
	}
	return m
}

// Noisy returns a copy of fp without its first trim items (a copy trimmed
// at the start) in which every bit flips with probability ber.
func Noisy(rng *rand.Rand, fp []uint32, ber float64, trim int) []uint32 {
	out := make([]uint32, len(fp)-trim)
	for i := range out {
		out[i] = fp[i+trim] ^ Flips(rng, ber)
	}
	return out
}

// NewRand returns the generator the tests seed with one number.
func NewRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed+1)) }
