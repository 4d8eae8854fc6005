package hooks

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

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

// admissionPriority puts the admission check after the rate limiter, the
// auth token, the sign-in guard of record creates, PocketBase's
// Content-Length check and the compaction guard (all cheap refusals that
// need no slot), and before any handler reads the body.
const admissionPriority = -890

// BusyMessage starts the answer to a heavy write refused for lack of a slot.
const BusyMessage = "The server is busy storing other uploads"

// admission bounds the heavy writes (bulk uploads, batches, record
// creates on the contributed collections) that are handled at once. They
// all end at SQLite's single writer; a write that finds no free slot
// within wait is answered 429 with Retry-After before its body is read:
// like the rate limiter's answer, it tells a client to come back later, and
// sync clients already handle it; a 5xx would say the server failed, and
// nothing failed (the mixed-load target is zero 5xx).
type admission struct {
	slots chan struct{}
	wait  time.Duration
	hold  atomic.Int64 // moving average of how long an admitted write keeps its slot, ns
}

// newAdmission admits size requests at once (the configuration gives the
// sizes and waits of both gates, with their defaults from Defaults), each
// waiting at most wait for a slot.
func newAdmission(size int, wait time.Duration) *admission {
	return &admission{slots: make(chan struct{}, max(size, 1)), wait: wait}
}

// handler is the router middleware that applies the admission to heavy
// writes.
func (a *admission) handler() *hook.Handler[*core.RequestEvent] {
	return a.gate("songcommonsAdmission", func(e *core.RequestEvent) bool { return heavyWrite(e.App, e.Request) },
		BusyMessage, "Nothing of this request was stored.")
}

// gate is a router middleware that admits the requests match selects
// through a's slots, answering 429 with Retry-After (message, the slot
// count, the wait and tail) to those that find none in time.
func (a *admission) gate(id string, match func(*core.RequestEvent) bool, message, tail string) *hook.Handler[*core.RequestEvent] {
	return &hook.Handler[*core.RequestEvent]{
		Id:       id,
		Priority: admissionPriority,
		Func: func(e *core.RequestEvent) error {
			if !match(e) {
				return e.Next()
			}
			if !a.acquire(e.Request.Context()) {
				retry := a.retryAfter()
				e.Response.Header().Set("Retry-After", strconv.Itoa(retry))
				return e.Error(http.StatusTooManyRequests, fmt.Sprintf(
					"%s (%d at a time): retry after %d s. %s", message, cap(a.slots), retry, tail), nil)
			}
			start := time.Now()
			defer a.release(start) // on every way out: answer, error, panic, client gone
			return e.Next()
		},
	}
}

// ReadBusyMessage starts the answer to a lookup or similarity search that
// waited too long for a slot.
const ReadBusyMessage = "The server is busy answering other lookups"

// MaxConcurrentReads is how many lookups and similarity searches are
// answered at once: twice the cores. Each is CPU-bound (a lookup is ~40 ms
// of one core, a search scans the whole matrix on every core), so more at
// once only share the cores more thinly, hold more answers in memory, and
// starve the single writer: with 100 clients, uploads stored 113 songs/s
// while ~90 reads ran at once (BENCHMARKS.md). The others wait their turn,
// up to ReadWait, in the order Go's channel gives.
var MaxConcurrentReads = 2 * runtime.GOMAXPROCS(0)

// ReadWait is how long a read waits for a slot before it is answered 429.
const ReadWait = 30 * time.Second

// isHeavyRead reports whether r is a lookup or a similarity search.
func isHeavyRead(r *http.Request) bool {
	switch r.URL.Path {
	case "/api/songcommons/lookup":
		return r.Method == http.MethodPost
	case "/api/songcommons/similar":
		return r.Method == http.MethodGet || r.Method == http.MethodPost
	}
	return false
}

// acquire takes a slot, waiting at most a.wait; false when none came free
// in time or the client went away while waiting.
func (a *admission) acquire(ctx context.Context) bool {
	select {
	case a.slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(a.wait)
	defer t.Stop()
	select {
	case a.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// release frees the slot taken at start and updates the moving average of
// slot holding times (weight 1/8 for the newest).
func (a *admission) release(start time.Time) {
	d := int64(time.Since(start))
	for {
		old := a.hold.Load()
		next := d
		if old != 0 {
			next = old + (d-old)/8
		}
		if a.hold.CompareAndSwap(old, next) {
			break
		}
	}
	<-a.slots
}

// retryAfter is the number of seconds a refused write is told to wait:
// about how long an admitted write keeps its slot (the time for the
// current writes to turn over), 1 to 60 s, spread by up to half again so
// that refused clients do not all come back in the same second.
func (a *admission) retryAfter() int {
	base := int(math.Ceil(time.Duration(a.hold.Load()).Seconds()))
	base = min(max(base, 1), 60)
	return base + rand.IntN(base/2+1)
}

// heavyWrite reports whether r is a write that carries a large body and
// ends at SQLite's writer: POST /api/songcommons/contribute, POST
// /api/batch, or a record create on a contributed collection. Reads,
// updates and deletes are not admission-controlled.
func heavyWrite(app core.App, r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	p := r.URL.Path
	if p == "/api/batch" || p == "/api/songcommons/contribute" {
		return true
	}
	rest, ok := strings.CutPrefix(p, "/api/collections/")
	if !ok {
		return false
	}
	name, tail, _ := strings.Cut(rest, "/")
	return (tail == "records" || tail == "records/") && isContributed(app, name)
}

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
