package config

import (
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
)

// ApplyMemoryLimit sets the soft Go memory limit (debug.SetMemoryLimit)
// from SONGCOMMONS_MEMORY_LIMIT, unless GOMEMLIMIT is set: the Go runtime
// has applied that one already and it is left alone. It reports whether it
// set a limit.
func ApplyMemoryLimit(cfg Config) bool {
	if cfg.GoMemLimit != "" || cfg.MemoryLimit <= 0 {
		return false
	}
	debug.SetMemoryLimit(cfg.MemoryLimit)
	return true
}

// MemoryLimitSummary describes the memory limit in force and where it
// comes from, for the start-up log.
func MemoryLimitSummary(cfg Config) string {
	lim := debug.SetMemoryLimit(-1) // reads the limit without changing it
	inForce := "none"
	if lim != math.MaxInt64 {
		inForce = FormatBytes(lim)
	}
	switch {
	case cfg.GoMemLimit != "":
		s := fmt.Sprintf("%s (GOMEMLIMIT=%s", inForce, cfg.GoMemLimit)
		if cfg.MemoryLimit > 0 {
			s += fmt.Sprintf("; SONGCOMMONS_MEMORY_LIMIT=%s ignored", FormatBytes(cfg.MemoryLimit))
		}
		return s + ")"
	case lim == math.MaxInt64:
		return "none (set SONGCOMMONS_MEMORY_LIMIT, e.g. 3GiB, to make the garbage collector work harder near it)"
	case cfg.MemoryLimit > 0 && lim == cfg.MemoryLimit:
		return inForce + " (SONGCOMMONS_MEMORY_LIMIT)"
	}
	return inForce
}

// FormatBytes writes a byte count with a binary unit ("4GiB", "1.5GiB", "512MiB").
func FormatBytes(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) + units[i]
}
