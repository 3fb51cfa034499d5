package main

import (
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// shiftsFile makes a timesheet of n shifts for employees prefix-0..n-1, plus
// the given extra employees; it returns the content and the keys.
func shiftsFile(prefix string, n int, extra ...string) ([]byte, []string) {
	var b strings.Builder
	var keys []string
	b.WriteString("location_id,employee_id,date,clock_in,clock_out\n")
	emps := extra
	for i := range n {
		emps = append(emps, fmt.Sprintf("%s-%03d", prefix, i))
	}
	for _, e := range emps {
		fmt.Fprintf(&b, "0421,%s,2026-10-05,09:00,17:00\n", e)
		keys = append(keys, "csv:0421:"+e+":2026-10-05T09:00")
	}
	return []byte(b.String()), keys
}

func (h *hq) responses(t *testing.T, code int) int64 { return h.stats(t).Responses[code] }

// cli runs the storeagent binary as an operator would and returns its
// output and exit code.
func cli(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

// TestOutageEverythingArrivesOnce: headquarters unreachable, then busy
// (503, 429 with Retry-After in both forms), slow beyond the agent's
// timeout, resetting connections after storing, refusing large batches
// (413) and some lines (422). Every valid record arrives exactly once; the
// refused ones are dead letters that `deadletter list` shows and
// `deadletter retry` sends again.
func TestOutageEverythingArrivesOnce(t *testing.T) {
	agentBin, hqBin := binaries(t)
	dir := t.TempDir()
	addr := freeAddr(t)
	url := "http://" + addr
	s := writeAgentConfig(t, filepath.Join(dir, "agent"), url, ", batch_max_lines: 20, retry_min: 50ms, retry_max: 300ms, timeout: 1s", "")
	p := startAgent(t, agentBin, s)
	var want []string
	dropFile := func(name string, n int, extra ...string) {
		data, keys := shiftsFile(strings.TrimSuffix(name, ".csv"), n, extra...)
		drop(t, s.inbox(), name, data)
		want = append(want, keys...)
	}
	forwarder := func() map[string]any {
		st := s.status()
		f, _ := st["forwarder"].(map[string]any)
		return f
	}

	// 1. Headquarters is down: records wait, the reason is visible.
	dropFile("down1.csv", 30)
	dropFile("down2.csv", 30)
	waitFor(t, "both files queued and the forwarder reporting the outage", 30*time.Second, func() bool {
		f := forwarder()
		b, _ := s.status()["buffer"].(map[string]any)
		return b["queued"] == float64(60) && f["state"] == "retrying" && strings.Contains(fmt.Sprint(f["last_error"]), "could not be reached")
	})
	out, _ := cli(t, agentBin, "status", "--config", s.config)
	for _, w := range []string{"60 records waiting", "headquarters could not be reached"} {
		if !strings.Contains(out, w) {
			t.Errorf("status output lacks %q:\n%s", w, out)
		}
	}

	// 2. It comes back busy: 503 then 429, with Retry-After.
	h := startHQ(t, hqBin, filepath.Join(dir, "hq.db"), addr)
	h.setFaults(t, `{"status":503,"count":3,"retry_after":"1"}`)
	waitFor(t, "three 503 answers", 30*time.Second, func() bool { return h.responses(t, 503) >= 3 })
	h.setFaults(t, fmt.Sprintf(`{"status":429,"count":2,"retry_after":%q}`, time.Now().Add(time.Second).UTC().Format(http.TimeFormat)))
	waitFor(t, "two 429 answers", 30*time.Second, func() bool { return h.responses(t, 429) >= 2 })

	// 3. Slow: answers come after the agent gave up (stored anyway).
	h.setFaults(t, `{"delay":"1500ms"}`)
	dropFile("slow.csv", 25)
	waitFor(t, "a batch stored twice (the second a replay)", 60*time.Second, func() bool { return h.stats(t).DuplicateBatches >= 1 })

	// 4. Connection reset right after storing.
	h.setFaults(t, `{"reset_after_store":3}`)
	dropFile("reset.csv", 45)
	waitFor(t, "three resets", 60*time.Second, func() bool { return h.stats(t).Resets >= 3 })

	// 5. Batches too large: split.
	h.setFaults(t, `{"max_lines":5}`)
	dropFile("split.csv", 30)
	waitFor(t, "a 413", 60*time.Second, func() bool { return h.responses(t, 413) >= 1 })

	// 6. Two lines refused.
	h.setFaults(t, `{"reject_keys":{"csv:0421:REJ1:2026-10-05T09:00":"employee_id: REJ1 is not on the payroll","csv:0421:REJ2:2026-10-05T09:00":"employee_id: REJ2 left in 2025"}}`)
	data, _ := shiftsFile("rej", 10, "REJ1", "REJ2")
	drop(t, s.inbox(), "rej.csv", data)
	_, rejKeys := shiftsFile("rej", 10)
	want = append(want, rejKeys...)
	waitFor(t, "the queue to drain", 90*time.Second, func() bool {
		st := s.status()
		buf, _ := st["buffer"].(map[string]any)
		return buf["queued"] == 0.0 && buf["dead_letters"] == 2.0
	})
	h.setFaults(t, `{}`)

	got := keysOf(h.records(t))
	if diff := cmp.Diff(sortedCopy(want), got); diff != "" {
		t.Errorf("keys at headquarters (-want +got):\n%s", diff)
	}
	st := h.stats(t)
	if st.RedeliveredLines != 0 {
		t.Errorf("got %d lines sent twice under different batches", st.RedeliveredLines)
	}
	if st.Responses[503] < 3 || st.Responses[429] < 2 || st.Responses[413] < 1 || st.Responses[422] < 1 || st.Resets < 3 || st.DuplicateBatches < 1 {
		t.Errorf("the faults did not all happen: %+v", st)
	}

	out, code := cli(t, agentBin, "deadletter", "list", "--config", s.config)
	for _, w := range []string{"csv:0421:REJ1:2026-10-05T09:00", "reason: employee_id: REJ1 is not on the payroll",
		"csv:0421:REJ2:2026-10-05T09:00", "reason: employee_id: REJ2 left in 2025", "2 dead letters."} {
		if !strings.Contains(out, w) {
			t.Errorf("deadletter list lacks %q (exit %d):\n%s", w, code, out)
		}
	}
	out, code = cli(t, agentBin, "deadletter", "retry", "--config", s.config)
	if code != 0 || !strings.Contains(out, "2 records queued again.") {
		t.Errorf("deadletter retry: exit %d\n%s", code, out)
	}
	waitFor(t, "the retried lines at headquarters", 30*time.Second, func() bool {
		r := h.records(t)
		_, a := r["csv:0421:REJ1:2026-10-05T09:00"]
		_, b := r["csv:0421:REJ2:2026-10-05T09:00"]
		return a && b
	})
	p.stop(t)
}

func keysOf(m map[string]storedRecord) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return sortedCopy(out)
}

func sortedCopy(s []string) []string { return slices.Sorted(slices.Values(s)) }
