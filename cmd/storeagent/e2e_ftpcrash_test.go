package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
)

// TestFTPCrashUploads kills the agent while several FTPS clients upload.
// Every upload answered 226 must be at headquarters exactly once; every
// other upload must be there completely or not at all.
func TestFTPCrashUploads(t *testing.T) {
	agentBin, hqBin := binaries(t)
	dir := t.TempDir()
	h := startHQ(t, hqBin, filepath.Join(dir, "hq.db"), "127.0.0.1:0")
	ftpAddr := freeAddr(t)
	s := writeAgentConfig(t, filepath.Join(dir, "agent"), h.url, ", batch_max_lines: 200, retry_min: 50ms, retry_max: 200ms", ftpSection(t, ftpAddr, "timeclock-pass-1"))

	type upload struct {
		name string
		keys []string
		ok   bool // answered 226
	}
	var mu sync.Mutex
	var uploads []*upload
	seq := 0
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	cycles := max(crashCycles()/2, 10)
	for cycle := range cycles {
		p := startAgent(t, agentBin, s)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for c := range 4 {
			wg.Add(1)
			crng := rand.New(rand.NewPCG(uint64(cycle), uint64(c)))
			go func() {
				defer wg.Done()
				conn, err := ftp.Dial(ftpAddr, ftp.DialWithExplicitTLS(&tls.Config{InsecureSkipVerify: true}), ftp.DialWithTimeout(5*time.Second))
				if err != nil {
					return
				}
				defer conn.Quit()
				if conn.Login("timeclock", "timeclock-pass-1") != nil {
					return
				}
				for {
					select {
					case <-stop:
						return
					default:
					}
					mu.Lock()
					seq++
					u := &upload{name: fmt.Sprintf("c%d-%04d.csv", c, seq)}
					uploads = append(uploads, u)
					mu.Unlock()
					data, keys := shiftsFile(strings.TrimSuffix(u.name, ".csv"), 50+crng.IntN(400))
					data = bytes.Replace(bytes.ReplaceAll(data, []byte("0421,"), nil), []byte("location_id,"), nil, 1)
					mu.Lock()
					u.keys = keys
					mu.Unlock()
					if err := conn.Stor(u.name, bytes.NewReader(data)); err != nil {
						return // the agent died under it: the client would retry later
					}
					mu.Lock()
					u.ok = true
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(300+rng.IntN(1200)) * time.Millisecond)
		p.kill()
		close(stop)
		wg.Wait()
		if cycle%5 == 0 {
			t.Logf("cycle %d: %d uploads so far", cycle, len(uploads))
		}
	}
	// A last run, not killed, imports what a crash left pending and delivers.
	p := startAgent(t, agentBin, s)
	waitFor(t, "the queue to drain", 2*time.Minute, func() bool {
		st := s.status()
		buf, _ := st["buffer"].(map[string]any)
		return buf != nil && buf["queued"] == 0.0
	})
	time.Sleep(500 * time.Millisecond)
	p.stop(t)

	have := h.records(t)
	acked, complete, absent := 0, 0, 0
	for _, u := range uploads {
		n := 0
		for _, k := range u.keys {
			if _, ok := have[k]; ok {
				n++
			}
		}
		switch {
		case u.ok && n != len(u.keys):
			t.Errorf("%s was answered 226 but %d of its %d shifts are at headquarters", u.name, n, len(u.keys))
		case u.ok:
			acked++
		case n == len(u.keys):
			complete++
		case n == 0:
			absent++
		default:
			t.Errorf("%s (not acknowledged) is half at headquarters: %d of %d shifts", u.name, n, len(u.keys))
		}
	}
	if st := h.stats(t); st.RedeliveredLines != 0 {
		t.Errorf("got %d lines delivered twice under different batches", st.RedeliveredLines)
	}
	if acked == 0 {
		t.Error("no upload was acknowledged: the test did not exercise anything")
	}
	t.Logf("%d kills: %d uploads answered 226 (all delivered), %d unanswered but complete, %d unanswered and absent", cycles, acked, complete, absent)
}
