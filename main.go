// Command songcommons runs the songcommons service: PocketBase with the
// songcommons collections, hooks, routes and web UI.
package main

import (
	"embed"
	"io/fs"
	"log"
	"os"

	"github.com/pocketbase/pocketbase"
	"github.com/pocketbase/pocketbase/plugins/migratecmd"

	"songcommons/audiomuse"
	"songcommons/config"
	"songcommons/dataset"
	"songcommons/hooks"
	_ "songcommons/migrations"
	"songcommons/storage"
)

//go:embed all:pb_public
var public embed.FS

// newApp builds the app. Dev mode (which prints every SQL statement with
// its values) is off unless --dev is given: PocketBase would otherwise turn
// it on by itself under `go run` and for binaries in the temp folder.
func newApp() (*pocketbase.PocketBase, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, err
	}
	config.ApplyMemoryLimit(cfg) // SONGCOMMONS_MEMORY_LIMIT, unless GOMEMLIMIT is set
	app := pocketbase.NewWithConfig(pocketbase.Config{DefaultDev: false, DBConnect: storage.DBConnect,
		DataMaxOpenConns: storage.MaxReadConns, DataMaxIdleConns: storage.MaxReadConns})
	migratecmd.MustRegister(app, app.RootCmd, migratecmd.Config{Automigrate: false})
	config.AddFlags(app.RootCmd.PersistentFlags(), &cfg)
	// early, like PocketBase's own flags; errors (and -h) are left to cobra,
	// which parses every flag again when it runs the command
	_ = app.RootCmd.ParseFlags(os.Args[1:])
	if err := storage.PrivateDataDir(app.DataDir()); err != nil { // 0700/0600, before anything is written
		log.Printf("songcommons: warning: %v", err)
	}
	if err := storage.FinishCompaction(app.DataDir()); err != nil { // swap in last night's compaction before the DB opens
		return nil, err
	}
	ui, _ := fs.Sub(public, "pb_public")
	hooks.Register(app, cfg, ui)
	app.RootCmd.AddCommand(dataset.NewExportCmd(app), dataset.NewImportCmd(app))
	app.RootCmd.AddCommand(audiomuse.NewCmd())
	return app, nil
}

func main() {
	app, err := newApp()
	if err != nil {
		log.Fatal(err)
	}
	if err := app.Start(); err != nil {
		log.Fatal(err)
	}
	if dataset.CommandFailed() {
		os.Exit(1)
	}
}
