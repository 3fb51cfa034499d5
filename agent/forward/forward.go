// Package forward delivers the spool's batches to headquarters exactly as the
// upstream contract says: gzip NDJSON under a stable Idempotency-Key, retried
// forever with back-off and jitter, Retry-After honoured, 413 split, 422 lines
// dead-lettered, 401/403 pausing with a visible reason.
//
// It deletes nothing from the spool before a 200 names the batch, and it never
// gives up on a record: a record leaves the queue only delivered or
// dead-lettered with the reason headquarters gave.
package forward

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tmas/storeagent/agent/spool"
	"github.com/tmas/storeagent/importers/record"
	"github.com/tmas/storeagent/importers/retry"
)

// Contract limits of one batch.
const (
	MaxLinesPerBatch = 10000
	MaxBytesPerBatch = 8 << 20
)

// Config configures delivery.
type Config struct {
	URL      string // base URL; batches go to URL + /v1/batches
	Token    record.Secret
	AgentID  string
	CAFile   string // extra CA certificates (PEM) trusted besides the system roots
	Proxy    string // proxy URL; empty = the environment's HTTPS_PROXY/NO_PROXY
	MaxLines int
	MaxBytes int
	MaxAge   time.Duration // a partial batch waits at most this long for more records
	Timeout  time.Duration // per request
	// Back-off between failed attempts: exponential from MinBackoff to
	// MaxBackoff with full jitter. PausedRetry is the slower pace while the
	// token is refused.
	MinBackoff, MaxBackoff, PausedRetry time.Duration
	UserAgent                           string
	// OnStateChange, if set, is called (outside any lock) whenever State
	// changes, so that health can be looked at again at once.
	OnStateChange func()
}

func (c *Config) setDefaults() {
	if c.MaxLines <= 0 || c.MaxLines > MaxLinesPerBatch {
		c.MaxLines = MaxLinesPerBatch
	}
	if c.MaxBytes <= 0 || c.MaxBytes > MaxBytesPerBatch {
		c.MaxBytes = MaxBytesPerBatch
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 5 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Minute
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 5 * time.Minute
	}
	if c.PausedRetry <= 0 {
		c.PausedRetry = 5 * time.Minute
	}
	if c.UserAgent == "" {
		c.UserAgent = "storeagent"
	}
}

// State names what the forwarder is doing, for status and health.
type State string

const (
	StateIdle    State = "idle"
	StateSending State = "sending"
	StateBackoff State = "retrying" // a transient failure; waiting to retry
	StatePaused  State = "paused"   // headquarters refuses the token
)

// Status is a snapshot for the status page and metrics.
type Status struct {
	State           State            `json:"state"`
	LastError       string           `json:"last_error,omitempty"`
	LastErrorAt     time.Time        `json:"last_error_at,omitzero"`
	NextAttempt     time.Time        `json:"next_attempt,omitzero"`
	LastDelivery    time.Time        `json:"last_delivery,omitzero"`
	Failures        int              `json:"consecutive_failures"`
	Batches         int64            `json:"batches_delivered"`
	Records         int64            `json:"records_delivered"`
	Duplicates      int64            `json:"records_duplicate"`
	DeadLettered    int64            `json:"records_dead_lettered"`
	Requests        int64            `json:"requests"`
	BytesSent       int64            `json:"bytes_sent"`
	ResponsesByCode map[string]int64 `json:"responses,omitempty"`
}

// Forwarder sends the spool's batches upstream.
type Forwarder struct {
	cfg    Config
	sp     *spool.Spool
	log    *slog.Logger
	client *http.Client
	wake   chan struct{}
	now    func() time.Time

	mu     sync.Mutex
	status Status
	body   cachedBody
}

type cachedBody struct {
	id   string
	gz   []byte
	size int
}

// New builds a forwarder. It reads the CA file, so a bad path fails here.
func New(cfg Config, sp *spool.Spool, logger *slog.Logger) (*Forwarder, error) {
	cfg.setDefaults()
	if _, err := url.Parse(cfg.URL); err != nil || cfg.URL == "" {
		return nil, fmt.Errorf("forward: upstream url %q is not a URL", cfg.URL)
	}
	tr, err := Transport(cfg.CAFile, cfg.Proxy)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Forwarder{
		cfg: cfg, sp: sp, log: logger.With("component", "forwarder"),
		client: &http.Client{Transport: tr, Timeout: cfg.Timeout},
		wake:   make(chan struct{}, 1), now: time.Now,
		status: Status{State: StateIdle, ResponsesByCode: map[string]int64{}},
	}, nil
}

// Transport is the HTTP transport every request to headquarters uses: TLS
// 1.2 or later, the system roots plus caFile's certificates (PEM), and proxy
// (empty = the environment's HTTPS_PROXY/NO_PROXY). It reads caFile, so a
// bad path fails here.
func Transport(caFile, proxy string) (*http.Transport, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("forward: ca_file: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("forward: ca_file %s holds no PEM certificate", caFile)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	if proxy != "" {
		pu, err := url.Parse(proxy)
		if err != nil {
			return nil, fmt.Errorf("forward: proxy %q is not a URL", proxy)
		}
		tr.Proxy = http.ProxyURL(pu)
	}
	return tr, nil
}

// Wake tells the forwarder that records were queued.
func (f *Forwarder) Wake() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// Status returns a snapshot.
func (f *Forwarder) Status() Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.status
	s.ResponsesByCode = make(map[string]int64, len(f.status.ResponsesByCode))
	for k, v := range f.status.ResponsesByCode {
		s.ResponsesByCode[k] = v
	}
	return s
}

func (f *Forwarder) update(fn func(*Status)) {
	f.mu.Lock()
	was := f.status.State
	fn(&f.status)
	changed := f.status.State != was
	f.mu.Unlock()
	if changed && f.cfg.OnStateChange != nil {
		f.cfg.OnStateChange()
	}
}

// Run delivers until ctx is done. Cancellation is the only way it stops.
//
// A wake (records were queued) ends only a wait that is about new records: a
// partial batch waiting for more, or an empty queue. The wait after a failure
// (Retry-After, back-off, a refused token) holds until it ends, however many
// records arrive meanwhile.
func (f *Forwarder) Run(ctx context.Context) error {
	for {
		if ctx.Err() != nil {
			return nil
		}
		p, err := f.step(ctx)
		if err != nil {
			f.log.Error("the buffer could not be read", "err", err)
			p = hold(f.cfg.MaxBackoff)
		}
		if p.wait <= 0 {
			continue
		}
		wake := f.wake
		if p.hold {
			wake = nil // a nil channel never delivers: the wait holds
		}
		t := time.NewTimer(p.wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-wake:
			t.Stop()
		case <-t.C:
		}
	}
}

// pause is how long Run waits before the next step, and whether new records
// may end the wait early (hold = false) or not (a failure's wait).
type pause struct {
	wait time.Duration
	hold bool
}

func untilRecords(d time.Duration) pause { return pause{wait: d} }
func hold(d time.Duration) pause         { return pause{wait: d, hold: true} }

// step sends at most one batch and returns how long to wait before the next
// step (0 = go on at once).
func (f *Forwarder) step(ctx context.Context) (pause, error) {
	st := f.sp.Stats()
	if st.Queued == 0 {
		f.update(func(s *Status) {
			if s.State == StateSending {
				s.State = StateIdle
			}
		})
		return untilRecords(time.Minute), nil
	}
	// A partial batch waits for more records, up to MaxAge after its oldest.
	if st.Queued < f.cfg.MaxLines && int(st.QueuedBytes) < f.cfg.MaxBytes && !st.Oldest.IsZero() {
		if age := f.now().Sub(st.Oldest); age < f.cfg.MaxAge {
			return untilRecords(f.cfg.MaxAge - age), nil
		}
	}
	b, err := f.sp.NextBatch(spool.Limits{MaxLines: f.cfg.MaxLines, MaxBytes: f.cfg.MaxBytes})
	if errors.Is(err, spool.ErrNoBatch) {
		return untilRecords(time.Minute), nil
	}
	if err != nil {
		return pause{}, err
	}
	f.update(func(s *Status) { s.State = StateSending })
	return f.deliver(ctx, b)
}

type rejection struct {
	Rejected []struct {
		Line  int    `json:"line"`
		Error string `json:"error"`
	} `json:"rejected"`
}

type accepted struct {
	Accepted   int64 `json:"accepted"`
	Duplicates int64 `json:"duplicates"`
}

func (f *Forwarder) deliver(ctx context.Context, b *spool.Batch) (pause, error) {
	code, hdr, body, err := f.send(ctx, b)
	if ctx.Err() != nil {
		return pause{}, nil
	}
	if err != nil {
		return hold(f.failed(fmt.Sprintf("headquarters could not be reached: %v", err), 0)), nil
	}
	f.update(func(s *Status) { s.ResponsesByCode[strconv.Itoa(code)]++ })
	switch {
	case code == http.StatusOK:
		var a accepted
		_ = json.Unmarshal(body, &a)
		if err := f.sp.Ack(b.ID); err != nil {
			return pause{}, err
		}
		f.update(func(s *Status) {
			s.State, s.Failures, s.NextAttempt = StateSending, 0, time.Time{}
			s.LastError = ""
			s.Batches++
			s.Records += int64(len(b.Lines))
			s.Duplicates += a.Duplicates
			s.LastDelivery = f.now()
		})
		f.log.Debug("batch delivered", "batch", b.ID, "lines", len(b.Lines), "duplicates", a.Duplicates)
		return pause{}, nil
	case code == http.StatusRequestEntityTooLarge:
		f.log.Warn("headquarters found the batch too large; sending it in halves", "batch", b.ID, "lines", len(b.Lines))
		if len(b.Lines) == 1 {
			f.update(func(s *Status) { s.DeadLettered++ })
		}
		return pause{}, f.sp.Split(b.ID)
	case code == http.StatusUnprocessableEntity:
		var r rejection
		if err := json.Unmarshal(body, &r); err != nil || len(r.Rejected) == 0 {
			reason := "headquarters answered 422 without a readable list of rejected lines: " + snippet(body)
			f.log.Error("batch dead-lettered", "batch", b.ID, "reason", reason)
			f.update(func(s *Status) { s.DeadLettered += int64(len(b.Lines)) })
			return pause{}, f.sp.RejectAll(b.ID, reason)
		}
		reasons := map[int]string{}
		for _, l := range r.Rejected {
			if l.Line >= 1 && l.Line <= len(b.Lines) {
				reasons[l.Line] = l.Error
			}
		}
		f.log.Warn("headquarters refused some records; they are in the dead-letter store", "batch", b.ID, "refused", len(reasons), "first_reason", r.Rejected[0].Error)
		f.update(func(s *Status) { s.DeadLettered += int64(len(reasons)) })
		return pause{}, f.sp.Reject(b.ID, reasons)
	case code == http.StatusBadRequest || code == http.StatusConflict:
		reason := fmt.Sprintf("headquarters answered %d (%s): %s", code, map[int]string{400: "malformed batch", 409: "idempotency key reused with other content"}[code], snippet(body))
		f.log.Error("BUG: batch refused as a whole and dead-lettered; please report this", "batch", b.ID, "reason", reason)
		f.update(func(s *Status) { s.DeadLettered += int64(len(b.Lines)) })
		return pause{}, f.sp.RejectAll(b.ID, reason)
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		reason := fmt.Sprintf("headquarters refused the agent token (HTTP %d): check upstream.token; forwarding is paused and everything is kept", code)
		f.update(func(s *Status) {
			s.State, s.LastError, s.LastErrorAt = StatePaused, reason, f.now()
			s.Failures++
			s.NextAttempt = f.now().Add(f.cfg.PausedRetry)
		})
		f.log.Error("paused", "reason", reason)
		return hold(f.cfg.PausedRetry), nil
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		ra := retry.After(hdr.Get("Retry-After"), f.now())
		return hold(f.failed(fmt.Sprintf("headquarters is busy (HTTP %d)", code), ra)), nil
	default:
		return hold(f.failed(fmt.Sprintf("headquarters answered HTTP %d: %s", code, snippet(body)), 0)), nil
	}
}

// failed records a transient failure and returns the wait before the next
// attempt: a Retry-After (floor) plus a little jitter, else exponential
// back-off with full jitter.
func (f *Forwarder) failed(reason string, floor time.Duration) time.Duration {
	var wait time.Duration
	f.update(func(s *Status) {
		s.Failures++
		wait = f.backoff().Delay(s.Failures)
		if floor > 0 {
			wait = floor + retry.Backoff{Base: f.cfg.MinBackoff / 4, Jitter: 1}.Delay(1)
		}
		s.State, s.LastError, s.LastErrorAt = StateBackoff, reason, f.now()
		s.NextAttempt = f.now().Add(wait)
	})
	f.log.Warn("delivery failed; will retry", "reason", reason, "retry_in", wait.Round(time.Millisecond))
	return wait
}

// backoff is the schedule after failures: MinBackoff doubling up to
// MaxBackoff, each wait drawn from the upper half of its step ("full
// jitter" between b/2 and b): three quarters of the step, spread by a third.
func (f *Forwarder) backoff() retry.Backoff {
	return retry.Backoff{Base: f.cfg.MinBackoff * 3 / 4, Max: f.cfg.MaxBackoff * 3 / 4, Jitter: 1.0 / 3}
}

func (f *Forwarder) send(ctx context.Context, b *spool.Batch) (int, http.Header, []byte, error) {
	gz, size, err := f.encode(b)
	if err != nil {
		return 0, nil, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(f.cfg.URL, "/")+"/v1/batches", bytes.NewReader(gz))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+f.cfg.Token.Reveal())
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Idempotency-Key", b.ID)
	req.Header.Set("X-Agent-Id", f.cfg.AgentID)
	req.Header.Set("User-Agent", f.cfg.UserAgent)
	f.update(func(s *Status) {
		s.Requests++
		s.BytesSent += int64(len(gz))
	})
	resp, err := f.client.Do(req)
	if err != nil {
		return 0, nil, nil, redactURLError(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil && resp.StatusCode == http.StatusOK {
		// The answer was cut: whether the batch was stored is unknown, so
		// resend it (the same Idempotency-Key makes that harmless).
		return 0, nil, nil, fmt.Errorf("reading the answer: %w", err)
	}
	_ = size
	return resp.StatusCode, resp.Header, body, nil
}

// encode gzips a batch once and keeps it for retries of the same batch.
func (f *Forwarder) encode(b *spool.Batch) ([]byte, int, error) {
	f.mu.Lock()
	if f.body.id == b.ID {
		gz, size := f.body.gz, f.body.size
		f.mu.Unlock()
		return gz, size, nil
	}
	f.mu.Unlock()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	for _, l := range b.Lines {
		zw.Write(l)
		zw.Write([]byte{'\n'})
	}
	if err := zw.Close(); err != nil {
		return nil, 0, err
	}
	f.mu.Lock()
	f.body = cachedBody{id: b.ID, gz: buf.Bytes(), size: b.Bytes + len(b.Lines)}
	f.mu.Unlock()
	return buf.Bytes(), b.Bytes + len(b.Lines), nil
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}

// redactURLError drops the URL's user info from transport errors.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.User != nil {
			u.User = nil
			ue.URL = u.String()
		}
		return ue
	}
	return err
}
