package agent

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"time"

	"github.com/tmas/storeagent/agent/forward"
	"github.com/tmas/storeagent/agent/spool"
)

// Status is everything `storeagent status` and the status page show.
type Status struct {
	Agent      string            `json:"agent"`
	Version    string            `json:"version"`
	Started    time.Time         `json:"started,omitzero"`
	Now        time.Time         `json:"now"`
	Healthy    bool              `json:"healthy"`
	Problems   []string          `json:"problems,omitempty"`
	Sources    []SourceStatus    `json:"sources"`
	Buffer     BufferStatus      `json:"buffer"`
	Forwarder  forward.Status    `json:"forwarder"`
	Files      []FileOutcome     `json:"recent_files"`
	FileTotals map[string]int64  `json:"file_totals"` // staff-hours files by outcome since the agent started
	Log        []LogEntry        `json:"import_log"`
	Components map[string]string `json:"components"`
}

// BufferStatus describes the durable buffer.
type BufferStatus struct {
	spool.Stats
	OldestAge string          `json:"oldest_age,omitempty"`
	Recovery  *spool.Recovery `json:"recovery,omitempty"`
	Path      string          `json:"path"`
}

// Thresholds of health.
const (
	// stuckDelivery: undelivered records older than this while headquarters
	// keeps failing make the agent unhealthy.
	stuckDelivery = 30 * time.Minute
	// a source failing this many runs in a row is stuck.
	stuckSourceRuns = 3
)

// Status returns a snapshot.
func (a *Agent) Status() Status {
	now := a.now()
	st := Status{Agent: a.cfg.Agent.ID, Version: a.opts.Version, Now: now.UTC(), Components: map[string]string{}}
	bs := a.spool.Stats()
	st.Buffer = BufferStatus{Stats: bs, Recovery: a.recovery, Path: a.cfg.Buffer.Path}
	if !bs.Oldest.IsZero() {
		st.Buffer.OldestAge = now.Sub(bs.Oldest).Round(time.Second).String()
	}
	st.Forwarder = a.fwd.Status()
	a.mu.Lock()
	st.Started = a.started
	a.rollToday()
	for _, name := range slices.Sorted(maps.Keys(a.sources)) {
		s := *a.sources[name]
		s.RecordsToday = a.today[name]
		s.Imported = a.imported[name]
		st.Sources = append(st.Sources, s)
	}
	st.FileTotals = maps.Clone(a.fileTotals)
	st.Files = append([]FileOutcome(nil), a.files...)
	st.Log = append([]LogEntry(nil), a.logEntries...)
	for k, v := range a.components {
		st.Components[k] = v
	}
	a.mu.Unlock()
	st.Problems = a.problems(st, now)
	st.Healthy = len(st.Problems) == 0
	return st
}

// problems lists why the agent is unhealthy: a stuck source, delivery stuck
// with old records waiting, a stopped component, a full buffer.
func (a *Agent) problems(st Status, now time.Time) []string {
	var out []string
	for _, s := range st.Sources {
		if s.Failures >= stuckSourceRuns {
			out = append(out, fmt.Sprintf("source %s has failed %d runs in a row: %s", s.Name, s.Failures, s.LastError))
		}
		if s.State == "paused" {
			out = append(out, fmt.Sprintf("source %s is paused: %s", s.Name, s.LastError))
		}
	}
	f := st.Forwarder
	if f.State == forward.StatePaused {
		out = append(out, "forwarding is paused: "+f.LastError)
	} else if !st.Buffer.Oldest.IsZero() && now.Sub(st.Buffer.Oldest) > stuckDelivery && f.Failures > 0 {
		out = append(out, fmt.Sprintf("records have waited %s for delivery: %s", st.Buffer.OldestAge, f.LastError))
	}
	if st.Buffer.Full {
		out = append(out, "the buffer is full: new uploads are refused and polling is paused until headquarters catches up")
	}
	if r := st.Buffer.Recovery; r != nil && now.Sub(r.At) < 24*time.Hour {
		out = append(out, fmt.Sprintf("the buffer file was damaged at start-up and set aside as %s (%s)", r.SetAside, r.Reason))
	}
	names := make([]string, 0, len(st.Components))
	for n := range st.Components {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if v := st.Components[n]; len(v) > 7 && v[:7] == "failed:" {
			out = append(out, "component "+n+" "+v)
		}
	}
	return out
}
