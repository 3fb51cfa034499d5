package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestStopDuringALargeImport stops the agent (SIGTERM, as the service
// manager does) while a file larger than one commit chunk is being
// imported: the agent exits cleanly at once, the file stays in the inbox
// with its progress committed, and the next start finishes it — every
// shift once, none lost.
func TestStopDuringALargeImport(t *testing.T) {
	agentBin, hqBin := binaries(t)
	dir := t.TempDir()
	h := startHQ(t, hqBin, filepath.Join(dir, "hq.db"), "127.0.0.1:0")
	s := writeAgentConfig(t, filepath.Join(dir, "agent"), h.url, "", "")
	p := startAgent(t, agentBin, s)
	data, keys := shiftsFile("big", 40000)
	drop(t, s.inbox(), "big.csv", data)
	waitFor(t, "the import to start committing", 60*time.Second, func() bool {
		st := s.status()
		buf, _ := st["buffer"].(map[string]any)
		f, _ := st["forwarder"].(map[string]any)
		q, _ := buf["queued"].(float64)
		d, _ := f["records_delivered"].(float64)
		return q+d > 0
	})
	stopped := time.Now()
	p.stop(t) // fails if the agent does not exit cleanly within 15 s
	t.Logf("stopped in %s; headquarters held %d of %d shifts", time.Since(stopped).Round(time.Millisecond), len(h.records(t)), len(keys))
	if _, err := os.Stat(filepath.Join(s.inbox(), "big.csv")); err == nil {
		t.Log("the file waits in the inbox, its progress committed")
	} else {
		// It may have finished just before the signal; then it is archived.
		if _, err2 := os.Stat(filepath.Join(s.inbox(), "archive", "big.csv")); err2 != nil {
			t.Fatalf("the file is neither waiting in the inbox nor archived: %v", err)
		}
	}
	p = startAgent(t, agentBin, s)
	waitFor(t, "every shift at headquarters", 3*time.Minute, func() bool { return len(h.records(t)) == len(keys) })
	if st := h.stats(t); st.RedeliveredLines != 0 {
		t.Errorf("got %d lines delivered twice under different batches", st.RedeliveredLines)
	}
	if _, err := os.Stat(filepath.Join(s.inbox(), "archive", "big.csv")); err != nil {
		t.Errorf("the file was not archived after it finished: %v", err)
	}
	p.stop(t)
}
