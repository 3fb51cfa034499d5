//go:build !windows

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestFTPPasswdKeepsTheOwner: ftp passwd, run as root, rewrites the
// configuration and keeps it root:storeagent, else the service (running as
// storeagent) could no longer read it.
func TestFTPPasswdKeepsTheOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the file to another group")
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	mustWrite(t, path, "ftp:\n  users: []\n")
	if err := os.Chown(path, 0, 4343); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := run(t.Context(), []string{"ftp", "passwd", "timeclock", "--config", path}, strings.NewReader("s3cret-pass\n"), &out, &out); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != 0 || st.Gid != 4343 || fi.Mode().Perm() != 0o640 {
		t.Errorf("got %d:%d %v, want 0:4343 -rw-r-----", st.Uid, st.Gid, fi.Mode().Perm())
	}
}
