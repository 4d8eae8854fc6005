// Package storage holds the service's SQLite operations: the connection
// pragmas (DBConnect), the journal discipline that keeps account writes
// and contribution writes apart in every file (Journal), the file layout
// that keeps an upload's rows apart (layout), the background checkpoints,
// the nightly compaction and its swap at start-up, compacted backups and
// the data dir's permissions; and the helpers the write path shares
// (chunked IN queries, a shuffle driven by crypto/rand).
package storage
