package hooks

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// AdmissionPriority is the priority of the admission guards bound to the
// heavy routes: after the rate limiter, the auth token, PocketBase's
// Content-Length check, the compaction guard and the route's own sign-in
// and body guards (cheap refusals, and the body read, that need no slot),
// and before the handler.
const AdmissionPriority = -890

// BusyMessage starts the answer to a heavy write refused for lack of a slot.
const BusyMessage = "The server is busy storing other uploads"

// ClientBusyMessage starts the answer to a request refused because its
// client address already holds all the slots it may hold.
const ClientBusyMessage = "Your address already has as many of these requests running as it may"

// admission bounds the requests of one kind (heavy writes: bulk uploads,
// batches, record creates on the contributed collections; or heavy reads:
// lookups and similarity searches) that are handled at once, in all and
// per client address. Uploads all end at SQLite's single writer, reads on
// the cores. A request that finds no free slot within wait is answered 429
// with Retry-After: like the rate limiter's answer, it tells a client to
// come back later, and sync clients already handle it; a 5xx would say
// the server failed, and nothing failed (the mixed-load target is zero
// 5xx). A slot is taken only once the request is authorised and its body
// has arrived (bodyGuard), so a slow client holds none while it sends.
type admission struct {
	name          string // the guard's id
	message, tail string // the 429 answer: what is busy, what it means for the request
	slots         chan struct{}
	wait          time.Duration
	perClient     int
	hold          atomic.Int64 // moving average of how long an admitted request keeps its slot, ns

	mu      sync.Mutex
	clients map[string]*clientShare
}

// clientShare is one client address's slots, kept while it has requests.
type clientShare struct {
	slots chan struct{}
	users int
}

// newAdmission admits size requests at once (the configuration gives the
// sizes and waits of both gates, with their defaults from Defaults), at
// most perClient of them from one client address, each waiting at most
// wait for a slot.
func newAdmission(name string, size, perClient int, wait time.Duration, message, tail string) *admission {
	return &admission{name: name, message: message, tail: tail, slots: make(chan struct{}, max(size, 1)),
		perClient: max(perClient, 1), wait: wait, clients: map[string]*clientShare{}}
}

// guard is the middleware bound to each route a admits.
func (a *admission) guard() *hook.Handler[*core.RequestEvent] {
	return &hook.Handler[*core.RequestEvent]{
		Id:       a.name,
		Priority: AdmissionPriority,
		Func:     func(e *core.RequestEvent) error { return a.admit(e, e.Next) },
	}
}

// admit runs next in a slot, answering 429 with Retry-After (the reason,
// the slot count, the wait and a.tail) when none comes free in time.
func (a *admission) admit(e *core.RequestEvent, next func() error) error {
	release, err := a.acquire(e.Request.Context(), ClientKey(e.RealIP()))
	if err != nil {
		retry := a.retryAfter()
		e.Response.Header().Set("Retry-After", strconv.Itoa(retry))
		msg := fmt.Sprintf("%s (%d at a time): retry after %d s. %s", a.message, cap(a.slots), retry, a.tail)
		if errors.Is(err, errClientFull) {
			msg = fmt.Sprintf("%s (%d at a time from one address): wait for them to finish, or retry after %d s. %s",
				ClientBusyMessage, a.perClient, retry, a.tail)
		}
		return e.Error(http.StatusTooManyRequests, msg, nil)
	}
	defer release() // on every way out: answer, error, panic, client gone
	return next()
}

var (
	errClientFull = errors.New("the client's slots are taken")
	errBusy       = errors.New("every slot is taken")
)

// acquire takes one of client's slots, then one of the server's, waiting
// at most a.wait for both, and returns the function that gives them back.
// It fails with errClientFull or errBusy, holding nothing, when they did
// not come free in time or the client went away.
func (a *admission) acquire(ctx context.Context, client string) (release func(), err error) {
	share := a.share(client)
	t := time.NewTimer(a.wait)
	defer t.Stop()
	if !take(ctx, share.slots, t.C) {
		a.unshare(client, share)
		return nil, errClientFull
	}
	if !take(ctx, a.slots, t.C) {
		<-share.slots
		a.unshare(client, share)
		return nil, errBusy
	}
	start := time.Now()
	return func() {
		a.release(start)
		<-share.slots
		a.unshare(client, share)
	}, nil
}

// take puts a token into slots, giving up when timeout fires or ctx ends.
func take(ctx context.Context, slots chan struct{}, timeout <-chan time.Time) bool {
	select {
	case slots <- struct{}{}:
		return true
	default:
	}
	select {
	case slots <- struct{}{}:
		return true
	case <-timeout:
		return false
	case <-ctx.Done():
		return false
	}
}

// share returns client's slots, counting one more user of them.
func (a *admission) share(client string) *clientShare {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.clients[client]
	if s == nil {
		s = &clientShare{slots: make(chan struct{}, a.perClient)}
		a.clients[client] = s
	}
	s.users++
	return s
}

// unshare counts one user less of client's slots, forgetting them with
// the last.
func (a *admission) unshare(client string, s *clientShare) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if s.users--; s.users == 0 {
		delete(a.clients, client)
	}
}

// ClientKey is the address slots are counted by: an IPv4 address as is,
// an IPv6 address by its /64 (one subscriber usually holds a whole /64).
func ClientKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	addr = addr.Unmap()
	if addr.Is4() {
		return addr.String()
	}
	p, _ := addr.Prefix(64)
	return p.String()
}

// ReadBusyMessage starts the answer to a lookup or similarity search that
// waited too long for a slot.
const ReadBusyMessage = "The server is busy answering other lookups"

// release records how long the slot taken at start was held: a moving
// average of slot holding times (weight 1/8 for the newest), and frees it.
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

// retryAfter is the number of seconds a refused request is told to wait:
// about how long an admitted request keeps its slot (the time for the
// current ones to turn over), 1 to 60 s, spread by up to half again so
// that refused clients do not all come back in the same second.
func (a *admission) retryAfter() int {
	base := int(math.Ceil(time.Duration(a.hold.Load()).Seconds()))
	base = min(max(base, 1), 60)
	return base + rand.IntN(base/2+1)
}
