package hooks

import (
	"net"
	"net/http"
	"net/netip"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
)

// bindRateLimitPer64 makes PocketBase's per-IP rate limits count an IPv6
// client by its /64: one subscriber usually holds a whole /64 and can pick
// any address in it, so counting single addresses would let one client
// multiply every limit by 2^64. IPv4 clients are counted per address, as
// before.
//
// PocketBase keys its limiters on e.RealIP() (the trusted proxy header,
// else the peer address), both in its global rate limit middleware and
// inside the record handlers (list, view, create, batch sub-requests,
// which copy the request's address and headers). So while the request
// is handled, the address it came from reads as the /64's first address;
// the real one is put back before the request is logged, so the request
// log (hooks/hook_logs.go) sees and truncates the real address. An address in
// the rate limits' excluded list stays as it is, so that it stays excluded.
func bindRateLimitPer64(app core.App) {
	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		se.Router.Bind(rateLimitPer64)
		return se.Next()
	})
}

var rateLimitPer64 = &hook.Handler[*core.RequestEvent]{
	Id: "songcommonsRateLimitPer64",
	// after the activity logger, the auth loader and the superuser IP
	// whitelist (which see the real address), before the rate limiter
	Priority: apis.DefaultRateLimitMiddlewarePriority - 1,
	Func: func(e *core.RequestEvent) error {
		if restore := keyBy64(e); restore != nil {
			defer restore()
		}
		return e.Next()
	},
}

// per64 returns the first address of ip's /64 for an IPv6 address, and ip
// itself for IPv4 (also IPv4-mapped IPv6) or anything that is not an IP.
func per64(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() || a.Is4In6() {
		return ip
	}
	return netip.PrefixFrom(a, 64).Masked().Addr().StringExpanded()
}

// keyBy64 makes e.RealIP() read as the client's /64 and returns the
// function that puts the request's own addresses back (nil when nothing
// was changed).
func keyBy64(e *core.RequestEvent) func() {
	ip := e.RealIP()
	key := per64(ip)
	if key == ip || excludedFromRateLimits(e.App, ip) {
		return nil
	}
	s := e.App.Settings()
	headers := map[string][]string{}
	for _, h := range s.TrustedProxy.Headers {
		h = http.CanonicalHeaderKey(h)
		if v, ok := e.Request.Header[h]; ok {
			headers[h] = v
			e.Request.Header[h] = []string{key}
		}
	}
	remote := e.Request.RemoteAddr
	if e.RemoteIP() == ip {
		_, port, _ := net.SplitHostPort(remote)
		e.Request.RemoteAddr = net.JoinHostPort(key, port)
	}
	return func() {
		// e.Request, not the request seen above: a handler may have
		// replaced it with a copy (WithContext), which the log reads
		e.Request.RemoteAddr = remote
		for h, v := range headers {
			e.Request.Header[h] = v
		}
	}
}

// excludedFromRateLimits reports whether ip is in the rate limits'
// excluded IPs or subnets (as PocketBase reads that list).
func excludedFromRateLimits(app core.App, ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	for _, item := range app.Settings().RateLimits.ExcludedIPs {
		if p, err := netip.ParsePrefix(item); err == nil && p.Contains(a) {
			return true
		}
		if b, err := netip.ParseAddr(item); err == nil && b == a {
			return true
		}
	}
	return false
}
