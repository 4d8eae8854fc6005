package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is a child /tmp/songcommons serve process on 127.0.0.1.
type server struct {
	cmd     *exec.Cmd
	url     string
	started time.Time
	logPath string
	done    chan error
}

// serverEnv: sign-in "on" (any client id/secret: nobody signs in through
// GitHub here, uploads use a token minted offline), no daily quota, no
// per-IP rate limits, no scheduled backup.
func serverEnv() []string {
	env := os.Environ()
	return append(env,
		"SONGCOMMONS_DAILY_QUOTA=0",
		"SONGCOMMONS_GITHUB_CLIENT_ID=loadgen-client-id",
		"SONGCOMMONS_GITHUB_CLIENT_SECRET=loadgen-client-secret",
		"SONGCOMMONS_RATE_LIMITS=off", // 100 clients share one IP here
		"SONGCOMMONS_BACKUP_CRON=off", // no scheduled backup in the middle of a run
	)
}

func startServer(bin, dir string, port int) (*server, error) {
	addr := fmt.Sprintf("127.0.0.1:%d", port) // load only ever targets 127.0.0.1
	if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
		c.Close()
		return nil, fmt.Errorf("%s is already in use", addr)
	}
	logPath := filepath.Join(os.TempDir(), fmt.Sprintf("loadgen-server-%d.log", port))
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve", "--dir", dir, "--http", addr)
	cmd.Env = serverEnv()
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the load generator
	s := &server{cmd: cmd, url: "http://" + addr, logPath: logPath, done: make(chan error, 1)}
	s.started = time.Now()
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, err
	}
	go func() { s.done <- cmd.Wait(); lf.Close() }()
	return s, nil
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// Readiness is what waitReady measured, from process start.
type Readiness struct {
	Listening  time.Duration  `json:"listening_s"`
	Health     time.Duration  `json:"health_s"`
	Status     time.Duration  `json:"status_s"`
	IndexSongs map[string]int `json:"index_songs"`
	Songs      int64          `json:"songs"`
}

// waitReady polls until GET /api/health and GET /api/songcommons/status
// answer 200 and the status shows the musicnn index holding at least
// wantIndex songs (the index is built inside OnServe, before the server
// listens, so the first answer already shows it loaded).
func (s *server) waitReady(wantIndex int, timeout time.Duration) (Readiness, error) {
	var r Readiness
	cl := &http.Client{Timeout: 5 * time.Second}
	deadline := s.started.Add(timeout)
	addr := strings.TrimPrefix(s.url, "http://")
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			s.done <- err
			return r, fmt.Errorf("server exited during start-up (%v); see %s", err, s.logPath)
		default:
		}
		if r.Listening == 0 {
			if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
				c.Close()
				r.Listening = time.Since(s.started)
			} else {
				time.Sleep(10 * time.Millisecond)
				continue
			}
		}
		if r.Health == 0 {
			if res, err := cl.Get(s.url + "/api/health"); err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == 200 {
					r.Health = time.Since(s.started)
				}
			}
		}
		if r.Health != 0 {
			res, err := cl.Get(s.url + "/api/songcommons/status")
			if err == nil {
				type state struct {
					Ready bool `json:"ready"`
				}
				var st struct {
					Songs      int64          `json:"songs"`
					IndexSongs map[string]int `json:"indexSongs"`
					SignIn     bool           `json:"signIn"`
					// built in the background (absent: built before listening)
					Search *state `json:"searchIndex"`
					Prints *state `json:"fingerprintIndex"`
				}
				err = json.NewDecoder(res.Body).Decode(&st)
				res.Body.Close()
				built := func(s *state) bool { return s == nil || s.Ready }
				if err == nil && res.StatusCode == 200 && st.IndexSongs["musicnn"] >= wantIndex && built(st.Search) && built(st.Prints) {
					if !st.SignIn {
						return r, fmt.Errorf("status says sign-in is off")
					}
					r.Status = time.Since(s.started)
					r.IndexSongs, r.Songs = st.IndexSongs, st.Songs
					return r, nil
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return r, fmt.Errorf("not ready after %s; see %s", timeout, s.logPath)
}

// printLog prints the lines of the server's log that contain sub (the
// start-up's own figures, such as the fingerprint index's build time).
func (s *server) printLog(sub string) {
	b, _ := os.ReadFile(s.logPath)
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, sub) {
			fmt.Println("  server log:", l)
		}
	}
}

// stop ends the child: SIGTERM (graceful), SIGKILL after 60 s.
func (s *server) stop() error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		return err
	case <-time.After(60 * time.Second):
		_ = s.cmd.Process.Kill()
		return <-s.done
	}
}

// crash ends the child with SIGKILL (no shutdown hooks, no checkpoint).
func (s *server) crash() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Mem is a process's memory from /proc/PID/status, in MiB.
type Mem struct {
	RSS float64 `json:"rss_mib"`
	HWM float64 `json:"hwm_mib"`
}

func readMem(pid int) Mem {
	var m Mem
	if pid <= 0 {
		return m
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fs := strings.Fields(v)
		if len(fs) == 0 {
			continue
		}
		kb, _ := strconv.ParseFloat(fs[0], 64)
		switch k {
		case "VmRSS":
			m.RSS = kb / 1024
		case "VmHWM":
			m.HWM = kb / 1024
		}
	}
	return m
}

// cpuTime is a process's user+system CPU time from /proc/PID/stat.
func cpuTime(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+2:]
	}
	fs := strings.Fields(s)
	if len(fs) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(fs[11], 10, 64)
	st, _ := strconv.ParseInt(fs[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ = 100 on Linux
}

// selfCPU is this process's CPU time (the load generator's share of the 2 cores).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runqueueWait is the time this process's threads spent runnable but not
// running (waiting for a core: the machine is shared), from
// /proc/self/task/*/schedstat.
func runqueueWait() time.Duration {
	ts, _ := filepath.Glob("/proc/self/task/*/schedstat")
	var sum int64
	for _, t := range ts {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		fs := strings.Fields(string(b))
		if len(fs) >= 2 {
			n, _ := strconv.ParseInt(fs[1], 10, 64)
			sum += n
		}
	}
	return time.Duration(sum)
}

// loadAvg is the 1-minute load average.
func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}
