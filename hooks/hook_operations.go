package hooks

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"songcommons/config"

	"github.com/pocketbase/pocketbase/apis"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/hook"
	"github.com/pocketbase/pocketbase/tools/router"
)

var rateRuleDuration = regexp.MustCompile(`"duration":(\d+)`)

// ShutdownGrace is how long SIGTERM waits for in-flight requests.
const ShutdownGrace = 30 * time.Second

// bindOperations: clear 429 answers with Retry-After, and graceful
// shutdown that finishes in-flight requests.
func bindOperations(app core.App, cfg config.Config) {
	var inflight sync.WaitGroup
	var stopping atomic.Bool

	app.OnServe().BindFunc(func(se *core.ServeEvent) error {
		if !cfg.RateLimits {
			se.App.Settings().RateLimits.Enabled = false // this run only; not saved
		}
		say(cfg, "songcommons: Go memory limit %s", config.MemoryLimitSummary(cfg))
		se.Router.Bind(&hook.Handler[*core.RequestEvent]{
			Id:       "songcommonsOperations",
			Priority: apis.DefaultRateLimitMiddlewarePriority - 50, // around the rate limiter
			Func: func(e *core.RequestEvent) error {
				if stopping.Load() {
					e.Response.Header().Set("Retry-After", "10")
					return e.Error(http.StatusServiceUnavailable, "The server is restarting; retry in a few seconds. Nothing of this request was stored.", nil)
				}
				inflight.Add(1)
				defer inflight.Done()
				body := requestBody(e.Request)
				err := e.Next()
				if err != nil && body != nil {
					e.Request.Body = body
				}
				var apiErr *router.ApiError
				if errors.As(err, &apiErr) && apiErr.Status == http.StatusTooManyRequests {
					retry := "60"
					if m := rateRuleDuration.FindStringSubmatch(fmt.Sprint(apiErr.RawData())); m != nil {
						retry = m[1]
					} else if h := e.Response.Header().Get("Retry-After"); h != "" {
						retry = h
					}
					e.Response.Header().Set("Retry-After", retry)
					if apiErr.Message == "" || strings.HasPrefix(apiErr.Message, "Too Many Requests") {
						return router.NewApiError(http.StatusTooManyRequests,
							"Too many requests from your address: slow down and retry in "+retry+" seconds.", nil)
					}
				}
				return err
			},
		})
		return se.Next()
	})

	// finish in-flight requests before PocketBase shuts the server down
	app.OnTerminate().BindFunc(func(e *core.TerminateEvent) error {
		stopping.Store(true)
		done := make(chan struct{})
		go func() { inflight.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(ShutdownGrace):
			e.App.Logger().Warn("songcommons: shutdown grace period over with requests still running")
		}
		return e.Next()
	})

}

// requestBody returns the request body itself, from under PocketBase's
// rereadable wrapper (nil if there is none). It is handed back to Go's
// HTTP server before an error is answered: behind the wrappers, the server
// cannot tell that a refused request's body was never read (413 by
// Content-Length, 429, 503), so it would keep the connection and parse the
// rest of the body as the next request (a plain "400 Bad Request"). With
// the body itself, it discards at most 256 KiB of it to keep the
// connection, or closes the connection gracefully after the answer, as
// net/http intends.
func requestBody(r *http.Request) io.ReadCloser {
	if rr, ok := r.Body.(*router.RereadableReadCloser); ok {
		return rr.ReadCloser
	}
	return nil
}
