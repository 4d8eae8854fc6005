package testsupport

import (
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// CountRows counts the rows of a table of data.db.
func CountRows(t testing.TB, app core.App, table string) int {
	t.Helper()
	var n int
	if err := app.DB().NewQuery(fmt.Sprintf("SELECT COUNT(*) FROM %q", table)).Row(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TableRows lists a table's rows as "column=value|…" strings, sorted,
// without the named columns (those that differ between two copies of the
// same data: random ids, receipt tags).
func TableRows(t testing.TB, app core.App, table string, without ...string) []string {
	t.Helper()
	rows, err := app.DB().NewQuery("SELECT * FROM " + table).Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i, c := range cols {
			if !slices.Contains(without, c) {
				fmt.Fprintf(&b, "%s=%v|", c, vals[i])
			}
		}
		out = append(out, b.String())
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// Column returns the non-empty values of one column of a table.
func Column(t testing.TB, app core.App, table, col string) []string {
	t.Helper()
	var out []sql.NullString
	if err := app.DB().NewQuery("SELECT " + col + " FROM " + table).Column(&out); err != nil {
		t.Fatal(err)
	}
	s := make([]string, 0, len(out))
	for _, v := range out {
		if v.String != "" {
			s = append(s, v.String)
		}
	}
	return s
}

// WaitForLogs flushes the request logs PocketBase writes in the background
// (every 3 s) by waiting for them to appear in auxiliary.db.
func WaitForLogs(t testing.TB, app core.App) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var n int
		_ = app.AuxDB().NewQuery("SELECT COUNT(*) FROM _logs").Row(&n)
		if n > 0 {
			time.Sleep(3500 * time.Millisecond) // one more flush period for stragglers
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("no request logs were written within 10 s")
}
