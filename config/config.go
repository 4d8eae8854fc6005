// Package config reads the service's settings from the environment (the
// SONGCOMMONS_* variables) and the command line, with their defaults.
package config

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Version of the service, reported by /api/songcommons/status.
const Version = "0.1.0"

// Config is what an operator sets from the environment.
type Config struct {
	// GitHub OAuth2 (sign-in is off when the client id or secret is empty).
	GitHubClientID     string
	GitHubClientSecret string
	// Optional endpoint overrides (GitHub Enterprise, or a local fake in tests).
	GitHubAuthURL     string
	GitHubTokenURL    string
	GitHubUserInfoURL string

	// PublicRead: contributed rows are readable by everyone (default) or
	// only by signed-in users.
	PublicRead bool

	// LogRetention is how long request logs are kept; 0 = no request logs.
	LogRetention time.Duration
	// IPMode is how client IPs are logged: "truncated" (default), "full", "none".
	IPMode string

	// PolicyVersion is the current privacy policy version.
	PolicyVersion int

	// DailyQuota is how many rows (a song's analysis is one, each of its
	// embeddings one more) an account may store per UTC day (0 = no limit).
	DailyQuota int

	// RateLimits: PocketBase's per-IP rate limits (configured by migration,
	// editable in the dashboard) are applied; SONGCOMMONS_RATE_LIMITS=off
	// turns them off for a run (load tests on 127.0.0.1).
	RateLimits bool

	// BackupCron and BackupKeep configure PocketBase's scheduled backups
	// (SONGCOMMONS_BACKUP_CRON, default "0 3 * * *"; "off" disables;
	// SONGCOMMONS_BACKUP_KEEP, default 7).
	BackupCron string
	BackupKeep int

	// ApproxSimilar builds the 1-bit sketches that let /similar answer
	// approximate queries ("approx": true) about twice as fast, with exact
	// re-ranking (SONGCOMMONS_SIMILAR_APPROX=on; off by default: recall was
	// measured on synthetic data only, see vectors/BENCH_NOTES.md).
	ApproxSimilar bool

	// MaxPendingUploads is how many heavy writes (POST /contribute,
	// /api/batch, record creates on score and embedding) are handled at
	// once; the others wait up to UploadWait for a slot, then get 429 with
	// Retry-After before their body is read
	// (SONGCOMMONS_MAX_PENDING_UPLOADS, default 8).
	MaxPendingUploads int
	// UploadWait is how long a heavy write waits for a slot (2 s; tests
	// shorten it).
	UploadWait time.Duration
	// MaxConcurrentReads and ReadWait bound the lookups and similarity
	// searches answered at once (twice the cores), and apart from them the
	// name searches, and how long the others wait for a slot before a 429
	// (30 s); tests shrink them.
	MaxConcurrentReads int
	ReadWait           time.Duration
	// SlotsPerClient is how many slots of each gate (uploads, reads,
	// searches, exports) one client address holds at most: an IPv4 address or an
	// IPv6 /64 (SONGCOMMONS_SLOTS_PER_CLIENT, default 2). Its other
	// requests wait for one of its own slots like any other request.
	SlotsPerClient int
	// BodyTimeout is how long a client may take to send a request body, with
	// as much again for every further MiB it sends (SONGCOMMONS_BODY_TIMEOUT,
	// default 15 s). Bodies are read before a slot is taken; a slower
	// client gets 408 and never holds one.
	BodyTimeout time.Duration

	// ExportTimeout bounds a whole dataset export
	// (SONGCOMMONS_EXPORT_TIMEOUT, default 2 h); ExportMinRate is the
	// slowest transfer an export keeps going for, in bytes per second
	// over every ExportRateWindow (SONGCOMMONS_EXPORT_MIN_RATE, default
	// 32KiB, over 60 s; tests shorten the window). Past either, the
	// transfer is cut and its export slot freed.
	ExportTimeout    time.Duration
	ExportMinRate    int64
	ExportRateWindow time.Duration

	// MemoryLimit is the soft Go memory limit in bytes set at start-up
	// (SONGCOMMONS_MEMORY_LIMIT, e.g. "3GiB"; 0 = none, the default).
	MemoryLimit int64
	// GoMemLimit is GOMEMLIMIT as found in the environment: when set, the
	// Go runtime has applied it and MemoryLimit is ignored.
	GoMemLimit string

	// Quiet keeps start-up notices off the console (tests).
	Quiet bool
}

// Export defaults: a whole dump within 2 hours (1M songs are ~3 GB of
// JSONL, ~1 GB gzip-encoded), at no less than 32 KiB/s over each minute.
const (
	DefaultExportTimeout    = 2 * time.Hour
	DefaultExportMinRate    = 32 << 10
	DefaultExportRateWindow = time.Minute
)

// SignInEnabled reports whether GitHub sign-in is configured.
func (c Config) SignInEnabled() bool {
	return c.GitHubClientID != "" && c.GitHubClientSecret != ""
}

// Defaults returns the configuration used when nothing is set.
func Defaults() Config {
	return Config{PublicRead: true, LogRetention: 72 * time.Hour, IPMode: "truncated", PolicyVersion: 1, DailyQuota: DefaultDailyQuota,
		RateLimits: true, BackupCron: "0 3 * * *", BackupKeep: 7,
		MaxPendingUploads: DefaultMaxPendingUploads, UploadWait: DefaultUploadWait,
		MaxConcurrentReads: DefaultMaxConcurrentReads, ReadWait: DefaultReadWait, SlotsPerClient: DefaultSlotsPerClient,
		BodyTimeout: DefaultBodyTimeout, ExportTimeout: DefaultExportTimeout, ExportMinRate: DefaultExportMinRate,
		ExportRateWindow: DefaultExportRateWindow}
}

// FromEnv reads SONGCOMMONS_* variables over the defaults.
func FromEnv() (Config, error) {
	return From(os.Getenv)
}

// From reads the configuration from getenv (os.Getenv, or a map in tests).
func From(getenv func(string) string) (Config, error) {
	c := Defaults()
	c.GitHubClientID = strings.TrimSpace(getenv("SONGCOMMONS_GITHUB_CLIENT_ID"))
	c.GitHubClientSecret = strings.TrimSpace(getenv("SONGCOMMONS_GITHUB_CLIENT_SECRET"))
	c.GitHubAuthURL = strings.TrimSpace(getenv("SONGCOMMONS_GITHUB_AUTH_URL"))
	c.GitHubTokenURL = strings.TrimSpace(getenv("SONGCOMMONS_GITHUB_TOKEN_URL"))
	c.GitHubUserInfoURL = strings.TrimSpace(getenv("SONGCOMMONS_GITHUB_USERINFO_URL"))

	if v := strings.TrimSpace(getenv("SONGCOMMONS_PUBLIC_READ")); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return c, fmt.Errorf("SONGCOMMONS_PUBLIC_READ=%q: use true or false", v)
		}
		c.PublicRead = b
	}
	if v := strings.TrimSpace(getenv("SONGCOMMONS_LOG_RETENTION")); v != "" {
		d, err := ParseRetention(v)
		if err != nil {
			return c, fmt.Errorf("SONGCOMMONS_LOG_RETENTION: %w", err)
		}
		c.LogRetention = d
	}
	if v := strings.TrimSpace(getenv("SONGCOMMONS_LOG_IP")); v != "" {
		switch v {
		case "full", "truncated", "none":
			c.IPMode = v
		default:
			return c, fmt.Errorf("SONGCOMMONS_LOG_IP=%q: use truncated, full or none", v)
		}
	}
	if v := strings.TrimSpace(getenv("SONGCOMMONS_RATE_LIMITS")); v != "" {
		switch strings.ToLower(v) {
		case "off", "false", "0":
			c.RateLimits = false
		case "on", "true", "1":
		default:
			return c, fmt.Errorf("SONGCOMMONS_RATE_LIMITS=%q: use on or off", v)
		}
	}
	if v := strings.ToLower(strings.TrimSpace(getenv("SONGCOMMONS_SIMILAR_APPROX"))); v != "" {
		c.ApproxSimilar = v == "on" || v == "true" || v == "1"
	}
	if v := strings.TrimSpace(getenv("SONGCOMMONS_BACKUP_CRON")); v != "" {
		if strings.EqualFold(v, "off") {
			v = ""
		}
		c.BackupCron = v
	}
	if v := strings.TrimSpace(getenv("SONGCOMMONS_BACKUP_KEEP")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("SONGCOMMONS_BACKUP_KEEP=%q: use a whole number of at least 1", v)
		}
		c.BackupKeep = n
	}
	if v := strings.TrimSpace(getenv("SONGCOMMONS_MAX_PENDING_UPLOADS")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("SONGCOMMONS_MAX_PENDING_UPLOADS=%q: use a whole number of at least 1 (uploads handled at once; default %d)", v, DefaultMaxPendingUploads)
		}
		c.MaxPendingUploads = n
	}
	if v := strings.TrimSpace(getenv("SONGCOMMONS_SLOTS_PER_CLIENT")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("SONGCOMMONS_SLOTS_PER_CLIENT=%q: use a whole number of at least 1 (slots of each kind one client address may hold; default %d)", v, DefaultSlotsPerClient)
		}
		c.SlotsPerClient = n
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
		min  time.Duration
	}{{"SONGCOMMONS_BODY_TIMEOUT", &c.BodyTimeout, time.Second}, {"SONGCOMMONS_EXPORT_TIMEOUT", &c.ExportTimeout, time.Minute}} {
		if v := strings.TrimSpace(getenv(d.name)); v != "" {
			t, err := time.ParseDuration(v)
			if err != nil || t < d.min {
				return c, fmt.Errorf("%s=%q: use a duration of at least %s, such as %s", d.name, v, d.min, *d.dst)
			}
			*d.dst = t
		}
	}
	if v := strings.TrimSpace(getenv("SONGCOMMONS_EXPORT_MIN_RATE")); v != "" {
		n, err := ParseSize(v)
		if err != nil || n < 1<<10 {
			return c, fmt.Errorf("SONGCOMMONS_EXPORT_MIN_RATE=%q: use a size per second of at least 1KiB, such as 32KiB", v)
		}
		c.ExportMinRate = n
	}
	if v := strings.TrimSpace(getenv("SONGCOMMONS_MEMORY_LIMIT")); v != "" {
		n, err := ParseMemoryLimit(v)
		if err != nil {
			return c, fmt.Errorf("SONGCOMMONS_MEMORY_LIMIT: %w", err)
		}
		c.MemoryLimit = n
	}
	c.GoMemLimit = strings.TrimSpace(getenv("GOMEMLIMIT"))
	q, err := dailyQuotaFrom(getenv, c.DailyQuota)
	if err != nil {
		return c, err
	}
	c.DailyQuota = q
	return c, nil
}

// DefaultDailyQuota is 50,000 songs with their analysis and two
// embeddings a day.
const DefaultDailyQuota = 150000

// dailyQuotaFrom reads SONGCOMMONS_DAILY_QUOTA (rows per account per UTC
// day; 0 = no limit).
func dailyQuotaFrom(getenv func(string) string, def int) (int, error) {
	v := strings.TrimSpace(getenv("SONGCOMMONS_DAILY_QUOTA"))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("SONGCOMMONS_DAILY_QUOTA=%q: use a whole number of rows per day (0 = no limit)", v)
	}
	return n, nil
}

// DefaultMaxPendingUploads is how many heavy writes are admitted at once
// unless SONGCOMMONS_MAX_PENDING_UPLOADS says otherwise. SQLite has one
// writer, so past a few admitted uploads more only queue, each holding
// its decoded body (about 10 MB live for 500 songs with a 200-d vector):
// 8 keep the writer and both cores busy while some admitted uploads are
// still arriving over slow links or being validated, and bound what waits
// in memory to about 100 MB instead of the ~45 uploads seen queueing.
const DefaultMaxPendingUploads = 8

// DefaultUploadWait is how long a heavy write waits for a slot before it
// is answered 429.
const DefaultUploadWait = 2 * time.Second

// DefaultSlotsPerClient is how many slots of each gate one client address
// holds at most unless SONGCOMMONS_SLOTS_PER_CLIENT says otherwise.
const DefaultSlotsPerClient = 2

// DefaultMaxConcurrentReads is how many lookups and similarity searches
// are answered at once: twice the cores. Each is CPU-bound (a lookup is ~40 ms
// of one core, a search scans the whole matrix on every core), so more at
// once only share the cores more thinly, hold more answers in memory, and
// starve the single writer: with 100 clients, uploads stored 113 songs/s
// while ~90 reads ran at once (BENCHMARKS.md). The others wait their turn,
// up to DefaultReadWait, in the order Go's channel gives.
var DefaultMaxConcurrentReads = 2 * runtime.GOMAXPROCS(0)

// DefaultReadWait is how long a read waits for a slot before it is answered 429.
const DefaultReadWait = 30 * time.Second

// DefaultBodyTimeout is how long a client may take to send a request body
// (with as much again per further MiB) unless SONGCOMMONS_BODY_TIMEOUT
// says otherwise.
const DefaultBodyTimeout = 15 * time.Second
