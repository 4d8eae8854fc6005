package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pocketbase/dbx"

	"songcommons/hooks"
)

// cmdVacuumExp: VACUUM INTO a new file (no WAL traffic, the source stays
// readable) on one plain connection with the service's pragmas: the cost of
// a compaction done as "VACUUM INTO + swap" instead of an in-place VACUUM.
func cmdVacuumExp(args []string) error {
	fs := flag.NewFlagSet("vacuumexp", flag.ExitOnError)
	dir := fs.String("dir", "", "pb_data directory")
	into := fs.String("into", "", "output file (deleted afterwards)")
	fs.Parse(args)
	if *dir == "" || *into == "" {
		return errors.New("--dir and --into are required")
	}
	db, err := hooks.DBConnect(filepath.Join(*dir, "data.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	db.DB().SetMaxOpenConns(1)
	stop := make(chan struct{})
	var peak Mem
	go func() {
		tk := time.NewTicker(500 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				if m := readMem(os.Getpid()); m.RSS > peak.RSS {
					peak = m
				}
			}
		}
	}()
	t := time.Now()
	_, err = db.NewQuery("VACUUM INTO {:p}").Bind(dbx.Params{"p": *into}).Execute()
	close(stop)
	fmt.Printf("VACUUM INTO: %s, peak VmRSS %.0f MiB, %s -> %s (err %v)\n", time.Since(t).Round(time.Millisecond), peak.RSS,
		fileSize(filepath.Join(*dir, "data.db")), fileSize(*into), err)
	os.Remove(*into)
	return err
}
