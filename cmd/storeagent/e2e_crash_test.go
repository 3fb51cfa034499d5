package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// crashFile is one generated timesheet: its name, content, and the shifts
// it sets (key -> hours), or none when it is meant to be refused.
type crashFile struct {
	name   string
	data   []byte
	shifts map[string]string
}

// makeCrashFiles makes files with distinct employees, some large enough to
// be committed in several chunks, some correcting earlier shifts (a higher
// hours value), and some refused (whose shifts must never arrive).
func makeCrashFiles(rng *rand.Rand, n int) []crashFile {
	var files []crashFile
	for i := range n {
		f := crashFile{name: fmt.Sprintf("f%03d.csv", i), shifts: map[string]string{}}
		var b strings.Builder
		b.WriteString("location_id;employee_id;date;clock_in;clock_out;break_minutes\r\n")
		rows := 20 + rng.IntN(200)
		if i%9 == 4 {
			rows = 6000 + rng.IntN(6000) // more than one commit chunk
		}
		refused := i%7 == 3
		for r := range rows {
			emp := fmt.Sprintf("E%03d-%05d", i, r)
			day := 1 + r%28
			out := 15 + r%4
			brk := 0
			if i >= 10 && r < 5 { // a correction of file i-10's first shifts
				emp = fmt.Sprintf("E%03d-%05d", i-10, r)
				brk = 15
			}
			fmt.Fprintf(&b, "0421;%s;%02d/10/2026;09:00;%02d:00;%d\r\n", emp, day, out, brk)
			key := fmt.Sprintf("csv:0421:%s:2026-10-%02dT09:00", emp, day)
			hours := strconv.FormatFloat(float64(out-9)-float64(brk)/60, 'f', 2, 64)
			f.shifts[key] = hours
		}
		if refused {
			fmt.Fprintf(&b, "0421;BAD-%03d;31/02/2026;09:00;17:00;0\r\n", i)
			f.shifts = nil
		}
		f.data = []byte(b.String())
		files = append(files, f)
	}
	return files
}

func crashCycles() int {
	if v, err := strconv.Atoi(os.Getenv("STOREAGENT_CRASH_CYCLES")); err == nil && v > 0 {
		return v
	}
	return 20
}

// TestCrashLosesNothing kills the agent with SIGKILL at random moments while
// files are imported and batches forwarded, many times. Afterwards
// headquarters holds every shift exactly once at its latest value, nothing
// of a refused file, and no revision was sent twice under different batches.
// STOREAGENT_CRASH_CYCLES raises the number of kills (default 20).
func TestCrashLosesNothing(t *testing.T) {
	agentBin, hqBin := binaries(t)
	dir := t.TempDir()
	h := startHQ(t, hqBin, filepath.Join(dir, "hq.db"), "127.0.0.1:0")
	// Small batches and a slow headquarters, so that kills land in the
	// middle of deliveries as well as imports.
	h.setFaults(t, `{"delay":"15ms"}`)
	s := writeAgentConfig(t, filepath.Join(dir, "agent"), h.url, ", batch_max_lines: 300, retry_min: 50ms, retry_max: 200ms", "")

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	cycles := crashCycles()
	files := makeCrashFiles(rng, max(cycles*2, 40))
	want := map[string]string{}
	next := 0
	for cycle := range cycles {
		p := startAgent(t, agentBin, s)
		for range 1 + rng.IntN(3) {
			if next < len(files) {
				drop(t, s.inbox(), files[next].name, files[next].data)
				next++
			}
		}
		time.Sleep(time.Duration(50+rng.IntN(600)) * time.Millisecond)
		p.kill()
		if cycle%5 == 0 {
			t.Logf("cycle %d: %d files dropped, headquarters holds %d keys", cycle, next, h.stats(t).Keys)
		}
	}
	for next < len(files) {
		drop(t, s.inbox(), files[next].name, files[next].data)
		next++
	}
	for _, f := range files {
		for k, v := range f.shifts {
			want[k] = v
		}
	}
	// A last run, not killed, finishes the work.
	p := startAgent(t, agentBin, s)
	waitFor(t, "every file processed and delivered", 3*time.Minute, func() bool {
		st := s.status()
		if st == nil {
			return false
		}
		entries, _ := os.ReadDir(s.inbox())
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".csv") {
				return false
			}
		}
		buf, _ := st["buffer"].(map[string]any)
		q, _ := buf["queued"].(float64)
		return q == 0
	})
	p.stop(t)

	got := map[string]string{}
	for k, r := range h.records(t) {
		f := fields(t, r.Line)
		got[k], _ = f["hours"].(string)
		if strings.Contains(k, "BAD-") {
			t.Errorf("a refused file's shift reached headquarters: %s", k)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("shifts at headquarters (-want +got):\n%s", diff)
	}
	st := h.stats(t)
	if st.RedeliveredLines != 0 {
		t.Errorf("got %d lines sent again under another batch id", st.RedeliveredLines)
	}
	rejected, _ := os.ReadDir(filepath.Join(s.inbox(), "rejected"))
	var reports int
	for _, e := range rejected {
		if strings.HasSuffix(e.Name(), ".errors.txt") {
			reports++
		}
	}
	wantRefused := 0
	for _, f := range files {
		if f.shifts == nil {
			wantRefused++
		}
	}
	if reports != wantRefused {
		t.Errorf("got %d error reports, want one per refused file (%d)", reports, wantRefused)
	}
	t.Logf("%d kills, %d files, %d shifts, %d batches accepted, %d duplicate batches", cycles, len(files), len(want), st.BatchesAccepted, st.DuplicateBatches)
}
