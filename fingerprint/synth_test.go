package fingerprint

import (
	"math/rand/v2"

	"songcommons/internal/fpsynth"
)

// The synthetic fingerprints of the tests and benchmarks (internal/fpsynth,
// shared with the load generator).
func synthFP(rng *rand.Rand, n int) []uint32 { return fpsynth.Items(rng, n) }
func flips(rng *rand.Rand, p float64) uint32 { return fpsynth.Flips(rng, p) }
func noisy(rng *rand.Rand, fp []uint32, ber float64, trim int) []uint32 {
	return fpsynth.Noisy(rng, fp, ber, trim)
}
func newRng(seed uint64) *rand.Rand { return fpsynth.NewRand(seed) }
