package agent

import (
	"fmt"
	"maps"
	"runtime"
	"slices"
	"sort"
	"time"

	"github.com/tmas/storeagent/agent/forward"
	"github.com/tmas/storeagent/agent/spool"
	"github.com/tmas/storeagent/agent/statusreport"
)

// Status is everything `storeagent status` and the status page show.
type Status struct {
	Agent      string                    `json:"agent"`
	Version    string                    `json:"version"`
	Started    time.Time                 `json:"started,omitzero"`
	Now        time.Time                 `json:"now"`
	Healthy    bool                      `json:"healthy"`
	Problems   []string                  `json:"problems,omitempty"`
	Sources    []SourceStatus            `json:"sources"`
	Buffer     BufferStatus              `json:"buffer"`
	Forwarder  forward.Status            `json:"forwarder"`
	Files      []FileOutcome             `json:"recent_files"`
	FileTotals map[string]int64          `json:"file_totals"` // staff-hours files by outcome since the agent started
	FilesDay   FileCounts                `json:"files_last_24h"`
	Log        []LogEntry                `json:"import_log"`
	Components map[string]ComponentState `json:"components"`
}

// FileCounts counts staff-hours files by outcome: accepted (imported, or
// a duplicate of a file imported before) and refused (for their content).
type FileCounts struct {
	Accepted int `json:"accepted"`
	Refused  int `json:"refused"`
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
	st := Status{Agent: a.cfg.Agent.ID, Version: a.opts.Version, Now: now.UTC(), Components: map[string]ComponentState{}}
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
	st.FilesDay = a.filesSince(now.Add(-24 * time.Hour))
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
		if s.CredentialsRefused {
			out = append(out, fmt.Sprintf("source %s refuses the agent's credentials (a person must fix them; retrying will not): %s", s.Name, s.LastError))
		} else if s.Failures >= stuckSourceRuns {
			out = append(out, fmt.Sprintf("source %s has failed %d runs in a row: %s", s.Name, s.Failures, s.LastError))
		}
		if s.State == SourcePaused {
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
		if v := st.Components[n]; v.Failed() {
			out = append(out, "component "+n+" "+string(v))
		}
	}
	return out
}

// filesSince counts the file outcomes noted at or after since. Call with a.mu held.
func (a *Agent) filesSince(since time.Time) FileCounts {
	var c FileCounts
	keep := a.fileDay[:0]
	for _, m := range a.fileDay {
		if m.At.Before(since) {
			continue
		}
		keep = append(keep, m)
		switch {
		case m.Outcome.OK():
			c.Accepted++
		case m.Outcome == OutcomeRefused:
			c.Refused++
		}
	}
	a.fileDay = keep
	return c
}

// report is the status report for headquarters, built from the same
// snapshot that `status` and /healthz show.
func (a *Agent) report() statusreport.Report {
	st := a.Status()
	rep := statusreport.Report{
		AgentID: st.Agent, Version: st.Version, OS: runtime.GOOS + "/" + runtime.GOARCH,
		StartedAt: st.Started.UTC(), Healthy: st.Healthy, Problems: append([]string{}, st.Problems...),
		Buffer: statusreport.Buffer{
			Queued: st.Buffer.Queued, OldestQueuedAt: statusreport.Time(st.Buffer.Oldest), DeadLetters: st.Buffer.Dead,
			Bytes: st.Buffer.FileBytes, MaxBytes: st.Buffer.MaxBytes, Full: st.Buffer.Full,
		},
		Sources:   []statusreport.Source{},
		Files:     statusreport.Files{Accepted: st.FilesDay.Accepted, Refused: st.FilesDay.Refused},
		Locations: []string{},
	}
	for _, s := range st.Sources {
		rep.Sources = append(rep.Sources, statusreport.Source{
			Name: s.Name, State: reportState(s), LastSuccessAt: statusreport.Time(s.LastSuccess),
			NextRunAt: statusreport.Time(s.NextRun), LastError: s.LastError,
		})
	}
	for _, id := range slices.Sorted(maps.Keys(a.cfg.Locations)) {
		if a.cfg.Locations[id].IsActive() {
			rep.Locations = append(rep.Locations, id)
		}
	}
	return rep
}

// reportState maps a source's state to the contract's ok, error, paused:
// while a source runs (or before its first run) it keeps the verdict of its
// last run.
func reportState(s SourceStatus) string {
	switch s.State {
	case SourceOK, SourceError, SourcePaused:
		return string(s.State)
	}
	if s.LastError != "" {
		return string(SourceError)
	}
	return string(SourceOK)
}
