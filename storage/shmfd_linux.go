package storage

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// zeroBeyondWithSQLitesFD zeroes the bytes of the file at path from
// offset on, through the descriptor SQLite itself holds open on it (found
// in /proc/self/fd). Opening and closing a descriptor of our own would
// not do: closing any descriptor of a file drops every POSIX lock the
// process holds on it, SQLite's lock on the WAL index among them, and the
// next process to open the database would then reinitialise the index
// under the running server. It reports false when SQLite holds no
// descriptor on path (no shared WAL index open in this process).
func zeroBeyondWithSQLitesFD(path string, offset int64) (bool, error) {
	want, err := filepath.Abs(path)
	if err != nil {
		return false, err
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil || target != want {
			continue
		}
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil {
			return false, err
		}
		if st.Size <= offset {
			return true, nil
		}
		buf := make([]byte, st.Size-offset)
		if _, err := syscall.Pread(fd, buf, offset); err != nil {
			return true, err
		}
		dirty := false
		for _, b := range buf {
			if b != 0 {
				dirty = true
				break
			}
		}
		if !dirty {
			return true, nil
		}
		clear(buf)
		_, err = syscall.Pwrite(fd, buf, offset)
		return true, err
	}
	return false, nil
}
