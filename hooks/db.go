package hooks

import (
	"github.com/pocketbase/dbx"
)

// sqlitePragmas are PocketBase's defaults with two changes: secure_delete
// overwrites deleted content (a deleted row does not linger in free pages
// of data.db or auxiliary.db), and synchronous=FULL makes an acknowledged
// write durable on power loss, not only on a process crash.
const sqlitePragmas = "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=journal_size_limit(200000000)" +
	"&_pragma=synchronous(FULL)&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32000)" +
	"&_pragma=secure_delete(ON)"

// DBConnect opens PocketBase's databases with the service's pragmas. Pass
// it as DBConnect in pocketbase.Config (and core.BaseAppConfig in tests).
func DBConnect(dbPath string) (*dbx.DB, error) {
	return dbx.Open("sqlite", dbPath+sqlitePragmas)
}
