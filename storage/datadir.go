package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// privateUmask makes the files and directories this process creates from
// now on readable by its own user only, where the platform has a umask
// (datadir_unix.go); elsewhere it does nothing.
var privateUmask = func() {}

// PrivateDataDir keeps the data dir to the service's own user: pb_data holds
// the accounts, the dataset and the request logs (with IPs), which other
// users of the machine must not read. It sets the process umask to 077, so
// that everything created from then on (the data dir, SQLite's databases,
// WAL and shared-memory files, backups, compaction snapshots, exported
// dumps, rejects files) is 0600 and directories 0700, whoever creates it
// (PocketBase, SQLite or this service); and it takes the group and other
// permissions off what already exists in dir (a data dir made by an older
// version). Call it before the app opens its databases.
//
// An error names what could not be made private (a file of another user,
// say); the new files are private all the same, so the caller may warn and
// go on.
func PrivateDataDir(dir string) error {
	privateUmask()
	var failed []error
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil // not ours to change
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			if err := os.Chmod(path, perm&^0o077); err != nil {
				failed = append(failed, err)
			}
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		err = nil // PocketBase creates it (under the umask above)
	}
	if err = errors.Join(append(failed, err)...); err != nil {
		return fmt.Errorf("the data dir is readable by other users of this machine: %w", err)
	}
	return nil
}
