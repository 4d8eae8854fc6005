package dataset

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/pocketbase/pocketbase/core"

	_ "songcommons/migrations"
	"songcommons/songdata"
	"songcommons/storage"
)

// BenchmarkImport imports a synthetic dump of N songs (a score row and a
// 200-d musicnn embedding row each: 2N lines) into a fresh data dir with
// the production database settings (storage.DBConnect), and reports songs/s
// (wall clock) and CPU ms per 1,000 songs. The dump is generated once into
// the temp dir and reused. Knobs (environment):
//
//	SONGCOMMONS_BENCH_SONGS    N (default 20,000)
//	SONGCOMMONS_BENCH_CHUNK    lines per transaction (default DefaultChunk)
//	SONGCOMMONS_BENCH_PRAGMAS  "synchronous=NORMAL;…": pragmas for the writing connection
//
// The figures in BENCH_NOTES.md come from
//
//	SONGCOMMONS_BENCH_SONGS=100000 go test ./dataset -run '^$' -bench Import -benchtime 1x -count 3
func BenchmarkImport(b *testing.B) {
	n := envInt(b, "SONGCOMMONS_BENCH_SONGS", 20000)
	chunk := envInt(b, "SONGCOMMONS_BENCH_CHUNK", DefaultChunk)
	path, err := benchDump(n)
	if err != nil {
		b.Fatal(err)
	}
	opts := ImportOptions{Chunk: chunk}
	var wall, cpu, store, thread time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		app := core.NewBaseApp(core.BaseAppConfig{DataDir: b.TempDir(), DBConnect: storage.DBConnect})
		if err := app.Bootstrap(); err != nil {
			b.Fatal(err)
		}
		if err := app.RunAllMigrations(); err != nil {
			b.Fatal(err)
		}
		if v := os.Getenv("SONGCOMMONS_BENCH_PRAGMAS"); v != "" {
			for _, p := range strings.Split(v, ";") {
				if _, err := app.NonconcurrentDB().NewQuery("PRAGMA " + p).Execute(); err != nil {
					b.Fatal(err)
				}
			}
		}
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		// Import stores the chunks in the calling goroutine: pinned to
		// this thread, the thread's CPU time is the serial part (storing),
		// which bounds the rate on an idle machine
		runtime.LockOSThread()
		cpu0, thread0 := cpuTime(), threadCPUTime()
		b.StartTimer()
		sum, err := Import(context.Background(), app, f, opts)
		b.StopTimer()
		dcpu, dthread := cpuTime()-cpu0, threadCPUTime()-thread0
		runtime.UnlockOSThread()
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		if sum.Imported != int64(2*n) || sum.Rejected != 0 {
			b.Fatalf("summary %+v", sum)
		}
		var songs int
		_ = app.DB().NewQuery("SELECT COUNT(*) FROM songs").Row(&songs)
		if songs != n {
			b.Fatalf("%d songs rows, want %d", songs, n)
		}
		// the same data dir, exported: rate and memory
		var ms0, ms1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		t0 := time.Now()
		peak := uint64(0)
		st, err := Export(context.Background(), app, io.Discard, JSONL, func(int64) {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
		})
		if err != nil || st.Rows() != int64(2*n) {
			b.Fatalf("export: %d rows, %v", st.Rows(), err)
		}
		exportTook := time.Since(t0)
		runtime.ReadMemStats(&ms1)
		b.Logf("export: %d rows in %s (%.0f songs/s), heap in use %d MB before, peak %d MB during",
			st.Rows(), exportTook.Round(time.Millisecond), float64(n)/exportTook.Seconds(), ms0.HeapInuse>>20, peak>>20)
		wall += sum.Took
		cpu += dcpu
		store += sum.Store
		thread += dthread
		b.Logf("%d songs (%d lines) in %s (storing %s; CPU %s, of which the storing thread %s): %.0f songs/s (idle-machine bound %.0f songs/s)",
			n, sum.Read, sum.Took.Round(time.Millisecond), sum.Store.Round(time.Millisecond), dcpu.Round(time.Millisecond),
			dthread.Round(time.Millisecond), float64(n)/sum.Took.Seconds(), float64(n)/dthread.Seconds())
		_ = app.ResetBootstrapState()
	}
	k := float64(n) * float64(b.N)
	b.ReportMetric(k/wall.Seconds(), "songs/s")
	b.ReportMetric(float64(cpu.Milliseconds())*1000/k, "cpu-ms/1k-songs")
	b.ReportMetric(float64(store.Milliseconds())*1000/k, "store-ms/1k-songs")
	b.ReportMetric(float64(thread.Milliseconds())*1000/k, "store-cpu-ms/1k-songs")
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	return n
}

// cpuTime is the CPU time (user + system) this process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// threadCPUTime is the CPU time of the calling OS thread.
func threadCPUTime() time.Duration {
	var ts syscall.Timespec
	const clockThreadCPUTimeID = 3
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}

// benchDump writes (once) a synthetic dump of n songs and returns its path.
func benchDump(n int) (string, error) {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("songcommons-bench-%d.jsonl", n))
	if fi, err := os.Stat(path); err == nil && fi.Size() > 0 {
		return path, nil
	}
	tmp := path + ".partial"
	f, err := os.Create(tmp)
	if err != nil {
		return "", err
	}
	if err := writeSynthetic(f, n); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return path, os.Rename(tmp, path)
}

// writeSynthetic writes n songs as an export would: per song a score line
// (moods, features, identity) and a musicnn line; eight songs per artist.
func writeSynthetic(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	keys := songdata.PitchClasses()
	moods := []string{"rock", "pop", "electronic", "jazz", "hip-hop", "indie", "soul", "metal", "ambient", "folk"}
	vec := make([]float32, 200)
	for i := range n {
		artist := fmt.Sprintf("Synthetic Artist %d", i/8)
		title := fmt.Sprintf("Track %d of the benchmark", i)
		ident := fmt.Sprintf(`"album":"Album %d","duration":%.1f,"mbid":"","isrc":"","analyzer":"bench/1"`, i/12, 120+r.Float64()*300)
		m := r.Perm(len(moods))
		fmt.Fprintf(bw, `{"artist":%q,"title":%q,"tempo":%.2f,"key":%q,"scale":%q,"mood_vector":"%s:%.3f,%s:%.3f,%s:%.3f","energy":%.3f,"other_features":"danceable:%.3f,aggressive:%.3f",%s}`+"\n",
			artist, title, 60+r.Float64()*140, keys[r.IntN(12)], []string{"major", "minor"}[r.IntN(2)],
			moods[m[0]], 0.7+r.Float64()*0.3, moods[m[1]], 0.3+r.Float64()*0.3, moods[m[2]], r.Float64()*0.3,
			r.Float64(), r.Float64(), r.Float64(), ident)
		for j := range vec {
			vec[j] = float32(r.NormFloat64())
		}
		fmt.Fprintf(bw, `{"artist":%q,"title":%q,%s,"embeddings":{"musicnn":%s}}`+"\n", artist, title, ident, songdata.VectorJSON(vec))
	}
	return bw.Flush()
}
