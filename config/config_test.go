package config_test

import (
	"fmt"
	"io"
	"math"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"songcommons/config"
)

// readConfig reads env as the configuration; with wantErr, it checks that
// reading fails with a message containing it, and returns false.
func readConfig(t *testing.T, env map[string]string, wantErr string) (config.Config, bool) {
	t.Helper()
	cfg, err := config.From(func(k string) string { return env[k] })
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("error %v, want one containing %q", err, wantErr)
		}
		return cfg, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return cfg, true
}

func TestConfigAdmissionAndMemoryLimit(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		env     map[string]string
		pending int
		limit   int64
		gomem   string
		err     string
	}{
		{"defaults", nil, config.DefaultMaxPendingUploads, 0, "", ""},
		{"pending 1", map[string]string{"SONGCOMMONS_MAX_PENDING_UPLOADS": "1"}, 1, 0, "", ""},
		{"pending 32", map[string]string{"SONGCOMMONS_MAX_PENDING_UPLOADS": " 32 "}, 32, 0, "", ""},
		{"pending 0", map[string]string{"SONGCOMMONS_MAX_PENDING_UPLOADS": "0"}, 0, 0, "", `SONGCOMMONS_MAX_PENDING_UPLOADS="0": use a whole number of at least 1`},
		{"pending negative", map[string]string{"SONGCOMMONS_MAX_PENDING_UPLOADS": "-3"}, 0, 0, "", "at least 1"},
		{"pending word", map[string]string{"SONGCOMMONS_MAX_PENDING_UPLOADS": "many"}, 0, 0, "", `SONGCOMMONS_MAX_PENDING_UPLOADS="many"`},
		{"limit GiB", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "4GiB"}, 8, 4 << 30, "", ""},
		{"limit MiB lower case", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "512mib"}, 8, 512 << 20, "", ""},
		{"limit GB", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "3GB"}, 8, 3e9, "", ""},
		{"limit g as Docker", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "4g"}, 8, 4 << 30, "", ""},
		{"limit bytes", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "1073741824"}, 8, 1 << 30, "", ""},
		{"limit off", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "off"}, 8, 0, "", ""},
		{"limit 0", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "0"}, 8, 0, "", ""},
		{"limit no number", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "GiB"}, 0, 0, "", `SONGCOMMONS_MEMORY_LIMIT: "GiB" is not a size such as 3GiB`},
		{"limit unknown unit", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "4 gigs"}, 0, 0, "", "is not a size"},
		{"limit fraction", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "1.5GiB"}, 0, 0, "", "is not a size"},
		{"limit negative", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "-1GiB"}, 0, 0, "", "is not a size"},
		{"limit overflow", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "99999999999TiB"}, 0, 0, "", "is not a size"},
		{"limit too small", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "64MiB"}, 0, 0, "", "below the minimum of 128MiB"},
		{"GOMEMLIMIT is kept", map[string]string{"SONGCOMMONS_MEMORY_LIMIT": "4GiB", "GOMEMLIMIT": "2GiB"}, 8, 4 << 30, "2GiB", ""},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d_%s", i, c.name), func(t *testing.T) {
			cfg, ok := readConfig(t, c.env, c.err)
			if !ok {
				return
			}
			if cfg.MaxPendingUploads != c.pending || cfg.MemoryLimit != c.limit || cfg.GoMemLimit != c.gomem {
				t.Fatalf("pending %d, limit %d, GOMEMLIMIT %q", cfg.MaxPendingUploads, cfg.MemoryLimit, cfg.GoMemLimit)
			}
		})
	}
}

// TestApplyMemoryLimit sets a (harmlessly large) process-wide limit and
// restores the previous one; it is not parallel for that reason.
func TestApplyMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(prev)
	if prev != math.MaxInt64 {
		t.Skip("GOMEMLIMIT is set for this test run")
	}
	if config.ApplyMemoryLimit(config.Defaults()) || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Fatal("a limit was set by default")
	}
	if s := config.MemoryLimitSummary(config.Defaults()); !strings.HasPrefix(s, "none") {
		t.Errorf("summary %q", s)
	}

	cfg := config.Defaults()
	cfg.MemoryLimit = 64 << 30
	cfg.GoMemLimit = "48GiB" // the runtime applied it: left alone
	if config.ApplyMemoryLimit(cfg) || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Fatal("SONGCOMMONS_MEMORY_LIMIT overrode GOMEMLIMIT")
	}
	if s := config.MemoryLimitSummary(cfg); !strings.Contains(s, "GOMEMLIMIT=48GiB") || !strings.Contains(s, "SONGCOMMONS_MEMORY_LIMIT=64GiB ignored") {
		t.Errorf("summary %q", s)
	}

	cfg.GoMemLimit = ""
	if !config.ApplyMemoryLimit(cfg) || debug.SetMemoryLimit(-1) != 64<<30 {
		t.Fatalf("limit in force %d, want 64 GiB", debug.SetMemoryLimit(-1))
	}
	if s := config.MemoryLimitSummary(cfg); s != "64GiB (SONGCOMMONS_MEMORY_LIMIT)" {
		t.Errorf("summary %q", s)
	}
	if s := config.FormatBytes(1536 << 20); s != "1.5GiB" {
		t.Errorf("FormatBytes %q", s)
	}
}

func TestConfigSlowClients(t *testing.T) {
	t.Parallel()
	def := config.Defaults()
	cases := []struct {
		name string
		env  map[string]string
		want func(*config.Config)
		err  string
	}{
		{"defaults", nil, func(*config.Config) {}, ""},
		{"slots per client", map[string]string{"SONGCOMMONS_SLOTS_PER_CLIENT": " 3 "}, func(c *config.Config) { c.SlotsPerClient = 3 }, ""},
		{"slots per client 0", map[string]string{"SONGCOMMONS_SLOTS_PER_CLIENT": "0"}, nil, `SONGCOMMONS_SLOTS_PER_CLIENT="0": use a whole number of at least 1`},
		{"body timeout", map[string]string{"SONGCOMMONS_BODY_TIMEOUT": "30s"}, func(c *config.Config) { c.BodyTimeout = 30 * time.Second }, ""},
		{"body timeout too short", map[string]string{"SONGCOMMONS_BODY_TIMEOUT": "10ms"}, nil, `SONGCOMMONS_BODY_TIMEOUT="10ms": use a duration of at least 1s`},
		{"body timeout word", map[string]string{"SONGCOMMONS_BODY_TIMEOUT": "soon"}, nil, `SONGCOMMONS_BODY_TIMEOUT="soon"`},
		{"export timeout", map[string]string{"SONGCOMMONS_EXPORT_TIMEOUT": "6h"}, func(c *config.Config) { c.ExportTimeout = 6 * time.Hour }, ""},
		{"export timeout too short", map[string]string{"SONGCOMMONS_EXPORT_TIMEOUT": "30s"}, nil, "at least 1m0s"},
		{"export rate", map[string]string{"SONGCOMMONS_EXPORT_MIN_RATE": "1MiB"}, func(c *config.Config) { c.ExportMinRate = 1 << 20 }, ""},
		{"export rate too low", map[string]string{"SONGCOMMONS_EXPORT_MIN_RATE": "100"}, nil, `SONGCOMMONS_EXPORT_MIN_RATE="100": use a size per second of at least 1KiB`},
		{"export rate word", map[string]string{"SONGCOMMONS_EXPORT_MIN_RATE": "fast"}, nil, "SONGCOMMONS_EXPORT_MIN_RATE"},
	}
	if def.SlotsPerClient != 2 || def.BodyTimeout != 15*time.Second || def.ExportTimeout != 2*time.Hour ||
		def.ExportMinRate != 32<<10 || def.ExportRateWindow != time.Minute {
		t.Fatalf("defaults %+v", def)
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d_%s", i, c.name), func(t *testing.T) {
			cfg, ok := readConfig(t, c.env, c.err)
			if !ok {
				return
			}
			want := config.Defaults()
			c.want(&want)
			if !reflect.DeepEqual(cfg, want) {
				t.Fatalf("config %+v, want %+v", cfg, want)
			}
		})
	}
}

func TestParseRetention(t *testing.T) {
	t.Parallel()
	for i, c := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{{"72h", 72 * time.Hour, false}, {"1h", time.Hour, false}, {"0", 0, false}, {"90m", 90 * time.Minute, false},
		{"30m", 0, true}, {"-2h", 0, true}, {"three days", 0, true}} {
		t.Run(fmt.Sprintf("%d_%s", i, c.in), func(t *testing.T) {
			d, err := config.ParseRetention(c.in)
			if (err != nil) != c.bad || d != c.want {
				t.Fatalf("ParseRetention(%q)=%v,%v", c.in, d, err)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	t.Parallel()
	cfg := config.Defaults()
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	config.AddFlags(fs, &cfg)
	if err := fs.Parse([]string{"--log-retention=2h", "--log-ip=none"}); err != nil {
		t.Fatal(err)
	}
	if cfg.LogRetention != 2*time.Hour || cfg.IPMode != "none" {
		t.Fatalf("flags not applied: %v %q", cfg.LogRetention, cfg.IPMode)
	}
	for _, bad := range [][]string{{"--log-retention=30m"}, {"--log-ip=partial"}} {
		if err := fs.Parse(bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
