package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseRetention parses a log window: a Go duration of at least 1h, or 0.
func ParseRetention(v string) (time.Duration, error) {
	if v == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 72h", v)
	}
	if d != 0 && d < time.Hour {
		return 0, fmt.Errorf("%q is shorter than the minimum of 1h (use 0 for no request logs)", v)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", v)
	}
	return d, nil
}

// MinMemoryLimit is the smallest memory limit accepted: below it the
// service would spend its time collecting garbage.
const MinMemoryLimit = 128 << 20

var memoryUnits = map[string]int64{"": 1, "b": 1,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
	"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, // as Docker reads them
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12}

// ParseMemoryLimit parses a memory limit: a whole number of bytes with an
// optional unit, case-insensitive: KiB, MiB, GiB, TiB (or K, M, G, T, the
// same binary units, as Docker reads them), KB, MB, GB, TB (decimal) or B;
// such as "3GiB". "off" or "0" means no limit (0).
func ParseMemoryLimit(v string) (int64, error) {
	s := strings.ToLower(strings.TrimSpace(v))
	if s == "off" || s == "0" {
		return 0, nil
	}
	n, err := ParseSize(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size such as 3GiB or 512MiB (or off)", v)
	}
	if n < MinMemoryLimit {
		return 0, fmt.Errorf("%q is below the minimum of 128MiB (use off for no limit)", v)
	}
	return n, nil
}

// ParseSize parses a whole number of bytes with an optional unit,
// case-insensitive: KiB, MiB, GiB, TiB (or K, M, G, T, the same binary
// units, as Docker reads them), KB, MB, GB, TB (decimal) or B.
func ParseSize(v string) (int64, error) {
	s := strings.ToLower(strings.TrimSpace(v))
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	unit, ok := memoryUnits[strings.TrimSpace(s[i:])]
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if i == 0 || !ok || err != nil || n > math.MaxInt64/unit {
		return 0, fmt.Errorf("%q is not a size such as 32KiB or 512MiB", v)
	}
	return n * unit, nil
}

// FormatRetention writes a log window as "72h" ("0" = no request logs).
func FormatRetention(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}
