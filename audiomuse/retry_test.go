package audiomuse

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// 429 and 503 are tried again after their Retry-After; a Retry-After
// longer than MaxWait (a daily quota) ends the run at once; other errors
// are not retried.
func TestRetry(t *testing.T) {
	var slept []time.Duration
	r := Retry{Attempts: 5, MaxWait: time.Minute, Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }}
	answers := []struct {
		status int
		after  string
	}{{503, "2"}, {429, ""}, {0, ""}, {200, ""}}
	i := 0
	err := r.do(context.Background(), func() (int, http.Header, error) {
		a := answers[i]
		i++
		if a.status == 200 {
			return 200, nil, nil
		}
		h := http.Header{}
		if a.after != "" {
			h.Set("Retry-After", a.after)
		}
		return a.status, h, errors.New("busy")
	})
	if err != nil || i != 4 || len(slept) != 3 || slept[0] != 2*time.Second || slept[1] != time.Second || slept[2] != 2*time.Second {
		t.Fatalf("err %v after %d tries, slept %v", err, i, slept)
	}
	for _, c := range []struct {
		status int
		after  string
	}{{429, "40000"}, {400, ""}, {401, ""}} {
		tries := 0
		err := r.do(context.Background(), func() (int, http.Header, error) {
			tries++
			return c.status, http.Header{"Retry-After": {c.after}}, errors.New("no")
		})
		if err == nil || tries != 1 {
			t.Fatalf("status %d Retry-After %q: %d tries, %v", c.status, c.after, tries, err)
		}
	}
}
