package audiomuse_test

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/pocketbase/pocketbase/tests"

	"songcommons/config"
	"songcommons/internal/testsupport"
	_ "songcommons/migrations"
)

// songcommons is a real songcommons server on 127.0.0.1 (the shared test
// support's app: the service's own hooks and DBConnect), with a
// contributor who gave consent, and a record of every request it received.
type songcommons struct {
	app   *tests.TestApp
	url   string
	token string

	mu       sync.Mutex
	received []receivedRequest
}

type receivedRequest struct {
	method, url string
	header      http.Header
	body        []byte
}

func newSongcommons(t testing.TB) *songcommons {
	t.Helper()
	app := testsupport.NewApp(t, func(c *config.Config) { c.RateLimits = false })
	t.Cleanup(app.Cleanup)
	sc := &songcommons{app: app, token: testsupport.Token(t, testsupport.AliceID)}
	srv := testsupport.ServeWith(t, app, func(mux http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			body, _ := io.ReadAll(req.Body)
			sc.mu.Lock()
			sc.received = append(sc.received, receivedRequest{req.Method, req.URL.String(), req.Header.Clone(), body})
			sc.mu.Unlock()
			req.Body = io.NopCloser(bytes.NewReader(body))
			mux.ServeHTTP(w, req)
		})
	})
	sc.url = srv.URL
	return sc
}

// requests returns the requests received so far and forgets them.
func (s *songcommons) requests() []receivedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.received
	s.received = nil
	return out
}
