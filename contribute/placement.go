package contribute

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/pocketbase/pocketbase/core"
)

// Contributed rows take random SQLite rowids, on every path: SQLite would
// otherwise number rows in insertion order, so the rows of one upload
// would sit together in the table and line up with an account's activity.
// The bulk paths insert each row at a random rowid; a row saved through
// PocketBase's record pipeline is moved to one right after its insert, in
// the same transaction (PlaceRecord).

// RandomRowid returns a uniformly random positive 63-bit rowid.
func RandomRowid() int64 {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return int64(binary.LittleEndian.Uint64(b[:])>>1) | 1
}

// PlaceRecord moves a contributed record, just inserted, to a random rowid.
func PlaceRecord(app core.App, r *core.Record) error {
	return randomizeRowid(app, r.Collection().Name, r.Id)
}

// randomizeRowid moves the row with the given id to a random rowid.
func randomizeRowid(app core.App, table, id string) error {
	var err error
	for range 4 { // a collision is ~n/2^63: retry, never expected in practice
		_, err = app.DB().NewQuery("UPDATE {{" + table + "}} SET rowid = {:r} WHERE [[id]] = {:id}").
			Bind(map[string]any{"r": RandomRowid(), "id": id}).Execute()
		if err == nil || !strings.Contains(err.Error(), "UNIQUE") {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("randomising the rowid of a %s row: %w", table, err)
	}
	return nil
}
