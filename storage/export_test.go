package storage

import (
	"time"

	"github.com/pocketbase/pocketbase/core"
)

// RewriteBelow exposes the size under which data.db is rewritten after
// every contribution (layout.go) to the layout test.
const RewriteBelow = rewriteBelow

// The reserve's bounds, for the reserve test.
const ReserveLow, ReserveTarget = reserveLow, reserveTarget

// LayoutState exposes the layout's rewrite state: rewrites run, whether a
// background rewrite is scheduled, the last one's duration, when it is due.
func LayoutState(app core.App) (rewrites int, pending bool, took time.Duration, due time.Time) {
	return layoutOf(app).state()
}

// SetLayoutRewrite sets the longest background rewrite and the duty factor
// of an app's layout (tests: a rewrite on a loaded machine may take longer
// than rewriteMaxPause, which would end the background rewrites).
func SetLayoutRewrite(app core.App, maxPause time.Duration, duty int) {
	l := layoutOf(app)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maxPause, l.duty = maxPause, time.Duration(duty)
}

// CommitGroups counts the commit groups a journal has finished.
func CommitGroups(j *Journal) uint64 {
	j.group.mu.Lock()
	defer j.group.mu.Unlock()
	return j.group.done
}

// GroupClosing reports a group in which a member has committed.
func GroupClosing(j *Journal) bool {
	j.group.mu.Lock()
	defer j.group.mu.Unlock()
	return j.group.closing
}

// UsedBytes exposes the size of data.db's pages in use (layout.go).
func UsedBytes(app core.App) (int64, error) { return usedBytes(app) }
