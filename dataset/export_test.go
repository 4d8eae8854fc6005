package dataset

// WriteSynthetic gives the external tests (package dataset_test) the
// synthetic dump writer of the benchmarks.
var WriteSynthetic = writeSynthetic
