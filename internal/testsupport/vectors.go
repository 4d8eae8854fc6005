package testsupport

import "math"

// Vector is a deterministic test vector of n positive values (no two
// seeds far apart give the same vector).
func Vector(n int, seed float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(int((seed*7919+float64(i)*104729))%1000)/1000 + 0.0001
	}
	return v
}

// VariedVector is a deterministic test vector whose values have varied
// signs and magnitudes (every 17th is a thousand times smaller).
func VariedVector(n int, seed float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		x := math.Sin(seed*12.9898+float64(i)*78.233) * 43758.5453
		v[i] = (x-math.Floor(x))*2 - 1
		if i%17 == 0 {
			v[i] *= 1e-3
		}
	}
	return v
}

// Near is base plus a little of another vector: a neighbour of base.
func Near(base []float64, seed, mix float64) []float64 {
	o := Vector(len(base), seed)
	v := make([]float64, len(base))
	for i := range v {
		v[i] = base[i]*(1-mix) + o[i]*mix
	}
	return v
}
