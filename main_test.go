package main

import (
	"os"
	"testing"

	"github.com/pocketbase/pocketbase"
)

// PocketBase turns dev mode on by itself for binaries in the temp folder
// (go run, go test), and dev mode prints every SQL statement with its
// values, user ids next to inserted songs. songcommons keeps it off unless
// --dev is given.
func TestDevModeOnlyWithFlag(t *testing.T) {
	if !pocketbase.New().IsDev() {
		t.Log("note: this test binary is not in the temp folder, so stock PocketBase would not turn dev mode on here either")
	}
	cases := []struct {
		args []string
		dev  bool
	}{
		{[]string{"songcommons", "serve"}, false},
		{[]string{"songcommons", "serve", "--http", "127.0.0.1:0"}, false},
		{[]string{"songcommons", "serve", "--dev"}, true},
		{[]string{"songcommons", "--dev", "serve"}, true},
	}
	saved := os.Args
	defer func() { os.Args = saved }()
	for _, c := range cases {
		os.Args = c.args // PocketBase parses --dev from os.Args
		app, err := newApp()
		if err != nil {
			t.Fatal(err)
		}
		if app.IsDev() != c.dev {
			t.Errorf("%v: IsDev() = %v, want %v", c.args, app.IsDev(), c.dev)
		}
	}
}
