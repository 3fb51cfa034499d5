package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const line = `{"type":"shift","key":"csv:0421:E017:2026-11-20T09:00","rev":1,"source":"csv","location_id":"0421","observed_at":"2026-11-20T18:00:00Z","employee_id":"E017","clock_in":"2026-11-20T09:00:00-05:00","clock_out":null,"hours":"7.50"}`

func TestRunRefusesBadUsage(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(empty, []byte("# no token\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badTokens := filepath.Join(dir, "agents.tokens")
	if err := os.WriteFile(badTokens, []byte("# agents\nstore-042 sha256:00\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		want  string
		usage bool
	}{
		{"bad tokens file", []string{"--tokens-file", badTokens}, "tokens file " + badTokens + ": line 2: agent store-042: sha256: wants 64 hex digits", false},
		{"store and db", []string{"--token", "x", "--store", "a.db", "--db", "b.db"}, "give --store or --db, not both", true},
		{"no token", []string{"--listen", "127.0.0.1:0"}, "give at least one --token, a --token-file or a --tokens-file", true},
		{"unknown flag", []string{"--port", "1"}, "flag provided but not defined: -port", true},
		{"argument", []string{"--token", "x", "serve"}, `unexpected argument "serve"`, true},
		{"empty token", []string{"--token", " "}, `invalid value " " for flag -token: empty token`, true},
		{"missing token file", []string{"--token-file", filepath.Join(dir, "nope.txt")}, "token file: open " + filepath.Join(dir, "nope.txt") + ": no such file or directory", false},
		{"token file without token", []string{"--token-file", empty}, "token file " + empty + " holds no token", false},
		{"bad listen address", []string{"--token", "x", "--listen", "nowhere"}, "listen: listen tcp: address nowhere: missing port in address", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(t.Context(), tc.args, &stdout, &stderr)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			var ue usageError
			if got := errors.As(err, &ue); got != tc.usage {
				t.Errorf("usage error: got %v, want %v", got, tc.usage)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout: got %q, want nothing", stdout.String())
			}
		})
	}
}

// listening reads the "listening on http://ADDR" line and returns the URL.
func listening(t *testing.T, r io.Reader) string {
	t.Helper()
	sc := bufio.NewScanner(r)
	if !sc.Scan() {
		t.Fatalf("no listening line: %v", sc.Err())
	}
	url, ok := strings.CutPrefix(sc.Text(), "listening on ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("got %q, want listening on http://127.0.0.1:PORT", sc.Text())
	}
	go func() { _, _ = io.Copy(io.Discard, r) }()
	return url
}

func post(t *testing.T, url, token, idem string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/v1/batches", strings.NewReader(line+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Idempotency-Key", idem)
	req.Header.Set("X-Agent-Id", "store-042")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func TestRunInProcess(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--token", "t1", "--token", "t2", "--locations", "0421, 0422"}, pw, io.Discard)
		pw.Close()
	}()
	url := listening(t, pr)
	for _, tc := range []struct {
		token, idem string
		status      int
		body        string
	}{
		{"t2", "b-1", 200, `{"accepted":1,"duplicates":0}`},
		{"t1", "b-2", 200, `{"accepted":0,"duplicates":1}`},
		{"t3", "b-3", 401, `{"error":"the token is missing, wrong or revoked"}`},
	} {
		status, body := post(t, url, tc.token, tc.idem)
		if status != tc.status || body != tc.body {
			t.Errorf("%s: got %d %s, want %d %s", tc.idem, status, body, tc.status, tc.body)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: got %v, want nil", err)
	}
}

// TestProcess builds tmas-receiver, runs it as a process, posts a batch,
// stops it with a signal, and checks the batch survived a restart.
func TestProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	dir := t.TempDir()
	bin := buildReceiver(t, dir)
	tokenFile := filepath.Join(dir, "token.txt")
	if err := os.WriteFile(tokenFile, []byte("# agent token\nsecret-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "hq.db")

	start := func() (*exec.Cmd, string, *bytes.Buffer) {
		cmd := exec.Command(bin, "--listen", "127.0.0.1:0", "--token-file", tokenFile, "--db", db, "--admin")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd, listening(t, stdout), &stderr
	}
	stop := func(cmd *exec.Cmd, stderr *bytes.Buffer) {
		if runtime.GOOS == "windows" {
			return // no SIGTERM on Windows: the cleanup kills it
		}
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		waited := make(chan error, 1)
		go func() { waited <- cmd.Wait() }()
		select {
		case err := <-waited:
			if err != nil {
				t.Errorf("exit: %v\nstderr: %s", err, stderr)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("still running 30 s after SIGINT")
		}
	}

	cmd, url, stderr := start()
	if status, body := post(t, url, "secret-1", "p-1"); status != 200 || body != `{"accepted":1,"duplicates":0}` {
		t.Fatalf("got %d %s, want 200", status, body)
	}
	stop(cmd, stderr)
	if runtime.GOOS == "windows" {
		return
	}

	_, url, _ = start()
	if status, body := post(t, url, "secret-1", "p-1"); status != 200 || body != `{"accepted":1,"duplicates":0}` {
		t.Errorf("replay after restart: got %d %s, want 200 with the original counts", status, body)
	}
	resp, err := http.Get(url + "/_admin/records")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	want := `[{"key":"csv:0421:E017:2026-11-20T09:00","rev":1,"line":` + line + `,"agent_id":"store-042","batch":"p-1","redelivered":0}]`
	if d := cmp.Diff(want, strings.TrimSpace(string(b))); d != "" {
		t.Errorf("records after restart (-want +got):\n%s", d)
	}
}

// buildReceiver builds tmas-receiver into dir and returns its path.
func buildReceiver(t *testing.T, dir string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		// Not on PATH: the go command that runs this test exports GOROOT.
		root := os.Getenv("GOROOT")
		if root == "" {
			t.Fatalf("no go tool: %v, and GOROOT is unset", err)
		}
		goTool = filepath.Join(root, "bin", "go")
	}
	bin := filepath.Join(dir, "tmas-receiver")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
