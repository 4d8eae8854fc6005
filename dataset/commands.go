package dataset

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"songcommons/storage"

	"github.com/pocketbase/pocketbase/core"
	"github.com/spf13/cobra"
)

// NewExportCmd is `songcommons export [FILE]`: the dump of the dataset
// to FILE (default songcommons-YYYY-MM-DD.jsonl.gz; "-" is stdout),
// gzip-compressed when FILE ends in .gz. It reads the pb_data dir
// directly and may run while the server runs.
func NewExportCmd(app core.App) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "export [FILE]",
		Short: "Dump the whole dataset to a JSONL (or CSV) file, gzip-compressed when FILE ends in .gz",
		Long: `Dump the whole dataset: one JSON line per contributed row (score or embedding),
in the shape of a /api/songcommons/contribute song, ordered by song; or, with
--format csv, the score rows as CSV. FILE ending in .gz is gzip-compressed;
"-" writes to stdout. The default FILE is songcommons-YYYY-MM-DD.jsonl.gz.
The dump holds no ids or receipts; "import" reads it back to the same rows.`,
		Example:       "  songcommons export songcommons.jsonl.gz\n  songcommons export --format csv scores.csv",
		Args:          cobra.MaximumNArgs(1),
		SilenceUsage:  true,
		SilenceErrors: true, // reported on stderr by report
		RunE: func(cmd *cobra.Command, args []string) error {
			path := ""
			if len(args) > 0 {
				path = args[0]
			}
			stderr := errWriter(cmd)
			return report(stderr, runExport(cmdContext(cmd), app, stderr, cmd.OutOrStdout(), path, format))
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "jsonl or csv (default: from FILE's name, else jsonl)")
	return cmd
}

// NewImportCmd is `songcommons import FILE`: it stores the rows of a dump
// (JSONL or CSV, gzip-compressed or not; "-" is stdin) in the pb_data dir,
// applying the migrations first, so that a fresh dir works.
func NewImportCmd(app core.App) *cobra.Command {
	var format, rejects string
	var chunk int
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Load a dump (JSONL or CSV, gzip or not) into the dataset; bad lines go to a rejects file",
		Long: `Load a dump made by "export" (or any JSONL file of /api/songcommons/contribute
songs, or a CSV of score fields) into the dataset. Each line is validated on its
own, with the rules of every write path; good lines are stored in transactions of
--batch lines, and every rejected line is written, with its reasons, to the rejects
file (default: FILE.rejects.jsonl). Rows are added to what the dataset holds:
importing the same dump twice stores its rows twice. Import with the server
stopped, or restart it afterwards, so that its similarity index sees the new rows.`,
		Example:       "  songcommons import songcommons-2025-01-31.jsonl.gz",
		Args:          cobra.ExactArgs(1),
		SilenceUsage:  true,
		SilenceErrors: true, // reported on stderr by report
		RunE: func(cmd *cobra.Command, args []string) error {
			stderr := errWriter(cmd)
			return report(stderr, runImport(cmdContext(cmd), app, stderr, args[0], format, rejects, chunk))
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "jsonl or csv (default: from FILE's name, else jsonl)")
	cmd.Flags().StringVar(&rejects, "rejects", "", "where rejected lines go (default: FILE.rejects.jsonl, next to FILE)")
	cmd.Flags().IntVar(&chunk, "batch", DefaultChunk, "lines stored per transaction")
	return cmd
}

// errWriter is where progress, summaries and errors go: the command's own
// error writer when one is set (tests), else stderr. (PocketBase's root
// command error writer prints in red through fatih/color, which writes
// to stdout: it would mix with a dump written to stdout.)
func errWriter(cmd *cobra.Command) io.Writer {
	if cmd.HasParent() && cmd.ErrOrStderr() == cmd.Root().ErrOrStderr() {
		return os.Stderr
	}
	return cmd.ErrOrStderr()
}

func report(w io.Writer, err error) error {
	if err != nil {
		fmt.Fprintln(w, "Error:", err)
		commandFailed.Store(true)
	}
	return err
}

// commandFailed records that export or import failed: PocketBase's Start
// returns nil whatever a command returned, so main asks CommandFailed to
// exit non-zero.
var commandFailed atomic.Bool

// CommandFailed reports whether an export or import command failed.
func CommandFailed() bool { return commandFailed.Load() }

func cmdContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// checkCollections makes sure the dataset's collections exist.
func checkCollections(app core.App) error {
	for _, name := range []string{"score", "embedding", "songs"} {
		if _, err := app.FindCollectionByNameOrId(name); err != nil {
			return fmt.Errorf("the data dir %s has no %q collection: start the server once (or run the migrate up command) before exporting", app.DataDir(), name)
		}
	}
	return nil
}

func runExport(ctx context.Context, app core.App, stderr, stdout io.Writer, path, format string) error {
	if path == "" {
		path = dateName(JSONL) + ".gz"
		if format != "" {
			f, err := ParseFormat(format)
			if err != nil {
				return err
			}
			path = dateName(f) + ".gz"
		}
	}
	f := FormatOfPath(path)
	if format != "" {
		var err error
		if f, err = ParseFormat(format); err != nil {
			return err
		}
	}
	if err := checkCollections(app); err != nil {
		return err
	}
	total, err := CountRows(app, f)
	if err != nil {
		return err
	}

	// write to FILE.partial and rename at the end: an interrupted export
	// never leaves a file that looks complete
	var out io.Writer = stdout
	var file *os.File
	tmp := ""
	if path != "-" {
		tmp = path + ".partial"
		if file, err = os.Create(tmp); err != nil {
			return err
		}
		defer func() {
			if file != nil {
				file.Close()
				os.Remove(tmp)
			}
		}()
		out = file
	}
	counted := &countingWriter{w: out}
	out = counted
	var zw *gzip.Writer
	if strings.HasSuffix(strings.ToLower(path), ".gz") {
		zw = gzip.NewWriter(out)
		out = zw
	}

	bar := NewBar(stderr, "export", "rows", total)
	st, err := Export(ctx, app, out, f, func(n int64) { bar.Update(n, n) })
	if err != nil {
		return fmt.Errorf("export stopped after %s rows: %w", Thousands(st.Rows()), err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return err
		}
	}
	if file != nil {
		if err := file.Sync(); err != nil {
			return err
		}
		if err := file.Close(); err != nil {
			return err
		}
		file = nil
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
	}
	bar.Finish(st.Rows(), st.Rows())
	where := path
	if path == "-" {
		where = "stdout"
	}
	what := fmt.Sprintf("%s score rows and %s embedding rows", Thousands(st.Score), Thousands(st.Embedding))
	if f == CSV {
		what = Thousands(st.Score) + " score rows"
	}
	fmt.Fprintf(stderr, "exported %s to %s (%s, %s) in %s\n", what, where, f, byteSize(counted.n.Load()), roundDuration(time.Since(bar.start)))
	return nil
}

func runImport(ctx context.Context, app core.App, stderr io.Writer, path, format, rejectsPath string, chunk int) error {
	f := FormatOfPath(path)
	if format != "" {
		var err error
		if f, err = ParseFormat(format); err != nil {
			return err
		}
	}
	// like serve, bring the data dir up to date first (a fresh dir too)
	if err := app.RunAllMigrations(); err != nil {
		return fmt.Errorf("applying the migrations: %w", err)
	}
	if err := checkCollections(app); err != nil {
		return err
	}
	if n, err := CountRows(app, JSONL); err == nil && n > 0 {
		fmt.Fprintf(stderr, "note: the dataset already holds %s rows; the imported rows are added to them\n", Thousands(n))
	}

	var in io.Reader = os.Stdin
	var size int64
	if path != "-" {
		file, err := os.Open(path)
		if err != nil {
			return err
		}
		defer file.Close()
		if fi, err := file.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
		in = file
	}
	counted := &countingReader{r: in}
	in, err := maybeGunzip(counted)
	if err != nil {
		return err
	}

	if rejectsPath == "" {
		base := path
		if path == "-" {
			base = "stdin"
		}
		base = strings.TrimSuffix(base, ".gz")
		base = strings.TrimSuffix(base, ".GZ")
		rejectsPath = base + ".rejects.jsonl"
	}
	rejects := &lazyFile{path: rejectsPath}
	defer rejects.Close()

	// a larger page cache for the writing connection while importing: the
	// indexes on random values (ids, MBIDs, ISRCs) outgrow the default
	// cache (see DefaultChunk)
	restore := setPageCache(app, importCacheKiB)
	defer restore()
	defer storage.StartBulkCheckpointer(app)()

	bar := NewBar(stderr, "import", "lines", size)
	sum, err := Import(ctx, app, in, ImportOptions{
		Format:   f,
		Chunk:    chunk,
		Rejects:  rejects,
		Progress: func(s Summary) { bar.Update(counted.n.Load(), s.Read) },
	})
	bar.Finish(counted.n.Load(), sum.Read)
	cerr := rejects.Close()
	printSummary(stderr, sum, rejects)
	if err != nil {
		return fmt.Errorf("import stopped: %w (the lines counted above as imported are stored)", err)
	}
	if cerr != nil {
		return fmt.Errorf("writing the rejects file: %w", cerr)
	}
	return nil
}

// importCacheKiB is the page cache of the writing connection during an
// import (PocketBase's default is 32 MB).
const importCacheKiB = 1 << 20

// setPageCache sets the page cache of the writing connection (the
// nonconcurrent pool has a single connection) and returns a func that
// puts the previous size back.
func setPageCache(app core.App, kib int) func() {
	var prev int
	if err := app.NonconcurrentDB().NewQuery("PRAGMA cache_size").Row(&prev); err != nil {
		return func() {}
	}
	if _, err := app.NonconcurrentDB().NewQuery(fmt.Sprintf("PRAGMA cache_size = -%d", kib)).Execute(); err != nil {
		return func() {}
	}
	return func() {
		_, _ = app.NonconcurrentDB().NewQuery(fmt.Sprintf("PRAGMA cache_size = %d", prev)).Execute()
	}
}

func printSummary(w io.Writer, s Summary, rejects *lazyFile) {
	rate := ""
	if sec := s.Took.Seconds(); sec > 0 {
		rate = fmt.Sprintf(", %s lines/s", Thousands(int64(float64(s.Read)/sec)))
	}
	fmt.Fprintf(w, "read      %12s lines in %s%s (writing to the database: %s)\n", Thousands(s.Read), roundDuration(s.Took), rate, roundDuration(s.Store))
	fmt.Fprintf(w, "imported  %12s lines (%s score rows, %s embedding rows)\n", Thousands(s.Imported), Thousands(s.Score), Thousands(s.Embedding))
	if s.Rejected == 0 {
		fmt.Fprintf(w, "rejected  %12s lines\n", "0")
	} else {
		fmt.Fprintf(w, "rejected  %12s lines, written with their reasons to %s\n", Thousands(s.Rejected), rejects.path)
		reasons := make([]string, 0, len(s.Reasons))
		for r := range s.Reasons {
			reasons = append(reasons, r)
		}
		sort.Slice(reasons, func(i, j int) bool {
			if s.Reasons[reasons[i]] != s.Reasons[reasons[j]] {
				return s.Reasons[reasons[i]] > s.Reasons[reasons[j]]
			}
			return reasons[i] < reasons[j]
		})
		for _, r := range reasons {
			fmt.Fprintf(w, "          %12s  %s\n", Thousands(s.Reasons[r]), r)
		}
	}
	if s.Blank > 0 {
		fmt.Fprintf(w, "skipped   %12s blank lines\n", Thousands(s.Blank))
	}
}

// maybeGunzip reads gzip when the input starts with gzip's magic bytes.
func maybeGunzip(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	magic, err := br.Peek(2)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("reading the gzip header: %w", err)
		}
		return zr, nil
	}
	return br, nil
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

type countingWriter struct {
	w io.Writer
	n atomic.Int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// lazyFile creates its file on the first write: no rejects, no file.
type lazyFile struct {
	path string
	f    *os.File
}

func (l *lazyFile) Write(p []byte) (int, error) {
	if l.f == nil {
		if err := os.MkdirAll(filepath.Dir(l.path), 0o755); err != nil {
			return 0, err
		}
		f, err := os.Create(l.path)
		if err != nil {
			return 0, err
		}
		l.f = f
	}
	return l.f.Write(p)
}

func (l *lazyFile) Close() error {
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
