package storage

import (
	"archive/zip"
	"compress/flate"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/filesystem"
)

// backupSkip are the data dir's files a backup never copies as they are:
// the request logs (they would outlive the log window), and data.db with
// its WAL and shared memory, whose layout groups the rows written since
// the last compaction; the backup holds a compacted copy of data.db
// instead.
var backupSkip = []string{"auxiliary.db", "auxiliary.db-wal", "auxiliary.db-shm", "data.db", "data.db-wal", "data.db-shm"}

// BindBackups makes every backup (PocketBase's scheduled ones, and those
// made in the dashboard) a compacted copy: data.db is written with VACUUM
// INTO (every table in b-tree order, random for contributed rows, no free
// pages, no WAL), like the nightly compaction, and zipped with the rest of
// the data dir except the request logs. Restoring works as with
// PocketBase's own backups. Unlike PocketBase's, it does not block writes
// while it runs; it reads one consistent snapshot.
func BindBackups(app core.App) {
	app.OnBackupCreate().BindFunc(func(e *core.BackupEvent) error {
		if e.Name == "" {
			e.Name = "pb_backup_" + time.Now().UTC().Format("20060102150405") + ".zip"
		}
		tmp := filepath.Join(e.App.DataDir(), core.LocalTempDirName)
		if err := os.MkdirAll(tmp, 0o700); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		work, err := os.MkdirTemp(tmp, "backup_")
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		defer os.RemoveAll(work)
		snap := filepath.Join(work, "data.db")
		if _, err := e.App.DB().NewQuery("VACUUM INTO {:out}").Bind(dbx.Params{"out": snap}).Execute(); err != nil {
			return fmt.Errorf("backup: compacted copy of data.db: %w", err)
		}
		zipPath := filepath.Join(work, "backup.zip")
		skip := append(append([]string{}, e.Exclude...), backupSkip...)
		if err := zipDataDir(zipPath, e.App.DataDir(), skip, map[string]string{"data.db": snap}); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		fsys, err := e.App.NewBackupsFilesystem()
		if err != nil {
			return err
		}
		defer fsys.Close()
		fsys.SetContext(e.Context)
		file, err := filesystem.NewFileFromPath(zipPath)
		if err != nil {
			return err
		}
		file.OriginalName, file.Name = e.Name, e.Name
		return fsys.UploadFile(file, file.Name)
	})
}

// zipDataDir writes a zip of dir, leaving out the names in skip (a file,
// or a folder with everything in it, relative to dir; compaction
// snapshots too) and adding the files of extra under their zip names.
func zipDataDir(dest, dir string, skip []string, extra map[string]string) error {
	out, err := os.OpenFile(dest, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(out)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) { return flate.NewWriter(w, flate.BestSpeed) })
	add := func(name, path string) error {
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		info, err := f.Stat()
		if err != nil {
			return err
		}
		h, err := zip.FileInfoHeader(info)
		if err != nil {
			return err
		}
		h.Name, h.Method = name, zip.Deflate
		w, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		_, err = io.Copy(w, f)
		return err
	}
	skipped := func(name string) bool {
		if strings.HasPrefix(name, "data.db"+CompactSuffix) {
			return true
		}
		for _, s := range skip {
			if name == s || strings.HasPrefix(name, filepath.Clean(s)+"/") {
				return true
			}
		}
		return false
	}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name, err := filepath.Rel(dir, path)
		if err != nil || name == "." {
			return err
		}
		name = filepath.ToSlash(name)
		if skipped(name) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return add(name, path)
	})
	for name, path := range extra {
		if err == nil {
			err = add(name, path)
		}
	}
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
