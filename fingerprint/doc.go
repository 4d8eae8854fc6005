// Package fingerprint identifies recordings by their Chromaprint audio
// fingerprint: it decodes fingerprints as fpcalc prints them, compares two
// fingerprints by their bit error rate at the best alignment, and finds, in
// an index of many songs, the ones a fingerprint matches.
package fingerprint
