//go:build unix

package storage

import "syscall"

// The free-space check of the compaction, where the platform has statfs
// (elsewhere the check is skipped, and a full disk makes VACUUM INTO fail
// cleanly: the partial snapshot is removed and data.db is untouched).
func init() {
	freeSpace = func(dir string) (int64, bool) {
		var st syscall.Statfs_t
		if err := syscall.Statfs(dir, &st); err != nil {
			return 0, false
		}
		return int64(st.Bavail) * int64(st.Bsize), true
	}
}
