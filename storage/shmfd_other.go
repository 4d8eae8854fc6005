//go:build !linux

package storage

// zeroBeyondWithSQLitesFD is not available here (it needs /proc/self/fd):
// the WAL index keeps SQLite's own contents (README).
func zeroBeyondWithSQLitesFD(path string, offset int64) (bool, error) { return false, nil }
