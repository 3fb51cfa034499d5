package receiver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"
)

// maxStatusBytes bounds a status report.
const maxStatusBytes = 1 << 20

// StatusReport is the part of an agent's status report (the contract's
// "Agent status") that headquarters reads; the report is kept whole, as
// received, with its unknown fields.
type StatusReport struct {
	AgentID   string    `json:"agent_id"`
	Version   string    `json:"version"`
	OS        string    `json:"os"`
	StartedAt time.Time `json:"started_at"`
	SentAt    time.Time `json:"sent_at"`
	IntervalS int64     `json:"interval_s"`
	Healthy   bool      `json:"healthy"`
	Problems  []string  `json:"problems"`
	Buffer    struct {
		Queued         int64      `json:"queued"`
		OldestQueuedAt *time.Time `json:"oldest_queued_at"`
		DeadLetters    int64      `json:"dead_letters"`
		Bytes          int64      `json:"bytes"`
		MaxBytes       int64      `json:"max_bytes"`
		Full           bool       `json:"full"`
	} `json:"buffer"`
	Sources []struct {
		Name          string     `json:"name"`
		State         string     `json:"state"`
		LastSuccessAt *time.Time `json:"last_success_at"`
		NextRunAt     *time.Time `json:"next_run_at"`
		LastError     string     `json:"last_error"`
	} `json:"sources"`
	Files struct {
		Accepted int64 `json:"accepted"`
		Refused  int64 `json:"refused"`
	} `json:"files"`
	Locations []string `json:"locations"`
}

// parseStatus checks a report body: one JSON object whose fields have the
// contract's types, naming the path's agent, with a positive interval and a
// health verdict.
func parseStatus(body []byte, agent string) (StatusReport, error) {
	var rep StatusReport
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&rep); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return rep, fmt.Errorf("%s: must be %s, got a JSON %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
		}
		return rep, fmt.Errorf("the body is not a JSON object: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return rep, errors.New("the body holds more than one JSON value")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return rep, errors.New("the body is not a JSON object")
	}
	var errs []error
	for _, f := range []string{"agent_id", "interval_s", "healthy"} {
		if v, ok := fields[f]; !ok || string(v) == "null" {
			errs = append(errs, fmt.Errorf("%s: missing", f))
		}
	}
	if _, ok := fields["agent_id"]; ok && rep.AgentID != agent {
		errs = append(errs, fmt.Errorf("agent_id: %q is not the agent of the path, %q", rep.AgentID, agent))
	}
	if _, ok := fields["interval_s"]; ok && rep.IntervalS < 1 {
		errs = append(errs, fmt.Errorf("interval_s: %d is not >= 1", rep.IntervalS))
	}
	for i, s := range rep.Sources {
		switch s.State {
		case "ok", "error", "paused", "disabled":
		default:
			errs = append(errs, fmt.Errorf("sources[%d].state: %q is not ok, error, paused or disabled", i, s.State))
		}
	}
	return rep, errors.Join(errs...)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int64", "int":
		return "an integer"
	case "slice":
		return "an array"
	case "struct":
		return "an object or an RFC 3339 time"
	case "ptr":
		return "null or an RFC 3339 time"
	}
	return goKind
}

func (r *Receiver) handleStatus(w http.ResponseWriter, req *http.Request) {
	agent := req.PathValue("id")
	owner, ok := r.preamble(w, req, agent)
	if !ok {
		return
	}
	if !agentOK(agent) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("the agent id of the path must be 1-%d printable characters", maxAgentID))
		return
	}
	// The path's agent must be the token's (403) before the header is
	// compared with it (400).
	if !bound(w, owner, agent) {
		return
	}
	if h := req.Header.Get("X-Agent-Id"); h != agent {
		if h == "" {
			writeError(w, http.StatusBadRequest, "X-Agent-Id is missing")
		} else {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("X-Agent-Id %q is not the agent of the path, %q", h, agent))
		}
		return
	}
	if ct := req.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("Content-Type %q is not application/json", ct))
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxStatusBytes))
	if err != nil {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("the report could not be read (at most %d bytes)", maxStatusBytes))
		return
	}
	if _, err := parseStatus(body, agent); err != nil {
		writeError(w, http.StatusBadRequest, "status report: "+err.Error())
		return
	}
	r.closeMu.RLock()
	defer r.closeMu.RUnlock()
	if r.closed {
		writeError(w, http.StatusServiceUnavailable, "headquarters is shutting down")
		return
	}
	if err := r.store.PutStatus(req.Context(), agent, bytes.TrimSpace(body), r.cfg.Now()); err != nil {
		r.log.Error("store status", "agent", agent, "err", err)
		writeError(w, http.StatusInternalServerError, "the report could not be stored")
		return
	}
	r.log.Info("status", "agent", agent)
	w.WriteHeader(http.StatusNoContent)
}
