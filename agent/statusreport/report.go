package statusreport

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/retry"
)

// Report is the body of one status report, field for field as the contract
// lists them. Times are UTC; an absent time is null.
type Report struct {
	AgentID   string    `json:"agent_id"`
	Version   string    `json:"version"`
	OS        string    `json:"os"` // "linux/amd64", "windows/amd64"
	StartedAt time.Time `json:"started_at"`
	SentAt    time.Time `json:"sent_at"`
	IntervalS int64     `json:"interval_s"` // seconds until the next regular report
	Healthy   bool      `json:"healthy"`
	Problems  []string  `json:"problems"`
	Buffer    Buffer    `json:"buffer"`
	Sources   []Source  `json:"sources"`
	Files     Files     `json:"files"`
	Locations []string  `json:"locations"`
}

// Buffer is the durable buffer's state.
type Buffer struct {
	Queued         int        `json:"queued"`
	OldestQueuedAt *time.Time `json:"oldest_queued_at"`
	DeadLetters    int        `json:"dead_letters"`
	Bytes          int64      `json:"bytes"`
	MaxBytes       int64      `json:"max_bytes"`
	Full           bool       `json:"full"`
}

// Source is one POS source. State is ok, error, paused or disabled.
type Source struct {
	Name          string     `json:"name"`
	State         string     `json:"state"`
	LastSuccessAt *time.Time `json:"last_success_at"`
	NextRunAt     *time.Time `json:"next_run_at"`
	LastError     string     `json:"last_error"`
}

// Files counts the staff-hours files of the last 24 hours.
type Files struct {
	Accepted int `json:"accepted"`
	Refused  int `json:"refused"`
}

// Time returns a pointer to t in UTC, or nil when t is zero (null on the wire).
func Time(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// Config configures a Reporter.
type Config struct {
	URL     string // headquarters' base URL (upstream.url)
	AgentID string
	Token   record.Secret
	// Client carries the requests; give it the forwarder's transport (same
	// TLS roots and proxy). Its own timeout, if any, applies too.
	Client    *http.Client
	UserAgent string
	// Interval between regular reports (default 5m), each drawn within
	// ±Jitter of it (default 0.1).
	Interval time.Duration
	Jitter   float64
	// Check is how often the health verdict is looked at besides Changed
	// (a verdict may change with time alone: records getting old); default 10s.
	Check time.Duration
	// Snapshot builds the report from the agent's current status. The
	// reporter sets SentAt and IntervalS.
	Snapshot func() Report
	Logger   *slog.Logger
}

// Reporter sends status reports. Its methods are safe for concurrent use.
type Reporter struct {
	cfg     Config
	log     *slog.Logger
	changed chan struct{}
}

// New builds a reporter; Run sends.
func New(cfg Config) *Reporter {
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Minute
	}
	if cfg.Jitter <= 0 {
		cfg.Jitter = 0.1
	}
	if cfg.Check <= 0 {
		cfg.Check = 10 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: time.Minute}
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "storeagent"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Reporter{cfg: cfg, log: cfg.Logger.With("component", "status-report"), changed: make(chan struct{}, 1)}
}

// Changed tells the reporter that the agent's status changed; it looks at
// the health verdict and reports at once if the verdict differs from the
// last one reported. It never blocks.
func (r *Reporter) Changed() {
	select {
	case r.changed <- struct{}{}:
	default:
	}
}

// outcome of one report.
type outcome int

const (
	stored    outcome = iota
	transient         // network, 5xx, 429, 400: try again sooner than the interval
	refused           // 401/403: keep trying at the interval
	notTaken          // 404/405: this headquarters takes no reports; stop
)

// Run sends one report now, then on the interval and on verdict changes,
// until ctx is done or headquarters says it takes no reports.
func (r *Reporter) Run(ctx context.Context) error {
	var (
		verdict   bool // the verdict of the last report sent
		failures  int
		saidToken bool
		saidOther bool
	)
	soon := retry.Backoff{Base: 10 * time.Second, Max: r.cfg.Interval, Jitter: 0.2}
	regular := retry.Backoff{Base: r.cfg.Interval, Max: r.cfg.Interval, Jitter: r.cfg.Jitter}
	next := time.NewTimer(0)
	defer next.Stop()
	check := time.NewTicker(r.cfg.Check)
	defer check.Stop()
	send := func(rep Report) (stop bool) {
		wait := regular.Delay(1)
		rep.SentAt = time.Now().UTC()
		rep.IntervalS = int64((wait + time.Second/2) / time.Second)
		verdict = rep.Healthy
		out, detail := r.send(ctx, rep)
		if ctx.Err() != nil {
			return true
		}
		switch out {
		case stored:
			failures, saidToken, saidOther = 0, false, false
		case notTaken:
			r.log.Info("headquarters does not take status reports ("+detail+"); none will be sent until the agent restarts", "url", r.path())
			return true
		case refused:
			if !saidToken {
				r.log.Error("headquarters refused the agent token for the status report; trying again every interval", "reason", detail, "interval", r.cfg.Interval)
				saidToken = true
			}
		case transient:
			failures++
			wait = min(soon.Delay(failures), wait)
			if !saidOther {
				r.log.Warn("the status report could not be delivered; trying again", "reason", detail, "retry_in", wait.Round(time.Second))
				saidOther = true
			}
		}
		next.Reset(wait)
		return false
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-next.C:
			if send(r.cfg.Snapshot()) {
				return nil
			}
		case <-r.changed:
		case <-check.C:
		}
		// Look at the verdict after every event: a report is due at once
		// when it differs from the last one sent.
		if rep := r.cfg.Snapshot(); rep.Healthy != verdict {
			next.Stop()
			if send(rep) {
				return nil
			}
		}
	}
}

func (r *Reporter) path() string {
	return strings.TrimRight(r.cfg.URL, "/") + "/v1/agents/" + url.PathEscape(r.cfg.AgentID) + "/status"
}

// send PUTs one report and classifies the answer. The detail names the
// answer, never the token.
func (r *Reporter) send(ctx context.Context, rep Report) (outcome, string) {
	body, err := json.Marshal(rep)
	if err != nil {
		return transient, err.Error()
	}
	ctx, cancel := context.WithTimeout(ctx, min(r.cfg.Interval, time.Minute))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, r.path(), bytes.NewReader(body))
	if err != nil {
		return notTaken, err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+r.cfg.Token.Reveal())
	req.Header.Set("X-Agent-Id", r.cfg.AgentID)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", r.cfg.UserAgent)
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		return transient, "headquarters could not be reached: " + redactURL(err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	detail := fmt.Sprintf("HTTP %d", resp.StatusCode)
	if s := strings.TrimSpace(string(msg)); s != "" {
		detail += ": " + s
	}
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return stored, detail
	case c == http.StatusNotFound || c == http.StatusMethodNotAllowed:
		return notTaken, detail
	case c == http.StatusUnauthorized || c == http.StatusForbidden:
		return refused, detail
	default:
		return transient, detail
	}
}

// redactURL drops a URL's user info and query from a transport error.
func redactURL(err error) string {
	var ue *url.Error
	if e, ok := err.(*url.Error); ok {
		ue = e
	}
	if ue == nil {
		return err.Error()
	}
	if u, perr := url.Parse(ue.URL); perr == nil {
		u.User, u.RawQuery = nil, ""
		return fmt.Sprintf("%s %s: %v", ue.Op, u.String(), ue.Err)
	}
	return ue.Err.Error()
}
