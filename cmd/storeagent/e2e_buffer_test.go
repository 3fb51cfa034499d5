package main

import (
	"bytes"
	"crypto/tls"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
)

// TestDamagedBufferIsSetAside damages the buffer file while the agent is
// stopped: it must start anyway, say so loudly, and keep accepting and
// delivering new data.
func TestDamagedBufferIsSetAside(t *testing.T) {
	agentBin, hqBin := binaries(t)
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"truncated", func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, fi.Size()/3); err != nil {
				t.Fatal(err)
			}
		}},
		{"bit-flipped", func(t *testing.T, path string) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for off := 2 * 4096; off+16 < len(b); off += 4096 {
				b[off+8] ^= 0xff // the page's flags: every page becomes unreadable
			}
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			h := startHQ(t, hqBin, filepath.Join(dir, "hq.db"), "127.0.0.1:0")
			s := writeAgentConfig(t, filepath.Join(dir, "agent"), h.url, "", "")
			p := startAgent(t, agentBin, s)
			first, firstKeys := shiftsFile("before", 400)
			drop(t, s.inbox(), "before.csv", first)
			waitFor(t, "the first file delivered", 30*time.Second, func() bool { return len(h.records(t)) == len(firstKeys) })
			p.stop(t)

			buffer := filepath.Join(s.dir, "data", "buffer.db")
			tc.damage(t, buffer)
			p = startAgent(t, agentBin, s)
			out, code := cli(t, agentBin, "status", "--config", s.config)
			if code != 1 || !strings.Contains(out, "NOT HEALTHY") || !strings.Contains(out, "the buffer file was damaged at start-up and set aside as "+buffer+".damaged-") {
				t.Errorf("status after damage: exit %d\n%s", code, out)
			}
			matches, _ := filepath.Glob(buffer + ".damaged-*")
			if len(matches) != 1 {
				t.Errorf("got %v, want the damaged file kept aside", matches)
			}
			if !strings.Contains(p.out.String(), "the buffer file was damaged at start-up and set aside") {
				t.Errorf("the log does not say the buffer was damaged:\n%s", p.out)
			}
			// It keeps working.
			next, nextKeys := shiftsFile("after", 50)
			drop(t, s.inbox(), "after.csv", next)
			waitFor(t, "the next file delivered", 30*time.Second, func() bool {
				return len(h.records(t)) == len(firstKeys)+len(nextKeys)
			})
			p.stop(t)
		})
	}
}

// TestFullBufferRefusesNewInput fills a small buffer while headquarters is
// unreachable: FTP uploads get 452 and leave nothing, inbox files wait in
// place, status says why; once headquarters is back everything accepted
// arrives and input is accepted again, by itself.
func TestFullBufferRefusesNewInput(t *testing.T) {
	agentBin, hqBin := binaries(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	ftpAddr := freeAddr(t)
	s := writeAgentConfig(t, filepath.Join(dir, "agent"), "http://"+addr, ", retry_min: 50ms, retry_max: 300ms",
		"buffer: {max_size: 1MiB}\n"+ftpSection(t, ftpAddr, "timeclock-pass-1"))
	p := startAgent(t, agentBin, s)
	c, err := ftp.Dial(ftpAddr, ftp.DialWithExplicitTLS(&tls.Config{InsecureSkipVerify: true}), ftp.DialWithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Quit()
	if err := c.Login("timeclock", "timeclock-pass-1"); err != nil {
		t.Fatal(err)
	}
	var accepted []string
	var refusal error
	for i := 0; i < 40 && refusal == nil; i++ {
		name := "up" + string(rune('a'+i/26)) + string(rune('a'+i%26)) + ".csv"
		data, keys := shiftsFile(strings.TrimSuffix(name, ".csv"), 600)
		data = bytes.ReplaceAll(data, []byte("0421,"), nil) // the FTP user is bound to 0421
		data = bytes.Replace(data, []byte("location_id,"), nil, 1)
		if err := c.Stor(name, bytes.NewReader(data)); err != nil {
			refusal = err
			break
		}
		accepted = append(accepted, keys...)
	}
	if refusal == nil || !strings.HasPrefix(refusal.Error(), "452") {
		t.Fatalf("got %v after %d accepted shifts, want a 452 refusal", refusal, len(accepted))
	}
	home := filepath.Join(s.dir, "data", "ftp", "timeclock")
	entries, _ := os.ReadDir(home)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".csv") {
			t.Errorf("a refused upload left %s behind", e.Name())
		}
	}
	inboxData, inboxKeys := shiftsFile("waiting", 50)
	drop(t, s.inbox(), "waiting.csv", inboxData)
	time.Sleep(time.Second)
	if _, err := os.Stat(filepath.Join(s.inbox(), "waiting.csv")); err != nil {
		t.Errorf("the inbox file did not wait in place while full: %v", err)
	}
	out, code := cli(t, agentBin, "status", "--config", s.config)
	if code != 1 || !strings.Contains(out, "the buffer is full: new uploads are refused") {
		t.Errorf("status while full: exit %d\n%s", code, out)
	}

	h := startHQ(t, hqBin, filepath.Join(dir, "hq.db"), addr)
	want := append(append([]string(nil), accepted...), inboxKeys...)
	waitFor(t, "everything accepted and the waiting file at headquarters", 90*time.Second, func() bool {
		return len(h.records(t)) == len(want)
	})
	got := keysOf(h.records(t))
	if !slices.Equal(got, sortedCopy(want)) {
		t.Errorf("got %d keys, want exactly the %d accepted", len(got), len(want))
	}
	data, _ := shiftsFile("again", 10)
	data = bytes.ReplaceAll(bytes.Replace(data, []byte("location_id,"), nil, 1), []byte("0421,"), nil)
	if err := c.Stor("again.csv", bytes.NewReader(data)); err != nil {
		t.Errorf("got %v uploading after the buffer drained, want 226", err)
	}
	p.stop(t)
}
