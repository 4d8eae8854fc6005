package main

import (
	"fmt"
	"testing"
	"time"
)

func TestServerTiming(t *testing.T) {
	t.Parallel()
	for i, s := range []struct {
		header, name string
		want         time.Duration
		ok           bool
	}{
		{"index;dur=0.210, rows;dur=0.322, total;dur=0.532", "total", 532 * time.Microsecond, true},
		{"index;dur=0.210, rows;dur=0.322, total;dur=0.532", "index", 210 * time.Microsecond, true},
		{"index;dur=0.000, total;dur=0.000", "total", 0, true},
		{"total;desc=\"all\";dur=12", "total", 12 * time.Millisecond, true},
		{"", "total", 0, false},
		{"db;dur=1.5", "total", 0, false},
	} {
		t.Run(fmt.Sprintf("%d_%s", i, s.header), func(t *testing.T) {
			got, ok := serverTiming(s.header, s.name)
			if got != s.want || ok != s.ok {
				t.Errorf("serverTiming(%q, %q) = %v, %v; want %v, %v", s.header, s.name, got, ok, s.want, s.ok)
			}
		})
	}
}
