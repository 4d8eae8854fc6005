package hooks_test

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"songcommons/config"
)

// Rate limits count an IPv6 client by its /64 and an IPv4 client by its
// address, whether the address is the connection's peer or comes from a
// trusted proxy header; the request log still holds the real address.
// The limit used: 5 privacy requests per hour and address.
func TestRateLimitsIPv6Per64(t *testing.T) {
	t.Parallel()
	app := newTestApp(t, func(c *config.Config) { c.IPMode = "full" })
	defer app.Cleanup()
	app.Settings().TrustedProxy.Headers = []string{"X-Forwarded-For"}
	app.Settings().Logs.MaxDays = 3 // request logs on, as in production
	// the test's stand-in for the connection's peer address
	peer := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if p := r.Header.Get("X-Test-Peer"); p != "" {
				r.RemoteAddr = net.JoinHostPort(p, "40000")
				r.Header.Del("X-Test-Peer")
			}
			next.ServeHTTP(w, r)
		})
	}
	srv := serveWith(t, app, peer)
	for _, via := range []string{"X-Test-Peer", "X-Forwarded-For"} {
		// each case its own addresses: the limiters outlive the case
		net6 := map[string]string{"X-Test-Peer": "2001:db8:1:2:", "X-Forwarded-For": "2001:db8:5:6:"}[via]
		other6 := map[string]string{"X-Test-Peer": "2001:db8:1:3::1", "X-Forwarded-For": "2001:db8:5:7::1"}[via]
		net4 := map[string]string{"X-Test-Peer": "192.0.2.", "X-Forwarded-For": "198.51.100."}[via]
		post := func(addr string) int {
			t.Helper()
			code, out := callWithHeader(t, srv, http.MethodPost, "/api/songcommons/privacy-requests", "",
				map[string]any{"text": "a request"}, via, addr)
			if code != 201 && code != 429 {
				t.Fatalf("%s %s: %d %v", via, addr, code, out)
			}
			return code
		}
		for i, host := range []string{"0:0:0:1", "0:0:0:2", "abcd:0:0:3", "ffff:ffff:ffff:ffff", "0:0:0:5"} {
			if code := post(net6 + host); code != 201 {
				t.Fatalf("%s: request %d from the /64: %d", via, i+1, code)
			}
		}
		if code := post(net6 + "9:8:7:6"); code != 429 {
			t.Errorf("%s: a 6th request from another address of the same /64: %d, want 429", via, code)
		}
		if code := post(other6); code != 201 {
			t.Errorf("%s: a request from the next /64: %d, want 201", via, code)
		}
		// IPv4: per address, as before
		for i := range 5 {
			if code := post(net4 + "1"); code != 201 {
				t.Fatalf("%s: IPv4 request %d: %d", via, i+1, code)
			}
		}
		if code := post(net4 + "1"); code != 429 {
			t.Errorf("%s: a 6th request from one IPv4 address: %d, want 429", via, code)
		}
		if code := post(net4 + "2"); code != 201 {
			t.Errorf("%s: a request from the next IPv4 address: %d, want 201", via, code)
		}
	}

	// the log holds the real addresses (IP mode "full" here), also of the
	// refused request
	waitForLogs(t, app)
	var ips []string
	if err := app.AuxDB().NewQuery("SELECT json_extract(data, '$.userIP') FROM _logs WHERE json_extract(data, '$.status') = 429").
		Column(&ips); err != nil {
		t.Fatal(err)
	}
	logged := strings.Join(ips, " ")
	for _, want := range []string{"2001:0db8:0001:0002:0009:0008:0007:0006", "2001:0db8:0005:0006:0009:0008:0007:0006"} {
		if !strings.Contains(logged, want) {
			t.Errorf("the refused request from %s is logged as %q", want, logged)
		}
	}
}
