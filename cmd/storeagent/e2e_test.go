package main

// End-to-end tests: the real storeagent and tmas-receiver binaries, on
// loopback, driven with files, a real FTP client, signals and the receiver's
// fault injection. They are skipped under -short.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds storeagent and tmas-receiver once per test run.
func binaries(t *testing.T) (agentBin, receiverBin string) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test: skipped with -short")
	}
	if runtime.GOOS == "windows" {
		t.Skip("the end-to-end tests use POSIX signals")
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "storeagent-e2e-bin-")
		if buildErr != nil {
			return
		}
		for _, pkg := range []string{"github.com/tmas/storeagent/cmd/storeagent", "github.com/tmas/storeagent/cmd/tmas-receiver"} {
			out, err := exec.Command("go", "build", "-race", "-o", binDir, pkg).CombinedOutput()
			if err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "storeagent"), filepath.Join(binDir, "tmas-receiver")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// proc is a child process with its output kept for failure messages.
type proc struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	err  error
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startProc(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.Env = append(os.Environ(), "GORACE=halt_on_error=1")
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.kill() })
	return p
}

func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			t.Errorf("process exited with %v after SIGTERM; output:\n%s", p.err, p.out)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("process did not stop within 15s of SIGTERM; output:\n%s", p.out)
	}
}

// hq is the receiver binary and its admin API.
type hq struct {
	url string
	p   *proc
}

func startHQ(t *testing.T, bin, db, listen string) *hq {
	t.Helper()
	p := startProc(t, bin, "--listen", listen, "--db", db, "--token", "agent-token", "--locations", "0421,0422", "--admin")
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(p.out.String(), "\n") {
			if addr, ok := strings.CutPrefix(line, "listening on "); ok {
				return &hq{url: strings.TrimSpace(addr), p: p}
			}
		}
		select {
		case <-p.done:
			t.Fatalf("receiver exited: %v\n%s", p.err, p.out)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("receiver did not start:\n%s", p.out)
	return nil
}

type storedRecord struct {
	Key         string          `json:"key"`
	Rev         int64           `json:"rev"`
	Line        json.RawMessage `json:"line"`
	Redelivered int64           `json:"redelivered"`
}

func (h *hq) records(t *testing.T) map[string]storedRecord {
	t.Helper()
	var rs []storedRecord
	h.getJSON(t, "/_admin/records", &rs)
	out := map[string]storedRecord{}
	for _, r := range rs {
		out[r.Key] = r
	}
	return out
}

type hqStats struct {
	BatchesAccepted  int64         `json:"batches_accepted"`
	LinesAccepted    int64         `json:"lines_accepted"`
	RedeliveredLines int64         `json:"redelivered_lines"`
	Keys             int64         `json:"keys"`
	DuplicateBatches int64         `json:"duplicate_batches"`
	Resets           int64         `json:"resets"`
	Responses        map[int]int64 `json:"responses"`
}

func (h *hq) stats(t *testing.T) hqStats {
	var s hqStats
	h.getJSON(t, "/_admin/stats", &s)
	return s
}

func (h *hq) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	resp, err := http.Get(h.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func (h *hq) setFaults(t *testing.T, faults string) {
	t.Helper()
	resp, err := http.Post(h.url+"/_admin/faults", "application/json", strings.NewReader(faults))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("set faults %s: %s %s", faults, resp.Status, body)
	}
}

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// agentSetup is one agent's folder and configuration.
type agentSetup struct {
	dir, config, statusAddr, ftpAddr string
	ftpPassword                      string
}

// writeAgentConfig writes an agent's configuration: headquarters at
// upstream (upstreamOpts are more keys of the upstream mapping, e.g.
// ", retry_max: 200ms"), plus extra sections.
func writeAgentConfig(t *testing.T, dir, upstream, upstreamOpts, extra string) agentSetup {
	t.Helper()
	os.MkdirAll(dir, 0o750)
	s := agentSetup{dir: dir, config: filepath.Join(dir, "config.yaml"), statusAddr: freeAddr(t)}
	text := fmt.Sprintf(`agent: {id: e2e-store, data_dir: data, timezone: America/Toronto}
upstream: {url: %q, token: agent-token, batch_max_age: 50ms%s}
locations:
  "0421": {timezone: America/Toronto}
  "0422": {timezone: Europe/Paris}
inbox: {settle: 100ms, rescan: 500ms}
status: {listen: %q}
log: {level: debug}
%s`, upstream, upstreamOpts, s.statusAddr, extra)
	if err := os.WriteFile(s.config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// ftpSection is the ftp: block of a configuration with two users with the
// same password: timeclock, bound to location 0421, and payroll, bound to
// none (its files name their location).
func ftpSection(t testing.TB, addr, password string) string {
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`ftp:
  listen: %q
  passive_ports: "0"
  tls: {mode: explicit}
  users:
    - {name: timeclock, password_hash: '%s', location: "0421"}
    - {name: payroll, password_hash: '%s'}
`, addr, hash, hash)
}

func (s agentSetup) inbox() string { return filepath.Join(s.dir, "data", "inbox") }

// status reads the running agent's status, or nil when it does not answer.
func (s agentSetup) status() map[string]any {
	resp, err := http.Get("http://" + s.statusAddr + "/api/status")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var v map[string]any
	if json.NewDecoder(resp.Body).Decode(&v) != nil {
		return nil
	}
	return v
}

func startAgent(t *testing.T, bin string, s agentSetup) *proc {
	t.Helper()
	p := startProc(t, bin, "run", "--config", s.config)
	waitFor(t, "the agent's status API", 30*time.Second, func() bool {
		select {
		case <-p.done:
			t.Fatalf("agent exited: %v\n%s", p.err, p.out)
		default:
		}
		return s.status() != nil
	})
	return p
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// drop puts a file into a folder the way careful uploaders do: a hidden
// temporary name, then a rename.
func drop(t *testing.T, dir, name string, content []byte) {
	t.Helper()
	os.MkdirAll(dir, 0o750)
	tmp := filepath.Join(dir, "."+name+".part")
	if err := os.WriteFile(tmp, content, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// fields decodes a record line without rev and observed_at, which the agent
// sets, for comparison with golden files.
func fields(t *testing.T, line []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatalf("bad record line %s: %v", line, err)
	}
	delete(m, "rev")
	delete(m, "observed_at")
	return m
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			out = append(out, sc.Text())
		}
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
