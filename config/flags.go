package config

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

// retentionFlag is a pflag.Value for --log-retention.
type retentionFlag struct{ d *time.Duration }

func (f retentionFlag) String() string { return FormatRetention(*f.d) }
func (f retentionFlag) Type() string   { return "duration" }
func (f retentionFlag) Set(v string) error {
	d, err := ParseRetention(v)
	if err != nil {
		return err
	}
	*f.d = d
	return nil
}

// ipModeFlag is a pflag.Value for --log-ip.
type ipModeFlag struct{ s *string }

func (f ipModeFlag) String() string { return *f.s }
func (f ipModeFlag) Type() string   { return "mode" }
func (f ipModeFlag) Set(v string) error {
	switch v {
	case "full", "truncated", "none":
		*f.s = v
		return nil
	}
	return fmt.Errorf("%q: use truncated, full or none", v)
}

// AddFlags adds the service's command-line flags (they override the
// environment): --log-retention and --log-ip.
func AddFlags(fs *pflag.FlagSet, cfg *Config) {
	fs.Var(retentionFlag{&cfg.LogRetention}, "log-retention",
		"how long request logs are kept: a duration of at least 1h, or 0 for none (env SONGCOMMONS_LOG_RETENTION)")
	fs.Var(ipModeFlag{&cfg.IPMode}, "log-ip", "how client IPs are logged: truncated, full or none (env SONGCOMMONS_LOG_IP)")
}
