package ftpd

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// curl runs /usr/bin/curl and returns its exit code and the server's
// replies it printed (-v lines starting with "< ").
func curl(t *testing.T, args ...string) (int, []string) {
	t.Helper()
	path, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, path, append([]string{"-sS", "-v", "--max-time", "30"}, args...)...)
	cmd.Stderr = &stderr
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	var replies []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if r, ok := strings.CutPrefix(strings.TrimRight(l, "\r"), "< "); ok {
			replies = append(replies, r)
		}
	}
	return code, replies
}

// lastReplies keeps the final n replies, where an upload's outcome is.
func lastReplies(r []string, n int) []string {
	if len(r) < n {
		return r
	}
	return r[len(r)-n:]
}

func TestCurl(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "shifts.csv")
	if err := os.WriteFile(file, []byte(shiftsCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		mode     string
		required bool
		scheme   string
		args     []string
	}{
		{"plain", TLSOff, false, "ftp", nil},
		{"explicit", TLSExplicit, true, "ftp", []string{"--ssl-reqd", "-k"}},
		{"implicit", TLSImplicit, false, "ftps", []string{"-k"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, func(c *Config) { c.TLS.Mode, c.TLS.Required = tc.mode, tc.required })
			ts.inbox.will("full.csv", full)
			_, port, _ := net.SplitHostPort(ts.addr)
			url := tc.scheme + "://127.0.0.1:" + port + "/"
			upload := func(name string) (int, []string) {
				args := append([]string{"--user", testUser + ":" + testPassword, "-T", file}, tc.args...)
				return curl(t, append(args, url+name)...)
			}
			// Accepted.
			code, replies := upload("shifts.csv")
			if code != 0 {
				t.Fatalf("curl upload: exit %d, replies %q", code, replies)
			}
			if got := lastReplies(replies, 1); !cmp.Equal(got, []string{"226 Closing transfer connection"}) {
				t.Errorf("upload replies end with %q, want 226", got)
			}
			// Buffer full: 452, and curl fails.
			code, replies = upload("full.csv")
			if code == 0 {
				t.Errorf("curl upload into a full buffer: exit 0, want a failure")
			}
			if got, want := lastReplies(replies, 1), []string{"452 full.csv not kept: the agent's buffer or disk is full, try again later"}; !cmp.Equal(got, want) {
				t.Errorf("full buffer: got %q, want %q", got, want)
			}
			// Not a CSV: 553.
			code, replies = upload("shifts.txt")
			if code == 0 || !cmp.Equal(lastReplies(replies, 1), []string{"553 file name not allowed: only .csv files are accepted"}) {
				t.Errorf("non-CSV: exit %d, replies %q, want 553", code, lastReplies(replies, 1))
			}
			// Byte for byte in archive/, and downloadable.
			if diff := cmp.Diff(map[string]string{"archive/shifts.csv": shiftsCSV}, tree(t, ts.home)); diff != "" {
				t.Errorf("home (-want +got):\n%s", diff)
			}
			out := filepath.Join(t.TempDir(), "got.csv")
			args := append([]string{"--user", testUser + ":" + testPassword, "-o", out}, tc.args...)
			if code, replies := curl(t, append(args, url+"archive/shifts.csv")...); code != 0 {
				t.Fatalf("curl download: exit %d, replies %q", code, replies)
			}
			if b, err := os.ReadFile(out); err != nil || string(b) != shiftsCSV {
				t.Errorf("downloaded: got %q %v, want the upload", b, err)
			}
			if tc.required {
				// Without TLS, the login is refused, saying what to change;
				// curl reports "Access denied: 530" (exit 67), not a timeout.
				code, replies := curl(t, "--user", testUser+":"+testPassword, "-T", file, url+"plain.csv")
				want := []string{"530 this server requires TLS (explicit FTPS): set your client to FTP over TLS"}
				if code != 67 || !cmp.Equal(lastReplies(replies, 1), want) {
					t.Errorf("cleartext in TLS-required mode: exit %d, replies %q, want exit 67 and %q", code, replies, want)
				}
			}
		})
	}
}
