// Package fingerprint identifies recordings by their Chromaprint audio
// fingerprint: it decodes fingerprints as fpcalc prints them, compares two
// fingerprints by their share of agreeing bits at the best alignment, and
// finds, among many indexed songs, those a fingerprint matches. It has no
// dependency besides the standard library and the module's
// internal/parallel loop, and no cgo.
//
// # Decoding
//
// Decode reads the compressed form fpcalc prints (URL-safe base64 of a
// 4-byte header and bit-packed XOR deltas), DecodeDefault also refuses
// fingerprints of another algorithm than fpcalc's default, FromRaw,
// FromRawFloat and ParseRaw read the integers of `fpcalc -raw` (signed or
// unsigned), Encode writes the compressed form byte for byte as fpcalc
// does. A bad fingerprint gives an error wrapping ErrEmpty, ErrBase64,
// ErrHeader, ErrAlgorithm, ErrTruncated, ErrCorrupt, ErrRaw or ErrTooLong,
// whose message says what is wrong (fit for a 400 naming the field).
//
// # Comparing
//
// A sub-fingerprint ("item") covers 1365 samples at 11,025 Hz: about 8.08
// items per second (ItemsPerSecond). Params.Compare slides one fingerprint
// along the other by up to MaxOffset seconds each way and returns, for the
// shift with the most agreeing bits among those overlapping at least
// MinOverlap seconds, the Similarity: Score (share of agreeing bits),
// Overlap (seconds compared) and Offset. Positions where both are digital
// silence are left out. Params.Match adds the duration check and the score
// threshold.
//
// # Thresholds
//
// DefaultParams: a match needs Score ≥ 0.80, an overlap of 20 s (or 80%
// of the shorter fingerprint), a shift of at most ±10 s and durations
// within 7 s. On the real corpus in testdata (12 recordings × 5 copies:
// MP3 128 kbit/s, MP3 64 kbit/s mono, AAC, trimmed by 3 s, 6 dB quieter,
// plus 29 more recordings) every copy agrees with every other copy of its
// recording on ≥ 95.9% of bits, and no two different recordings with
// durations within 7 s agree on more than 65.2% (two jingles of 5 and 8 s);
// 0.80 sits in the middle of that gap, with 0.15 of margin each way.
// README.md in this directory gives the measurements and the reasons for
// each value.
//
// # Index
//
// An Index keeps in memory only a sketch of each song: up to SketchSize
// (24) terms, each a sub-fingerprint reduced to its 24 most stable bits,
// taken where the sound holds still, spread over the song (SketchOf). A
// lookup takes every term of the query, counts for each song how many of
// its terms the query has, and fully compares the songs with the most
// (at least 2, at most 16, durations within 7 s), reading their full
// fingerprints through the Store the caller provides (the service reads
// them from SQLite; MemStore keeps them in a map). Every song that
// matches is returned, best first: more than one means ambiguity, which
// the caller reports.
//
// Costs at 1M songs (BENCHMARKS.md has the figures and how they were
// measured): 123 bytes of memory per song (4 per term, 8 for the id, 2 for
// the duration, ~8 for the id table, ~8 for the term directory), against a
// budget of 300; 1,000 lookups in ~90 ms of CPU; a Builder builds the index
// from stored sketches in ~1.2 s, from compressed fingerprints (decoded on
// every core) in ~13 s on the shared 2-core machine. Per song on disk the
// caller keeps the fingerprint (about 2.5 KB for fpcalc's 120 s as text,
// 1.9 KB as bytes) and may keep the sketch (96 bytes) to build the index
// at start-up without reading whole fingerprints.
package fingerprint
