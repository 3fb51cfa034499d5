package statusreport

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tmas/storeagent/importers/record"
)

// inProcess serves requests with a handler in the calling goroutine, so the
// bubble's fake clock can advance (a socket never counts as durably blocked).
type inProcess struct{ h http.Handler }

func (p inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	p.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// hq is a headquarters double for PUT /v1/agents/{id}/status as the
// contract says: it checks the token, that X-Agent-Id equals the path id,
// the content type and the body, answers 204, or what code says.
type hq struct {
	mu      sync.Mutex
	code    int           // answer instead of 204 when set
	hold    chan struct{} // when set, the next request waits for it to close
	reports []got
}

type got struct {
	At     time.Time
	Report Report
	Fields []string // the body's top-level field names
}

func (h *hq) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	hold, code := h.hold, h.code
	h.hold = nil
	h.mu.Unlock()
	if hold != nil {
		<-hold
	}
	id, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/v1/agents/"), "/status")
	switch {
	case r.Method != http.MethodPut || !ok || strings.Contains(id, "/"):
		http.Error(w, "no such route", http.StatusNotFound)
		return
	case r.Header.Get("Authorization") != "Bearer agent-token":
		http.Error(w, "bad token", http.StatusUnauthorized)
		return
	case r.Header.Get("X-Agent-Id") != id:
		http.Error(w, "X-Agent-Id differs from the path", http.StatusForbidden)
		return
	case r.Header.Get("Content-Type") != "application/json":
		http.Error(w, "not JSON", http.StatusBadRequest)
		return
	}
	raw, _ := io.ReadAll(r.Body)
	var fields map[string]json.RawMessage
	var rep Report
	if json.Unmarshal(raw, &fields) != nil || json.Unmarshal(raw, &rep) != nil {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	h.mu.Lock()
	h.reports = append(h.reports, got{time.Now(), rep, names})
	h.mu.Unlock()
	if code != 0 {
		w.WriteHeader(code)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *hq) got() []got {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]got(nil), h.reports...)
}

// agentState is the snapshot double: a verdict that the test flips.
type agentState struct {
	mu      sync.Mutex
	healthy bool
	started time.Time
}

func (s *agentState) set(healthy bool) {
	s.mu.Lock()
	s.healthy = healthy
	s.mu.Unlock()
}

func (s *agentState) snapshot() Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	rep := sample(s.started)
	rep.Healthy = s.healthy
	if !s.healthy {
		rep.Problems = []string{"the buffer is full: new uploads are refused and polling is paused until headquarters catches up"}
	}
	return rep
}

func sample(started time.Time) Report {
	ok := started.Add(-time.Hour).UTC()
	next := started.Add(time.Hour).UTC()
	return Report{
		AgentID: "store-042", Version: "1.4.0", OS: "linux/amd64", StartedAt: started.UTC(), Healthy: true, Problems: []string{},
		Buffer:    Buffer{Queued: 3, OldestQueuedAt: &ok, DeadLetters: 1, Bytes: 65536, MaxBytes: 1 << 30},
		Sources:   []Source{{Name: "shopify", State: "ok", LastSuccessAt: &ok, NextRunAt: &next}},
		Files:     Files{Accepted: 2, Refused: 1},
		Locations: []string{"0421", "0422"},
	}
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

func (s *syncBuffer) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Split(strings.TrimSpace(s.b.String()), "\n")
}

// run starts a reporter against the double; stop ends it and waits.
func run(t *testing.T, h *hq, st *agentState) (r *Reporter, logs *syncBuffer, stop func() error) {
	t.Helper()
	logs = &syncBuffer{}
	r = New(Config{URL: "https://hq.example/", AgentID: "store-042", Token: record.NewSecret("agent-token"),
		Client: &http.Client{Transport: inProcess{h}}, Interval: 5 * time.Minute,
		Snapshot: st.snapshot, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	return r, logs, func() error { cancel(); return <-done }
}

// TestReportAtStartFollowsTheContract: the first report goes at once, with
// every field the contract lists and the snapshot's facts unchanged.
func TestReportAtStartFollowsTheContract(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &hq{}
		st := &agentState{healthy: true, started: time.Now()}
		_, _, stop := run(t, h, st)
		synctest.Wait()
		reports := h.got()
		stop()
		if len(reports) != 1 {
			t.Fatalf("got %d reports at start, want 1", len(reports))
		}
		g := reports[0]
		wantFields := []string{"agent_id", "buffer", "files", "healthy", "interval_s", "locations", "os", "problems", "sent_at", "sources", "started_at", "version"}
		if diff := cmp.Diff(wantFields, g.Fields); diff != "" {
			t.Errorf("body fields (-want +got):\n%s", diff)
		}
		if !g.At.Equal(st.started) {
			t.Errorf("got the first report %v after start, want at once", g.At.Sub(st.started))
		}
		if iv := g.Report.IntervalS; iv < 270 || iv > 330 {
			t.Errorf("got interval_s %d, want 5 minutes ± 10%%", iv)
		}
		want := sample(st.started)
		want.SentAt, want.IntervalS = st.started.UTC(), g.Report.IntervalS
		if diff := cmp.Diff(want, g.Report); diff != "" {
			t.Errorf("report (-want +got):\n%s", diff)
		}
	})
}

// TestBodyNamesNullTimes: a time the agent does not have is null on the wire.
func TestBodyNamesNullTimes(t *testing.T) {
	rep := Report{Problems: []string{}, Sources: []Source{{Name: "vend", State: "error", LastError: "x"}}, Locations: []string{}}
	raw, _ := json.Marshal(rep)
	for _, want := range []string{`"oldest_queued_at":null`, `"last_success_at":null`, `"next_run_at":null`, `"problems":[]`, `"locations":[]`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("body %s lacks %s", raw, want)
		}
	}
}

// TestRegularReportsKeepTheAnnouncedInterval: each report comes when the
// previous one said (interval_s), within 5 min ± 10 %.
func TestRegularReportsKeepTheAnnouncedInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &hq{}
		st := &agentState{healthy: true, started: time.Now()}
		_, _, stop := run(t, h, st)
		time.Sleep(31 * time.Minute)
		stop()
		reports := h.got()
		if len(reports) < 6 || len(reports) > 7 {
			t.Fatalf("got %d reports in 31 minutes, want 6 or 7 (one at start, then every 4.5–5.5 min)", len(reports))
		}
		for i := 1; i < len(reports); i++ {
			gap := reports[i].At.Sub(reports[i-1].At)
			announced := time.Duration(reports[i-1].Report.IntervalS) * time.Second
			if d := gap - announced; d < -time.Second || d > time.Second {
				t.Errorf("report %d came %v after the previous one, which announced %v", i+1, gap, announced)
			}
		}
	})
}

// TestVerdictChangeIsReportedAtOnce: Changed after the verdict flips sends
// a report at the same instant, in both directions.
func TestVerdictChangeIsReportedAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &hq{}
		st := &agentState{healthy: true, started: time.Now()}
		r, _, stop := run(t, h, st)
		defer stop()
		synctest.Wait()
		time.Sleep(time.Minute)
		for _, healthy := range []bool{false, true} {
			st.set(healthy)
			r.Changed()
			synctest.Wait()
			reports := h.got()
			last := reports[len(reports)-1]
			if last.Report.Healthy != healthy || !last.At.Equal(time.Now()) {
				t.Fatalf("after the verdict became %v: got last report healthy=%v at %v, want healthy=%v now (%v)", healthy, last.Report.Healthy, last.At, healthy, time.Now())
			}
			time.Sleep(time.Minute)
		}
		// Changed without a new verdict sends nothing.
		n := len(h.got())
		r.Changed()
		synctest.Wait()
		if got := len(h.got()); got != n {
			t.Errorf("got %d reports after a Changed that kept the verdict, want %d", got, n)
		}
	})
}

// TestVerdictChangeSeenWithoutChanged: a verdict that changes with time alone
// is noticed within the check period (10 s).
func TestVerdictChangeSeenWithoutChanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &hq{}
		st := &agentState{healthy: true, started: time.Now()}
		_, _, stop := run(t, h, st)
		defer stop()
		synctest.Wait()
		flipped := time.Now()
		st.set(false)
		time.Sleep(11 * time.Second)
		reports := h.got()
		if len(reports) != 2 || reports[1].Report.Healthy || reports[1].At.Sub(flipped) > 10*time.Second {
			t.Fatalf("got %d reports, want the second unhealthy within 10s of the change", len(reports))
		}
	})
}

// TestOnlyTheLatestIsSent: while a report is in flight, three verdict
// changes and Changed calls neither block nor pile up: one more report
// follows, with the latest verdict.
func TestOnlyTheLatestIsSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		h := &hq{hold: release}
		st := &agentState{healthy: true, started: time.Now()}
		r, _, stop := run(t, h, st)
		defer stop()
		synctest.Wait() // the start report is held by headquarters
		for _, healthy := range []bool{false, true, false} {
			st.set(healthy)
			r.Changed()
		}
		close(release)
		synctest.Wait()
		var verdicts []bool
		for _, g := range h.got() {
			verdicts = append(verdicts, g.Report.Healthy)
		}
		if diff := cmp.Diff([]bool{true, false}, verdicts); diff != "" {
			t.Errorf("verdicts reported (-want +got):\n%s", diff)
		}
	})
}

// TestOlderHeadquartersStopsReports: 404 or 405 stops the reports until the
// next start, said once in the log.
func TestOlderHeadquartersStopsReports(t *testing.T) {
	for _, code := range []int{404, 405} {
		synctest.Test(t, func(t *testing.T) {
			h := &hq{code: code}
			st := &agentState{healthy: true, started: time.Now()}
			r, logs, stop := run(t, h, st)
			time.Sleep(20 * time.Minute)
			st.set(false)
			r.Changed()
			synctest.Wait()
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			if n := len(h.got()); n != 1 {
				t.Errorf("HTTP %d: got %d reports, want 1 and then none", code, n)
			}
			lines := logs.lines()
			if len(lines) != 1 || !strings.Contains(lines[0], fmt.Sprintf("headquarters does not take status reports (HTTP %d", code)) || !strings.Contains(lines[0], "until the agent restarts") {
				t.Errorf("HTTP %d: got log %q, want one line saying reports stop until the restart", code, lines)
			}
		})
	}
}

// TestRefusedTokenKeepsTheInterval: 401 is logged once and retried at the
// regular interval (not sooner, not never).
func TestRefusedTokenKeepsTheInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &hq{code: http.StatusUnauthorized}
		st := &agentState{healthy: true, started: time.Now()}
		_, logs, stop := run(t, h, st)
		time.Sleep(12 * time.Minute)
		stop()
		if n := len(h.got()); n != 3 {
			t.Errorf("got %d reports in 12 minutes, want 3 (start, then every 4.5–5.5 min)", n)
		}
		lines := logs.lines()
		if len(lines) != 1 || !strings.Contains(lines[0], "refused the agent token") || strings.Contains(lines[0], "agent-token") {
			t.Errorf("got log %q, want one line about the refused token, without it", lines)
		}
	})
}

// TestTransientFailureRetriesSooner: a 503 is retried after about 10 s,
// not after the whole interval.
func TestTransientFailureRetriesSooner(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &hq{code: http.StatusServiceUnavailable}
		st := &agentState{healthy: true, started: time.Now()}
		_, _, stop := run(t, h, st)
		time.Sleep(13 * time.Second)
		stop()
		reports := h.got()
		if len(reports) != 2 {
			t.Fatalf("got %d reports in 13 s, want the first and one retry", len(reports))
		}
		if gap := reports[1].At.Sub(reports[0].At); gap < 8*time.Second || gap > 12*time.Second {
			t.Errorf("got the retry %v after a 503, want 10 s ± 20 %%", gap)
		}
	})
}
