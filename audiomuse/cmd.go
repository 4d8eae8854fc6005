package audiomuse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// DefaultTarget is the songcommons server a push goes to unless --to says.
const DefaultTarget = "http://127.0.0.1:8090"

// NewCmd is `songcommons audiomuse push|pull`.
func NewCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audiomuse",
		Short: "Share an AudioMuse-AI library's analysis with songcommons (push), or fetch the community's (pull)",
	}
	cmd.AddCommand(newPushCmd(), newPullCmd())
	return cmd
}

func newPushCmd() *cobra.Command {
	var from, amToken, to, token, stateDir string
	var dryRun bool
	var batch int
	cmd := &cobra.Command{
		Use:   "push --from AUDIOMUSE_URL --token SONGCOMMONS_TOKEN",
		Short: "Upload the analysis of an AudioMuse-AI library (new and re-analysed tracks only)",
		Long: `Reads AudioMuse-AI's read-only export (GET /api/sync) and uploads each track's
analysis through /api/songcommons/contribute, 500 songs a request: artist, title,
album, tempo, key, scale, moods, energy, other features, and the MusiCNN (200-d)
and CLAP (512-d) embeddings. AudioMuse-AI's item ids, media-server ids, ratings,
UMAP coordinates and fp never leave this machine.

A state folder remembers each track's fp when it was sent, the rows it was stored
as and the receipt secret, so a re-run sends only new or re-analysed tracks (the
rows of an earlier analysis are deleted by receipt), and an interrupted run
resumes. Ctrl-C once: stop after the request in flight; twice: stop at once.
Tracks that cannot be sent are listed with the reason in rejects.jsonl there.`,
		Example:       "  songcommons audiomuse push --from http://audiomuse:8000 --to https://songcommons.example --token \"$SONGCOMMONS_TOKEN\"",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: false,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" {
				return errors.New("--from is required: the AudioMuse-AI address, e.g. http://audiomuse:8000")
			}
			if token == "" {
				token = os.Getenv("SONGCOMMONS_TOKEN")
			}
			if amToken == "" {
				amToken = os.Getenv("AUDIOMUSE_TOKEN")
			}
			if token == "" && !dryRun {
				return errors.New("--token is required (or SONGCOMMONS_TOKEN): copy it from the My data page of the songcommons site")
			}
			if stateDir == "" {
				d, err := DefaultStateDir(from, to)
				if err != nil {
					return err
				}
				stateDir = d
			}
			st, err := OpenState(stateDir, from, to)
			if err != nil {
				return err
			}
			ctx, stop := interrupts(cmd.Context())
			errw := cmd.ErrOrStderr()
			bar := newBar(errw)
			p := &Push{Source: &Source{Base: from, Token: amToken}, Target: &Target{Base: to, Token: token},
				State: st, Batch: batch, DryRun: dryRun, Stop: stop,
				Progress: func(s Summary) { bar.show(s.Read, s.ToSend, "tracks", s.Elapsed) }}
			fmt.Fprintf(errw, "state folder: %s\n", stateDir)
			sum, err := p.Run(ctx)
			bar.done()
			printSummary(cmd.OutOrStdout(), sum, dryRun, st.RejectsPath())
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "AudioMuse-AI's address")
	f.StringVar(&amToken, "audiomuse-token", "", "AudioMuse-AI's API token, when it asks for one (or AUDIOMUSE_TOKEN)")
	f.StringVar(&to, "to", DefaultTarget, "the songcommons server")
	f.StringVar(&token, "token", "", "your songcommons token, from the My data page (or SONGCOMMONS_TOKEN)")
	f.StringVar(&stateDir, "state", "", "the state folder (default: one per pair of servers under ~/.local/state/songcommons/audiomuse)")
	f.BoolVar(&dryRun, "dry-run", false, "say what would be sent; send nothing")
	f.IntVar(&batch, "batch", MaxBatch, "songs per upload (at most 500)")
	return cmd
}

func newPullCmd() *cobra.Command {
	var to, in, out string
	cmd := &cobra.Command{
		Use:   "pull --tracks FILE [--out FILE]",
		Short: "Write the community's analysis of the songs in FILE to a JSON-lines file",
		Long: `AudioMuse-AI has no write path for analysis (its /api/sync export is read-only),
so songcommons cannot fill it in. Instead, pull looks up the songs a library is
missing (FILE: JSON lines or CSV with the columns artist, title, mbid, isrc) and
writes what the community has for each song found (consensus tempo, key, moods,
embeddings) as one JSON line, for you to inspect and use. Lookups need no token.`,
		Example:       "  songcommons audiomuse pull --tracks missing.csv --out analysis.jsonl",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: false,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in == "" {
				return errors.New("--tracks is required: a JSON-lines or CSV file of the songs to look up")
			}
			r, err := os.Open(in)
			if err != nil {
				return err
			}
			defer r.Close()
			w := cmd.OutOrStdout()
			if out != "" && out != "-" {
				f, err := os.OpenFile(out, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			bar := newBar(cmd.ErrOrStderr())
			start := time.Now()
			sum, err := Pull(cmd.Context(), &Target{Base: to}, r, w, func(s PullSummary) { bar.show(s.Asked, 0, "songs", time.Since(start)) })
			bar.done()
			fmt.Fprintf(cmd.ErrOrStderr(), "asked %d, found %d, missing %d\n", sum.Asked, sum.Found, sum.Missing)
			return err
		},
	}
	cmd.Flags().StringVar(&to, "to", DefaultTarget, "the songcommons server")
	cmd.Flags().StringVar(&in, "tracks", "", "the songs to look up (JSON lines or CSV)")
	cmd.Flags().StringVar(&out, "out", "-", "where to write the analysis (JSON lines; - is stdout)")
	return cmd
}

// interrupts: the first Ctrl-C closes stop, the second cancels ctx.
func interrupts(parent context.Context) (context.Context, <-chan struct{}) {
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancel(parent)
	stop := make(chan struct{})
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt)
	go func() {
		<-sig
		fmt.Fprintln(os.Stderr, "\nstopping after the request in flight (Ctrl-C again to stop at once)")
		close(stop)
		<-sig
		cancel()
	}()
	return ctx, stop
}

func printSummary(w io.Writer, s Summary, dryRun bool, rejects string) {
	verb := "sent"
	if dryRun {
		verb = "would send"
	}
	fmt.Fprintf(w, "library: %d tracks; already sent, unchanged: %d; to send: %d\n", s.Library, s.AlreadySent, s.ToSend)
	fmt.Fprintf(w, "read: %d; %s: %d (%d re-analysed); skipped as invalid: %d", s.Read, verb, s.Sent, s.Updated, s.Skipped)
	if s.Skipped > 0 && !dryRun {
		fmt.Fprintf(w, " (reasons in %s)", rejects)
	}
	fmt.Fprintln(w)
	if s.SkippedUnchanged > 0 {
		fmt.Fprintf(w, "refused before and not re-analysed since, not tried again: %d\n", s.SkippedUnchanged)
	}
	if s.Deleted > 0 {
		fmt.Fprintf(w, "rows of earlier analyses deleted by receipt: %d\n", s.Deleted)
	}
	if s.Gone > 0 {
		fmt.Fprintf(w, "sent before, no longer in the library: %d (their rows stay; the state folder holds their receipts)\n", s.Gone)
	}
	if s.Resent > 0 {
		fmt.Fprintf(w, "a request of %d tracks was cut off without an answer last time: they were sent again (identical contributions count once in the consensus)\n", s.Resent)
	}
	if secs := s.Elapsed.Seconds(); secs > 0 && s.Sent > 0 && !dryRun {
		fmt.Fprintf(w, "%.0f tracks/s over %s (waiting for AudioMuse-AI %s, for songcommons %s)\n", float64(s.Sent)/secs,
			s.Elapsed.Round(time.Millisecond), s.Reading.Round(time.Millisecond), s.Uploading.Round(time.Millisecond))
	}
}

// bar draws progress on a terminal (one line, redrawn), or a line per
// update elsewhere.
type bar struct {
	w    io.Writer
	tty  bool
	used bool
}

func newBar(w io.Writer) *bar {
	b := &bar{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			b.tty = true
		}
	}
	return b
}

func (b *bar) show(n, total int, unit string, elapsed time.Duration) {
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(n) / s
	}
	line := fmt.Sprintf("%d %s, %.0f/s", n, unit, rate)
	if total > 0 {
		const width = 30
		filled := min(width, n*width/total)
		line = fmt.Sprintf("[%s%s] %d/%d %s, %.0f/s", strings.Repeat("#", filled), strings.Repeat(" ", width-filled), n, total, unit, rate)
	}
	b.used = true
	if b.tty {
		fmt.Fprintf(b.w, "\r%s", line)
		return
	}
	fmt.Fprintln(b.w, line)
}

func (b *bar) done() {
	if b.tty && b.used {
		fmt.Fprintln(b.w)
	}
}
