package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
)

// TestDiskFull puts the agent's data folder on a small file system that
// fills up: uploads are refused cleanly (nothing half-written, the agent
// keeps running), and once space is freed everything accepted is delivered,
// uploads work again and the buffer reopens undamaged. It needs root to
// mount a tmpfs and is skipped otherwise.
func TestDiskFull(t *testing.T) {
	agentBin, hqBin := binaries(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	disk := filepath.Join(dir, "disk")
	os.MkdirAll(disk, 0o755)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", disk).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", disk).Run() })
	filler := filepath.Join(disk, "filler")
	if err := os.WriteFile(filler, bytes.Repeat([]byte("x"), 3<<20), 0o600); err != nil {
		t.Fatal(err)
	}

	addr := freeAddr(t)
	ftpAddr := freeAddr(t)
	s := writeAgentConfig(t, filepath.Join(dir, "agent"), "http://"+addr, ", retry_min: 50ms, retry_max: 300ms",
		ftpSection(t, ftpAddr, "timeclock-pass-1"))
	// The data folder on the small disk; the log beside it.
	cfg := strings.Replace(readFile(t, s.config), "data_dir: data", "data_dir: "+filepath.Join(disk, "data"), 1)
	cfg = strings.Replace(cfg, "log: {level: debug}", "log: {level: debug, file: "+filepath.Join(dir, "agent.log")+"}", 1)
	writeFile(t, s.config, cfg)
	p := startAgent(t, agentBin, s)
	conn, err := ftp.Dial(ftpAddr, ftp.DialWithExplicitTLS(&tls.Config{InsecureSkipVerify: true}), ftp.DialWithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Quit()
	if err := conn.Login("timeclock", "timeclock-pass-1"); err != nil {
		t.Fatal(err)
	}
	upload := func(name string, n int) ([]string, error) {
		data, keys := shiftsFile(strings.TrimSuffix(name, ".csv"), n)
		data = bytes.Replace(bytes.ReplaceAll(data, []byte("0421,"), nil), []byte("location_id,"), nil, 1)
		return keys, conn.Stor(name, bytes.NewReader(data))
	}
	var accepted []string
	var refusal error
	for i := 0; i < 60 && refusal == nil; i++ {
		keys, err := upload(fmt.Sprintf("fill%02d.csv", i), 1500)
		if err != nil {
			refusal = err
			break
		}
		accepted = append(accepted, keys...)
	}
	if refusal == nil || !strings.HasPrefix(refusal.Error(), "452") {
		t.Fatalf("got %v after %d accepted shifts, want 452 when the disk is full\n%s", refusal, len(accepted), tail(p.out.String(), 2000))
	}
	t.Logf("disk full after %d shifts: %v", len(accepted), refusal)
	home := filepath.Join(disk, "data", "ftp", "timeclock")
	for _, sub := range []string{"", ".partial"} {
		entries, _ := os.ReadDir(filepath.Join(home, sub))
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".csv") || sub == ".partial" {
				t.Errorf("a refused upload left %s behind", filepath.Join(sub, e.Name()))
			}
		}
	}
	if s.status() == nil {
		t.Fatalf("the agent stopped answering when the disk filled:\n%s", tail(p.out.String(), 2000))
	}

	// Space comes back; headquarters too.
	os.Remove(filler)
	h := startHQ(t, hqBin, filepath.Join(dir, "hq.db"), addr)
	var more []string
	waitFor(t, "uploads accepted again", 30*time.Second, func() bool {
		keys, err := upload("after.csv", 100)
		if err != nil {
			return false
		}
		more = keys
		return true
	})
	want := append(append([]string(nil), accepted...), more...)
	waitFor(t, "everything accepted at headquarters", 90*time.Second, func() bool { return len(h.records(t)) == len(want) })
	if got := keysOf(h.records(t)); !slicesEqualSorted(got, want) {
		t.Errorf("got %d keys at headquarters, want exactly the %d accepted", len(got), len(want))
	}
	p.stop(t)
	// The buffer reopens undamaged.
	p = startAgent(t, agentBin, s)
	st := s.status()
	if buf, _ := st["buffer"].(map[string]any); buf["recovery"] != nil {
		t.Errorf("the buffer was found damaged after the disk filled: %v", buf["recovery"])
	}
	p.stop(t)
}

func slicesEqualSorted(got, want []string) bool {
	w := sortedCopy(want)
	if len(got) != len(w) {
		return false
	}
	for i := range got {
		if got[i] != w[i] {
			return false
		}
	}
	return true
}
