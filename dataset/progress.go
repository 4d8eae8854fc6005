package dataset

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// Bar is a small progress bar for the commands. On a terminal it redraws
// one line at most five times a second; elsewhere (a log file, CI) it
// prints a plain line now and then.
type Bar struct {
	w     io.Writer
	tty   bool
	label string
	total int64  // in the units of done; 0 = unknown
	noun  string // what rows are ("lines", "rows")
	every time.Duration
	start time.Time
	last  time.Time
	drawn int // width of the last terminal line, to clear it
	now   func() time.Time
}

// NewBar starts a bar on w. total is the amount of work in the units
// later given to Update as done (bytes of input, rows of output), or 0
// when unknown.
func NewBar(w io.Writer, label, noun string, total int64) *Bar {
	b := &Bar{w: w, tty: isTerminal(w), label: label, noun: noun, total: total, now: time.Now}
	b.every = 10 * time.Second
	if b.tty {
		b.every = 200 * time.Millisecond
	}
	b.start = b.now()
	b.last = b.start
	return b
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Update reports progress: done units of the total, rows processed.
// It draws only when the last drawing is old enough.
func (b *Bar) Update(done, rows int64) {
	t := b.now()
	if t.Sub(b.last) < b.every {
		return
	}
	b.last = t
	b.draw(done, rows, t, false)
}

// Finish draws the final state and ends the line.
func (b *Bar) Finish(done, rows int64) {
	b.draw(done, rows, b.now(), true)
}

func (b *Bar) draw(done, rows int64, t time.Time, final bool) {
	el := t.Sub(b.start)
	var s strings.Builder
	s.WriteString(b.label)
	frac := -1.0
	if b.total > 0 {
		frac = min(1, max(0, float64(done)/float64(b.total)))
	}
	if b.tty && frac >= 0 {
		const width = 24
		n := int(frac * width)
		s.WriteString(" [")
		s.WriteString(strings.Repeat("#", n))
		s.WriteString(strings.Repeat(".", width-n))
		s.WriteString("]")
	}
	if frac >= 0 {
		fmt.Fprintf(&s, " %5.1f%%", frac*100)
	}
	fmt.Fprintf(&s, "  %s %s", Thousands(rows), b.noun)
	if sec := el.Seconds(); sec > 0 {
		fmt.Fprintf(&s, "  %s/s", Thousands(int64(float64(rows)/sec)))
	}
	switch {
	case final:
		fmt.Fprintf(&s, "  in %s", roundDuration(el))
	case frac > 0 && frac < 1:
		eta := time.Duration(float64(el) * (1 - frac) / frac)
		fmt.Fprintf(&s, "  ETA %s", roundDuration(eta))
	default:
		fmt.Fprintf(&s, "  %s", roundDuration(el))
	}
	line := s.String()
	if !b.tty {
		fmt.Fprintln(b.w, line)
		return
	}
	pad := ""
	if n := len(line); n < b.drawn {
		pad = strings.Repeat(" ", b.drawn-n)
	}
	b.drawn = len(line)
	end := ""
	if final {
		end = "\n"
	}
	fmt.Fprintf(b.w, "\r%s%s%s", line, pad, end)
}

// roundDuration shows a duration to the second (tenths under a minute).
func roundDuration(d time.Duration) string {
	if d < time.Minute {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// Thousands writes n with thousands separators: 1234567 → "1,234,567".
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// byteSize writes a size in bytes for people: "51.2 MB".
func byteSize(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}
