package storage

import (
	"github.com/pocketbase/dbx"
)

// Pragmas are PocketBase's defaults with two changes: secure_delete
// overwrites deleted content (a deleted row does not linger in free pages
// of data.db or auxiliary.db), and synchronous=FULL makes an acknowledged
// write durable on power loss, not only on a process crash.
const Pragmas = "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=journal_size_limit(0)" +
	"&_pragma=synchronous(FULL)&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32000)" +
	"&_pragma=secure_delete(ON)"

// DBConnect opens PocketBase's databases with the service's pragmas. Pass
// it as DBConnect in pocketbase.Config (and core.BaseAppConfig in tests).
func DBConnect(dbPath string) (*dbx.DB, error) {
	return dbx.Open("sqlite", dbPath+Pragmas)
}

// MaxReadConns bounds PocketBase's pool of reading connections to data.db
// (its default is 120). Each connection keeps its own page cache of up to
// 32 MB: with 100 clients looking songs up at once, 100 connections held
// over 3 GB and SQLite began to fail lookups with "out of memory" (1M-song
// mixed load, BENCHMARKS.md). On a 2-core server more than a few dozen
// concurrent readers only queue for the CPU anyway; the others wait for a
// connection in Go.
const MaxReadConns = 16
